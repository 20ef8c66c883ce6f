"""Tests for cropaug.modes: the boxes each crop mode draws for one image."""

import itertools
from dataclasses import replace

import pytest

from cropaug import cli
from cropaug.boxes import RESAMPLING, Box
from cropaug.crop import CropSettings
from cropaug.errors import InvalidParameterError
from cropaug.modes import (
    FIXED_COUNTS,
    MODES,
    center_box,
    describe_shortfall,
    five_boxes,
    grid_boxes,
    plan_boxes,
    random_boxes,
    resolve_count,
    spread_evenly,
    validate_mode_settings,
)
from cropaug.sampling import image_rng, sample_corners


def make_settings(**changes) -> CropSettings:
    settings = CropSettings(
        crop_width=30,
        crop_height=20,
        n=5,
        seed=0,
        format="png",
        quality=95,
        subsampling=None,
        lossless=False,
        background=(255, 255, 255),
        max_pixels=10**8,
    )
    return replace(settings, **changes)


def test_five_boxes_exact_corners_and_centre():
    boxes = five_boxes(100, 80, 30, 20)
    corners = [(box.x, box.y) for box in boxes]
    assert corners == [(0, 0), (70, 0), (0, 60), (70, 60), (35, 30)]
    assert {(box.width, box.height) for box in boxes} == {(30, 20)}


def test_center_box_odd_margin_rounds_down():
    # Margins of 71 and 61 pixels: 35 left and 36 right, 30 above and 31 below.
    assert center_box(101, 81, 30, 20) == Box(35, 30, 30, 20)


def test_five_boxes_coincide_on_crop_size_image():
    assert five_boxes(30, 20, 30, 20) == [Box(0, 0, 30, 20)] * 5


def test_ten_boxes_are_five_then_mirrored():
    plan = plan_boxes(image_rng(0, "a.png"), make_settings(mode="ten"), 100, 80)
    five = five_boxes(100, 80, 30, 20)
    assert plan.boxes[:5] == five
    assert plan.boxes[5:] == [replace(box, flipped=True) for box in five]


def test_grid_boxes_row_major_by_stride():
    boxes = grid_boxes(70, 45, (30, 20), (20, 25))
    corners = [(box.x, box.y) for box in boxes]
    assert corners == [(0, 0), (20, 0), (40, 0), (0, 25), (20, 25), (40, 25)]


def test_grid_default_stride_tiles_image():
    plan = plan_boxes(image_rng(0, "a.png"), make_settings(mode="grid", n=100), 95, 45)
    corners = [(box.x, box.y) for box in plan.boxes]
    assert corners == [(0, 0), (30, 0), (60, 0), (0, 20), (30, 20), (60, 20)]
    assert plan.positions == 6


def test_grid_cap_keeps_evenly_spread_boxes():
    boxes = [Box(i, 0, 1, 1) for i in range(10)]
    kept = spread_evenly(boxes, 4)
    assert [box.x for box in kept] == [0, 2, 5, 7]


def test_grid_cap_above_count_keeps_all():
    boxes = [Box(i, 0, 1, 1) for i in range(3)]
    assert spread_evenly(boxes, 5) == boxes


def test_random_boxes_default_match_sample_corners():
    boxes = random_boxes(image_rng(0, "cats/a.jpg"), 500, 375, (224, 224), 6, 0.0, 1)
    expected = sample_corners(image_rng(0, "cats/a.jpg"), 500, 375, 224, 224, 6)
    assert [(box.x, box.y) for box in boxes] == expected
    assert not any(box.flipped for box in boxes)


def test_random_boxes_all_positions_with_min_shift_one():
    boxes = random_boxes(image_rng(0, "a.png"), 4, 4, (2, 2), 9, 0.0, 1)
    assert sorted((box.x, box.y) for box in boxes) == [
        (x, y) for x in range(3) for y in range(3)
    ]


def test_random_boxes_min_shift_two_drops_neighbours():
    boxes = random_boxes(image_rng(0, "a.png"), 4, 4, (2, 2), 9, 0.0, 2)
    assert 1 <= len(boxes) <= 4
    for a, b in itertools.combinations(boxes, 2):
        assert max(abs(a.x - b.x), abs(a.y - b.y)) >= 2, (a, b)


def test_random_boxes_hflip_one_mirrors_all():
    boxes = random_boxes(image_rng(0, "a.png"), 60, 50, (20, 20), 8, 1.0, 2)
    assert all(box.flipped for box in boxes)


def test_random_boxes_flip_doubles_capacity():
    # One position: the plain and the mirrored crop are two distinct crops.
    boxes = random_boxes(image_rng(0, "a.png"), 20, 20, (20, 20), 5, 0.5, 2)
    assert sorted(box.flipped for box in boxes) == [False, True]
    assert {(box.x, box.y) for box in boxes} == {(0, 0)}


def test_random_boxes_min_shift_within_flip_state():
    boxes = random_boxes(image_rng(3, "a.png"), 40, 30, (10, 10), 200, 0.5, 3)
    for a, b in itertools.combinations(boxes, 2):
        if a.flipped == b.flipped:
            assert max(abs(a.x - b.x), abs(a.y - b.y)) >= 3, (a, b)
    assert len(set(boxes)) == len(boxes)


@pytest.mark.parametrize("mode", ["center", "five", "grid"])
def test_fixed_modes_hflip_one_mirrors_all(mode):
    settings = make_settings(mode=mode, n=FIXED_COUNTS.get(mode, 5), hflip=1.0)
    plan = plan_boxes(image_rng(0, "a.png"), settings, 100, 80)
    assert all(box.flipped for box in plan.boxes)


def test_plan_positions_absent_in_resized_mode():
    plan = plan_boxes(image_rng(0, "a.png"), make_settings(mode="resized"), 100, 80)
    assert plan.positions is None
    assert len(plan.boxes) == 5


def test_plan_positions_count_fixed_size_corners():
    plan = plan_boxes(image_rng(0, "a.png"), make_settings(mode="five"), 100, 80)
    assert plan.positions == 71 * 61


@pytest.mark.parametrize(("mode", "count"), [("center", 1), ("five", 5), ("ten", 10)])
def test_resolve_count_fixed_modes(mode, count):
    assert resolve_count(mode, None) == count


def test_resolve_count_requires_n_for_random():
    with pytest.raises(InvalidParameterError, match="n is required with mode 'random'"):
        resolve_count("random", None)


def test_resolve_count_rejects_other_n_for_five():
    with pytest.raises(InvalidParameterError, match="mode 'five' writes 5 crops"):
        resolve_count("five", 3)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mode": "zoom"}, "mode must be one of"),
        ({"scale": (0.0, 1.0)}, r"scale must satisfy 0 < min <= max, not \(0.0, 1.0\)"),
        ({"scale": (0.5, 1.5)}, "scale max must be at most 1.0, not 1.5"),
        ({"ratio": (2.0, 1.0)}, r"ratio must satisfy 0 < min <= max"),
        ({"resample": "cubic"}, "resample must be one of nearest, box, bilinear"),
        ({"hflip": 1.5}, "hflip must be a probability from 0 to 1, not 1.5"),
        ({"mode": "ten", "n": 10, "hflip": 0.5}, "mode 'ten' already writes"),
        ({"min_shift": 0}, "min_shift must be at least 1, not 0"),
        ({"stride": (0, 4)}, "stride must be at least 1 pixel"),
    ],
    ids=[
        "mode",
        "scale-zero",
        "scale-above-one",
        "ratio-order",
        "resample",
        "hflip",
        "ten-hflip",
        "min-shift",
        "stride",
    ],
)
def test_validate_mode_settings_rejects(changes, message):
    with pytest.raises(InvalidParameterError, match=message):
        validate_mode_settings(make_settings(**changes))


def test_cli_choices_match_core_names():
    assert cli.MODES == MODES
    assert cli._FIXED_COUNTS == FIXED_COUNTS
    assert tuple(RESAMPLING) == cli.RESAMPLING_FILTERS


def test_settings_defaults_keep_random_mode():
    settings = make_settings()
    assert settings.mode == "random"
    assert settings.min_shift == 2
    assert settings.mask_root is None


def test_describe_shortfall_positions():
    image = {"positions": 4, "crops": [{}] * 4}
    text = describe_shortfall(image, make_settings(n=9, min_shift=1))
    assert text == "has only 4 crop positions; wrote 4 of 9 crops"


def test_describe_shortfall_min_shift():
    image = {"positions": 9, "crops": [{}] * 3}
    text = describe_shortfall(image, make_settings(n=9))
    expected = (
        "fits only 3 crops with corners at least 2 pixels apart; wrote 3 of 9 crops"
    )
    assert text == expected
