"""Draw Inception-style boxes: random area and aspect ratio, resized afterwards.

One box is drawn as in the Inception training recipe, which torchvision's
RandomResizedCrop also follows. Up to INCEPTION_TRIES times, draw an area
fraction uniform in `scale` and an aspect ratio (width / height)
log-uniform in `ratio`, and round the box's sides to the nearest integer.
The first box that fits inside the image is placed at a uniform random
corner. When none fits, the centre box of the image is taken, narrowed to
the nearest ratio in range.

Real numbers come from 53-bit fractions of raw 64-bit words, and the sides
are computed with Python's decimal module at 34 significant digits, whose
exp, ln and sqrt are correctly rounded. Box sizes therefore do not depend
on the platform's math library or on the numpy version.
"""

import decimal
from dataclasses import replace
from fractions import Fraction
from functools import lru_cache

import numpy as np

from cropaug.boxes import Box
from cropaug.sampling import bernoulli, uniform_below, uniform_unit_numerator

# Boxes drawn before the centre fallback, as in the Inception recipe.
INCEPTION_TRIES = 10

# Draws in a row that may repeat an earlier box, or come within min_shift of
# one, before an image is taken to have no room for further crops.
MAX_DRAWS_PER_CROP = 100

_CONTEXT = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN)
_TWO_TO_53 = decimal.Decimal(1 << 53)


def resized_boxes(
    rng: np.random.Generator,
    width: int,
    height: int,
    n: int,
    scale: tuple[float, float],
    ratio: tuple[float, float],
    hflip: float,
    min_shift: int,
) -> list[Box]:
    """Draw up to `n` boxes, each mirrored with probability `hflip`.

    Two boxes of one flip state must differ by at least `min_shift` pixels
    on one of their four edges, so 1 only rules out repeats. Returns fewer
    than `n` boxes when MAX_DRAWS_PER_CROP draws in a row are ruled out,
    which happens on small images where few distinct boxes exist, and on
    images so elongated that every draw falls back to the one centre box.
    """
    kept = _BoxIndex(min_shift)
    boxes: list[Box] = []
    for _ in range(n):
        for _ in range(MAX_DRAWS_PER_CROP):
            box = draw_resized_box(rng, width, height, scale, ratio)
            box = replace(box, flipped=bernoulli(rng, hflip))
            if kept.admits(box):
                kept.add(box)
                boxes.append(box)
                break
        else:
            break
    return boxes


def draw_resized_box(
    rng: np.random.Generator,
    width: int,
    height: int,
    scale: tuple[float, float],
    ratio: tuple[float, float],
) -> Box:
    """Draw one box by the Inception recipe, or return the centre fallback."""
    scale_low, scale_span = _span(scale[0], scale[1])
    log_low, log_span = _log_span(ratio[0], ratio[1])
    area = decimal.Decimal(width * height)

    with decimal.localcontext(_CONTEXT):
        for _ in range(INCEPTION_TRIES):
            target_area = area * (scale_low + scale_span * _unit(rng))
            aspect = (log_low + log_span * _unit(rng)).exp()
            box_width = _round((target_area * aspect).sqrt())
            box_height = _round((target_area / aspect).sqrt())
            if 0 < box_width <= width and 0 < box_height <= height:
                x = uniform_below(rng, width - box_width + 1)
                y = uniform_below(rng, height - box_height + 1)
                return Box(x, y, box_width, box_height)
    return center_fallback_box(width, height, ratio)


def center_fallback_box(width: int, height: int, ratio: tuple[float, float]) -> Box:
    """Return the centred box of the image, narrowed to the nearest ratio in range.

    An image wider than `ratio` allows keeps its height, and a taller one
    keeps its width. The other side is rounded half to even. An odd margin
    puts the extra pixel right and below.
    """
    image_ratio = Fraction(width, height)
    low, high = Fraction(ratio[0]), Fraction(ratio[1])
    box_width, box_height = width, height
    if image_ratio < low:
        box_height = min(height, max(1, round(width / low)))
    elif image_ratio > high:
        box_width = min(width, max(1, round(height * high)))
    x = (width - box_width) // 2
    y = (height - box_height) // 2
    return Box(x, y, box_width, box_height, center_fallback=True)


class _BoxIndex:
    """Kept boxes hashed by flip state and the min_shift cell of their corner.

    Two boxes closer than D on every edge have corners closer than D, so
    they sit in the same or neighbouring cells.
    """

    def __init__(self, min_shift: int):
        self.min_shift = min_shift
        self._cells: dict[tuple[bool, int, int], list[Box]] = {}

    def admits(self, box: Box) -> bool:
        cell_x, cell_y = box.x // self.min_shift, box.y // self.min_shift
        for neighbour_y in (cell_y - 1, cell_y, cell_y + 1):
            for neighbour_x in (cell_x - 1, cell_x, cell_x + 1):
                key = (box.flipped, neighbour_x, neighbour_y)
                for other in self._cells.get(key, ()):
                    if _edge_distance(box, other) < self.min_shift:
                        return False
        return True

    def add(self, box: Box) -> None:
        key = (box.flipped, box.x // self.min_shift, box.y // self.min_shift)
        self._cells.setdefault(key, []).append(box)


def _edge_distance(a: Box, b: Box) -> int:
    """Return the largest shift between matching edges of two boxes."""
    return max(
        abs(a.x - b.x),
        abs(a.y - b.y),
        abs(a.x + a.width - b.x - b.width),
        abs(a.y + a.height - b.y - b.height),
    )


def _unit(rng: np.random.Generator) -> decimal.Decimal:
    return decimal.Decimal(uniform_unit_numerator(rng)) / _TWO_TO_53


def _round(value: decimal.Decimal) -> int:
    return int(value.to_integral_value(rounding=decimal.ROUND_HALF_EVEN))


@lru_cache(maxsize=8)
def _span(low: float, high: float) -> tuple[decimal.Decimal, decimal.Decimal]:
    with decimal.localcontext(_CONTEXT):
        return decimal.Decimal(low), decimal.Decimal(high) - decimal.Decimal(low)


@lru_cache(maxsize=8)
def _log_span(low: float, high: float) -> tuple[decimal.Decimal, decimal.Decimal]:
    with decimal.localcontext(_CONTEXT):
        log_low = decimal.Decimal(low).ln()
        return log_low, decimal.Decimal(high).ln() - log_low
