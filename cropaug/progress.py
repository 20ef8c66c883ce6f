"""Record finished sources while a run is going, so the manifest can be built last.

The record is one hidden file, `DST/.cropaug-progress.jsonl`: a header line
with the run's parameters, then one JSON line per finished source, appended
only after all of that source's crops have their final names. A file rather
than a folder, so dataset loaders never take it for a class. It is removed
once the manifest is written. A shard run keeps its record under another
name in `DST/_parts`, and a run into a URL keeps it in a local folder (see
`remote.progress_folder`), so every function here takes the folder and the
file name.

The header is written atomically, so the file either does not exist or starts
with a whole header. A kill can cut the last line short; readers ignore a line
without its newline, and `ProgressLog` cuts it off before appending. A source
can have several lines when a resumed run redid it; the last line counts.
"""

import json
import os
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

from cropaug.crop import CropJob, CropSettings, crop_source
from cropaug.errors import CropaugError
from cropaug.files import OutputWriteError, write_atomic
from cropaug.remote import is_remote
from cropaug.testhooks import pause_if_requested

PROGRESS_NAME = ".cropaug-progress.jsonl"
PROGRESS_VERSION = 1


def start_progress(folder: Path, header: dict, name: str = PROGRESS_NAME) -> None:
    """Write a progress file that holds only `header`, replacing any earlier one."""
    line = json.dumps({"progress_version": PROGRESS_VERSION, **header}) + "\n"
    write_atomic(folder / name, line.encode("utf-8"))


def read_header(folder: Path, name: str = PROGRESS_NAME) -> dict:
    """Return the header of DST's progress file.

    Raises:
        CropaugError: when the file cannot be read or was written by an
            incompatible version of cropaug.
    """
    path = folder / name
    try:
        with path.open("rb") as file:
            first_line = file.readline()
    except OSError as error:
        raise CropaugError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        header = json.loads(first_line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        header = None
    if not isinstance(header, dict) or "params" not in header:
        raise CropaugError(
            f"{path} has no valid header line; pass --overwrite to start over"
        )
    if header.get("progress_version") != PROGRESS_VERSION:
        raise CropaugError(
            f"{path} was written by another version of cropaug "
            f"(progress_version {header.get('progress_version')!r}); "
            "pass --overwrite to start over"
        )
    return header


class ProgressLog:
    """Append-only writer of the progress record that `start_progress` created."""

    def __init__(self, folder: Path, name: str = PROGRESS_NAME):
        self.path = folder / name
        try:
            self._file = self.path.open("r+b")
            self._file.seek(_end_of_last_line(self._file))
            # Drop a line that a kill cut short, so the next line starts clean.
            self._file.truncate()
        except OSError as error:
            raise OutputWriteError(self.path, error) from None

    def append(self, record: dict) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        try:
            self._file.write(line.encode("utf-8"))
            # Flushed per line so a killed run loses at most the line in flight.
            self._file.flush()
        except OSError as error:
            raise OutputWriteError(self.path, error) from None

    def close(self) -> None:
        try:
            self._file.close()
        except OSError as error:
            raise OutputWriteError(self.path, error) from None


def scan_records(folder: Path, name: str = PROGRESS_NAME) -> Iterator[tuple[int, dict]]:
    """Yield the byte offset and content of every finished-source line, in file order.

    Stops at a last line that has no newline. A whole line that is not valid
    JSON (a damaged file) is skipped, so its source is cropped again.
    """
    with (folder / name).open("rb") as file:
        offset = len(file.readline())
        for line in file:
            if not line.endswith(b"\n"):
                return
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                record = None
            if isinstance(record, dict) and "source" in record:
                yield offset, record
            offset += len(line)


class RecordReader:
    """Random access to progress lines by the offsets `scan_records` yields."""

    def __init__(self, folder: Path, name: str = PROGRESS_NAME):
        self._file = (folder / name).open("rb")

    def read(self, offset: int) -> dict:
        self._file.seek(offset)
        return json.loads(self._file.readline())

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "RecordReader":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def latest_records(folder: Path, name: str = PROGRESS_NAME) -> list[dict]:
    """Return the last line of every source in a progress file, sorted by source."""
    latest = {record["source"]: record for _, record in scan_records(folder, name)}
    return [latest[source] for source in sorted(latest)]


def crop_and_record(src: Path, dst: Path, job: CropJob, settings: CropSettings) -> dict:
    """Crop one source and return its progress line.

    The line is `crop_source`'s result, which contains the size of every
    crop written, plus the source's size and modification time, taken before it
    is read, which a resumed run checks. They are not added for a URL, which
    --resume does not accept.

    Raises:
        OutputWriteError: when DST cannot be written, which stops the run.
    """
    source_stat = None
    if not is_remote(src):
        # crop_source reports an unreadable file as failed.
        with suppress(OSError):
            source_stat = os.stat(src / job.source)

    pause_if_requested(f"before-crop:{job.source}")
    result = crop_source(src, dst, job, settings)

    if source_stat is not None:
        result["source_stat"] = {
            "size": source_stat.st_size,
            "mtime_ns": source_stat.st_mtime_ns,
        }
    return result


def _end_of_last_line(file) -> int:
    """Return the offset just past the last newline of a binary file."""
    end = file.seek(0, os.SEEK_END)
    position = end
    block = 4096
    while position > 0:
        start = max(0, position - block)
        file.seek(start)
        chunk = file.read(position - start)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            return start + newline + 1
        position = start
    return 0
