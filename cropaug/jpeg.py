"""Crop JPEG sources into JPEG crops with simplejpeg: decode once, encode slices.

simplejpeg wraps libjpeg-turbo's TurboJPEG API. On the benchmark machine
(docs/benchmarks.md), in one process, it cut the CPU time of the same job
by 12% on ImageNet-sized JPEGs and by 38% on 12-megapixel ones, compared
with Pillow. Pillow still reads the header, so the format,
mode, frame count, EXIF orientation, ICC profile and chroma subsampling that
the manifest records are those the Pillow path records.

`load_source` and `write_crops` in `cropaug.crop` call this module, so expand,
reproduce and verify make the same choice for a file. That choice depends only
on the file, the settings and whether simplejpeg is installed, never on the
worker, so the bytes do not depend on the worker count.
"""

import dataclasses
import struct
import threading
from typing import TYPE_CHECKING

import numpy as np

from cropaug.boxes import Box
from cropaug.conversion import PreparedImage, output_format_for
from cropaug.imaging import DecodedImage, OpenedImage, decoded_from_opened
from cropaug.sizing import SizePlan

if TYPE_CHECKING:
    from cropaug.crop import CropSettings

try:
    import simplejpeg
except ImportError:  # pragma: no cover - simplejpeg is a core dependency
    simplejpeg = None

# CropSettings fields that this path handles at every value. Any other field
# must keep its default, else Pillow crops the image, so that an option added
# later is never ignored here.
# - `lossless` and `background` have no effect on an RGB or gray JPEG output.
# - `resize` and `small` are handled by requiring a size plan that leaves the
#   image unchanged.
# - `scale`, `ratio` and `resample` only matter for boxes of another size than
#   the crop, which `write_crops` sends to Pillow.
# - `mask_root` and `mask_out` concern the masks, which are cut separately.
_IMPLEMENTED_OPTIONS = frozenset(
    {
        "crop_width",
        "crop_height",
        "n",
        "seed",
        "format",
        "quality",
        "subsampling",
        "lossless",
        "background",
        "max_pixels",
        "small",
        "resize",
        "mode",
        "scale",
        "ratio",
        "resample",
        "stride",
        "hflip",
        "min_shift",
        "mask_root",
        "mask_out",
    }
)
# Box modes whose boxes all have the crop size.
_MODES = frozenset({"random", "center", "five", "ten", "grid"})

# simplejpeg's names for Pillow's chroma subsampling numbers.
_SUBSAMPLING_NAMES = {0: "444", 1: "422", 2: "420"}
# libjpeg's default, which Pillow also writes when no subsampling is given.
_DEFAULT_SUBSAMPLING = "420"

# An APP2 segment is at most 65,535 bytes long, counted from its length
# field. It spends 2 bytes on the length, 12 on "ICC_PROFILE\0" and 1 each on
# the chunk's sequence number and the chunk count. The rest is profile data
# (ICC.1, annex B), in at most 255 chunks.
_ICC_IDENTIFIER = b"ICC_PROFILE\x00"
_ICC_CHUNK_BYTES = 65535 - 2 - len(_ICC_IDENTIFIER) - 2
_ICC_MAX_CHUNKS = 255

# Upright views of a stored array for each EXIF orientation. They match the
# Pillow transposes in cropaug.sizing, which test_jpeg checks on every
# orientation file.
_UPRIGHT_VIEWS = {
    2: lambda pixels: pixels[:, ::-1],
    3: lambda pixels: pixels[::-1, ::-1],
    4: lambda pixels: pixels[::-1],
    5: lambda pixels: pixels.swapaxes(0, 1),
    6: lambda pixels: pixels.swapaxes(0, 1)[:, ::-1],
    7: lambda pixels: pixels[::-1, ::-1].swapaxes(0, 1),
    8: lambda pixels: pixels.swapaxes(0, 1)[::-1],
}


# Per thread: whether decode_jpeg reuses one buffer, and that buffer.
_thread_state = threading.local()


def simplejpeg_version() -> str | None:
    """Return the installed simplejpeg's version, or None when it is missing."""
    if simplejpeg is None:
        return None
    return simplejpeg.__version__


def fast_path_applies(
    opened: OpenedImage, plan: SizePlan, settings: "CropSettings"
) -> bool:
    """Return whether simplejpeg decodes this source and encodes its crops.

    simplejpeg must be installed, and the source must be an RGB or gray JPEG
    or MPO whose crops are written as JPEG. An MPO's first frame is a whole
    JPEG, and libjpeg stops decoding at its end-of-image marker. The size
    plan must leave the image unchanged, and its ICC profile must fit in 255
    APP2 segments.
    Every option outside `_IMPLEMENTED_OPTIONS` must have its default, so
    --keep-exif is off.
    """
    if simplejpeg is None or not _implements(settings):
        return False
    if settings.mode not in _MODES or plan.changes_image:
        return False
    image = opened.image
    if opened.format not in ("JPEG", "MPO") or image.mode not in ("RGB", "L"):
        return False
    if output_format_for(opened.format, settings.format, image.mode) != "JPEG":
        return False
    icc_profile = image.info.get("icc_profile")
    if icc_profile:
        chunks = -(-len(icc_profile) // _ICC_CHUNK_BYTES)
        if chunks > _ICC_MAX_CHUNKS:
            return False
    return True


def decode_jpeg(data: bytes, opened: OpenedImage) -> DecodedImage | None:
    """Decode a JPEG that `fast_path_applies` accepted into `pixels`.

    Returns None when simplejpeg reports any libjpeg warning or returns
    another size than the header states. Pillow then decodes the file or
    reports the failure, as it would without this module.
    """
    colorspace = "GRAY" if opened.image.mode == "L" else "RGB"
    width, height = opened.image.size
    buffer = _decode_buffer(width * height * (1 if colorspace == "GRAY" else 3))
    try:
        pixels = simplejpeg.decode_jpeg(data, colorspace=colorspace, buffer=buffer)
    except ValueError:
        return None
    if pixels.shape[:2] != (height, width):
        return None
    decoded = decoded_from_opened(opened)
    decoded.pixels = pixels
    return decoded


def reuse_decode_buffer(enabled: bool) -> bool:
    """Set whether this thread decodes every JPEG into one reused buffer.

    Returns the previous setting. The buffer grows to the largest image,
    and turning reuse off frees it. Decoding a 12-megapixel photo into a fresh
    array costs the page faults of 36 MB, some 15% of the decode on the
    benchmark machine. The price: each decode's pixels are valid only until
    this thread's next decode, so only a loop that finishes with one image
    before it loads the next may turn reuse on.
    """
    previous = getattr(_thread_state, "reuse", False)
    _thread_state.reuse = enabled
    if not enabled:
        _thread_state.buffer = None
    return previous


def _decode_buffer(size: int) -> np.ndarray | None:
    """Return the reused buffer, grown to `size` bytes, or None outside one."""
    if not getattr(_thread_state, "reuse", False):
        return None
    buffer = getattr(_thread_state, "buffer", None)
    if buffer is None or buffer.size < size:
        _thread_state.buffer = None  # Freed before the larger one is made.
        buffer = np.empty(size, dtype=np.uint8)
        _thread_state.buffer = buffer
    return buffer


def encodes_boxes(
    decoded: DecodedImage,
    prepared: PreparedImage,
    boxes: list[Box],
    size: tuple[int, int],
) -> bool:
    """Return whether `encode_crop_jpeg` writes these crops of a fast-path decode.

    Boxes of another size than the crop need resampling, which Pillow does.
    """
    if decoded.pixels is None or prepared.exif:
        return False
    return all((box.width, box.height) == tuple(size) for box in boxes)


def upright_pixels(decoded: DecodedImage) -> np.ndarray:
    """Return the decoded pixels turned upright, as a view without a copy."""
    view = _UPRIGHT_VIEWS.get(decoded.orientation)
    if view is None:
        return decoded.pixels
    return view(decoded.pixels)


def encode_crop_jpeg(
    upright: np.ndarray,
    box: Box,
    prepared: PreparedImage,
    quality: int,
    subsampling: int | None,
) -> bytes:
    """Encode the crop at `box` of an upright array, mirrored when it is flipped.

    `subsampling` is Pillow's number, or None for libjpeg's default 4:2:0.
    The crop carries the prepared ICC profile and no EXIF, like Pillow's.
    """
    crop = upright[box.y : box.y + box.height, box.x : box.x + box.width]
    if box.flipped:
        crop = crop[:, ::-1]
    if crop.shape[2] == 1:
        colorspace, sampling = "GRAY", "Gray"
    else:
        colorspace = "RGB"
        sampling = _SUBSAMPLING_NAMES.get(subsampling, _DEFAULT_SUBSAMPLING)
    # simplejpeg takes rows at any positive distance from each other, but the
    # pixels of a row must be adjacent. A plain slice is encoded where it
    # lies. A flipped or rotated view has other strides and is copied first.
    row_step, pixel_step, channel_step = crop.strides
    if row_step <= 0 or (pixel_step, channel_step) != (crop.shape[2], 1):
        crop = np.ascontiguousarray(crop)
    encoded = simplejpeg.encode_jpeg(
        crop,
        quality=quality,
        colorspace=colorspace,
        colorsubsampling=sampling,
    )
    if prepared.icc_profile:
        encoded = _insert_after_jfif(encoded, _icc_segments(prepared.icc_profile))
    return encoded


def _implements(settings: "CropSettings") -> bool:
    for field in dataclasses.fields(settings):
        if field.name in _IMPLEMENTED_OPTIONS:
            continue
        if getattr(settings, field.name) != _field_default(field):
            return False
    return True


def _field_default(field: dataclasses.Field):
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def _icc_segments(icc_profile: bytes) -> bytes:
    """Split an ICC profile into the APP2 segments that carry it in a JPEG."""
    chunks = [
        icc_profile[start : start + _ICC_CHUNK_BYTES]
        for start in range(0, len(icc_profile), _ICC_CHUNK_BYTES)
    ]
    segments = []
    for number, chunk in enumerate(chunks, start=1):
        length = 2 + len(_ICC_IDENTIFIER) + 2 + len(chunk)
        header = struct.pack(">2sH", b"\xff\xe2", length)
        counters = bytes((number, len(chunks)))
        segments.append(header + _ICC_IDENTIFIER + counters + chunk)
    return b"".join(segments)


def _insert_after_jfif(encoded: bytes, segments: bytes) -> bytes:
    """Insert marker segments after the SOI marker and the JFIF APP0 segment."""
    position = 2
    if encoded[2:4] == b"\xff\xe0":
        (length,) = struct.unpack(">H", encoded[4:6])
        position = 4 + length
    return encoded[:position] + segments + encoded[position:]
