"""Load what a preview draws: source pixels in RGB, crop files, and boxes."""

import logging
from pathlib import Path

from PIL import Image

from cropaug.crop import CropSettings, load_source
from cropaug.drawing import scaled_size
from cropaug.errors import CropaugError, ImageError
from cropaug.imaging import DecodedImage, decode_image, prepare_image
from cropaug.paths import resolve_inside
from cropaug.sampling import count_positions, image_rng, sample_corners

logger = logging.getLogger(__name__)

# Pillow's own decompression-bomb limit doubled, as `expand` uses by default.
DEFAULT_MAX_PIXELS = 2 * Image.MAX_IMAGE_PIXELS
WHITE = (255, 255, 255)
PLACEHOLDER = (200, 200, 196)

Box = tuple[int, int, int, int]


def sampled_boxes(
    image_size: tuple[int, int], source: str, size: tuple[int, int], n: int, seed: int
) -> list[Box]:
    """Return the (x, y, width, height) boxes `expand` draws for a source.

    `source` is the path relative to SRC that seeds the source's generator.
    Returns fewer than `n` boxes when the image has fewer positions, and
    none when it is smaller than the crop.
    """
    width, height = image_size
    if count_positions(width, height, *size) == 0:
        return []
    corners = sample_corners(image_rng(seed, source), width, height, *size, n)
    return [(x, y, size[0], size[1]) for x, y in corners]


def recorded_boxes(image: dict) -> list[Box]:
    """Return the (x, y, width, height) boxes of a manifest image's crops."""
    return [(c["x"], c["y"], c["width"], c["height"]) for c in image["crops"]]


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
        decoded, sha256 = load_source(path, settings)
    except ImageError as error:
        raise CropaugError(f"source {path}: {error}") from None
    if decoded.image.size != (image["width"], image["height"]):
        width, height = decoded.image.size
        raise CropaugError(
            f"source {path} is {width}x{height}, the manifest records "
            f"{image['width']}x{image['height']}; pass the SRC the run cropped"
        )
    if sha256 != image["sha256"]:
        logger.warning("%s differs from the source the manifest records", path)
    return display_rgb(decoded, settings.background)


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
    """Paste the crops at their boxes on a grey canvas, at the preview's scale."""
    canvas = Image.new("RGB", scaled_size(size, scale), PLACEHOLDER)
    for crop, (x, y, width, height) in zip(crops, boxes, strict=True):
        if crop is None:
            continue
        left, top = round(x * scale), round(y * scale)
        right, bottom = round((x + width) * scale), round((y + height) * scale)
        if right > left and bottom > top:
            canvas.paste(crop.resize((right - left, bottom - top)), (left, top))
    return canvas


def display_rgb(
    decoded: DecodedImage, background: tuple[int, int, int] = WHITE
) -> Image.Image:
    """Return a decoded image in RGB for display.

    Converting as for JPEG output composites alpha over `background` and
    scales 16-bit gray to 8 bits. CMYK then becomes plain RGB.
    """
    return prepare_image(decoded, "JPEG", background).image.convert("RGB")


def load_image_rgb(path: Path) -> tuple[Image.Image, str]:
    """Decode an image as `expand` does and return it in RGB, with its format."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImageError(f"cannot read {path}: {error.strerror or error}") from None
    decoded = decode_image(data, DEFAULT_MAX_PIXELS)
    return display_rgb(decoded), decoded.format
