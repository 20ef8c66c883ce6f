"""Tests for cropaug.reproduce and `cropaug reproduce`: rebuild a run from its boxes."""

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from mode_runs import MODE_OPTIONS, build_sources, run_mode
from PIL import Image

from cropaug.cli import cli
from cropaug.errors import (
    CropaugError,
    DestinationError,
    InvalidParameterError,
    ManifestError,
)
from cropaug.manifest import library_versions
from cropaug.params import settings_from_params
from cropaug.recorded_images import load_recorded_source, write_recorded_crops
from cropaug.reproduce import reproduce
from cropaug.verify import verify


def tree(root: Path) -> dict[str, bytes | None]:
    """Map every path under root to its bytes, or None for a folder."""
    entries = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        entries[relative] = None if path.is_dir() else path.read_bytes()
    return entries


def copy_run(run, tmp_path) -> tuple[Path, Path]:
    src, dst = run
    shutil.copytree(src, tmp_path / "src")
    shutil.copytree(dst, tmp_path / "dst")
    return tmp_path / "src", tmp_path / "dst"


def rewrite_manifest(dst: Path, change) -> Path:
    path = dst / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))
    return path


def test_reproduce_byte_identical_tree(sample_run, tmp_path):
    src, dst = sample_run
    out = tmp_path / "out"

    summary = reproduce(dst / "manifest.json", src, out, workers=1)

    assert summary.failed == []
    assert summary.images == 11
    assert summary.crops == 44
    assert tree(out) == tree(dst)


def test_reproduce_keeps_empty_class_folder(tmp_path):
    from cropaug.expansion import expand

    src = tmp_path / "src"
    (src / "empty").mkdir(parents=True)
    (src / "full").mkdir()
    shutil.copyfile(
        Path(__file__).resolve().parent / "data" / "odd" / "hopper_gray.jpg",
        src / "full" / "a.jpg",
    )
    dst = tmp_path / "dst"
    expand(src, dst, size=32, n=2, seed=3, workers=1)

    reproduce(dst / "manifest.json", src, tmp_path / "out", workers=1)

    assert tree(tmp_path / "out") == tree(dst)


def test_reproduce_changed_source_rejected(small_run, tmp_path):
    src, dst = copy_run(small_run, tmp_path)
    with (src / "scenes" / "chelsea.png").open("ab") as file:
        file.write(b"\0")
    out = tmp_path / "out"

    with pytest.raises(CropaugError) as raised:
        reproduce(dst / "manifest.json", src, out, workers=1)

    assert str(raised.value) == (
        f"1 sources in SRC {src} differ from the manifest (SHA-256 mismatch), so "
        "their crops would differ; restore them, or pass --ignore-hash to crop "
        "them as they are now:\n  scenes/chelsea.png"
    )
    assert not out.exists()


def test_reproduce_ignore_hash_records_new_hash(small_run, tmp_path):
    src, dst = copy_run(small_run, tmp_path)
    # Bytes after a PNG's last chunk change the file but not its pixels.
    with (src / "scenes" / "chelsea.png").open("ab") as file:
        file.write(b"\0")
    out = tmp_path / "out"

    summary = reproduce(dst / "manifest.json", src, out, ignore_hash=True, workers=1)

    assert summary.changed_sources == ["scenes/chelsea.png"]
    assert summary.failed == []
    assert verify(out, src, workers=1).problems == []
    original = {
        path: data for path, data in tree(dst).items() if path != "manifest.json"
    }
    rebuilt = {
        path: data for path, data in tree(out).items() if path != "manifest.json"
    }
    assert rebuilt == original


def test_reproduce_resized_source_fails_that_image(small_run, tmp_path):
    from PIL import Image

    src, dst = copy_run(small_run, tmp_path)
    with Image.open(src / "textures" / "brick.png") as image:
        image.resize((300, 300)).save(src / "textures" / "brick.png")
    out = tmp_path / "out"

    summary = reproduce(dst / "manifest.json", src, out, ignore_hash=True, workers=1)

    assert summary.failed == [
        {
            "source": "textures/brick.png",
            "error": "is 300x300, the manifest records 512x512",
        }
    ]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["failed"] == summary.failed
    assert [image["source"] for image in manifest["images"]] == [
        "scenes/chelsea.png",
        "scenes/rocket.jpg",
    ]
    assert not list((out / "textures").iterdir())


def test_reproduce_missing_source_rejected(small_run, tmp_path):
    src, dst = copy_run(small_run, tmp_path)
    (src / "scenes" / "rocket.jpg").unlink()

    with pytest.raises(CropaugError) as raised:
        reproduce(dst / "manifest.json", src, tmp_path / "out", workers=1)

    assert str(raised.value) == (
        f"1 sources cannot be read from SRC {src}; pass the folder the run "
        "cropped:\n  scenes/rocket.jpg: missing"
    )


def test_reproduce_source_symlink_outside_src(small_run, tmp_path):
    src, dst = copy_run(small_run, tmp_path)
    outside = tmp_path / "elsewhere.jpg"
    shutil.move(src / "scenes" / "rocket.jpg", outside)
    (src / "scenes" / "rocket.jpg").symlink_to(outside)

    with pytest.raises(CropaugError) as raised:
        reproduce(dst / "manifest.json", src, tmp_path / "out", workers=1)

    assert str(raised.value).endswith(
        "\n  scenes/rocket.jpg: resolves outside SRC through a symbolic link"
    )


def test_reproduce_warns_on_other_versions(small_run, tmp_path, caplog):
    src, dst = copy_run(small_run, tmp_path)
    rewrite_manifest(dst, lambda m: m["library_versions"].update({"pillow": "9.0.0"}))
    out = tmp_path / "out"

    with caplog.at_level(logging.WARNING, logger="cropaug"):
        reproduce(dst / "manifest.json", src, out, workers=1)

    current = library_versions()["pillow"]
    assert caplog.messages == [
        f"pillow is {current} here, the manifest records 9.0.0, so crops may "
        "differ from the original run's bytes"
    ]
    recorded = json.loads((out / "manifest.json").read_text())["library_versions"]
    assert recorded == library_versions()


@pytest.mark.crafted_manifest
@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda m: m["images"][0]["crops"][0].update(path="../../x.png"),
            "images[0].crops[0].path \"../../x.png\" contains '..'",
        ),
        (
            lambda m: m["images"][0]["crops"][1].update(path="/etc/x"),
            'images[0].crops[1].path "/etc/x" is absolute',
        ),
        (
            lambda m: m["images"][1].update(source="scenes\\rocket.jpg"),
            'images[1].source "scenes\\\\rocket.jpg" contains a backslash',
        ),
        (
            lambda m: m["images"][0]["crops"][0].update(path="a/\u0000.png"),
            'images[0].crops[0].path "a/\\u0000.png" contains a NUL character',
        ),
        (
            lambda m: m["images"][0]["crops"][0].update(x=400, y=10),
            "images[0].crops[0] box (400, 10, 528, 138) lies outside the 451x300 "
            "source",
        ),
        (
            lambda m: m["images"][0]["crops"][0].update(y=-3),
            "images[0].crops[0].y is -3, expected an integer of 0 or more",
        ),
        (
            lambda m: m["images"][0]["crops"][0].update(x=2.5),
            "images[0].crops[0].x is 2.5, expected an integer of 0 or more",
        ),
        (
            lambda m: m["images"][0]["crops"][0].update(width=64),
            "images[0].crops[0].width is 64, params records 128",
        ),
        (
            lambda m: m["classes"].__setitem__(0, ".."),
            "classes[0] \"..\" contains '..'",
        ),
        (
            lambda m: m["images"][0]["crops"][1].update(path="manifest.json"),
            'images[0].crops[1].path "manifest.json" is the manifest\'s own name',
        ),
        (
            lambda m: m["images"][0]["crops"][1].update(
                path=m["images"][0]["crops"][0]["path"].upper()
            ),
            'images[0].crops[1].path "SCENES/CHELSEA_C00.PNG" repeats '
            "images[0].crops[0]",
        ),
    ],
    ids=[
        "parent",
        "absolute",
        "backslash",
        "nul",
        "box-outside",
        "negative",
        "fraction",
        "other-size",
        "class-parent",
        "manifest-name",
        "case-duplicate",
    ],
)
def test_reproduce_rejects_crafted_manifest(small_run, tmp_path, change, problem):
    src, dst = copy_run(small_run, tmp_path)
    manifest_path = rewrite_manifest(dst, change)
    before = tree(tmp_path)
    out = tmp_path / "out"

    with pytest.raises(ManifestError) as raised:
        reproduce(manifest_path, src, out, workers=1)

    assert str(raised.value) == (
        f"{manifest_path} is invalid or unsafe, so no file was read or written "
        f"for it:\n  {problem}"
    )
    assert tree(tmp_path) == before


@pytest.mark.crafted_manifest
def test_reproduce_rejects_unknown_param(small_run, tmp_path):
    src, dst = copy_run(small_run, tmp_path)
    manifest_path = rewrite_manifest(dst, lambda m: m["params"].update(warp=1))

    with pytest.raises(ManifestError) as raised:
        reproduce(manifest_path, src, tmp_path / "out", workers=1)

    assert str(raised.value) == (
        f'{manifest_path}: params has "warp", an option this cropaug does not '
        "know; use the cropaug version that wrote the manifest"
    )


def test_reproduce_out_with_symlink_rejected(small_run, tmp_path):
    src, dst = small_run
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (out / "scenes").symlink_to(tmp_path / "elsewhere", target_is_directory=True)

    with pytest.raises(DestinationError) as raised:
        reproduce(dst / "manifest.json", src, out, workers=1)

    assert str(raised.value) == (
        f"OUT {out} is not empty; choose a new or empty folder"
    )
    assert not list((tmp_path / "elsewhere").iterdir())


def test_reproduce_out_itself_symlink_allowed(small_run, tmp_path):
    src, dst = small_run
    target = tmp_path / "target"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)

    reproduce(dst / "manifest.json", src, link, workers=1)

    assert tree(target) == tree(dst)


def test_write_recorded_crops_symlink_escape(small_run, tmp_path):
    src, dst = small_run
    manifest = json.loads((dst / "manifest.json").read_text())
    settings = settings_from_params(manifest["params"])
    image = manifest["images"][0]
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (out / "scenes").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    decoded, plan, _ = load_recorded_source(src, image, settings, check_hash=True)

    with pytest.raises(ManifestError) as raised:
        write_recorded_crops(out, decoded, plan, settings, image)

    first = out / image["crops"][0]["path"]
    assert str(raised.value) == (
        f"{first} resolves to {tmp_path / 'elsewhere' / 'chelsea_c00.png'}, "
        f"outside {out}, through a symbolic link; remove the link or copy the "
        "files into the folder"
    )
    assert not list((tmp_path / "elsewhere").iterdir())


def test_reproduce_out_inside_src_rejected(small_run, tmp_path):
    src, dst = copy_run(small_run, tmp_path)

    with pytest.raises(DestinationError) as raised:
        reproduce(dst / "manifest.json", src, src / "rebuilt", workers=1)

    assert str(raised.value) == (
        f"OUT {src / 'rebuilt'} is inside SRC {src}; choose a folder outside SRC"
    )


def test_cli_reproduce_parallel_identical(small_run, tmp_path):
    src, dst = small_run
    out = tmp_path / "out"

    result = CliRunner().invoke(
        cli,
        [
            "reproduce",
            str(dst),
            "--source",
            str(src),
            "--out",
            str(out),
            "--workers",
            "2",
            "-q",
        ],
    )

    assert result.exit_code == 0
    assert result.output == f"images 3, crops 9, failed 0, written to {out}\n"
    assert tree(out) == tree(dst)


def test_cli_reproduce_changed_source_exit_1(small_run, tmp_path):
    src, dst = copy_run(small_run, tmp_path)
    with (src / "scenes" / "rocket.jpg").open("ab") as file:
        file.write(b"\0")

    result = CliRunner().invoke(
        cli,
        [
            "reproduce",
            str(dst),
            "--source",
            str(src),
            "--out",
            str(tmp_path / "o"),
            "--workers",
            "1",
            "-q",
        ],
    )

    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"Error: 1 sources in SRC {src} differ from the manifest (SHA-256 "
        "mismatch), so their crops would differ; restore them, or pass "
        "--ignore-hash to crop them as they are now:"
    )


def test_reproduce_leaves_cwd_untouched(small_run, tmp_path, monkeypatch):
    src, dst = small_run
    monkeypatch.chdir(tmp_path)

    reproduce(dst / "manifest.json", src, "out", workers=1)

    assert sorted(os.listdir(tmp_path)) == ["out"]


@pytest.fixture(scope="module")
def mode_sources(tmp_path_factory) -> tuple[Path, Path]:
    """The crop-mode test sources and their label masks: (SRC, MASK_ROOT)."""
    return build_sources(tmp_path_factory.mktemp("mode-sources"))


@pytest.mark.parametrize("mode", list(MODE_OPTIONS))
def test_reproduce_mode_with_masks_identical(mode_sources, tmp_path, mode):
    src, labels = mode_sources
    dst = tmp_path / "run" / "dst"
    run_mode(src, dst, mode, masks=labels)
    # OUT has DST's name, so the default mask folder lies alike and the
    # manifest's mask_out is the same.
    out = tmp_path / "rebuilt" / "dst"

    summary = reproduce(dst / "manifest.json", src, out, masks=labels, workers=1)

    assert summary.failed == []
    assert summary.mask_out == tmp_path / "rebuilt" / "dst_masks"
    assert tree(out) == tree(dst)
    assert tree(tmp_path / "rebuilt" / "dst_masks") == tree(
        tmp_path / "run" / "dst_masks"
    )


def test_reproduce_resized_flips_two_workers(mode_sources, tmp_path):
    src, _ = mode_sources
    dst = tmp_path / "dst"
    run_mode(src, dst, "resized", n=8, hflip=0.5, resample="lanczos")
    manifest = json.loads((dst / "manifest.json").read_text())
    crops = [crop for image in manifest["images"] for crop in image["crops"]]
    out = tmp_path / "out"

    summary = reproduce(dst / "manifest.json", src, out, workers=2)

    assert summary.failed == []
    assert any(crop.get("flipped") for crop in crops)
    assert len({(crop["width"], crop["height"]) for crop in crops}) > 1
    assert tree(out) == tree(dst)


def test_reproduce_mask_out_option(mode_sources, tmp_path):
    src, labels = mode_sources
    dst = tmp_path / "dst"
    run_mode(src, dst, "five", masks=labels)
    out, mask_out = tmp_path / "out", tmp_path / "elsewhere" / "labels"

    summary = reproduce(
        dst / "manifest.json", src, out, masks=labels, mask_out=mask_out, workers=1
    )

    original = json.loads((dst / "manifest.json").read_text())
    rebuilt = json.loads((out / "manifest.json").read_text())
    assert summary.mask_out == mask_out
    assert tree(mask_out) == tree(tmp_path / "dst_masks")
    assert rebuilt["params"]["mask_out"] == "../elsewhere/labels"
    assert rebuilt["params"] | {"mask_out": None} == original["params"] | {
        "mask_out": None
    }
    assert rebuilt["images"] == original["images"]


def test_reproduce_masks_run_images_only(mode_sources, tmp_path, caplog):
    src, labels = mode_sources
    dst = tmp_path / "dst"
    run_mode(src, dst, "grid", masks=labels)
    out = tmp_path / "out"

    with caplog.at_level(logging.WARNING, logger="cropaug"):
        summary = reproduce(dst / "manifest.json", src, out, workers=1)

    rebuilt = json.loads((out / "manifest.json").read_text())
    assert caplog.messages == [
        "the manifest records mask crops, but no MASK_ROOT was given (--masks), "
        "so only the images are rebuilt and the new manifest records no masks"
    ]
    assert summary.mask_out is None
    assert not (tmp_path / "out_masks").exists()
    assert rebuilt["params"]["masks"] is False
    assert rebuilt["params"]["mask_out"] is None
    assert all("mask_source" not in image for image in rebuilt["images"])
    assert all(
        "mask" not in crop for image in rebuilt["images"] for crop in image["crops"]
    )
    assert {p: d for p, d in tree(out).items() if p != "manifest.json"} == {
        p: d for p, d in tree(dst).items() if p != "manifest.json"
    }
    assert verify(out, src, workers=1).problems == []


def test_reproduce_masks_for_run_without(small_run, tmp_path):
    src, dst = small_run

    with pytest.raises(InvalidParameterError) as raised:
        reproduce(dst / "manifest.json", src, tmp_path / "out", masks=src, workers=1)

    assert str(raised.value) == (
        "the manifest records no masks (params.masks is false), so there are no "
        "mask crops; leave out MASK_ROOT (--masks)"
    )
    assert not (tmp_path / "out").exists()


def test_reproduce_changed_mask_rejected(mode_sources, tmp_path):
    src, labels = mode_sources
    dst = tmp_path / "dst"
    run_mode(src, dst, "center", masks=labels)
    changed = tmp_path / "labels"
    shutil.copytree(labels, changed)
    with (changed / "cats" / "a.png").open("ab") as file:
        file.write(b"\0")
    out = tmp_path / "out"

    with pytest.raises(CropaugError) as raised:
        reproduce(dst / "manifest.json", src, out, masks=changed, workers=1)

    assert str(raised.value) == (
        f"1 masks in MASK_ROOT {changed} differ from the manifest (SHA-256 "
        "mismatch), so their crops would differ; restore them, or pass "
        "--ignore-hash to crop them as they are now:\n  cats/a.png"
    )
    assert not out.exists()


def test_reproduce_changed_mask_ignore_hash(mode_sources, tmp_path):
    src, labels = mode_sources
    dst = tmp_path / "run" / "dst"
    run_mode(src, dst, "center", masks=labels)
    changed = tmp_path / "labels"
    shutil.copytree(labels, changed)
    # Bytes after a PNG's last chunk change the file but not its labels.
    with (changed / "cats" / "a.png").open("ab") as file:
        file.write(b"\0")
    new_hash = hashlib.sha256((changed / "cats" / "a.png").read_bytes()).hexdigest()
    out = tmp_path / "rebuilt" / "dst"

    summary = reproduce(
        dst / "manifest.json", src, out, masks=changed, ignore_hash=True, workers=1
    )

    rebuilt = json.loads((out / "manifest.json").read_text())
    assert summary.changed_masks == ["cats/a.png"]
    assert rebuilt["images"][0]["mask_sha256"] == new_hash
    assert tree(tmp_path / "rebuilt" / "dst_masks") == tree(
        tmp_path / "run" / "dst_masks"
    )


def test_reproduce_mask_of_other_size_fails_image(mode_sources, tmp_path):
    src, labels = mode_sources
    dst = tmp_path / "dst"
    run_mode(src, dst, "five", masks=labels)
    changed = tmp_path / "labels"
    shutil.copytree(labels, changed)
    Image.new("L", (30, 30)).save(changed / "dogs" / "c.png")
    out = tmp_path / "out"

    summary = reproduce(
        dst / "manifest.json", src, out, masks=changed, ignore_hash=True, workers=1
    )

    assert summary.failed == [
        {"source": "dogs/c.png", "error": "mask is 30x30, image is 50x50"}
    ]
    assert list((out / "dogs").iterdir()) == []
    assert list((tmp_path / "out_masks" / "dogs").iterdir()) == []


def test_reproduce_mask_out_inside_out_rejected(mode_sources, tmp_path):
    src, labels = mode_sources
    dst = tmp_path / "dst"
    run_mode(src, dst, "center", masks=labels)
    out = tmp_path / "out"

    with pytest.raises(DestinationError) as raised:
        reproduce(
            dst / "manifest.json",
            src,
            out,
            masks=labels,
            mask_out=out / "masks",
            workers=1,
        )

    assert str(raised.value) == (
        f"MASK_OUT {out / 'masks'} overlaps OUT {out}; choose a folder outside it"
    )


def test_cli_reproduce_masks(mode_sources, tmp_path):
    src, labels = mode_sources
    dst = tmp_path / "run" / "dst"
    run_mode(src, dst, "ten", masks=labels)
    out = tmp_path / "rebuilt" / "dst"

    result = CliRunner().invoke(
        cli,
        [
            "reproduce", str(dst), "--source", str(src), "--out", str(out),
            "--masks", str(labels), "--workers", "1", "-q",
        ],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert result.output == (
        f"images 3, crops 30, failed 0, written to {out}; mask crops in "
        f"{tmp_path / 'rebuilt' / 'dst_masks'}\n"
    )
    assert tree(out) == tree(dst)
    assert tree(tmp_path / "rebuilt" / "dst_masks") == tree(
        tmp_path / "run" / "dst_masks"
    )


def test_cli_reproduce_mask_out_without_masks(small_run, tmp_path):
    src, dst = small_run

    result = CliRunner().invoke(
        cli,
        [
            "reproduce", str(dst), "--source", str(src), "--out",
            str(tmp_path / "out"), "--mask-out", str(tmp_path / "m"),
        ],
    )  # fmt: skip

    assert result.exit_code == 2
    assert (
        result.output.splitlines()[-1] == "Error: --mask-out needs --masks MASK_ROOT."
    )


@pytest.mark.parametrize(
    "options",
    [
        {"resize": 96, "small": "pad"},
        {"resize": 96, "mode": "resized", "hflip": 0.5},
        {"small": "upscale", "format": "png"},
    ],
    ids=["resize-pad", "resize-resized-mode", "upscale-png"],
)
def test_reproduce_sized_rotated_run_byte_identical(tmp_path, options):
    from conftest import EXIF_ORIENTATION, ODD, build_tree

    from cropaug.expansion import expand

    src = build_tree(
        tmp_path / "src",
        {
            "letters/landscape_6.jpg": EXIF_ORIENTATION / "Landscape_6.jpg",
            "letters/portrait_8.jpg": EXIF_ORIENTATION / "Portrait_8.jpg",
            "odd/tiny.png": ODD / "tiny.png",
            "odd/transparent.png": ODD / "transparent.png",
        },
    )
    dst = tmp_path / "run" / "dst"
    expand(src, dst, size=64, n=3, seed=5, workers=1, **options)
    out = tmp_path / "again" / "dst"

    reproduce(dst / "manifest.json", src, out)
    problems = verify(dst, src)

    assert tree(out) == tree(dst)
    assert problems.problems == []
