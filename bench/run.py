"""Benchmark cropaug against the floor and its peers, and print one table.

Run as `python -m bench.run` (or `make bench`). Every measurement runs in a
fresh process writing to a fresh folder, and every round measures all rows
again, so each ratio compares numbers taken minutes apart on the same
machine. The table shows the median over the rounds and, for crops per
second, the lowest and highest round.
"""

import argparse
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.dataset import build_all, subset

HERE = Path(__file__).resolve().parent
LIBRARIES = (
    "cropaug",
    "pillow",
    "numpy",
    "simplejpeg",
    "albumentations",
    "opencv-python-headless",
    "Augmentor",
)
# The same job for every row: 10 crops of 224x224 per image, JPEG quality 95.
N, SIZE, QUALITY = 10, 224, 95
SCALING_PER_CLASS = 10


def main() -> None:
    """Build the datasets, run the rounds, print the table and save the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="times to measure every row; the table shows the median (default 3)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=HERE / ".cache",
        help="folder for the data sets, runs and raw results (default bench/.cache)",
    )
    args = parser.parse_args()

    print("building the datasets (once) ...", file=sys.stderr)
    sets = build_all(args.cache)
    small = subset(
        sets["imagenet"], args.cache / "imagenet-100", per_class=SCALING_PER_CLASS
    )
    tiny = subset(sets["imagenet"], args.cache / "imagenet-10", per_class=1)
    for folder in (*sets.values(), small, tiny):
        _read_all(folder)

    runs = args.cache / "runs" / time.strftime("%Y%m%d-%H%M%S")
    plan = _plan(sets["imagenet"], small, tiny, sets["photos-12mp"])
    rounds = []
    load = [os.getloadavg()[0]]
    try:
        for round_index in range(args.rounds):
            print(f"round {round_index + 1} of {args.rounds} ...", file=sys.stderr)
            rounds.append(_run_round(plan, runs / str(round_index)))
            load.append(os.getloadavg()[0])
    finally:
        # Deleted only after the last row: deleting thousands of files slows
        # the file creation of a run that follows right after.
        shutil.rmtree(runs, ignore_errors=True)

    results = {
        "machine": machine(),
        "load_average": load,
        "cli_start": _cli_start_seconds(),
        "idle_worker_kib": _idle_worker_kib(),
        "rounds": rounds,
    }
    report = format_report(results)
    print(report)
    saved = args.cache / "results" / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(results, indent=1))
    print(f"\nraw results: {saved}", file=sys.stderr)


def machine() -> dict:
    """Return the CPU model, core count, Python version and library versions."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.platform(),
        "versions": versions,
    }


def _plan(imagenet: Path, small: Path, tiny: Path, photos: Path) -> list[dict]:
    """List the rows of one round: set, contender, workers and source folder."""
    # Each floor is measured right before the cropaug rows it is compared
    # with, so that a change in the machine's load between rows moves both.
    rows = [
        {"set": "imagenet", "way": "floor", "src": imagenet},
        {"set": "imagenet", "way": "cropaug", "workers": 2, "src": imagenet},
        {"set": "imagenet", "way": "cropaug", "workers": 1, "src": imagenet},
        {"set": "imagenet-100", "way": "cropaug", "workers": 2, "src": small},
        # Ten images: about the fixed cost of a run, mostly starting workers.
        {"set": "imagenet-10", "way": "cropaug", "workers": 2, "src": tiny},
        {"set": "photos-12mp", "way": "floor", "src": photos},
        {"set": "photos-12mp", "way": "cropaug", "workers": 2, "src": photos},
        {"set": "photos-12mp", "way": "cropaug", "workers": 1, "src": photos},
    ]
    if _installed("albumentations") and _installed("cv2"):
        rows.append(
            {"set": "imagenet", "way": "albumentations", "workers": 2, "src": imagenet}
        )
    if _installed("Augmentor"):
        # Threads on every core, so it is compared with two workers.
        rows.append(
            {"set": "imagenet", "way": "augmentor", "workers": 2, "src": imagenet}
        )
    rows.append(
        {"set": "imagenet", "way": "pillow-per-crop", "workers": 1, "src": imagenet}
    )
    return rows


def _run_round(plan: list[dict], runs: Path) -> list[dict]:
    measured = []
    for index, row in enumerate(plan):
        dst = runs / f"{index}-{row['way']}"
        if row["way"] == "floor":
            command = ["-m", "bench.floor", str(row["src"]), str(dst)]
        else:
            command = ["-m", "bench.contenders", row["way"], str(row["src"]), str(dst)]
            command += ["--workers", str(row["workers"])]
        command += ["--n", str(N), "--size", str(SIZE), "--quality", str(QUALITY)]
        result = _run_python(command)
        load = os.getloadavg()[0]
        measured.append({**row, "src": str(row["src"]), "load": load, **result})
    return measured


def _run_python(arguments: list[str]) -> dict:
    environment = dict(os.environ, NO_ALBUMENTATIONS_UPDATE="1")
    completed = subprocess.run(
        [sys.executable, *arguments],
        cwd=HERE.parent,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"{' '.join(arguments)} failed with exit code {completed.returncode}:\n"
            f"{completed.stderr}"
        )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _cli_start_seconds(repeats: int = 10) -> dict[str, list[float]]:
    """Return the wall-clock seconds of each run of `cropaug --help` and `--version`."""
    script = Path(sys.executable).with_name("cropaug")
    timings = {}
    for option in ("--help", "--version"):
        timings[option] = []
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run([script, option], capture_output=True, check=True)
            timings[option].append(time.perf_counter() - started)
    return timings


def _idle_worker_kib() -> int:
    """Return the peak memory of a process that imports what a cropaug worker does."""
    code = (
        "import os, cropaug.pool, bench.peaks;print(bench.peaks.peak_kib(os.getpid()))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=HERE.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(completed.stdout)


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _read_all(folder: Path) -> None:
    """Read every file once, so that no row pays for a cold page cache."""
    for path in folder.rglob("*.jpg"):
        path.read_bytes()


def format_report(results: dict) -> str:
    """Format the machine, the table of medians and the target checks as text."""
    from bench.report import format_report as format_text

    return format_text(results)


if __name__ == "__main__":
    main()
