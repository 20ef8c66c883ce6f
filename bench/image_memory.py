"""Measure the peak memory of cropping one large image of each kind.

Each case runs `cropaug.expand` on a one-image tree in a fresh process and
reports the growth of the peak resident set size (ru_maxrss, Linux) over the
process's size after imports. Usage:

    python bench/image_memory.py [WIDTH HEIGHT]    (default 6000 4000)
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

CASES = [
    ("rgb.jpg", {}),
    ("rgb_orientation_6.jpg", {}),
    ("rgba.png", {}),
    ("rgba.png", {"format": "jpeg"}),
    ("gray16.png", {}),
    ("gray16.png", {"format": "jpeg"}),
    ("cmyk.jpg", {"format": "png"}),
    ("rgb_orientation_6.jpg", {"resize": 256}),
    ("rgba.png", {"resize": 256}),
]

MEASURE = """
import resource, sys
from pathlib import Path
from cropaug.expansion import expand
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
expand(Path(sys.argv[1]), Path(sys.argv[2]), size=224, n=10, seed=0, workers=1,
       **eval(sys.argv[3]))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) // 1024)
"""


def make_images(folder: Path, width: int, height: int) -> None:
    y, x = np.mgrid[0:height, 0:width]
    red = (x * 255 // width).astype(np.uint8)
    green = (y * 255 // height).astype(np.uint8)
    blue = ((x + y) % 256).astype(np.uint8)
    alpha = ((x // 7 + y // 5) % 256).astype(np.uint8)
    rgb = Image.fromarray(np.dstack([red, green, blue]))
    rgb.save(folder / "rgb.jpg", quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6
    rgb.save(folder / "rgb_orientation_6.jpg", quality=90, exif=exif.tobytes())
    rgb.convert("CMYK").save(folder / "cmyk.jpg", quality=90)
    Image.fromarray(np.dstack([red, green, blue, alpha])).save(
        folder / "rgba.png", compress_level=1
    )
    gray = (x * 65535 // width).astype("<u2")
    Image.frombytes("I;16", (width, height), gray.tobytes()).save(
        folder / "gray16.png", compress_level=1
    )


def main() -> None:
    size = [int(value) for value in sys.argv[1:3]] or [6000, 4000]
    with tempfile.TemporaryDirectory() as temp:
        images = Path(temp, "images")
        images.mkdir()
        # Linux carries the parent's peak RSS into a forked child's ru_maxrss,
        # so the large arrays are made in a process of their own.
        make = [sys.executable, __file__, "--make", str(images), *map(str, size)]
        subprocess.run(make, check=True)
        print(f"{size[0]}x{size[1]} image, 224x224 crops, n=10; peak growth in MB")
        for index, (name, options) in enumerate(CASES):
            src = Path(temp, f"src{index}")
            (src / "class").mkdir(parents=True)
            (src / "class" / name).write_bytes((images / name).read_bytes())
            dst = Path(temp, f"dst{index}")
            command = [sys.executable, "-c", MEASURE, str(src), str(dst), repr(options)]
            output = subprocess.run(command, capture_output=True, text=True, check=True)
            print(f"  {name:24} {options!s:22} {output.stdout.strip():>6}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--make"]:
        make_images(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        main()
