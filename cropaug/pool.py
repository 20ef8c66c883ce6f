"""Run crop jobs, or any per-image task, in a process pool with one progress bar."""

import logging
import multiprocessing
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from tqdm import tqdm

from cropaug.crop import CropJob, CropSettings, crop_source

logger = logging.getLogger(__name__)

# Spawned workers start from a clean interpreter on every OS, so a run does not
# depend on what the parent process had imported or locked.
START_METHOD = "spawn"

_worker_task: tuple[Callable, tuple] | None = None


def run_jobs(
    jobs: list[CropJob],
    src: Path,
    dst: Path,
    settings: CropSettings,
    workers: int,
    progress: bool,
) -> Iterator[dict]:
    """Crop every job and yield each result record as soon as it is ready.

    Results arrive in completion order, which varies from run to run; nothing
    a job writes depends on that order. With one worker the jobs run in this
    process.
    """
    yield from run_tasks(_crop_job, (src, dst, settings), jobs, workers, progress)


def run_tasks(
    function: Callable,
    shared: tuple,
    items: list,
    workers: int,
    progress: bool,
    description: str | None = None,
) -> Iterator:
    """Call `function(*shared, item)` for every item and yield each result when ready.

    `function` must be a module-level function so that spawned workers can
    import it; `shared` is sent to each worker once. Results arrive in
    completion order. With one worker, or one item, the calls run in this
    process. `description` labels the progress bar.
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
        pool = context.Pool(
            processes=min(workers, len(items)),
            initializer=_init_worker,
            initargs=(function, shared),
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


def _init_worker(function: Callable, shared: tuple) -> None:
    # The parent handles Ctrl-C and stops the pool; a worker that also saw the
    # signal would print its own traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _worker_task
    _worker_task = (function, shared)


def _run_task(item):
    assert _worker_task is not None, "worker used before _init_worker ran"
    function, shared = _worker_task
    return function(*shared, item)


def _crop_job(src: Path, dst: Path, settings: CropSettings, job: CropJob) -> dict:
    return crop_source(src, dst, job, settings)
