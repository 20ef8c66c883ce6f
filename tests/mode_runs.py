"""Small runs of every crop mode, with label masks, for the manifest tools' tests.

The source tree has a PNG photo, a JPEG photo (lossy output), a gray image
and a palette image smaller than the crop (skipped in fixed-size modes,
cut and upscaled in resized mode). Each has a label mask of its own mode.
"""

from pathlib import Path

import numpy as np
from PIL import Image

from cropaug.expansion import expand

CROP = (16, 12)
SEED = 5

# Every mode with flips where the mode allows them; ten mirrors by itself.
MODE_OPTIONS = {
    "random": {"n": 5, "hflip": 0.5},
    "resized": {"n": 5, "hflip": 0.5, "resample": "bicubic"},
    "center": {"hflip": 0.5},
    "five": {"hflip": 0.5},
    "ten": {},
    "grid": {"n": 6, "stride": (10, 9), "hflip": 0.5},
}

# Source path, size, image mode and mask mode (I;16 for 16-bit labels).
SOURCES = [
    ("cats/a.png", (64, 48), "RGB", "L"),
    ("cats/b.jpg", (40, 52), "RGB", "P"),
    ("dogs/c.png", (50, 50), "L", "I;16"),
    ("dogs/d.png", (12, 10), "P", "L"),
]


def build_sources(root: Path) -> tuple[Path, Path]:
    """Write the sources under root/src and their masks under root/labels."""
    src, labels = root / "src", root / "labels"
    rng = np.random.Generator(np.random.PCG64(SEED))
    for source, (width, height), mode, mask_mode in SOURCES:
        channels = (height, width, 3) if mode == "RGB" else (height, width)
        pixels = rng.integers(0, 256, size=channels, dtype=np.uint8)
        image = Image.fromarray(pixels)
        if mode == "P":
            image = image.convert("RGB").quantize(8)
        (src / source).parent.mkdir(parents=True, exist_ok=True)
        image.save(src / source)

        values = rng.integers(0, 4, size=(height, width))
        if mask_mode == "I;16":
            mask = Image.fromarray((values * 1000).astype("<u2"))
        else:
            mask = Image.fromarray(values.astype(np.uint8))
            if mask_mode == "P":
                mask = mask.convert("P")
                mask.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
        mask_path = (labels / source).with_suffix(".png")
        mask_path.parent.mkdir(parents=True, exist_ok=True)
        mask.save(mask_path)
    return src, labels


def run_mode(src: Path, dst: Path, mode: str, masks: Path | None = None, **options):
    """Expand SRC into DST in `mode` with its test options; return the summary."""
    merged = {**MODE_OPTIONS[mode], **options}
    return expand(
        src, dst, size=CROP, seed=SEED, workers=1, mode=mode, masks=masks, **merged
    )


def tree(root: Path) -> dict[str, bytes | None]:
    """Map every path under root to its bytes, or None for a folder."""
    entries = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        entries[relative] = None if path.is_dir() else path.read_bytes()
    return entries
