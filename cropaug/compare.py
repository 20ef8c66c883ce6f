"""Compare a written crop file with its record, then with the crop cut again.

Lossless crops must decode to the same pixels as the crop cut again. Lossy
crops must too while the library versions are the manifest's, because the
encoder then writes the same bytes. With other versions the encoders may
round differently, so the mean absolute difference of every 16x16 tile may
be up to LOSSY_TOLERANCE levels.
"""

import io
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from cropaug.paths import is_inside

# Mean absolute difference, in levels of 0-255, allowed in any 16x16 tile of a
# lossy crop when the library versions differ from the manifest's.
# NOTE: 2.0 is an estimate, not a measurement across library versions. For
# scale, on sample_data/ with Pillow 13.0, a 224x224 crop encoded at quality
# q-1 instead of q differs by 2 to 10 levels in the worst tile. The crop one
# pixel to the side differs by 3 to 44, and a painted 16x16 patch by 40 or more.
LOSSY_TOLERANCE = 2.0
TILE = 16


@dataclass(frozen=True)
class ExpectedCrop:
    """The format, size and mode one crop file must have, and its crop cut again."""

    format: str
    size: tuple[int, int]
    mode: str
    # The crop cut again into a scratch folder, or None when its source
    # cannot be read, so that only the file itself is checked.
    rebuilt: Path | None
    lossless: bool
    # Label masks compare their stored values (palette indices, 16-bit
    # labels), not the colours those values show.
    labels: bool = False
    # What the crop is cut from, for messages: "source" or "mask".
    origin: str = "source"


def crop_file_problem(
    root: Path, relative: str, root_name: str, expected: ExpectedCrop, tolerance: float
) -> str | None:
    """Return what is wrong with the crop file `root / relative`, or None.

    `root_name` names `root` in messages, such as "DST".
    """
    path = root / relative
    if path.is_symlink() and not path.exists():
        return "broken symbolic link"
    if not path.exists():
        return "missing"
    if not path.is_file():
        return "is not a regular file"
    if not is_inside(root, path):
        return f"resolves outside {root_name} through a symbolic link; not read"
    data = path.read_bytes()

    try:
        with warnings.catch_warnings():
            # The size check below rejects a crop far larger than recorded
            # before its pixels are decoded.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            found = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        return "does not decode: not an image"
    except (Image.DecompressionBombError, OSError, SyntaxError, ValueError) as error:
        return f"does not decode: {error}"
    if found.format != expected.format:
        return f"is {found.format}, the manifest records {expected.format}"
    if found.size != expected.size:
        width, height = found.size
        return "is {}x{}, the manifest records {}x{}".format(
            width, height, *expected.size
        )
    if found.mode != expected.mode:
        return f"is {found.mode}, the manifest records {expected.mode}"
    try:
        found.load()
    except (OSError, SyntaxError, ValueError) as error:
        return f"does not decode: {error}"

    if expected.rebuilt is None:
        return None
    rebuilt_data = expected.rebuilt.read_bytes()
    if data == rebuilt_data:
        return None
    return _pixel_problem(
        found, Image.open(io.BytesIO(rebuilt_data)), expected, tolerance
    )


def _pixel_problem(
    found: Image.Image,
    rebuilt: Image.Image,
    expected: ExpectedCrop,
    tolerance: float,
) -> str | None:
    found_pixels = _pixels(found, expected.labels)
    rebuilt_pixels = _pixels(rebuilt, expected.labels)
    difference = np.abs(found_pixels - rebuilt_pixels)
    if expected.lossless or tolerance == 0:
        per_pixel = difference.reshape(*difference.shape[:2], -1).any(axis=2)
        differing = int(np.count_nonzero(per_pixel))
        if differing == 0:
            return None
        noun = "pixel differs" if differing == 1 else "pixels differ"
        return (
            f"{differing} {noun} from the {expected.origin} region "
            f"(largest difference {int(difference.max())})"
        )
    worst = _worst_tile(difference)
    if worst <= tolerance:
        return None
    return (
        f"differs from the {expected.origin} region by {worst:.1f} levels on "
        f"average in its worst {TILE}x{TILE} tile (tolerance {tolerance})"
    )


def _pixels(image: Image.Image, labels: bool) -> np.ndarray:
    # Palette indices of a photo mean nothing without the palette, so its
    # colours are compared. A label mask's indices are its labels.
    if image.mode in ("P", "PA") and not labels:
        image = image.convert("RGBA")
    elif image.mode == "1":
        image = image.convert("L")
    return np.asarray(image).astype(np.int64)


def _worst_tile(difference: np.ndarray) -> float:
    """Return the largest mean of `difference` over a TILE x TILE tile."""
    per_pixel = difference.reshape(*difference.shape[:2], -1).mean(axis=2)
    height, width = per_pixel.shape
    padded_height = -(-height // TILE) * TILE
    padded_width = -(-width // TILE) * TILE
    # Edge tiles are padded with zeros, which dilutes their mean.
    padded = np.zeros((padded_height, padded_width))
    padded[:height, :width] = per_pixel
    tiles = padded.reshape(padded_height // TILE, TILE, padded_width // TILE, TILE)
    return float(tiles.mean(axis=(1, 3)).max())
