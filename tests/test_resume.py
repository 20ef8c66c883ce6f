"""Kill real runs at chosen points, resume them, and compare with one clean run."""

import json
import os
import random
import shutil
import signal

import numpy as np
import pytest
from click.testing import CliRunner
from expand_process import (
    build_photo_tree,
    group_members,
    kill_group,
    pause_env,
    progress_line_count,
    run_expand,
    start_expand,
    temp_files,
    tree_snapshot,
    wait_until,
)
from PIL import Image

from cropaug.cli import cli
from cropaug.expansion import expand

pytestmark = pytest.mark.timeout(120)

PROGRESS = ".cropaug-progress.jsonl"
SOURCES = 200


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return build_photo_tree(tmp_path_factory.mktemp("photos"), count=SOURCES)


@pytest.fixture(scope="module")
def clean_run(photos, tmp_path_factory):
    """Return the snapshot of one uninterrupted run over `photos`."""
    dst = tmp_path_factory.mktemp("clean") / "out"
    expand_in_process(photos, dst)
    return tree_snapshot(dst)


@pytest.fixture(scope="module")
def killed_before_cleanup(photos, tmp_path_factory):
    """Return a DST whose run was killed after its manifest, before cleaning up."""
    folder = tmp_path_factory.mktemp("killed")
    dst = folder / "out"
    kill_at_pause(photos, dst, folder, f"before-remove:{PROGRESS}")
    return dst


@pytest.fixture
def interrupted(killed_before_cleanup, tmp_path):
    """Return a copy of `killed_before_cleanup` for one test to change."""
    return shutil.copytree(killed_before_cleanup, tmp_path / "out")


def expand_in_process(src, dst, **options):
    return expand(src, dst, size=24, n=3, seed=7, workers=1, **options)


def kill_at_line(photos, dst, tmp_path, lines: int, *options: str) -> None:
    """Start a run and SIGKILL it, workers included, once it has `lines` lines."""
    run = start_expand(photos, dst, *options, log=tmp_path / "run.log")
    wait_until(
        lambda: progress_line_count(dst) >= lines or run.poll() is not None,
        description=f"{lines} progress lines",
    )
    assert run.poll() is None, (tmp_path / "run.log").read_text()
    kill_group(run)


def kill_at_pause(photos, dst, tmp_path, point: str) -> None:
    """Start a run that pauses at a test hook point, and SIGKILL it there."""
    marker = tmp_path / "paused"
    run = start_expand(
        photos,
        dst,
        "--workers",
        "1",
        log=tmp_path / "run.log",
        env=pause_env(point, marker),
    )
    wait_until(
        lambda: marker.exists() or run.poll() is not None,
        description=f"pause at {point}",
    )
    assert run.poll() is None, (tmp_path / "run.log").read_text()
    kill_group(run)


def test_resume_after_kill_before_any_source(photos, clean_run, tmp_path):
    dst = tmp_path / "out"
    kill_at_line(photos, dst, tmp_path, 1, "--workers", "2")

    completed = run_expand(photos, dst, "--workers", "2", "--resume")

    assert completed.returncode == 0, completed.stderr
    assert tree_snapshot(dst) == clean_run
    assert temp_files(dst) == []


def test_resume_after_kill_mid_run(photos, clean_run, tmp_path):
    dst = tmp_path / "out"
    kill_at_line(photos, dst, tmp_path, 100, "--workers", "2")

    summary = expand_in_process(photos, dst, resume=True)

    assert summary.resumed_sources >= 99
    assert tree_snapshot(dst) == clean_run
    assert temp_files(dst) == []


@pytest.mark.parametrize(
    "point",
    ["before-rename:manifest.json", f"before-remove:{PROGRESS}"],
    ids=["during-manifest-write", "before-progress-removal"],
)
def test_resume_after_kill_at_finish(photos, clean_run, tmp_path, point):
    dst = tmp_path / "out"
    kill_at_pause(photos, dst, tmp_path, point)
    assert (dst / PROGRESS).exists()

    summary = expand_in_process(photos, dst, resume=True)

    assert summary.resumed_sources == SOURCES
    assert tree_snapshot(dst) == clean_run
    assert temp_files(dst) == []


def test_resume_after_torn_last_line(photos, clean_run, tmp_path):
    dst = tmp_path / "out"
    kill_at_line(photos, dst, tmp_path, 60, "--workers", "1")
    progress = dst / PROGRESS
    lines = progress.read_bytes().split(b"\n")
    # Cut the last whole line in half, as a kill during its write would.
    last = lines[-2]
    progress.write_bytes(b"\n".join(lines[:-2]) + b"\n" + last[: len(last) // 2])

    expand_in_process(photos, dst, resume=True)

    assert tree_snapshot(dst) == clean_run


def test_resume_after_repeated_random_kills(photos, clean_run, tmp_path):
    dst = tmp_path / "out"
    # Kill points stay well before the end, so no run finishes before its kill.
    first, second, third = sorted(random.Random(4).sample(range(2, 150), 3))
    kill_at_line(photos, dst, tmp_path, first, "--workers", "1")
    kill_at_line(photos, dst, tmp_path, second, "--workers", "2", "--resume")
    kill_at_line(photos, dst, tmp_path, third, "--workers", "1", "--resume")

    expand_in_process(photos, dst, resume=True)

    assert tree_snapshot(dst) == clean_run
    assert temp_files(dst) == []


def test_resume_after_parent_killed_alone(photos, clean_run, tmp_path):
    dst = tmp_path / "out"
    run = start_expand(photos, dst, "--workers", "2", log=tmp_path / "run.log")
    wait_until(lambda: progress_line_count(dst) >= 40, description="40 progress lines")
    os.kill(run.pid, signal.SIGKILL)
    run.wait(timeout=30)
    # Orphaned workers notice that the parent is gone before their next image.
    wait_until(lambda: not group_members(run.pid), timeout=30, description="orphans")

    expand_in_process(photos, dst, resume=True)

    assert tree_snapshot(dst) == clean_run


def test_resume_finished_run_does_nothing(photos, clean_run, tmp_path):
    dst = tmp_path / "out"
    expand_in_process(photos, dst)

    result = CliRunner().invoke(
        cli, ["expand", str(photos), str(dst), "--size", "24", "--n", "3", "--resume"]
    )

    assert result.exit_code == 0
    assert result.output.splitlines()[0] == (
        f"{dst} already contains this finished run; nothing to do"
    )
    assert tree_snapshot(dst) == clean_run


def test_resume_finished_run_with_missing_crop(photos, tmp_path):
    dst = tmp_path / "out"
    expand_in_process(photos, dst)
    (dst / "cats" / "img0003_c01.jpg").unlink()

    result = CliRunner().invoke(
        cli, ["expand", str(photos), str(dst), "--size", "24", "--n", "3", "--resume"]
    )

    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: {dst}/manifest.json lists 1 crops that are missing, such as "
        "cats/img0003_c01.jpg; pass --overwrite instead of --resume to rebuild DST"
    )


def test_resume_empty_destination_starts_new_run(photos, clean_run, tmp_path):
    dst = tmp_path / "out"

    summary = expand_in_process(photos, dst, resume=True)

    assert summary.resumed_sources == 0
    assert tree_snapshot(dst) == clean_run


def test_resume_redoes_deleted_and_truncated_crops(photos, clean_run, interrupted):
    (interrupted / "dogs" / "img0001_c02.jpg").unlink()
    truncated = interrupted / "birds" / "img0002_c00.png"
    truncated.write_bytes(truncated.read_bytes()[:100])

    summary = expand_in_process(photos, interrupted, resume=True)

    assert summary.resumed_sources == SOURCES - 2
    assert tree_snapshot(interrupted) == clean_run


def test_resume_follows_changed_and_removed_sources(photos, tmp_path):
    own = shutil.copytree(photos, tmp_path / "photos")
    dst = tmp_path / "out"
    kill_at_pause(own, dst, tmp_path, f"before-remove:{PROGRESS}")
    changed = own / "cats" / "img0000.png"
    changed.write_bytes((own / "cats" / "img0006.png").read_bytes())
    (own / "dogs" / "img0001.jpg").unlink()
    expand_in_process(own, tmp_path / "reference")

    summary = expand_in_process(own, dst, resume=True)

    assert summary.resumed_sources == SOURCES - 2
    assert not (dst / "dogs" / "img0001_c00.jpg").exists()
    assert tree_snapshot(dst) == tree_snapshot(tmp_path / "reference")


def test_resume_reuses_earlier_seed(photos, clean_run, interrupted):
    summary = expand(photos, interrupted, size=24, n=3, workers=1, resume=True)

    assert summary.seed == 7
    assert tree_snapshot(interrupted) == clean_run


def invoke_expand(src, dst, *options):
    arguments = ["expand", str(src), str(dst), "--size", "24", "--n", "3"]
    return CliRunner().invoke(cli, [*arguments, "--seed", "7", *options])


def test_resume_rejects_other_options(photos, interrupted):
    result = invoke_expand(photos, interrupted, "--resume", "--quality", "80")

    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: cannot resume: the run in DST {interrupted} used other options. "
        "--quality: 80 (earlier run: 95). Rerun with the earlier options, or use "
        "--overwrite instead of --resume to start over"
    )


def test_resume_rejects_other_size_and_folder(photos, tmp_path, interrupted):
    other = shutil.copytree(photos, tmp_path / "other")

    arguments = ["expand", str(other), str(interrupted), "--size", "32x24"]
    result = CliRunner().invoke(
        cli, [*arguments, "--n", "3", "--resume", "--follow-symlinks"]
    )

    assert result.exit_code == 1
    message = result.output.splitlines()[-1]
    assert "--size: 32x24 (earlier run: 24x24)" in message
    assert f"SRC: {other.resolve()} (earlier run: {photos.resolve()})" in message
    assert "--follow-symlinks: on (earlier run: off)" in message


def test_run_without_resume_rejects_interrupted_destination(photos, interrupted):
    result = invoke_expand(photos, interrupted)

    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: DST {interrupted} contains an interrupted run; pass --resume to "
        "continue it, or --overwrite to start over"
    )


def test_resume_with_overwrite_rejected(photos, tmp_path):
    result = invoke_expand(photos, tmp_path / "out", "--resume", "--overwrite")

    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: --resume and --overwrite cannot be combined: --resume continues "
        "the run in DST, --overwrite replaces it"
    )


def test_overwrite_replaces_interrupted_run(photos, clean_run, interrupted):
    summary = expand_in_process(photos, interrupted, overwrite=True)

    assert summary.resumed_sources == 0
    assert tree_snapshot(interrupted) == clean_run


def build_mask_tree(root):
    """Write eight gray images with a label mask each; return SRC and MASK_ROOT."""
    src, masks = root / "src", root / "masks"
    for index in range(8):
        relative = f"{('cats', 'dogs')[index % 2]}/img{index}.png"
        pixels = np.full((48, 64), 30 * index, dtype=np.uint8)
        labels = np.zeros((48, 64), dtype=np.uint8)
        labels[10 : 20 + index, 5 : 30 + index] = index + 1
        for folder, array in ((src, pixels), (masks, labels)):
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(array).save(folder / relative)
    return src, masks


def test_resume_with_masks_matches_clean_run(tmp_path):
    src, masks = build_mask_tree(tmp_path)
    # The manifest records MASK_OUT relative to DST, so both DSTs are "out".
    clean_dst = tmp_path / "clean" / "out"
    expand(src, clean_dst, size=24, n=3, seed=7, workers=1, masks=masks)
    clean = tree_snapshot(clean_dst), tree_snapshot(tmp_path / "clean" / "out_masks")
    dst = tmp_path / "out"
    marker = tmp_path / "paused"
    run = start_expand(
        src,
        dst,
        "--workers",
        "1",
        "--masks",
        str(masks),
        log=tmp_path / "run.log",
        env=pause_env(f"before-remove:{PROGRESS}", marker),
    )
    wait_until(lambda: marker.exists() or run.poll() is not None)
    assert run.poll() is None, (tmp_path / "run.log").read_text()
    kill_group(run)
    # Keep three sources, as a kill in mid-run would, and lose a mask crop of
    # the first, which must then be cropped again.
    lines = (dst / PROGRESS).read_text(encoding="utf-8").splitlines(keepends=True)
    (dst / PROGRESS).write_text("".join(lines[:4]), encoding="utf-8")
    first_mask = json.loads(lines[1])["image"]["crops"][0]["mask"]
    (tmp_path / "out_masks" / first_mask).unlink()

    summary = expand(
        src, dst, size=24, n=3, seed=7, workers=1, masks=masks, resume=True
    )

    assert summary.resumed_sources == 2
    assert tree_snapshot(dst) == clean[0]
    assert tree_snapshot(tmp_path / "out_masks") == clean[1]
