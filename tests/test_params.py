"""Tests for cropaug.params: the manifest's params back to CropSettings."""

import pytest

from cropaug.crop import CropSettings
from cropaug.errors import ManifestError
from cropaug.expand import settings_to_params
from cropaug.params import settings_from_params

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
