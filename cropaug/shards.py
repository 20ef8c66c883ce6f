"""Split a run into shards that any scheduler can run, and record each shard's part.

Shard I of K crops the sources whose path hash falls in shard I, into the
DST that all shards share, and then writes `DST/_parts/part-I-of-K.json`.
Shards are numbered from 0, so a Slurm array `--array=0-{K-1}` maps
`$SLURM_ARRAY_TASK_ID` straight to I. `cropaug merge` turns the K parts into
the manifest a single run would have written.

Every shard discovers the whole of SRC, so output names and the discovery
digest are the same in every shard.
"""

import hashlib
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cropaug.discover import Discovery
from cropaug.errors import DestinationError, InvalidParameterError
from cropaug.files import TEMP_PREFIX, TEMP_SUFFIX, OutputWriteError
from cropaug.manifest import MANIFEST_NAME
from cropaug.parts import (
    PART_FORMAT_VERSION,
    PART_PATTERN,
    PARTS_FOLDER,
    PROGRESS_PATTERN,
    read_part,
    read_part_header,
    read_progress_header,
    write_part,
)
from cropaug.progress import latest_records
from cropaug.remote import progress_folder
from cropaug.summary import ExpandSummary, summarise

_SHARD_PATTERN = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")

# Fields of a progress line that only a resumed run reads.
_RESUME_KEYS = ("source_stat", "sizes")


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
            other = read_progress_header(path)
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


def validate_shard(
    shard: Shard | str | tuple[int, int] | None, seed: int | None, overwrite: bool
) -> Shard | None:
    """Return the Shard that `shard` gives, or None for an unsharded run.

    Raises:
        InvalidParameterError: for an invalid shard, a missing seed, or
            `overwrite`, which a shard run cannot use.
    """
    if shard is None:
        return None
    try:
        if isinstance(shard, str):
            shard = parse_shard(shard)
        elif not isinstance(shard, Shard):
            shard = Shard(*shard)
    except (TypeError, ValueError) as error:
        raise InvalidParameterError(f"invalid shard: {error}") from None
    if seed is None:
        raise InvalidParameterError(
            "a shard run needs an explicit seed, because every shard would draw "
            "its own; pass the same seed to every shard"
        )
    if overwrite:
        raise InvalidParameterError(
            "overwrite cannot be combined with a shard, because shards share "
            "DST and each would delete the others' crops; empty DST first"
        )
    return shard


def finish_shard(dst: Path, shard: Shard, header: dict, discovery) -> ExpandSummary:
    """Write the shard's part file from its progress record, then remove the record.

    A source redone by a resumed shard has several lines; the last counts.
    The part keeps each line without the file sizes and times that only
    `--resume` reads.
    """
    parts = dst / PARTS_FOLDER
    log_folder = progress_folder(parts)
    owned = {source.path for source in discovery.sources if shard.owns(source.path)}
    results = [
        {key: value for key, value in record.items() if key not in _RESUME_KEYS}
        for record in latest_records(log_folder, shard.progress_name)
        if record["source"] in owned
    ]
    skipped_files = [
        {"source": skipped.source, "reason": skipped.reason}
        for skipped in discovery.skipped
        if shard.owns(skipped.source)
    ]
    write_part(parts / shard.part_name, header, results, skipped_files)
    (log_folder / shard.progress_name).unlink()
    return summarise(dst, header["params"], header["classes"], results, skipped_files)


def summarise_part(dst: Path, shard: Shard, started: float) -> ExpandSummary:
    """Return the summary of a shard whose part file already exists."""
    part = read_part(dst / PARTS_FOLDER / shard.part_name)
    header = part["part"]
    summary = summarise(
        dst, header["params"], header["classes"], part["results"], part["skipped_files"]
    )
    summary.shard = shard
    summary.already_finished = True
    summary.seconds = time.perf_counter() - started
    return summary
