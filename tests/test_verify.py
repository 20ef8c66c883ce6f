"""Tests for cropaug.verify and `cropaug verify`: clean runs pass, edits are listed."""

import json
import logging
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from mode_runs import MODE_OPTIONS, build_sources, run_mode
from PIL import Image, ImageDraw

from cropaug.cli import cli
from cropaug.errors import InvalidParameterError
from cropaug.expansion import expand
from cropaug.verify import Problem, verify

ODD_DATA = Path(__file__).resolve().parent / "data" / "odd"


def copy_run(run, tmp_path) -> tuple[Path, Path]:
    """Copy a session's run (SRC and DST) into tmp_path to change it."""
    src, dst = run
    src_copy = tmp_path / "src"
    dst_copy = tmp_path / "dst"
    shutil.copytree(src, src_copy)
    shutil.copytree(dst, dst_copy)
    return src_copy, dst_copy


def crop_paths(dst: Path, source: str) -> list[str]:
    manifest = json.loads((dst / "manifest.json").read_text())
    image = next(i for i in manifest["images"] if i["source"] == source)
    return [crop["path"] for crop in image["crops"]]


def test_verify_clean_run_passes(sample_run):
    src, dst = sample_run

    report = verify(dst, src, workers=1)

    assert report.problems == []
    assert report.images == 11
    assert report.crops == 44
    assert report.tolerance == 0.0


def test_verify_reports_each_tampering(sample_run, tmp_path):
    src, dst = copy_run(sample_run, tmp_path)
    png_crop = crop_paths(dst, "scenes/astronaut.png")[1]
    jpeg_crop = crop_paths(dst, "scenes/rocket.jpg")[2]
    deleted_crop = crop_paths(dst, "textures/brick.png")[3]
    with Image.open(dst / png_crop) as image:
        image.load()
    image.putpixel((5, 7), (1, 2, 3))
    image.save(dst / png_crop)
    with Image.open(dst / jpeg_crop) as image:
        image.load()
    ImageDraw.Draw(image).rectangle((40, 40, 71, 71), fill=(0, 0, 0))
    image.save(dst / jpeg_crop, quality=95)
    (dst / deleted_crop).unlink()
    (dst / "science" / "notes.txt").write_text("not a crop")
    (dst / "leftover").mkdir()
    with (src / "scenes" / "coffee.png").open("ab") as file:
        file.write(b"\0")

    report = verify(dst, src, workers=1)

    messages = {problem.path: problem.message for problem in report.problems}
    assert len(report.problems) == 6
    assert messages[str(dst / png_crop)] == (
        "1 pixel differs from the source region (largest difference 134)"
    )
    assert re.fullmatch(
        r"\d+ pixels differ from the source region \(largest difference \d+\)",
        messages[str(dst / jpeg_crop)],
    )
    assert messages[str(dst / deleted_crop)] == "missing"
    assert messages[str(dst / "science" / "notes.txt")] == (
        "stray file, not in the manifest"
    )
    assert messages[str(dst / "leftover")] == "stray empty folder"
    assert messages[str(src / "scenes" / "coffee.png")].startswith(
        "changed since the manifest was written: its SHA-256 is "
    )


def test_verify_crop_of_other_box_detected(small_run, tmp_path):
    src, dst = copy_run(small_run, tmp_path)
    first, second = crop_paths(dst, "textures/brick.png")[:2]
    shutil.copyfile(dst / second, dst / first)

    report = verify(dst, src, workers=1)

    assert [problem.path for problem in report.problems] == [str(dst / first)]


def test_verify_wrong_size_and_undecodable(small_run, tmp_path):
    src, dst = copy_run(small_run, tmp_path)
    resized, broken = crop_paths(dst, "scenes/chelsea.png")[:2]
    with Image.open(dst / resized) as image:
        image.resize((100, 128)).save(dst / resized)
    (dst / broken).write_bytes(b"not an image")

    report = verify(dst, src, workers=1)

    assert report.problems == [
        Problem(str(dst / resized), "is 100x128, the manifest records 128x128"),
        Problem(str(dst / broken), "does not decode: not an image"),
    ]


def test_verify_crop_replaced_by_folder(small_run, tmp_path):
    src, dst = copy_run(small_run, tmp_path)
    replaced = crop_paths(dst, "scenes/rocket.jpg")[1]
    (dst / replaced).unlink()
    (dst / replaced).mkdir()

    report = verify(dst, src, workers=1)

    assert report.problems == [
        Problem(str(dst / replaced), "is not a regular file"),
        Problem(str(dst / replaced), "stray empty folder"),
    ]


def test_verify_missing_source(small_run, tmp_path):
    src, dst = copy_run(small_run, tmp_path)
    (src / "scenes" / "rocket.jpg").unlink()

    report = verify(dst, src, workers=1)

    assert report.problems == [
        Problem(str(src / "scenes" / "rocket.jpg"), "missing from SRC")
    ]


def test_verify_symlinked_folder_outside_dst(small_run, tmp_path):
    src, dst = copy_run(small_run, tmp_path)
    outside = tmp_path / "outside"
    shutil.move(dst / "textures", outside)
    (dst / "textures").symlink_to(outside, target_is_directory=True)

    report = verify(dst, src, workers=1)

    messages = [(p.path, p.message) for p in report.problems]
    assert (str(dst / "textures"), "stray symbolic link") in messages
    inside_link = str(dst / "textures") + "/"
    outside_messages = [m for m in messages if m[0].startswith(inside_link)]
    assert len(outside_messages) == 3
    assert {m[1] for m in outside_messages} == {
        "resolves outside DST through a symbolic link; not read"
    }


def test_verify_interrupted_run_leftovers(small_run, tmp_path):
    src, dst = copy_run(small_run, tmp_path)
    (dst / ".cropaug-progress.jsonl").write_text("{}\n")

    report = verify(dst, src, workers=1)

    assert report.problems == [
        Problem(
            str(dst / ".cropaug-progress.jsonl"),
            "stray file left by an interrupted cropaug run",
        )
    ]


def test_verify_odd_modes_pass(tmp_path):
    src = tmp_path / "src"
    (src / "odd").mkdir(parents=True)
    for name in (
        "16bit.cropped.tif",
        "p_trns_single.png",
        "uncompressed_la.png",
        "pil_sample_cmyk.jpg",
        "transparent.png",
        "iss634.gif",
        "hopper_orientation_6.jpg",
    ):
        shutil.copyfile(ODD_DATA / name, src / "odd" / name)
    dst = tmp_path / "dst"
    expand(src, dst, size=16, n=3, seed=5, workers=1)

    report = verify(dst, src, workers=1)

    assert report.problems == []
    assert report.crops == 21


def test_verify_lossless_webp_exact(tmp_path):
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    shutil.copyfile(ODD_DATA / "transparent.png", src / "a" / "t.png")
    dst = tmp_path / "dst"
    expand(src, dst, size=32, n=2, seed=1, workers=1, format="webp", lossless=True)
    crop = dst / "a" / "t_c00.webp"
    with Image.open(crop) as image:
        image.load()
    image.putpixel((0, 0), (0, 0, 0, 255))
    image.save(crop, lossless=True, exact=True)

    report = verify(dst, src, workers=1)

    assert len(report.problems) == 1
    assert report.problems[0].path == str(crop)
    assert report.problems[0].message.startswith("1 pixel differs")


def test_cli_verify_ok(small_run):
    src, dst = small_run

    result = CliRunner().invoke(
        cli, ["verify", str(dst), "--source", str(src), "-q", "--workers", "1"]
    )

    assert result.exit_code == 0
    assert result.output == f"ok: 3 images, 9 crops match {dst / 'manifest.json'}\n"


def test_cli_verify_lists_problems(small_run, tmp_path):
    src, dst = copy_run(small_run, tmp_path)
    deleted = crop_paths(dst, "scenes/chelsea.png")[0]
    (dst / deleted).unlink()
    (dst / "extra.txt").write_text("x")

    result = CliRunner().invoke(
        cli, ["verify", str(dst), "--source", str(src), "-q", "--workers", "2"]
    )

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{dst / 'extra.txt'}: stray file, not in the manifest",
        f"{dst / deleted}: missing",
        "2 problems (3 images, 9 crops checked)",
    ]


@pytest.mark.crafted_manifest
def test_cli_verify_rejects_crafted_path(small_run, tmp_path):
    src, dst = copy_run(small_run, tmp_path)
    manifest_path = dst / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["images"][0]["crops"][0]["path"] = "../../x.png"
    manifest_path.write_text(json.dumps(manifest))

    result = CliRunner().invoke(cli, ["verify", str(dst), "--source", str(src)])

    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"Error: {manifest_path} is invalid or unsafe, so no file was read or "
        "written for it:",
        "  images[0].crops[0].path \"../../x.png\" contains '..'",
    ]


@pytest.fixture(scope="module")
def mode_sources(tmp_path_factory) -> tuple[Path, Path]:
    """The crop-mode test sources and their label masks: (SRC, MASK_ROOT)."""
    return build_sources(tmp_path_factory.mktemp("mode-sources"))


@pytest.fixture(scope="module")
def resized_run(mode_sources, tmp_path_factory) -> Path:
    """A resized-mode run with flips and masks of the mode sources; returns DST."""
    dst = tmp_path_factory.mktemp("resized") / "dst"
    run_mode(mode_sources[0], dst, "resized", masks=mode_sources[1])
    return dst


def copy_masks_run(dst: Path, tmp_path: Path) -> Path:
    """Copy a run with masks (DST and DST_masks) into tmp_path; return the DST copy."""
    shutil.copytree(dst, tmp_path / "dst")
    shutil.copytree(dst.parent / "dst_masks", tmp_path / "dst_masks")
    return tmp_path / "dst"


def first_crop(dst: Path, flipped: bool) -> dict:
    manifest = json.loads((dst / "manifest.json").read_text())
    return next(
        crop
        for image in manifest["images"]
        for crop in image["crops"]
        if crop.get("flipped", False) == flipped
    )


@pytest.mark.parametrize("mode", list(MODE_OPTIONS))
def test_verify_mode_with_masks_passes(mode_sources, tmp_path, mode):
    src, labels = mode_sources
    dst = tmp_path / "dst"
    summary = run_mode(src, dst, mode, masks=labels)

    report = verify(dst, src, masks=labels, workers=1)

    assert report.problems == []
    assert report.crops == summary.crops
    assert report.mask_out == tmp_path / "dst_masks"
    assert report.masks_compared


def test_verify_unflipped_crop_detected(resized_run, mode_sources, tmp_path):
    src, labels = mode_sources
    dst = copy_masks_run(resized_run, tmp_path)
    crop = first_crop(dst, flipped=True)
    with Image.open(dst / crop["path"]) as image:
        image.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(dst / crop["path"])

    report = verify(dst, src, masks=labels, workers=1)

    assert [problem.path for problem in report.problems] == [str(dst / crop["path"])]
    assert re.fullmatch(
        r"\d+ pixels differ from the source region \(largest difference \d+\)",
        report.problems[0].message,
    )


def test_verify_crop_of_box_size_detected(resized_run, mode_sources, tmp_path):
    src, labels = mode_sources
    dst = copy_masks_run(resized_run, tmp_path)
    crop = next(
        crop
        for image in json.loads((dst / "manifest.json").read_text())["images"]
        for crop in image["crops"]
        if (crop["width"], crop["height"]) != (16, 12)
    )
    with Image.open(dst / crop["path"]) as image:
        image.resize((crop["width"], crop["height"])).save(dst / crop["path"])

    report = verify(dst, src, masks=labels, workers=1)

    assert report.problems == [
        Problem(
            str(dst / crop["path"]),
            f"is {crop['width']}x{crop['height']}, the manifest records 16x12",
        )
    ]


def test_verify_mask_label_changed(resized_run, mode_sources, tmp_path):
    src, labels = mode_sources
    dst = copy_masks_run(resized_run, tmp_path)
    crop = first_crop(dst, flipped=False)
    mask_path = tmp_path / "dst_masks" / crop["mask"]
    with Image.open(mask_path) as mask:
        mask.load()
    mask.putpixel((3, 4), (mask.getpixel((3, 4)) + 1) % 4)
    mask.save(mask_path)

    report = verify(dst, src, masks=labels, workers=1)

    assert report.problems == [
        Problem(
            str(mask_path),
            "1 pixel differs from the mask region (largest difference 1)",
        )
    ]


def test_verify_palette_mask_index_changed(mode_sources, tmp_path):
    src, labels = mode_sources
    dst = tmp_path / "dst"
    run_mode(src, dst, "center", masks=labels)
    mask_path = tmp_path / "dst_masks" / "cats" / "b_c00.png"
    with Image.open(mask_path) as mask:
        mask.load()
    # Index 4 gets the colour of index 0 (black), so only the label changes.
    palette = mask.getpalette()
    palette += palette[:3] * (256 - len(palette) // 3)
    pixels = np.asarray(mask).copy()
    pixels[pixels == 0] = 4
    changed = Image.fromarray(pixels, "P")
    changed.putpalette(palette)
    changed.save(mask_path)

    report = verify(dst, src, masks=labels, workers=1)

    assert [problem.path for problem in report.problems] == [str(mask_path)]
    assert report.problems[0].message.endswith("(largest difference 4)")


def test_verify_changed_mask_source(resized_run, mode_sources, tmp_path):
    src, labels = mode_sources
    dst = copy_masks_run(resized_run, tmp_path)
    changed = tmp_path / "labels"
    shutil.copytree(labels, changed)
    with (changed / "dogs" / "c.png").open("ab") as file:
        file.write(b"\0")

    report = verify(dst, src, masks=changed, workers=1)

    assert [problem.path for problem in report.problems] == [
        str(changed / "dogs" / "c.png")
    ]
    assert report.problems[0].message.startswith(
        "mask dogs/c.png changed since the manifest was written: its SHA-256 is "
    )


def test_verify_masks_not_given(resized_run, mode_sources, tmp_path, caplog):
    src, _ = mode_sources
    dst = copy_masks_run(resized_run, tmp_path)
    crop = first_crop(dst, flipped=False)
    (tmp_path / "dst_masks" / crop["mask"]).unlink()
    (tmp_path / "dst_masks" / "cats" / "extra.png").write_bytes(b"x")

    with caplog.at_level(logging.WARNING, logger="cropaug"):
        report = verify(dst, src, workers=1)

    assert caplog.messages == [
        "the manifest records mask crops, but no MASK_ROOT was given (--masks), "
        "so their files are checked but not their labels"
    ]
    assert not report.masks_compared
    assert sorted((p.path, p.message) for p in report.problems) == sorted(
        [
            (str(tmp_path / "dst_masks" / crop["mask"]), "missing"),
            (
                str(tmp_path / "dst_masks" / "cats" / "extra.png"),
                "stray file, not in the manifest",
            ),
        ]
    )


def test_verify_moved_mask_folder(resized_run, mode_sources, tmp_path):
    src, labels = mode_sources
    shutil.copytree(resized_run, tmp_path / "dst")
    shutil.copytree(resized_run.parent / "dst_masks", tmp_path / "moved")

    report = verify(
        tmp_path / "dst", src, masks=labels, mask_out=tmp_path / "moved", workers=1
    )

    assert report.problems == []
    assert report.mask_out == tmp_path / "moved"


def test_verify_masks_for_run_without(small_run):
    src, dst = small_run

    with pytest.raises(InvalidParameterError) as raised:
        verify(dst, src, masks=src, workers=1)

    assert str(raised.value) == (
        "the manifest records no masks (params.masks is false), so there are no "
        "mask crops; leave out MASK_ROOT (--masks)"
    )


def test_verify_mask_out_for_run_without(small_run, tmp_path):
    src, dst = small_run

    with pytest.raises(InvalidParameterError) as raised:
        verify(dst, src, mask_out=tmp_path, workers=1)

    assert str(raised.value) == (
        "the manifest records no masks (params.masks is false), so there are no "
        "mask crops; leave out the mask folder (--mask-out)"
    )


def test_cli_verify_masks_ok(resized_run, mode_sources):
    src, labels = mode_sources

    result = CliRunner().invoke(
        cli,
        [
            "verify", str(resized_run), "--source", str(src), "--masks",
            str(labels), "-q", "--workers", "1",
        ],
    )  # fmt: skip

    assert result.exit_code == 0
    assert result.output == (
        f"ok: 4 images, 20 crops and their mask crops in "
        f"{resized_run.parent.resolve() / 'dst_masks'} match "
        f"{resized_run / 'manifest.json'}\n"
    )


def test_cli_verify_masks_not_compared(resized_run, mode_sources):
    src, _ = mode_sources

    result = CliRunner().invoke(
        cli, ["verify", str(resized_run), "--source", str(src), "-q"]
    )

    assert result.exit_code == 0
    assert result.output == (
        f"ok: 4 images, 20 crops and their mask crops in "
        f"{resized_run.parent.resolve() / 'dst_masks'} match "
        f"{resized_run / 'manifest.json'}; mask labels not compared (pass "
        "--masks MASK_ROOT)\n"
    )
