"""Run one shard of a split run: crop its share of SRC and write its part file.

The shard's progress record is `part-I-of-K.progress.jsonl` in `DST/_parts`
(or in a local folder for a URL DST). It has the same layout as the progress
file of an unsharded run, so `--resume` continues a stopped shard the same
way: kept sources stay, stale crops are deleted, the rest is cropped again.
Without `--resume` a stopped shard starts its record over, which rewrites
the same crops, because the crops depend only on the options and the seed.
"""

import logging
import time
from pathlib import Path

from cropaug.assemble import RunOutcome
from cropaug.crop import CropSettings
from cropaug.cropping import JobList, crop_jobs
from cropaug.discover import Discovery, Source
from cropaug.masks import prepare_mask_folder
from cropaug.parts import PARTS_FOLDER
from cropaug.progress import ProgressLog, read_header, start_progress
from cropaug.remote import progress_folder
from cropaug.resume import check_header, delete_outputs, plan_resume, verify_outputs
from cropaug.shards import (
    Shard,
    check_shard_destination,
    finish_shard,
    prepare_shard_destination,
    shard_header,
    summarise_part,
)
from cropaug.summary import ExpandSummary

logger = logging.getLogger(__name__)


def run_shard(
    src: Path,
    dst: Path,
    settings: CropSettings,
    params: dict,
    discovery: Discovery,
    stems: dict[str, str],
    shard: Shard,
    *,
    resume: bool,
    workers: int,
    progress: bool,
    executor: str,
    scheduler: str | None,
) -> RunOutcome:
    """Crop the sources of `shard` into DST and write its part file.

    A shard whose part file exists is not run again.

    Raises:
        DestinationError: when DST contains anything but shards of the same
            run, or --resume finds a record with other versions.
        OutputWriteError: when DST cannot be written.
    """
    header = shard_header(shard, params, discovery)
    finished_part = check_shard_destination(dst, shard, header)
    if finished_part is not None:
        logger.warning(
            "shard %s already finished (%s); delete that file to run it again",
            shard,
            finished_part,
        )
        return _outcome(summarise_part(dst, shard, time.perf_counter()), 0)

    owned = [source for source in discovery.sources if shard.owns(source.path)]
    prepare_shard_destination(dst, discovery.classes)
    log_folder = progress_folder(dst / PARTS_FOLDER)
    name = shard.progress_name
    sources, resumed = owned, 0
    if resume and (log_folder / name).is_file():
        check_header(dst, read_header(log_folder, name), header)
        sources, resumed = _resume_shard(
            src, dst, settings, owned, stems, log_folder, name
        )
        if settings.mask_out is not None:
            for class_name in discovery.classes:
                (settings.mask_out / class_name).mkdir(parents=True, exist_ok=True)
    else:
        if resume:
            logger.warning(
                "DST %s has no progress record of shard %s; starting it", dst, shard
            )
        start_progress(log_folder, header, name)
        if settings.mask_out is not None:
            prepare_mask_folder(settings.mask_out, discovery.classes, clear=False)

    log = ProgressLog(log_folder, name)
    crop_jobs(
        JobList(sources, stems),
        src,
        dst,
        settings,
        log,
        workers=workers,
        progress=progress,
        executor=executor,
        scheduler=scheduler,
    )
    return _outcome(finish_shard(dst, shard, header, discovery), resumed)


def _resume_shard(
    src: Path,
    dst: Path,
    settings: CropSettings,
    owned: list[Source],
    stems: dict[str, str],
    log_folder: Path,
    name: str,
) -> tuple[list[Source], int]:
    """Delete what the stopped shard left half done; return the sources left to crop.

    Temporary files in DST are left alone, because other shards may be
    writing theirs; `cropaug merge` removes them at the end.
    """
    owned_stems = {source.path: stems[source.path] for source in owned}
    plan = plan_resume(src, dst, owned_stems, settings, log_folder, name)
    delete_outputs(dst, plan.stale_outputs)
    if settings.mask_out is not None:
        delete_outputs(settings.mask_out, plan.stale_masks)
    verify_outputs(dst, plan, settings.mask_out)
    remaining = [source for source in owned if source.path not in plan.done]
    logger.info(
        "resuming: %d of %d sources of this shard already done, %d to crop",
        len(plan.done),
        len(owned),
        len(remaining),
    )
    return remaining, len(plan.done)


def _outcome(summary: ExpandSummary, resumed: int) -> RunOutcome:
    return RunOutcome(
        classes=summary.classes,
        images=summary.images,
        crops=summary.crops,
        skipped=summary.skipped,
        failed=summary.failed,
        clamped=summary.clamped,
        resumed_sources=resumed,
        already_finished=summary.already_finished,
    )
