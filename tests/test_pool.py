"""How the process pool starts and stops its workers.

Other tests leave threads behind in this process (a Dask client's, an S3
server's), and any thread rules out fork, so the forked cases run in a
fresh Python process of their own.
"""

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from conftest import SAMPLE_DATA, build_tree, tree_bytes

import cropaug
from cropaug.pool import start_method, task_sizes

REPOSITORY = Path(__file__).resolve().parent.parent

linux_only = pytest.mark.skipif(
    sys.platform != "linux", reason="workers are forked on Linux only"
)


def _run_python(code: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh Python process and return what it printed."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _in_thread(function):
    """Call `function` in a second thread and return its result."""
    results = []
    thread = threading.Thread(target=lambda: results.append(function()))
    thread.start()
    thread.join()
    return results[0]


@linux_only
def test_forks_when_no_other_thread_runs():
    completed = _run_python(
        """
        from cropaug.pool import start_method
        print(start_method())
        """
    )
    assert completed.stdout == "fork\n", completed.stderr


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

    forked = _run_python(
        f"""
        import cropaug
        from cropaug.pool import start_method
        print(start_method())
        cropaug.expand({str(src)!r}, {str(tmp_path / "forked")!r}, **{options!r})
        """
    )

    def spawned_run():
        cropaug.expand(src, tmp_path / "spawned", **options)
        return start_method()

    assert forked.stdout == "fork\n", forked.stderr
    assert _in_thread(spawned_run) == "spawn"
    forked_bytes = tree_bytes(tmp_path / "forked")
    assert len(forked_bytes) == 3 * 5 + 1
    assert forked_bytes == tree_bytes(tmp_path / "spawned")


@linux_only
def test_progress_bar_leaves_no_thread_behind():
    completed = _run_python(
        """
        import os, threading
        from cropaug.pool import run_tasks, start_method

        def worker_pid(item):
            return os.getpid()

        pids = list(run_tasks(worker_pid, (), range(4), 2, progress=True))
        print(len(pids), os.getpid() in pids, threading.active_count(), start_method())
        """
    )
    # A later run in the same process can fork its workers again.
    assert completed.stdout == "4 False 1 fork\n", completed.stderr


@linux_only
def test_closing_stops_forked_workers_quietly():
    # The CLI's signal handlers are installed while the workers start, as in
    # a run. A forked worker that kept them would raise in its handler when
    # the pool sends SIGTERM, and print a traceback.
    completed = _run_python(
        """
        import json, os, time
        from cropaug.interrupt import signals_interrupt_run
        from cropaug.pool import run_tasks, start_method

        def worker_pid(item):
            return os.getpid()

        with signals_interrupt_run():
            tasks = run_tasks(worker_pid, (), range(2), 2, progress=False)
            worker = next(tasks)
            # Both workers are now idle, waiting for a task that never comes.
            time.sleep(0.3)
            tasks.close()
        try:
            os.kill(worker, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        print(json.dumps([start_method(), worker != os.getpid(), alive]))
        """
    )
    assert json.loads(completed.stdout) == ["fork", True, False]
    assert completed.stderr == ""


@pytest.mark.parametrize("count", [0, 1, 15, 16, 17, 1000, 100_000])
@pytest.mark.parametrize("workers", [2, 3])
def test_task_sizes_shrink_toward_the_end(count, workers):
    sizes = list(task_sizes(count, workers))

    assert sum(sizes) == count
    assert all(1 <= size <= 16 for size in sizes)
    assert sizes == sorted(sizes, reverse=True)
    if count:
        # The last tasks hold one item each, so the workers finish together.
        assert sizes[-min(count, workers * 8) :] == [1] * min(count, workers * 8)


@linux_only
def test_fork_keeps_caller_frozen_objects():
    completed = _run_python(
        """
        import gc, os
        from cropaug.pool import run_tasks

        def worker_pid(item):
            return os.getpid()

        gc.freeze()
        frozen = gc.get_freeze_count()
        pids = list(run_tasks(worker_pid, (), range(4), 2, progress=False))
        print(frozen > 0, gc.get_freeze_count() >= frozen, os.getpid() in pids)
        """
    )
    assert completed.stdout == "True True False\n", completed.stderr
