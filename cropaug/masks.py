"""Crop label masks with exactly the boxes, flips and resizes of their images.

MASK_ROOT mirrors SRC: the mask of SRC/cats/a.jpg is MASK_ROOT/cats/a.* with
any image extension. Each mask is made upright by its own EXIF orientation,
must then have its image's size, and is cut with nearest-neighbour
resampling, so every output pixel is a label that occurs in the mask. Mask
crops are PNG files in the mask's own mode (palette included), under
MASK_OUT at the crop's path with the extension ".png".
"""

import hashlib
import io
import json
import os
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from cropaug.boxes import Box, apply_box
from cropaug.discover import IMAGE_EXTENSIONS
from cropaug.errors import DestinationError, ImageError, InvalidParameterError
from cropaug.files import OutputWriteError, write_atomic
from cropaug.imaging import decode_image
from cropaug.sizing import SizePlan, crop_upright

# Modes that PNG stores as they are, which masks keep.
_KEPT_MODES = {"1", "L", "LA", "P", "RGB", "RGBA", "I;16"}
_SIXTEEN_BIT_VARIANTS = {"I;16B", "I;16L", "I;16N"}


@dataclass
class Mask:
    """A decoded, upright mask and where it came from."""

    image: Image.Image
    # POSIX path relative to MASK_ROOT.
    source: str
    sha256: str


def default_mask_out(dst: Path) -> Path:
    """Return DST's sibling folder named after it with `_masks` appended.

    DST is made absolute first, so that `.` gives `../<folder>_masks`.
    """
    absolute = Path(os.path.abspath(dst))
    return absolute.parent / f"{absolute.name}_masks"


def resolve_mask_out(
    masks: str | os.PathLike | None,
    mask_out: str | os.PathLike | None,
    dst: str | os.PathLike,
) -> Path | None:
    """Return the folder mask crops go to: `mask_out`, DST's sibling, or None.

    Raises:
        InvalidParameterError: when `mask_out` is given without `masks`.
    """
    if masks is None:
        if mask_out is not None:
            raise InvalidParameterError("mask_out needs masks, the tree to crop")
        return None
    if mask_out is not None:
        return Path(mask_out)
    return default_mask_out(Path(dst))


def mask_crop_path(crop_path: str) -> str:
    """Return the mask crop's path relative to MASK_OUT: the crop's, as PNG."""
    return str(PurePosixPath(crop_path).with_suffix(".png"))


def load_mask(
    mask_root: Path, source: str, image_size: tuple[int, int], max_pixels: int
) -> Mask:
    """Find, decode and check the mask of one source.

    Raises:
        ImageError: when no mask or several match, or the mask cannot be
            decoded, has an unsupported mode, or differs in size from its
            upright image.
    """
    relative = _find_mask(mask_root, source)
    return read_mask(mask_root, relative, image_size, max_pixels)


def read_mask(
    mask_root: Path, relative: str, image_size: tuple[int, int], max_pixels: int
) -> Mask:
    """Decode and check the mask at `relative`, a POSIX path under MASK_ROOT.

    Raises:
        ImageError: when the mask cannot be read or decoded, has an
            unsupported mode, or differs in size from its upright image.
    """
    try:
        data = (mask_root / relative).read_bytes()
    except OSError as error:
        raise ImageError(
            f"cannot read mask {relative}: {error.strerror or error}"
        ) from None
    try:
        decoded = decode_image(data, max_pixels)
    except ImageError as error:
        raise ImageError(f"mask {relative}: {error}") from None

    width, height = decoded.size
    upright = crop_upright(decoded.image, decoded.orientation, (0, 0, width, height))
    image = _storable_mask(upright, relative)
    if image.size != tuple(image_size):
        raise ImageError(
            "mask is {}x{}, image is {}x{}".format(*image.size, *image_size)
        )
    return Mask(image=image, source=relative, sha256=hashlib.sha256(data).hexdigest())


def fit_mask(mask: Mask, plan: SizePlan) -> Mask:
    """Resize and pad a mask as `plan` resizes and pads its image.

    Resizing uses the nearest neighbour, so no label value is interpolated,
    and padding fills with 0, the usual "no label" value.
    """
    image = mask.image
    if plan.scaled_size is not None:
        image = image.resize(plan.scaled_size, Image.Resampling.NEAREST)
    if plan.small == "pad":
        canvas = Image.new(image.mode, plan.size, 0)
        if image.mode == "P":
            canvas.putpalette(image.getpalette())
        canvas.paste(image, plan.pad_offset)
        canvas.info = dict(image.info)
        image = canvas
    if image is mask.image:
        return mask
    return Mask(image=image, source=mask.source, sha256=mask.sha256)


def write_mask_crops(
    mask_out: Path,
    mask: Mask,
    boxes: list[Box],
    crop_paths: list[str],
    size: tuple[int, int],
) -> list[str]:
    """Write the mask crop of every box and return their paths under MASK_OUT.

    When any mask crop fails, the mask crops already written are removed.

    Raises:
        ImageError: when a mask crop cannot be encoded.
        OutputWriteError: when MASK_OUT cannot be written, which stops the run.
    """
    paths = [mask_crop_path(path) for path in crop_paths]
    options = {}
    if "transparency" in mask.image.info:
        options["transparency"] = mask.image.info["transparency"]

    written: list[Path] = []
    try:
        for box, path in zip(boxes, paths, strict=True):
            target = mask_out / path
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise OutputWriteError(target.parent, error) from None
            crop = apply_box(mask.image, box, size, "nearest")
            buffer = io.BytesIO()
            crop.save(buffer, "PNG", **options)
            write_atomic(target, buffer.getvalue())
            written.append(target)
    except OutputWriteError:
        _remove_files(written)
        raise
    except (OSError, ValueError) as error:
        _remove_files(written)
        raise ImageError(f"cannot encode mask crop as PNG: {error}") from None
    return paths


def check_mask_folders(
    src: Path,
    dst: Path,
    mask_root: Path,
    mask_out: Path,
    overwrite: bool,
    shared: bool = False,
) -> None:
    """Check that MASK_ROOT and MASK_OUT can be used beside SRC and DST.

    `shared` is set for shard runs, which write into one MASK_OUT together,
    so a MASK_OUT with other shards' mask crops is accepted.

    Raises:
        DestinationError: when a folder lies inside another it must stay
            apart from, or MASK_OUT contains files that no earlier run into DST
            wrote.
    """
    real_src, real_dst = src.resolve(), dst.resolve()
    real_root, real_out = mask_root.resolve(), mask_out.resolve()
    if not mask_root.is_dir():
        raise DestinationError(
            f"MASK_ROOT {mask_root} is not a folder; pass the root of a tree "
            "that mirrors SRC"
        )
    if _within(real_root, real_src):
        raise DestinationError(
            f"MASK_ROOT {mask_root} is inside SRC {src}, where its folders "
            "would be read as classes; move it outside SRC"
        )
    for name, folder in (
        ("SRC", real_src),
        ("DST", real_dst),
        ("MASK_ROOT", real_root),
    ):
        if _within(real_out, folder) or _within(folder, real_out):
            raise DestinationError(
                f"MASK_OUT {mask_out} overlaps {name}; choose a folder outside it"
            )
    if mask_out.exists() and not mask_out.is_dir():
        raise DestinationError(f"MASK_OUT {mask_out} is a file; choose a folder")
    if shared or not mask_out.exists() or not any(mask_out.iterdir()):
        return
    if not overwrite:
        raise DestinationError(
            f"MASK_OUT {mask_out} is not empty; pass --overwrite to replace an "
            "earlier run, or choose an empty folder"
        )
    if _recorded_mask_out(dst) != real_out:
        raise DestinationError(
            f"MASK_OUT {mask_out} is not empty and no earlier run into {dst} "
            "wrote it, so --overwrite will not delete it; choose an empty folder"
        )


def prepare_mask_folder(mask_out: Path, classes: list[str], clear: bool = True) -> None:
    """Empty MASK_OUT of an earlier run unless `clear` is off, then make class folders.

    Shard runs pass `clear=False`, because other shards write into the same
    MASK_OUT.

    Raises:
        OutputWriteError: naming the path, when MASK_OUT cannot be written.
    """
    try:
        if clear and mask_out.exists():
            for child in mask_out.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        for class_name in classes:
            (mask_out / class_name).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        path = Path(error.filename) if error.filename else mask_out
        raise OutputWriteError(path, error) from None


def relative_mask_out(dst: Path, mask_out: Path) -> str:
    """Return MASK_OUT relative to DST in POSIX form, as the manifest records it."""
    relative = os.path.relpath(mask_out.resolve(), dst.resolve())
    return PurePosixPath(Path(relative)).as_posix()


def _find_mask(mask_root: Path, source: str) -> str:
    path = PurePosixPath(source)
    folder = mask_root / path.parent
    try:
        modified = folder.stat().st_mtime_ns
    except OSError:
        modified = None
    names = []
    if modified is not None:
        names = _image_names_by_stem(folder, modified).get(path.stem, [])
    pattern = f"MASK_ROOT/{path.parent / path.stem}.*"
    if not names:
        raise ImageError(f"mask not found: {pattern}")
    if len(names) > 1:
        raise ImageError(
            f"{len(names)} masks match {pattern}: {', '.join(names)}; keep one"
        )
    return str(path.parent / names[0])


@lru_cache(maxsize=16)
def _image_names_by_stem(folder: Path, modified: int) -> dict[str, list[str]]:
    """List a folder's image files by stem, once per folder and modification time.

    Sources of one folder share the listing; a folder changed since (its
    modification time moves when entries are added or removed) is listed
    again.
    """
    names: dict[str, list[str]] = {}
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return names
    for entry in entries:
        name = PurePosixPath(entry.name)
        if name.suffix.lower() in IMAGE_EXTENSIONS and entry.is_file():
            names.setdefault(name.stem, []).append(entry.name)
    return names


def _storable_mask(image: Image.Image, relative: str) -> Image.Image:
    """Return the mask in a mode PNG stores, without changing any label value."""
    if image.mode in _KEPT_MODES:
        return image
    if image.mode in _SIXTEEN_BIT_VARIANTS or image.mode == "I":
        labels = np.asarray(image)
        if labels.min() < 0 or labels.max() > 65535:
            raise ImageError(
                f"mask {relative} has labels outside 0..65535, which PNG cannot "
                "store; save it as 16-bit PNG"
            )
        return Image.fromarray(labels.astype("<u2"))
    raise ImageError(
        f"mask {relative} has mode {image.mode}, which is not a label map; "
        "save masks as PNG in mode L, P or I;16"
    )


def _remove_files(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _recorded_mask_out(dst: Path) -> Path | None:
    """Return the MASK_OUT that the run recorded in DST wrote, or None."""
    from cropaug.manifest import MANIFEST_NAME
    from cropaug.progress import PROGRESS_NAME

    params = None
    manifest = dst / MANIFEST_NAME
    progress = dst / PROGRESS_NAME
    try:
        if manifest.exists():
            params = json.loads(manifest.read_text(encoding="utf-8"))["params"]
        elif progress.exists():
            with progress.open(encoding="utf-8") as file:
                params = json.loads(file.readline())["params"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(params, dict) or not params.get("mask_out"):
        return None
    return (dst / params["mask_out"]).resolve()
