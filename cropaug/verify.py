"""Check that a run's outputs are what its manifest records.

Every crop is regenerated from its source into a temporary folder, by the
code `reproduce` uses, and compared with the crop in DST:

- lossless outputs (PNG, BMP, lossless WebP) must decode to the same pixels;
- lossy outputs (JPEG, lossy WebP) must too while the library versions are
  the manifest's, because the encoder then writes the same bytes. With other
  versions the encoders may round differently, so the mean absolute
  difference of every 16x16 tile may be up to LOSSY_TOLERANCE levels.
"""

import io
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from cropaug.crop import CropSettings
from cropaug.errors import ImageError, ManifestError
from cropaug.files import TEMP_PREFIX, TEMP_SUFFIX
from cropaug.manifest import MANIFEST_NAME
from cropaug.paths import is_inside
from cropaug.pool import run_tasks
from cropaug.progress import PROGRESS_NAME
from cropaug.reproduce import (
    load_recorded_source,
    version_differences,
    write_recorded_crops,
)
from cropaug.validate import load_checked_manifest

# Mean absolute difference, in levels of 0-255, allowed in any 16x16 tile of a
# lossy crop when the library versions differ from the manifest's.
# NOTE: 2.0 is an estimate, not a measurement across library versions. For
# scale, on sample_data/ with Pillow 13.0, a 224x224 crop encoded at quality
# q-1 instead of q differs by 2 to 10 levels in the worst tile. The crop one
# pixel to the side differs by 3 to 44, and a painted 16x16 patch by 40 or more.
LOSSY_TOLERANCE = 2.0
TILE = 16


@dataclass(frozen=True, order=True)
class Problem:
    """One way an output or source differs from the manifest."""

    path: str
    message: str


@dataclass
class VerifyReport:
    """Outcome of checking a run against its manifest; `problems` lists each fault."""

    dst: Path
    images: int
    crops: int
    # Allowed tile difference for lossy crops, 0.0 when the versions match.
    tolerance: float
    version_differences: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(
    dst: str | os.PathLike,
    src: str | os.PathLike,
    *,
    workers: int | None = None,
    progress: bool = False,
) -> VerifyReport:
    """Check every crop, source and file of a run against DST/manifest.json.

    Raises:
        ManifestError: when the manifest is invalid or unsafe; no file is
            read for it then.
        CropaugError: when the manifest is missing or unreadable.
    """
    dst_path, src_path = Path(dst), Path(src)
    manifest, settings = load_checked_manifest(dst_path / MANIFEST_NAME)
    differences = version_differences(manifest)
    tolerance = LOSSY_TOLERANCE if differences else 0.0
    workers = workers or os.cpu_count() or 1

    images = manifest["images"]
    problems = stray_problems(dst_path, manifest)
    shared = (src_path, dst_path, settings, tolerance)
    tasks = run_tasks(verify_image, shared, images, workers, progress, "verifying")
    for image_problems in tasks:
        problems += image_problems

    return VerifyReport(
        dst=dst_path,
        images=len(images),
        crops=sum(len(image["crops"]) for image in images),
        tolerance=tolerance,
        version_differences=differences,
        problems=sorted(problems),
    )


def verify_image(
    src: Path, dst: Path, settings: CropSettings, tolerance: float, image: dict
) -> list[Problem]:
    """Check one manifest image's source and crops, and return the problems found."""
    problems = []
    with tempfile.TemporaryDirectory(prefix=".cropaug-verify-") as folder:
        expected_root = Path(folder)
        try:
            decoded, _ = load_recorded_source(src, image, settings, check_hash=True)
            write_recorded_crops(expected_root, decoded, settings, image)
        except (ImageError, ManifestError) as error:
            problems.append(Problem(str(src / image["source"]), str(error)))
            expected_root = None

        lossless = image["output_format"] in ("PNG", "BMP") or (
            image["output_format"] == "WEBP" and settings.lossless
        )
        for crop in image["crops"]:
            expected = expected_root / crop["path"] if expected_root else None
            problem = _crop_problem(dst, crop, image, expected, lossless, tolerance)
            if problem:
                problems.append(Problem(str(dst / crop["path"]), problem))
    return problems


def stray_problems(dst: Path, manifest: dict) -> list[Problem]:
    """Return a problem for every file and empty folder in DST the manifest lacks."""
    expected = {MANIFEST_NAME}
    folders = set(manifest["classes"])
    for image in manifest["images"]:
        for crop in image["crops"]:
            expected.add(crop["path"])
            parts = crop["path"].split("/")
            folders.update("/".join(parts[:end]) for end in range(1, len(parts)))

    problems = []
    for folder, subfolders, files in os.walk(dst):
        relative = Path(folder).relative_to(dst).as_posix()
        prefix = "" if relative == "." else f"{relative}/"
        for name in subfolders:
            if os.path.islink(os.path.join(folder, name)):
                problems.append(
                    Problem(str(dst / f"{prefix}{name}"), "stray symbolic link")
                )
        for name in files:
            if f"{prefix}{name}" not in expected:
                problems.append(Problem(str(dst / f"{prefix}{name}"), _stray(name)))
        if not subfolders and not files and relative not in folders | {"."}:
            problems.append(Problem(str(dst / relative), "stray empty folder"))
    return problems


def _stray(name: str) -> str:
    if name == PROGRESS_NAME or (
        name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)
    ):
        return "stray file left by an interrupted cropaug run"
    return "stray file, not in the manifest"


def _crop_problem(
    dst: Path,
    crop: dict,
    image: dict,
    expected: Path | None,
    lossless: bool,
    tolerance: float,
) -> str | None:
    """Return what is wrong with one crop file, or None when it matches."""
    path = dst / crop["path"]
    if path.is_symlink() and not path.exists():
        return "broken symbolic link"
    if not path.exists():
        return "missing"
    if not path.is_file():
        return "is not a regular file"
    if not is_inside(dst, path):
        return "resolves outside DST through a symbolic link; not read"
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
    if found.format != image["output_format"]:
        return f"is {found.format}, the manifest records {image['output_format']}"
    if found.size != (crop["width"], crop["height"]):
        width, height = found.size
        return (
            f"is {width}x{height}, the manifest records "
            f"{crop['width']}x{crop['height']}"
        )
    if found.mode != image["output_mode"]:
        return f"is {found.mode}, the manifest records {image['output_mode']}"
    try:
        found.load()
    except (OSError, SyntaxError, ValueError) as error:
        return f"does not decode: {error}"

    if expected is None:
        return None
    expected_data = expected.read_bytes()
    if data == expected_data:
        return None
    return _pixel_problem(
        found, Image.open(io.BytesIO(expected_data)), lossless, tolerance
    )


def _pixel_problem(
    found: Image.Image, expected: Image.Image, lossless: bool, tolerance: float
) -> str | None:
    found_pixels = _pixels(found)
    expected_pixels = _pixels(expected)
    difference = np.abs(found_pixels - expected_pixels)
    if lossless or tolerance == 0:
        per_pixel = difference.reshape(*difference.shape[:2], -1).any(axis=2)
        differing = int(np.count_nonzero(per_pixel))
        if differing == 0:
            return None
        noun = "pixel differs" if differing == 1 else "pixels differ"
        return (
            f"{differing} {noun} from the source region "
            f"(largest difference {int(difference.max())})"
        )
    worst = _worst_tile(difference)
    if worst <= tolerance:
        return None
    return (
        f"differs from the source region by {worst:.1f} levels on average in its "
        f"worst {TILE}x{TILE} tile (tolerance {tolerance})"
    )


def _pixels(image: Image.Image) -> np.ndarray:
    # Palette indices mean nothing without the palette, so compare colours.
    if image.mode in ("P", "PA"):
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
