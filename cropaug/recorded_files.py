"""Check that the sources and masks a manifest records are present and unchanged."""

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from cropaug.errors import CropaugError, ManifestError
from cropaug.paths import resolve_inside
from cropaug.pool import run_tasks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordedFiles:
    """Manifest keys of one kind of recorded file, and its names for messages."""

    # Manifest image keys of the file's path and of its SHA-256.
    path_key: str
    sha256_key: str
    # Plural noun and the folder the paths are relative to.
    noun: str
    folder: str
    # Fix to suggest when files are missing.
    folder_hint: str


SOURCES = RecordedFiles(
    "source", "sha256", "sources", "SRC", "pass the folder the run cropped"
)
MASKS = RecordedFiles(
    "mask_source",
    "mask_sha256",
    "masks",
    "MASK_ROOT",
    "pass the mask tree the run cropped",
)


def check_recorded_files(
    files: RecordedFiles,
    root: Path,
    images: list[dict],
    ignore_hash: bool,
    workers: int,
    progress: bool = False,
) -> list[str]:
    """Hash every recorded file under `root` and return the changed ones, sorted.

    Callers run it before writing anything, so that a wrong folder stops the
    run early.

    Raises:
        CropaugError: listing missing or unreadable files, and changed ones
            unless `ignore_hash` is set.
    """
    missing, changed = [], []
    shared = (files, root)
    tasks = run_tasks(_file_state, shared, images, workers, progress, "hashing")
    for path, problem in tasks:
        if problem == "changed":
            changed.append(path)
        elif problem:
            missing.append(f"{path}: {problem}")
    missing.sort()
    changed.sort()

    if missing:
        raise CropaugError(
            f"{len(missing)} {files.noun} cannot be read from {files.folder} "
            f"{root}; {files.folder_hint}:\n  " + "\n  ".join(missing)
        )
    if changed and not ignore_hash:
        raise CropaugError(
            f"{len(changed)} {files.noun} in {files.folder} {root} differ from the "
            "manifest (SHA-256 mismatch), so their crops would differ; restore "
            "them, or pass --ignore-hash to crop them as they are now:\n  "
            + "\n  ".join(changed)
        )
    for path in changed:
        logger.warning("%s changed since the manifest was written", path)
    return changed


def _file_state(
    files: RecordedFiles, root: Path, image: dict
) -> tuple[str, str | None]:
    """Return the file's path and None, "changed", or why it cannot be read."""
    relative = image[files.path_key]
    try:
        path = resolve_inside(root, relative)
    except ManifestError:
        return relative, f"resolves outside {files.folder} through a symbolic link"
    try:
        with path.open("rb") as file:
            digest = hashlib.file_digest(file, "sha256").hexdigest()
    except FileNotFoundError:
        return relative, "missing"
    except OSError as error:
        return relative, f"cannot read: {error.strerror or error}"
    return relative, None if digest == image[files.sha256_key] else "changed"
