"""Read and write part files, the record that one shard run leaves in DST/_parts.

A part file is JSON whose first line contains the header (shard, params,
classes, discovery digest, versions), so another shard can check it without
reading the results. The results follow, one record per line.
"""

import json
import re
from pathlib import Path

from cropaug.errors import CropaugError
from cropaug.files import open_atomic

PARTS_FOLDER = "_parts"
PART_FORMAT_VERSION = 1

PART_PATTERN = re.compile(r"^part-(\d+)-of-(\d+)\.json$")
PROGRESS_PATTERN = re.compile(r"^part-(\d+)-of-(\d+)\.progress\.jsonl$")
_HEADER_OPENING = '{"part": '


def write_part(
    path: Path, header: dict, results: list[dict], skipped_files: list[dict]
) -> None:
    """Write a part file atomically: the header line, then one record per line.

    `results` are the shard's crop result records and `skipped_files` the
    files of its share of SRC that discovery skipped, both sorted by source.
    """
    with open_atomic(path) as file:
        file.write(f"{_HEADER_OPENING}{_dumps(header)},\n")
        _write_records(file, "skipped_files", skipped_files)
        file.write(",\n")
        _write_records(file, "results", results)
        file.write("}\n")


def read_part_header(path: Path) -> dict:
    """Read the header line of a part file.

    Raises:
        CropaugError: when the file cannot be read or is not a part file.
    """
    try:
        with path.open(encoding="utf-8") as file:
            line = file.readline()
    except (OSError, UnicodeDecodeError) as error:
        raise CropaugError(f"cannot read {path}: {error}") from None
    if not line.startswith(_HEADER_OPENING):
        raise CropaugError(f"{path} is not a cropaug part file; remove it")
    try:
        header, _ = json.JSONDecoder().raw_decode(line, len(_HEADER_OPENING))
    except json.JSONDecodeError as error:
        raise CropaugError(f"{path} is not a cropaug part file ({error})") from None
    _check_part_version(path, header)
    return header


def read_part(path: Path) -> dict:
    """Read a whole part file: `part` (the header), `skipped_files` and `results`.

    Raises:
        CropaugError: when the file cannot be read or is not a part file.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CropaugError(f"cannot read {path}: {error}") from None
    try:
        part = json.loads(text)
    except json.JSONDecodeError as error:
        raise CropaugError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(part, dict) or not {"part", "skipped_files", "results"} <= set(
        part
    ):
        raise CropaugError(f"{path} is not a cropaug part file; remove it")
    _check_part_version(path, part["part"])
    return part


def _check_part_version(path: Path, header: dict) -> None:
    version = header.get("format_version") if isinstance(header, dict) else None
    if version != PART_FORMAT_VERSION:
        raise CropaugError(
            f"{path} has part format_version {version!r}; this cropaug reads "
            f"version {PART_FORMAT_VERSION}, so rerun that shard with it"
        )


def read_progress_header(path: Path) -> dict | None:
    """Read the header line of a shard's progress record; None until it is written."""
    try:
        with path.open(encoding="utf-8") as file:
            line = file.readline()
    except (OSError, UnicodeDecodeError) as error:
        raise CropaugError(f"cannot read {path}: {error}") from None
    if not line.endswith("\n"):
        return None
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        raise CropaugError(
            f"{path} is not a cropaug progress record; remove it"
        ) from None


def _write_records(file, key: str, records: list[dict]) -> None:
    if not records:
        file.write(f'"{key}": []')
        return
    rows = ",\n".join(_dumps(record) for record in records)
    file.write(f'"{key}": [\n{rows}\n]')


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)
