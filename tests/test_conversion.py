import io

import numpy as np
import pytest
from imagefiles import cmyk_icc_profile, cmyk_image, make_image, pixels
from PIL import Image, ImageCms

from cropaug.conversion import output_format_for, prepare_image, srgb_profile
from cropaug.errors import ImageError
from cropaug.imaging import DecodedImage

WHITE = (255, 255, 255)


def decoded_from(image: Image.Image, icc_profile: bytes | None = None) -> DecodedImage:
    return DecodedImage(
        image=image,
        format="PNG",
        mode=image.mode,
        frames=1,
        icc_profile=icc_profile,
        jpeg_subsampling=None,
    )


def gray_profile() -> bytes:
    # Only the colour space in the header matters to cropaug's check, so the
    # sRGB profile with that field rewritten serves as a gray profile.
    profile = bytearray(srgb_profile())
    profile[16:20] = b"GRAY"
    return bytes(profile)


# (source kind, output format) -> (output mode, conversion recorded)
MODE_MATRIX = [
    ("RGB", "JPEG", "RGB", None),
    ("RGB", "PNG", "RGB", None),
    ("RGB", "WEBP", "RGB", None),
    ("RGBA", "JPEG", "RGB", "alpha composited over #ffffff"),
    ("RGBA", "PNG", "RGBA", None),
    ("RGBA", "WEBP", "RGBA", None),
    ("RGBA", "BMP", "RGB", "alpha composited over #ffffff"),
    ("L", "JPEG", "L", None),
    ("L", "PNG", "L", None),
    ("L", "WEBP", "RGB", "L converted to RGB"),
    ("LA", "JPEG", "L", "alpha composited over #ffffff"),
    ("LA", "PNG", "LA", None),
    ("LA", "WEBP", "RGBA", "LA converted to RGBA"),
    ("LA", "BMP", "L", "alpha composited over #ffffff"),
    ("1", "JPEG", "L", "1-bit converted to L"),
    ("1", "PNG", "1", None),
    ("1", "WEBP", "RGB", "1-bit converted to RGB"),
    ("1", "BMP", "1", None),
    ("P", "JPEG", "RGB", "P converted to RGB"),
    ("P", "PNG", "P", None),
    ("P", "WEBP", "RGB", "P converted to RGB"),
    ("P", "BMP", "P", None),
    ("P+transparency", "JPEG", "RGB", "alpha composited over #ffffff"),
    ("P+transparency", "PNG", "P", None),
    ("P+transparency", "WEBP", "RGBA", "P with transparency converted to RGBA"),
    ("P+transparency", "BMP", "RGB", "alpha composited over #ffffff"),
    ("L+transparency", "PNG", "L", None),
    ("L+transparency", "JPEG", "L", "alpha composited over #ffffff"),
    ("L+transparency", "WEBP", "RGBA", "L with transparency converted to RGBA"),
    ("RGB+transparency", "PNG", "RGB", None),
    ("RGB+transparency", "JPEG", "RGB", "alpha composited over #ffffff"),
    ("RGB+transparency", "BMP", "RGB", "alpha composited over #ffffff"),
    ("CMYK", "JPEG", "CMYK", None),
    ("CMYK", "PNG", "RGB", "CMYK converted to RGB"),
    ("CMYK", "WEBP", "RGB", "CMYK converted to RGB"),
    ("I;16", "PNG", "I;16", None),
    ("I;16", "JPEG", "L", "16-bit gray scaled to 8-bit"),
    ("I;16", "WEBP", "RGB", "16-bit gray scaled to 8-bit; L converted to RGB"),
    ("I;16", "BMP", "L", "16-bit gray scaled to 8-bit"),
]


@pytest.mark.parametrize(
    ("kind", "output_format", "mode", "conversion"),
    MODE_MATRIX,
    ids=[f"{kind}-{fmt}" for kind, fmt, _, _ in MODE_MATRIX],
)
def test_prepare_image_mode_matrix(kind, output_format, mode, conversion):
    prepared = prepare_image(decoded_from(make_image(kind)), output_format, WHITE)
    assert prepared.image.mode == mode
    assert prepared.conversion == conversion


def test_prepare_image_keeps_pixels_when_storable():
    source = make_image("RGBA")
    prepared = prepare_image(decoded_from(source), "PNG", WHITE)
    assert np.array_equal(pixels(prepared.image), pixels(source))


def test_prepare_image_keeps_palette_transparency():
    source = make_image("P+transparency")
    prepared = prepare_image(decoded_from(source), "PNG", WHITE)
    assert prepared.image.info["transparency"] == source.info["transparency"]


@pytest.mark.parametrize("background", [(255, 255, 255), (0, 0, 0), (12, 200, 99)])
def test_composite_rgba_formula(background):
    source = make_image("RGBA")
    prepared = prepare_image(decoded_from(source), "JPEG", background)
    rgba = pixels(source).astype(np.int64)
    alpha = rgba[..., 3:]
    expected = (
        rgba[..., :3] * alpha + np.array(background) * (255 - alpha) + 127
    ) // 255
    assert np.array_equal(pixels(prepared.image), expected)


def test_composite_exact_for_every_value():
    # Every colour value c and alpha a over every gray background: 2**24 cases.
    values = np.arange(256, dtype=np.int64)
    colour, alpha = np.meshgrid(values, values, indexing="ij")
    source = Image.fromarray(
        np.dstack([colour, colour, colour, alpha]).astype(np.uint8), "RGBA"
    )
    mismatches = 0
    for level in range(256):
        prepared = prepare_image(decoded_from(source), "JPEG", (level,) * 3)
        expected = (colour * alpha + level * (255 - alpha) + 127) // 255
        mismatches += int(np.count_nonzero(pixels(prepared.image)[..., 0] != expected))
    assert mismatches == 0


def test_composite_gray_uses_luma_background():
    source = make_image("LA")
    background = (200, 40, 90)
    prepared = prepare_image(decoded_from(source), "JPEG", background)
    gray = (200 * 299 + 40 * 587 + 90 * 114 + 500) // 1000
    la = pixels(source).astype(np.int64)
    expected = (la[..., 0] * la[..., 1] + gray * (255 - la[..., 1]) + 127) // 255
    assert np.array_equal(pixels(prepared.image), expected)


@pytest.mark.parametrize("kind", ["L+transparency", "RGB+transparency"])
def test_composite_transparent_colour_key(kind):
    source = make_image(kind)
    prepared = prepare_image(decoded_from(source), "JPEG", (0, 0, 0))
    assert prepared.image.getpixel((0, 0)) in (0, (0, 0, 0))
    assert prepared.image.getpixel((5, 5)) == source.getpixel((5, 5))


def test_composite_palette_transparency():
    source = make_image("P+transparency")
    prepared = prepare_image(decoded_from(source), "JPEG", (0, 0, 255))
    rgba = pixels(source.convert("RGBA")).astype(np.int64)
    alpha = rgba[..., 3:]
    expected = (
        rgba[..., :3] * alpha + np.array([0, 0, 255]) * (255 - alpha) + 127
    ) // 255
    assert np.array_equal(pixels(prepared.image), expected)


def test_sixteen_bit_scaled_with_rounding_for_every_value():
    values = np.arange(65536, dtype=np.uint32).reshape(256, 256)
    source = Image.frombytes("I;16", (256, 256), values.astype("<u2").tobytes())
    prepared = prepare_image(decoded_from(source), "JPEG", WHITE)
    expected = np.rint(values * 255 / 65535)
    assert np.array_equal(pixels(prepared.image), expected)


def test_sixteen_bit_near_white_not_clipped():
    source = make_image("I;16")
    prepared = prepare_image(decoded_from(source), "JPEG", WHITE)
    scaled = pixels(prepared.image)
    assert scaled.max() == 255
    assert scaled.min() == round(60000 * 255 / 65535)


@pytest.mark.parametrize("mode", ["I;16B", "I"])
def test_sixteen_bit_variants_stay_16_bit_in_png(mode):
    values = (np.arange(48 * 40) * 37 % 65536).reshape(40, 48)
    if mode == "I;16B":
        source = Image.frombytes(mode, (48, 40), values.astype(">u2").tobytes())
    else:
        source = Image.frombytes(mode, (48, 40), values.astype("<i4").tobytes())
    prepared = prepare_image(decoded_from(source), "PNG", WHITE)
    assert prepared.image.mode == "I;16"
    assert np.array_equal(pixels(prepared.image), values)


def test_wide_integer_out_of_range_rejected():
    source = Image.frombytes("I", (2, 1), np.array([0, 70000], dtype="<i4").tobytes())
    with pytest.raises(ImageError) as error:
        prepare_image(decoded_from(source), "PNG", WHITE)
    assert str(error.value) == (
        "32-bit integer pixels outside the 16-bit range are not supported"
    )


def test_float_pixels_rejected():
    source = Image.new("F", (4, 4), 0.5)
    with pytest.raises(ImageError) as error:
        prepare_image(decoded_from(source), "PNG", WHITE)
    assert str(error.value) == "32-bit floating-point pixels are not supported"


def test_cmyk_with_profile_converted_through_it():
    profile = cmyk_icc_profile()
    source = cmyk_image()
    prepared = prepare_image(decoded_from(source, profile), "PNG", WHITE)
    expected = ImageCms.profileToProfile(
        source,
        ImageCms.ImageCmsProfile(io.BytesIO(profile)),
        ImageCms.createProfile("sRGB"),
        outputMode="RGB",
    )
    assert prepared.conversion == "CMYK converted to sRGB with the embedded ICC profile"
    assert np.array_equal(pixels(prepared.image), pixels(expected))
    assert prepared.icc_profile == srgb_profile()


def test_cmyk_with_profile_keeps_cyan_cyan():
    prepared = prepare_image(
        decoded_from(cmyk_image(), cmyk_icc_profile()), "PNG", WHITE
    )
    red, green, blue = pixels(prepared.image)[0, 0]
    assert red < 40
    assert green > 120
    assert blue > 200


def test_cmyk_with_profile_differs_from_plain_formula():
    source = cmyk_image()
    prepared = prepare_image(decoded_from(source, cmyk_icc_profile()), "PNG", WHITE)
    plain = pixels(source.convert("RGB")).astype(int)
    assert np.abs(pixels(prepared.image).astype(int) - plain).mean() > 10


def test_cmyk_without_profile_uses_plain_formula():
    source = cmyk_image()
    prepared = prepare_image(decoded_from(source), "PNG", WHITE)
    assert np.array_equal(pixels(prepared.image), pixels(source.convert("RGB")))
    assert prepared.icc_profile is None


def test_cmyk_with_unusable_profile_uses_plain_formula():
    # A header that names CMYK, followed by nothing LittleCMS can read.
    profile = bytes(16) + b"CMYK" + bytes(108)
    source = cmyk_image()
    prepared = prepare_image(decoded_from(source, profile), "PNG", WHITE)
    assert np.array_equal(pixels(prepared.image), pixels(source.convert("RGB")))
    assert prepared.conversion == (
        "CMYK converted to RGB because its ICC profile is unusable; "
        "ICC profile dropped because it no longer matches the pixels"
    )
    assert prepared.icc_profile is None


def test_cmyk_kept_in_jpeg_with_its_profile():
    profile = cmyk_icc_profile()
    prepared = prepare_image(decoded_from(cmyk_image(), profile), "JPEG", WHITE)
    assert prepared.image.mode == "CMYK"
    assert prepared.icc_profile == profile


def test_cielab_converted_through_lab_profile():
    # Pillow stores a* and b* as signed bytes: (255, 0, 0) is white, and
    # (140, 80, 70) a saturated red.
    values = bytes([255, 0, 0, 140, 80, 70])
    source = Image.frombytes("LAB", (2, 1), values)
    prepared = prepare_image(decoded_from(source), "PNG", WHITE)
    expected = ImageCms.profileToProfile(
        source,
        ImageCms.createProfile("LAB"),
        ImageCms.createProfile("sRGB"),
        outputMode="RGB",
    )
    assert prepared.conversion == "CIELAB converted to sRGB"
    assert np.array_equal(pixels(prepared.image), pixels(expected))
    assert pixels(prepared.image)[0, 0].min() >= 250
    red, green, _ = pixels(prepared.image)[0, 1]
    assert red > 200
    assert green < 100
    assert prepared.icc_profile == srgb_profile()


def test_icc_profile_kept_when_space_matches():
    profile = srgb_profile()
    prepared = prepare_image(decoded_from(make_image("RGB"), profile), "PNG", WHITE)
    assert prepared.icc_profile == profile
    assert prepared.conversion is None


def test_icc_profile_dropped_when_space_differs():
    prepared = prepare_image(
        decoded_from(make_image("L"), gray_profile()), "WEBP", WHITE
    )
    assert prepared.icc_profile is None
    assert prepared.conversion == (
        "L converted to RGB; ICC profile dropped because it no longer matches "
        "the pixels"
    )


def test_icc_profile_dropped_for_bmp():
    prepared = prepare_image(
        decoded_from(make_image("RGB"), srgb_profile()), "BMP", WHITE
    )
    assert prepared.icc_profile is None
    assert prepared.conversion == "ICC profile dropped because BMP cannot hold one"


@pytest.mark.parametrize(
    ("source_format", "requested", "mode", "expected"),
    [
        ("JPEG", "same", "RGB", "JPEG"),
        ("JPEG", "same", "CMYK", "JPEG"),
        ("MPO", "same", "RGB", "JPEG"),
        ("PNG", "same", "I;16", "PNG"),
        ("GIF", "same", "P", "PNG"),
        ("TIFF", "same", "I;16", "PNG"),
        ("WEBP", "same", "RGBA", "PNG"),
        ("BMP", "same", "RGB", "BMP"),
        ("BMP", "same", "RGBA", "PNG"),
        ("PNG", "jpeg", "RGBA", "JPEG"),
        ("JPEG", "webp", "RGB", "WEBP"),
    ],
)
def test_output_format_for(source_format, requested, mode, expected):
    assert output_format_for(source_format, requested, mode) == expected
