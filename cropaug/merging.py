"""Merge the parts of a sharded run into the manifest a single run would write."""

import os
import time
from pathlib import Path

from cropaug.errors import CropaugError
from cropaug.files import TEMP_PREFIX, TEMP_SUFFIX, remove_temp_files
from cropaug.manifest import MANIFEST_NAME
from cropaug.parts import (
    PART_PATTERN,
    PARTS_FOLDER,
    PROGRESS_PATTERN,
    read_part,
    read_part_header,
)
from cropaug.remote import location, remove_tree
from cropaug.shards import Shard, discovery_digest, params_differences
from cropaug.summary import ExpandSummary, write_run_manifest


class MergeError(CropaugError):
    """The parts in DST cannot be merged into one manifest."""


def merge(dst: str | os.PathLike) -> ExpandSummary:
    """Check the K parts of a sharded run in DST, then write its manifest.

    The parts must all be present, come from shards of one run (same shard
    count, parameters, sources and library versions), and together cover
    every source exactly once. The manifest is then byte-identical to the
    one a single run writes, and `DST/_parts` is removed, with any temporary
    file that a stopped shard left behind.

    Raises:
        MergeError: naming the missing, duplicated or mismatched part.
    """
    started = time.perf_counter()
    dst_path = location(dst)
    parts_folder = dst_path / PARTS_FOLDER
    if not parts_folder.is_dir():
        if (dst_path / MANIFEST_NAME).exists():
            raise MergeError(
                f"DST {dst_path} has no {PARTS_FOLDER} folder but a "
                f"{MANIFEST_NAME}; it is already merged"
            )
        raise MergeError(
            f"DST {dst_path} has no {PARTS_FOLDER} folder; run `cropaug expand "
            "SRC DST --shard I/K` for every I from 0 to K-1 first"
        )

    paths = _part_paths(parts_folder)
    headers = {path: read_part_header(path) for path in paths}
    count = _shard_count(parts_folder, paths)
    for index in range(count):
        path = parts_folder / Shard(index, count).part_name
        if path not in headers:
            raise MergeError(_missing_message(parts_folder, Shard(index, count)))
    for path, header in headers.items():
        _check_header_shard(path, header)

    first = headers[paths[0]]
    for path in paths[1:]:
        _check_same_run(paths[0], first, path, headers[path])
    _check_versions(paths[0], first)

    results: list[dict] = []
    skipped_files: list[dict] = []
    owner: dict[str, Path] = {}
    for path in paths:
        part = read_part(path)
        shard = Shard(*part["part"]["shard"])
        for record in part["results"] + part["skipped_files"]:
            _check_owner(path, shard, record["source"], owner)
        results += part["results"]
        skipped_files += part["skipped_files"]
    results.sort(key=lambda result: result["source"])
    skipped_files.sort(key=lambda skipped: skipped["source"])
    _check_coverage(dst_path, first, results, skipped_files)

    summary = write_run_manifest(
        dst_path, first["params"], first["classes"], results, skipped_files
    )
    remove_tree(parts_folder)
    remove_temp_files(dst_path)
    summary.seconds = time.perf_counter() - started
    return summary


def _part_paths(parts_folder: Path) -> list[Path]:
    paths = []
    for path in parts_folder.iterdir():
        name = path.name
        if name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX):
            continue
        if PART_PATTERN.match(name):
            paths.append(path)
        elif not PROGRESS_PATTERN.match(name):
            raise MergeError(
                f"{path} is not a part of a shard run; remove it and merge again"
            )
    if not paths:
        raise MergeError(
            f"{parts_folder} contains no part file; wait until the shard runs "
            "finish, or rerun them"
        )
    return sorted(paths, key=lambda path: _shard_of_name(path.name))


def _shard_of_name(name: str) -> tuple[int, int]:
    match = PART_PATTERN.match(name)
    assert match is not None
    return int(match.group(2)), int(match.group(1))


def _shard_count(parts_folder: Path, paths: list[Path]) -> int:
    counts = sorted({_shard_of_name(path.name)[0] for path in paths})
    if len(counts) > 1:
        listed = ", ".join(str(count) for count in counts)
        raise MergeError(
            f"{parts_folder} contains parts of runs split into {listed} shards; "
            "remove the parts of the runs you do not want and merge again"
        )
    return counts[0]


def _missing_message(parts_folder: Path, shard: Shard) -> str:
    path = parts_folder / shard.part_name
    state = "was not written"
    if (parts_folder / shard.progress_name).exists():
        state = "was not written (the shard is still running or was stopped)"
    return (
        f"missing part {shard}: {path} {state}; run the same `cropaug expand` "
        f"command with --shard {shard}, then merge again"
    )


def _check_header_shard(path: Path, header: dict) -> None:
    index, count = _shard_of_name(path.name)[::-1]
    recorded = header.get("shard")
    if recorded != [index, count]:
        recorded_text = "/".join(str(number) for number in recorded or [])
        raise MergeError(
            f"duplicated part: {path} records shard {recorded_text}, not "
            f"{index}/{count}; delete it, run the same `cropaug expand` command with "
            f"--shard {index}/{count}, then merge again"
        )


def _check_same_run(first_path: Path, first: dict, path: Path, header: dict) -> None:
    if header["params"] != first["params"]:
        differences = params_differences(header["params"], first["params"])
        raise MergeError(
            f"{path.name} and {first_path.name} have different parameters "
            f"({path.name} has {differences}); rerun shard "
            f"{'/'.join(map(str, header['shard']))} with the options of the others"
        )
    if (
        header["classes"] != first["classes"]
        or header["discovery"] != first["discovery"]
    ):
        raise MergeError(
            f"{path.name} and {first_path.name} were run over different sources "
            f"({header['discovery']['sources']} and "
            f"{first['discovery']['sources']} sources); SRC changed between "
            "shard runs, so rerun every shard into an empty DST"
        )
    for key in ("cropaug_version", "library_versions"):
        if header[key] != first[key]:
            raise MergeError(
                f"{path.name} was written with {key} {header[key]} and "
                f"{first_path.name} with {first[key]}; crops from different "
                "versions may differ, so rerun every shard with one install"
            )


def _check_versions(path: Path, header: dict) -> None:
    """Reject parts written by other versions than this install.

    The manifest records this install's versions, so they must be the ones
    that wrote the crops.
    """
    from cropaug import __version__
    from cropaug.manifest import library_versions

    ours = {"cropaug_version": __version__, "library_versions": library_versions()}
    for key, value in ours.items():
        if header[key] != value:
            raise MergeError(
                f"{path.name} was written with {key} {header[key]}, but this "
                f"merge runs {value}; run merge with the install the shards "
                "ran with"
            )


def _check_owner(path: Path, shard: Shard, source: str, owner: dict) -> None:
    if source in owner:
        raise MergeError(
            f"overlapping parts: {source} is in {owner[source].name} and "
            f"{path.name}; delete both, rerun those shards, then merge again"
        )
    if not shard.owns(source):
        raise MergeError(
            f"{path.name} contains {source}, which belongs to another shard; "
            f"delete it, rerun shard {shard}, then merge again"
        )
    owner[source] = path


def _check_coverage(
    dst: Path, header: dict, results: list[dict], skipped_files: list[dict]
) -> None:
    discovery = header["discovery"]
    digest = discovery_digest(
        header["classes"],
        (result["source"] for result in results),
        (skipped["source"] for skipped in skipped_files),
    )
    if digest != discovery["sha256"]:
        raise MergeError(
            f"the parts in {dst / PARTS_FOLDER} cover {len(results)} of "
            f"{discovery['sources']} sources and {len(skipped_files)} of "
            f"{discovery['skipped']} skipped files; a part is incomplete, so "
            "delete the parts, rerun every shard, then merge again"
        )
