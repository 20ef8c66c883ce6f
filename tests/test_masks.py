"""Tests for cropaug.masks: label masks cropped with their images' boxes."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from cropaug.boxes import box_from_record
from cropaug.cli import cli
from cropaug.errors import DestinationError
from cropaug.expansion import expand
from cropaug.masks import default_mask_out

ODD = Path(__file__).parent / "data" / "odd"
CROP = (16, 12)
SHAPE = (20, 10, 36, 26)  # left, top, right, bottom of the drawn rectangle
LABEL = 3
PALETTE = [0, 0, 0, 0, 0, 255, 0, 255, 0, 255, 0, 0]
MODE_OPTIONS = {
    "random": {"n": 6, "hflip": 0.5},
    "resized": {"n": 6, "hflip": 0.5, "resample": "nearest"},
    "center": {"hflip": 0.5},
    "five": {},
    "ten": {},
    "grid": {"n": 20, "stride": (7, 5)},
}


def write_pair(src: Path, masks: Path, relative: str, mask_name: str) -> None:
    """Write a gray image with a white rectangle, and a palette mask labelling it."""
    pixels = np.full((48, 64), 40, dtype=np.uint8)
    left, top, right, bottom = SHAPE
    pixels[top:bottom, left:right] = 255
    (src / relative).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(src / relative)

    labels = np.zeros((48, 64), dtype=np.uint8)
    labels[top:bottom, left:right] = LABEL
    mask = Image.fromarray(labels).convert("P")
    mask.putpalette(PALETTE)
    (masks / mask_name).parent.mkdir(parents=True, exist_ok=True)
    mask.save(masks / mask_name, transparency=0)


@pytest.fixture
def pair_tree(tmp_path) -> tuple[Path, Path]:
    src, masks = tmp_path / "src", tmp_path / "masks"
    write_pair(src, masks, "cats/a.png", "cats/a.png")
    write_pair(src, masks, "dogs/b.png", "dogs/b.tif")
    return src, masks


def run(src: Path, masks: Path, dst: Path, mode: str = "random", **options):
    merged = {**MODE_OPTIONS[mode], **options}
    return expand(
        src, dst, size=CROP, seed=3, workers=1, mode=mode, masks=masks, **merged
    )


def read_image(path: Path) -> Image.Image:
    with Image.open(path) as image:
        image.load()
        return image


def load_manifest(dst: Path) -> dict:
    return json.loads((dst / "manifest.json").read_text())


@pytest.mark.parametrize("mode", list(MODE_OPTIONS))
def test_mask_aligns_with_crop_pixels(pair_tree, tmp_path, mode):
    src, masks = pair_tree
    dst = tmp_path / "out"
    run(src, masks, dst, mode)
    manifest = load_manifest(dst)
    mask_out = tmp_path / "out_masks"
    checked = 0
    for image in manifest["images"]:
        for crop in image["crops"]:
            pixels = np.asarray(read_image(dst / crop["path"]))
            labels = np.asarray(read_image(mask_out / crop["mask"]))
            assert np.array_equal(pixels == 255, labels == LABEL), crop
            checked += 1
    assert checked > 0


def test_mask_nearest_when_image_bilinear(pair_tree, tmp_path):
    src, masks = pair_tree
    dst = tmp_path / "out"
    run(src, masks, dst, "resized", resample="bilinear")
    source_mask = read_image(masks / "cats" / "a.png")
    image = load_manifest(dst)["images"][0]
    for crop in image["crops"]:
        box = box_from_record(crop)
        expected = source_mask.crop(box.bounds)
        expected = expected.resize(CROP, Image.Resampling.NEAREST)
        if box.flipped:
            expected = expected.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        written = np.asarray(read_image(tmp_path / "out_masks" / crop["mask"]))
        assert np.array_equal(written, np.asarray(expected)), crop
        assert set(np.unique(written)) <= {0, LABEL}


def test_mask_keeps_palette_and_transparency(pair_tree, tmp_path):
    src, masks = pair_tree
    run(src, masks, tmp_path / "out", "five")
    crop = read_image(tmp_path / "out_masks" / "cats" / "a_c04.png")
    assert crop.mode == "P"
    assert crop.getpalette()[: len(PALETTE)] == PALETTE
    assert crop.info["transparency"] == 0


def test_mask_sixteen_bit_labels_kept(tmp_path):
    src, masks = tmp_path / "src", tmp_path / "masks"
    write_pair(src, masks, "cats/a.png", "cats/a.png")
    labels = np.zeros((48, 64), dtype="<u2")
    labels[10:26, 20:36] = 1000
    Image.fromarray(labels).save(masks / "cats" / "a.png")
    run(src, masks, tmp_path / "out", "center")
    crop = read_image(tmp_path / "out_masks" / "cats" / "a_c00.png")
    assert crop.mode == "I;16"
    assert int(np.asarray(crop).max()) == 1000


def test_mask_manifest_records_paths(pair_tree, tmp_path):
    src, masks = pair_tree
    run(src, masks, tmp_path / "out", "five")
    manifest = load_manifest(tmp_path / "out")
    assert manifest["params"]["masks"] is True
    assert manifest["params"]["mask_out"] == "../out_masks"
    cats, dogs = manifest["images"]
    assert cats["mask_source"] == "cats/a.png"
    assert dogs["mask_source"] == "dogs/b.tif"
    assert cats["mask_mode"] == "P"
    assert [crop["mask"] for crop in dogs["crops"]][:2] == [
        "dogs/b_c00.png",
        "dogs/b_c01.png",
    ]


def test_mask_missing_fails_source(pair_tree, tmp_path):
    src, masks = pair_tree
    (masks / "cats" / "a.png").unlink()
    summary = run(src, masks, tmp_path / "out")
    assert summary.failed == [
        {"source": "cats/a.png", "error": "mask not found: MASK_ROOT/cats/a.*"}
    ]
    assert list((tmp_path / "out" / "cats").iterdir()) == []
    assert list((tmp_path / "out_masks" / "cats").iterdir()) == []


def test_mask_size_mismatch_fails_source(pair_tree, tmp_path):
    src, masks = pair_tree
    Image.new("L", (60, 48)).save(masks / "cats" / "a.png")
    summary = run(src, masks, tmp_path / "out")
    assert summary.failed == [
        {"source": "cats/a.png", "error": "mask is 60x48, image is 64x48"}
    ]


def test_mask_two_matches_fail_source(pair_tree, tmp_path):
    src, masks = pair_tree
    shutil.copy(masks / "cats" / "a.png", masks / "cats" / "a.tif")
    summary = run(src, masks, tmp_path / "out")
    assert summary.failed == [
        {
            "source": "cats/a.png",
            "error": "2 masks match MASK_ROOT/cats/a.*: a.png, a.tif; keep one",
        }
    ]


def test_mask_unsupported_mode_fails_source(tmp_path):
    src, masks = tmp_path / "src", tmp_path / "masks"
    (src / "cats").mkdir(parents=True)
    (masks / "cats").mkdir(parents=True)
    Image.new("RGB", (100, 100)).save(src / "cats" / "a.png")
    shutil.copy(ODD / "pil_sample_cmyk.jpg", masks / "cats" / "a.jpg")
    summary = run(src, masks, tmp_path / "out", "center")
    assert summary.failed == [
        {
            "source": "cats/a.png",
            "error": "mask cats/a.jpg has mode CMYK, which is not a label map; "
            "save masks as PNG in mode L, P or I;16",
        }
    ]


def test_mask_size_checked_after_orientation(tmp_path):
    # Stored 2x1 with EXIF orientation 8, so the upright image is 1x2.
    src, masks = tmp_path / "src", tmp_path / "masks"
    (src / "cats").mkdir(parents=True)
    (masks / "cats").mkdir(parents=True)
    shutil.copy(ODD / "orientation_rectangle.jpg", src / "cats" / "r.jpg")
    Image.new("L", (1, 2)).save(masks / "cats" / "r.png")
    summary = expand(
        src, tmp_path / "out", size=1, n=2, seed=0, workers=1, min_shift=1, masks=masks
    )
    assert summary.failed == []
    assert summary.crops == 2


def test_mask_workers_byte_identical(pair_tree, tmp_path):
    src, masks = pair_tree
    for workers in (1, 2):
        expand(
            src,
            tmp_path / f"out{workers}",
            size=CROP,
            n=4,
            seed=1,
            workers=workers,
            mode="resized",
            hflip=0.5,
            masks=masks,
        )
    for suffix in ("", "_masks"):
        one_worker = tmp_path / f"out1{suffix}"
        two_workers = tmp_path / f"out2{suffix}"
        files = sorted(
            path.relative_to(one_worker) for path in one_worker.rglob("*.png")
        )
        assert files
        assert files == sorted(
            path.relative_to(two_workers) for path in two_workers.rglob("*.png")
        )
        for path in files:
            assert (one_worker / path).read_bytes() == (
                two_workers / path
            ).read_bytes(), path


def test_mask_out_inside_dst_rejected(pair_tree, tmp_path):
    src, masks = pair_tree
    dst = tmp_path / "out"
    with pytest.raises(DestinationError, match="overlaps DST"):
        run(src, masks, dst, mask_out=dst / "masks")


def test_mask_root_inside_src_rejected(pair_tree, tmp_path):
    src, _ = pair_tree
    inner = src / "masks"
    write_pair(tmp_path / "unused", inner, "cats/a.png", "cats/a.png")
    with pytest.raises(DestinationError, match="where its folders would be read"):
        run(src, inner, tmp_path / "out")


def test_mask_out_not_empty_rejected(pair_tree, tmp_path):
    src, masks = pair_tree
    (tmp_path / "out_masks").mkdir()
    (tmp_path / "out_masks" / "notes.txt").write_text("keep")
    with pytest.raises(DestinationError, match="out_masks is not empty"):
        run(src, masks, tmp_path / "out")


def test_mask_out_of_other_run_kept_on_overwrite(pair_tree, tmp_path):
    src, masks = pair_tree
    (tmp_path / "out_masks").mkdir()
    (tmp_path / "out_masks" / "notes.txt").write_text("keep")
    run(src, masks, tmp_path / "out", mask_out=tmp_path / "elsewhere")
    with pytest.raises(DestinationError, match="no earlier run into"):
        run(src, masks, tmp_path / "out", overwrite=True)
    assert (tmp_path / "out_masks" / "notes.txt").exists()


def test_mask_out_replaced_on_overwrite(pair_tree, tmp_path):
    src, masks = pair_tree
    run(src, masks, tmp_path / "out", "ten")
    run(src, masks, tmp_path / "out", "center", overwrite=True)
    written = sorted(path.name for path in (tmp_path / "out_masks").rglob("*.png"))
    assert written == ["a_c00.png", "b_c00.png"]


def test_cli_masks_reports_failed_source(pair_tree, tmp_path):
    src, masks = pair_tree
    (masks / "dogs" / "b.tif").unlink()
    result = CliRunner().invoke(
        cli,
        [
            "expand", str(src), str(tmp_path / "out"), "--size", "16x12",
            "--mode", "five", "--seed", "0", "--workers", "1", "-q",
            "--masks", str(masks),
        ],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "failed: dogs/b.png: mask not found: MASK_ROOT/dogs/b.*" in result.output


def test_default_mask_out_beside_dst(tmp_path, monkeypatch):
    (tmp_path / "out").mkdir()
    monkeypatch.chdir(tmp_path / "out")
    root = tmp_path.resolve()
    assert default_mask_out(Path(".")) == root / "out_masks"
    assert default_mask_out(Path("sub")) == root / "out" / "sub_masks"
