"""Tests for cropaug.compare: crop files against their record and their rebuild."""

import numpy as np

from cropaug.compare import LOSSY_TOLERANCE, _worst_tile


def test_worst_tile_finds_local_patch():
    difference = np.zeros((64, 64, 3))
    difference[16:32, 32:48] = 40

    assert _worst_tile(difference) == 40.0


def test_worst_tile_spread_noise_within_tolerance():
    difference = np.full((64, 64), 1.0)

    assert _worst_tile(difference) <= LOSSY_TOLERANCE
