"""Decode source images, convert them for an output format, and encode crops."""

import io
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageCms, JpegImagePlugin, UnidentifiedImageError

from cropaug.errors import ImageError

# Output format names as Pillow spells them, with the extension cropaug writes.
EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp"}

# What `--format same` writes for each source format. Formats that torchvision's
# ImageFolder and Keras' image_dataset_from_directory both read are kept; GIF,
# TIFF and WebP become PNG, which is lossless and holds every mode they hold.
SAME_FORMAT = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "BMP": "BMP"}

# Modes each output format stores as they are.
_STORABLE_MODES = {
    "JPEG": {"L", "RGB", "CMYK"},
    "PNG": {"1", "L", "LA", "P", "RGB", "RGBA", "I;16"},
    "WEBP": {"RGB", "RGBA"},
    "BMP": {"1", "L", "P", "RGB", "RGBA"},
}

_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N"}

# Chroma subsampling as Pillow's JPEG encoder numbers it.
SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}

_ORIENTATION_TAG = 0x0112
_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass
class DecodedImage:
    """A decoded first frame, turned upright, with what the crops need to keep."""

    image: Image.Image
    format: str
    mode: str
    frames: int
    icc_profile: bytes | None
    # Pillow's number for the source's chroma subsampling; None unless JPEG.
    jpeg_subsampling: int | None


@dataclass
class PreparedImage:
    """An upright image in a mode its output format stores, ready to crop."""

    image: Image.Image
    format: str
    icc_profile: bytes | None
    # Plain-words description of the conversion applied, or None.
    conversion: str | None


def decode_image(data: bytes, max_pixels: int) -> DecodedImage:
    """Decode the first frame of an encoded image and apply its EXIF orientation.

    Raises:
        ImageError: with a short plain reason for an empty, truncated,
            unrecognised or oversized file.
    """
    if not data:
        raise ImageError("empty file")

    with _pixel_limit_lifted():
        try:
            image = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            raise ImageError("not an image") from None
        except (OSError, SyntaxError, ValueError) as error:
            raise ImageError(f"unreadable image header ({error})") from None

        width, height = image.size
        if width * height > max_pixels:
            raise ImageError(
                f"image is {width * height} pixels, above --max-pixels ({max_pixels})"
            )

        format_name = image.format or "unknown"
        try:
            frames = getattr(image, "n_frames", 1)
            image.seek(0)
            image.load()
        except (OSError, SyntaxError, ValueError, EOFError) as error:
            raise ImageError(_describe_decode_error(format_name, error)) from None

    subsampling = None
    if format_name in ("JPEG", "MPO"):
        subsampling = JpegImagePlugin.get_sampling(image)
        if subsampling < 0:
            subsampling = None

    orientation = image.getexif().get(_ORIENTATION_TAG)
    icc_profile = image.info.get("icc_profile") or None
    upright = image
    if orientation in _TRANSPOSE_FOR_ORIENTATION:
        upright = image.transpose(_TRANSPOSE_FOR_ORIENTATION[orientation])
        # transpose() drops `info`, which holds the palette transparency.
        upright.info = dict(image.info)

    return DecodedImage(
        image=upright,
        format=format_name,
        mode=image.mode,
        frames=frames,
        icc_profile=icc_profile,
        jpeg_subsampling=subsampling,
    )


def output_format_for(source_format: str, requested: str) -> str:
    """Return the Pillow format name crops are written in."""
    if requested != "same":
        return requested.upper()
    return SAME_FORMAT.get(source_format, "PNG")


def prepare_image(
    decoded: DecodedImage, output_format: str, background: tuple[int, int, int]
) -> PreparedImage:
    """Convert the whole image once into a mode the output format stores.

    Alpha is composited over `background`; CMYK becomes RGB through its ICC
    profile when it has one; 16-bit data is scaled to 8 bits. The ICC profile
    is kept only when its colour space still matches the pixels.
    """
    image = decoded.image
    storable = _STORABLE_MODES[output_format]
    steps = []

    if image.mode in _SIXTEEN_BIT_MODES or image.mode == "I":
        image, step = _normalise_wide_gray(image, keep_16_bit="I;16" in storable)
        if step:
            steps.append(step)
    if image.mode == "F":
        raise ImageError("32-bit floating-point pixels are not supported")

    if image.mode not in storable:
        image, step = _convert_mode(image, storable, background, decoded.icc_profile)
        steps.append(step)

    icc_profile = decoded.icc_profile
    if steps and "ICC profile" in steps[-1]:
        icc_profile = _srgb_profile()
    elif icc_profile and not _profile_matches(icc_profile, image.mode):
        steps.append("ICC profile dropped because it no longer matches the pixels")
        icc_profile = None

    return PreparedImage(
        image=image,
        format=output_format,
        icc_profile=icc_profile,
        conversion="; ".join(steps) or None,
    )


def encode_crop(
    image: Image.Image,
    prepared: PreparedImage,
    quality: int,
    subsampling: int | None,
    lossless: bool,
) -> bytes:
    """Encode one crop in the prepared format, with its ICC profile and no EXIF."""
    options: dict = {}
    if prepared.icc_profile:
        options["icc_profile"] = prepared.icc_profile
    if prepared.format == "JPEG":
        options["quality"] = quality
        if subsampling is not None and image.mode != "L":
            options["subsampling"] = subsampling
    elif prepared.format == "WEBP":
        options["quality"] = quality
        options["lossless"] = lossless
        # Keep the colour of fully transparent pixels, so lossless is exact.
        options["exact"] = lossless
    elif prepared.format == "PNG" and "transparency" in prepared.image.info:
        options["transparency"] = prepared.image.info["transparency"]

    buffer = io.BytesIO()
    image.save(buffer, prepared.format, **options)
    return buffer.getvalue()


def parse_color(text: str) -> tuple[int, int, int]:
    """Parse a colour name, `#rrggbb` or `r,g,b` into an RGB triple."""
    from PIL import ImageColor

    if "," in text:
        parts = text.split(",")
        if len(parts) == 3 and all(p.strip().isdigit() for p in parts):
            values = tuple(int(p) for p in parts)
            if all(0 <= v <= 255 for v in values):
                return values  # type: ignore[return-value]
        raise ValueError(f"{text!r} is not three numbers from 0 to 255")
    red, green, blue, *_ = ImageColor.getrgb(text)
    return red, green, blue


def _describe_decode_error(format_name: str, error: BaseException) -> str:
    message = str(error)
    if "truncated" in message or isinstance(error, EOFError):
        return f"truncated {format_name} data"
    return f"corrupt {format_name} data ({message})"


@contextmanager
def _pixel_limit_lifted():
    """Switch off Pillow's own size check, because decode_image applies --max-pixels.

    This changes a Pillow global for the duration of one decode, which is safe
    because cropaug decodes one image at a time per process.
    """
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _normalise_wide_gray(image: Image.Image, keep_16_bit: bool):
    """Return a 16-bit gray image as I;16 when it can stay 16-bit, else as 8-bit L."""
    pixels = np.asarray(image)
    if image.mode == "I" and (pixels.min() < 0 or pixels.max() > 65535):
        raise ImageError(
            "32-bit integer pixels outside the 16-bit range are not supported"
        )
    pixels = pixels.astype(np.uint32)
    if keep_16_bit:
        if image.mode == "I;16":
            return image, None
        return Image.fromarray(pixels.astype("<u2"), mode="I;16"), None
    # Scale 0..65535 to 0..255 with rounding: 65535 maps to 255, nothing clips.
    scaled = ((pixels * 255 + 32767) // 65535).astype(np.uint8)
    return Image.fromarray(scaled, mode="L"), "16-bit gray scaled to 8-bit"


def _convert_mode(image, storable, background, icc_profile):
    """Convert to the closest storable mode; return the image and a description."""
    mode = image.mode
    if mode == "CMYK":
        return _cmyk_to_rgb(image, icc_profile)
    if mode == "1":
        target = "L" if "L" in storable else "RGB"
        return image.convert(target), f"1-bit converted to {target}"

    has_alpha = mode in ("LA", "PA", "RGBA") or (
        mode == "P" and "transparency" in image.info
    )
    gray = mode in ("L", "LA")
    if has_alpha:
        with_alpha = "LA" if gray and "LA" in storable else "RGBA"
        if with_alpha in storable:
            return _convert_quietly(
                image, with_alpha
            ), f"{mode} converted to {with_alpha}"
        target = "L" if gray and "L" in storable else "RGB"
        composited = _composite(image, target, background)
        colour = "#{:02x}{:02x}{:02x}".format(*background)
        return composited, f"alpha composited over {colour}"

    target = "L" if gray and "L" in storable else "RGB"
    return _convert_quietly(image, target), f"{mode} converted to {target}"


def _convert_quietly(image: Image.Image, mode: str) -> Image.Image:
    with warnings.catch_warnings():
        # Pillow warns that palette transparency given as bytes should be
        # converted to RGBA, which is what this call does.
        warnings.simplefilter("ignore", UserWarning)
        return image.convert(mode)


def _composite(image: Image.Image, target: str, background: tuple[int, int, int]):
    """Blend pixels over an opaque background.

    Each channel becomes (c*a + bg*(255-a)) / 255, rounded to the nearest integer.
    """
    if target == "L":
        rgba = np.asarray(_convert_quietly(image, "LA"), dtype=np.uint32)
        red, green, blue = background
        # ITU-R 601-2 luma, the weights Pillow uses for RGB to L.
        fill = np.array([(red * 299 + green * 587 + blue * 114 + 500) // 1000])
    else:
        rgba = np.asarray(_convert_quietly(image, "RGBA"), dtype=np.uint32)
        fill = np.array(background, dtype=np.uint32)
    colour, alpha = rgba[..., :-1], rgba[..., -1:]
    blended = (colour * alpha + fill * (255 - alpha) + 127) // 255
    blended = blended.astype(np.uint8)
    if target == "L":
        return Image.fromarray(blended[..., 0], mode="L")
    return Image.fromarray(blended, mode="RGB")


def _cmyk_to_rgb(image: Image.Image, icc_profile: bytes | None):
    if icc_profile and _profile_color_space(icc_profile) == "CMYK":
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            converted = ImageCms.profileToProfile(
                image, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
            )
        except (ImageCms.PyCMSError, OSError):
            pass
        else:
            return converted, "CMYK converted to sRGB with the embedded ICC profile"
    return image.convert("RGB"), "CMYK converted to RGB"


_SRGB_PROFILE: bytes | None = None


def _srgb_profile() -> bytes:
    global _SRGB_PROFILE
    if _SRGB_PROFILE is None:
        _SRGB_PROFILE = ImageCms.ImageCmsProfile(
            ImageCms.createProfile("sRGB")
        ).tobytes()
    return _SRGB_PROFILE


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
