"""Resume a shard run that was killed, and check the merge equals one clean run."""

import json

import pytest
from click.testing import CliRunner
from expand_process import (
    build_photo_tree,
    kill_group,
    pause_env,
    start_expand,
    tree_snapshot,
    wait_until,
)

from cropaug.cli import cli
from cropaug.expansion import expand

pytestmark = pytest.mark.timeout(120)

SOURCES = 30
RECORD = "_parts/part-0-of-1.progress.jsonl"
KEPT_LINES = 10


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return build_photo_tree(tmp_path_factory.mktemp("photos"), count=SOURCES)


@pytest.fixture(scope="module")
def clean_run(photos, tmp_path_factory):
    dst = tmp_path_factory.mktemp("clean") / "out"
    expand(photos, dst, size=24, n=3, seed=7, workers=1)
    return tree_snapshot(dst)


@pytest.fixture
def stopped_shard(photos, tmp_path):
    """Return DST of shard 0/1 killed with KEPT_LINES sources in its record.

    The run is killed just before its part file is renamed into place, and
    its record is then cut back, as a kill in mid-run leaves it.
    """
    dst = tmp_path / "out"
    marker = tmp_path / "paused"
    run = start_expand(
        photos,
        dst,
        "--workers",
        "1",
        "--shard",
        "0/1",
        log=tmp_path / "run.log",
        env=pause_env("before-rename:part-0-of-1.json", marker),
    )
    wait_until(lambda: marker.exists() or run.poll() is not None)
    assert run.poll() is None, (tmp_path / "run.log").read_text()
    kill_group(run)

    record = dst / RECORD
    lines = record.read_text(encoding="utf-8").splitlines(keepends=True)
    record.write_text("".join(lines[: 1 + KEPT_LINES]), encoding="utf-8")
    return dst


def first_crop(dst):
    record = (dst / RECORD).read_text(encoding="utf-8").splitlines()[1]
    return json.loads(record)["image"]["crops"][0]["path"]


def test_shard_resume_merges_like_clean_run(photos, clean_run, stopped_shard):
    dst = stopped_shard
    (dst / first_crop(dst)).unlink()

    summary = expand(
        photos, dst, size=24, n=3, seed=7, workers=1, shard="0/1", resume=True
    )
    merged = CliRunner().invoke(cli, ["merge", str(dst)])

    # The source whose crop was deleted is cropped again.
    assert summary.resumed_sources == KEPT_LINES - 1
    assert merged.exit_code == 0, merged.output
    assert tree_snapshot(dst) == clean_run


def test_shard_without_resume_starts_record_over(photos, clean_run, stopped_shard):
    dst = stopped_shard

    summary = expand(photos, dst, size=24, n=3, seed=7, workers=1, shard="0/1")
    merged = CliRunner().invoke(cli, ["merge", str(dst)])

    assert summary.resumed_sources == 0
    assert merged.exit_code == 0, merged.output
    assert tree_snapshot(dst) == clean_run


def test_shard_resume_rejects_other_seed(photos, stopped_shard):
    arguments = [str(photos), str(stopped_shard), "--size", "24", "--n", "3"]
    options = ["--seed", "8", "--shard", "0/1", "--resume"]
    result = CliRunner().invoke(cli, ["expand", *arguments, *options])

    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: DST {stopped_shard} contains a part of a run with other "
        "parameters (part-0-of-1.progress.jsonl has seed 7 instead of 8); pass "
        "the same options as the other shards, or choose another DST"
    )
