"""Measure the peak resident memory of the cropaug parent process on many tiny images.

Generates IMAGES 32x32 PNGs (random noise, four classes) in a temporary
folder, runs `python -m cropaug expand SRC DST --size 16 --n 2 --workers 2`,
and samples the parent's VmHWM (peak resident set size) from /proc every
0.2 s. Linux only. Example:

    python scripts/measure_parent_rss.py 100000
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def generate(root: Path, count: int) -> None:
    """Write `count` noise PNGs of 32x32 pixels into four class folders."""
    rng = np.random.default_rng(0)
    for index in range(count):
        folder = root / f"class{index % 4}"
        if index < 4:
            folder.mkdir(parents=True)
        pixels = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{index:06d}.png", compress_level=1)


def peak_rss_kib(pid: int) -> int | None:
    """Return the process's VmHWM in KiB, or None once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", type=int, nargs="?", default=100_000)
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cropaug-rss-") as folder:
        src, dst = Path(folder, "src"), Path(folder, "dst")
        started = time.perf_counter()
        generate(src, arguments.images)
        print(
            f"generated {arguments.images} images in "
            f"{time.perf_counter() - started:.0f} s"
        )

        command = [
            sys.executable,
            "-m",
            "cropaug",
            "expand",
            str(src),
            str(dst),
            "--size",
            "16",
            "--n",
            "2",
            "--seed",
            "0",
            "--workers",
            "2",
            "-q",
        ]
        started = time.perf_counter()
        process = subprocess.Popen(command)
        peak = 0
        while process.poll() is None:
            peak = max(peak, peak_rss_kib(process.pid) or 0)
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        if process.returncode != 0:
            sys.exit(f"cropaug exited with status {process.returncode}")
        manifest = (dst / "manifest.json").stat().st_size
        print(
            f"parent peak RSS {peak / 1024:.0f} MiB, run {seconds:.0f} s, "
            f"manifest {manifest / 2**20:.0f} MiB"
        )


if __name__ == "__main__":
    main()
