"""Regression tests for inputs that once broke a run: odd trees, TIFF, API types."""

import numpy as np
from conftest import read_manifest
from PIL import Image

import cropaug


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
