"""Render crop boxes as a picture: before a run from the sampler, after from a manifest.

Boxes drawn before a run come from the sampler `expand` uses, seeded the way
`expand` seeds it: from the seed and the source's path relative to SRC.
"""

import io
import logging
import secrets
from pathlib import Path

from PIL import Image

from cropaug.discover import discover_sources
from cropaug.drawing import (
    PANEL_MAX,
    TILE,
    Picture,
    Tile,
    draw_preview,
    draw_sheet,
    fit_scale,
)
from cropaug.errors import CropaugError, ImageError, InvalidParameterError
from cropaug.files import write_atomic
from cropaug.inspection import find_image
from cropaug.manifest import MANIFEST_NAME
from cropaug.paths import path_problem, resolve_inside
from cropaug.preview_data import (
    PLACEHOLDER,
    load_crop_files,
    load_image_rgb,
    load_recorded_source_rgb,
    reconstruct,
    recorded_boxes,
    sampled_boxes,
)
from cropaug.validate import load_checked_manifest

logger = logging.getLogger(__name__)

# Seeds drawn when none is given stay below 2**32, as in `expand`.
DRAWN_SEED_BOUND = 1 << 32
DARKENED_NOTE = "Darkened parts are in no crop."


def seed_path(image: Path) -> str:
    """Return the relative path that seeds a lone image: its folder and name.

    That is the path `expand` seeds it with when the image lies directly in
    a class folder of SRC, such as SRC/cats/a.jpg.
    """
    return f"{image.parent.name}/{image.name}" if image.parent.name else image.name


def preview_sample(
    path: Path, source: str, size: tuple[int, int], n: int, seed: int
) -> Picture:
    """Draw the boxes `expand --seed SEED` would cut from one image, and the crops.

    `source` is the path relative to SRC that seeds the image's generator.

    Raises:
        ImageError: when the image cannot be read or decoded.
    """
    display, format_name = load_image_rgb(path)
    boxes = sampled_boxes(display.size, source, size, n, seed)
    crops = [display.crop((x, y, x + w, y + h)) for x, y, w, h in boxes]
    width, height = display.size
    if boxes:
        summary = f"{len(boxes)} crops of {size[0]}x{size[1]}"
    else:
        summary = f"smaller than the {size[0]}x{size[1]} crop, so expand skips it"
    caption = (
        f"{width}x{height} {format_name}; {summary}, the boxes that "
        f"cropaug expand --seed {seed} draws for {source}. {DARKENED_NOTE}"
    )
    return draw_preview(display, display.size, boxes, crops, source, caption)


def preview_sample_sheet(
    src: Path, size: tuple[int, int], n: int, seed: int, max_images: int
) -> Image.Image:
    """Draw a contact sheet of the boxes `expand` would cut from the sources in SRC."""
    discovery = discover_sources(src)
    sources = discovery.sources[:max_images]
    if not sources:
        raise CropaugError(f"SRC {src} contains no images in class folders")
    tiles = []
    for source in sources:
        try:
            display, _ = load_image_rgb(src / source.path)
        except ImageError as error:
            tiles.append(_failed_tile(source.path, str(error)))
            continue
        boxes = sampled_boxes(display.size, source.path, size, n, seed)
        caption = f"{source.path}: {len(boxes)} crops"
        tiles.append(Tile(display, display.size, boxes, caption))
    title = f"{src}: {size[0]}x{size[1]} crops, seed {seed}"
    return draw_sheet(tiles, title, _sheet_caption(len(tiles), len(discovery.sources)))


def preview_recorded(manifest_path: Path, source: str, src: Path | None) -> Picture:
    """Draw the boxes a manifest records for one source, and the crops.

    The crops come from the files beside the manifest. With SRC the source is
    drawn under the boxes. Without it, the crops are pasted at their boxes on
    a grey canvas.

    Raises:
        ManifestError: when the manifest is invalid or unsafe.
        CropaugError: when the source is not in the manifest or no longer
            has the recorded size.
    """
    manifest, settings = load_checked_manifest(manifest_path)
    assert settings is not None
    image = find_image(manifest, source)
    size = (image["width"], image["height"])
    boxes = recorded_boxes(image)
    crops = load_crop_files(manifest_path.parent, image, settings)

    scale = fit_scale(size, PANEL_MAX)
    if src is not None:
        display = load_recorded_source_rgb(src, image, settings)
        crops = [
            crop or display.crop((x, y, x + w, y + h))
            for crop, (x, y, w, h) in zip(crops, boxes, strict=True)
        ]
        origin_note = f"source read from {src}"
    else:
        display = reconstruct(size, boxes, crops, scale)
        origin_note = "without --source, the crops are pasted at their boxes"
    strip = [
        crop or Image.new("RGB", (w, h), PLACEHOLDER)
        for crop, (_, _, w, h) in zip(crops, boxes, strict=True)
    ]

    params = manifest["params"]
    caption = (
        f"{size[0]}x{size[1]} {image.get('format')}; {len(boxes)} crops of "
        f"{params['width']}x{params['height']} recorded in {manifest_path} "
        f"(seed {params['seed']}); {origin_note}. {DARKENED_NOTE}"
    )
    return draw_preview(display, size, boxes, strip, source, caption)


def preview_recorded_sheet(
    manifest_path: Path, src: Path | None, max_images: int
) -> Image.Image:
    """Draw a contact sheet of the boxes a manifest records, one cell per source."""
    manifest, settings = load_checked_manifest(manifest_path)
    assert settings is not None
    images = manifest["images"][:max_images]
    if not images:
        raise CropaugError(f"{manifest_path} records no cropped images")
    tiles = []
    for image in images:
        size = (image["width"], image["height"])
        boxes = recorded_boxes(image)
        caption = f"{image['source']}: {len(boxes)} crops"
        if src is not None:
            try:
                display = load_recorded_source_rgb(src, image, settings)
            except CropaugError as error:
                tiles.append(_failed_tile(image["source"], str(error)))
                continue
        else:
            crops = load_crop_files(manifest_path.parent, image, settings)
            display = reconstruct(size, boxes, crops, fit_scale(size, (TILE, TILE)))
        tiles.append(Tile(display, size, boxes, caption))

    params = manifest["params"]
    title = (
        f"{manifest_path}: {params['width']}x{params['height']} crops, "
        f"seed {params['seed']}"
    )
    return draw_sheet(tiles, title, _sheet_caption(len(tiles), len(manifest["images"])))


def _failed_tile(source: str, reason: str) -> Tile:
    canvas = Image.new("RGB", (TILE, TILE), PLACEHOLDER)
    return Tile(canvas, canvas.size, [], f"{source}: {reason}")


def _sheet_caption(drawn: int, total: int) -> str:
    if drawn == total:
        return f"{total} images. {DARKENED_NOTE}"
    return f"First {drawn} of {total} images. {DARKENED_NOTE}"


def render_preview(
    target: Path,
    *,
    size: tuple[int, int] | None = None,
    n: int | None = None,
    seed: int | None = None,
    image: str | None = None,
    src: Path | None = None,
    grid: bool = False,
    max_images: int = 24,
) -> Image.Image:
    """Render the preview that TARGET and the options ask for.

    TARGET is an image file (boxes sampled as `expand` would), a SRC folder
    (with `image` or `grid`, sampled), or a manifest or the DST folder that
    contains one (with `image` or `grid`, recorded). Sampling needs `size` and
    `n`; a seed is drawn and logged when `seed` is None.

    Raises:
        InvalidParameterError: when the options do not fit TARGET.
        ManifestError: when the manifest is invalid or unsafe.
        CropaugError: when a source cannot be read or is not in the manifest.
    """
    manifest_path = _manifest_in(target)
    if manifest_path is not None:
        if size is not None or n is not None or seed is not None:
            raise InvalidParameterError(
                "--size, --n and --seed apply to images and SRC folders; a "
                "manifest's boxes are already recorded"
            )
        if grid:
            return preview_recorded_sheet(manifest_path, src, max_images)
        if image is None:
            raise InvalidParameterError(
                "pass --image SOURCE to preview one source of the manifest, or --grid"
            )
        return preview_recorded(manifest_path, image, src).image

    if size is None or n is None:
        raise InvalidParameterError(
            "pass --size and --n to preview the crops expand would cut"
        )
    if src is not None:
        raise InvalidParameterError(
            "--source applies to manifests; for an image inside SRC, pass SRC as "
            "the target and the image's path relative to SRC as --image"
        )
    if seed is None:
        seed = secrets.randbelow(DRAWN_SEED_BOUND)
        logger.warning(
            "no --seed given; drew seed %d (pass --seed %d to repeat)", seed, seed
        )
    if target.is_file():
        if grid or image is not None:
            raise InvalidParameterError(
                "--image and --grid apply to folders and manifests, not to an image"
            )
        return preview_sample(target, seed_path(target), size, n, seed).image
    if grid:
        return preview_sample_sheet(target, size, n, seed, max_images)
    if image is None:
        raise InvalidParameterError(
            f"{target} is a folder; pass --image SOURCE (relative to it) or --grid"
        )
    problem = path_problem(image)
    if problem:
        raise InvalidParameterError(
            f"--image {image!r} {problem}; give the path relative to {target} as "
            "expand records it, such as cats/a.jpg"
        )
    path = resolve_inside(target, image)
    return preview_sample(path, image, size, n, seed).image


def save_png(image: Image.Image, path: Path) -> None:
    """Write a picture as PNG, atomically.

    Raises:
        OutputWriteError: when the file cannot be written.
    """
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    write_atomic(path, buffer.getvalue())


def _manifest_in(target: Path) -> Path | None:
    if target.is_dir():
        candidate = target / MANIFEST_NAME
        return candidate if candidate.is_file() else None
    if target.suffix.lower() == ".json":
        return target
    return None
