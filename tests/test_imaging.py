import gzip
import io

import numpy as np
import pytest
from imagefiles import ODD, animated, encode, frames, pixels, png_header_only, rgb_image
from PIL import Image, ImageFile

from cropaug.errors import ImageError
from cropaug.imaging import decode_image, decode_opened, open_image

MAX_PIXELS = 10**9


def decode_error(data: bytes, max_pixels: int = MAX_PIXELS) -> str:
    with pytest.raises(ImageError) as error:
        decode_image(data, max_pixels)
    return str(error.value)


def test_decode_empty_file():
    assert decode_error(b"") == "empty file"


@pytest.mark.parametrize(
    "data",
    [b"hello, world\n" * 10, gzip.compress(b"not an image" * 50), b"\x00" * 100],
    ids=["text", "gzip", "zeros"],
)
def test_decode_not_an_image(data):
    assert decode_error(data) == "not an image"


def test_decode_png_signature_then_garbage():
    assert decode_error((ODD / "broken.png").read_bytes()) == (
        "truncated or corrupt PNG header"
    )


# Cut points (a byte count, a fraction of the file, or a negative count of
# bytes taken off the end) and the reason each gives. A 30-byte cut ends in
# the header; the other cuts end in the pixel data, which runs to the file's
# last bytes in these formats. A deflate TIFF written by libtiff keeps its
# header directory at the end, so any cut loses the header.
TRUNCATIONS = [
    ("JPEG", {}, 30, "truncated JPEG header"),
    ("JPEG", {}, 0.5, "truncated JPEG data"),
    ("JPEG", {}, -1, "truncated JPEG data"),
    ("JPEG", {"progressive": True}, 0.5, "truncated JPEG data"),
    ("PNG", {}, 30, "truncated or corrupt PNG header"),
    ("PNG", {}, 100, "truncated PNG data"),
    ("PNG", {}, 0.5, "truncated PNG data"),
    ("GIF", {}, 30, "truncated or corrupt GIF header"),
    ("GIF", {}, 0.5, "truncated GIF data"),
    ("GIF", {}, -20, "truncated GIF data"),
    ("TIFF", {}, 30, "truncated or corrupt TIFF header"),
    ("TIFF", {}, 0.5, "truncated TIFF data"),
    ("TIFF", {}, -1, "truncated TIFF data"),
    (
        "TIFF",
        {"compression": "tiff_adobe_deflate"},
        0.5,
        "truncated or corrupt TIFF header",
    ),
    ("WEBP", {}, 30, "truncated WEBP data"),
    ("WEBP", {}, 0.5, "truncated WEBP data"),
    ("WEBP", {"lossless": True}, -1, "truncated WEBP data"),
    ("BMP", {}, 30, "truncated BMP header"),
    ("BMP", {}, 0.5, "truncated BMP data"),
]


@pytest.mark.parametrize(
    ("format", "options", "cut", "reason"),
    TRUNCATIONS,
    ids=[f"{fmt}-{sorted(opts)}-{cut}" for fmt, opts, cut, _ in TRUNCATIONS],
)
def test_decode_truncated(format, options, cut, reason):
    data = encode(rgb_image(96, 64), format, **options)
    if isinstance(cut, float):
        cut = int(len(data) * cut)
    assert decode_error(data[:cut]) == reason


def test_decode_odd_truncated_jpeg():
    assert decode_error((ODD / "truncated_jpeg.jpg").read_bytes()) == (
        "truncated JPEG data"
    )


def test_decode_truncated_later_tiff_page():
    data = animated("TIFF")
    assert decode_error(data[: len(data) // 2]) == (
        "truncated or corrupt TIFF data after the first frame (Missing dimensions)"
    )


def test_max_pixels_checked_from_header():
    # The header claims 100000 x 100000 pixels and no pixel data follows, so
    # only a check made before decoding gives this reason.
    data = png_header_only(100_000, 100_000)
    assert decode_error(data, max_pixels=10**9) == (
        "image is 10000000000 pixels, above --max-pixels (1000000000)"
    )


def test_max_pixels_boundary():
    data = encode(rgb_image(10, 10), "PNG")
    assert decode_image(data, 100).image.size == (10, 10)
    assert decode_error(data, 99) == "image is 100 pixels, above --max-pixels (99)"


def test_max_pixels_odd_bomb():
    data = (ODD / "decompression_bomb.gif").read_bytes()
    assert decode_error(data, 178956970) == (
        "image is 4364696535 pixels, above --max-pixels (178956970)"
    )


def test_decode_above_pillow_limit_when_allowed():
    # Pillow alone raises DecompressionBombError above twice its limit.
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = 50
    try:
        decoded = decode_image(encode(rgb_image(20, 10), "PNG"), 1000)
        assert decoded.image.size == (20, 10)
        assert Image.MAX_IMAGE_PIXELS == 50
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def test_decode_leaves_load_truncated_images_off():
    data = encode(rgb_image(96, 64), "JPEG")
    with pytest.raises(ImageError):
        decode_image(data[: len(data) // 2], MAX_PIXELS)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_decode_corrupt_exif_warns_nothing():
    # Pillow warns "Corrupt EXIF data" for this block; pytest turns warnings
    # into errors, so a warning that escaped would fail the test.
    exif = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12\x00\x03\x00\x00"
    exif += b"\x00\x01\x00\x06\x00\x00"
    data = encode(rgb_image(30, 20), "JPEG", exif=exif)
    decoded = decode_image(data, MAX_PIXELS)
    assert decoded.orientation == 6
    assert decoded.size == (20, 30)


@pytest.mark.parametrize("format", ["GIF", "PNG", "WEBP", "TIFF", "MPO"])
def test_decode_first_frame_and_count(format):
    decoded = decode_image(animated(format), MAX_PIXELS)
    first = frames()[0]
    if format == "GIF":
        first = first.quantize(64).convert("RGB")
    if format == "MPO":
        # Each MPO frame is a plain JPEG written with the encoder's defaults.
        first = Image.open(io.BytesIO(encode(first, "JPEG")))
    assert decoded.frames == 3
    assert np.array_equal(pixels(decoded.image.convert("RGB")), pixels(first))


@pytest.mark.parametrize("format", ["GIF", "PNG"])
def test_decode_animation_cut_after_first_frame(format):
    # Only the header and the first frame are decoded; a file cut in a later
    # frame is cropped from its intact first frame.
    data = animated(format)
    decoded = decode_image(data[: len(data) // 2 + 200], MAX_PIXELS)
    assert decoded.image.size == (48, 40)


def test_decode_odd_animated_gif():
    decoded = decode_image((ODD / "iss634.gif").read_bytes(), MAX_PIXELS)
    assert decoded.frames == 42
    assert decoded.mode == "P"


def test_decode_png_bytes_whatever_the_name():
    data = encode(rgb_image(), "PNG")
    decoded = decode_image(data, MAX_PIXELS)
    assert decoded.format == "PNG"


def test_decode_subsampling_of_jpeg():
    data = encode(rgb_image(64, 64), "JPEG", subsampling="4:2:2")
    assert decode_image(data, MAX_PIXELS).jpeg_subsampling == 1


def test_decode_exif_kept_for_keep_exif():
    exif = Image.Exif()
    exif[0x010F] = "Example Camera"
    data = encode(rgb_image(), "WEBP", exif=exif.tobytes())
    decoded = decode_image(data, MAX_PIXELS)
    assert decoded.exif is not None
    assert decoded.exif.startswith(b"Exif\x00\x00")


def test_open_image_reads_no_jpeg_pixels():
    # Cut right after the start-of-scan header: opening needs nothing more,
    # decoding does.
    data = encode(rgb_image(64, 48), "JPEG")
    scan = data.index(b"\xff\xda")
    header_end = scan + 2 + int.from_bytes(data[scan + 2 : scan + 4], "big")
    opened = open_image(data[:header_end], MAX_PIXELS)
    assert opened.size == (64, 48)
    with pytest.raises(ImageError) as error:
        decode_opened(opened)
    assert str(error.value) == "truncated JPEG data"
