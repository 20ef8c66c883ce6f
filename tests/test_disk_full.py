"""Fill the disk or make DST read-only under a real run, then resume it.

These tests mount a small tmpfs and a read-only bind mount, which needs root
(or CAP_SYS_ADMIN). Without it they are skipped. Root ignores file
permissions, so a read-only mount is the way to make DST unwritable.
"""

import re
import subprocess

import pytest
from expand_process import (
    build_photo_tree,
    kill_group,
    progress_line_count,
    run_expand,
    start_expand,
    temp_files,
    tree_snapshot,
    wait_until,
)

from cropaug.expansion import expand

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    return build_photo_tree(tmp_path_factory.mktemp("photos"), count=200)


@pytest.fixture(scope="module")
def clean_run(photos, tmp_path_factory):
    dst = tmp_path_factory.mktemp("clean") / "out"
    expand(photos, dst, size=24, n=3, seed=7, workers=1)
    return tree_snapshot(dst)


def mount(*arguments: str) -> None:
    completed = subprocess.run(["mount", *arguments], capture_output=True, text=True)
    if completed.returncode != 0:
        pytest.skip(f"cannot mount here: {completed.stderr.strip()}")


@pytest.fixture
def small_disk(tmp_path):
    """Return an empty 1 MiB tmpfs, about a third of what the run writes."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder))
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_full_disk_stops_run_cleanly(photos, clean_run, small_disk):
    dst = small_disk / "out"

    completed = run_expand(photos, dst, "--workers", "2")

    assert completed.returncode == 1
    lines = completed.stderr.splitlines()
    assert len(lines) == 1
    assert re.fullmatch(
        rf"Error: cannot write {re.escape(str(dst))}/\S.*: No space left on device\. "
        r"The run stopped; once DST is writable again, continue it with: "
        rf"cropaug expand .* --resume",
        lines[0],
    )
    # Grow the file system, as freeing space would, and resume.
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
    resumed = run_expand(photos, dst, "--workers", "2", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert tree_snapshot(dst) == clean_run
    assert temp_files(dst) == []


def test_read_only_folder_stops_run(photos, clean_run, tmp_path):
    dst = tmp_path / "out"
    run = start_expand(photos, dst, "--workers", "1", log=tmp_path / "run.log")
    wait_until(lambda: progress_line_count(dst) >= 5, description="5 progress lines")
    kill_group(run)
    dogs = dst / "dogs"
    mount("--bind", str(dogs), str(dogs))
    try:
        mount("-o", "remount,bind,ro", str(dogs))
        completed = run_expand(photos, dst, "--workers", "1", "--resume")
    finally:
        subprocess.run(["umount", str(dogs)], check=True)

    assert completed.returncode == 1
    assert completed.stderr.startswith(
        f"Error: cannot write {dogs}/img0001_c00.jpg: Read-only file system. "
    )
    resumed = run_expand(photos, dst, "--workers", "1", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert tree_snapshot(dst) == clean_run
