"""Tests for cropaug.params: the manifest's params back to CropSettings."""

import dataclasses
from pathlib import Path

import pytest

from cropaug.crop import CropSettings
from cropaug.errors import InvalidParameterError, ManifestError
from cropaug.expansion import settings_to_params
from cropaug.params import settings_from_params, with_mask_folders

SETTINGS = CropSettings(
    crop_width=224,
    crop_height=160,
    n=10,
    seed=7,
    format="webp",
    quality=80,
    subsampling="4:4:4",
    lossless=True,
    background=(18, 52, 86),
    max_pixels=1000000,
)


def test_settings_round_trip():
    assert settings_from_params(settings_to_params(SETTINGS)) == SETTINGS


MODE_VARIANTS = {
    "random-hflip": {"mode": "random", "hflip": 0.5, "min_shift": 1},
    "resized": {
        "mode": "resized",
        "n": 4,
        "scale": (0.25, 0.75),
        "ratio": (0.5, 2.0),
        "resample": "lanczos",
        "hflip": 1.0,
        "min_shift": 5,
    },
    "center": {"mode": "center", "n": 1, "hflip": 0.25},
    "five": {"mode": "five", "n": 5},
    "ten": {"mode": "ten", "n": 10},
    "grid-stride": {"mode": "grid", "stride": (16, 9)},
}


@pytest.mark.parametrize("change", MODE_VARIANTS.values(), ids=list(MODE_VARIANTS))
def test_settings_round_trip_modes(change):
    settings = dataclasses.replace(SETTINGS, **change)
    params = settings_to_params(settings)

    rebuilt = settings_from_params(params)

    assert rebuilt == settings
    assert settings_to_params(rebuilt) == params


def test_settings_stride_of_crop_size_is_default():
    params = settings_to_params(SETTINGS)

    assert params["stride"] == [224, 160]
    assert settings_from_params(params).stride is None


def test_settings_round_trip_masks(tmp_path):
    root = tmp_path.resolve()
    settings = dataclasses.replace(
        SETTINGS, mask_root=root / "labels", mask_out=root / "dst_masks"
    )
    params = settings_to_params(settings, root / "dst")

    rebuilt = settings_from_params(params, root / "labels", root / "dst_masks")

    assert params["masks"] is True
    assert params["mask_out"] == "../dst_masks"
    assert rebuilt == settings
    assert settings_to_params(rebuilt, root / "dst") == params


def test_settings_masks_recorded_images_only():
    settings = dataclasses.replace(
        SETTINGS, mask_root=Path("/labels"), mask_out=Path("/dst_masks")
    )
    params = settings_to_params(settings, Path("/dst"))

    assert settings_from_params(params) == SETTINGS


def test_with_mask_folders_run_without_masks():
    params = settings_to_params(SETTINGS)

    with pytest.raises(InvalidParameterError) as raised:
        with_mask_folders(SETTINGS, params, Path("/labels"), Path("/out_masks"))

    assert str(raised.value) == (
        "the manifest records no masks (params.masks is false), so there are no "
        "mask crops; leave out MASK_ROOT (--masks)"
    )


def test_settings_list_becomes_tuple():
    params = settings_to_params(SETTINGS) | {"background": [1, 2, 3]}

    assert settings_from_params(params).background == (1, 2, 3)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"warp": 1},
            'params has "warp", an option this cropaug does not know; use the '
            "cropaug version that wrote the manifest",
        ),
        ({"width": 0}, "params.width is 0, expected an integer of 1 or more"),
        ({"height": True}, "params.height is true, expected an integer of 1 or more"),
        ({"seed": -1}, "params.seed is -1, expected an integer of 0 or more"),
        ({"quality": 101}, "params.quality is 101, expected an integer from 1 to 100"),
        (
            {"format": "gif"},
            'params.format is "gif", expected one of same, jpeg, png, webp',
        ),
        (
            {"subsampling": "4:1:1"},
            'params.subsampling is "4:1:1", expected null or one of 4:4:4, 4:2:2, '
            "4:2:0",
        ),
        ({"lossless": "yes"}, 'params.lossless is "yes", expected true or false'),
        (
            {"background": "white"},
            'params.background is "white", expected a colour as #rrggbb',
        ),
        (
            {"mode": "crop"},
            'params.mode is "crop", expected one of random, resized, center, '
            "five, ten, grid",
        ),
        (
            {"resample": "cubic"},
            'params.resample is "cubic", expected one of nearest, box, '
            "bilinear, hamming, bicubic, lanczos",
        ),
        ({"scale": [0.5]}, "params.scale is [0.5], expected [min, max] numbers"),
        (
            {"scale": [0.5, 0.2]},
            "params are invalid: scale must satisfy 0 < min <= max, not (0.5, 0.2)",
        ),
        (
            {"ratio": ["3/4", 1]},
            'params.ratio is ["3/4", 1], expected [min, max] numbers',
        ),
        (
            {"stride": [0, 4]},
            "params.stride is [0, 4], expected [x, y] integers of 1 or more",
        ),
        (
            {"hflip": 1.5},
            "params are invalid: hflip must be a probability from 0 to 1, not 1.5",
        ),
        (
            {"min_shift": 0},
            "params.min_shift is 0, expected an integer of 1 or more",
        ),
        ({"masks": "yes"}, 'params.masks is "yes", expected true or false'),
        (
            {"masks": True},
            "params.mask_out is null, expected the mask folder relative to DST, "
            "because params.masks is true",
        ),
        (
            {"mask_out": "../masks"},
            'params.mask_out is "../masks", expected null, because params.masks '
            "is false",
        ),
        (
            {"mode": "ten", "hflip": 0.5},
            "params are invalid: mode 'ten' already writes every box plain and "
            "mirrored; leave hflip at 0, or use mode 'five' with hflip",
        ),
    ],
    ids=[
        "unknown",
        "zero-width",
        "bool-height",
        "negative-seed",
        "quality",
        "format",
        "subsampling",
        "lossless",
        "background",
        "mode",
        "resample",
        "scale-length",
        "scale-order",
        "ratio-text",
        "stride",
        "hflip",
        "min-shift",
        "masks",
        "masks-without-folder",
        "folder-without-masks",
        "ten-hflip",
    ],
)
def test_settings_invalid_params_rejected(change, message):
    params = settings_to_params(SETTINGS) | change

    with pytest.raises(ManifestError) as raised:
        settings_from_params(params)

    assert str(raised.value) == message


def test_settings_missing_param_rejected():
    params = settings_to_params(SETTINGS)
    del params["height"]
    del params["quality"]

    with pytest.raises(ManifestError) as raised:
        settings_from_params(params)

    assert str(raised.value) == "params lacks height, quality"


def test_settings_params_not_object():
    with pytest.raises(ManifestError) as raised:
        settings_from_params(None)

    assert str(raised.value) == "params is null, expected an object"
