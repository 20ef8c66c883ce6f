"""Run crop jobs, or any per-image task, in a process pool with one progress bar.

Workers start by fork on Linux when the calling process runs no other
Python thread. A forked worker is ready in milliseconds and shares the
modules the parent has imported. A spawned one spends some 0.3-0.5 s of CPU
(measured on the benchmark machine of docs/benchmarks.md) importing numpy,
Pillow and cropaug again, once per run, which matters for short runs only.
Everywhere else, and beside other threads, workers are spawned from a clean
interpreter, because another thread might hold a lock at the fork that the
worker's copy could never release. Nothing a worker writes depends on how
it started.
"""

import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from cropaug.crop import CropJob, CropSettings
from cropaug.errors import BrokenPoolError
from cropaug.jpeg import reuse_decode_buffer
from cropaug.progress import crop_and_record

logger = logging.getLogger(__name__)

# How often a run whose results have stopped coming checks its workers.
_WORKER_CHECK_SECONDS = 1.0

_worker_task: tuple[Callable, tuple] | None = None
_parent_pid: int | None = None


def run_jobs(
    jobs: Sequence[CropJob],
    src: Path,
    dst: Path,
    settings: CropSettings,
    workers: int,
    progress: bool,
) -> Iterator[dict]:
    """Crop every job and yield its progress line as soon as it is ready.

    Results arrive in completion order, which varies from run to run; nothing
    a job writes depends on that order. With one worker the jobs run in this
    process. Closing the generator, or an exception such as RunInterrupted
    while it waits, terminates the workers, including one in mid-encode, and
    waits for them to exit.
    """
    yield from run_tasks(_crop_job, (src, dst, settings), jobs, workers, progress)


def run_tasks(
    function: Callable,
    shared: tuple,
    items: Sequence,
    workers: int,
    progress: bool,
    description: str | None = None,
) -> Iterator:
    """Call `function(*shared, item)` for every item and yield each result when ready.

    `function` must be a module-level function so that spawned workers can
    import it; `shared` is sent to each worker once. Results arrive in
    completion order. With one worker, or one item, the calls run in this
    process. `description` labels the progress bar. Closing the generator
    terminates the workers and waits for them to exit.

    The calls of one process decode their JPEGs into one reused buffer
    (`jpeg.reuse_decode_buffer`), so no call may keep decoded pixels past
    its return.

    Raises:
        BrokenPoolError: when a worker process exits before every result
            has arrived, as one killed by a signal does.
    """
    if workers == 1 or len(items) <= 1:
        # Each call finishes with its image before the next one starts.
        reused = reuse_decode_buffer(True)
        try:
            with _progress_bar(len(items), description, progress) as bar:
                for item in items:
                    yield function(*shared, item)
                    bar.update()
        finally:
            reuse_decode_buffer(reused)
        return

    # The pool starts before the bar, whose refresh thread would rule out fork.
    pool = _start_pool(function, shared, min(workers, len(items)))
    try:
        with _progress_bar(len(items), description, progress) as bar:
            tasks = _cut_tasks(items, task_sizes(len(items), workers))
            results = pool.imap_unordered(_run_task, tasks)
            for task_results in _checked_results(results, pool):
                for result in task_results:
                    yield result
                    bar.update()
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _checked_results(results, pool) -> Iterator:
    """Yield from a pool's result iterator, raising when one of its workers exits.

    multiprocessing.Pool replaces a worker that a signal killed, but not the
    tasks that worker held, so the iterator would wait for them forever.
    Workers exit only when the pool closes, so any exit before the last
    result is a failure.
    """
    # NOTE: Pool has no public list of its workers, so this reads the private
    # `_pool` (CPython 3.11 to 3.13). The first worker to exit is one of
    # these, because the pool starts a replacement only after an exit.
    started = list(pool._pool)
    while True:
        try:
            yield results.next(timeout=_WORKER_CHECK_SECONDS)
        except StopIteration:
            return
        except multiprocessing.TimeoutError:
            for worker in started:
                if worker.exitcode is not None:
                    raise BrokenPoolError(_describe_exit(worker)) from None


def _describe_exit(worker) -> str:
    if worker.exitcode >= 0:
        return (
            f"worker process {worker.pid} exited with status {worker.exitcode} "
            "before its tasks finished"
        )
    name = signal.Signals(-worker.exitcode).name
    message = f"worker process {worker.pid} was killed by {name}"
    if name == "SIGKILL":
        message += (
            ", which the kernel sends when memory runs out; if it did, use "
            "fewer workers"
        )
    return message


def _progress_bar(total: int, description: str | None, progress: bool):
    # Imported here: workers import this module and draw no bar.
    from tqdm import tqdm

    class Bar(tqdm):
        # tqdm's refresh thread would outlive the bar and keep later runs in
        # this process from forking their workers.
        monitor_interval = 0

    return Bar(
        total=total,
        desc=description,
        unit="image",
        disable=not progress,
        file=sys.stderr,
    )


def start_method() -> str:
    """Return how `run_tasks` starts its workers now: "fork" or "spawn"."""
    if sys.platform == "linux" and threading.active_count() == 1:
        return "fork"
    return "spawn"


def _start_pool(function: Callable, shared: tuple, processes: int):
    method = start_method()
    context = multiprocessing.get_context(method)
    arguments = {
        "processes": processes,
        "initializer": _init_worker,
        "initargs": (function, shared, os.getpid()),
    }
    if method == "spawn":
        with _sigint_ignored():
            # Spawned workers inherit an ignored SIGINT from the moment they
            # start, so a Ctrl-C while they import modules prints nothing.
            return context.Pool(**arguments)
    # A forked worker starts with the parent's signal handlers, which raise
    # in the parent's interrupt handling. Blocking both signals in this
    # thread makes each worker start with them blocked until _init_worker
    # restores the default actions. The parent itself may still take one
    # meanwhile through a native thread, such as OpenBLAS's, and then raises
    # RunInterrupted out of Pool(). The workers already forked are daemons,
    # so multiprocessing ends them at exit.
    blocked = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    # Frozen objects are left out of garbage collection, which would
    # otherwise write to, and so copy, every page of objects the worker
    # shares with the parent. When the caller had frozen objects itself,
    # everything stays frozen, because unfreeze() would thaw theirs too.
    frozen_before = gc.get_freeze_count() > 0
    gc.freeze()
    try:
        return context.Pool(**arguments)
    finally:
        if not frozen_before:
            gc.unfreeze()
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def task_sizes(count: int, workers: int) -> Iterator[int]:
    """Yield how many items each pool task takes, in order, summing to `count`.

    A task takes an eighth of a worker's share of the items left, and at
    most 16. Tasks therefore shrink toward the end of the run, and the
    workers finish within about one small task of each other. Early tasks
    are large enough that handing one over, a fraction of a millisecond,
    costs little beside its 10-1,000 ms of work.
    """
    left = count
    while left > 0:
        size = max(1, min(16, left // (workers * 8)))
        yield size
        left -= size


def _cut_tasks(items: Sequence, sizes: Iterator[int]) -> Iterator[list]:
    start = 0
    for size in sizes:
        yield [items[index] for index in range(start, start + size)]
        start += size


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT in the main thread for the duration of the block.

    A SIGINT that arrives meanwhile is lost. The block only starts processes,
    which takes milliseconds.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _init_worker(function: Callable, shared: tuple, parent_pid: int) -> None:
    # The parent handles Ctrl-C and stops the pool; a worker that also saw the
    # signal would print its own traceback. SIGTERM gets its default action,
    # so the parent's terminate() ends a worker at once, even in mid-encode.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    global _worker_task, _parent_pid
    _worker_task = (function, shared)
    _parent_pid = parent_pid
    # A worker runs one call at a time until it exits.
    reuse_decode_buffer(True)


def _run_task(items: list) -> list:
    assert _worker_task is not None, "worker used before _init_worker ran"
    function, shared = _worker_task
    results = []
    for item in items:
        if os.getppid() != _parent_pid:
            # The parent was killed. The items still queued would keep this
            # orphan writing into DST, possibly while a resumed run cleans it.
            os._exit(1)
        results.append(function(*shared, item))
    return results


def _crop_job(src: Path, dst: Path, settings: CropSettings, job: CropJob) -> dict:
    return crop_and_record(src, dst, job, settings)
