"""Load what a preview draws: source pixels in RGB, crop files, and boxes."""

import dataclasses
import logging
from fractions import Fraction
from pathlib import Path

from PIL import Image

from cropaug.boxes import Box, box_from_record
from cropaug.crop import CropSettings, load_source
from cropaug.drawing import FLIPPED_MARK, TILE, Tile, scaled_size
from cropaug.errors import CropaugError, ImageError, InvalidParameterError
from cropaug.imaging import DecodedImage, decode_image, prepare_image
from cropaug.modes import (
    FIXED_COUNTS,
    FIXED_SIZE_MODES,
    plan_boxes,
    resolve_count,
    validate_mode_settings,
)
from cropaug.paths import resolve_inside
from cropaug.sampling import count_positions, image_rng
from cropaug.sizing import SizePlan, crop_upright, fit_image

logger = logging.getLogger(__name__)

# Pillow's own decompression-bomb limit doubled, as `expand` uses by default.
DEFAULT_MAX_PIXELS = 2 * Image.MAX_IMAGE_PIXELS
WHITE = (255, 255, 255)
PLACEHOLDER = (200, 200, 196)
DARKENED_NOTE = "Darkened parts are in no crop."
FLIPPED_NOTE = f"{FLIPPED_MARK} after a number marks a mirrored crop."
# Keywords of expand that place boxes, which a preview before a run takes.
BOX_OPTIONS = ("mode", "scale", "ratio", "resample", "stride", "hflip", "min_shift")


def preview_settings(
    size: tuple[int, int], n: int | None, seed: int, **box_options
) -> CropSettings:
    """Return the settings whose boxes a preview draws, checked as expand checks them.

    `box_options` are expand's keywords that place boxes: mode, scale,
    ratio, resample, stride (an int or an (x, y) pair), hflip and min_shift.
    Options that change only the bytes of the crops keep expand's defaults.

    Raises:
        InvalidParameterError: naming the first option out of range, or `n`
            missing for a mode that needs it.
    """
    unknown = set(box_options) - set(BOX_OPTIONS)
    if unknown:
        raise InvalidParameterError(
            f"unknown box options: {', '.join(sorted(unknown))}"
        )
    stride = box_options.get("stride")
    if isinstance(stride, int):
        box_options["stride"] = (stride, stride)
    elif stride is not None:
        box_options["stride"] = tuple(stride)
    mode = box_options.get("mode", "random")
    settings = CropSettings(
        crop_width=size[0],
        crop_height=size[1],
        n=resolve_count(mode, n),
        seed=seed,
        format="same",
        quality=95,
        subsampling=None,
        lossless=False,
        background=WHITE,
        max_pixels=DEFAULT_MAX_PIXELS,
        **box_options,
    )
    validate_mode_settings(settings)
    return settings


def sampled_boxes(
    image_size: tuple[int, int], source: str, settings: CropSettings
) -> list[Box]:
    """Return the boxes `expand` draws for a source under `settings`, in order.

    `source` is the path relative to SRC that seeds the source's generator.
    The boxes come from `modes.plan_boxes`, which expand calls, so they
    match expand's for every mode, flip and min_shift. Returns fewer than
    `settings.n` boxes where expand writes fewer, and none where it skips
    an image smaller than the crop.
    """
    width, height = image_size
    positions = count_positions(
        width, height, settings.crop_width, settings.crop_height
    )
    if positions == 0 and settings.mode in FIXED_SIZE_MODES:
        return []
    rng = image_rng(settings.seed, source)
    return plan_boxes(rng, settings, width, height).boxes


def expand_options(settings: CropSettings) -> str:
    """Return the expand options that draw these boxes, defaults left out."""
    options = [f"--size {settings.crop_width}x{settings.crop_height}"]
    if settings.mode not in FIXED_COUNTS:
        options.append(f"--n {settings.n}")
    options.append(f"--seed {settings.seed}")
    defaults = {field.name: field.default for field in dataclasses.fields(settings)}
    for name in BOX_OPTIONS:
        value = getattr(settings, name)
        if value == defaults[name]:
            continue
        if name == "stride":
            text = f"{value[0]}x{value[1]}"
        elif isinstance(value, tuple):
            text = f"{_number_text(value[0])} {_number_text(value[1])}"
        else:
            text = _number_text(value) if isinstance(value, float) else str(value)
        options.append(f"--{name.replace('_', '-')} {text}")
    return " ".join(options)


def _number_text(value: float) -> str:
    """Return a short spelling of `value` that parses back to it, such as 3/4."""
    short = f"{value:g}"
    if float(short) == value:
        return short
    fraction = Fraction(value).limit_denominator(1000)
    if fraction.numerator / fraction.denominator == value:
        return f"{fraction.numerator}/{fraction.denominator}"
    return repr(value)


def rectangles(boxes: list[Box]) -> list[tuple[int, int, int, int]]:
    """Return the (x, y, width, height) of each box, as `drawing` takes them."""
    return [(box.x, box.y, box.width, box.height) for box in boxes]


def crop_count(boxes: list[Box]) -> str:
    """Return "N crops", with how many are mirrored when any are."""
    flipped = sum(box.flipped for box in boxes)
    mirrored = f", {flipped} mirrored" if flipped else ""
    return f"{len(boxes)} crops{mirrored}"


def caption_notes(boxes: list[Box]) -> str:
    """Return the caption's closing notes: darkening, and the flip mark if used."""
    if any(box.flipped for box in boxes):
        return f"{DARKENED_NOTE} {FLIPPED_NOTE}"
    return DARKENED_NOTE


def failed_tile(source: str, reason: str) -> Tile:
    """Return a contact-sheet cell whose caption gives why a source was not drawn."""
    canvas = Image.new("RGB", (TILE, TILE), PLACEHOLDER)
    return Tile(canvas, canvas.size, [], f"{source}: {reason}")


def sheet_caption(drawn: int, total: int) -> str:
    """Return a contact sheet's caption: how many of the images it shows."""
    if drawn == total:
        return f"{total} images. {DARKENED_NOTE}"
    return f"First {drawn} of {total} images. {DARKENED_NOTE}"


def recorded_boxes(image: dict) -> list[Box]:
    """Return the boxes of a manifest image's crops, flips included."""
    return [box_from_record(crop) for crop in image["crops"]]


def load_recorded_source_rgb(
    src: Path, image: dict, settings: CropSettings
) -> Image.Image:
    """Decode a manifest image's source from SRC in RGB, warning if it changed.

    Raises:
        ManifestError: when the source path resolves outside SRC.
        CropaugError: when the source cannot be decoded or has another size.
    """
    path = resolve_inside(src, image["source"])
    try:
        decoded, plan, sha256 = load_source(path, settings)
    except ImageError as error:
        raise CropaugError(f"source {path}: {error}") from None
    if plan.size != (image["width"], image["height"]):
        width, height = plan.size
        raise CropaugError(
            f"source {path} is {width}x{height}, the manifest records "
            f"{image['width']}x{image['height']}; pass the SRC the run cropped"
        )
    if sha256 != image["sha256"]:
        logger.warning("%s differs from the source the manifest records", path)
    return display_rgb(decoded, settings.background, plan)


def load_crop_files(
    dst: Path, image: dict, settings: CropSettings
) -> list[Image.Image | None]:
    """Return each crop file decoded for display, or None where it is unusable."""
    crops = []
    for crop in image["crops"]:
        try:
            path = resolve_inside(dst, crop["path"])
            decoded = decode_image(path.read_bytes(), settings.max_pixels)
        except (CropaugError, OSError):
            crops.append(None)
            continue
        crops.append(display_rgb(decoded, settings.background))
    return crops


def reconstruct(
    size: tuple[int, int],
    boxes: list[Box],
    crops: list[Image.Image | None],
    scale: float,
) -> Image.Image:
    """Paste the crops at their boxes on a grey canvas, at the preview's scale.

    Each crop is scaled to its box and a mirrored crop is mirrored back, so
    the canvas shows the source region each crop came from.
    """
    canvas = Image.new("RGB", scaled_size(size, scale), PLACEHOLDER)
    for crop, box in zip(crops, boxes, strict=True):
        if crop is None:
            continue
        left, top = round(box.x * scale), round(box.y * scale)
        right = round((box.x + box.width) * scale)
        bottom = round((box.y + box.height) * scale)
        if right <= left or bottom <= top:
            continue
        if box.flipped:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        canvas.paste(crop.resize((right - left, bottom - top)), (left, top))
    return canvas


def display_rgb(
    decoded: DecodedImage,
    background: tuple[int, int, int] = WHITE,
    plan: SizePlan | None = None,
) -> Image.Image:
    """Return a decoded image upright and in RGB for display.

    Converting as for JPEG output composites alpha over `background` and
    scales 16-bit gray to 8 bits. CMYK then becomes plain RGB. With a size
    plan, the image is resized and padded as expand does before cropping.
    """
    prepared = prepare_image(decoded, "JPEG", background)
    size = decoded.size
    if plan is not None:
        prepared = fit_image(prepared, plan, decoded.draft_box, background)
        size = plan.size
    upright = crop_upright(prepared.image, prepared.orientation, (0, 0, *size))
    return upright.convert("RGB")


def load_image_rgb(path: Path) -> tuple[Image.Image, str]:
    """Decode an image as `expand` does and return it in RGB, with its format."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImageError(f"cannot read {path}: {error.strerror or error}") from None
    decoded = decode_image(data, DEFAULT_MAX_PIXELS)
    return display_rgb(decoded), decoded.format
