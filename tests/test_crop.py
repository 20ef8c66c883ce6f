from pathlib import Path

import numpy as np
import pytest
from conftest import (
    EXIF_ORIENTATION,
    EXIF_ORIENTATION_PHOTOS,
    ODD,
    SAMPLE_DATA,
    SAMPLE_PHOTOS,
    build_tree,
    open_upright,
)
from PIL import Image

from cropaug.crop import CropJob, CropSettings, crop_source

# A crop that is not square, so a swap of x and y or of width and height
# cannot pass unnoticed.
CROP_WIDTH, CROP_HEIGHT = 48, 32


def _settings(**overrides) -> CropSettings:
    values = {
        "crop_width": CROP_WIDTH,
        "crop_height": CROP_HEIGHT,
        "n": 5,
        "seed": 0,
        "format": "png",
        "quality": 95,
        "subsampling": None,
        "lossless": False,
        "background": (255, 255, 255),
        "max_pixels": 200_000_000,
    }
    values.update(overrides)
    return CropSettings(**values)


def _crop_one(tmp_path: Path, photo: Path, settings: CropSettings) -> tuple:
    """Copy `photo` into a class folder, crop it, and return (src, dst, record)."""
    source = f"photos/{photo.name}"
    src = build_tree(tmp_path / "src", {source: photo})
    dst = tmp_path / "dst"
    dst.mkdir()
    stem = source.rsplit(".", 1)[0]
    record = crop_source(src, dst, CropJob(source, "photos", stem), settings)
    return src, dst, record


def _output_files(dst: Path) -> list[Path]:
    return sorted(path for path in dst.rglob("*") if path.is_file())


PIXEL_PHOTOS = [
    *SAMPLE_PHOTOS,
    *EXIF_ORIENTATION_PHOTOS,
    ODD / "hopper_orientation_6.jpg",
    ODD / "hopper_gray.jpg",
    ODD / "16bit.cropped.tif",
    ODD / "uncompressed_la.png",
    ODD / "transparent.png",
]


@pytest.mark.parametrize("photo", PIXEL_PHOTOS, ids=lambda path: path.name)
def test_crop_pixels_equal_source_region(tmp_path, photo):
    _, dst, record = _crop_one(tmp_path, photo, _settings())
    upright = open_upright(photo)

    assert record["status"] == "cropped"
    image = record["image"]
    assert (image["width"], image["height"]) == upright.size
    assert len(image["crops"]) == 5
    for crop in image["crops"]:
        box = (crop["x"], crop["y"], crop["x"] + CROP_WIDTH, crop["y"] + CROP_HEIGHT)
        with Image.open(dst / crop["path"]) as output:
            assert output.format == "PNG"
            assert output.mode == upright.mode
            assert output.size == (CROP_WIDTH, CROP_HEIGHT)
            assert np.array_equal(np.asarray(output), np.asarray(upright.crop(box)))


@pytest.mark.parametrize("photo", EXIF_ORIENTATION_PHOTOS, ids=lambda path: path.name)
def test_crop_exif_orientation_matches_unrotated_photo(tmp_path, photo):
    # Landscape_N.jpg and Portrait_N.jpg store one upright picture under EXIF
    # orientation N, so every crop must match the region of the N = 1 file.
    # A wrong rotation or flip differs by about 74 levels on average, while
    # JPEG re-encoding alone differs by less than 4.
    reference_name = photo.name.split("_")[0] + "_1.jpg"
    reference = open_upright(EXIF_ORIENTATION / reference_name)
    settings = _settings(crop_width=480, crop_height=320, n=3)
    _, dst, record = _crop_one(tmp_path, photo, settings)

    assert (record["image"]["width"], record["image"]["height"]) == reference.size
    for crop in record["image"]["crops"]:
        box = (crop["x"], crop["y"], crop["x"] + 480, crop["y"] + 320)
        expected = np.asarray(reference.crop(box)).astype(int)
        with Image.open(dst / crop["path"]) as output:
            difference = np.abs(np.asarray(output).astype(int) - expected).mean()
        assert difference < 10, crop["path"]


@pytest.mark.parametrize(
    "photo",
    [
        SAMPLE_DATA / "scenes" / "chelsea.png",
        SAMPLE_DATA / "science" / "hubble_deep_field.jpg",
        EXIF_ORIENTATION / "Landscape_6.jpg",
        ODD / "exif_gps.jpg",
        ODD / "pil_sample_cmyk.jpg",
    ],
    ids=lambda path: path.name,
)
@pytest.mark.parametrize("output_format", ["same", "png", "jpeg", "webp"])
def test_crop_outputs_carry_no_exif(tmp_path, photo, output_format):
    settings = _settings(format=output_format, crop_width=8, crop_height=8, n=2)
    _, dst, record = _crop_one(tmp_path, photo, settings)

    assert record["status"] == "cropped"
    for path in _output_files(dst):
        with Image.open(path) as output:
            assert "exif" not in output.info
            assert len(output.getexif()) == 0


@pytest.mark.parametrize(
    "photo",
    [
        SAMPLE_DATA / "scenes" / "rocket.jpg",
        SAMPLE_DATA / "scenes" / "astronaut.png",
        ODD / "icc_profile_big.jpg",
    ],
    ids=lambda path: path.name,
)
@pytest.mark.parametrize("output_format", ["same", "png", "jpeg", "webp"])
def test_crop_keeps_icc_profile(tmp_path, photo, output_format):
    with Image.open(photo) as source:
        profile = source.info["icc_profile"]
    _, dst, record = _crop_one(tmp_path, photo, _settings(format=output_format, n=2))

    assert record["status"] == "cropped"
    assert "conversion" not in record["image"]
    for path in _output_files(dst):
        with Image.open(path) as output:
            assert output.info.get("icc_profile") == profile


@pytest.mark.parametrize(
    ("photo", "output_format", "expected_format"),
    [
        (SAMPLE_DATA / "scenes" / "camera.png", "same", "PNG"),
        (SAMPLE_DATA / "scenes" / "camera.png", "jpeg", "JPEG"),
        (ODD / "hopper_gray.jpg", "same", "JPEG"),
        (ODD / "hopper_gray.jpg", "png", "PNG"),
    ],
    ids=["png-same", "png-to-jpeg", "jpeg-same", "jpeg-to-png"],
)
def test_crop_keeps_gray_mode(tmp_path, photo, output_format, expected_format):
    _, dst, record = _crop_one(tmp_path, photo, _settings(format=output_format))

    assert record["image"]["mode"] == "L"
    assert record["image"]["output_mode"] == "L"
    assert record["image"]["output_format"] == expected_format
    for path in _output_files(dst):
        with Image.open(path) as output:
            assert output.mode == "L"
            assert output.format == expected_format


def test_crop_jpeg_output_matches_region(tmp_path):
    photo = EXIF_ORIENTATION / "Portrait_5.jpg"
    _, dst, record = _crop_one(tmp_path, photo, _settings(format="same"))
    upright = open_upright(photo)

    assert record["image"]["output_format"] == "JPEG"
    for crop in record["image"]["crops"]:
        box = (crop["x"], crop["y"], crop["x"] + CROP_WIDTH, crop["y"] + CROP_HEIGHT)
        with Image.open(dst / crop["path"]) as output:
            expected = np.asarray(upright.crop(box)).astype(int)
            difference = np.abs(np.asarray(output).astype(int) - expected).mean()
            assert difference < 2, crop["path"]


def test_crop_gif_first_frame_as_png(tmp_path):
    photo = ODD / "iss634.gif"
    _, dst, record = _crop_one(tmp_path, photo, _settings(format="same"))
    with Image.open(photo) as source:
        source.seek(0)
        first_frame = source.convert("RGBA")

    image = record["image"]
    assert image["format"] == "GIF"
    assert image["output_format"] == "PNG"
    assert image["frames"] == 42
    for crop in image["crops"]:
        assert crop["path"].endswith(".png")
        box = (crop["x"], crop["y"], crop["x"] + CROP_WIDTH, crop["y"] + CROP_HEIGHT)
        with Image.open(dst / crop["path"]) as output:
            expected = np.asarray(first_frame.crop(box))
            assert np.array_equal(np.asarray(output.convert("RGBA")), expected)


def test_crop_palette_transparency_kept(tmp_path):
    photo = ODD / "p_trns_single.png"
    _, dst, record = _crop_one(tmp_path, photo, _settings(format="same"))
    with Image.open(photo) as source:
        rgba = source.convert("RGBA")

    assert record["image"]["output_mode"] == "P"
    for crop in record["image"]["crops"]:
        box = (crop["x"], crop["y"], crop["x"] + CROP_WIDTH, crop["y"] + CROP_HEIGHT)
        with Image.open(dst / crop["path"]) as output:
            expected = np.asarray(rgba.crop(box))
            assert np.array_equal(np.asarray(output.convert("RGBA")), expected)


@pytest.mark.parametrize(
    ("pillow_format", "extension", "expected_format"),
    [
        ("JPEG", ".jpg", "JPEG"),
        ("PNG", ".png", "PNG"),
        ("BMP", ".bmp", "BMP"),
        ("GIF", ".gif", "PNG"),
        ("TIFF", ".tif", "PNG"),
        ("WEBP", ".webp", "PNG"),
    ],
)
def test_crop_format_same_mapping(tmp_path, pillow_format, extension, expected_format):
    photo = tmp_path / f"photo{extension}"
    with Image.open(SAMPLE_DATA / "scenes" / "chelsea.png") as source:
        source.convert("RGB").crop((0, 0, 120, 90)).save(photo, pillow_format)
    _, dst, record = _crop_one(tmp_path, photo, _settings(format="same", n=2))

    assert record["image"]["format"] == pillow_format
    assert record["image"]["output_format"] == expected_format
    for path in _output_files(dst):
        with Image.open(path) as output:
            assert output.format == expected_format


def test_crop_exact_size_gives_one(tmp_path):
    photo = ODD / "tiny.png"
    settings = _settings(crop_width=4, crop_height=4, n=10)
    _, dst, record = _crop_one(tmp_path, photo, settings)

    image = record["image"]
    assert [(crop["x"], crop["y"]) for crop in image["crops"]] == [(0, 0)]
    assert image["positions"] == 1
    assert image["requested"] == 10
    assert len(_output_files(dst)) == 1


def test_crop_clamped_writes_every_position(tmp_path):
    photo = tmp_path / "four.png"
    Image.new("RGB", (4, 4), "navy").save(photo)
    # min_shift=1 allows neighbouring corners, so every position can be drawn.
    settings = _settings(crop_width=2, crop_height=2, n=12, min_shift=1)
    _, dst, record = _crop_one(tmp_path, photo, settings)

    image = record["image"]
    corners = sorted((crop["x"], crop["y"]) for crop in image["crops"])
    assert corners == [(x, y) for x in range(3) for y in range(3)]
    assert image["positions"] == 9
    assert image["requested"] == 12
    assert len(_output_files(dst)) == 9


def test_crop_not_clamped_records_no_request(tmp_path):
    photo = tmp_path / "four.png"
    Image.new("RGB", (4, 4), "navy").save(photo)
    settings = _settings(crop_width=2, crop_height=2, n=9, min_shift=1)
    _, _, record = _crop_one(tmp_path, photo, settings)

    assert len(record["image"]["crops"]) == 9
    assert "requested" not in record["image"]


def test_crop_smaller_than_crop_skipped(tmp_path):
    settings = _settings(crop_width=8, crop_height=8)
    _, dst, record = _crop_one(tmp_path, ODD / "tiny.png", settings)

    assert record == {
        "status": "skipped",
        "source": "photos/tiny.png",
        "reason": "image is 4x4, smaller than the 8x8 crop",
    }
    assert _output_files(dst) == []


def test_crop_size_check_uses_upright_size(tmp_path):
    # Stored 2x1 with EXIF orientation 8, so the upright image is 1x2.
    photo = ODD / "orientation_rectangle.jpg"
    wide_settings = _settings(crop_width=2, crop_height=1, n=1)
    _, _, wide = _crop_one(tmp_path / "wide", photo, wide_settings)
    tall_settings = _settings(crop_width=1, crop_height=2, n=1)
    _, _, tall = _crop_one(tmp_path / "tall", photo, tall_settings)

    assert wide["status"] == "skipped"
    assert wide["reason"] == "image is 1x2, smaller than the 2x1 crop"
    assert tall["status"] == "cropped"
    assert (tall["image"]["width"], tall["image"]["height"]) == (1, 2)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("broken.png", "truncated or corrupt PNG header"),
        ("truncated_jpeg.jpg", "truncated JPEG data"),
        (
            "decompression_bomb.gif",
            "image is 4364696535 pixels, above --max-pixels (200000000)",
        ),
    ],
)
def test_crop_broken_source_failed(tmp_path, name, error):
    _, dst, record = _crop_one(tmp_path, ODD / name, _settings())

    assert record == {"status": "failed", "source": f"photos/{name}", "error": error}
    assert _output_files(dst) == []


def test_crop_empty_file_failed(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    _, dst, record = _crop_one(tmp_path, empty, _settings())

    assert record["status"] == "failed"
    assert record["error"] == "empty file"
    assert _output_files(dst) == []
