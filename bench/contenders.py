"""Run one way of writing N random crops per image, and report its time and memory.

Run as `python -m bench.contenders NAME SRC DST [options]`. It prints one
JSON line with the job's wall-clock seconds and CPU seconds (this process
and its children), the crops written, and the peak resident memory (VmHWM,
Linux only) of this process and of its largest child process, in KiB. The
clocks start after the contender's library is imported.

Every contender writes N crops of SIZE x SIZE pixels per image as JPEG, with
the library's own way of choosing corners.
"""

import argparse
import importlib
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench.peaks import peak_kib

# Modules each contender imports before its clocks start.
CONTENDER_IMPORTS = {
    "cropaug": ["cropaug.expansion"],
    "pillow-per-crop": ["numpy", "PIL.Image"],
    "albumentations": ["albumentations", "cv2"],
    "augmentor": ["Augmentor"],
}


def main() -> None:
    """Parse the arguments, run the named contender and print its JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=sorted(CONTENDER_IMPORTS))
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--quality", type=int, default=95)
    args = parser.parse_args()

    run = {
        "cropaug": _run_cropaug,
        "pillow-per-crop": _run_pillow_per_crop,
        "albumentations": _run_albumentations,
        "augmentor": _run_augmentor,
    }[args.name]
    for module in CONTENDER_IMPORTS[args.name]:
        importlib.import_module(module)
    sampler = subprocess.Popen(
        [sys.executable, "-m", "bench.peaks", str(os.getpid())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    cpu_before = _cpu_seconds()
    seconds, crops = run(args)
    # Read before the sampler is waited for, whose CPU time it would add.
    cpu_seconds = _cpu_seconds() - cpu_before
    child_peaks, _ = sampler.communicate("")

    result = {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "crops": crops,
        "parent_kib": peak_kib(os.getpid()),
        "child_kib": max(json.loads(child_peaks).values(), default=0),
    }
    # A line of its own: some contenders print without a final newline.
    print("\n" + json.dumps(result))


def _cpu_seconds() -> float:
    """Return the user and system CPU time of this process and its waited children."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def list_images(src: Path) -> list[Path]:
    """Return the JPEG files of a class-per-folder tree, sorted."""
    return sorted(src.glob("*/*.jpg"))


def _run_cropaug(args) -> tuple[float, int]:
    from cropaug.expansion import expand

    started = time.perf_counter()
    summary = expand(
        args.src,
        args.dst,
        size=args.size,
        n=args.n,
        seed=0,
        workers=args.workers,
        quality=args.quality,
    )
    return time.perf_counter() - started, summary.crops


def _run_pillow_per_crop(args) -> tuple[float, int]:
    """Open the source again for every crop, as a plain loop over crops does."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    images = list_images(args.src)
    started = time.perf_counter()
    crops = 0
    for path in images:
        target = args.dst / path.parent.name
        target.mkdir(parents=True, exist_ok=True)
        for index in range(args.n):
            with Image.open(path) as image:
                x = int(rng.integers(0, image.width - args.size + 1))
                y = int(rng.integers(0, image.height - args.size + 1))
                crop = image.crop((x, y, x + args.size, y + args.size))
                crop.save(target / f"{path.stem}_{index}.jpg", quality=args.quality)
            crops += 1
    return time.perf_counter() - started, crops


def _run_albumentations(args) -> tuple[float, int]:
    """Crop with albumentations' RandomCrop, read and write with OpenCV."""
    images = list_images(args.src)
    started = time.perf_counter()
    # The default start method (fork on Linux) is what a user's Pool gets.
    with multiprocessing.Pool(
        args.workers,
        initializer=_albumentations_init,
        initargs=(args.dst, args.n, args.size, args.quality),
    ) as pool:
        crops = sum(pool.imap_unordered(_albumentations_crop, images, chunksize=16))
    return time.perf_counter() - started, crops


_albumentations_state: tuple | None = None


def _albumentations_init(dst: Path, n: int, size: int, quality: int) -> None:
    import albumentations
    import cv2

    global _albumentations_state
    transform = albumentations.RandomCrop(height=size, width=size)
    _albumentations_state = (dst, n, transform, [cv2.IMWRITE_JPEG_QUALITY, quality])


def _albumentations_crop(path: Path) -> int:
    import cv2

    dst, n, transform, options = _albumentations_state
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    target = dst / path.parent.name
    target.mkdir(parents=True, exist_ok=True)
    for index in range(n):
        crop = transform(image=image)["image"]
        cv2.imwrite(str(target / f"{path.stem}_{index}.jpg"), crop, options)
    return n


def _run_augmentor(args) -> tuple[float, int]:
    """Sample N crops per image with Augmentor's threaded pipeline.

    Augmentor draws source images at random with replacement, and saves with
    Pillow's default JPEG quality (75), which encodes faster than 95.
    """
    import Augmentor

    images = list_images(args.src)
    started = time.perf_counter()
    pipeline = Augmentor.Pipeline(
        str(args.src.resolve()), output_directory=str(args.dst.resolve())
    )
    pipeline.crop_by_size(1, args.size, args.size, centre=False)
    pipeline.sample(len(images) * args.n, multi_threaded=True)
    seconds = time.perf_counter() - started
    return seconds, sum(1 for path in args.dst.rglob("*") if path.is_file())


if __name__ == "__main__":
    sys.exit(main())
