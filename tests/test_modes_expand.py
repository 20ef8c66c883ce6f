"""End-to-end tests of the crop modes through cropaug.expand and the CLI."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from cropaug.boxes import RESAMPLING, box_from_record
from cropaug.cli import cli
from cropaug.crop import CropSettings, load_source, write_crops
from cropaug.expansion import expand

CROP = (16, 12)
MODE_OPTIONS = {
    "random": {"n": 6, "hflip": 0.5},
    "resized": {"n": 6, "hflip": 0.5, "resample": "bicubic"},
    "center": {"hflip": 0.5},
    "five": {"hflip": 0.5},
    "ten": {},
    "grid": {"n": 7, "stride": (10, 9), "hflip": 0.5},
}


def write_noise(path: Path, size: tuple[int, int], mode: str, seed: int) -> None:
    rng = np.random.Generator(np.random.PCG64(seed))
    width, height = size
    shape = (height, width, 3) if mode == "RGB" else (height, width)
    pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def make_tree(root: Path) -> Path:
    write_noise(root / "cats" / "a.png", (64, 48), "RGB", 1)
    write_noise(root / "cats" / "b.png", (40, 52), "RGB", 2)
    write_noise(root / "dogs" / "c.png", (50, 50), "L", 3)
    return root


def run(src: Path, dst: Path, mode: str, workers: int, **options):
    merged = {**MODE_OPTIONS[mode], **options}
    return expand(src, dst, size=CROP, seed=5, workers=workers, mode=mode, **merged)


def read_pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def source_tree(tmp_path_factory) -> Path:
    return make_tree(tmp_path_factory.mktemp("src"))


@pytest.fixture(scope="module", params=list(MODE_OPTIONS))
def mode_runs(request, source_tree, tmp_path_factory):
    mode = request.param
    base = tmp_path_factory.mktemp(mode)
    run(source_tree, base / "one", mode, workers=1)
    run(source_tree, base / "two", mode, workers=2)
    return mode, base / "one", base / "two"


def test_mode_workers_byte_identical(mode_runs):
    _, one_worker, two_workers = mode_runs
    assert tree_bytes(one_worker) == tree_bytes(two_workers)


def test_mode_crops_match_source_region(mode_runs, source_tree):
    _, one_worker, _ = mode_runs
    manifest = json.loads((one_worker / "manifest.json").read_text())
    resample = RESAMPLING[manifest["params"]["resample"]]
    assert manifest["totals"]["images"] == 3
    for image in manifest["images"]:
        with Image.open(source_tree / image["source"]) as opened:
            source = opened.copy()
        for crop in image["crops"]:
            box = box_from_record(crop)
            expected = source.crop(box.bounds)
            if expected.size != CROP:
                expected = expected.resize(CROP, resample)
            if box.flipped:
                expected = expected.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            written = read_pixels(one_worker / crop["path"])
            assert np.array_equal(written, np.asarray(expected)), crop


def test_mode_manifest_reproduces_crops(mode_runs, source_tree, tmp_path):
    _, one_worker, _ = mode_runs
    manifest = json.loads((one_worker / "manifest.json").read_text())
    params = manifest["params"]
    settings = CropSettings(
        crop_width=params["width"],
        crop_height=params["height"],
        n=params["n"],
        seed=params["seed"],
        format=params["format"],
        quality=params["quality"],
        subsampling=params["subsampling"],
        lossless=params["lossless"],
        background=(255, 255, 255),
        max_pixels=params["max_pixels"],
        resample=params["resample"],
    )
    for image in manifest["images"]:
        decoded, plan, _ = load_source(source_tree / image["source"], settings)
        boxes = [box_from_record(crop) for crop in image["crops"]]
        paths = [crop["path"] for crop in image["crops"]]
        write_crops(tmp_path, decoded, settings, boxes, paths, plan)
        for path in paths:
            assert (tmp_path / path).read_bytes() == (one_worker / path).read_bytes(), (
                path
            )


def test_mode_records_mode_in_params(mode_runs):
    mode, one_worker, _ = mode_runs
    params = json.loads((one_worker / "manifest.json").read_text())["params"]
    assert params["mode"] == mode


def test_ten_writes_five_boxes_plain_then_mirrored(source_tree, tmp_path):
    run(source_tree, tmp_path / "out", "ten", workers=1)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    crops = manifest["images"][0]["crops"]
    corners = [(crop["x"], crop["y"]) for crop in crops]
    assert corners[:5] == [(0, 0), (48, 0), (0, 36), (48, 36), (24, 18)]
    assert corners[5:] == corners[:5]
    assert [crop.get("flipped", False) for crop in crops] == [False] * 5 + [True] * 5


def test_flipped_crop_mirrors_plain_crop(source_tree, tmp_path):
    run(source_tree, tmp_path / "out", "ten", workers=1)
    out = tmp_path / "out"
    plain = read_pixels(out / "cats" / "a_c04.png")
    mirrored = read_pixels(out / "cats" / "a_c09.png")
    assert np.array_equal(mirrored, plain[:, ::-1])


def small_tree(root: Path) -> Path:
    write_noise(root / "cats" / "a.png", (18, 14), "RGB", 4)
    return root


def test_min_shift_default_records_requested(tmp_path):
    # An 18x14 image has 3x3 positions for a 16x12 crop; corners 2 apart fit
    # at most 4 times.
    summary = expand(
        small_tree(tmp_path / "src"),
        tmp_path / "out",
        size=CROP,
        n=9,
        seed=0,
        workers=1,
    )
    image = json.loads((tmp_path / "out" / "manifest.json").read_text())["images"][0]
    corners = [(crop["x"], crop["y"]) for crop in image["crops"]]
    assert 1 <= len(corners) <= 4
    assert image["requested"] == 9
    assert summary.clamped == ["cats/a.png"]
    for a, b in itertools.combinations(corners, 2):
        assert max(abs(a[0] - b[0]), abs(a[1] - b[1])) >= 2


def test_min_shift_one_writes_every_position(tmp_path):
    expand(
        small_tree(tmp_path / "src"),
        tmp_path / "out",
        size=CROP,
        n=9,
        seed=0,
        workers=1,
        min_shift=1,
    )
    image = json.loads((tmp_path / "out" / "manifest.json").read_text())["images"][0]
    corners = sorted((crop["x"], crop["y"]) for crop in image["crops"])
    assert corners == [(x, y) for x in range(3) for y in range(3)]
    assert "requested" not in image


def test_resized_mode_crops_image_smaller_than_crop(tmp_path):
    src = tmp_path / "src"
    write_noise(src / "cats" / "tiny.png", (8, 6), "RGB", 6)
    summary = expand(src, tmp_path / "out", size=CROP, n=1, seed=0, mode="resized")
    assert summary.crops == 1
    crop = read_pixels(tmp_path / "out" / "cats" / "tiny_c00.png")
    assert crop.shape == (CROP[1], CROP[0], 3)


def test_random_mode_skips_image_smaller_than_crop(tmp_path):
    src = tmp_path / "src"
    write_noise(src / "cats" / "tiny.png", (8, 6), "RGB", 6)
    summary = expand(src, tmp_path / "out", size=CROP, n=1, seed=0)
    assert summary.skipped == [
        {
            "source": "cats/tiny.png",
            "reason": "image is 8x6, smaller than the 16x12 crop",
        }
    ]


def test_params_record_mode_options(source_tree, tmp_path):
    run(source_tree, tmp_path / "out", "resized", workers=1)
    params = json.loads((tmp_path / "out" / "manifest.json").read_text())["params"]
    assert params["scale"] == [0.08, 1.0]
    assert params["ratio"] == [0.75, 4 / 3]
    assert params["resample"] == "bicubic"
    assert params["hflip"] == 0.5
    assert params["min_shift"] == 2
    assert params["masks"] is False
    assert params["mask_out"] is None


def invoke(*args: str):
    return CliRunner().invoke(cli, ["expand", *args], catch_exceptions=False)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ([], "Error: Missing option '--n' (required with --mode random)."),
        (
            ["--mode", "five", "--n", "3"],
            "Error: --mode five writes 5 crops per image; leave out --n 3.",
        ),
        (
            ["--mode", "center", "--mask-out", "m"],
            "Error: --mask-out needs --masks MASK_ROOT.",
        ),
        (
            ["--n", "2", "--ratio", "x", "1"],
            "Error: Invalid value for '--ratio': 'x' is not a number such as 0.75 "
            "or 3/4",
        ),
        (
            ["--n", "2", "--scale", "0.5", "2"],
            "Error: scale max must be at most 1.0, not 2.0",
        ),
        (
            ["--mode", "ten", "--hflip", "0.5"],
            "Error: mode 'ten' already writes every box plain and mirrored; "
            "leave hflip at 0, or use mode 'five' with hflip",
        ),
    ],
    ids=[
        "n-missing",
        "n-with-five",
        "mask-out-alone",
        "ratio-text",
        "scale",
        "ten-hflip",
    ],
)
def test_cli_mode_option_errors(tmp_path, args, error):
    src = small_tree(tmp_path / "src")
    result = invoke(str(src), str(tmp_path / "out"), "--size", "16x12", *args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == error


def test_cli_ratio_accepts_fractions(tmp_path):
    src = small_tree(tmp_path / "src")
    out = tmp_path / "out"
    result = invoke(
        str(src), str(out), "--size", "8", "--n", "2", "--seed", "0",
        "--workers", "1", "--mode", "resized", "--ratio", "3/4", "4/3", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    params = json.loads((out / "manifest.json").read_text())["params"]
    assert params["ratio"] == [0.75, 4 / 3]


def test_cli_center_needs_no_n(tmp_path):
    src = small_tree(tmp_path / "src")
    out = tmp_path / "out"
    result = invoke(
        str(src), str(out), "--size", "8", "--seed", "0", "--workers", "1",
        "--mode", "center", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "cats" / "a_c00.png").exists()


def test_hflip_mirrors_some_crops(source_tree, tmp_path):
    run(source_tree, tmp_path / "out", "random", workers=1, n=20)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    flags = [
        crop.get("flipped", False)
        for image in manifest["images"]
        for crop in image["crops"]
    ]
    assert any(flags)
    assert not all(flags)
    # The manifest records the flag only when it is set.
    recorded = [
        crop["flipped"]
        for image in manifest["images"]
        for crop in image["crops"]
        if "flipped" in crop
    ]
    assert set(recorded) == {True}
