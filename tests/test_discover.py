import os
from pathlib import Path

import pytest
from conftest import ODD, SAMPLE_DATA, build_tree
from PIL import Image

from cropaug.discover import Skipped, discover_sources

JPEG = SAMPLE_DATA / "scenes" / "rocket.jpg"
PNG = SAMPLE_DATA / "textures" / "brick.png"


def _source_paths(src: Path) -> list[str]:
    return [source.path for source in discover_sources(src).sources]


def test_discover_classes_sorted(tmp_path):
    src = build_tree(tmp_path / "src", {"dogs/a.jpg": JPEG, "cats/b.png": PNG})
    discovery = discover_sources(src)

    assert discovery.classes == ["cats", "dogs"]
    assert [(s.path, s.class_name) for s in discovery.sources] == [
        ("cats/b.png", "cats"),
        ("dogs/a.jpg", "dogs"),
    ]


def test_discover_ignores_hidden(tmp_path):
    src = build_tree(
        tmp_path / "src",
        {
            "cats/a.jpg": JPEG,
            "cats/.DS_Store": b"\x00\x00\x00\x01Bud1",
            "cats/._IMG_1.JPG": b"\x00\x05\x16\x07",
            "cats/.ipynb_checkpoints/a-checkpoint.jpg": JPEG,
            ".hidden_class/b.jpg": JPEG,
            ".DS_Store": b"\x00\x00\x00\x01Bud1",
        },
    )
    discovery = discover_sources(src)

    assert discovery.classes == ["cats"]
    assert [s.path for s in discovery.sources] == ["cats/a.jpg"]
    assert discovery.skipped == []


@pytest.mark.parametrize(
    "name",
    [
        "a.JPG",
        "a.jpeg",
        "a.JPEG",
        "a.Png",
        "a.tif",
        "a.TIFF",
        "a.webp",
        "a.bmp",
        "a.GIF",
    ],
)
def test_discover_extensions_any_case(tmp_path, name):
    # Every file contains text: the extension alone makes it a source, so that
    # a broken image is reported as failed rather than skipped.
    src = build_tree(tmp_path / "src", {f"cats/{name}": b"not an image"})

    assert _source_paths(src) == [f"cats/{name}"]


def test_discover_jpeg_without_extension(tmp_path):
    src = build_tree(tmp_path / "src", {"cats/IMG_1": JPEG, "cats/photo.dat": PNG})

    assert _source_paths(src) == ["cats/IMG_1", "cats/photo.dat"]


def test_discover_webp_by_content(tmp_path):
    webp = tmp_path / "a.webp"
    Image.new("RGB", (8, 8), "red").save(webp)
    src = build_tree(tmp_path / "src", {"cats/noext": webp})

    assert _source_paths(src) == ["cats/noext"]


def test_discover_skips_text_with_reason(tmp_path):
    src = build_tree(
        tmp_path / "src",
        {"cats/a.jpg": JPEG, "cats/notes.txt": b"hello", "cats/README": b"hi"},
    )
    discovery = discover_sources(src)

    assert [s.path for s in discovery.sources] == ["cats/a.jpg"]
    assert discovery.skipped == [
        Skipped("cats/README", "not an image (no extension)"),
        Skipped("cats/notes.txt", "not an image (.txt)"),
    ]


def test_discover_top_level_file_not_in_class(tmp_path):
    src = build_tree(tmp_path / "src", {"cats/a.jpg": JPEG, "stray.jpg": JPEG})
    discovery = discover_sources(src)

    assert discovery.skipped == [Skipped("stray.jpg", "not in a class folder")]
    assert [s.path for s in discovery.sources] == ["cats/a.jpg"]


def test_discover_broken_image_is_source(tmp_path):
    src = build_tree(tmp_path / "src", {"cats/broken.png": ODD / "broken.png"})

    assert _source_paths(src) == ["cats/broken.png"]


def test_discover_empty_classes(tmp_path):
    src = build_tree(
        tmp_path / "src",
        {"cats/a.jpg": JPEG, "dogs/notes.txt": b"hello", "birds/sub/.keep": b""},
    )
    discovery = discover_sources(src)

    assert discovery.classes == ["birds", "cats", "dogs"]
    assert discovery.empty_classes == ["birds", "dogs"]


def test_discover_nested_folders(tmp_path):
    src = build_tree(
        tmp_path / "src",
        {"cats/2023/jan/a.jpg": JPEG, "cats/2023/b.png": PNG, "cats/c.jpg": JPEG},
    )
    discovery = discover_sources(src)

    assert [(s.path, s.class_name) for s in discovery.sources] == [
        ("cats/2023/b.png", "cats"),
        ("cats/2023/jan/a.jpg", "cats"),
        ("cats/c.jpg", "cats"),
    ]


def test_discover_skips_symlinks_by_default(tmp_path):
    src = build_tree(tmp_path / "src", {"cats/a.jpg": JPEG})
    os.symlink(src / "cats" / "a.jpg", src / "cats" / "link.jpg")
    discovery = discover_sources(src)

    assert [s.path for s in discovery.sources] == ["cats/a.jpg"]
    assert discovery.skipped == [Skipped("cats/link.jpg", "symbolic link")]


def test_discover_symlink_loop_skipped(tmp_path):
    src = build_tree(tmp_path / "src", {"cats/a.jpg": JPEG})
    os.symlink(src / "cats", src / "cats" / "loop")
    discovery = discover_sources(src, follow_symlinks=True)

    assert [s.path for s in discovery.sources] == ["cats/a.jpg"]
    assert discovery.skipped == [Skipped("cats/loop", "symbolic link loop")]
