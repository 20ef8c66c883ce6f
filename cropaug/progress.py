"""Record finished sources while a run is going, so the manifest can be built last.

The record is one hidden file, `DST/.cropaug-progress.jsonl`: a header line
with the run's parameters, then one JSON line per finished source, appended
only after all of that source's crops have their final names. A file rather
than a folder, so dataset loaders never take it for a class. It is removed
once the manifest is written.
"""

import json
from pathlib import Path

from cropaug.files import OutputWriteError

PROGRESS_NAME = ".cropaug-progress.jsonl"


class ProgressLog:
    """Append-only writer of the progress record."""

    def __init__(self, dst: Path, header: dict, name: str = PROGRESS_NAME):
        self.path = dst / name
        try:
            self._file = self.path.open("w", encoding="utf-8", newline="\n")
        except OSError as error:
            raise OutputWriteError(self.path, error) from None
        self.append(header)

    def append(self, record: dict) -> None:
        try:
            self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
            # Flushed per line so a killed run loses at most the line in flight.
            self._file.flush()
        except OSError as error:
            raise OutputWriteError(self.path, error) from None

    def close(self) -> None:
        self._file.close()


def read_progress(dst: Path, name: str = PROGRESS_NAME) -> tuple[dict, list[dict]]:
    """Return the header and the finished-source records of a progress file.

    A last line cut short by a kill is ignored. A shard run keeps its record
    under another `name`, in `DST/_parts` or, for a URL, in a local folder.
    """
    path = dst / name
    lines = path.read_text(encoding="utf-8").split("\n")
    records = []
    for line in lines:
        if not line:
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return records[0], records[1:]
