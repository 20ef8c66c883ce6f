"""Decode source images: header checks, first frame, EXIF orientation, JPEG draft.

Decoding takes two steps, so that the caller can plan a resize from the
header alone. `open_image` reads the header and rejects oversized or
unreadable files. `decode_opened` then decodes the first frame, at a reduced
JPEG scale when the planned size allows it. PNG and TIFF are the
exceptions, decoded by `open_image` after the size check. Pillow reaches an
eXIf chunk stored after a PNG's pixel data only by decoding them, and it
turns a TIFF upright while decoding it.

The decoded image keeps the orientation it is stored in. Its `orientation`
names the EXIF transposition that turns it upright, and `cropaug.sizing`
applies it to each crop or before a resize, which saves a full-size copy.
"""

import io
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PIL import Image, JpegImagePlugin, UnidentifiedImageError

from cropaug.conversion import (
    SAME_FORMAT,
    PreparedImage,
    output_format_for,
    parse_color,
    prepare_image,
)
from cropaug.encoding import EXTENSIONS, SUBSAMPLING, encode_crop
from cropaug.errors import ImageError

if TYPE_CHECKING:
    import numpy as np

# Conversion and encoding were part of this module, so their public names stay
# importable from here.
__all__ = [
    "EXTENSIONS",
    "SAME_FORMAT",
    "SUBSAMPLING",
    "DecodedImage",
    "OpenedImage",
    "PreparedImage",
    "decode_image",
    "decode_opened",
    "decoded_from_opened",
    "encode_crop",
    "open_image",
    "output_format_for",
    "parse_color",
    "prepare_image",
]

logger = logging.getLogger(__name__)

ORIENTATION_TAG = 0x0112

# EXIF orientations 5 to 8 store the image rotated by a quarter turn, so the
# upright image has width and height swapped.
_QUARTER_TURN_ORIENTATIONS = frozenset({5, 6, 7, 8})

# Leading bytes of the formats cropaug reads, used to name the format of a
# file that Pillow cannot identify.
_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
)

# Formats whose decoder can scale the image down by 2, 4 or 8 while decoding.
_DRAFT_FORMATS = frozenset({"JPEG", "MPO"})


@dataclass
class OpenedImage:
    """A source whose header passed the checks, with its pixels not decoded yet."""

    image: Image.Image
    format: str
    frames: int
    # EXIF orientation from 1 to 8, and 1 when the file has none.
    orientation: int
    # Width and height of the upright image at full resolution.
    size: tuple[int, int]


@dataclass
class DecodedImage:
    """The decoded first frame of a source, with what the crops need to keep.

    `image` is stored as in the file (not turned upright) and, after a JPEG
    draft decode, at 1/`draft_scale` of the full resolution.
    """

    image: Image.Image
    format: str
    mode: str
    frames: int
    icc_profile: bytes | None
    # Pillow's number for the source's chroma subsampling; None unless JPEG.
    jpeg_subsampling: int | None
    orientation: int = 1
    # Width and height of the upright image at full resolution.
    size: tuple[int, int] = (0, 0)
    # 1, or 2, 4 or 8 when the JPEG decoder scaled the image down.
    draft_scale: int = 1
    # The region of `image` that covers the full-resolution source, as Pillow's
    # draft() returns it: (0, 0, width / scale, height / scale) in stored
    # orientation. Only the right and bottom edges differ from the image size,
    # by less than a pixel, when the size is not a multiple of the scale.
    draft_box: tuple[float, float, float, float] | None = None
    # The source's EXIF block (b"Exif\0\0" + TIFF data), or None.
    exif: bytes | None = None
    # The first frame as decoded by simplejpeg (height x width x channels, in
    # stored orientation) when the JPEG fast path took this source, else None.
    # `image` is then the opened file, which Pillow decodes only if its
    # pixels are read.
    pixels: "np.ndarray | None" = None

    def __post_init__(self) -> None:
        # A decode built without `size` takes it from the image itself.
        if self.size == (0, 0):
            self.size = upright_size(self.image.size, self.orientation)


def open_image(data: bytes, max_pixels: int) -> OpenedImage:
    """Read the header of an encoded image and check it before any decoding.

    Counting frames reads every frame's header but decodes none of them. A
    PNG's pixels are decoded, because its EXIF block may follow them, and so
    are a TIFF's, because Pillow applies its orientation while decoding.

    Raises:
        ImageError: with a short plain reason for an empty, truncated,
            unrecognised or oversized file.
    """
    if not data:
        raise ImageError("empty file")
    signature_format = _format_from_signature(data)
    if signature_format == "WEBP" and _riff_is_truncated(data):
        raise ImageError("truncated WEBP data")

    with quiet_pillow():
        try:
            image = Image.open(io.BytesIO(data))
        except UnidentifiedImageError:
            if signature_format:
                raise ImageError(
                    f"truncated or corrupt {signature_format} header"
                ) from None
            raise ImageError("not an image") from None
        except Exception as error:
            # Pillow's format parsers raise many exception types on malformed
            # input (struct.error, TypeError, IndexError and more). Each one
            # means that this file is unreadable, not that the run should stop.
            raise ImageError(
                _describe_header_error(signature_format or "image", error)
            ) from None

        format_name = image.format or signature_format or "unknown"
        width, height = image.size
        if width * height > max_pixels:
            raise ImageError(
                f"image is {width * height} pixels, above --max-pixels ({max_pixels})"
            )

        try:
            frames = getattr(image, "n_frames", 1)
            image.seek(0)
        except Exception as error:
            raise ImageError(
                f"truncated or corrupt {format_name} data after the first frame "
                f"({_describe(error)})"
            ) from None
        try:
            if format_name == "TIFF":
                # Pillow turns a TIFF upright by its Orientation tag while
                # loading it and then removes the tag (checked with Pillow
                # 13.0), so the tag read after loading is what remains to do.
                image.load()
            orientation = _read_orientation(image)
        except Exception as error:
            raise ImageError(_describe_decode_error(format_name, error)) from None

    return OpenedImage(
        image=image,
        format=format_name,
        frames=frames,
        orientation=orientation,
        size=upright_size(image.size, orientation),
    )


def decode_opened(
    opened: OpenedImage, target_size: tuple[int, int] | None = None
) -> DecodedImage:
    """Decode the first frame of an opened image.

    When the source is a JPEG and `target_size` (upright width and height) is
    at most half the full size on both sides, the decoder scales the image
    down in its inverse DCT. It picks the largest of 2, 4 and 8 that keeps
    both sides at or above the target. The caller must then resample to the
    target through `draft_box`.

    Raises:
        ImageError: with a short plain reason when the pixel data is
            truncated or corrupt.
    """
    image = opened.image
    format_name = opened.format
    draft_scale = 1
    draft_box = None

    with quiet_pillow():
        try:
            if target_size is not None and format_name in _DRAFT_FORMATS:
                draft_scale, draft_box = _draft(image, target_size, opened)
            image.load()
        except MemoryError:
            width, height = opened.size
            raise ImageError(
                f"not enough memory to decode a {width}x{height} image; "
                "use fewer --workers or a lower --max-pixels"
            ) from None
        except Exception as error:
            # As in open_image, any exception from a decoder on this file's
            # bytes makes this one source unreadable.
            raise ImageError(_describe_decode_error(format_name, error)) from None

    return decoded_from_opened(opened, draft_scale, draft_box)


def decoded_from_opened(
    opened: OpenedImage,
    draft_scale: int = 1,
    draft_box: tuple[float, float, float, float] | None = None,
) -> DecodedImage:
    """Return the DecodedImage of an opened image, with the metadata from its header.

    It does not decode the pixels itself: `decode_opened` has loaded them
    before, and the JPEG fast path keeps them in a separate array.
    """
    image = opened.image
    subsampling = None
    if opened.format in _DRAFT_FORMATS:
        subsampling = JpegImagePlugin.get_sampling(image)
        if subsampling < 0:
            subsampling = None

    exif = image.info.get("exif")
    if exif is not None and not exif.startswith(b"Exif\x00\x00"):
        # WebP stores the TIFF data without the APP1 prefix.
        exif = b"Exif\x00\x00" + exif

    return DecodedImage(
        image=image,
        format=opened.format,
        mode=image.mode,
        frames=opened.frames,
        icc_profile=image.info.get("icc_profile") or None,
        jpeg_subsampling=subsampling,
        orientation=opened.orientation,
        size=opened.size,
        draft_scale=draft_scale,
        draft_box=draft_box,
        exif=exif or None,
    )


def decode_image(data: bytes, max_pixels: int) -> DecodedImage:
    """Decode the first frame of an encoded image at full resolution.

    Raises:
        ImageError: with a short plain reason for an empty, truncated,
            unrecognised or oversized file.
    """
    return decode_opened(open_image(data, max_pixels))


def upright_size(stored_size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """Return the size of an image once its EXIF orientation is applied."""
    width, height = stored_size
    if orientation in _QUARTER_TURN_ORIENTATIONS:
        return height, width
    return width, height


@contextmanager
def quiet_pillow() -> Iterator[list[warnings.WarningMessage]]:
    """Lift Pillow's pixel limit and keep its warnings off stderr for one decode.

    cropaug checks --max-pixels itself from the header, so Pillow's limit is
    switched off. That changes a Pillow global, which is safe because each
    process decodes one image at a time. Pillow's warnings about the source
    (corrupt EXIF, malformed MPO) are collected in the yielded list and logged
    at debug level instead of printed.
    """
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield caught
    finally:
        Image.MAX_IMAGE_PIXELS = saved
    for warning in caught:
        logger.debug("Pillow warning: %s", warning.message)


def _read_orientation(image: Image.Image) -> int:
    # For a PNG whose eXIf chunk follows the pixel data, getexif() decodes
    # the image to reach it.
    orientation = image.getexif().get(ORIENTATION_TAG, 1)
    if orientation not in range(1, 9):
        return 1
    return orientation


def _draft(
    image: Image.Image, target_size: tuple[int, int], opened: OpenedImage
) -> tuple[int, tuple[float, float, float, float] | None]:
    """Ask the JPEG decoder for a reduced scale, and return the scale and its box."""
    stored_target = upright_size(target_size, opened.orientation)
    stored_width, stored_height = image.size
    if stored_target[0] * 2 > stored_width or stored_target[1] * 2 > stored_height:
        return 1, None
    # Pillow picks the largest of 8, 4 and 2 that keeps both sides at or
    # above the requested size, and keeps the mode when given None.
    result = image.draft(None, stored_target)
    if result is None:
        return 1, None
    _, box = result
    scale = round(stored_width / box[2])
    if scale == 1:
        return 1, None
    return scale, box


def _format_from_signature(data: bytes) -> str | None:
    for signature, format_name in _SIGNATURES:
        if data.startswith(signature):
            return format_name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _riff_is_truncated(data: bytes) -> bool:
    # A RIFF header stores the size of everything after its first 8 bytes.
    declared = int.from_bytes(data[4:8], "little") + 8
    return len(data) < declared


def _describe(error: BaseException) -> str:
    message = str(error).strip()
    return message or type(error).__name__


def _describe_header_error(format_name: str, error: BaseException) -> str:
    message = _describe(error)
    if "truncated" in message.lower():
        return f"truncated {format_name} header"
    return f"unreadable {format_name} header ({message})"


def _describe_decode_error(format_name: str, error: BaseException) -> str:
    message = _describe(error)
    if "truncated" in message.lower() or isinstance(error, EOFError):
        return f"truncated {format_name} data"
    return f"corrupt {format_name} data ({message})"
