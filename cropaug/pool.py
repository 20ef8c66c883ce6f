"""Run crop jobs, or any per-image task, in a process pool with one progress bar."""

import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from cropaug.crop import CropJob, CropSettings
from cropaug.progress import crop_and_record

logger = logging.getLogger(__name__)

# Spawned workers start from a clean interpreter on every OS, so a run does not
# depend on what the parent process had imported or locked.
START_METHOD = "spawn"

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
    """
    bar = tqdm(
        total=len(items),
        desc=description,
        unit="image",
        disable=not progress,
        file=sys.stderr,
    )
    try:
        if workers == 1 or len(items) <= 1:
            for item in items:
                yield function(*shared, item)
                bar.update()
            return

        context = multiprocessing.get_context(START_METHOD)
        with _sigint_ignored():
            # Spawned workers inherit an ignored SIGINT from the moment they
            # start, so a Ctrl-C while they import modules prints nothing.
            pool = context.Pool(
                processes=min(workers, len(items)),
                initializer=_init_worker,
                initargs=(function, shared, os.getpid()),
            )
        try:
            for result in pool.imap_unordered(
                _run_task, items, chunksize=_chunk_size(len(items), workers)
            ):
                yield result
                bar.update()
            pool.close()
        finally:
            pool.terminate()
            pool.join()
    finally:
        bar.close()


def _chunk_size(job_count: int, workers: int) -> int:
    # About eight chunks per worker balances the load while keeping the
    # per-task overhead small; one image is some 10-100 ms of work.
    return max(1, min(16, job_count // (workers * 8)))


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
    # signal would print its own traceback. SIGTERM keeps its default action,
    # so the parent's terminate() ends a worker at once, even in mid-encode.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _worker_task, _parent_pid
    _worker_task = (function, shared)
    _parent_pid = parent_pid


def _run_task(item):
    assert _worker_task is not None, "worker used before _init_worker ran"
    if os.getppid() != _parent_pid:
        # The parent was killed. The jobs still queued in the pipe would keep
        # this orphan writing into DST, possibly while a resumed run cleans it.
        os._exit(1)
    function, shared = _worker_task
    return function(*shared, item)


def _crop_job(src: Path, dst: Path, settings: CropSettings, job: CropJob) -> dict:
    return crop_and_record(src, dst, job, settings)
