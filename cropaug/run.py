"""Start or resume a run in DST, crop in the pool, and write the manifest last.

The order of the steps is what makes a run safe to kill at any instant:

1. The progress file's header is written atomically before anything else
   changes in DST, so DST contains either no run of this invocation or a
   resumable one.
2. Only then is an earlier run removed (with --overwrite) and one folder per
   class created. A progress file without source lines tells a resumed run
   to do this step again.
3. Each source's line is appended after its crops have their final names.
4. The manifest is written to a temporary file, renamed into place, and only
   then is the progress file removed. A resumed run that finds both writes the
   manifest again from the progress file.
"""

import logging
import shutil
from collections.abc import Sequence
from contextlib import closing, suppress
from pathlib import Path

from cropaug.assemble import RunOutcome, finish_run
from cropaug.crop import CropJob, CropSettings
from cropaug.destination import run_header
from cropaug.discover import Discovery, Source, discover_sources
from cropaug.files import OutputWriteError, remove_temp_files
from cropaug.finished import check_finished_run
from cropaug.interrupt import signals_interrupt_run
from cropaug.manifest import MANIFEST_NAME
from cropaug.naming import plan_output_stems
from cropaug.pool import run_jobs
from cropaug.progress import PROGRESS_NAME, ProgressLog, read_header, start_progress
from cropaug.resume import check_header, delete_outputs, plan_resume, verify_outputs

logger = logging.getLogger(__name__)


def execute_run(
    src: Path,
    dst: Path,
    settings: CropSettings,
    params: dict,
    *,
    state: str,
    workers: int,
    resume: bool,
    follow_symlinks: bool,
    progress: bool,
) -> RunOutcome:
    """Crop every source of SRC into DST, or finish the interrupted run there.

    `state` is what `check_destination` returned for DST.

    Raises:
        DestinationError: when DST cannot be used, or --resume finds a run
            with other options.
        OutputWriteError: when DST cannot be written; DST stays resumable.
        RunInterrupted: on SIGINT or SIGTERM; DST stays resumable.
    """
    header = run_header(src, params, follow_symlinks)

    with signals_interrupt_run():
        if resume and state == "finished":
            return _finished_outcome(dst, params)
        if resume and state == "interrupted":
            check_header(dst, read_header(dst), header)

        discovery = discover_sources(src, follow_symlinks=follow_symlinks)
        for class_name in discovery.empty_classes:
            logger.warning("class %s holds no images", class_name)
        stems = plan_output_stems(
            (source.path for source in discovery.sources), settings.n
        )

        resumed = 0
        sources = discovery.sources
        if resume and state == "interrupted":
            sources, resumed = _resume(src, dst, header, discovery, stems, settings)
        else:
            if resume:
                logger.warning(
                    "DST %s contains no earlier run; starting a new one", dst
                )
            _start(dst, header, discovery.classes)

        _crop(_JobList(sources, stems), src, dst, settings, workers, progress)
        # The manifest pass indexes the progress file itself, so the stems of
        # the cropping pass are dropped before it.
        del sources, stems
        outcome = finish_run(dst, params, discovery)
    outcome.resumed_sources = resumed
    return outcome


def _start(dst: Path, header: dict, classes: list[str]) -> None:
    """Write the progress header, then empty DST of an earlier run and make classes.

    Every class gets a folder, even one without crops, so that dataset
    loaders number the classes of DST as they number those of SRC.
    """
    _make_folder(dst)
    start_progress(dst, header)
    for child in dst.iterdir():
        if child.name == PROGRESS_NAME:
            continue
        try:
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        except OSError as error:
            raise OutputWriteError(Path(error.filename or child), error) from None
    for class_name in classes:
        _make_folder(dst / class_name)


class _JobList(Sequence):
    """The crop jobs of `sources`, made one at a time as the pool takes them.

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


def _resume(
    src: Path,
    dst: Path,
    header: dict,
    discovery: Discovery,
    stems: dict[str, str],
    settings: CropSettings,
) -> tuple[list[Source], int]:
    """Clean DST of what the interrupted run left half done.

    Returns the sources left to crop, and how many sources the earlier run
    finished that are kept.
    """
    plan = plan_resume(src, dst, stems, settings)
    if plan.records == 0:
        logger.info("the earlier run finished no source; starting it again")
        _start(dst, header, discovery.classes)
        return discovery.sources, 0

    removed = remove_temp_files(dst)
    if removed:
        logger.info("removed %d temporary files of the earlier run", removed)
    # A manifest beside a progress file was renamed into place just before the
    # earlier run was killed. It is written again at the end.
    (dst / MANIFEST_NAME).unlink(missing_ok=True)
    deleted = delete_outputs(dst, plan.stale_outputs)
    if plan.removed_sources:
        logger.warning(
            "deleted %d crops of %d sources that are no longer in SRC",
            deleted,
            plan.removed_sources,
        )
    verify_outputs(dst, plan)
    _remove_empty_non_classes(dst, discovery.classes)
    for class_name in discovery.classes:
        _make_folder(dst / class_name)

    remaining = [source for source in discovery.sources if source.path not in plan.done]
    logger.info(
        "resuming: %d of %d sources already done, %d to crop",
        len(plan.done),
        len(discovery.sources),
        len(remaining),
    )
    return remaining, len(plan.done)


def _crop(
    jobs: Sequence[CropJob],
    src: Path,
    dst: Path,
    settings: CropSettings,
    workers: int,
    progress: bool,
) -> None:
    log = ProgressLog(dst)
    try:
        with closing(run_jobs(jobs, src, dst, settings, workers, progress)) as lines:
            for line in lines:
                log.append(line)
                _log_result(line, settings.n)
    finally:
        log.close()


def _finished_outcome(dst: Path, params: dict) -> RunOutcome:
    finished = check_finished_run(dst, params)
    logger.info("DST %s already contains the finished run; nothing to do", dst)
    return RunOutcome(
        classes=finished.classes,
        images=finished.totals["images"],
        crops=finished.totals["crops"],
        skipped=finished.skipped,
        failed=finished.failed,
        clamped=finished.clamped,
        already_finished=True,
    )


def _remove_empty_non_classes(dst: Path, classes: list[str]) -> None:
    """Remove empty folders of classes that are no longer in SRC."""
    kept = set(classes)
    for child in dst.iterdir():
        if child.name in kept or not child.is_dir() or child.is_symlink():
            continue
        # A folder that is not empty contains files cropaug did not record.
        with suppress(OSError):
            child.rmdir()


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputWriteError(folder, error) from None


def _log_result(result: dict, n: int) -> None:
    if result["status"] == "failed":
        logger.warning("failed: %s: %s", result["source"], result["error"])
    elif result["status"] == "skipped":
        logger.info("skipped: %s: %s", result["source"], result["reason"])
    elif "requested" in result["image"]:
        image = result["image"]
        logger.warning(
            "%s has only %d crop positions; wrote %d of %d crops",
            result["source"],
            image["positions"],
            len(image["crops"]),
            n,
        )
