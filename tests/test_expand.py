import logging
import shutil
import unicodedata

import pytest
from conftest import (
    ODD,
    SAMPLE_DATA,
    build_derived_tree,
    build_tree,
    check_outputs,
    open_upright,
    read_manifest,
    tree_bytes,
)
from PIL import Image

import cropaug
from cropaug.errors import DestinationError, InvalidParameterError

ROCKET = SAMPLE_DATA / "scenes" / "rocket.jpg"
CHELSEA = SAMPLE_DATA / "scenes" / "chelsea.png"
CAMERA = SAMPLE_DATA / "scenes" / "camera.png"
TINY = ODD / "tiny.png"

# Small crops keep these runs quick; the point is the tree, not the pixels.
SMALL = {"size": (40, 30), "n": 4}


@pytest.fixture
def small_tree(tmp_path):
    return build_tree(
        tmp_path / "src",
        {
            "cats/rocket.jpg": ROCKET,
            "cats/nested/chelsea.png": CHELSEA,
            "dogs/camera.png": CAMERA,
            "dogs/brick.png": SAMPLE_DATA / "textures" / "brick.png",
        },
    )


def _crops_by_source(manifest: dict) -> dict[str, list]:
    return {image["source"]: image["crops"] for image in manifest["images"]}


def test_expand_same_seed_same_bytes(tmp_path, small_tree):
    cropaug.expand(small_tree, tmp_path / "a", seed=5, workers=1, **SMALL)
    cropaug.expand(small_tree, tmp_path / "b", seed=5, workers=1, **SMALL)

    first, second = tree_bytes(tmp_path / "a"), tree_bytes(tmp_path / "b")
    assert len(first) == 4 * 4 + 1
    assert first == second


def test_expand_workers_same_bytes(tmp_path, small_tree):
    cropaug.expand(small_tree, tmp_path / "one", seed=5, workers=1, **SMALL)
    cropaug.expand(small_tree, tmp_path / "two", seed=5, workers=2, **SMALL)

    assert tree_bytes(tmp_path / "one") == tree_bytes(tmp_path / "two")


def test_expand_different_seed_changes_crops(tmp_path, small_tree):
    cropaug.expand(small_tree, tmp_path / "a", seed=5, workers=1, **SMALL)
    cropaug.expand(small_tree, tmp_path / "b", seed=6, workers=1, **SMALL)
    first = _crops_by_source(read_manifest(tmp_path / "a"))
    second = _crops_by_source(read_manifest(tmp_path / "b"))

    assert first.keys() == second.keys()
    for source in first:
        assert first[source] != second[source], source
    assert (
        tree_bytes(tmp_path / "a")["cats/rocket_c00.jpg"]
        != (tree_bytes(tmp_path / "b")["cats/rocket_c00.jpg"])
    )


def test_expand_added_image_leaves_others(tmp_path, small_tree):
    cropaug.expand(small_tree, tmp_path / "before", seed=5, workers=1, **SMALL)
    shutil.copyfile(SAMPLE_DATA / "textures" / "grass.png", small_tree / "cats/g.png")
    cropaug.expand(small_tree, tmp_path / "after", seed=5, workers=1, **SMALL)
    before, after = tree_bytes(tmp_path / "before"), tree_bytes(tmp_path / "after")
    before_images = read_manifest(tmp_path / "before")["images"]
    after_images = read_manifest(tmp_path / "after")["images"]

    added = {path for path in after if path.startswith("cats/g_")}
    assert len(added) == 4
    assert set(after) - added == set(before)
    for path in before:
        if path != "manifest.json":
            assert after[path] == before[path], path
    assert [image for image in after_images if image["source"] != "cats/g.png"] == (
        before_images
    )


def test_expand_same_stem_added_keeps_corners(tmp_path, small_tree):
    # A new a.png beside a.jpg renames a.jpg's crops (a_jpg_c00.jpg), but
    # the corners, which depend on the source path alone, stay.
    cropaug.expand(small_tree, tmp_path / "before", seed=5, workers=1, **SMALL)
    shutil.copyfile(CHELSEA, small_tree / "cats/rocket.png")
    cropaug.expand(small_tree, tmp_path / "after", seed=5, workers=1, **SMALL)
    before = _crops_by_source(read_manifest(tmp_path / "before"))["cats/rocket.jpg"]
    after = _crops_by_source(read_manifest(tmp_path / "after"))["cats/rocket.jpg"]

    assert [(c["x"], c["y"]) for c in after] == [(c["x"], c["y"]) for c in before]
    assert after[0]["path"] == "cats/rocket_jpg_c00.jpg"


@pytest.mark.parametrize("output_format", ["same", "png"])
def test_expand_same_stem_never_same_path(tmp_path, output_format):
    photo = tmp_path / "chelsea.jpg"
    Image.open(CHELSEA).convert("RGB").save(photo)
    src = build_tree(tmp_path / "src", {"cats/a.jpg": photo, "cats/a.png": CHELSEA})
    dst = tmp_path / "dst"
    cropaug.expand(src, dst, seed=1, workers=1, format=output_format, **SMALL)
    manifest = read_manifest(dst)
    paths = [crop["path"] for image in manifest["images"] for crop in image["crops"]]

    assert len(paths) == 8
    assert len(set(paths)) == 8
    assert sorted(tree_bytes(dst)) == sorted([*paths, "manifest.json"])


def test_expand_pixels_match_through_api(tmp_path, exif_tree):
    dst = tmp_path / "dst"
    cropaug.expand(exif_tree, dst, size=(64, 48), n=2, seed=3, workers=1, format="png")
    manifest = read_manifest(dst)

    assert manifest["totals"]["images"] == 18
    for image in manifest["images"]:
        upright = open_upright(exif_tree / image["source"])
        for crop in image["crops"]:
            box = (crop["x"], crop["y"], crop["x"] + 64, crop["y"] + 48)
            with Image.open(dst / crop["path"]) as output:
                assert output.tobytes() == upright.crop(box).tobytes(), crop["path"]


def test_expand_finished_tree_layout(tmp_path):
    src = build_tree(
        tmp_path / "src",
        {
            "cats/rocket.jpg": ROCKET,
            "cats/sub/deeper/camera.png": CAMERA,
            "dogs/notes.txt": b"no images here",
            "birds/.DS_Store": b"\x00",
            "fish/tiny.png": ODD / "tiny.png",
        },
    )
    dst = tmp_path / "dst"
    cropaug.expand(src, dst, seed=0, workers=2, **SMALL)

    assert sorted(path.name for path in dst.iterdir()) == [
        "birds",
        "cats",
        "dogs",
        "fish",
        "manifest.json",
    ]
    hidden = [path for path in dst.rglob(".*")]
    assert hidden == []
    assert sorted(tree_bytes(dst)) == [
        "cats/rocket_c00.jpg",
        "cats/rocket_c01.jpg",
        "cats/rocket_c02.jpg",
        "cats/rocket_c03.jpg",
        "cats/sub/deeper/camera_c00.png",
        "cats/sub/deeper/camera_c01.png",
        "cats/sub/deeper/camera_c02.png",
        "cats/sub/deeper/camera_c03.png",
        "manifest.json",
    ]
    manifest = read_manifest(dst)
    assert manifest["classes"] == ["birds", "cats", "dogs", "fish"]
    assert manifest["skipped"] == [
        {"source": "dogs/notes.txt", "reason": "not an image (.txt)"},
        {
            "source": "fish/tiny.png",
            "reason": "image is 4x4, smaller than the 40x30 crop",
        },
    ]


def test_expand_empty_class_warned(tmp_path, caplog):
    src = build_tree(
        tmp_path / "src", {"cats/rocket.jpg": ROCKET, "dogs/notes.txt": b"hello"}
    )
    with caplog.at_level(logging.WARNING, logger="cropaug"):
        cropaug.expand(src, tmp_path / "dst", seed=0, workers=1, **SMALL)

    assert "class dogs contains no images" in caplog.messages
    assert (tmp_path / "dst" / "dogs").is_dir()


def test_expand_clamped_recorded_and_warned(tmp_path, caplog):
    four = tmp_path / "four.png"
    Image.new("L", (4, 4), 90).save(four)
    src = build_tree(tmp_path / "src", {"cats/four.png": four})
    dst = tmp_path / "dst"
    with caplog.at_level(logging.WARNING, logger="cropaug"):
        summary = cropaug.expand(src, dst, size=2, n=10, seed=0, workers=1, min_shift=1)
    image = read_manifest(dst)["images"][0]

    assert image["positions"] == 9
    assert image["requested"] == 10
    assert len(image["crops"]) == 9
    assert summary.clamped == ["cats/four.png"]
    assert "cats/four.png has only 9 crop positions; wrote 9 of 10 crops" in (
        caplog.messages
    )


def test_expand_failed_source_recorded(tmp_path):
    src = build_tree(
        tmp_path / "src",
        {
            "cats/broken.png": ODD / "broken.png",
            "cats/rocket.jpg": ROCKET,
            "cats/truncated.jpg": ODD / "truncated_jpeg.jpg",
        },
    )
    dst = tmp_path / "dst"
    summary = cropaug.expand(src, dst, seed=0, workers=1, **SMALL)
    manifest = read_manifest(dst)

    assert manifest["failed"] == [
        {"source": "cats/broken.png", "error": "truncated or corrupt PNG header"},
        {"source": "cats/truncated.jpg", "error": "truncated JPEG data"},
    ]
    assert summary.failed == manifest["failed"]
    assert summary.images == 1
    assert summary.crops == 4
    assert [image["source"] for image in manifest["images"]] == ["cats/rocket.jpg"]


def test_expand_seed_drawn_and_recorded(tmp_path, small_tree, caplog):
    with caplog.at_level(logging.WARNING, logger="cropaug"):
        summary = cropaug.expand(small_tree, tmp_path / "dst", workers=1, **SMALL)
    manifest = read_manifest(tmp_path / "dst")

    assert summary.seed_drawn
    assert manifest["params"]["seed"] == summary.seed
    assert (
        f"no --seed given; drew seed {summary.seed} (pass --seed {summary.seed} "
        "to repeat)"
    ) in caplog.messages


def test_expand_drawn_seed_repeats(tmp_path, small_tree):
    first = cropaug.expand(small_tree, tmp_path / "a", workers=1, **SMALL)
    cropaug.expand(small_tree, tmp_path / "b", seed=first.seed, workers=1, **SMALL)

    assert tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")


def test_expand_params_recorded(tmp_path, small_tree):
    cropaug.expand(
        small_tree, tmp_path / "dst", size=(40, 30), n=3, seed=9, workers=1, quality=80
    )
    params = read_manifest(tmp_path / "dst")["params"]

    assert params["width"] == 40
    assert params["height"] == 30
    assert params["n"] == 3
    assert params["seed"] == 9
    assert params["format"] == "same"
    assert params["quality"] == 80


def test_expand_dst_inside_src(tmp_path, small_tree):
    dst = small_tree / "out"
    with pytest.raises(DestinationError) as raised:
        cropaug.expand(small_tree, dst, seed=0, **SMALL)

    assert str(raised.value) == (
        f"DST {dst} is inside SRC {small_tree}; choose a folder outside SRC"
    )
    assert not dst.exists()


def test_expand_dst_equals_src(tmp_path, small_tree):
    with pytest.raises(DestinationError):
        cropaug.expand(small_tree, small_tree, seed=0, **SMALL)


def test_expand_src_inside_dst(tmp_path):
    dst = tmp_path / "work"
    src = build_tree(dst / "src", {"cats/rocket.jpg": ROCKET})
    with pytest.raises(DestinationError) as raised:
        cropaug.expand(src, dst, seed=0, overwrite=True, **SMALL)

    assert str(raised.value) == (
        f"DST {dst} contains SRC {src}; choose a folder outside SRC"
    )
    assert (src / "cats" / "rocket.jpg").is_file()


def test_expand_non_empty_dst_rejected(tmp_path, small_tree):
    dst = build_tree(tmp_path / "dst", {"keep.txt": b"mine"})
    with pytest.raises(DestinationError) as raised:
        cropaug.expand(small_tree, dst, seed=0, **SMALL)

    assert str(raised.value) == (
        f"DST {dst} is not empty; pass --overwrite to replace an earlier run, "
        "or choose an empty folder"
    )
    assert tree_bytes(dst) == {"keep.txt": b"mine"}


def test_expand_previous_run_rejected_without_overwrite(tmp_path, small_tree):
    dst = tmp_path / "dst"
    cropaug.expand(small_tree, dst, seed=0, workers=1, **SMALL)
    before = tree_bytes(dst)
    with pytest.raises(DestinationError):
        cropaug.expand(small_tree, dst, seed=1, workers=1, **SMALL)

    assert tree_bytes(dst) == before


def test_expand_overwrite_replaces_previous_run(tmp_path, small_tree):
    dst = tmp_path / "dst"
    cropaug.expand(small_tree, dst, size=30, n=6, seed=1, workers=1, format="png")
    (dst / "cats" / "extra.txt").write_text("left by the user")
    cropaug.expand(small_tree, dst, seed=2, workers=1, overwrite=True, **SMALL)
    cropaug.expand(small_tree, tmp_path / "fresh", seed=2, workers=1, **SMALL)

    assert tree_bytes(dst) == tree_bytes(tmp_path / "fresh")


def test_expand_overwrite_without_manifest_rejected(tmp_path, small_tree):
    dst = build_tree(tmp_path / "dst", {"photos/holiday.jpg": ROCKET})
    with pytest.raises(DestinationError) as raised:
        cropaug.expand(small_tree, dst, seed=0, overwrite=True, **SMALL)

    assert str(raised.value) == (
        f"DST {dst} is not empty and contains no cropaug manifest, so --overwrite "
        "will not delete it; choose an empty folder"
    )
    assert tree_bytes(dst) == {"photos/holiday.jpg": ROCKET.read_bytes()}


def test_expand_empty_dst_accepted(tmp_path, small_tree):
    dst = tmp_path / "dst"
    dst.mkdir()
    summary = cropaug.expand(small_tree, dst, seed=0, workers=1, **SMALL)

    assert summary.images == 4


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"size": 0, "n": 1}, "size must be positive integers, not 0"),
        ({"size": (3, -1), "n": 1}, "size must be positive integers, not (3, -1)"),
        (
            {"size": "224", "n": 1},
            "size must be an int or a (width, height) pair, not '224'",
        ),
        ({"size": 8, "n": 0}, "n must be at least 1, not 0"),
        ({"size": 8, "n": 1, "seed": -1}, "seed must not be negative, not -1"),
        ({"size": 8, "n": 1, "workers": 0}, "workers must be at least 1, not 0"),
        (
            {"size": 8, "n": 1, "format": "gif"},
            "format must be one of same, jpeg, png, webp, not 'gif'",
        ),
        ({"size": 8, "n": 1, "quality": 101}, "quality must be 1 to 100, not 101"),
    ],
)
def test_expand_invalid_parameter(tmp_path, small_tree, options, message):
    with pytest.raises(InvalidParameterError) as raised:
        cropaug.expand(small_tree, tmp_path / "dst", **options)

    assert str(raised.value) == message
    assert not (tmp_path / "dst").exists()


def test_expand_derived_photos(tmp_path):
    # Photos cut and rescaled from sample_data, some smaller than the crop
    # and one a GIF, cropped with 1 and with 2 workers.
    src = tmp_path / "src"
    formats = build_derived_tree(src, 24, seed=11)
    options = {"size": 96, "n": 5, "seed": 7, "format": "same"}
    cropaug.expand(src, tmp_path / "one", workers=1, **options)
    cropaug.expand(src, tmp_path / "two", workers=2, **options)
    manifest = read_manifest(tmp_path / "two")

    assert formats["GIF"] == 1
    assert tree_bytes(tmp_path / "one") == tree_bytes(tmp_path / "two")
    cropped = {image["source"] for image in manifest["images"]}
    for path in sorted(src.rglob("*.*")):
        source = path.relative_to(src).as_posix()
        width, height = open_upright(path).size
        if width >= 96 and height >= 96:
            assert source in cropped
        else:
            assert source not in cropped
    assert manifest["failed"] == []
    check_outputs(manifest, src, tmp_path / "two")


def test_expand_src_without_classes(tmp_path, caplog):
    src = build_tree(tmp_path / "src", {"rocket.jpg": ROCKET})
    dst = tmp_path / "new" / "dst"
    with caplog.at_level(logging.WARNING, logger="cropaug"):
        summary = cropaug.expand(src, dst, seed=0, workers=1, **SMALL)
    manifest = read_manifest(dst)

    assert summary.images == 0
    assert manifest["classes"] == []
    assert manifest["skipped"] == [
        {"source": "rocket.jpg", "reason": "not in a class folder"}
    ]
    assert sorted(tree_bytes(dst)) == ["manifest.json"]
    assert (
        f"SRC {src} has no class folders; put the images in one folder per class"
    ) in caplog.messages


def test_expand_empty_src(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    summary = cropaug.expand(src, tmp_path / "dst", seed=0, workers=2, **SMALL)

    assert summary.images == 0
    assert read_manifest(tmp_path / "dst")["totals"] == {
        "images": 0,
        "crops": 0,
        "skipped": 0,
        "failed": 0,
    }


def test_expand_unicode_names_kept(tmp_path):
    decomposed = unicodedata.normalize("NFD", "café")
    composed = unicodedata.normalize("NFC", "Zoë")
    src = build_tree(
        tmp_path / "src",
        {f"{composed}/{decomposed}.jpg": ROCKET, f'{composed}/"quoted".png': CAMERA},
    )
    dst = tmp_path / "dst"
    cropaug.expand(src, dst, seed=0, workers=1, **SMALL)
    manifest = read_manifest(dst)
    sources = [image["source"] for image in manifest["images"]]

    assert manifest["classes"] == [composed]
    assert sources == [f'{composed}/"quoted".png', f"{composed}/{decomposed}.jpg"]
    assert (dst / composed / f"{decomposed}_c00.jpg").is_file()
    assert (dst / composed / '"quoted"_c00.png').is_file()


def test_expand_dst_is_file(tmp_path, small_tree):
    dst = tmp_path / "dst"
    dst.write_text("a file")
    with pytest.raises(DestinationError) as raised:
        cropaug.expand(small_tree, dst, seed=0, overwrite=True, **SMALL)

    assert str(raised.value) == f"DST {dst} is a file; choose a folder"
    assert dst.read_text() == "a file"


def test_expand_more_crops_keep_first(tmp_path, small_tree):
    cropaug.expand(small_tree, tmp_path / "few", size=40, n=3, seed=4, workers=1)
    cropaug.expand(small_tree, tmp_path / "many", size=40, n=7, seed=4, workers=1)
    few = _crops_by_source(read_manifest(tmp_path / "few"))
    many = _crops_by_source(read_manifest(tmp_path / "many"))

    for source, crops in few.items():
        assert many[source][:3] == crops, source


def test_expand_missing_src(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(cropaug.CropaugError) as raised:
        cropaug.expand(missing, tmp_path / "dst", size=8, n=1, seed=0)

    assert str(raised.value) == (
        f"SRC {missing} is not a folder; pass the root of a class-per-folder tree"
    )


def test_expand_skipped_files_logged(tmp_path, caplog):
    src = build_tree(
        tmp_path / "src",
        {"cats/rocket.jpg": ROCKET, "cats/notes.txt": b"hi", "cats/tiny.png": TINY},
    )
    with caplog.at_level(logging.INFO, logger="cropaug"):
        cropaug.expand(src, tmp_path / "dst", seed=0, workers=1, **SMALL)

    assert "skipped: cats/notes.txt: not an image (.txt)" in caplog.messages
    assert (
        "skipped: cats/tiny.png: image is 4x4, smaller than the 40x30 crop"
    ) in caplog.messages


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            "resume",
            "resume needs a local SRC and DST, not a URL; start the run over "
            "with overwrite instead",
        ),
        (
            "dry_run",
            "dry_run needs a local SRC and DST, not a URL; run it on a local "
            "copy of SRC",
        ),
    ],
)
def test_expand_url_rejects_resume_and_dry_run(tmp_path, option, message):
    src = tmp_path / "src"
    (src / "cats").mkdir(parents=True)

    with pytest.raises(InvalidParameterError) as raised:
        cropaug.expand(
            src, "memory://cropaug-url-test/dst", size=8, n=1, seed=0, **{option: True}
        )

    assert str(raised.value) == message
