"""Tests for cropaug.boxes: applying a box, and boxes in the manifest."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cropaug.boxes import (
    RESAMPLING,
    Box,
    apply_box,
    box_from_record,
    crop_record,
    needs_resampling,
    prepare_for_resampling,
)
from cropaug.imaging import PreparedImage, decode_image

ODD = Path(__file__).parent / "data" / "odd"


def noise_image(width: int, height: int, mode: str = "RGB") -> Image.Image:
    rng = np.random.Generator(np.random.PCG64(0))
    channels = {"RGB": 3, "L": 1}[mode]
    pixels = rng.integers(0, 256, size=(height, width, channels), dtype=np.uint8)
    return Image.fromarray(pixels.squeeze())


def test_apply_box_same_size_is_plain_crop():
    image = noise_image(50, 40)
    crop = apply_box(image, Box(7, 5, 20, 10), (20, 10), "bilinear")
    expected = np.asarray(image)[5:15, 7:27]
    assert np.array_equal(np.asarray(crop), expected)


@pytest.mark.parametrize("resample", sorted(RESAMPLING))
def test_apply_box_resizes_region_with_filter(resample):
    image = noise_image(60, 50)
    crop = apply_box(image, Box(3, 4, 33, 27), (16, 12), resample)
    region = image.crop((3, 4, 36, 31))
    expected = region.resize((16, 12), RESAMPLING[resample])
    assert np.array_equal(np.asarray(crop), np.asarray(expected))


def test_apply_box_flip_is_mirror_image():
    image = noise_image(50, 40)
    plain = apply_box(image, Box(2, 3, 25, 20), (25, 20), "bilinear")
    mirrored = apply_box(image, Box(2, 3, 25, 20, flipped=True), (25, 20), "bilinear")
    assert np.array_equal(np.asarray(mirrored), np.asarray(plain)[:, ::-1])


def test_apply_box_flips_after_resize():
    image = noise_image(60, 50)
    box = Box(5, 5, 41, 30, flipped=True)
    crop = apply_box(image, box, (20, 15), "bicubic")
    region = image.crop(box.bounds).resize((20, 15), Image.Resampling.BICUBIC)
    expected = region.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    assert np.array_equal(np.asarray(crop), np.asarray(expected))


def test_needs_resampling_only_for_other_sizes():
    assert not needs_resampling([Box(0, 0, 8, 8)], (8, 8))
    assert needs_resampling([Box(0, 0, 8, 8), Box(0, 0, 9, 8)], (8, 8))


def prepared_from(path: Path) -> PreparedImage:
    decoded = decode_image(path.read_bytes(), 10**8)
    return PreparedImage(decoded.image, "PNG", None, None)


def test_prepare_for_resampling_palette_transparency_to_rgba():
    prepared = prepare_for_resampling(
        prepared_from(ODD / "p_trns_single.png"), "bilinear"
    )
    assert prepared.image.mode == "RGBA"
    assert prepared.conversion == "P converted to RGBA for bilinear resampling"


def test_prepare_for_resampling_palette_to_rgb():
    image = Image.new("P", (4, 4))
    image.putpalette([0, 0, 0, 255, 0, 0])
    prepared = PreparedImage(image, "PNG", None, "16-bit gray scaled to 8-bit")
    converted = prepare_for_resampling(prepared, "lanczos")
    assert converted.image.mode == "RGB"
    assert converted.conversion == (
        "16-bit gray scaled to 8-bit; P converted to RGB for lanczos resampling"
    )


def test_prepare_for_resampling_keeps_palette_for_nearest():
    prepared = prepared_from(ODD / "p_trns_single.png")
    assert prepare_for_resampling(prepared, "nearest") is prepared


def test_prepare_for_resampling_one_bit_to_gray():
    prepared = PreparedImage(Image.new("1", (4, 4)), "PNG", None, None)
    assert prepare_for_resampling(prepared, "bilinear").image.mode == "L"


def test_crop_record_flags_only_when_set():
    record = crop_record(Box(1, 2, 3, 4), "cats/a_c00.jpg")
    assert record == {"path": "cats/a_c00.jpg", "x": 1, "y": 2, "width": 3, "height": 4}


def test_crop_record_round_trip_with_flags():
    box = Box(1, 2, 3, 4, flipped=True, center_fallback=True)
    record = crop_record(box, "cats/a_c00.jpg")
    assert record["flipped"] is True
    assert record["center_fallback"] is True
    assert box_from_record(record) == box
