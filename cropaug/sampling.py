"""Draw distinct crop corners for one image from its own random generator.

Corners are the top-left pixels of crop boxes: `x` counts columns and `y`
counts rows of the upright image.
"""

import hashlib

import numpy as np

_TWO_TO_64 = 1 << 64

# Spacing of the floats that uniform_unit returns.
UNIT_STEP = 2.0**-53


def image_rng(seed: int, source: str) -> np.random.Generator:
    """Return the generator for one source, derived from the run seed and its path.

    The stream depends on nothing else (not the worker, not the order of
    work), so every image gets the same crops in any run with this seed.
    """
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    path_words = [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 32, 4)]
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence([seed, *path_words]))
    )


def count_positions(width: int, height: int, crop_width: int, crop_height: int) -> int:
    """Return how many corners place a crop fully inside the image (0 if none)."""
    if crop_width > width or crop_height > height:
        return 0
    return (width - crop_width + 1) * (height - crop_height + 1)


def sample_corners(
    rng: np.random.Generator,
    width: int,
    height: int,
    crop_width: int,
    crop_height: int,
    n: int,
) -> list[tuple[int, int]]:
    """Draw up to `n` distinct corners, uniformly without replacement.

    Returns fewer than `n` corners when the image has fewer valid positions,
    and then every position once. The positions are never listed: a partial
    Fisher-Yates shuffle over the virtual sequence 0..M-1 keeps only the
    swapped entries, so memory is O(n) even for millions of positions. The
    first k corners drawn for `n` are the corners drawn for k.
    """
    positions = count_positions(width, height, crop_width, crop_height)
    columns = width - crop_width + 1
    count = min(n, positions)

    swapped: dict[int, int] = {}
    corners = []
    for i in range(count):
        j = i + uniform_below(rng, positions - i)
        chosen = swapped.get(j, j)
        swapped[j] = swapped.get(i, i)
        y, x = divmod(chosen, columns)
        corners.append((x, y))
    return corners


def uniform_below(rng: np.random.Generator, bound: int) -> int:
    """Return an integer uniform in [0, bound) from the generator's raw 64-bit output.

    Built on the raw PCG64 words, whose sequence numpy keeps fixed across
    versions, rather than on `Generator.integers`, whose algorithm numpy does
    not promise to keep.
    """
    # Reject the top partial block of 2**64 so that the modulo is unbiased.
    limit = _TWO_TO_64 - (_TWO_TO_64 % bound)
    while True:
        word = int(rng.bit_generator.random_raw())
        if word < limit:
            return word % bound


# The former private name, kept for callers written against it.
_uniform_below = uniform_below


def uniform_unit_numerator(rng: np.random.Generator) -> int:
    """Return k uniform in [0, 2**53), so that k / 2**53 is uniform in [0, 1).

    Uses the top 53 bits of one raw 64-bit word: every value of k is exactly
    representable as a double, so k / 2**53 is the same float on every
    platform and numpy version.
    """
    return int(rng.bit_generator.random_raw()) >> 11


def uniform_unit(rng: np.random.Generator) -> float:
    """Return a float uniform in [0, 1) on a grid of 2**-53, from one raw word."""
    return uniform_unit_numerator(rng) * UNIT_STEP


def bernoulli(rng: np.random.Generator, probability: float) -> bool:
    """Return True with `probability`; draws no word when it is 0 or 1."""
    if probability <= 0.0:
        return False
    if probability >= 1.0:
        return True
    return uniform_unit(rng) < probability
