import io

import numpy as np
import pytest
from imagefiles import DATA, encode, make_image, pixels, rgb_image, upright_source
from PIL import Image, ImageOps

from cropaug.conversion import PreparedImage
from cropaug.imaging import decode_image, decode_opened, open_image
from cropaug.sizing import (
    RESAMPLING,
    SizePlan,
    crop_upright,
    fit_image,
    plan_size,
    resized_size,
)

WHITE = (255, 255, 255)


def prepared_from(image: Image.Image, orientation: int = 1) -> PreparedImage:
    return PreparedImage(
        image=image,
        format="PNG",
        icc_profile=None,
        conversion=None,
        orientation=orientation,
    )


@pytest.mark.parametrize(
    ("size", "shorter_side", "expected"),
    [
        ((400, 300), 256, (341, 256)),
        ((300, 400), 256, (256, 341)),
        ((256, 256), 128, (128, 128)),
        ((5, 2), 1, (3, 1)),  # 2.5 rounds half up
        ((3, 4), 2, (2, 3)),  # 2.67 rounds to 3
        ((1000, 1), 1, (1000, 1)),
        ((4, 4), 224, (224, 224)),
    ],
)
def test_resized_size(size, shorter_side, expected):
    assert resized_size(size, shorter_side) == expected


def test_plan_size_fits():
    plan = plan_size((300, 200), (224, 160), None, "skip")
    assert plan == SizePlan((300, 200), None, None, (300, 200))
    assert plan.scaled_size is None
    assert not plan.changes_image


@pytest.mark.parametrize("policy", ["skip", "error"])
def test_plan_size_rejecting_policies(policy):
    plan = plan_size((100, 300), (224, 224), None, policy)
    assert plan.small == policy
    assert plan.size == (100, 300)


def test_plan_size_pad_centres():
    plan = plan_size((101, 300), (224, 224), None, "pad")
    assert plan.size == (224, 300)
    assert plan.pad_offset == (61, 0)
    assert plan.scaled_size is None


def test_plan_size_upscale_square_crop():
    plan = plan_size((100, 300), (224, 224), None, "upscale")
    assert plan.size == (224, 672)
    assert plan.scaled_size == (224, 672)


def test_plan_size_upscale_wide_crop():
    # The width needs a factor of 3, the height only 1.6: the larger wins.
    plan = plan_size((100, 100), (300, 160), None, "upscale")
    assert plan.size == (300, 300)


def test_plan_size_resize_then_pad():
    plan = plan_size((4000, 3000), (224, 224), 200, "pad")
    assert plan.resized == (267, 200)
    assert plan.size == (267, 224)
    assert plan.pad_offset == (0, 12)
    assert plan.scaled_size == (267, 200)


def test_plan_size_resize_then_upscale_resamples_once():
    plan = plan_size((4000, 3000), (224, 224), 200, "upscale")
    assert plan.resized == (267, 200)
    assert plan.scaled_size == (299, 224)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_crop_upright_matches_transposed_crop(orientation):
    stored = rgb_image(37, 23)
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.info["exif"] = exif.tobytes()
    upright = ImageOps.exif_transpose(stored)
    width, height = upright.size
    for box in [(0, 0, 5, 7), (width - 6, height - 4, width, height), (3, 2, 20, 9)]:
        crop = crop_upright(stored, orientation, box)
        assert np.array_equal(pixels(crop), pixels(upright.crop(box))), box


@pytest.mark.parametrize("index", range(9))
def test_decode_orientation_files(index):
    path = DATA / "exif-orientation" / f"Landscape_{index}.jpg"
    decoded = decode_image(path.read_bytes(), 10**9)
    reference = upright_source(path)
    assert decoded.size == reference.size
    box = (10, 20, 110, 90)
    crop = crop_upright(decoded.image, decoded.orientation, box)
    assert np.array_equal(pixels(crop), pixels(reference.crop(box)))


@pytest.mark.parametrize(
    ("mode", "fill"),
    [
        ("RGB", (10, 20, 30)),
        ("RGBA", (10, 20, 30, 0)),
        ("L", (10 * 299 + 20 * 587 + 30 * 114 + 500) // 1000),
        ("LA", ((10 * 299 + 20 * 587 + 30 * 114 + 500) // 1000, 0)),
        ("CMYK", (245, 235, 225, 0)),
        ("1", 0),
    ],
)
def test_fit_image_pad_fill(mode, fill):
    source = make_image("RGBA" if mode == "RGBA" else "RGB", 10, 6).convert(mode)
    plan = plan_size((10, 6), (16, 16), None, "pad")
    fitted = fit_image(prepared_from(source), plan, None, (10, 20, 30))
    assert fitted.image.mode == mode
    assert fitted.image.size == (16, 16)
    assert fitted.image.getpixel((0, 0)) == fill
    assert fitted.image.getpixel((15, 15)) == fill
    inner = fitted.image.crop((3, 5, 13, 11))
    assert np.array_equal(pixels(inner), pixels(source))


def test_fit_image_pad_sixteen_bit_fill():
    source = make_image("I;16", 10, 6)
    plan = plan_size((10, 6), (16, 16), None, "pad")
    fitted = fit_image(prepared_from(source), plan, None, (255, 255, 255))
    assert fitted.image.mode == "I;16"
    assert fitted.image.getpixel((0, 0)) == 65535


def test_fit_image_pad_palette_widened():
    source = make_image("P+transparency", 10, 6)
    plan = plan_size((10, 6), (16, 16), None, "pad")
    fitted = fit_image(prepared_from(source), plan, None, WHITE)
    assert fitted.image.mode == "RGBA"
    assert fitted.conversion == "P converted to RGBA for padding"
    inner = fitted.image.crop((3, 5, 13, 11))
    assert np.array_equal(pixels(inner), pixels(source.convert("RGBA")))


def test_fit_image_pad_after_orientation():
    stored = rgb_image(6, 10)
    plan = plan_size((10, 6), (16, 16), None, "pad")
    fitted = fit_image(prepared_from(stored, orientation=6), plan, None, WHITE)
    inner = fitted.image.crop((3, 5, 13, 11))
    expected = stored.transpose(Image.Transpose.ROTATE_270)
    assert np.array_equal(pixels(inner), pixels(expected))
    assert fitted.orientation == 1


def test_fit_image_upscale_lanczos():
    source = rgb_image(20, 10)
    plan = plan_size((20, 10), (32, 32), None, "upscale")
    fitted = fit_image(prepared_from(source), plan, None, WHITE)
    expected = source.resize((64, 32), Image.Resampling.LANCZOS)
    assert RESAMPLING == Image.Resampling.LANCZOS
    assert np.array_equal(pixels(fitted.image), pixels(expected))


def test_fit_image_resize_one_bit_widened():
    source = make_image("1", 40, 40)
    plan = plan_size((40, 40), (16, 16), 20, "skip")
    fitted = fit_image(prepared_from(source), plan, None, WHITE)
    assert fitted.image.mode == "L"
    assert fitted.conversion == "1 converted to L for resampling"


def test_fit_image_unchanged_without_plan():
    prepared = prepared_from(rgb_image(), orientation=6)
    plan = plan_size((40, 48), (16, 16), None, "skip")
    assert fit_image(prepared, plan, None, WHITE) is prepared


def jpeg_source(width: int, height: int, orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(rgb_image(width, height), "JPEG", quality=95, exif=exif.tobytes())


@pytest.mark.parametrize(
    ("stored", "orientation", "target", "scale"),
    [
        ((800, 600), 1, (200, 150), 4),
        ((800, 600), 1, (100, 75), 8),
        ((800, 600), 1, (50, 38), 8),
        ((800, 600), 1, (400, 300), 2),
        ((800, 600), 1, (401, 301), 1),
        ((800, 600), 1, (800, 600), 1),
        ((600, 800), 6, (200, 150), 4),
        ((601, 803), 1, (150, 200), 4),
    ],
)
def test_decode_draft_scale(stored, orientation, target, scale):
    opened = open_image(jpeg_source(*stored, orientation), 10**9)
    decoded = decode_opened(opened, target)
    assert decoded.draft_scale == scale
    width, height = stored
    assert decoded.image.size == (-(-width // scale), -(-height // scale))


def test_resize_with_draft_matches_pillow_draft():
    data = jpeg_source(803, 601)
    opened = open_image(data, 10**9)
    plan = plan_size(opened.size, (64, 64), 150, "skip")
    decoded = decode_opened(opened, plan.scaled_size)
    fitted = fit_image(prepared_from(decoded.image), plan, decoded.draft_box, WHITE)

    reference = Image.open(io.BytesIO(data))
    _, box = reference.draft("RGB", plan.scaled_size)
    expected = reference.resize(plan.scaled_size, Image.Resampling.LANCZOS, box=box)
    assert decoded.draft_scale == 4
    assert box == (0, 0, 803 / 4, 601 / 4)
    assert np.array_equal(pixels(fitted.image), pixels(expected))


def test_resize_with_draft_close_to_full_decode():
    data = jpeg_source(800, 600)
    opened = open_image(data, 10**9)
    plan = plan_size(opened.size, (64, 64), 150, "skip")
    decoded = decode_opened(opened, plan.scaled_size)
    fitted = fit_image(prepared_from(decoded.image), plan, decoded.draft_box, WHITE)

    full = decode_image(data, 10**9).image.resize((200, 150), Image.Resampling.LANCZOS)
    difference = np.abs(pixels(fitted.image).astype(int) - pixels(full).astype(int))
    assert decoded.draft_scale == 4
    assert difference.mean() < 2


def test_resize_with_draft_and_orientation():
    data = jpeg_source(600, 800, orientation=8)
    opened = open_image(data, 10**9)
    plan = plan_size(opened.size, (64, 64), 150, "skip")
    decoded = decode_opened(opened, plan.scaled_size)
    fitted = fit_image(
        prepared_from(decoded.image, orientation=8), plan, decoded.draft_box, WHITE
    )

    full = ImageOps.exif_transpose(decode_image(data, 10**9).image)
    full = full.resize((200, 150), Image.Resampling.LANCZOS)
    difference = np.abs(pixels(fitted.image).astype(int) - pixels(full).astype(int))
    assert plan.resized == (200, 150)
    assert decoded.draft_scale == 4
    assert fitted.image.size == (200, 150)
    assert difference.mean() < 2
