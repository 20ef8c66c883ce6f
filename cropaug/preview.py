"""Render crop boxes as a picture: before a run from the sampler, after from a manifest.

Boxes drawn before a run come from `modes.plan_boxes`, which `expand` uses,
seeded the way `expand` seeds it: from the seed and the source's path
relative to SRC. So they match expand's in every mode. `preview_manifest`
draws the boxes a manifest records. Mirrored crops are numbered with
FLIPPED_MARK after the number.
"""

import io
import logging
import secrets
from pathlib import Path

from PIL import Image

from cropaug.boxes import apply_box
from cropaug.crop import CropSettings
from cropaug.discover import discover_sources
from cropaug.drawing import Picture, Tile, draw_preview, draw_sheet
from cropaug.errors import CropaugError, ImageError, InvalidParameterError
from cropaug.files import write_atomic
from cropaug.manifest import MANIFEST_NAME
from cropaug.modes import FIXED_COUNTS
from cropaug.paths import path_problem, resolve_inside
from cropaug.preview_data import (
    caption_notes,
    crop_count,
    expand_options,
    failed_tile,
    load_image_rgb,
    preview_settings,
    rectangles,
    sampled_boxes,
    sheet_caption,
)
from cropaug.preview_manifest import preview_recorded, preview_recorded_sheet

logger = logging.getLogger(__name__)

# Seeds drawn when none is given stay below 2**32, as in `expand`.
DRAWN_SEED_BOUND = 1 << 32


def seed_path(image: Path) -> str:
    """Return the relative path that seeds a lone image: its folder and name.

    That is the path `expand` seeds it with when the image lies directly in
    a class folder of SRC, such as SRC/cats/a.jpg.
    """
    return f"{image.parent.name}/{image.name}" if image.parent.name else image.name


def preview_sample(path: Path, source: str, settings: CropSettings) -> Picture:
    """Draw the boxes `expand` would cut from one image under `settings`, and the crops.

    `source` is the path relative to SRC that seeds the image's generator.
    The strip shows each crop as expand cuts it: resized to the crop size
    and mirrored where the box is flipped.

    Raises:
        ImageError: when the image cannot be read or decoded.
    """
    display, format_name = load_image_rgb(path)
    boxes = sampled_boxes(display.size, source, settings)
    size = (settings.crop_width, settings.crop_height)
    crops = [apply_box(display, box, size, settings.resample) for box in boxes]
    width, height = display.size
    if boxes and settings.mode == "resized":
        summary = (
            f"{len(boxes)} boxes of random size and aspect ratio, each resized "
            f"to {size[0]}x{size[1]}"
        )
    elif boxes:
        summary = f"{len(boxes)} crops of {size[0]}x{size[1]}"
    else:
        summary = f"smaller than the {size[0]}x{size[1]} crop, so expand skips it"
    caption = (
        f"{width}x{height} {format_name}; {summary}, the boxes that "
        f"cropaug expand {expand_options(settings)} draws for {source}. "
        f"{caption_notes(boxes)}"
    )
    return draw_preview(
        display,
        display.size,
        rectangles(boxes),
        crops,
        source,
        caption,
        [box.flipped for box in boxes],
    )


def preview_sample_sheet(
    src: Path, settings: CropSettings, max_images: int
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
            tiles.append(failed_tile(source.path, str(error)))
            continue
        boxes = sampled_boxes(display.size, source.path, settings)
        caption = f"{source.path}: {crop_count(boxes)}"
        tiles.append(Tile(display, display.size, rectangles(boxes), caption))
    title = f"{src}: cropaug expand {expand_options(settings)}"
    return draw_sheet(tiles, title, sheet_caption(len(tiles), len(discovery.sources)))


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
    box_options: dict | None = None,
) -> Image.Image:
    """Render the preview that TARGET and the options ask for.

    TARGET is an image file (boxes sampled as `expand` would), a SRC folder
    (with `image` or `grid`, sampled), or a manifest or the DST folder that
    contains one (with `image` or `grid`, recorded). Sampling needs `size`,
    and `n` unless the mode fixes the count; a seed is drawn and logged when
    `seed` is None. `box_options` are expand's keywords that place boxes
    (see `preview_data.BOX_OPTIONS`), such as {"mode": "resized"}.

    Raises:
        InvalidParameterError: when the options do not fit TARGET or are out
            of range.
        ManifestError: when the manifest is invalid or unsafe.
        CropaugError: when a source cannot be read or is not in the manifest.
    """
    box_options = box_options or {}
    manifest_path = _manifest_in(target)
    if manifest_path is not None:
        if size is not None or n is not None or seed is not None or box_options:
            raise InvalidParameterError(
                "--size, --n, --seed, --mode and the other box options apply to "
                "images and SRC folders; a manifest's boxes are already recorded"
            )
        if grid:
            return preview_recorded_sheet(manifest_path, src, max_images)
        if image is None:
            raise InvalidParameterError(
                "pass --image SOURCE to preview one source of the manifest, or --grid"
            )
        return preview_recorded(manifest_path, image, src).image

    fixed_count = box_options.get("mode", "random") in FIXED_COUNTS
    if size is None or (n is None and not fixed_count):
        needed = "--size" if fixed_count else "--size and --n"
        raise InvalidParameterError(
            f"pass {needed} to preview the crops expand would cut"
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
    settings = preview_settings(size, n, seed, **box_options)
    if target.is_file():
        if grid or image is not None:
            raise InvalidParameterError(
                "--image and --grid apply to folders and manifests, not to an image"
            )
        return preview_sample(target, seed_path(target), settings).image
    if grid:
        return preview_sample_sheet(target, settings, max_images)
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
    return preview_sample(path, image, settings).image


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
