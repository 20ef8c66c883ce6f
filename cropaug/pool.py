"""Run crop jobs in a process pool, with one progress bar in the parent."""

import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from cropaug.crop import CropJob, CropSettings
from cropaug.progress import crop_and_record

logger = logging.getLogger(__name__)

# Spawned workers start from a clean interpreter on every OS, so a run does not
# depend on what the parent process had imported or locked.
START_METHOD = "spawn"

_worker_context: tuple[Path, Path, CropSettings] | None = None
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
    bar = tqdm(total=len(jobs), unit="image", disable=not progress, file=sys.stderr)
    try:
        if workers == 1 or len(jobs) <= 1:
            for job in jobs:
                yield crop_and_record(src, dst, job, settings)
                bar.update()
            return

        context = multiprocessing.get_context(START_METHOD)
        with _sigint_ignored():
            # Spawned workers inherit an ignored SIGINT from the moment they
            # start, so a Ctrl-C while they import modules prints nothing.
            pool = context.Pool(
                processes=min(workers, len(jobs)),
                initializer=_init_worker,
                initargs=(src, dst, settings, os.getpid()),
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


def _init_worker(src: Path, dst: Path, settings: CropSettings, parent_pid: int) -> None:
    # The parent handles Ctrl-C and stops the pool; a worker that also saw the
    # signal would print its own traceback. SIGTERM keeps its default action,
    # so the parent's terminate() ends a worker at once, even in mid-encode.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    global _worker_context, _parent_pid
    _worker_context = (src, dst, settings)
    _parent_pid = parent_pid


def _run_job(job: CropJob) -> dict:
    assert _worker_context is not None, "worker used before _init_worker ran"
    if os.getppid() != _parent_pid:
        # The parent was killed. The jobs still queued in the pipe would keep
        # this orphan writing into DST, possibly while a resumed run cleans it.
        os._exit(1)
    src, dst, settings = _worker_context
    return crop_and_record(src, dst, job, settings)
