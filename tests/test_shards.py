"""Shard runs and `cropaug merge`: same bytes as one run, clear errors on bad parts."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from cropaug.cli import cli
from cropaug.errors import DestinationError, InvalidParameterError
from cropaug.expansion import expand
from cropaug.merging import MergeError, merge
from cropaug.parts import PARTS_FOLDER
from cropaug.shards import Shard, parse_shard, shard_of

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DATA = REPO / "sample_data"
ODD = REPO / "tests" / "data" / "odd"
OPTIONS = {"size": 64, "n": 3, "seed": 7, "workers": 1}
CLI_OPTIONS = ["--size", "64", "--n", "3", "--seed", "7", "--workers", "1", "-q"]


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Map every file under root, by POSIX path relative to root, to its bytes."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Path:
    """A tree with real photos, a broken and a too-small image, a non-image and
    an empty class, so every kind of result record crosses a merge."""
    root = tmp_path_factory.mktemp("src")
    for class_folder in SAMPLE_DATA.iterdir():
        if class_folder.is_dir():
            shutil.copytree(class_folder, root / class_folder.name)
    shutil.copy(SAMPLE_DATA / "LICENSES.md", root / "LICENSES.md")
    odd = root / "odd"
    odd.mkdir()
    for name in ("broken.png", "tiny.png", "hopper_gray.jpg", "transparent.png"):
        shutil.copy(ODD / name, odd / name)
    (odd / "notes.txt").write_text("not an image\n")
    (odd / "nested").mkdir()
    Image.new("RGB", (80, 70), (10, 200, 30)).save(odd / "nested" / "green.png")
    (root / "empty").mkdir()
    return root


@pytest.fixture(scope="module")
def single_run(src, tmp_path_factory) -> dict[str, bytes]:
    dst = tmp_path_factory.mktemp("single") / "out"
    expand(src, dst, **OPTIONS)
    return tree_bytes(dst)


@pytest.fixture(scope="module")
def sharded(src, tmp_path_factory) -> Path:
    """DST after shard runs 2/3, 1/3 and 0/3, not yet merged."""
    dst = tmp_path_factory.mktemp("sharded") / "out"
    for index in (2, 1, 0):
        expand(src, dst, shard=f"{index}/3", **OPTIONS)
    return dst


@pytest.fixture
def sharded_copy(sharded, tmp_path) -> Path:
    dst = tmp_path / "out"
    shutil.copytree(sharded, dst)
    return dst


def merge_error(dst: Path) -> str:
    result = CliRunner().invoke(cli, ["merge", str(dst)])
    assert result.exit_code == 1, result.output
    return result.output.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "source", ["scenes/astronaut.png", "odd/tiny.png", "été/ü.jpg"]
)
def test_shard_of_uses_sha256(source):
    # The first 8 bytes of SHA-256 of the UTF-8 path, so no Python hash seed,
    # machine or version changes a source's shard.
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    assert shard_of(source, 7) == int(digest[:16], 16) % 7


def test_shard_of_covers_every_shard(src):
    paths = [path.relative_to(src).as_posix() for path in src.rglob("*.*")]
    assert {shard_of(path, 3) for path in paths} == {0, 1, 2}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0/1", Shard(0, 1)), ("2/3", Shard(2, 3)), (" 1 / 4 ", Shard(1, 4))],
)
def test_parse_shard_valid(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["3/3", "0/0", "1", "-1/3", "a/b", "1/2/3"])
def test_parse_shard_invalid(text):
    with pytest.raises(ValueError):
        parse_shard(text)


def test_shards_write_no_manifest_before_merge(sharded):
    assert not (sharded / "manifest.json").exists()


def test_shards_write_one_part_each(sharded):
    parts = sorted(path.name for path in (sharded / PARTS_FOLDER).iterdir())
    assert parts == ["part-0-of-3.json", "part-1-of-3.json", "part-2-of-3.json"]


def test_merge_matches_single_run(sharded_copy, single_run):
    merge(sharded_copy)
    merged = tree_bytes(sharded_copy)
    assert sorted(merged) == sorted(single_run)
    assert merged["manifest.json"] == single_run["manifest.json"]
    assert merged == single_run


def test_merge_removes_parts_folder(sharded_copy, src):
    merge(sharded_copy)
    children = sorted(child.name for child in sharded_copy.iterdir())
    classes = sorted(child.name for child in src.iterdir() if child.is_dir())
    assert children == sorted([*classes, "manifest.json"])


def test_merge_summary_counts_failures(sharded_copy):
    summary = merge(sharded_copy)
    assert [failure["source"] for failure in summary.failed] == ["odd/broken.png"]


def test_merge_cli_prints_summary(sharded_copy):
    result = CliRunner().invoke(cli, ["merge", str(sharded_copy)])
    # odd/broken.png failed in its shard, so merge exits 1 like expand.
    assert result.exit_code == 1
    assert result.stdout.startswith("images 14, crops 42, skipped 3, failed 1, ")


def test_every_shard_creates_every_class_folder(src, tmp_path):
    dst = tmp_path / "out"
    expand(src, dst, shard="1/3", **OPTIONS)
    classes = sorted(child.name for child in src.iterdir() if child.is_dir())
    assert sorted(child.name for child in dst.iterdir()) == sorted(
        [*classes, PARTS_FOLDER]
    )


def test_finished_shard_is_not_redone(src, sharded_copy):
    crop = next((sharded_copy / "scenes").iterdir())
    crop.unlink()
    expand(src, sharded_copy, shard="0/3", **OPTIONS)
    expand(src, sharded_copy, shard="1/3", **OPTIONS)
    expand(src, sharded_copy, shard="2/3", **OPTIONS)
    assert not crop.exists()


def test_merge_missing_part_message(sharded_copy):
    part = sharded_copy / PARTS_FOLDER / "part-1-of-3.json"
    part.unlink()
    assert merge_error(sharded_copy) == (
        f"Error: missing part 1/3: {part} was not written; run the same "
        "`cropaug expand` command with --shard 1/3, then merge again"
    )


def test_merge_missing_part_raises(sharded_copy):
    (sharded_copy / PARTS_FOLDER / "part-0-of-3.json").unlink()
    with pytest.raises(MergeError, match=r"^missing part 0/3: "):
        merge(sharded_copy)


def test_merge_missing_part_still_running(sharded_copy):
    parts = sharded_copy / PARTS_FOLDER
    (parts / "part-2-of-3.json").unlink()
    (parts / "part-2-of-3.progress.jsonl").write_text("")
    assert merge_error(sharded_copy) == (
        f"Error: missing part 2/3: {parts / 'part-2-of-3.json'} was not written "
        "(the shard is still running or was stopped); run the same "
        "`cropaug expand` command with --shard 2/3, then merge again"
    )


def test_merge_duplicated_part_message(sharded_copy):
    parts = sharded_copy / PARTS_FOLDER
    shutil.copy(parts / "part-0-of-3.json", parts / "part-1-of-3.json")
    assert merge_error(sharded_copy) == (
        f"Error: duplicated part: {parts / 'part-1-of-3.json'} records shard 0/3, "
        "not 1/3; delete it, run the same `cropaug expand` command with "
        "--shard 1/3, then merge again"
    )


def test_merge_overlapping_parts_message(sharded_copy):
    parts = sharded_copy / PARTS_FOLDER
    first = json.loads((parts / "part-0-of-3.json").read_text())
    record = first["results"][0]
    rewrite_part(
        parts / "part-1-of-3.json", lambda part: part["results"].append(record)
    )
    assert merge_error(sharded_copy) == (
        f"Error: overlapping parts: {record['source']} is in part-0-of-3.json and "
        "part-1-of-3.json; delete both, rerun those shards, then merge again"
    )


def test_merge_gap_message(sharded_copy):
    parts = sharded_copy / PARTS_FOLDER
    rewrite_part(parts / "part-2-of-3.json", lambda part: part["results"].pop())
    assert merge_error(sharded_copy) == (
        f"Error: the parts in {parts} cover 15 of 16 sources and 2 of 2 skipped "
        "files; a part is incomplete, so delete the parts, rerun every shard, "
        "then merge again"
    )


def test_merge_different_params_message(src, sharded_copy, tmp_path):
    other = tmp_path / "other"
    expand(src, other, shard="1/3", **{**OPTIONS, "n": 2})
    shutil.copy(
        other / PARTS_FOLDER / "part-1-of-3.json",
        sharded_copy / PARTS_FOLDER / "part-1-of-3.json",
    )
    assert merge_error(sharded_copy) == (
        "Error: part-1-of-3.json and part-0-of-3.json have different parameters "
        "(part-1-of-3.json has n 2 instead of 3); rerun shard 1/3 with the "
        "options of the others"
    )


def test_merge_mixed_shard_counts_message(src, sharded_copy, tmp_path):
    other = tmp_path / "other"
    expand(src, other, shard="0/2", **OPTIONS)
    parts = sharded_copy / PARTS_FOLDER
    shutil.copy(other / PARTS_FOLDER / "part-0-of-2.json", parts)
    assert merge_error(sharded_copy) == (
        f"Error: {parts} contains parts of runs split into 2, 3 shards; remove the "
        "parts of the runs you do not want and merge again"
    )


def test_merge_without_parts_message(tmp_path):
    assert merge_error(tmp_path) == (
        f"Error: DST {tmp_path} has no {PARTS_FOLDER} folder; run `cropaug "
        "expand SRC DST --shard I/K` for every I from 0 to K-1 first"
    )


def test_merge_twice_message(sharded_copy):
    merge(sharded_copy)
    assert merge_error(sharded_copy) == (
        f"Error: DST {sharded_copy} has no {PARTS_FOLDER} folder but a "
        "manifest.json; it is already merged"
    )


def test_shard_rejects_other_params(src, sharded_copy):
    (sharded_copy / PARTS_FOLDER / "part-1-of-3.json").unlink()
    with pytest.raises(DestinationError, match="n 3 instead of 2"):
        expand(src, sharded_copy, shard="1/3", **{**OPTIONS, "n": 2})


def test_shard_rejects_other_shard_count(src, sharded_copy):
    with pytest.raises(DestinationError, match=r"pass --shard I/3"):
        expand(src, sharded_copy, shard="1/2", **OPTIONS)


def test_shard_rejects_foreign_entry(src, tmp_path):
    dst = tmp_path / "out"
    dst.mkdir()
    (dst / "holiday.jpg").write_bytes(b"")
    with pytest.raises(DestinationError, match=r"contains holiday\.jpg"):
        expand(src, dst, shard="0/3", **OPTIONS)


def test_shard_rejects_merged_destination(src, sharded_copy):
    merge(sharded_copy)
    with pytest.raises(DestinationError, match="contains a finished run"):
        expand(src, sharded_copy, shard="0/3", **OPTIONS)


def test_shard_needs_seed(src, tmp_path):
    options = {key: value for key, value in OPTIONS.items() if key != "seed"}
    with pytest.raises(InvalidParameterError, match="needs an explicit seed"):
        expand(src, tmp_path / "out", shard="0/3", **options)


def test_shard_cli_invalid_value(src, tmp_path):
    result = CliRunner().invoke(
        cli, ["expand", str(src), str(tmp_path / "out"), *CLI_OPTIONS, "--shard", "3/3"]
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        "Error: Invalid value for '--shard': shard 3/3 is out of range; I must be "
        "0 to K-1 (shards are numbered from 0), such as 0/3"
    )


def test_shard_cli_rejects_overwrite(src, tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "expand",
            str(src),
            str(tmp_path / "out"),
            *CLI_OPTIONS,
            "--shard",
            "0/3",
            "--overwrite",
        ],
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        "Error: overwrite cannot be combined with a shard, because shards share "
        "DST and each would delete the others' crops; empty DST first"
    )


def test_shard_cli_reports_part(src, tmp_path):
    dst = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["expand", str(src), str(dst), *CLI_OPTIONS, "--shard", "0/3"]
    )
    assert result.exit_code == 0, result.output
    assert result.stderr.strip().splitlines()[-1] == (
        f"wrote {dst / PARTS_FOLDER / 'part-0-of-3.json'}; run `cropaug merge "
        f"{dst}` once all 3 shards have finished"
    )


def rewrite_part(path: Path, change) -> None:
    """Apply `change` to a part file's JSON, keeping its header on the first line."""
    part = json.loads(path.read_text())
    change(part)
    header = json.dumps(part["part"], ensure_ascii=False)
    rest = json.dumps(
        {"skipped_files": part["skipped_files"], "results": part["results"]},
        ensure_ascii=False,
    )
    path.write_text(f'{{"part": {header},\n{rest[1:]}\n')


def test_finished_shard_rerun_says_found(src, sharded_copy):
    part = sharded_copy / PARTS_FOLDER / "part-0-of-3.json"
    before = part.read_bytes()
    args = ["expand", str(src), str(sharded_copy), *CLI_OPTIONS, "--shard", "0/3"]

    result = CliRunner().invoke(cli, args)

    assert result.exit_code == 0, result.output
    assert f"found {part}; run `cropaug merge" in result.stderr
    assert part.read_bytes() == before


def test_shards_with_masks_match_single_run(tmp_path):
    from mode_runs import build_sources

    source_root, label_root = build_sources(tmp_path / "data")
    options = {**OPTIONS, "size": 16, "masks": label_root}
    single = tmp_path / "single" / "out"
    expand(source_root, single, **options)
    sharded_dst = tmp_path / "sharded" / "out"

    for index in (1, 0):
        expand(source_root, sharded_dst, shard=f"{index}/2", **options)
    merge(sharded_dst)

    assert tree_bytes(sharded_dst) == tree_bytes(single)
    assert tree_bytes(tmp_path / "sharded" / "out_masks") == tree_bytes(
        tmp_path / "single" / "out_masks"
    )
