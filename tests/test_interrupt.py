"""Send SIGINT and SIGTERM to real runs: exit status, leftover processes, resume."""

import contextlib
import os
import shlex
import signal
import subprocess
import sys

import pytest
from expand_process import (
    build_photo_tree,
    command_line,
    group_members,
    is_resource_tracker,
    kill_group,
    pause_env,
    progress_line_count,
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


def interrupt_mid_run(photos, dst, log, signal_number, whole_group, workers="2"):
    """Start a run, signal it after 30 sources, and return its exit status.

    Also returns the processes of the run still alive when the parent has
    exited, apart from the resource tracker, whose exit is waited for.
    `whole_group` sends the signal to the workers too, as Ctrl-C in a
    terminal does. Otherwise only the parent gets it, as from `kill PID`.
    """
    run = start_expand(photos, dst, "--workers", workers, log=log)
    wait_until(lambda: progress_line_count(dst) >= 30, description="30 progress lines")
    assert run.poll() is None, log.read_text()
    if workers == "2":
        # The parent and both workers, so the check below has processes to miss.
        assert len(group_members(run.pid)) >= 3
    if whole_group:
        os.killpg(run.pid, signal_number)
    else:
        os.kill(run.pid, signal_number)
    status = run.wait(timeout=60)
    # A worker killed by the parent can still be in the process table for a
    # moment after the parent exits, longer on a loaded machine.
    with contextlib.suppress(AssertionError):
        wait_until(lambda: not _workers_left(run.pid), timeout=5)
    leftover = _workers_left(run.pid)
    wait_until(
        lambda: not group_members(run.pid), timeout=10, description="tracker exit"
    )
    return status, leftover


def _workers_left(group_id: int) -> list[str]:
    """Return the command lines of the group's processes, tracker excepted.

    A process that exits between the two reads of /proc has an empty command
    line and is not counted.
    """
    left = []
    for pid in group_members(group_id):
        command = command_line(pid)
        if command and not is_resource_tracker(pid):
            left.append(f"{pid}: {command}")
    return left


def expected_message(photos, dst, signal_name, workers="2"):
    options = ["--size", "24", "--n", "3", "--seed", "7", "--workers", workers]
    command = shlex.join(
        ["cropaug", "expand", str(photos), str(dst), *options, "-q", "--resume"]
    )
    return [
        f"Interrupted by {signal_name}. DST contains a partial run; continue it with:",
        f"  {command}",
    ]


def test_sigint_to_group_exits_130(photos, tmp_path):
    dst, log = tmp_path / "out", tmp_path / "run.log"

    status, leftover = interrupt_mid_run(photos, dst, log, signal.SIGINT, True)

    assert status == 130
    assert leftover == []
    assert log.read_text().splitlines() == expected_message(photos, dst, "SIGINT")


def test_sigterm_to_parent_exits_143(photos, tmp_path):
    dst, log = tmp_path / "out", tmp_path / "run.log"

    status, leftover = interrupt_mid_run(photos, dst, log, signal.SIGTERM, False)

    assert status == 143
    assert leftover == []
    assert log.read_text().splitlines() == expected_message(photos, dst, "SIGTERM")


def test_sigint_in_process_run_exits_130(photos, tmp_path):
    dst, log = tmp_path / "out", tmp_path / "run.log"

    status, leftover = interrupt_mid_run(
        photos, dst, log, signal.SIGINT, False, workers="1"
    )

    assert status == 130
    assert leftover == []
    assert log.read_text().splitlines() == expected_message(
        photos, dst, "SIGINT", workers="1"
    )


def test_printed_resume_command_finishes_run(photos, clean_run, tmp_path):
    dst, log = tmp_path / "out", tmp_path / "run.log"
    interrupt_mid_run(photos, dst, log, signal.SIGINT, True)
    command = shlex.split(log.read_text().splitlines()[1])
    assert command[0] == "cropaug"

    completed = subprocess.run(
        [sys.executable, "-m", "cropaug", *command[1:]],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert completed.returncode == 0, completed.stderr
    assert tree_snapshot(dst) == clean_run
    assert temp_files(dst) == []


def test_sigint_during_manifest_write(photos, clean_run, tmp_path):
    dst, marker = tmp_path / "out", tmp_path / "paused"
    run = start_expand(
        photos,
        dst,
        "--workers",
        "1",
        log=tmp_path / "run.log",
        env=pause_env("before-rename:manifest.json", marker),
    )
    wait_until(lambda: marker.exists() or run.poll() is not None, description="pause")

    run.send_signal(signal.SIGINT)

    assert run.wait(timeout=60) == 130
    # The half-written manifest is removed; the progress file stays.
    assert temp_files(dst) == []
    assert not (dst / "manifest.json").exists()
    assert (dst / ".cropaug-progress.jsonl").exists()
    summary = expand(photos, dst, size=24, n=3, seed=7, workers=1, resume=True)
    assert summary.resumed_sources == 200
    assert tree_snapshot(dst) == clean_run


def test_killed_worker_stops_run(photos, clean_run, tmp_path):
    # A worker killed from outside, as the kernel's out-of-memory killer
    # does, takes the tasks it held with it. The run must stop and report it,
    # not wait for their results forever.
    dst, marker, log = tmp_path / "out", tmp_path / "paused", tmp_path / "run.log"
    run = start_expand(
        photos,
        dst,
        "--workers",
        "2",
        log=log,
        env=pause_env("before-crop:cats/img0000.png", marker),
    )
    try:
        wait_until(
            lambda: marker.exists() and marker.read_text().endswith("\n"),
            description="pause",
        )
        worker = int(marker.read_text())
        os.kill(worker, signal.SIGKILL)
        status = run.wait(timeout=60)
    finally:
        if run.poll() is None:
            kill_group(run)

    assert status == 1
    command = expected_message(photos, dst, "SIGKILL")[1].strip()
    assert log.read_text().splitlines() == [
        f"Error: worker process {worker} was killed by SIGKILL, which the kernel "
        "sends when memory runs out; if it did, use fewer workers. The run "
        f"stopped; continue it with: {command}"
    ]
    wait_until(lambda: not _workers_left(run.pid), timeout=10, description="exit")
    summary = expand(photos, dst, size=24, n=3, seed=7, workers=1, resume=True)
    assert summary.resumed_sources > 0
    assert tree_snapshot(dst) == clean_run
    assert temp_files(dst) == []
