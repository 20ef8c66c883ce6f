"""Split a run into shards that any scheduler can run, and record each shard's part.

Shard I of K crops the sources whose path hash falls in shard I, into the
DST that all shards share, and then writes `DST/_parts/part-I-of-K.json`.
Shards are numbered from 0, so a Slurm array `--array=0-{K-1}` maps
`$SLURM_ARRAY_TASK_ID` straight to I. `cropaug merge` turns the K parts into
the manifest a single run would have written.

A part file is JSON whose first line contains the header (shard, params,
classes, discovery digest, versions), so another shard can check it without
reading the results. Every shard discovers the whole of SRC, so output names
and the discovery digest are the same in every shard.
"""

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cropaug.discover import Discovery
from cropaug.errors import CropaugError, DestinationError
from cropaug.files import TEMP_PREFIX, TEMP_SUFFIX, OutputWriteError, open_atomic
from cropaug.manifest import MANIFEST_NAME

PARTS_FOLDER = "_parts"
PART_FORMAT_VERSION = 1

PART_PATTERN = re.compile(r"^part-(\d+)-of-(\d+)\.json$")
PROGRESS_PATTERN = re.compile(r"^part-(\d+)-of-(\d+)\.progress\.jsonl$")
_SHARD_PATTERN = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
_HEADER_OPENING = '{"part": '


@dataclass(frozen=True)
class Shard:
    """Shard `index` (0-based) of `count` shards."""

    index: int
    count: int

    def __post_init__(self):
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(
                f"shard {self.index}/{self.count} is out of range; I must be "
                f"0 to K-1 (shards are numbered from 0), such as 0/{max(self.count, 1)}"
            )

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @property
    def part_name(self) -> str:
        return f"part-{self.index}-of-{self.count}.json"

    @property
    def progress_name(self) -> str:
        return f"part-{self.index}-of-{self.count}.progress.jsonl"

    def owns(self, source: str) -> bool:
        """Return whether `source` (a path relative to SRC) belongs to this shard."""
        return shard_of(source, self.count) == self.index


def parse_shard(text: str) -> Shard:
    """Parse `I/K` into a Shard.

    Raises:
        ValueError: when the text is not two integers with 0 <= I < K.
    """
    match = _SHARD_PATTERN.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a shard; use I/K such as 0/3")
    return Shard(int(match.group(1)), int(match.group(2)))


def shard_of(source: str, count: int) -> int:
    """Return the shard (0 to count-1) of a source path relative to SRC.

    Uses SHA-256 of the UTF-8 path, so every machine and Python version
    assigns a source to the same shard.
    """
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count


def discovery_digest(
    classes: Iterable[str], sources: Iterable[str], skipped: Iterable[str]
) -> str:
    """Return the SHA-256 of a discovery's classes, source paths and skipped paths.

    Each argument must be sorted as `discover_sources` sorts it. Merge
    recomputes this digest from the parts to prove that they cover SRC with
    no gap.
    """
    digest = hashlib.sha256()
    for kind, names in (("class", classes), ("source", sources), ("skipped", skipped)):
        for name in names:
            # JSON quoting keeps names with newlines from running together.
            digest.update(json.dumps([kind, name], ensure_ascii=False).encode())
            digest.update(b"\n")
    return digest.hexdigest()


def shard_header(shard: Shard, params: dict, discovery: Discovery) -> dict:
    """Return the header that the shard's progress record and part file start with."""
    from cropaug import __version__
    from cropaug.manifest import library_versions

    digest = discovery_digest(
        discovery.classes,
        (source.path for source in discovery.sources),
        (skipped.source for skipped in discovery.skipped),
    )
    return {
        "format_version": PART_FORMAT_VERSION,
        "shard": [shard.index, shard.count],
        "params": params,
        "classes": discovery.classes,
        "discovery": {
            "sources": len(discovery.sources),
            "skipped": len(discovery.skipped),
            "sha256": digest,
        },
        "cropaug_version": __version__,
        "library_versions": library_versions(),
    }


def check_shard_destination(dst: Path, shard: Shard, header: dict) -> Path | None:
    """Check that a shard may write into DST, and return its part if already written.

    DST may be missing or empty, or contain class folders of SRC and a
    `_parts` folder whose parts and progress records are from shards of the
    same run: same shard count, parameters and sources.

    Raises:
        DestinationError: naming the entry or part that does not fit.
    """
    if not dst.exists():
        return None
    classes = set(header["classes"])
    for child in sorted(dst.iterdir()):
        if child.name == MANIFEST_NAME:
            raise DestinationError(
                f"DST {dst} contains a finished run ({MANIFEST_NAME}); shard runs "
                "need an empty DST or one that contains only other shards of the "
                "same run, so choose another folder or delete this one"
            )
        is_folder = child.is_dir() and not child.is_symlink()
        if is_folder and (child.name == PARTS_FOLDER or child.name in classes):
            continue
        raise DestinationError(
            f"DST {dst} contains {child.name}, which is neither a class folder of "
            f"SRC nor {PARTS_FOLDER}; shard runs need an empty DST or one that "
            "contains only other shards of the same run"
        )

    parts = dst / PARTS_FOLDER
    if not parts.is_dir():
        return None
    finished = None
    for path in sorted(parts.iterdir()):
        if path.name.startswith(TEMP_PREFIX) and path.name.endswith(TEMP_SUFFIX):
            continue
        if PART_PATTERN.match(path.name):
            other = read_part_header(path)
        elif PROGRESS_PATTERN.match(path.name):
            other = _read_progress_header(path)
            if other is None:
                # A shard that has just created its record but not yet written
                # the header line.
                continue
        else:
            raise DestinationError(
                f"{path} is not a part of a shard run; remove it or choose another DST"
            )
        _check_same_run(dst, path, other, header)
        if PART_PATTERN.match(path.name) and tuple(other["shard"]) == (
            shard.index,
            shard.count,
        ):
            finished = path
    return finished


def _check_same_run(dst: Path, path: Path, other: dict, header: dict) -> None:
    count = header["shard"][1]
    other_count = other.get("shard", [None, None])[1]
    if other_count != count:
        raise DestinationError(
            f"DST {dst} contains a part of a run split into {other_count} shards "
            f"({path.name}); pass --shard I/{other_count}, or choose another DST"
        )
    if other.get("params") != header["params"]:
        differences = params_differences(other.get("params", {}), header["params"])
        raise DestinationError(
            f"DST {dst} contains a part of a run with other parameters "
            f"({path.name} has {differences}); pass the same options as the "
            "other shards, or choose another DST"
        )
    if other.get("discovery") != header["discovery"]:
        theirs = other.get("discovery", {}).get("sources")
        raise DestinationError(
            f"DST {dst} contains a part of a run over other sources ({path.name} "
            f"found {theirs} sources, this shard {header['discovery']['sources']}); "
            "SRC changed since that shard ran, so rerun every shard into an "
            "empty DST"
        )


def params_differences(theirs: dict, ours: dict) -> str:
    """Describe how two params dicts differ, as `seed 1 instead of 0`."""
    keys = sorted(set(theirs) | set(ours))
    return ", ".join(
        f"{key} {theirs.get(key)!r} instead of {ours.get(key)!r}"
        for key in keys
        if theirs.get(key) != ours.get(key)
    )


def prepare_shard_destination(dst: Path, classes: list[str]) -> None:
    """Create DST, every class folder and `_parts`, keeping what other shards wrote.

    Every shard creates every class folder, so a class whose sources all
    fall into other shards, or that has none, still gets its folder.
    """
    for folder in [*(dst / name for name in classes), dst / PARTS_FOLDER]:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputWriteError(folder, error) from None


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


def _read_progress_header(path: Path) -> dict | None:
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
