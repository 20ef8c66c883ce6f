import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import (
    EXIF_ORIENTATION_PHOTOS,
    ODD,
    SAMPLE_DATA,
    SAMPLE_PHOTOS,
    build_tree,
    check_outputs,
    read_manifest,
    tree_bytes,
)

import cropaug

ROCKET = SAMPLE_DATA / "scenes" / "rocket.jpg"
SUMMARY = re.compile(
    r"images (\d+), crops (\d+), skipped (\d+), failed (\d+), "
    r"\d+\.\d s \(seed (\d+)\)\n"
)
USAGE_LINES = [
    "Usage: cropaug expand [OPTIONS] SRC DST",
    "Try 'cropaug expand --help' for help.",
    "",
]


@pytest.fixture
def small_src(tmp_path):
    return build_tree(
        tmp_path / "src",
        {
            "cats/rocket.jpg": ROCKET,
            "dogs/camera.png": SAMPLE_DATA / "scenes/camera.png",
        },
    )


@pytest.mark.parametrize(
    ("size", "error"),
    [
        ("abc", "'abc' is not a size; use 224 or WIDTHxHEIGHT such as 224x160"),
        ("224x", "'224x' is not a size; use 224 or WIDTHxHEIGHT such as 224x160"),
        ("x224", "'x224' is not a size; use 224 or WIDTHxHEIGHT such as 224x160"),
        ("-5", "'-5' is not a size; use 224 or WIDTHxHEIGHT such as 224x160"),
        ("2.5", "'2.5' is not a size; use 224 or WIDTHxHEIGHT such as 224x160"),
        ("0", "'0' has a zero side; both sides must be at least 1"),
        ("224x0", "'224x0' has a zero side; both sides must be at least 1"),
    ],
)
def test_cli_bad_size(invoke, tmp_path, small_src, size, error):
    result = invoke("expand", small_src, tmp_path / "dst", "--size", size, "--n", 1)

    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        *USAGE_LINES,
        f"Error: Invalid value for '--size': {error}",
    ]
    assert result.stdout == ""
    assert not (tmp_path / "dst").exists()


@pytest.mark.parametrize(
    ("size", "width", "height"),
    [("24", 24, 24), ("24x16", 24, 16), ("24X16", 24, 16), (" 24x16 ", 24, 16)],
)
def test_cli_size_forms(invoke, tmp_path, small_src, size, width, height):
    dst = tmp_path / "dst"
    args = ["expand", small_src, dst, "--size", size, "--n", 1, "--seed", 0]
    result = invoke(*args, "--workers", 1)
    params = read_manifest(dst)["params"]

    assert result.exit_code == 0
    assert (params["width"], params["height"]) == (width, height)


def test_cli_missing_src(invoke, tmp_path):
    missing = tmp_path / "nowhere"
    result = invoke("expand", missing, tmp_path / "dst", "--size", 8, "--n", 1)

    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        f"Error: Invalid value for 'SRC': Directory '{missing}' does not exist."
    )


def test_cli_bad_n(invoke, tmp_path, small_src):
    result = invoke("expand", small_src, tmp_path / "dst", "--size", 8, "--n", 0)

    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == (
        "Error: Invalid value for '--n': 0 is not in the range x>=1."
    )


def test_cli_dst_inside_src(invoke, small_src):
    dst = small_src / "crops"
    result = invoke("expand", small_src, dst, "--size", 8, "--n", 1)

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: DST {dst} is inside SRC {small_src}; choose a folder outside SRC\n"
    )
    assert not dst.exists()


def test_cli_src_inside_dst(invoke, tmp_path, small_src):
    result = invoke("expand", small_src, tmp_path, "--size", 8, "--n", 1)

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: DST {tmp_path} contains SRC {small_src}; choose a folder outside SRC\n"
    )


def test_cli_non_empty_dst(invoke, tmp_path, small_src):
    dst = build_tree(tmp_path / "dst", {"notes.txt": b"mine"})
    result = invoke("expand", small_src, dst, "--size", 8, "--n", 1)

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: DST {dst} is not empty; pass --overwrite to replace an earlier "
        "run, or choose an empty folder\n"
    )
    assert tree_bytes(dst) == {"notes.txt": b"mine"}


def test_cli_overwrite_without_manifest(invoke, tmp_path, small_src):
    dst = build_tree(tmp_path / "dst", {"notes.txt": b"mine"})
    result = invoke("expand", small_src, dst, "--size", 8, "--n", 1, "--overwrite")

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: DST {dst} is not empty and contains no cropaug manifest, so "
        "--overwrite will not delete it; choose an empty folder\n"
    )
    assert tree_bytes(dst) == {"notes.txt": b"mine"}


def test_cli_summary_on_stdout(invoke, tmp_path, small_src):
    args = ["expand", small_src, tmp_path / "dst", "--size", 24, "--n", 3]
    result = invoke(*args, "--seed", 42, "--workers", 1, "-q")
    match = SUMMARY.fullmatch(result.stdout)

    assert result.exit_code == 0
    assert match is not None
    assert match.groups() == ("2", "6", "0", "0", "42")
    assert result.stderr == ""


def test_cli_failed_sources_listed(invoke, tmp_path):
    src = build_tree(
        tmp_path / "src",
        {
            "cats/rocket.jpg": ROCKET,
            "cats/broken.png": ODD / "broken.png",
            "cats/bomb.gif": ODD / "decompression_bomb.gif",
        },
    )
    args = ["expand", src, tmp_path / "dst", "--size", 24, "--n", 2, "--seed", 1]
    result = invoke(*args, "--workers", 1, "-q")
    match = SUMMARY.fullmatch(result.stdout)

    assert result.exit_code == 1
    assert match is not None
    assert match.groups() == ("1", "2", "0", "2", "1")
    assert result.stderr.splitlines() == [
        "failed: cats/bomb.gif: image is 4364696535 pixels, above --max-pixels "
        "(178956970)",
        "failed: cats/broken.png: truncated or corrupt PNG header",
    ]
    assert len(read_manifest(tmp_path / "dst")["failed"]) == 2


def test_cli_skipped_only_exit_zero(invoke, tmp_path):
    src = build_tree(
        tmp_path / "src", {"cats/tiny.png": ODD / "tiny.png", "cats/a.txt": b"text"}
    )
    result = invoke("expand", src, tmp_path / "dst", "--size", 8, "--n", 2, "-q")

    assert result.exit_code == 0
    assert SUMMARY.fullmatch(result.stdout).groups()[:4] == ("0", "0", "2", "0")


def test_cli_seed_drawn_printed_recorded(invoke, tmp_path, small_src):
    dst = tmp_path / "dst"
    result = invoke("expand", small_src, dst, "--size", 24, "--n", 2, "--workers", 1)
    seed = int(SUMMARY.fullmatch(result.stdout).group(5))

    assert result.exit_code == 0
    assert (
        f"WARNING: no --seed given; drew seed {seed} (pass --seed {seed} to repeat)"
    ) in result.stderr.splitlines()
    assert read_manifest(dst)["params"]["seed"] == seed


def test_cli_quiet_hides_bar_and_warnings(invoke, tmp_path, small_src):
    args = ["expand", small_src, tmp_path / "dst", "--size", 24, "--n", 2, "-q"]
    result = invoke(*args, "--workers", 1)

    assert result.exit_code == 0
    assert result.stderr == ""


def test_cli_progress_bar_on_stderr(invoke, tmp_path, small_src):
    args = ["expand", small_src, tmp_path / "dst", "--size", 24, "--n", 2]
    result = invoke(*args, "--seed", 0, "--workers", 1)

    assert "2/2" in result.stderr
    assert "image" in result.stderr
    assert "2/2" not in result.stdout


def test_cli_overwrite_previous_run(invoke, tmp_path, small_src):
    dst = tmp_path / "dst"
    args = ["expand", small_src, dst, "--size", 24, "--seed", 0, "--workers", 1]
    first = invoke(*args, "--n", 2)
    again = invoke(*args, "--n", 3)
    replaced = invoke(*args, "--n", 3, "--overwrite")

    assert first.exit_code == 0
    assert again.exit_code == 1
    assert replaced.exit_code == 0
    assert read_manifest(dst)["totals"]["crops"] == 6


def test_cli_format_option_case_insensitive(invoke, tmp_path, small_src):
    dst = tmp_path / "dst"
    args = ["expand", small_src, dst, "--size", 24, "--n", 1, "--format", "PNG"]
    result = invoke(*args, "--workers", 1)
    manifest = read_manifest(dst)

    assert result.exit_code == 0
    assert manifest["params"]["format"] == "png"
    assert {image["output_format"] for image in manifest["images"]} == {"PNG"}


def test_cli_version_as_module():
    result = subprocess.run(
        [sys.executable, "-m", "cropaug", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0
    assert result.stdout == f"cropaug, version {cropaug.__version__}\n"


def test_cli_help_lists_every_option(invoke):
    result = invoke("expand", "--help")

    assert result.exit_code == 0
    for option in ("--size", "--n", "--seed", "--workers", "--format", "--overwrite"):
        assert option in result.stdout


def test_cli_sample_data_and_exif_photos(invoke, tmp_path):
    files = {path.relative_to(SAMPLE_DATA).as_posix(): path for path in SAMPLE_PHOTOS}
    files["LICENSES.md"] = SAMPLE_DATA / "LICENSES.md"
    for path in EXIF_ORIENTATION_PHOTOS:
        files[f"exif-{path.stem.split('_')[0].lower()}/{path.name}"] = path
    src = build_tree(tmp_path / "src", files)
    dst = tmp_path / "dst"
    args = ["expand", src, dst, "--size", 96, "--n", 4, "--seed", 0]
    result = invoke(*args, "--workers", 2, "-q")
    manifest = read_manifest(dst)

    assert result.exit_code == 0
    assert SUMMARY.fullmatch(result.stdout).groups() == ("29", "116", "1", "0", "0")
    assert manifest["totals"] == {"images": 29, "crops": 116, "skipped": 1, "failed": 0}
    assert manifest["classes"] == [
        "exif-landscape",
        "exif-portrait",
        "scenes",
        "science",
        "textures",
    ]
    assert manifest["skipped"] == [
        {"source": "LICENSES.md", "reason": "not in a class folder"}
    ]
    assert sorted(path.name for path in dst.iterdir()) == sorted(
        [*manifest["classes"], "manifest.json"]
    )
    assert list(dst.rglob(".*")) == []
    check_outputs(manifest, src, dst)
    outputs = sorted(tree_bytes(dst))
    recorded = [crop["path"] for image in manifest["images"] for crop in image["crops"]]
    assert outputs == sorted([*recorded, "manifest.json"])


def test_cli_console_script_with_pool(tmp_path, small_src):
    # The installed `cropaug` script in a real process, with spawned workers.
    script = Path(sys.executable).with_name("cropaug")
    dst = tmp_path / "dst"
    command = [script, "expand", small_src, dst, "--size", 24, "--n", 2]
    result = subprocess.run(
        [str(part) for part in [*command, "--seed", 3, "--workers", 2, "-q"]],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0
    assert result.stderr == ""
    assert SUMMARY.fullmatch(result.stdout).groups() == ("2", "4", "0", "0", "3")
    check_outputs(read_manifest(dst), small_src, dst)


def test_cli_verbose_lists_skipped(invoke, tmp_path, small_src):
    (small_src / "cats" / "notes.txt").write_text("not an image")
    args = ["expand", small_src, tmp_path / "dst", "--size", 24, "--n", 1, "-v"]
    result = invoke(*args, "--seed", 0, "--workers", 1)
    lines = re.split("[\r\n]", result.stderr)

    assert result.exit_code == 0
    assert "INFO: skipped: cats/notes.txt: not an image (.txt)" in lines
