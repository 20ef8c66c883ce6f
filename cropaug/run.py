"""Start or resume a run in DST, crop on the executor, and write the manifest last.

The order of the steps is what makes a run safe to kill at any instant:

1. The progress file's header is written atomically before anything else
   changes in DST, so DST contains either no run of this invocation or a
   resumable one.
2. Only then is an earlier run removed (with --overwrite) and one folder per
   class created. A resumed run that finds a progress file without source
   lines does this step again.
3. Each source's line is appended after its crops have their final names.
4. The manifest is written to a temporary file, renamed into place, and only
   then is the progress file removed. A resumed run that finds both writes the
   manifest again from the progress file.

A shard run (`--shard I/K`) takes the same path up to discovery and then
continues in `shardrun`, which writes a part file instead of the manifest.
"""

import logging
from contextlib import suppress
from pathlib import Path

from cropaug.assemble import RunOutcome, finish_run
from cropaug.crop import CropSettings
from cropaug.cropping import JobList, crop_jobs
from cropaug.destination import check_class_names, run_header
from cropaug.discover import Discovery, Source, discover_sources
from cropaug.files import OutputWriteError, remove_temp_files
from cropaug.finished import check_finished_run
from cropaug.interrupt import signals_interrupt_run
from cropaug.manifest import MANIFEST_NAME
from cropaug.masks import prepare_mask_folder
from cropaug.naming import plan_output_stems
from cropaug.progress import PROGRESS_NAME, ProgressLog, read_header, start_progress
from cropaug.remote import is_remote, progress_folder, remove_tree
from cropaug.resume import check_header, delete_outputs, plan_resume, verify_outputs
from cropaug.shardrun import run_shard
from cropaug.shards import Shard

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
    shard: Shard | None = None,
    executor: str = "process",
    scheduler: str | None = None,
) -> RunOutcome:
    """Crop every source of SRC into DST, or finish the interrupted run there.

    `state` is what `check_destination` returned for DST; a shard run
    ignores it and checks DST in `shardrun`.

    Raises:
        DestinationError: when DST cannot be used, or --resume finds a run
            with other options.
        OutputWriteError: when DST cannot be written; DST stays resumable.
        RunInterrupted: on SIGINT or SIGTERM; DST stays resumable.
    """
    header = run_header(src, params, follow_symlinks)
    log_folder = progress_folder(dst)
    executor_options = {
        "workers": workers,
        "progress": progress,
        "executor": executor,
        "scheduler": scheduler,
    }

    with signals_interrupt_run():
        if shard is None and resume and state == "finished":
            return _finished_outcome(dst, params)
        if shard is None and resume and state == "interrupted":
            check_header(dst, read_header(log_folder), header)

        discovery = discover_and_report(src, follow_symlinks, sharded=shard is not None)
        stems = plan_output_stems(
            (source.path for source in discovery.sources), settings.n
        )
        if shard is not None:
            return run_shard(
                src,
                dst,
                settings,
                params,
                discovery,
                stems,
                shard,
                resume=resume,
                **executor_options,
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
            _start(dst, header, discovery.classes, settings)

        log = ProgressLog(log_folder)
        crop_jobs(JobList(sources, stems), src, dst, settings, log, **executor_options)
        # The manifest pass indexes the progress file itself, so the stems of
        # the cropping pass are dropped before it.
        del sources, stems
        outcome = finish_run(dst, params, discovery, log_folder)
    outcome.resumed_sources = resumed
    return outcome


def discover_and_report(
    src: Path, follow_symlinks: bool, sharded: bool = False
) -> Discovery:
    """Discover the sources of SRC and log what a user should know about them.

    Raises:
        DestinationError: when a class folder has a name cropaug uses in DST.
    """
    discovery = discover_sources(src, follow_symlinks=follow_symlinks)
    check_class_names(discovery.classes, sharded)
    if not discovery.classes:
        logger.warning(
            "SRC %s has no class folders; put the images in one folder per class",
            src,
        )
    for class_name in discovery.empty_classes:
        logger.warning("class %s contains no images", class_name)
    for skipped in discovery.skipped:
        logger.info("skipped: %s: %s", skipped.source, skipped.reason)
    return discovery


def _start(dst: Path, header: dict, classes: list[str], settings: CropSettings) -> None:
    """Write the progress header, then empty DST of an earlier run and make classes.

    Every class gets a folder, even one without crops, so that dataset
    loaders number the classes of DST as they number those of SRC. MASK_OUT
    is emptied and given its class folders the same way.
    """
    _make_folder(dst)
    start_progress(progress_folder(dst), header)
    # An object store shows a folder only while an object is under it.
    children = dst.iterdir() if dst.is_dir() else []
    for child in children:
        if child.name == PROGRESS_NAME and not is_remote(dst):
            continue
        try:
            if child.is_dir() and not child.is_symlink():
                remove_tree(child)
            else:
                child.unlink()
        except OSError as error:
            raise OutputWriteError(Path(error.filename or child), error) from None
    for class_name in classes:
        _make_folder(dst / class_name)
    if settings.mask_out is not None:
        try:
            prepare_mask_folder(settings.mask_out, classes)
        except OSError as error:
            raise OutputWriteError(settings.mask_out, error) from None


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
        _start(dst, header, discovery.classes, settings)
        return discovery.sources, 0

    removed = remove_temp_files(dst)
    if settings.mask_out is not None and settings.mask_out.is_dir():
        removed += remove_temp_files(settings.mask_out)
    if removed:
        logger.info("removed %d temporary files of the earlier run", removed)
    # A manifest beside a progress file was renamed into place just before the
    # earlier run was killed. It is written again at the end.
    (dst / MANIFEST_NAME).unlink(missing_ok=True)
    deleted = delete_outputs(dst, plan.stale_outputs)
    if settings.mask_out is not None:
        delete_outputs(settings.mask_out, plan.stale_masks)
    if plan.removed_sources:
        logger.warning(
            "deleted %d crops of %d sources that are no longer in SRC",
            deleted,
            plan.removed_sources,
        )
    verify_outputs(dst, plan, settings.mask_out)
    _remove_empty_non_classes(dst, discovery.classes)
    for class_name in discovery.classes:
        _make_folder(dst / class_name)
        if settings.mask_out is not None:
            _make_folder(settings.mask_out / class_name)

    remaining = [source for source in discovery.sources if source.path not in plan.done]
    logger.info(
        "resuming: %d of %d sources already done, %d to crop",
        len(plan.done),
        len(discovery.sources),
        len(remaining),
    )
    return remaining, len(plan.done)


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
