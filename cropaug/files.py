"""Write files atomically, so that no truncated file ever has its final name."""

import itertools
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from cropaug.errors import CropaugError
from cropaug.remote import is_remote
from cropaug.testhooks import pause_if_requested

# Temporary files start with a dot, so dataset loaders and cropaug's own walk
# ignore them, and end in ".tmp", so no image loader takes them for an image.
TEMP_PREFIX = ".cropaug-"
TEMP_SUFFIX = ".tmp"


# Temporary files are named from the process id and this counter, so writing
# a file costs 4 system calls (open, write, close, rename) where mkstemp and
# a Python file object take 8. The name is unique while the process lives.
_temp_numbers = itertools.count()
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


class OutputWriteError(CropaugError):
    """Writing into DST failed (disk full, no permission); the run must stop."""

    def __init__(self, path: Path, error: OSError):
        self.reason = error.strerror or str(error)
        super().__init__(f"cannot write {path}: {self.reason}")
        self.path = path
        self.errno = error.errno

    def __reduce__(self):
        # Pool and Dask workers send this error to the parent pickled. The
        # default pickling calls __init__ with the message alone, which fails,
        # and a pool whose result thread fails that way waits forever.
        return _rebuild_output_write_error, (self.path, self.errno, self.reason)


def _rebuild_output_write_error(
    path: Path, errno: int | None, reason: str
) -> OutputWriteError:
    return OutputWriteError(path, OSError(errno, reason))


def write_atomic(path: "Path | str", data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, then rename it into place.

    At a URL the data goes up in one request instead, which object stores
    apply whole or not at all. A local path may be a string, which saves
    the cost of pathlib on every crop.

    Raises:
        OutputWriteError: naming the path, when the disk is full or the
            folder is not writable.
    """
    if is_remote(path):
        try:
            path.write_bytes(data)
        except OSError as error:
            raise OutputWriteError(path, error) from None
        return
    try:
        descriptor, temp_name = _create_temp_file(os.path.dirname(path))
    except OSError as error:
        raise OutputWriteError(Path(path), error) from None
    completed = False
    try:
        try:
            _write_all(descriptor, data)
        finally:
            os.close(descriptor)
        os.replace(temp_name, path)
        completed = True
    except OSError as error:
        raise OutputWriteError(Path(path), error) from None
    finally:
        # Also runs for an interrupt, which is not an OSError.
        if not completed:
            _remove_quietly(Path(temp_name))


def _create_temp_file(folder: str) -> tuple[int, str]:
    """Create a new temporary file in `folder` and return its descriptor and path.

    The umask filters its mode 0o666, as for a plain open(), so outputs get
    the permissions a plain open() would give them.

    Raises:
        OSError: when the folder is missing or not writable.
    """
    while True:
        name = os.path.join(
            folder, f"{TEMP_PREFIX}{os.getpid()}-{next(_temp_numbers)}{TEMP_SUFFIX}"
        )
        try:
            return os.open(name, _CREATE_FLAGS, 0o666), name
        except FileExistsError:
            # Left by a killed process that had this process's id: the next
            # number gives another name.
            continue


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(descriptor, view)
        view = view[written:]


@contextmanager
def open_atomic(path: Path) -> Iterator[IO[str]]:
    """Open a UTF-8 text file that replaces `path` only when the block completes.

    For a URL the file is written in the local temporary directory and
    uploaded when the block completes.

    Raises:
        OutputWriteError: naming the path, when the file cannot be written.
    """
    remote = is_remote(path)
    folder = tempfile.gettempdir() if remote else os.fspath(path.parent)
    try:
        descriptor, temp_name = _create_temp_file(folder)
    except OSError as error:
        raise OutputWriteError(path, error) from None
    # Whether the temporary file now has the final name, so must not be removed.
    replaced = False
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as file:
            yield file
        pause_if_requested(f"before-rename:{path.name}")
        if remote:
            path.upload(Path(temp_name))
        else:
            os.replace(temp_name, path)
            replaced = True
    except OSError as error:
        raise OutputWriteError(path, error) from None
    finally:
        if not replaced:
            _remove_quietly(Path(temp_name))


def remove_temp_files(root: Path) -> int:
    """Delete the temporary files an interrupted run left under `root`.

    Returns how many were deleted. Writes to a URL leave no temporary file
    there, so a URL has none to delete.

    Raises:
        OutputWriteError: naming the file that cannot be deleted.
    """
    if is_remote(root):
        return 0
    removed = 0
    for folder, _, names in os.walk(root):
        for name in names:
            if is_temp_name(name):
                path = Path(folder, name)
                try:
                    _remove_quietly(path)
                except OSError as error:
                    raise OutputWriteError(path, error) from None
                removed += 1
    return removed


def is_temp_name(name: str) -> bool:
    """Return whether a file name is one of cropaug's temporary files."""
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def _remove_quietly(path: Path) -> None:
    path.unlink(missing_ok=True)
