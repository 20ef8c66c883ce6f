"""Run crop jobs in a process pool, with one progress bar in the parent."""

import logging
import multiprocessing
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from cropaug.crop import CropJob, CropSettings, crop_source

logger = logging.getLogger(__name__)

# Spawned workers start from a clean interpreter on every OS, so a run does not
# depend on what the parent process had imported or locked.
START_METHOD = "spawn"

_worker_context: tuple[Path, Path, CropSettings] | None = None


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
    bar = tqdm(total=len(jobs), unit="image", disable=not progress, file=sys.stderr)
    try:
        if workers == 1 or len(jobs) <= 1:
            for job in jobs:
                yield crop_source(src, dst, job, settings)
                bar.update()
            return

        context = multiprocessing.get_context(START_METHOD)
        pool = context.Pool(
            processes=min(workers, len(jobs)),
            initializer=_init_worker,
            initargs=(src, dst, settings),
        )
        try:
            for result in pool.imap_unordered(
                _run_job, jobs, chunksize=_chunk_size(len(jobs), workers)
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


def _init_worker(src: Path, dst: Path, settings: CropSettings) -> None:
    # The parent handles Ctrl-C and stops the pool; a worker that also saw the
    # signal would print its own traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _worker_context
    _worker_context = (src, dst, settings)


def _run_job(job: CropJob) -> dict:
    assert _worker_context is not None, "worker used before _init_worker ran"
    src, dst, settings = _worker_context
    return crop_source(src, dst, job, settings)
