"""Tests for the simplejpeg fast path: JPEG sources cropped into JPEG crops."""

import dataclasses
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps, JpegImagePlugin

from cropaug import jpeg
from cropaug.boxes import Box
from cropaug.crop import CropSettings, load_source, write_crops
from cropaug.errors import ImageError
from cropaug.expansion import expand
from cropaug.imaging import decode_image
from cropaug.reproduce import reproduce

DATA = Path(__file__).parent / "data"
SAMPLES = Path(__file__).parent.parent / "sample_data"
ORIENTATION_FILES = sorted((DATA / "exif-orientation").glob("*.jpg"))
MAX_PIXELS = 2 * Image.MAX_IMAGE_PIXELS


def settings(**changes) -> CropSettings:
    values = {
        "crop_width": 64,
        "crop_height": 48,
        "n": 3,
        "seed": 0,
        "format": "same",
        "quality": 95,
        "subsampling": None,
        "lossless": False,
        "background": (255, 255, 255),
        "max_pixels": MAX_PIXELS,
    }
    values.update(changes)
    return CropSettings(**values)


def upright_pillow_pixels(data: bytes) -> np.ndarray:
    """Decode with Pillow, turn upright, as height x width x channels."""
    with Image.open(io.BytesIO(data)) as image:
        pixels = np.asarray(ImageOps.exif_transpose(image))
    return pixels[..., None] if pixels.ndim == 2 else pixels


def make_tree(root: Path, files: dict[str, Path]) -> Path:
    for relative, source in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return root


def textured_jpeg(path: Path, subsampling: str = "4:2:0") -> Path:
    """Save the gravel texture, tinted brown, as a JPEG."""
    gray = Image.open(SAMPLES / "textures" / "gravel.png").convert("L")
    rgb = ImageOps.colorize(gray, (40, 20, 10), (250, 230, 180))
    rgb.save(path, "JPEG", quality=95, subsampling=subsampling)
    return path


def read_manifest(dst: Path) -> dict:
    return json.loads((dst / "manifest.json").read_text(encoding="utf-8"))


def crop_pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        pixels = np.asarray(image).astype(int)
    return pixels[..., None] if pixels.ndim == 2 else pixels


@pytest.mark.parametrize("path", ORIENTATION_FILES, ids=lambda path: path.name)
def test_load_source_upright_like_pillow(path):
    decoded, _, _ = load_source(path, settings())
    assert decoded.pixels is not None
    upright = jpeg.upright_pixels(decoded)
    expected = upright_pillow_pixels(path.read_bytes())
    assert upright.shape == expected.shape
    assert np.abs(upright.astype(int) - expected).max() <= 1


def test_load_source_header_like_pillow():
    path = SAMPLES / "science" / "hubble_deep_field.jpg"
    decoded, _, _ = load_source(path, settings())
    expected = decode_image(path.read_bytes(), MAX_PIXELS)
    assert decoded.pixels is not None
    assert decoded.format == expected.format
    assert decoded.mode == expected.mode
    assert decoded.frames == expected.frames
    assert decoded.icc_profile == expected.icc_profile
    assert decoded.jpeg_subsampling == expected.jpeg_subsampling
    assert decoded.size == expected.size
    assert decoded.orientation == expected.orientation


def test_load_source_grayscale_stays_l():
    decoded, _, _ = load_source(DATA / "odd" / "hopper_gray.jpg", settings())
    assert decoded.mode == "L"
    assert decoded.pixels.shape == (128, 128, 1)


def test_load_source_mpo_first_frame(tmp_path):
    with Image.open(SAMPLES / "scenes" / "rocket.jpg") as image:
        first = image.convert("RGB")
    second = first.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    source = tmp_path / "pair.mpo"
    first.save(source, "MPO", save_all=True, append_images=[second], quality=90)

    decoded, _, _ = load_source(source, settings())
    with Image.open(source) as image:
        expected = np.asarray(image.convert("RGB"))
    assert decoded.format == "MPO"
    assert decoded.frames == 2
    assert decoded.pixels is not None
    assert np.array_equal(decoded.pixels, expected)


@pytest.mark.parametrize("name", ["pil_sample_cmyk.jpg", "tiny.png"])
def test_load_source_leaves_to_pillow(name):
    decoded, _, _ = load_source(
        DATA / "odd" / name, settings(crop_width=1, crop_height=1)
    )
    assert decoded.pixels is None


def test_load_source_truncated_jpeg_fails_as_pillow():
    # libjpeg warns about the missing data, so simplejpeg raises and Pillow
    # reports the failure, as it does without the fast path.
    path = DATA / "odd" / "truncated_jpeg.jpg"
    with pytest.raises(ImageError) as caught:
        load_source(path, settings())
    assert str(caught.value) == "truncated JPEG data"


@pytest.mark.parametrize(
    "changes",
    [
        {"format": "png"},
        {"format": "webp"},
        {"keep_exif": True},
        {"mode": "resized"},
        {"resize": 200},
        {"crop_width": 700, "small": "pad"},
        {"crop_width": 700, "small": "upscale"},
    ],
    ids=lambda changes: ",".join(f"{key}={value}" for key, value in changes.items()),
)
def test_load_source_settings_to_pillow(changes):
    decoded, _, _ = load_source(SAMPLES / "scenes" / "rocket.jpg", settings(**changes))
    assert decoded.pixels is None


@pytest.mark.parametrize(
    "changes",
    [
        {"mode": "grid", "stride": (100, 80)},
        {"mode": "ten", "n": 10},
        {"hflip": 0.5},
        {"min_shift": 7},
        {"subsampling": "4:2:2"},
        {"format": "jpeg"},
    ],
    ids=lambda changes: ",".join(f"{key}={value}" for key, value in changes.items()),
)
def test_load_source_settings_fast(changes):
    decoded, _, _ = load_source(SAMPLES / "scenes" / "rocket.jpg", settings(**changes))
    assert decoded.pixels is not None


def test_load_source_mismatched_icc_profile(tmp_path):
    profile = bytearray(
        ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    )
    # Bytes 16-19 of an ICC header name the colour space of the data.
    profile[16:20] = b"GRAY"
    source = tmp_path / "tagged.jpg"
    Image.new("RGB", (80, 60), "olive").save(source, icc_profile=bytes(profile))
    decoded, plan, _ = load_source(source, settings())
    prepared, sizes = write_crops(
        tmp_path / "out", decoded, settings(), [(0, 0)], ["a.jpg"], plan
    )
    assert sizes == [(tmp_path / "out" / "a.jpg").stat().st_size]
    assert decoded.pixels is not None
    assert prepared.icc_profile is None
    with Image.open(tmp_path / "out" / "a.jpg") as image:
        assert "icc_profile" not in image.info


def test_fast_path_later_option_set():
    @dataclasses.dataclass(frozen=True)
    class LaterSettings(CropSettings):
        sharpen: float = 0.0

    path = SAMPLES / "scenes" / "rocket.jpg"
    base = dataclasses.asdict(settings())
    assert load_source(path, LaterSettings(**base))[0].pixels is not None
    assert load_source(path, LaterSettings(**base, sharpen=1.0))[0].pixels is None


def test_write_crops_resized_box_by_pillow(tmp_path):
    path = SAMPLES / "scenes" / "rocket.jpg"
    decoded, plan, _ = load_source(path, settings())
    boxes = [Box(10, 20, 64, 48), Box(0, 0, 128, 96)]
    write_crops(tmp_path, decoded, settings(), boxes, ["a.jpg", "b.jpg"], plan)

    upright = upright_pillow_pixels(path.read_bytes())
    with Image.open(io.BytesIO(path.read_bytes())) as image:
        expected = np.asarray(
            image.crop((0, 0, 128, 96)).resize((64, 48), Image.Resampling.BILINEAR)
        ).astype(int)
    assert np.abs(crop_pixels(tmp_path / "a.jpg") - upright[20:68, 10:74]).mean() < 4
    assert np.abs(crop_pixels(tmp_path / "b.jpg") - expected).mean() < 4


@pytest.mark.parametrize("subsampling", ["4:2:0", "4:4:4"])
def test_crops_match_source_region(tmp_path, subsampling):
    source = textured_jpeg(tmp_path / "texture.jpg", subsampling)
    src = make_tree(tmp_path / "src", {"gravel/texture.jpg": source})
    expand(src, tmp_path / "dst", size=(96, 64), n=4, seed=3, workers=1)

    expected = upright_pillow_pixels(source.read_bytes()).astype(int)
    for crop in read_manifest(tmp_path / "dst")["images"][0]["crops"]:
        pixels = crop_pixels(tmp_path / "dst" / crop["path"])
        x, y = crop["x"], crop["y"]
        region = expected[y : y + 64, x : x + 96]
        # Quality 95 changes a pixel by about 2 levels on average on this
        # texture; a box off by one pixel differs by about 11.
        assert np.abs(pixels - region).mean() < 4


def test_crops_flipped_mirror_region(tmp_path):
    source = textured_jpeg(tmp_path / "texture.jpg", "4:4:4")
    src = make_tree(tmp_path / "src", {"gravel/texture.jpg": source})
    expand(src, tmp_path / "dst", size=(96, 64), n=6, seed=1, workers=1, hflip=1.0)

    expected = upright_pillow_pixels(source.read_bytes()).astype(int)
    crops = read_manifest(tmp_path / "dst")["images"][0]["crops"]
    assert all(crop["flipped"] for crop in crops)
    for crop in crops:
        pixels = crop_pixels(tmp_path / "dst" / crop["path"])
        x, y = crop["x"], crop["y"]
        region = expected[y : y + 64, x : x + 96][:, ::-1]
        assert np.abs(pixels - region).mean() < 4


def test_crops_orientation_applied(tmp_path):
    source = DATA / "exif-orientation" / "Portrait_6.jpg"
    src = make_tree(tmp_path / "src", {"portrait/p6.jpg": source})
    expand(src, tmp_path / "dst", size=224, n=2, seed=0, workers=1)

    image_record = read_manifest(tmp_path / "dst")["images"][0]
    expected = upright_pillow_pixels(source.read_bytes()).astype(int)
    assert (image_record["width"], image_record["height"]) == (1200, 1800)
    for crop in image_record["crops"]:
        with Image.open(tmp_path / "dst" / crop["path"]) as image:
            assert image.getexif().get(0x0112) is None
        pixels = crop_pixels(tmp_path / "dst" / crop["path"])
        x, y = crop["x"], crop["y"]
        assert np.abs(pixels - expected[y : y + 224, x : x + 224]).mean() < 3


@pytest.mark.parametrize(
    "source", [DATA / "odd" / "icc_profile_big.jpg", SAMPLES / "scenes" / "rocket.jpg"]
)
def test_crops_keep_icc_profile(tmp_path, source):
    src = make_tree(tmp_path / "src", {"tagged/source.jpg": source})
    expand(src, tmp_path / "dst", size=64, n=2, seed=0, workers=1)

    with Image.open(source) as image:
        profile = image.info["icc_profile"]
    for crop in read_manifest(tmp_path / "dst")["images"][0]["crops"]:
        with Image.open(tmp_path / "dst" / crop["path"]) as image:
            assert image.info.get("icc_profile") == profile
            image.load()


def test_crops_grayscale_and_cmyk(tmp_path):
    src = make_tree(
        tmp_path / "src",
        {
            "odd/gray.jpg": DATA / "odd" / "hopper_gray.jpg",
            "odd/cmyk.jpg": DATA / "odd" / "pil_sample_cmyk.jpg",
        },
    )
    expand(src, tmp_path / "dst", size=32, n=2, seed=0, workers=1)

    records = {
        image["source"]: image for image in read_manifest(tmp_path / "dst")["images"]
    }
    for source, mode in (("odd/gray.jpg", "L"), ("odd/cmyk.jpg", "CMYK")):
        assert records[source]["output_mode"] == mode
        for crop in records[source]["crops"]:
            with Image.open(tmp_path / "dst" / crop["path"]) as image:
                assert image.mode == mode


@pytest.mark.parametrize(
    ("requested", "expected"), [(None, 0), ("4:2:0", 2), ("4:2:2", 1)]
)
def test_crops_subsampling(tmp_path, requested, expected):
    # rocket.jpg is stored with 4:4:4 chroma.
    src = make_tree(
        tmp_path / "src", {"scenes/rocket.jpg": SAMPLES / "scenes" / "rocket.jpg"}
    )
    expand(
        src, tmp_path / "dst", size=64, n=1, seed=0, workers=1, subsampling=requested
    )

    crop = read_manifest(tmp_path / "dst")["images"][0]["crops"][0]
    with Image.open(tmp_path / "dst" / crop["path"]) as image:
        assert JpegImagePlugin.get_sampling(image) == expected


def test_crops_subsampling_png_source(tmp_path):
    src = make_tree(
        tmp_path / "src", {"scenes/coffee.png": SAMPLES / "scenes" / "coffee.png"}
    )
    expand(src, tmp_path / "dst", size=64, n=1, seed=0, workers=1, format="jpeg")

    crop = read_manifest(tmp_path / "dst")["images"][0]["crops"][0]
    with Image.open(tmp_path / "dst" / crop["path"]) as image:
        assert JpegImagePlugin.get_sampling(image) == 2


def test_crops_identical_across_workers(tmp_path):
    files = {f"orientation/{path.name}": path for path in ORIENTATION_FILES[:6]}
    files["scenes/rocket.jpg"] = SAMPLES / "scenes" / "rocket.jpg"
    files["odd/icc_profile_big.jpg"] = DATA / "odd" / "icc_profile_big.jpg"
    files["odd/gray.jpg"] = DATA / "odd" / "hopper_gray.jpg"
    src = make_tree(tmp_path / "src", files)

    expand(src, tmp_path / "one", size=96, n=3, seed=5, workers=1, hflip=0.5)
    expand(src, tmp_path / "two", size=96, n=3, seed=5, workers=2, hflip=0.5)

    one = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*"))
    two = sorted(p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*"))
    assert one == two
    for relative in one:
        if (tmp_path / "one" / relative).is_file():
            first = (tmp_path / "one" / relative).read_bytes()
            assert first == (tmp_path / "two" / relative).read_bytes(), relative


def test_reproduce_fast_path_identical(tmp_path):
    files = {f"orientation/{path.name}": path for path in ORIENTATION_FILES[:4]}
    files["odd/gray.jpg"] = DATA / "odd" / "hopper_gray.jpg"
    src = make_tree(tmp_path / "src", files)
    expand(src, tmp_path / "dst", size=96, n=3, seed=2, workers=1, hflip=0.5)

    reproduce(tmp_path / "dst" / "manifest.json", src, tmp_path / "again")

    for crop_path in (tmp_path / "dst").rglob("*.jpg"):
        relative = crop_path.relative_to(tmp_path / "dst")
        again = (tmp_path / "again" / relative).read_bytes()
        assert again == crop_path.read_bytes(), relative


def test_manifest_records_simplejpeg_version(tmp_path):
    src = make_tree(
        tmp_path / "src", {"scenes/rocket.jpg": SAMPLES / "scenes" / "rocket.jpg"}
    )
    expand(src, tmp_path / "dst", size=64, n=1, seed=0, workers=1)

    versions = read_manifest(tmp_path / "dst")["library_versions"]
    assert versions["simplejpeg"] == jpeg.simplejpeg_version()


def test_icc_segments_round_trip():
    profile = bytes(range(256)) * 600
    encoded = io.BytesIO()
    Image.new("RGB", (16, 16), "teal").save(encoded, "JPEG")
    tagged = jpeg._insert_after_jfif(encoded.getvalue(), jpeg._icc_segments(profile))
    with Image.open(io.BytesIO(tagged)) as image:
        assert image.info["icc_profile"] == profile
        image.load()


def test_decode_buffer_reused_across_images():
    large = SAMPLES / "science" / "retina.jpg"
    small = SAMPLES / "scenes" / "rocket.jpg"
    previous = jpeg.reuse_decode_buffer(True)
    try:
        first = load_source(large, settings())[0].pixels
        first_copy = first.copy()
        second = load_source(small, settings())[0].pixels
    finally:
        jpeg.reuse_decode_buffer(previous)

    assert np.shares_memory(first, second)
    assert np.array_equal(first_copy, upright_pillow_pixels(large.read_bytes()))
    assert np.array_equal(second, upright_pillow_pixels(small.read_bytes()))


def test_decode_buffer_fresh_by_default():
    path = SAMPLES / "scenes" / "rocket.jpg"
    first = load_source(path, settings())[0].pixels
    second = load_source(path, settings())[0].pixels

    assert not np.shares_memory(first, second)
