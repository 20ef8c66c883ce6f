"""Convert a decoded image into a mode its output format stores.

Every conversion here is computed pixel by pixel, so it gives the same result
on the image as stored in the file as on the upright image, and before or
after cropping.
"""

import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageCms, ImageColor

from cropaug.errors import ImageError

if TYPE_CHECKING:
    from cropaug.imaging import DecodedImage

# Output format that `--format same` writes for each source format. Formats
# that torchvision's ImageFolder and Keras' image_dataset_from_directory both
# read are kept. GIF, TIFF and WebP become PNG, which is lossless and stores
# every mode they store.
SAME_FORMAT = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "BMP": "BMP"}

# Modes each output format stores as they are. BMP has no RGBA here because
# readers, Pillow among them, take a 32-bit BMP for RGB and drop its alpha.
STORABLE_MODES = {
    "JPEG": {"L", "RGB", "CMYK"},
    "PNG": {"1", "L", "LA", "P", "RGB", "RGBA", "I;16"},
    "WEBP": {"RGB", "RGBA"},
    "BMP": {"1", "L", "P", "RGB"},
}

# Formats that store a transparent colour or palette entry (PNG's tRNS chunk)
# for the modes without an alpha channel.
_TRANSPARENCY_KEY_FORMATS = {"PNG"}

# Formats the encoder can embed an ICC profile in.
_ICC_FORMATS = {"JPEG", "PNG", "WEBP"}

# NOTE: Only gray images reach cropaug with 16 bits. Pillow decodes 16-bit
# colour PNG and TIFF files to 8-bit RGB or RGBA itself, keeping the high byte
# of each sample (truncating, so up to one level darker than rounding).
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}
_ALPHA_MODES = {"LA", "PA", "RGBA"}

# Row bands of about this many pixels bound the numpy temporaries of a
# conversion to a few megabytes, whatever the image size.
_BAND_PIXELS = 1 << 18


@dataclass
class PreparedImage:
    """An image in a mode its output format stores, ready to crop."""

    image: Image.Image
    format: str
    icc_profile: bytes | None
    # Plain-words description of the conversions applied, or None.
    conversion: str | None
    # EXIF orientation still to apply to each crop; 1 once `image` is upright.
    orientation: int = 1
    # EXIF block to write into each crop (--keep-exif), or None.
    exif: bytes | None = None


def output_format_for(
    source_format: str, requested: str, source_mode: str | None = None
) -> str:
    """Return the Pillow format name crops are written in.

    With "same", a source whose mode the kept format cannot store (a BMP
    with alpha) is written as PNG.
    """
    if requested != "same":
        return requested.upper()
    output_format = SAME_FORMAT.get(source_format, "PNG")
    if source_mode is not None and source_mode not in STORABLE_MODES[output_format]:
        return "PNG"
    return output_format


def prepare_image(
    decoded: "DecodedImage", output_format: str, background: tuple[int, int, int]
) -> PreparedImage:
    """Convert the whole image once into a mode the output format stores.

    Alpha is composited over `background`; CMYK becomes sRGB through its ICC
    profile when it has one; 16-bit data is scaled to 8 bits with rounding.
    The ICC profile is kept only when its colour space still matches the
    pixels and the format can hold one. The image keeps its stored
    orientation.

    Raises:
        ImageError: when the pixels are of a kind cropaug cannot convert.
    """
    image = decoded.image
    icc_profile = decoded.icc_profile
    storable = STORABLE_MODES[output_format]
    steps = []

    try:
        if image.mode in _SIXTEEN_BIT_MODES or image.mode == "I":
            image, step = _normalise_wide_gray(image, keep_16_bit="I;16" in storable)
            if step:
                steps.append(step)
        if image.mode == "F":
            raise ImageError("32-bit floating-point pixels are not supported")

        if not _can_store(image, output_format):
            image, step, in_srgb = _convert_mode(
                image, output_format, background, decoded.icc_profile
            )
            steps.append(step)
            if in_srgb:
                icc_profile = srgb_profile()
    except (ValueError, OSError, ImageCms.PyCMSError) as error:
        raise ImageError(f"converting {image.mode} pixels failed: {error}") from None

    if icc_profile and output_format not in _ICC_FORMATS:
        steps.append(f"ICC profile dropped because {output_format} cannot hold one")
        icc_profile = None
    elif icc_profile and not _profile_matches(icc_profile, image.mode):
        steps.append("ICC profile dropped because it no longer matches the pixels")
        icc_profile = None

    return PreparedImage(
        image=image,
        format=output_format,
        icc_profile=icc_profile,
        conversion="; ".join(steps) or None,
        orientation=decoded.orientation,
    )


def parse_color(text: str) -> tuple[int, int, int]:
    """Parse a colour name, `#rrggbb` or `r,g,b` into an RGB triple."""
    if "," in text:
        parts = text.split(",")
        if len(parts) == 3 and all(p.strip().isdigit() for p in parts):
            values = tuple(int(p) for p in parts)
            if all(0 <= v <= 255 for v in values):
                return values  # type: ignore[return-value]
        raise ValueError(f"{text!r} is not three numbers from 0 to 255")
    red, green, blue, *_ = ImageColor.getrgb(text)
    return red, green, blue


def luma(color: tuple[int, int, int]) -> int:
    """Return the 8-bit gray of an RGB colour with ITU-R 601-2 weights, rounded.

    These are the weights Pillow uses to convert RGB to L.
    """
    red, green, blue = color
    return (red * 299 + green * 587 + blue * 114 + 500) // 1000


def has_transparency(image: Image.Image) -> bool:
    """Return whether an image has an alpha channel or a transparent colour key."""
    return image.mode in _ALPHA_MODES or "transparency" in image.info


def convert_quietly(image: Image.Image, mode: str) -> Image.Image:
    """Convert with Image.convert, without Pillow's palette transparency warning."""
    with warnings.catch_warnings():
        # Pillow warns that palette transparency given as bytes should be
        # converted to RGBA, which is what the callers do.
        warnings.simplefilter("ignore", UserWarning)
        return image.convert(mode)


def srgb_profile() -> bytes:
    """Return the bytes of LittleCMS's built-in sRGB profile."""
    global _SRGB_PROFILE
    if _SRGB_PROFILE is None:
        _SRGB_PROFILE = ImageCms.ImageCmsProfile(
            ImageCms.createProfile("sRGB")
        ).tobytes()
    return _SRGB_PROFILE


_SRGB_PROFILE: bytes | None = None


def _can_store(image: Image.Image, output_format: str) -> bool:
    if image.mode not in STORABLE_MODES[output_format]:
        return False
    if image.mode in _ALPHA_MODES or "transparency" not in image.info:
        return True
    return output_format in _TRANSPARENCY_KEY_FORMATS


def _normalise_wide_gray(image: Image.Image, keep_16_bit: bool):
    """Return 16-bit gray as I;16 when it can stay 16-bit, else as 8-bit L."""
    if image.mode == "I":
        low, high = image.getextrema()
        if low < 0 or high > 65535:
            raise ImageError(
                "32-bit integer pixels outside the 16-bit range are not supported"
            )
    if keep_16_bit:
        if image.mode == "I;16":
            return image, None
        return _map_bands(image, "I;16", _to_16_bit), None
    return _map_bands(image, "L", _scale_16_to_8), "16-bit gray scaled to 8-bit"


def _convert_mode(image, output_format, background, icc_profile):
    """Convert to the closest storable mode.

    Returns the image, a description, and whether the result is in sRGB
    because it went through a colour-managed transform.
    """
    storable = STORABLE_MODES[output_format]
    mode = image.mode
    if mode == "CMYK":
        return _cmyk_to_rgb(image, icc_profile)
    if mode == "LAB":
        # Image.convert would copy the L, a and b channels into R, G and B.
        converted = ImageCms.profileToProfile(
            image,
            ImageCms.createProfile("LAB"),
            ImageCms.createProfile("sRGB"),
            outputMode="RGB",
        )
        return converted, "CIELAB converted to sRGB", True
    if mode == "1":
        target = "L" if "L" in storable else "RGB"
        return image.convert(target), f"1-bit converted to {target}", False

    gray = mode in ("L", "LA")
    if has_transparency(image):
        with_alpha = "LA" if gray and "LA" in storable else "RGBA"
        if with_alpha in storable:
            converted = convert_quietly(image, with_alpha)
            description = f"{_describe_mode(image)} converted to {with_alpha}"
            return converted, description, False
        target = "L" if gray and "L" in storable else "RGB"
        colour = "#{:02x}{:02x}{:02x}".format(*background)
        composited = _composite(image, target, background)
        return composited, f"alpha composited over {colour}", False

    target = "L" if gray and "L" in storable else "RGB"
    return convert_quietly(image, target), f"{mode} converted to {target}", False


def _describe_mode(image: Image.Image) -> str:
    if image.mode not in _ALPHA_MODES and "transparency" in image.info:
        return f"{image.mode} with transparency"
    return image.mode


def _composite(image: Image.Image, target: str, background: tuple[int, int, int]):
    """Blend pixels over an opaque background, one row band at a time.

    Each channel becomes round((c*a + bg*(255-a)) / 255), never halfway
    because 255 is odd. Pillow's alpha_composite over an opaque background
    computes exactly this for every c, a and bg (a test checks all 2**24
    cases) and runs in C. Gray images are blended as RGB with three equal
    channels, which Pillow's RGB-to-L conversion maps back to the same value.
    """
    fill = (*background, 255)
    if target == "L":
        gray = luma(background)
        fill = (gray, gray, gray, 255)

    def blend(band: Image.Image) -> Image.Image:
        rgba = convert_quietly(band, "RGBA")
        backdrop = Image.new("RGBA", band.size, fill)
        return Image.alpha_composite(backdrop, rgba).convert(target)

    return _map_bands(image, target, blend)


def _scale_16_to_8(band: Image.Image) -> Image.Image:
    # round(p * 255 / 65535) is round(p / 257), and (p + 128) // 257 computes
    # it exactly for integers: 65535 becomes 255 and nothing clips.
    pixels = np.asarray(band).astype(np.uint32)
    scaled = ((pixels + 128) // 257).astype(np.uint8)
    return Image.frombytes("L", band.size, scaled.tobytes())


def _to_16_bit(band: Image.Image) -> Image.Image:
    # frombytes, not fromarray: Pillow 11.3 and later build mode "I" from a
    # uint16 array, while the raw little-endian bytes give "I;16" exactly.
    pixels = np.asarray(band).astype("<u2")
    return Image.frombytes("I;16", band.size, pixels.tobytes())


def _map_bands(
    image: Image.Image, mode: str, function: Callable[[Image.Image], Image.Image]
) -> Image.Image:
    """Build an image of `mode` by applying `function` to row bands of `image`.

    Working in bands keeps the temporary copies small, so the peak memory
    is the source plus the result.
    """
    width, height = image.size
    # No fill colour: every band is pasted over, so the memory stays unset.
    result = Image.new(mode, image.size, None)
    rows_per_band = max(1, _BAND_PIXELS // max(1, width))
    for top in range(0, height, rows_per_band):
        bottom = min(height, top + rows_per_band)
        band = image.crop((0, top, width, bottom))
        result.paste(function(band), (0, top))
    return result


def _cmyk_to_rgb(image: Image.Image, icc_profile: bytes | None):
    if not icc_profile or _profile_color_space(icc_profile) != "CMYK":
        return image.convert("RGB"), "CMYK converted to RGB", False
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
        )
    except (ImageCms.PyCMSError, OSError):
        description = "CMYK converted to RGB because its ICC profile is unusable"
        return image.convert("RGB"), description, False
    description = "CMYK converted to sRGB with the embedded ICC profile"
    return converted, description, True


def _profile_color_space(icc_profile: bytes) -> str:
    # Bytes 16-19 of an ICC header name the data colour space ("RGB ", "GRAY").
    return icc_profile[16:20].decode("ascii", errors="replace").strip()


def _profile_matches(icc_profile: bytes, mode: str) -> bool:
    space = _profile_color_space(icc_profile)
    if mode in ("1", "L", "LA", "I;16"):
        return space == "GRAY"
    if mode == "CMYK":
        return space == "CMYK"
    return space == "RGB"
