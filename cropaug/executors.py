"""Choose where crop jobs run: a local process pool or a Dask cluster."""

from collections.abc import Iterator, Sequence
from pathlib import Path

from cropaug import pool
from cropaug.crop import CropJob, CropSettings
from cropaug.errors import CropaugError

EXECUTORS = ("process", "dask")


def check_executor(executor: str) -> None:
    """Raise CropaugError when the packages an executor needs are not installed.

    Called before DST is touched, so a missing extra leaves no output behind.
    """
    if executor == "dask":
        from cropaug.dask_executor import import_distributed

        import_distributed()


def run_jobs(
    jobs: Sequence[CropJob],
    src: Path,
    dst: Path,
    settings: CropSettings,
    *,
    workers: int,
    progress: bool,
    executor: str = "process",
    scheduler: str | None = None,
) -> Iterator[dict]:
    """Crop every job on the chosen executor and yield each result record when ready.

    Every executor yields the progress lines of `crop_and_record` in
    completion order and shows one progress bar over images, so the caller
    records and logs the results the same way whichever runs them. Closing
    the iterator stops the work: the process pool terminates its workers and
    the Dask executor cancels the batches still queued.
    """
    if executor == "dask":
        from cropaug.dask_executor import run_dask_jobs

        return run_dask_jobs(
            jobs,
            src,
            dst,
            settings,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
        )
    if executor != "process":
        raise CropaugError(f"unknown executor {executor!r}; use one of {EXECUTORS}")
    return pool.run_jobs(jobs, src, dst, settings, workers, progress)
