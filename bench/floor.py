"""Measure the floor: the codec and file-system work that any cropper must do.

Run as `python -m bench.floor SRC DST [options]`. For every JPEG under SRC
it times, in this one process, each stage on its own: decoding the image,
encoding N random crops, and writing N files with a plain open, write and
close. Decoding and encoding are timed with Pillow and with simplejpeg, each
with its own fastest option, and the floor takes the faster codec for each
stage. The floor for W workers is W times the crops per second of one.

It prints one JSON line with the wall-clock and CPU seconds of each stage
by codec.
"""

import argparse
import io
import json
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import simplejpeg
from PIL import Image, JpegImagePlugin

from bench.contenders import list_images

_SIMPLEJPEG_SUBSAMPLING = {0: "444", 1: "422", 2: "420"}


def main() -> None:
    """Parse the arguments, time every stage and print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--quality", type=int, default=95)
    args = parser.parse_args()
    print(json.dumps(measure(list_images(args.src), args.dst, args)))


def measure(images: list[Path], dst: Path, args) -> dict:
    """Return the wall and CPU seconds of each stage and codec over all images."""
    rng = np.random.default_rng(0)
    dst.mkdir(parents=True, exist_ok=True)
    clock = _StageClock()
    buffer = np.empty(0, dtype=np.uint8)
    crops = 0

    for image_index, path in enumerate(images):
        data = path.read_bytes()

        with clock.stage("decode_pillow"):
            image = Image.open(io.BytesIO(data))
            image.load()
        colorspace = "GRAY" if image.mode == "L" else "RGB"
        with clock.stage("decode_simplejpeg"):
            pixels = simplejpeg.decode_jpeg(data, colorspace=colorspace)
        if buffer.size < pixels.size:
            buffer = np.empty(pixels.size, dtype=np.uint8)
        with clock.stage("decode_simplejpeg_buffer"):
            simplejpeg.decode_jpeg(data, colorspace=colorspace, buffer=buffer)

        corners = _corners(rng, image.size, args.size, args.n)
        pillow_options, simplejpeg_options = _encode_options(image, args.quality)
        with clock.stage("encode_pillow"):
            for x, y in corners:
                box = (x, y, x + args.size, y + args.size)
                image.crop(box).save(io.BytesIO(), "JPEG", **pillow_options)
        encoded = []
        with clock.stage("encode_simplejpeg"):
            for x, y in corners:
                crop = pixels[y : y + args.size, x : x + args.size]
                encoded.append(simplejpeg.encode_jpeg(crop, **simplejpeg_options))

        with clock.stage("write"):
            for crop_index, crop_bytes in enumerate(encoded):
                with open(dst / f"{image_index}_{crop_index}.jpg", "wb") as file:
                    file.write(crop_bytes)
        crops += len(corners)

    return {
        "images": len(images),
        "crops": crops,
        "seconds": clock.wall,
        "cpu_seconds": clock.cpu,
    }


class _StageClock:
    """Sums of wall-clock and CPU seconds by stage name."""

    def __init__(self):
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        wall, cpu = time.perf_counter(), time.process_time()
        yield
        self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - wall
        self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu


def _encode_options(image: Image.Image, quality: int) -> tuple[dict, dict]:
    """Return Pillow's and simplejpeg's options for crops like the source's."""
    subsampling = JpegImagePlugin.get_sampling(image)
    pillow_options = {"quality": quality}
    if subsampling >= 0:
        pillow_options["subsampling"] = subsampling
    simplejpeg_options = {
        "quality": quality,
        "colorspace": "RGB",
        "colorsubsampling": _SIMPLEJPEG_SUBSAMPLING.get(subsampling, "420"),
    }
    if image.mode == "L":
        simplejpeg_options["colorspace"] = "GRAY"
        simplejpeg_options["colorsubsampling"] = "Gray"
    return pillow_options, simplejpeg_options


def floor_seconds(result: dict, clock: str = "seconds") -> float:
    """Return one core's seconds for the job with the faster codec per stage.

    `clock` is "seconds" for wall-clock time or "cpu_seconds" for CPU time.
    """
    seconds = result[clock]
    decode = min(
        seconds["decode_pillow"],
        seconds["decode_simplejpeg"],
        seconds["decode_simplejpeg_buffer"],
    )
    encode = min(seconds["encode_pillow"], seconds["encode_simplejpeg"])
    return decode + encode + seconds["write"]


def _corners(rng, image_size, size: int, n: int) -> list[tuple[int, int]]:
    width, height = image_size
    return [
        (
            int(rng.integers(0, width - size + 1)),
            int(rng.integers(0, height - size + 1)),
        )
        for _ in range(n)
    ]


if __name__ == "__main__":
    main()
