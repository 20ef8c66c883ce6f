"""Crop one source image: decode it once, draw its corners, write every crop."""

import hashlib
import os
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from cropaug.boxes import (
    Box,
    crop_record,
    finish_box,
    needs_resampling,
    prepare_for_resampling,
)
from cropaug.conversion import PreparedImage, output_format_for, prepare_image
from cropaug.encoding import EXTENSIONS, SUBSAMPLING, encode_crop, exif_for_crop
from cropaug.errors import ImageError
from cropaug.files import OutputWriteError, write_atomic
from cropaug.imaging import DecodedImage, decode_opened, open_image
from cropaug.jpeg import (
    decode_jpeg,
    encode_crop_jpeg,
    encodes_boxes,
    fast_path_applies,
    upright_pixels,
)
from cropaug.masks import fit_mask, load_mask, write_mask_crops
from cropaug.modes import FIXED_SIZE_MODES, plan_boxes
from cropaug.naming import crop_name, index_width
from cropaug.remote import is_remote
from cropaug.sampling import image_rng
from cropaug.sizing import (
    SizePlan,
    SmallImageError,
    crop_upright,
    describe_small,
    fit_image,
    plan_size,
)


@dataclass(frozen=True)
class CropSettings:
    """Every option that affects the crops of one image."""

    crop_width: int
    crop_height: int
    n: int
    seed: int
    format: str
    quality: int
    # Chroma subsampling as "4:2:0"-style text, or None for the source's own.
    subsampling: str | None
    lossless: bool
    background: tuple[int, int, int]
    max_pixels: int
    # What to do with an image smaller than the crop: skip, pad, upscale, error.
    small: str = "skip"
    # Shorter side in pixels that every image is resized to first, or None.
    resize: int | None = None
    # Copy the source's EXIF into the crops (without Orientation).
    keep_exif: bool = False
    # How boxes are drawn: one of modes.MODES.
    mode: str = "random"
    # Resized mode: area fraction and aspect-ratio (width / height) ranges.
    scale: tuple[float, float] = (0.08, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    # Filter that resizes boxes to the crop size: a key of boxes.RESAMPLING.
    resample: str = "bilinear"
    # Grid mode: (x, y) step between corners; None steps by the crop size.
    stride: tuple[int, int] | None = None
    # Probability that a crop is mirrored left to right.
    hflip: float = 0.0
    # Smallest Chebyshev distance between the corners of two crops of one
    # image; 1 only keeps them distinct.
    min_shift: int = 2
    # Label-mask tree that mirrors SRC, and where its crops go; None for none.
    mask_root: Path | None = None
    mask_out: Path | None = None


@dataclass(frozen=True)
class CropJob:
    """One source to crop and the stem its outputs are named from (relative to DST)."""

    source: str
    class_name: str
    output_stem: str


def crop_source(src: Path, dst: Path, job: CropJob, settings: CropSettings) -> dict:
    """Crop one source and return its result record.

    The record's `status` is "cropped" (with the manifest entry under
    `image` and the byte size of each crop under `sizes`), "skipped" (with
    a `reason`) or "failed" (with an `error`).
    A failed source leaves no output file behind.

    Raises:
        OutputWriteError: when DST cannot be written, which stops the run.
    """
    try:
        decoded, plan, sha256 = load_source(src / job.source, settings)
    except SmallImageError as error:
        if error.policy == "skip":
            return {"status": "skipped", "source": job.source, "reason": str(error)}
        return _failed(job, str(error))
    except ImageError as error:
        return _failed(job, str(error))

    width, height = plan.size
    mask = None
    if settings.mask_root is not None:
        try:
            mask = load_mask(
                settings.mask_root, job.source, plan.original, settings.max_pixels
            )
        except ImageError as error:
            return _failed(job, str(error))
        mask = fit_mask(mask, plan)

    rng = image_rng(settings.seed, job.source)
    boxes = plan_boxes(rng, settings, width, height)
    output_format = output_format_for(decoded.format, settings.format, decoded.mode)
    extension = EXTENSIONS[output_format]
    digits = index_width(settings.n)
    paths = [
        crop_name(job.output_stem, index, digits, extension)
        for index in range(len(boxes.boxes))
    ]

    try:
        prepared, sizes = write_crops(dst, decoded, settings, boxes.boxes, paths, plan)
    except ImageError as error:
        return _failed(job, str(error))
    mask_paths = None
    if mask is not None:
        assert settings.mask_out is not None
        try:
            mask_paths = write_mask_crops(
                settings.mask_out, mask, boxes.boxes, paths, _output_size(settings)
            )
        except OutputWriteError:
            _remove_all([dst / path for path in paths])
            raise
        except ImageError as error:
            _remove_all([dst / path for path in paths])
            return _failed(job, str(error))

    image = {
        "source": job.source,
        "class_name": job.class_name,
        "width": width,
        "height": height,
        "sha256": sha256,
        "format": decoded.format,
        "mode": decoded.mode,
        "output_format": output_format,
        "output_mode": prepared.image.mode,
    }
    if decoded.frames > 1:
        image["frames"] = decoded.frames
    if prepared.conversion:
        image["conversion"] = prepared.conversion
    image.update(_size_fields(plan, decoded, settings))
    if settings.keep_exif and decoded.exif:
        image["exif"] = _exif_outcome(prepared)
    if boxes.positions is not None:
        image["positions"] = boxes.positions
    if len(boxes.boxes) < settings.n and settings.mode != "grid":
        image["requested"] = settings.n
    if mask is not None:
        image["mask_source"] = mask.source
        image["mask_sha256"] = mask.sha256
        image["mask_mode"] = mask.image.mode
    crops = [
        crop_record(box, path) for box, path in zip(boxes.boxes, paths, strict=True)
    ]
    if mask_paths is not None:
        for crop, mask_path in zip(crops, mask_paths, strict=True):
            crop["mask"] = mask_path
    image["crops"] = crops
    return {"status": "cropped", "source": job.source, "image": image, "sizes": sizes}


def load_source(
    path: Path, settings: CropSettings
) -> tuple[DecodedImage, SizePlan, str]:
    """Read a source file once; return its decode, its size plan and its SHA-256.

    The size plan is made from the header, so an image that is too small is
    rejected before its pixels are decoded. A source that
    `jpeg.fast_path_applies` accepts is decoded by simplejpeg into
    `decoded.pixels`, every other one by Pillow.

    Raises:
        SmallImageError: when the image is smaller than the crop and
            --small is skip or error.
        ImageError: when the file cannot be read or decoded.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImageError(f"cannot read: {error.strerror or error}") from None
    sha256 = hashlib.sha256(data).hexdigest()

    opened = open_image(data, settings.max_pixels)
    plan = plan_size(
        opened.size, fitting_size(settings), settings.resize, settings.small
    )
    if plan.small in ("skip", "error"):
        reason = describe_small(plan, _output_size(settings), settings.resize)
        raise SmallImageError(reason, plan.small)
    if fast_path_applies(opened, plan, settings):
        decoded = decode_jpeg(data, opened)
        if decoded is not None:
            return decoded, plan, sha256
    decoded = decode_opened(opened, plan.scaled_size)
    return decoded, plan, sha256


def write_crops(
    dst: Path,
    decoded: DecodedImage,
    settings: CropSettings,
    boxes: list[Box] | list[tuple[int, int]],
    paths: list[str],
    plan: SizePlan | None = None,
) -> tuple[PreparedImage, list[int]]:
    """Encode the crop of each box and write it atomically to its path under DST.

    Each box is a `Box`, or an (x, y) corner of a crop-size box, in the image
    after `plan` (resize, small-image policy). Every crop is resized to the
    crop size with `settings.resample` when its box has another size, then
    mirrored when the box is flipped.

    A source decoded by simplejpeg (`decoded.pixels`) has its crops encoded
    by simplejpeg when every box has the crop size, else by Pillow.

    Returns the prepared image, whose mode and conversion the manifest
    records, and the byte size of each crop written. When any crop fails
    to encode, the crops already written are removed. `plan` is the size
    plan from `load_source`, made again when omitted.

    Raises:
        ImageError: when the image cannot be converted or encoded.
        OutputWriteError: when DST cannot be written, which stops the run.
    """
    size = _output_size(settings)
    boxes = [
        box if isinstance(box, Box) else Box(box[0], box[1], *size) for box in boxes
    ]
    output_format = output_format_for(decoded.format, settings.format, decoded.mode)
    prepared = prepare_image(decoded, output_format, settings.background)
    if plan is None:
        plan = plan_size(
            decoded.size, fitting_size(settings), settings.resize, settings.small
        )
    prepared = fit_image(prepared, plan, decoded.draft_box, settings.background)
    if needs_resampling(boxes, size):
        prepared = prepare_for_resampling(prepared, settings.resample)
    if settings.keep_exif and decoded.exif:
        prepared.exif = exif_for_crop(
            decoded.exif, settings.crop_width, settings.crop_height
        )
    subsampling = _jpeg_subsampling(settings.subsampling, decoded.jpeg_subsampling)

    _make_folders(dst, paths)
    targets = _output_paths(dst, paths)

    upright = None
    if encodes_boxes(decoded, prepared, boxes, size):
        upright = upright_pixels(decoded)

    written = []
    sizes = []
    try:
        for target, box in zip(targets, boxes, strict=True):
            if upright is not None:
                encoded = encode_crop_jpeg(
                    upright, box, prepared, settings.quality, subsampling
                )
            else:
                region = crop_upright(prepared.image, prepared.orientation, box.bounds)
                encoded = encode_crop(
                    finish_box(region, box, size, settings.resample),
                    prepared,
                    settings.quality,
                    subsampling,
                    settings.lossless,
                )
            write_atomic(target, encoded)
            written.append(target)
            sizes.append(len(encoded))
    except OutputWriteError:
        _remove_all(written)
        raise
    except (OSError, ValueError) as error:
        _remove_all(written)
        raise ImageError(f"cannot encode {output_format}: {error}") from None
    return prepared, sizes


def _output_paths(dst: Path, paths: list[str]) -> list:
    """Join each relative path to DST.

    For a local DST the result is a string, which costs less than a path
    object on every crop.
    """
    if is_remote(dst):
        return [dst / path for path in paths]
    root = os.fspath(dst)
    return [os.path.join(root, path) for path in paths]


def _make_folders(dst: Path, paths: list[str]) -> None:
    """Create the folders under DST that the relative output paths need."""
    for relative in {os.path.dirname(path) for path in paths}:
        folder = dst / relative
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputWriteError(folder, error) from None


def _output_size(settings: CropSettings) -> tuple[int, int]:
    return settings.crop_width, settings.crop_height


def fitting_size(settings: CropSettings) -> tuple[int, int]:
    """Return the size an image must reach to be cropped without a small policy.

    Fixed-size modes need room for the crop; resized mode cuts smaller boxes
    and scales them up, so any image of at least one pixel will do.
    """
    if settings.mode in FIXED_SIZE_MODES:
        return _output_size(settings)
    return 1, 1


def _jpeg_subsampling(
    requested: str | None, source_subsampling: int | None
) -> int | None:
    if requested is not None:
        return SUBSAMPLING[requested]
    return source_subsampling


def _size_fields(plan: SizePlan, decoded: DecodedImage, settings: CropSettings):
    """Return the manifest fields that record how the image was sized for cropping."""
    fields: dict = {}
    if settings.resize is not None or plan.small is not None:
        fields["original_width"], fields["original_height"] = plan.original
    if plan.resized is not None:
        fields["resized_width"], fields["resized_height"] = plan.resized
    if decoded.draft_scale > 1:
        fields["draft_scale"] = decoded.draft_scale
    if plan.small is not None:
        fields["small"] = plan.small
    if plan.small == "pad":
        fields["pad_x"], fields["pad_y"] = plan.pad_offset
    return fields


def _exif_outcome(prepared: PreparedImage) -> str:
    """Return what --keep-exif did with a source that has EXIF, for the manifest."""
    if prepared.exif:
        return "copied"
    return "not copied: corrupt EXIF"


def _failed(job: CropJob, error: str) -> dict:
    return {"status": "failed", "source": job.source, "error": error}


def _remove_all(paths: list) -> None:
    for path in paths:
        if isinstance(path, str):
            with suppress(FileNotFoundError):
                os.remove(path)
        else:
            path.unlink(missing_ok=True)
