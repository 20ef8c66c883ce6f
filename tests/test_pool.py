"""How the process pool starts and stops its workers."""

import os
import sys
import threading
import time

import pytest
from conftest import SAMPLE_DATA, build_tree, tree_bytes

import cropaug
from cropaug.interrupt import signals_interrupt_run
from cropaug.pool import run_tasks, start_method

linux_only = pytest.mark.skipif(
    sys.platform != "linux", reason="workers are forked on Linux only"
)


def _worker_pid(delay: float, item: int) -> int:
    time.sleep(delay)
    return os.getpid()


def _in_thread(function):
    """Call `function` in a second thread and return its result."""
    results = []
    thread = threading.Thread(target=lambda: results.append(function()))
    thread.start()
    thread.join()
    return results[0]


@linux_only
def test_forks_when_no_other_thread_runs():
    assert threading.active_count() == 1
    assert start_method() == "fork"


def test_spawns_beside_another_thread():
    assert _in_thread(start_method) == "spawn"


@linux_only
def test_forked_and_spawned_workers_write_same_bytes(tmp_path):
    src = build_tree(
        tmp_path / "src",
        {
            "scenes/rocket.jpg": SAMPLE_DATA / "scenes" / "rocket.jpg",
            "scenes/chelsea.png": SAMPLE_DATA / "scenes" / "chelsea.png",
            "textures/brick.png": SAMPLE_DATA / "textures" / "brick.png",
        },
    )
    options = {"size": (48, 40), "n": 5, "seed": 3, "workers": 2}

    def run(name):
        cropaug.expand(src, tmp_path / name, **options)
        return start_method()

    assert run("forked") == "fork"
    assert _in_thread(lambda: run("spawned")) == "spawn"
    forked, spawned = tree_bytes(tmp_path / "forked"), tree_bytes(tmp_path / "spawned")
    assert len(forked) == 3 * 5 + 1
    assert forked == spawned


@linux_only
def test_progress_bar_leaves_no_thread_behind():
    results = list(run_tasks(_worker_pid, (0.0,), range(4), 2, progress=True))

    assert len(results) == 4
    assert os.getpid() not in results
    # A later run in this process can fork again.
    assert threading.active_count() == 1


def test_closing_stops_workers_quietly(capfd):
    # The CLI's signal handlers are installed while the workers start, as in
    # a run; a forked worker must not inherit them, or the pool's SIGTERM
    # would raise in the worker and print a traceback.
    with signals_interrupt_run():
        tasks = run_tasks(_worker_pid, (0.0,), range(2), 2, progress=False)
        first = next(tasks)
        # Both workers are now idle, waiting for a task that never comes.
        time.sleep(0.3)
        tasks.close()

    assert first != os.getpid()
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)
    assert capfd.readouterr().err == ""
