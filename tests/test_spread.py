"""Tests for cropaug.spread: corners drawn a minimum distance apart."""

import itertools

import numpy as np
import pytest

from cropaug.sampling import image_rng, sample_corners, uniform_below
from cropaug.spread import CornerSampler, _FenwickTree


def draw_all(sampler: CornerSampler, rng, limit: int) -> list[tuple[int, int]]:
    corners = []
    while len(corners) < limit:
        corner = sampler.draw(rng)
        if corner is None:
            break
        corners.append(corner)
    return corners


def chebyshev(a, b) -> int:
    return max(abs(a[0] - b[0]), abs(a[1] - b[1]))


def test_sample_corners_stream_pinned():
    # Corners that cropaug 0.1.0 drew; runs made with it must reproduce.
    rng = image_rng(0, "cats/a.jpg")
    corners = sample_corners(rng, 500, 375, 224, 224, 6)
    assert corners == [(201, 28), (158, 38), (164, 15), (44, 106), (5, 85), (64, 59)]


def test_sample_corners_small_image_pinned():
    rng = image_rng(7, "dogs/b.png")
    corners = sample_corners(rng, 4, 4, 2, 2, 9)
    expected = [(1, 1), (0, 0), (2, 0), (2, 2), (1, 2), (0, 1), (0, 2), (1, 0), (2, 1)]
    assert corners == expected


@pytest.mark.parametrize(
    ("width", "height", "crop", "n"),
    [(500, 375, 224, 6), (4, 4, 2, 9), (4, 4, 2, 20), (40, 30, 10, 5), (9, 9, 9, 3)],
)
def test_sampler_min_shift_one_matches_sample_corners(width, height, crop, n):
    expected = sample_corners(image_rng(3, "a.png"), width, height, crop, crop, n)
    sampler = CornerSampler(width - crop + 1, height - crop + 1, 1)
    assert draw_all(sampler, image_rng(3, "a.png"), n) == expected


def test_sampler_min_shift_two_keeps_stream_until_neighbour():
    # On a large image the first corners have no neighbour within 1 pixel,
    # so min_shift 2 draws exactly the corners of min_shift 1.
    expected = sample_corners(image_rng(0, "cats/a.jpg"), 500, 375, 224, 224, 6)
    sampler = CornerSampler(277, 152, 2)
    assert draw_all(sampler, image_rng(0, "cats/a.jpg"), 6) == expected


@pytest.mark.parametrize(
    ("columns", "rows", "min_shift"),
    [(3, 3, 2), (13, 7, 4), (50, 40, 3), (60, 45, 7), (1, 1, 5), (120, 2, 2)],
)
def test_sampler_min_shift_holds_every_pair(columns, rows, min_shift):
    sampler = CornerSampler(columns, rows, min_shift)
    corners = draw_all(sampler, image_rng(1, "x.png"), 10_000)
    for a, b in itertools.combinations(corners, 2):
        assert chebyshev(a, b) >= min_shift, (a, b)


@pytest.mark.parametrize(
    ("columns", "rows", "min_shift"), [(3, 3, 2), (50, 40, 3), (60, 45, 7)]
)
def test_sampler_fills_image_maximally(columns, rows, min_shift):
    sampler = CornerSampler(columns, rows, min_shift)
    corners = draw_all(sampler, image_rng(2, "y.png"), 10_000)
    uncovered = [
        (x, y)
        for x in range(columns)
        for y in range(rows)
        if all(chebyshev(corner, (x, y)) >= min_shift for corner in corners)
    ]
    assert uncovered == []


def test_sampler_counting_phase_stays_within_image():
    # 50 x 40 positions with min_shift 3 fill up long before the stream ends,
    # so the sampler switches to counting free positions.
    sampler = CornerSampler(50, 40, 3)
    corners = draw_all(sampler, image_rng(2, "y.png"), 10_000)
    assert sampler._counts is not None
    assert all(0 <= x < 50 and 0 <= y < 40 for x, y in corners)
    assert len(set(corners)) == len(corners)


def test_sampler_returns_none_after_exhaustion():
    sampler = CornerSampler(2, 2, 1)
    rng = image_rng(0, "z.png")
    corners = draw_all(sampler, rng, 10)
    assert sorted(corners) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert sampler.draw(rng) is None


def test_sampler_deterministic_for_same_source():
    first = draw_all(CornerSampler(80, 60, 5), image_rng(9, "cats/a.jpg"), 10_000)
    second = draw_all(CornerSampler(80, 60, 5), image_rng(9, "cats/a.jpg"), 10_000)
    assert first == second


def test_sampler_large_image_needs_no_position_list():
    # 10 million positions: the stream and the hash grid stay O(n).
    sampler = CornerSampler(4000, 2500, 2)
    corners = draw_all(sampler, image_rng(0, "big.png"), 1000)
    assert len(corners) == 1000
    assert sampler._counts is None


def test_sampler_rejects_zero_min_shift():
    with pytest.raises(ValueError, match="min_shift must be at least 1, not 0"):
        CornerSampler(5, 5, 0)


def test_fenwick_find_matches_linear_scan():
    rng = np.random.Generator(np.random.PCG64(5))
    counts = [int(c) for c in rng.integers(0, 4, size=37)]
    tree = _FenwickTree(counts)
    for rank in range(sum(counts)):
        index, within = tree.find(rank)
        before = sum(counts[:index])
        assert before <= rank < before + counts[index]
        assert within == rank - before


def test_fenwick_set_updates_total():
    tree = _FenwickTree([3, 0, 5])
    tree.set(2, 1)
    assert tree.total() == 4
    assert tree.find(3) == (2, 0)


def test_uniform_below_stays_in_range():
    rng = image_rng(0, "r.png")
    values = {uniform_below(rng, 3) for _ in range(200)}
    assert values == {0, 1, 2}
