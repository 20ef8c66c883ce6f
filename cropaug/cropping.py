"""Crop a run's jobs on its executor and append each source's progress line."""

import logging
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

from cropaug.crop import CropJob, CropSettings
from cropaug.discover import Source
from cropaug.executors import run_jobs
from cropaug.modes import describe_shortfall
from cropaug.progress import ProgressLog

logger = logging.getLogger(__name__)


class JobList(Sequence):
    """The crop jobs of `sources`, made one at a time as the executor takes them.

    A list of CropJob objects would cost the parent some 200 bytes per source
    for the whole run.
    """

    def __init__(self, sources: list[Source], stems: dict[str, str]):
        self._sources = sources
        self._stems = stems

    def __len__(self) -> int:
        return len(self._sources)

    def __getitem__(self, index: int) -> CropJob:
        source = self._sources[index]
        return CropJob(source.path, source.class_name, self._stems[source.path])


def crop_jobs(
    jobs: Sequence[CropJob],
    src: Path,
    dst: Path,
    settings: CropSettings,
    log: ProgressLog,
    *,
    workers: int,
    progress: bool,
    executor: str,
    scheduler: str | None,
) -> None:
    """Crop every job and append its progress line to `log`, which is then closed.

    An exception, RunInterrupted included, stops the executor before it
    propagates, so no worker keeps writing into DST.
    """
    try:
        results = run_jobs(
            jobs,
            src,
            dst,
            settings,
            workers=workers,
            progress=progress,
            executor=executor,
            scheduler=scheduler,
        )
        with closing(results) as lines:
            for line in lines:
                log.append(line)
                log_result(line, settings)
    finally:
        log.close()


def log_result(result: dict, settings: CropSettings) -> None:
    """Log a failed or skipped source, or one that got fewer crops than requested."""
    if result["status"] == "failed":
        logger.warning("failed: %s: %s", result["source"], result["error"])
    elif result["status"] == "skipped":
        logger.info("skipped: %s: %s", result["source"], result["reason"])
    elif "requested" in result["image"]:
        shortfall = describe_shortfall(result["image"], settings)
        logger.warning("%s %s", result["source"], shortfall)
