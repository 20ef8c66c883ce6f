"""Tests for cropaug.validate: the fields, boxes and masks of a manifest."""

import copy
import json

import pytest
from mode_runs import build_sources, run_mode

from cropaug.errors import ManifestError
from cropaug.params import settings_from_params
from cropaug.validate import load_checked_manifest, manifest_problems


@pytest.fixture(scope="module")
def mode_manifests(tmp_path_factory) -> dict[str, dict]:
    """Manifests of a resized and a five run, both with masks, by mode."""
    root = tmp_path_factory.mktemp("validate")
    src, labels = build_sources(root)
    manifests = {}
    for mode in ("resized", "five"):
        dst = root / mode / "dst"
        run_mode(src, dst, mode, masks=labels)
        manifests[mode] = json.loads((dst / "manifest.json").read_text())
    return manifests


def problems_after(manifest: dict, change) -> list[str]:
    changed = copy.deepcopy(manifest)
    change(changed)
    return manifest_problems(changed, settings_from_params(changed["params"]))


def test_resized_boxes_of_any_size_pass(mode_manifests):
    manifest = mode_manifests["resized"]
    sizes = {
        (crop["width"], crop["height"])
        for image in manifest["images"]
        for crop in image["crops"]
    }

    assert len(sizes) > 1
    assert manifest_problems(manifest, settings_from_params(manifest["params"])) == []


def test_five_boxes_pass(mode_manifests):
    manifest = mode_manifests["five"]

    assert manifest_problems(manifest, settings_from_params(manifest["params"])) == []


def set_crop(image: int, crop: int, **fields):
    return lambda m: m["images"][image]["crops"][crop].update(fields)


def set_image(image: int, **fields):
    return lambda m: m["images"][image].update(fields)


def repeat_mask_path(manifest: dict) -> None:
    crops = manifest["images"][0]["crops"]
    crops[1]["path"] = crops[0]["path"].removesuffix(".png") + ".jpg"
    crops[1]["mask"] = crops[0]["mask"]


@pytest.mark.parametrize(
    ("mode", "change", "problem"),
    [
        (
            "five",
            set_crop(0, 1, width=20),
            "images[0].crops[1].width is 20, params records 16",
        ),
        (
            "resized",
            set_crop(0, 0, x=60, width=10),
            "images[0].crops[0] box (60, {y}, 70, {bottom}) lies outside the 64x48 "
            "source",
        ),
        (
            "resized",
            set_crop(0, 0, flipped="yes"),
            'images[0].crops[0].flipped is "yes", expected true or false',
        ),
        (
            "resized",
            set_crop(0, 0, center_fallback=1),
            "images[0].crops[0].center_fallback is 1, expected true or false",
        ),
        (
            "five",
            set_crop(1, 2, mask=None),
            'images[1].crops[2].mask is null, expected "cats/b_c02.png", the '
            "crop's path with the extension .png",
        ),
        (
            "five",
            set_crop(1, 2, mask="cats/b_c03.png"),
            'images[1].crops[2].mask is "cats/b_c03.png", expected '
            '"cats/b_c02.png", the crop\'s path with the extension .png',
        ),
        (
            "five",
            repeat_mask_path,
            'images[0].crops[1].mask "cats/a_c00.png" repeats images[0].crops[0].mask',
        ),
        (
            "five",
            set_image(0, mask_source="../labels/a.png"),
            "images[0].mask_source \"../labels/a.png\" contains '..'",
        ),
        (
            "five",
            set_image(2, mask_sha256="abc"),
            'images[2].mask_sha256 is "abc", expected 64 hex digits',
        ),
        (
            "five",
            set_image(2, mask_mode=None),
            "images[2].mask_mode is null, expected a string",
        ),
        (
            "five",
            lambda m: m["params"].update(mask_out="/srv/masks"),
            'params.mask_out "/srv/masks" is absolute',
        ),
        (
            "five",
            lambda m: m["params"].update(mask_out="..\\masks"),
            'params.mask_out "..\\\\masks" contains a backslash',
        ),
    ],
    ids=[
        "fixed-size",
        "resized-outside",
        "flipped-text",
        "fallback-number",
        "mask-missing",
        "mask-other-crop",
        "mask-repeated",
        "mask-source-parent",
        "mask-hash",
        "mask-mode",
        "mask-out-absolute",
        "mask-out-backslash",
    ],
)
def test_manifest_problems_modes_and_masks(mode_manifests, mode, change, problem):
    manifest = mode_manifests[mode]
    crop = manifest["images"][0]["crops"][0]
    expected = problem.format(y=crop["y"], bottom=crop["y"] + crop["height"])

    assert problems_after(manifest, change) == [expected]


@pytest.mark.crafted_manifest
def test_load_checked_manifest_lists_mask_problem(mode_manifests, tmp_path):
    manifest = copy.deepcopy(mode_manifests["five"])
    manifest["images"][0]["crops"][0]["mask"] = "../../x.png"
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))

    with pytest.raises(ManifestError) as raised:
        load_checked_manifest(path)

    assert str(raised.value) == (
        f"{path} is invalid or unsafe, so no file was read or written for it:\n"
        '  images[0].crops[0].mask is "../../x.png", expected "cats/a_c00.png", the '
        "crop's path with the extension .png"
    )


def test_masks_false_ignores_mask_fields(mode_manifests):
    manifest = copy.deepcopy(mode_manifests["five"])
    manifest["params"].update(masks=False, mask_out=None)

    assert manifest_problems(manifest, settings_from_params(manifest["params"])) == []
