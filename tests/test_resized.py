"""Tests for cropaug.resized: Inception-style boxes of random area and ratio."""

import itertools
import math

import numpy as np

from cropaug.boxes import Box
from cropaug.resized import center_fallback_box, draw_resized_box, resized_boxes
from cropaug.sampling import (
    UNIT_STEP,
    bernoulli,
    image_rng,
    uniform_unit,
    uniform_unit_numerator,
)

DEFAULT_SCALE = (0.08, 1.0)
DEFAULT_RATIO = (3 / 4, 4 / 3)


def draw_many(count: int, width: int, height: int, scale, ratio) -> list[Box]:
    rng = image_rng(0, "cats/a.jpg")
    return [draw_resized_box(rng, width, height, scale, ratio) for _ in range(count)]


def test_resized_area_within_scale():
    boxes = draw_many(2000, 1000, 800, DEFAULT_SCALE, DEFAULT_RATIO)
    fractions = [box.width * box.height / (1000 * 800) for box in boxes]
    # Rounding each side to an integer moves the area by under 0.5% here.
    assert min(fractions) >= 0.08 * 0.995
    assert max(fractions) <= 1.0
    assert min(fractions) < 0.1
    assert max(fractions) > 0.9


def test_resized_ratio_within_range():
    boxes = draw_many(2000, 1000, 800, DEFAULT_SCALE, DEFAULT_RATIO)
    drawn = [box for box in boxes if not box.center_fallback]
    log_ratios = [math.log(box.width / box.height) for box in drawn]
    tolerance = 0.01
    assert min(log_ratios) >= math.log(3 / 4) - tolerance
    assert max(log_ratios) <= math.log(4 / 3) + tolerance


def test_resized_ratio_log_uniform():
    # Every box of at most half the area fits a square image, so no draw is
    # rejected and the accepted ratios follow the drawn distribution.
    boxes = draw_many(4000, 1000, 1000, (0.08, 0.5), DEFAULT_RATIO)
    low, high = math.log(3 / 4), math.log(4 / 3)
    positions = [
        (math.log(box.width / box.height) - low) / (high - low) for box in boxes
    ]
    for quantile in (0.25, 0.5, 0.75):
        share = sum(value < quantile for value in positions) / len(positions)
        assert abs(share - quantile) < 0.03, (quantile, share)


def test_resized_boxes_inside_image():
    boxes = draw_many(2000, 300, 200, DEFAULT_SCALE, DEFAULT_RATIO)
    for box in boxes:
        assert box.x >= 0, box
        assert box.y >= 0, box
        assert box.x + box.width <= 300, box
        assert box.y + box.height <= 200, box


def test_resized_fixed_scale_ratio_exact_sides():
    # Area 0.5 * 1000 * 1000 and ratio 2 give sqrt(1e6) by sqrt(2.5e5).
    boxes = draw_many(20, 1000, 1000, (0.5, 0.5), (2.0, 2.0))
    assert {(box.width, box.height) for box in boxes} == {(1000, 500)}


def test_resized_fallback_on_wide_image():
    box = draw_resized_box(
        image_rng(0, "pano.jpg"), 1000, 10, DEFAULT_SCALE, DEFAULT_RATIO
    )
    # Height kept, width round(10 * 4/3) = 13, centred with the odd pixel right.
    assert box == Box(493, 0, 13, 10, center_fallback=True)


def test_resized_fallback_on_tall_image():
    box = center_fallback_box(10, 1000, DEFAULT_RATIO)
    assert box == Box(0, 493, 10, 13, center_fallback=True)


def test_resized_fallback_keeps_image_in_range():
    box = center_fallback_box(400, 300, DEFAULT_RATIO)
    assert box == Box(0, 0, 400, 300, center_fallback=True)


def test_resized_boxes_stop_when_only_fallback_fits():
    boxes = resized_boxes(
        image_rng(0, "pano.jpg"), 1000, 10, 5, DEFAULT_SCALE, DEFAULT_RATIO, 0.0, 2
    )
    assert boxes == [Box(493, 0, 13, 10, center_fallback=True)]


def test_resized_boxes_keep_min_shift_within_flip_state():
    boxes = resized_boxes(
        image_rng(4, "small.png"), 24, 20, 500, DEFAULT_SCALE, DEFAULT_RATIO, 0.5, 3
    )
    assert len(boxes) > 10
    for a, b in itertools.combinations(boxes, 2):
        if a.flipped != b.flipped:
            continue
        shift = max(
            abs(a.x - b.x),
            abs(a.y - b.y),
            abs(a.x + a.width - b.x - b.width),
            abs(a.y + a.height - b.y - b.height),
        )
        assert shift >= 3, (a, b)


def test_resized_boxes_distinct_with_min_shift_one():
    boxes = resized_boxes(
        image_rng(4, "tiny.png"), 6, 5, 1000, DEFAULT_SCALE, DEFAULT_RATIO, 0.0, 1
    )
    assert len(set(boxes)) == len(boxes)


def test_resized_boxes_flip_share_follows_hflip():
    boxes = resized_boxes(
        image_rng(4, "big.png"), 2000, 2000, 400, DEFAULT_SCALE, DEFAULT_RATIO, 0.25, 2
    )
    share = sum(box.flipped for box in boxes) / len(boxes)
    assert 0.18 < share < 0.32


def test_resized_boxes_deterministic():
    first = resized_boxes(
        image_rng(8, "a.png"), 640, 480, 50, DEFAULT_SCALE, DEFAULT_RATIO, 0.5, 2
    )
    second = resized_boxes(
        image_rng(8, "a.png"), 640, 480, 50, DEFAULT_SCALE, DEFAULT_RATIO, 0.5, 2
    )
    assert first == second


def test_uniform_unit_top_53_bits():
    rng = image_rng(0, "u.png")
    twin = image_rng(0, "u.png")
    for _ in range(10):
        word = int(twin.bit_generator.random_raw())
        assert uniform_unit(rng) == (word >> 11) * UNIT_STEP


def test_uniform_unit_numerator_below_two_to_53():
    rng = np.random.Generator(np.random.PCG64(1))
    values = [uniform_unit_numerator(rng) for _ in range(100)]
    assert all(0 <= value < 1 << 53 for value in values)


def test_bernoulli_draws_nothing_at_zero_and_one():
    rng = image_rng(0, "b.png")
    twin = image_rng(0, "b.png")
    assert bernoulli(rng, 0.0) is False
    assert bernoulli(rng, 1.0) is True
    assert rng.bit_generator.random_raw() == twin.bit_generator.random_raw()


def test_resized_area_uniform():
    boxes = draw_many(4000, 1000, 1000, (0.08, 0.5), DEFAULT_RATIO)
    positions = [
        (box.width * box.height / 1_000_000 - 0.08) / (0.5 - 0.08) for box in boxes
    ]
    for quantile in (0.25, 0.5, 0.75):
        share = sum(value < quantile for value in positions) / len(positions)
        assert abs(share - quantile) < 0.03, (quantile, share)
