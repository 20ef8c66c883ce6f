"""Decide what a resumed run keeps from the progress record of an earlier one.

A source is kept when its last progress line is still valid. That means the
source file has the recorded size and modification time, and its output names
are the ones the current plan gives it. It also means every crop exists as a
regular file of the recorded size. Atomic renames mean a crop under its
final name was written whole, so existence and size catch what a user
deleted or replaced. With --masks, every mask crop must exist as well.
Failed sources are always cropped again, in case the cause was fixed.
"""

import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from cropaug.crop import CropSettings
from cropaug.errors import DestinationError
from cropaug.files import OutputWriteError
from cropaug.imaging import EXTENSIONS
from cropaug.naming import crop_name, index_width
from cropaug.progress import PROGRESS_NAME, RecordReader, scan_records

logger = logging.getLogger(__name__)

# Header keys that are not crop options, with the words a mismatch shows.
_RUN_KEYS = {
    "src": "SRC",
    "follow_symlinks": "--follow-symlinks",
    "cropaug_version": "cropaug version",
    "library_versions": "library versions",
}


@dataclass
class ResumePlan:
    """The sources a resumed run keeps, and the stale crops it deletes first."""

    # Sources whose last progress line is still valid, with the line's offset.
    # Every other source is cropped again.
    done: dict[str, int] = field(default_factory=dict)
    # Crops, relative to DST, recorded for sources that are gone from SRC or
    # whose record is no longer valid. They are deleted before the run goes on.
    stale_outputs: list[str] = field(default_factory=list)
    # The mask crops of those sources, relative to MASK_OUT.
    stale_masks: list[str] = field(default_factory=list)
    removed_sources: int = 0
    records: int = 0
    # The progress file the plan was read from.
    log_folder: Path | None = None
    log_name: str = PROGRESS_NAME


def describe_mismatch(earlier: dict, current: dict) -> list[str]:
    """Return one line per option whose value differs between two run headers."""
    lines = []
    earlier_params, current_params = earlier["params"], current["params"]
    size_keys = ("width", "height")
    if any(earlier_params.get(k) != current_params.get(k) for k in size_keys):
        lines.append(
            f"--size: {current_params['width']}x{current_params['height']} "
            f"(earlier run: {earlier_params.get('width')}x"
            f"{earlier_params.get('height')})"
        )
    for key in sorted(set(earlier_params) | set(current_params)):
        if key in size_keys:
            continue
        if earlier_params.get(key) != current_params.get(key):
            option = "--" + key.replace("_", "-")
            lines.append(
                f"{option}: {_show(current_params.get(key))} "
                f"(earlier run: {_show(earlier_params.get(key))})"
            )
    for key, label in _RUN_KEYS.items():
        if earlier.get(key) != current.get(key):
            lines.append(
                f"{label}: {_show(current.get(key))} "
                f"(earlier run: {_show(earlier.get(key))})"
            )
    return lines


def check_header(dst: Path, earlier: dict, current: dict) -> None:
    """Raise DestinationError naming every option that differs from the earlier run."""
    differences = describe_mismatch(earlier, current)
    if differences:
        raise DestinationError(
            f"cannot resume: the run in DST {dst} used other options. "
            + "; ".join(differences)
            + ". Rerun with the earlier options, or use --overwrite instead of "
            "--resume to start over"
        )


def plan_resume(
    src: Path,
    dst: Path,
    stems: dict[str, str],
    settings: CropSettings,
    log_folder: Path | None = None,
    log_name: str = PROGRESS_NAME,
) -> ResumePlan:
    """Read the progress record and sort its sources into kept and redone ones.

    Reads DST without changing it. `stems` maps every current source to its
    planned output stem. Crops of kept sources are checked in `verify_outputs`
    after the stale ones are deleted. The record is `log_folder / log_name`,
    by default DST's own progress file.
    """
    log_folder = dst if log_folder is None else log_folder
    plan = ResumePlan(log_folder=log_folder, log_name=log_name)
    latest: dict[str, int] = {}
    removed: dict[str, dict] = {}
    for offset, record in scan_records(log_folder, log_name):
        plan.records += 1
        source = record["source"]
        if source in stems:
            latest[source] = offset
        else:
            removed.setdefault(source, {"outputs": [], "masks": []})
            removed[source]["outputs"].extend(_recorded_paths(record))
            removed[source]["masks"].extend(_recorded_masks(record))
    plan.removed_sources = len(removed)
    for paths in removed.values():
        plan.stale_outputs.extend(paths["outputs"])
        plan.stale_masks.extend(paths["masks"])

    digits = index_width(settings.n)
    with RecordReader(log_folder, log_name) as reader:
        for source, offset in latest.items():
            record = reader.read(offset)
            if _record_holds(src, record, stems[source], digits):
                plan.done[source] = offset
            else:
                plan.stale_outputs.extend(_recorded_paths(record))
                plan.stale_masks.extend(_recorded_masks(record))
    return plan


def verify_outputs(dst: Path, plan: ResumePlan, mask_out: Path | None = None) -> None:
    """Move every kept source whose crops are missing or resized to the redo set.

    With `mask_out`, a kept source must also have every mask crop it recorded.
    """
    missing = []
    with RecordReader(plan.log_folder or dst, plan.log_name) as reader:
        for source, offset in plan.done.items():
            record = reader.read(offset)
            paths = _recorded_paths(record)
            sizes = record.get("sizes", [])
            if len(sizes) != len(paths):
                missing.append(source)
                continue
            for path, size in zip(paths, sizes, strict=True):
                if not _is_file_of_size(dst / path, size):
                    missing.append(source)
                    break
            else:
                if mask_out is not None and not _masks_exist(mask_out, record):
                    missing.append(source)
    for source in missing:
        del plan.done[source]
    if missing:
        logger.info(
            "%d sources have missing or changed crops and are cropped again",
            len(missing),
        )


def delete_outputs(dst: Path, paths: list[str]) -> int:
    """Delete crops a resumed run does not keep, then folders left empty.

    Folders directly inside DST stay, because they are the classes. Returns
    how many files were deleted.
    """
    deleted = 0
    folders = set()
    for path in paths:
        target = dst / path
        try:
            target.unlink()
            deleted += 1
        except FileNotFoundError:
            pass
        except OSError as error:
            raise OutputWriteError(target, error) from None
        folders.add(PurePosixPath(path).parent)
    for folder in sorted(folders, key=lambda folder: -len(folder.parts)):
        while len(folder.parts) > 1:
            try:
                (dst / folder).rmdir()
            except OSError:
                # Not empty, or already gone.
                break
            folder = folder.parent
    return deleted


def _record_holds(src: Path, record: dict, stem: str, digits: int) -> bool:
    """Return whether a record is still valid, judged without looking at its crops."""
    if record["status"] == "failed":
        return False
    try:
        status = os.stat(src / record["source"])
    except OSError:
        return False
    current = {"size": status.st_size, "mtime_ns": status.st_mtime_ns}
    if record.get("source_stat") != current:
        return False
    if record["status"] != "cropped":
        return True
    extension = EXTENSIONS.get(record["image"].get("output_format"))
    if extension is None:
        return False
    expected = [
        crop_name(stem, index, digits, extension)
        for index in range(len(record["image"]["crops"]))
    ]
    return _recorded_paths(record) == expected


def _recorded_paths(record: dict) -> list[str]:
    if record.get("status") != "cropped":
        return []
    return [crop["path"] for crop in record["image"]["crops"]]


def _recorded_masks(record: dict) -> list[str]:
    if record.get("status") != "cropped":
        return []
    return [crop["mask"] for crop in record["image"]["crops"] if "mask" in crop]


def _masks_exist(mask_out: Path, record: dict) -> bool:
    crops = record["image"]["crops"] if record.get("status") == "cropped" else []
    for crop in crops:
        if "mask" not in crop or not (mask_out / crop["mask"]).is_file():
            return False
    return True


def _is_file_of_size(path: Path, size: int) -> bool:
    try:
        status = path.stat(follow_symlinks=False)
    except OSError:
        return False
    return stat.S_ISREG(status.st_mode) and status.st_size == size


def _show(value) -> str:
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, dict):
        return ", ".join(f"{key} {item}" for key, item in sorted(value.items()))
    return str(value)
