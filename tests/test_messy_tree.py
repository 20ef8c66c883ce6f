"""Expand a tree with links, a loop, clashing and long names, in a real process."""

import json
import os
import unicodedata
from pathlib import Path

import pytest
from expand_process import (
    SAMPLE_DATA,
    kill_group,
    pause_env,
    run_expand,
    start_expand,
    temp_files,
    tree_snapshot,
    wait_until,
)
from PIL import Image

pytestmark = pytest.mark.timeout(120)

CAFE_NFC = unicodedata.normalize("NFC", "café")
CAFE_NFD = unicodedata.normalize("NFD", "café")
# Valid names (250 and 249 bytes before ".png") whose crop names would pass
# 255 bytes unless shortened. The twins differ only after the cut.
LONG_STEM = "é" * 125
LONG_TWINS = ("x" * 248 + "1", "x" * 248 + "2")

SOURCES = [
    "cats/plain.jpg",
    "cats/with space (1).png",
    "cats/A.jpg",
    "cats/a.jpg",
    f"cats/{CAFE_NFC}.png",
    f"cats/{CAFE_NFD}.png",
    f"cats/{LONG_STEM}.png",
    f"dogs/{LONG_TWINS[0]}.png",
    f"dogs/{LONG_TWINS[1]}.png",
    "dogs/nested/deep.png",
]


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    """Return SRC with clashing names, links in and out of it, and two loops."""
    root = tmp_path_factory.mktemp("messy")
    src = root / "src"
    photo = Image.open(SAMPLE_DATA / "scenes" / "astronaut.png").convert("RGB")
    for index, relative in enumerate(SOURCES):
        path = src / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        tile = photo.crop((index * 20, index * 10, index * 20 + 40, index * 10 + 36))
        tile.save(path)

    outside = root / "outside"
    outside.mkdir()
    photo.crop((0, 0, 40, 40)).save(outside / "secret.png")
    (src / "README.txt").write_text("not an image in a class\n")
    os.symlink("..", src / "dogs" / "loop")
    os.symlink(".", src / "dogs" / "nested" / "self")
    os.symlink("../cats/plain.jpg", src / "dogs" / "link.jpg")
    os.symlink(outside / "secret.png", src / "dogs" / "outside.png")
    os.symlink(outside, src / "linked_class")
    return src


def expand_messy(src, dst, *options):
    completed = run_expand(src, dst, "--workers", "1", *options, timeout=60)
    assert completed.returncode == 0, completed.stderr
    return json.loads((dst / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def default_run(messy, tmp_path_factory):
    dst = tmp_path_factory.mktemp("default") / "out"
    return dst, expand_messy(messy, dst)


@pytest.fixture(scope="module")
def followed_run(messy, tmp_path_factory):
    dst = tmp_path_factory.mktemp("followed") / "out"
    return dst, expand_messy(messy, dst, "--follow-symlinks")


def crop_paths(manifest):
    return [crop["path"] for image in manifest["images"] for crop in image["crops"]]


def test_default_run_skips_links(default_run):
    _, manifest = default_run

    assert manifest["skipped"] == [
        {"source": "README.txt", "reason": "not in a class folder"},
        {"source": "dogs/link.jpg", "reason": "symbolic link"},
        {"source": "dogs/loop", "reason": "symbolic link"},
        {"source": "dogs/nested/self", "reason": "symbolic link"},
        {"source": "dogs/outside.png", "reason": "symbolic link"},
        {"source": "linked_class", "reason": "symbolic link"},
    ]


def test_default_run_stores_names_exactly(default_run):
    _, manifest = default_run

    assert [image["source"] for image in manifest["images"]] == sorted(SOURCES)
    assert manifest["classes"] == ["cats", "dogs"]


def test_outputs_never_collide(default_run):
    dst, manifest = default_run
    paths = crop_paths(manifest)
    folded = {unicodedata.normalize("NFC", path).casefold() for path in paths}

    assert len(paths) == 3 * len(SOURCES)
    # Distinct even where case and Unicode normalisation are ignored, as on
    # macOS and Windows file systems.
    assert len(folded) == len(paths)
    assert all((dst / path).is_file() for path in paths)


def test_output_names_fit_255_bytes(default_run):
    dst, manifest = default_run

    for path in crop_paths(manifest):
        assert len(Path(path).name.encode("utf-8")) <= 255, path
    on_disk = [name for _, _, names in os.walk(dst) for name in names]
    assert len(on_disk) == 3 * len(SOURCES) + 1


def test_output_names_stay_readable(default_run):
    _, manifest = default_run
    paths = set(crop_paths(manifest))

    assert "cats/plain_c00.jpg" in paths
    assert "cats/with space (1)_c00.png" in paths
    assert "dogs/nested/deep_c02.png" in paths
    first_crops = [image["crops"][0]["path"] for image in manifest["images"]]
    clashing = [path for path in first_crops if path.startswith(("cats/A", "cats/a"))]
    assert sorted(name.split("_")[:2] for name in clashing) == [
        ["cats/A", "jpg"],
        ["cats/a", "jpg"],
    ]
    long_names = [path for path in first_crops if path.startswith("cats/é")]
    assert long_names[0].startswith(f"cats/{LONG_STEM[:100]}")
    twins = [path for path in first_crops if path.startswith("dogs/xxx")]
    assert twins[0] != twins[1]
    assert twins[0].startswith("dogs/" + "x" * 200)


def test_followed_links_are_read(followed_run):
    _, manifest = followed_run
    sources = [image["source"] for image in manifest["images"]]

    assert "dogs/link.jpg" in sources
    assert "dogs/outside.png" in sources
    assert "linked_class/secret.png" in sources
    assert manifest["classes"] == ["cats", "dogs", "linked_class"]


def test_followed_loops_are_skipped(followed_run):
    _, manifest = followed_run

    assert manifest["skipped"] == [
        {"source": "README.txt", "reason": "not in a class folder"},
        {"source": "dogs/loop", "reason": "symbolic link loop"},
        {"source": "dogs/nested/self", "reason": "symbolic link loop"},
    ]


def test_messy_tree_resume_matches_clean(messy, default_run, tmp_path):
    clean_dst, _ = default_run
    dst, marker = tmp_path / "out", tmp_path / "paused"
    run = start_expand(
        messy,
        dst,
        "--workers",
        "1",
        log=tmp_path / "run.log",
        env=pause_env("before-rename:manifest.json", marker),
    )
    wait_until(lambda: marker.exists() or run.poll() is not None, description="pause")
    kill_group(run)

    expand_messy(messy, dst, "--resume")

    assert tree_snapshot(dst) == tree_snapshot(clean_dst)
    assert temp_files(dst) == []
