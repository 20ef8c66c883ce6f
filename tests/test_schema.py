"""Tests for the manifest's JSON Schema and `cropaug schema`."""

import json
import shutil
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from manifest_schema import assert_manifest_valid
from mode_runs import build_sources, run_mode

from cropaug.cli import cli
from cropaug.expansion import expand
from cropaug.schema import load_schema, schema_text

ODD_DATA = Path(__file__).resolve().parent / "data" / "odd"


def test_schema_is_valid_draft_2020_12():
    schema = load_schema()

    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_cli_schema_prints_packaged_file():
    packaged = (
        Path(__file__).resolve().parent.parent / "cropaug" / "manifest.schema.json"
    )

    result = CliRunner().invoke(cli, ["schema"])

    assert result.exit_code == 0
    assert result.output == packaged.read_text(encoding="utf-8")
    assert result.output == schema_text()


def test_schema_accepts_optional_fields(tmp_path):
    src = tmp_path / "src" / "a"
    src.mkdir(parents=True)
    for name in ("iss634.gif", "exif_gps.jpg", "transparent.png", "broken.png"):
        shutil.copyfile(ODD_DATA / name, src / name)
    dst = tmp_path / "dst"
    expand(tmp_path / "src", dst, size=8, n=3, seed=0, format="jpeg", workers=1)
    manifest = json.loads((dst / "manifest.json").read_text())
    fields = {key for image in manifest["images"] for key in image}

    assert_manifest_valid(manifest)
    assert {"frames", "conversion", "requested"} <= fields
    assert manifest["failed"] == [
        {"source": "a/broken.png", "error": "truncated or corrupt PNG header"}
    ]


def test_schema_accepts_mode_fields(tmp_path):
    src, labels = build_sources(tmp_path)
    dst = tmp_path / "dst"
    run_mode(src, dst, "resized", masks=labels, n=2, scale=(0.9, 1.0), ratio=(3.0, 4.0))
    manifest = json.loads((dst / "manifest.json").read_text())
    image_fields = {key for image in manifest["images"] for key in image}
    crop_fields = {
        key for image in manifest["images"] for crop in image["crops"] for key in crop
    }

    assert_manifest_valid(manifest)
    assert "positions" not in image_fields
    assert {"mask_source", "mask_sha256", "mask_mode"} <= image_fields
    assert {"flipped", "center_fallback", "mask"} <= crop_fields


@pytest.mark.parametrize(
    ("change", "error_path"),
    [
        (lambda m: m["params"].update(mode="crop"), ["params", "mode"]),
        (lambda m: m["params"].update(ratio=[0.5]), ["params", "ratio"]),
        (lambda m: m["params"].update(hflip=2), ["params", "hflip"]),
        (
            lambda m: m["images"][0]["crops"][0].update(flipped="yes"),
            ["images", 0, "crops", 0, "flipped"],
        ),
        (
            lambda m: m["images"][0]["crops"][0].update(mask="../x.png"),
            ["images", 0, "crops", 0, "mask"],
        ),
        (
            lambda m: m["images"][0].update(mask_sha256="abc"),
            ["images", 0, "mask_sha256"],
        ),
    ],
    ids=["mode", "ratio", "hflip", "flipped", "mask-path", "mask-hash"],
)
def test_schema_rejects_broken_mode_fields(tmp_path, change, error_path):
    src, labels = build_sources(tmp_path)
    dst = tmp_path / "dst"
    run_mode(src, dst, "five", masks=labels)
    manifest = json.loads((dst / "manifest.json").read_text())
    change(manifest)
    validator = jsonschema.Draft202012Validator(load_schema())

    errors = list(validator.iter_errors(manifest))

    assert [list(error.path) for error in errors] == [error_path]


def test_schema_accepts_future_fields(sample_run):
    _, dst = sample_run
    manifest = json.loads((dst / "manifest.json").read_text())
    manifest["sharding"] = {"count": 2}
    manifest["params"]["keep_exif"] = True
    manifest["images"][0]["exif"] = {"Orientation": 1}
    manifest["images"][0]["crops"][0]["flip"] = False

    assert_manifest_valid(manifest)


@pytest.mark.parametrize(
    ("change", "error_path"),
    [
        (lambda m: m.pop("params"), []),
        (
            lambda m: m["images"][0]["crops"][0].update(x=-1),
            ["images", 0, "crops", 0, "x"],
        ),
        (
            lambda m: m["images"][0]["crops"][0].update(path="../x.png"),
            ["images", 0, "crops", 0, "path"],
        ),
        (
            lambda m: m["images"][0]["crops"][0].update(path="/x.png"),
            ["images", 0, "crops", 0, "path"],
        ),
        (lambda m: m["images"][0].update(sha256="abc"), ["images", 0, "sha256"]),
        (lambda m: m["images"][0].pop("output_mode"), ["images", 0]),
        (lambda m: m.update(format_version=2), ["format_version"]),
    ],
    ids=[
        "no-params",
        "negative-x",
        "parent-path",
        "absolute-path",
        "short-hash",
        "no-output-mode",
        "version",
    ],
)
def test_schema_rejects_broken_manifest(sample_run, change, error_path):
    _, dst = sample_run
    manifest = json.loads((dst / "manifest.json").read_text())
    change(manifest)
    validator = jsonschema.Draft202012Validator(load_schema())

    errors = list(validator.iter_errors(manifest))

    assert [list(error.path) for error in errors] == [error_path]
