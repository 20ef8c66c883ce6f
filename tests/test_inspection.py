"""Tests for cropaug.inspection and `cropaug inspect`: summaries of a manifest."""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from mode_runs import build_sources, run_mode

from cropaug.cli import cli
from cropaug.expansion import expand
from cropaug.inspection import summarize_manifest
from cropaug.manifest import library_versions

ODD_DATA = Path(__file__).resolve().parent / "data" / "odd"


@pytest.fixture(scope="module")
def odd_run(tmp_path_factory) -> Path:
    """A run with a clamped, an animated, a converted, a skipped and a failed source."""
    src = tmp_path_factory.mktemp("odd-run") / "src"
    (src / "a").mkdir(parents=True)
    (src / "b").mkdir()
    for name in (
        "exif_gps.jpg",
        "iss634.gif",
        "transparent.png",
        "broken.png",
        "tiny.png",
    ):
        shutil.copyfile(ODD_DATA / name, src / "a" / name)
    shutil.copyfile(ODD_DATA / "hopper_gray.jpg", src / "b" / "hopper_gray.jpg")
    (src / "notes.txt").write_text("not an image")
    dst = src.parent / "dst"
    expand(src, dst, size=8, n=3, seed=2, format="jpeg", workers=1)
    return dst


def run_inspect(*arguments: str):
    return CliRunner().invoke(cli, ["inspect", *arguments])


def test_summary_counts_sample_run(sample_run):
    _, dst = sample_run
    manifest = json.loads((dst / "manifest.json").read_text())

    summary = summarize_manifest(manifest)

    assert summary["totals"] == {
        "classes": 3,
        "images": 11,
        "crops": 44,
        "clamped": 0,
        "skipped": 1,
        "failed": 0,
    }
    assert [(r["class_name"], r["images"], r["crops"]) for r in summary["classes"]] == [
        ("scenes", 6, 24),
        ("science", 2, 8),
        ("textures", 3, 12),
        (None, 0, 0),
    ]
    assert summary["output_formats"] == [
        {"output_format": "PNG", "images": 8, "crops": 32},
        {"output_format": "JPEG", "images": 3, "crops": 12},
    ]
    assert summary["params"]["seed"] == 0
    assert summary["library_versions"] == library_versions()


def test_cli_inspect_json_fields(odd_run):
    result = run_inspect(str(odd_run / "manifest.json"), "--json")

    assert result.exit_code == 0
    summary = json.loads(result.output)
    assert summary["format_version"] == 1
    assert summary["cropaug_version"] == "0.1.0"
    assert summary["library_versions"] == library_versions()
    assert summary["params"]["width"] == 8
    assert summary["params"]["n"] == 3
    assert summary["params"]["seed"] == 2
    assert summary["params"]["format"] == "jpeg"
    assert summary["totals"] == {
        "classes": 2,
        "images": 4,
        "crops": 10,
        "clamped": 1,
        "skipped": 2,
        "failed": 1,
    }
    assert summary["classes"] == [
        {
            "class_name": "a",
            "images": 3,
            "crops": 7,
            "clamped": 1,
            "skipped": 1,
            "failed": 1,
        },
        {
            "class_name": "b",
            "images": 1,
            "crops": 3,
            "clamped": 0,
            "skipped": 0,
            "failed": 0,
        },
        {
            "class_name": None,
            "images": 0,
            "crops": 0,
            "clamped": 0,
            "skipped": 1,
            "failed": 0,
        },
    ]
    assert summary["output_formats"] == [
        {"output_format": "JPEG", "images": 4, "crops": 10}
    ]
    assert summary["conversions"] == [
        {"conversion": "P converted to RGB", "images": 1},
        {"conversion": "alpha composited over #ffffff", "images": 1},
    ]
    assert summary["first_frame_only"] == [{"source": "a/iss634.gif", "frames": 42}]
    assert summary["clamped"] == [
        {"source": "a/exif_gps.jpg", "positions": 1, "crops": 1, "requested": 3}
    ]
    assert summary["skipped"] == [
        {"source": "a/tiny.png", "reason": "image is 4x4, smaller than the 8x8 crop"},
        {"source": "notes.txt", "reason": "not in a class folder"},
    ]
    assert summary["failed"] == [
        {"source": "a/broken.png", "error": "truncated or corrupt PNG header"}
    ]


def test_cli_inspect_text_lines(odd_run):
    versions = library_versions()

    result = run_inspect(str(odd_run))

    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == f"Manifest  {odd_run / 'manifest.json'}"
    assert lines[1] == (
        "Written by cropaug 0.1.0 (manifest format 1) with "
        f"numpy {versions['numpy']}, pillow {versions['pillow']}, "
        f"simplejpeg {versions['simplejpeg']}"
    )
    expected = [
        "  seed         2                           run seed; with the same "
        "sources it gives the same crops",
        "  subsampling  null                        JPEG chroma subsampling; null "
        "= the source's own",
        "  ratio        [0.75, 1.3333333333333333]  resized mode: box width / "
        "height, [min, max]",
        "  masks        false                       label masks cropped alongside",
        "Classes 2, images 4, crops 10, clamped 1, skipped 2, failed 1",
        "  class              images  crops  clamped  skipped  failed",
        "  a                       3      7        1        1       1",
        "  b                       1      3        0        0       0",
        "  (outside classes)       0      0        0        1       0",
        "  total                   4     10        1        2       1",
        "  JPEG  4 images  10 crops",
        "  1 image: P converted to RGB",
        "  1 image: alpha composited over #ffffff",
        "  a/iss634.gif: 42 frames",
        "Clamped: 1 (fewer crops than n fit)",
        "  a/exif_gps.jpg          1      1          3",
        "  a/tiny.png: image is 4x4, smaller than the 8x8 crop",
        "  notes.txt: not in a class folder",
        "Failed: 1",
        "  a/broken.png: truncated or corrupt PNG header",
    ]
    for line in expected:
        assert line in lines


def test_cli_inspect_image_boxes(odd_run):
    manifest = json.loads((odd_run / "manifest.json").read_text())
    image = next(i for i in manifest["images"] if i["source"] == "b/hopper_gray.jpg")

    result = run_inspect(str(odd_run), "--image", "b/hopper_gray.jpg")

    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "Source     b/hopper_gray.jpg (class b)"
    assert lines[2] == "Crops      JPEG L"
    assert lines[3] == "Boxes      3, out of 14641 positions"
    assert lines[5].split() == ["#", "path", "x", "y", "width", "height"]
    rows = [line.split() for line in lines[6:]]
    assert rows == [
        [str(i), c["path"], str(c["x"]), str(c["y"]), "8", "8"]
        for i, c in enumerate(image["crops"])
    ]


def test_cli_inspect_image_json_is_record(odd_run):
    manifest = json.loads((odd_run / "manifest.json").read_text())

    result = run_inspect(str(odd_run), "--image", "a/exif_gps.jpg", "--json")

    assert result.exit_code == 0
    assert json.loads(result.output) == manifest["images"][0]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "a/broken.png",
            "Error: a/broken.png has no crops: it failed: "
            "truncated or corrupt PNG header",
        ),
        (
            "a/tiny.png",
            "Error: a/tiny.png has no crops: it was skipped: image is 4x4, smaller "
            "than the 8x8 crop",
        ),
        (
            "a/nothing.png",
            "Error: a/nothing.png is not in the manifest; pass a source path "
            "relative to SRC as the manifest lists it, such as a/exif_gps.jpg",
        ),
    ],
    ids=["failed", "skipped", "unknown"],
)
def test_cli_inspect_image_without_crops(odd_run, source, message):
    result = run_inspect(str(odd_run), "--image", source)

    assert result.exit_code == 1
    assert result.output == message + "\n"


def test_cli_inspect_missing_manifest(tmp_path):
    result = run_inspect(str(tmp_path))

    assert result.exit_code == 1
    assert result.output == (
        f"Error: {tmp_path / 'manifest.json'} does not exist; pass the "
        "manifest.json of a run\n"
    )


def test_cli_inspect_escapes_control_characters(odd_run, tmp_path):
    dst = tmp_path / "dst"
    shutil.copytree(odd_run, dst)
    manifest = json.loads((dst / "manifest.json").read_text())
    manifest["failed"][0]["error"] = "bad\x1b[31m red"
    (dst / "manifest.json").write_text(json.dumps(manifest))

    result = run_inspect(str(dst))

    assert "  a/broken.png: bad\\x1b[31m red" in result.output.splitlines()
    assert "\x1b" not in result.output


def test_cli_inspect_accepts_unknown_param(odd_run, tmp_path):
    dst = tmp_path / "dst"
    shutil.copytree(odd_run, dst)
    manifest = json.loads((dst / "manifest.json").read_text())
    manifest["params"]["warp"] = 0.5
    (dst / "manifest.json").write_text(json.dumps(manifest))

    result = run_inspect(str(dst))

    assert result.exit_code == 0
    assert "  warp         0.5" in result.output.splitlines()


@pytest.fixture(scope="module")
def fallback_run(tmp_path_factory) -> Path:
    """A resized run with masks whose wide boxes never fit: centre fallbacks."""
    root = tmp_path_factory.mktemp("fallback")
    src, labels = build_sources(root)
    dst = root / "dst"
    run_mode(src, dst, "resized", masks=labels, n=3, scale=(0.9, 1.0), ratio=(3, 4))
    return dst


def test_summary_counts_crop_flags(fallback_run):
    manifest = json.loads((fallback_run / "manifest.json").read_text())
    crops = [crop for image in manifest["images"] for crop in image["crops"]]

    summary = summarize_manifest(manifest)

    assert summary["crop_flags"] == {
        "flipped": sum("flipped" in crop for crop in crops),
        "center_fallback": len(crops),
    }
    assert summary["crop_flags"]["flipped"] > 0
    assert [c["positions"] for c in summary["clamped"]] == [None] * len(
        summary["clamped"]
    )


def test_cli_inspect_mode_summary_lines(fallback_run):
    manifest = json.loads((fallback_run / "manifest.json").read_text())
    summary = summarize_manifest(manifest)
    clamped = summary["clamped"][0]

    result = run_inspect(str(fallback_run))

    lines = result.output.splitlines()
    assert result.exit_code == 0
    assert ["mode", "resized"] in [line.split()[:2] for line in lines]
    assert (
        f"Mirrored crops: {summary['crop_flags']['flipped']} of "
        f"{summary['totals']['crops']}"
    ) in lines
    assert (
        f"Centre fallbacks: {summary['totals']['crops']} (resized mode: no drawn "
        "box fitted, so the centre box was cut)"
    ) in lines
    row = [line.split() for line in lines if line.startswith(f"  {clamped['source']} ")]
    assert row == [[clamped["source"], "-", str(clamped["crops"]), "3"]]


def test_cli_inspect_image_flags_and_masks(fallback_run):
    manifest = json.loads((fallback_run / "manifest.json").read_text())
    image = manifest["images"][0]

    result = run_inspect(str(fallback_run), "--image", image["source"])

    lines = result.output.splitlines()
    assert result.exit_code == 0
    assert lines[3] == (
        f"Mask       {image['mask_source']} {image['mask_mode']}, SHA-256 "
        f"{image['mask_sha256']}"
    )
    assert lines[4].startswith(f"Boxes      {len(image['crops'])} of 3 requested")
    assert lines[4].endswith(", of varying size")
    assert lines[6].split() == [
        "#", "path", "x", "y", "width", "height", "flags", "mask",
    ]  # fmt: skip
    rows = [line.split() for line in lines[7:]]
    expected_rows = []
    for index, crop in enumerate(image["crops"]):
        flags = ",".join(
            flag for flag in ("flipped", "center_fallback") if crop.get(flag)
        )
        expected_rows.append(
            [
                str(index),
                crop["path"],
                str(crop["x"]),
                str(crop["y"]),
                str(crop["width"]),
                str(crop["height"]),
                flags,
                crop["mask"],
            ]
        )
    assert rows == expected_rows
