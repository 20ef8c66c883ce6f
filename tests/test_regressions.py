"""Regression tests for inputs that once broke a run: odd trees, TIFF, API types."""

import numpy as np
import pytest
from conftest import read_manifest
from PIL import Image

import cropaug
from cropaug.errors import DestinationError, InvalidParameterError
from cropaug.files import OutputWriteError


def save_noise(path, width=24, height=18, seed=0, **options):
    """Save random RGB pixels at `path` and return them as an array."""
    pixels = np.random.default_rng(seed).integers(
        0, 256, (height, width, 3), dtype=np.uint8
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, **options)
    return pixels


def test_expand_folder_named_like_crop(tmp_path):
    # cats/b.png would write its first crop to cats/b_c00.png, the name of a
    # folder that contains another source.
    save_noise(tmp_path / "src" / "cats" / "b.png")
    save_noise(tmp_path / "src" / "cats" / "b_c00.png" / "z.png", seed=1)

    summary = cropaug.expand(
        tmp_path / "src", tmp_path / "dst", size=8, n=2, seed=0, workers=1
    )

    assert summary.failed == []
    manifest = read_manifest(tmp_path / "dst")
    paths = [crop["path"] for image in manifest["images"] for crop in image["crops"]]
    assert "cats/b_c00.png" not in paths
    for path in paths:
        assert (tmp_path / "dst" / path).is_file(), path


@pytest.mark.parametrize("orientation", [2, 6])
def test_expand_tiff_orientation_applied_once(tmp_path, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = save_noise(tmp_path / "src" / "k" / "a.tif", exif=exif)
    method = {2: Image.Transpose.FLIP_LEFT_RIGHT, 6: Image.Transpose.ROTATE_270}
    upright = Image.fromarray(stored).transpose(method[orientation])

    cropaug.expand(tmp_path / "src", tmp_path / "dst", size=8, n=3, seed=0, workers=1)

    image = read_manifest(tmp_path / "dst")["images"][0]
    assert (image["width"], image["height"]) == upright.size
    for crop in image["crops"]:
        box = (crop["x"], crop["y"], crop["x"] + 8, crop["y"] + 8)
        with Image.open(tmp_path / "dst" / crop["path"]) as written:
            assert np.array_equal(np.asarray(written), np.asarray(upright.crop(box)))


def test_expand_accepts_numpy_integers(tmp_path):
    save_noise(tmp_path / "src" / "cats" / "a.png")

    summary = cropaug.expand(
        tmp_path / "src",
        tmp_path / "dst",
        size=np.int64(8),
        n=np.int64(2),
        seed=np.uint32(3),
        workers=1,
    )

    assert summary.crops == 2
    params = read_manifest(tmp_path / "dst")["params"]
    assert params["seed"] == 3
    assert params["width"] == 8


@pytest.mark.parametrize(
    ("keyword", "value", "message"),
    [
        ("n", 2.5, "n must be an integer, not 2.5"),
        ("n", True, "n must be an integer, not True"),
        ("seed", "0", "seed must be an integer, not '0'"),
        ("size", True, "size must be an int or a (width, height) pair, not True"),
        ("quality", 50.5, "quality must be an integer, not 50.5"),
        ("min_shift", 1.5, "min_shift must be an integer, not 1.5"),
        ("resize", 10.5, "resize must be an integer, not 10.5"),
        ("workers", 1.5, "workers must be an integer, not 1.5"),
        ("lossless", "no", "lossless must be True or False, not 'no'"),
        ("hflip", "0.5", "hflip must be a number, not '0.5'"),
        ("background", (1, 2, 3), "background must be a string, not (1, 2, 3)"),
    ],
)
def test_expand_rejects_wrong_types(tmp_path, keyword, value, message):
    save_noise(tmp_path / "src" / "cats" / "a.png")
    options = {"size": 8, "n": 2, "seed": 0, "workers": 1, keyword: value}

    with pytest.raises(InvalidParameterError) as raised:
        cropaug.expand(tmp_path / "src", tmp_path / "dst", **options)

    assert str(raised.value) == message
    assert not (tmp_path / "dst").exists()


def test_expand_class_named_manifest(tmp_path):
    save_noise(tmp_path / "src" / "manifest.json" / "a.png")

    with pytest.raises(DestinationError) as raised:
        cropaug.expand(
            tmp_path / "src", tmp_path / "dst", size=8, n=2, seed=0, workers=1
        )

    assert "manifest.json" in str(raised.value)
    assert not (tmp_path / "dst").exists()


def test_expand_shard_class_named_parts(tmp_path):
    save_noise(tmp_path / "src" / "_parts" / "a.png")
    save_noise(tmp_path / "src" / "cats" / "b.png")

    with pytest.raises(DestinationError) as raised:
        cropaug.expand(
            tmp_path / "src",
            tmp_path / "dst",
            size=8,
            n=2,
            seed=0,
            workers=1,
            shard="0/2",
        )

    assert "_parts" in str(raised.value)
    assert not (tmp_path / "dst").exists()


def test_expand_dst_under_file(tmp_path):
    save_noise(tmp_path / "src" / "cats" / "a.png")
    (tmp_path / "file").write_bytes(b"")
    dst = tmp_path / "file" / "out"

    with pytest.raises(OutputWriteError) as raised:
        cropaug.expand(tmp_path / "src", dst, size=8, n=2, seed=0, workers=1)

    assert str(raised.value) == f"cannot write {dst}: Not a directory"


def test_expand_mask_out_under_file(tmp_path):
    save_noise(tmp_path / "src" / "cats" / "a.png")
    save_noise(tmp_path / "masks" / "cats" / "a.png")
    (tmp_path / "file").write_bytes(b"")
    mask_out = tmp_path / "file" / "masks"

    with pytest.raises(OutputWriteError) as raised:
        cropaug.expand(
            tmp_path / "src",
            tmp_path / "dst",
            size=8,
            n=2,
            seed=0,
            workers=1,
            masks=tmp_path / "masks",
            mask_out=mask_out,
        )

    assert str(raised.value) == f"cannot write {mask_out / 'cats'}: Not a directory"
