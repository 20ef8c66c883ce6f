"""Assemble the manifest from the progress file at the end of a run.

The manifest lists images sorted by source, while the progress file lists them
in the order they finished, so the records are read back by offset.
"""

from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path

from cropaug.discover import Discovery
from cropaug.errors import CropaugError
from cropaug.manifest import write_manifest
from cropaug.progress import PROGRESS_NAME, RecordReader, scan_records
from cropaug.testhooks import pause_if_requested

_NO_LINE = -1


@dataclass
class RunOutcome:
    """The classes, counts and lists of a run, as its manifest records them."""

    classes: list[str]
    images: int
    crops: int
    skipped: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    clamped: list[str] = field(default_factory=list)
    # Sources whose crops an earlier, interrupted run had already written.
    resumed_sources: int = 0
    # True when --resume found a finished run and wrote nothing.
    already_finished: bool = False


def finish_run(
    dst: Path, params: dict, discovery: Discovery, log_folder: Path | None = None
) -> RunOutcome:
    """Write the manifest from the progress file, then remove the progress file.

    The parent keeps one byte offset per source, in an array in the sorted
    order of `discovery.sources`, and reads the records back one at a time
    while the manifest is written. Lines of sources that are not in
    `discovery` are ignored. The progress file is in `log_folder`, which is
    DST unless DST is a URL.

    Raises:
        CropaugError: when a source has no progress line.
        OutputWriteError: when the manifest cannot be written.
    """
    log_folder = dst if log_folder is None else log_folder
    paths = [source.path for source in discovery.sources]
    offsets = array("q", [_NO_LINE]) * len(paths)
    # Only the few sources that were not cropped keep their whole record.
    not_cropped: dict[int, dict] = {}
    clamped: set[int] = set()
    for offset, record in scan_records(log_folder):
        index = bisect_left(paths, record["source"])
        if index == len(paths) or paths[index] != record["source"]:
            continue
        # A source redone by a resumed run has several lines; the last counts.
        offsets[index] = offset
        not_cropped.pop(index, None)
        clamped.discard(index)
        if record["status"] != "cropped":
            not_cropped[index] = record
        elif "requested" in record["image"]:
            clamped.add(index)

    for index, offset in enumerate(offsets):
        if offset == _NO_LINE:
            raise CropaugError(
                f"the progress file of DST {dst} has no line for {paths[index]}; "
                "rerun with --resume"
            )

    skipped = [{"source": s.source, "reason": s.reason} for s in discovery.skipped]
    failed = []
    for index in sorted(not_cropped):
        record = not_cropped[index]
        if record["status"] == "skipped":
            skipped.append({"source": paths[index], "reason": record["reason"]})
        else:
            failed.append({"source": paths[index], "error": record["error"]})
    skipped.sort(key=lambda item: item["source"])

    with RecordReader(log_folder) as reader:
        images = (
            reader.read(offset)["image"]
            for index, offset in enumerate(offsets)
            if index not in not_cropped
        )
        totals = write_manifest(dst, params, discovery.classes, images, skipped, failed)
    pause_if_requested(f"before-remove:{PROGRESS_NAME}")
    (log_folder / PROGRESS_NAME).unlink()

    return RunOutcome(
        classes=discovery.classes,
        images=totals["images"],
        crops=totals["crops"],
        skipped=skipped,
        failed=failed,
        clamped=[paths[index] for index in sorted(clamped)],
    )
