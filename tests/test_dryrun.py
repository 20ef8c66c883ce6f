"""Dry runs: the report, nothing written, and how close the size estimate comes."""

import math
import os

import pytest
from click.testing import CliRunner
from expand_process import (
    SAMPLE_DATA,
    build_photo_tree,
    kill_group,
    progress_line_count,
    start_expand,
    tree_snapshot,
    wait_until,
)
from PIL import Image

from cropaug.cli import cli
from cropaug.dryrun import read_image_size
from cropaug.expansion import expand

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def small_tree(tmp_path):
    """Return SRC with a source of each kind a dry run reports."""
    src = tmp_path / "src"
    (src / "cats").mkdir(parents=True)
    (src / "dogs").mkdir()
    photo = Image.open(SAMPLE_DATA / "scenes" / "coffee.png").convert("RGB")
    photo.crop((0, 0, 64, 48)).save(src / "cats" / "big.png")
    photo.crop((100, 100, 125, 124)).save(src / "cats" / "clamp.png")
    photo.crop((0, 0, 40, 30)).save(src / "dogs" / "photo.jpg")
    photo.crop((0, 0, 20, 20)).save(src / "dogs" / "small.png")
    (src / "dogs" / "broken.png").write_bytes(b"not a png at all")
    (src / "notes.txt").write_text("a file outside the classes\n")
    return src


def invoke(src, dst, *options):
    arguments = ["expand", str(src), str(dst), "--size", "24", "--n", "3"]
    return CliRunner().invoke(cli, [*arguments, "--seed", "1", *options])


def test_dry_run_report_lines(small_tree, tmp_path):
    result = invoke(small_tree, tmp_path / "out", "--dry-run")

    assert result.exit_code == 0
    assert result.output.splitlines()[:-1] == [
        "dry run: nothing was written",
        "classes 2: cats, dogs",
        "sources 5: 3 to crop, 2 skipped, 1 failing",
        "crops to write: 7",
        "skipped 2:",
        "  dogs/small.png: image is 20x20, smaller than the 24x24 crop",
        "  notes.txt: not in a class folder",
        "clamped 1 (fewer crops than --n):",
        # Its two corners are one pixel apart, closer than --min-shift 2.
        "  cats/clamp.png: 2 crop positions, 1 with corners at least 2 pixels "
        "apart, writes 1 crop",
        "failing 1:",
        "  dogs/broken.png: not an image",
    ]
    assert result.output.splitlines()[-1].startswith("estimated size on disk: ")


def test_dry_run_writes_nothing(small_tree, tmp_path):
    dst = tmp_path / "out"

    invoke(small_tree, dst, "--dry-run")

    assert not dst.exists()


def test_dry_run_counts_match_real_run(small_tree, tmp_path):
    dry = expand(small_tree, tmp_path / "dry", size=24, n=3, seed=1, dry_run=True)
    real = expand(small_tree, tmp_path / "real", size=24, n=3, seed=1, workers=1)

    assert dry.images == real.images
    assert dry.crops == real.crops
    assert dry.skipped == real.skipped
    assert dry.clamped == real.clamped
    # A file whose header cannot be read fails in both, with one reason.
    assert dry.failed == real.failed


def size_on_disk(root, block):
    total = 0
    for folder, _, names in os.walk(root):
        for name in names:
            size = os.path.getsize(os.path.join(folder, name))
            total += math.ceil(size / block) * block
    return total


def test_dry_run_estimate_near_real_size(tmp_path):
    options = {"size": 96, "n": 4, "seed": 3}
    dry = expand(SAMPLE_DATA, tmp_path / "dry", dry_run=True, **options)
    expand(SAMPLE_DATA, tmp_path / "real", workers=1, **options)
    estimate = dry.dry_run.estimated_bytes

    actual = size_on_disk(tmp_path / "real", dry.dry_run.block_size)

    # Eight of the eleven sample photos are encoded; the rest are guessed.
    assert 0.75 * actual <= estimate <= 1.33 * actual


def test_read_image_size_applies_exif_orientation():
    path = (
        SAMPLE_DATA.parent / "tests" / "data" / "exif-orientation" / "Landscape_6.jpg"
    )
    with Image.open(path) as image:
        stored_width, stored_height = image.size

    width, height, source_format = read_image_size(path, max_pixels=10**9)

    assert (width, height) == (stored_height, stored_width)
    assert source_format == "JPEG"


def test_dry_run_resume_counts_done(tmp_path):
    photos = build_photo_tree(tmp_path / "photos", count=150)
    dst = tmp_path / "out"
    run = start_expand(photos, dst, "--workers", "1", log=tmp_path / "run.log")
    wait_until(lambda: progress_line_count(dst) >= 21, description="21 progress lines")
    assert run.poll() is None
    kill_group(run)
    done = progress_line_count(dst) - 1
    before = tree_snapshot(dst)

    arguments = ["expand", str(photos), str(dst), "--size", "24", "--n", "3"]
    result = CliRunner().invoke(
        cli, [*arguments, "--seed", "7", "--resume", "--dry-run"]
    )

    assert result.exit_code == 0
    assert (
        f"resume: {done} of 150 sources are already done and would be kept"
        in result.output.splitlines()
    )
    assert tree_snapshot(dst) == before


@pytest.mark.parametrize(
    "options",
    [
        {"mode": "resized", "n": 4, "min_shift": 6},
        {"mode": "center"},
        {"mode": "ten"},
        {"mode": "grid", "n": 5, "stride": 10},
        {"n": 3, "small": "pad"},
        {"n": 3, "small": "upscale", "resize": 20},
        {"n": 3, "small": "error", "hflip": 0.5},
    ],
    ids=["resized", "center", "ten", "grid", "pad", "upscale", "error"],
)
def test_dry_run_counts_match_real_run_per_mode(small_tree, tmp_path, options):
    common = {"size": 24, "seed": 1, **options}
    dry = expand(small_tree, tmp_path / "dry", dry_run=True, **common)
    real = expand(small_tree, tmp_path / "real", workers=1, **common)

    assert dry.images == real.images
    assert dry.crops == real.crops
    assert dry.skipped == real.skipped
    assert dry.clamped == real.clamped
    assert dry.failed == real.failed


def test_dry_run_shards_add_up(small_tree, tmp_path):
    options = {"size": 24, "n": 3, "seed": 1, "dry_run": True}
    whole = expand(small_tree, tmp_path / "out", **options)
    shards = [
        expand(small_tree, tmp_path / "out", shard=f"{index}/2", **options)
        for index in range(2)
    ]

    assert sum(shard.crops for shard in shards) == whole.crops
    assert sum(shard.dry_run.sources for shard in shards) == whole.dry_run.sources
