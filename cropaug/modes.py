"""Draw the crop boxes of one image for each crop mode.

Drawing is separate from cutting: every function here returns boxes. Random
numbers come only from the generator passed in, through the raw 64-bit
words of `sampling`. The boxes therefore depend on nothing but the run's
options, the seed, and the image's relative path and size.

Modes:
- random: N fixed-size boxes at distinct corners, at least `min_shift`
  apart (see `spread`).
- resized: N boxes of random area and aspect ratio, each resized to the
  crop size afterwards (see `resized`).
- center: the one box in the middle of the image.
- five: the four corner boxes and the centre box.
- ten: the five boxes, then the same five mirrored.
- grid: boxes every `stride` pixels, row by row, at most N of them.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from cropaug.boxes import RESAMPLING, Box
from cropaug.errors import InvalidParameterError
from cropaug.resized import MAX_DRAWS_PER_CROP, resized_boxes
from cropaug.sampling import bernoulli, count_positions
from cropaug.spread import CornerSampler

if TYPE_CHECKING:
    from cropaug.crop import CropSettings

MODES = ("random", "resized", "center", "five", "ten", "grid")

# Crops per image of the modes whose count is fixed.
FIXED_COUNTS = {"center": 1, "five": 5, "ten": 10}

# Modes whose boxes have the crop size and must fit inside the image.
FIXED_SIZE_MODES = ("random", "center", "five", "ten", "grid")


@dataclass
class BoxPlan:
    """The boxes drawn for one image, in output order."""

    boxes: list[Box]
    # Corners at which a crop-size box fits (grid: the grid's corners);
    # None in resized mode, whose boxes vary in size.
    positions: int | None


def plan_boxes(
    rng: np.random.Generator, settings: "CropSettings", width: int, height: int
) -> BoxPlan:
    """Draw the boxes of one `width` x `height` image under `settings`.

    Fixed-size modes expect the crop to fit inside the image; the caller
    skips smaller images first. May return fewer than `settings.n` boxes:
    see each mode's function for when.
    """
    crop_width, crop_height = settings.crop_width, settings.crop_height
    positions = count_positions(width, height, crop_width, crop_height)
    mode = settings.mode

    if mode == "random":
        boxes = random_boxes(
            rng,
            width,
            height,
            (crop_width, crop_height),
            settings.n,
            settings.hflip,
            settings.min_shift,
        )
    elif mode == "resized":
        boxes = resized_boxes(
            rng,
            width,
            height,
            settings.n,
            settings.scale,
            settings.ratio,
            settings.hflip,
            settings.min_shift,
        )
        positions = None
    elif mode == "center":
        boxes = [center_box(width, height, crop_width, crop_height)]
    elif mode in ("five", "ten"):
        boxes = five_boxes(width, height, crop_width, crop_height)
    elif mode == "grid":
        stride = settings.stride or (crop_width, crop_height)
        boxes = grid_boxes(width, height, (crop_width, crop_height), stride)
        positions = len(boxes)
        boxes = spread_evenly(boxes, settings.n)
    else:
        raise ValueError(f"unknown crop mode {mode!r}")

    if mode == "ten":
        boxes = boxes + [_mirrored(box) for box in boxes]
    elif mode in ("center", "five", "grid"):
        boxes = [_mirrored(box, bernoulli(rng, settings.hflip)) for box in boxes]
    return BoxPlan(boxes=boxes, positions=positions)


def random_boxes(
    rng: np.random.Generator,
    width: int,
    height: int,
    crop_size: tuple[int, int],
    n: int,
    hflip: float,
    min_shift: int,
) -> list[Box]:
    """Draw up to `n` fixed-size boxes at random corners.

    Each crop first draws whether it is mirrored (probability `hflip`), then
    its corner among those of its own flip state: plain and mirrored crops
    are different images, so distinctness and `min_shift` apply within each
    state. When one state has no free corner left, the crop takes the other
    state. Returns fewer than `n` boxes when no state has a free corner,
    which happens when `n` exceeds the positions (times two when both states
    occur) or the `min_shift` spacing fills the image first.

    With `hflip` 0 and `min_shift` 1 the corners are exactly those of
    `sampling.sample_corners`.
    """
    crop_width, crop_height = crop_size
    columns, rows = width - crop_width + 1, height - crop_height + 1
    states = [False, True] if 0 < hflip < 1 else [hflip >= 1]
    samplers = {state: CornerSampler(columns, rows, min_shift) for state in states}

    boxes = []
    for _ in range(n):
        flipped = bernoulli(rng, hflip)
        corner = samplers[flipped].draw(rng)
        if corner is None and len(states) == 2:
            flipped = not flipped
            corner = samplers[flipped].draw(rng)
        if corner is None:
            break
        x, y = corner
        boxes.append(Box(x, y, crop_width, crop_height, flipped))
    return boxes


def center_box(width: int, height: int, crop_width: int, crop_height: int) -> Box:
    """Return the centred box; an odd margin puts the extra pixel right and below."""
    x = (width - crop_width) // 2
    y = (height - crop_height) // 2
    return Box(x, y, crop_width, crop_height)


def five_boxes(width: int, height: int, crop_width: int, crop_height: int) -> list[Box]:
    """Return the top-left, top-right, bottom-left, bottom-right and centre boxes.

    On an image exactly the crop size all five are the same box, and they
    are all written: the mode promises these five positions, not distinct
    crops.
    """
    right, bottom = width - crop_width, height - crop_height
    corners = [(0, 0), (right, 0), (0, bottom), (right, bottom)]
    boxes = [Box(x, y, crop_width, crop_height) for x, y in corners]
    return [*boxes, center_box(width, height, crop_width, crop_height)]


def grid_boxes(
    width: int, height: int, crop_size: tuple[int, int], stride: tuple[int, int]
) -> list[Box]:
    """Return boxes whose corners step by `stride` from (0, 0), in row-major order.

    The last column and row are those that still fit, so a margin narrower
    than the stride is left uncropped on the right and at the bottom.
    """
    crop_width, crop_height = crop_size
    stride_x, stride_y = stride
    return [
        Box(x, y, crop_width, crop_height)
        for y in range(0, height - crop_height + 1, stride_y)
        for x in range(0, width - crop_width + 1, stride_x)
    ]


def spread_evenly(boxes: list[Box], n: int) -> list[Box]:
    """Keep `n` of the boxes, at indexes floor(i * len / n), or all if fewer.

    The kept boxes keep their order and are spread over all rows of a grid,
    starting with the first box.
    """
    count = len(boxes)
    if count <= n:
        return boxes
    return [boxes[i * count // n] for i in range(n)]


def _mirrored(box: Box, flipped: bool = True) -> Box:
    if not flipped:
        return box
    return Box(box.x, box.y, box.width, box.height, True, box.center_fallback)


def resolve_count(mode: str, n: int | None) -> int:
    """Return the crops per image: `n`, or the fixed count of center, five and ten.

    Raises:
        InvalidParameterError: when `n` is missing for a mode that needs it,
            or differs from the fixed count of a mode that has one.
    """
    fixed = FIXED_COUNTS.get(mode)
    if fixed is None:
        if n is None:
            raise InvalidParameterError(f"n is required with mode {mode!r}")
        return n
    if n is not None and n != fixed:
        crops = "crop" if fixed == 1 else "crops"
        raise InvalidParameterError(
            f"mode {mode!r} writes {fixed} {crops} per image, so n={n} does not "
            "apply; leave n out"
        )
    return fixed


def validate_mode_settings(settings: "CropSettings") -> None:
    """Check the options of the crop modes.

    Raises:
        InvalidParameterError: naming the first option out of range.
    """
    if settings.mode not in MODES:
        raise InvalidParameterError(
            f"mode must be one of {', '.join(MODES)}, not {settings.mode!r}"
        )
    _check_range("scale", settings.scale, upper=1.0)
    _check_range("ratio", settings.ratio, upper=None)
    if settings.resample not in RESAMPLING:
        raise InvalidParameterError(
            f"resample must be one of {', '.join(RESAMPLING)}, "
            f"not {settings.resample!r}"
        )
    if not 0.0 <= settings.hflip <= 1.0:
        raise InvalidParameterError(
            f"hflip must be a probability from 0 to 1, not {settings.hflip}"
        )
    if settings.mode == "ten" and settings.hflip > 0:
        raise InvalidParameterError(
            "mode 'ten' already writes every box plain and mirrored; "
            "leave hflip at 0, or use mode 'five' with hflip"
        )
    if settings.min_shift < 1:
        raise InvalidParameterError(
            f"min_shift must be at least 1, not {settings.min_shift}"
        )
    if settings.stride is not None and min(settings.stride) < 1:
        raise InvalidParameterError(
            f"stride must be at least 1 pixel, not {settings.stride}"
        )


def describe_shortfall(image: dict, settings: "CropSettings") -> str:
    """Say why an image got fewer crops than requested, for the run's log."""
    written = len(image["crops"])
    wrote = f"wrote {written} of {settings.n} crops"
    states = 2 if 0 < settings.hflip < 1 else 1
    positions = image.get("positions")
    if positions is not None and written == positions * states:
        return f"has only {positions} crop positions; {wrote}"
    if settings.mode == "resized":
        return (
            f"has room for only {written} distinct boxes ({MAX_DRAWS_PER_CROP} "
            f"draws in a row repeated a box or came within {settings.min_shift} "
            f"pixels of one); {wrote}"
        )
    crops = "crop" if written == 1 else "crops"
    return (
        f"fits only {written} {crops} with corners at least {settings.min_shift} "
        f"pixels apart; {wrote}"
    )


def _check_range(name: str, bounds: tuple[float, float], upper: float | None) -> None:
    try:
        low, high = (float(value) for value in bounds)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"{name} must be a (min, max) pair of numbers, not {bounds!r}"
        ) from None
    if not 0 < low <= high:
        raise InvalidParameterError(
            f"{name} must satisfy 0 < min <= max, not ({low}, {high})"
        )
    if upper is not None and high > upper:
        raise InvalidParameterError(f"{name} max must be at most {upper}, not {high}")
