"""Run `python -m cropaug expand` as a real process and inspect what it leaves.

Shared by the tests that kill, interrupt and resume runs.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

REPOSITORY = Path(__file__).resolve().parent.parent
SAMPLE_DATA = REPOSITORY / "sample_data"

# Options of every run in these tests: small crops keep a few hundred images
# quick, and three crops per image make partly written sources likely.
RUN_OPTIONS = ("--size", "24", "--n", "3", "--seed", "7", "-q")


def build_photo_tree(root: Path, count: int = 300) -> Path:
    """Cut `count` small images from the sample photos into three classes.

    Sizes vary from 24 to 71 pixels a side and formats alternate between PNG
    and JPEG, so the sources differ in work and in output size.
    """
    photos = sorted(path for path in SAMPLE_DATA.rglob("*") if _is_photo(path))
    loaded = [Image.open(path).convert("RGB") for path in photos]
    classes = ("cats", "dogs", "birds")
    for index in range(count):
        photo = loaded[index % len(loaded)]
        width = 24 + (index * 7) % 48
        height = 24 + (index * 11) % 48
        left = (index * 37) % (photo.width - width)
        top = (index * 53) % (photo.height - height)
        tile = photo.crop((left, top, left + width, top + height))
        folder = root / classes[index % len(classes)]
        folder.mkdir(parents=True, exist_ok=True)
        if index % 2:
            tile.save(folder / f"img{index:04d}.jpg", quality=90)
        else:
            tile.save(folder / f"img{index:04d}.png")
    return root


def _is_photo(path: Path) -> bool:
    return path.suffix.lower() in (".png", ".jpg")


def expand_command(src: Path, dst: Path, *options: str) -> list[str]:
    """Return the argv of `python -m cropaug expand SRC DST` with the test options."""
    return [
        sys.executable,
        "-m",
        "cropaug",
        "expand",
        str(src),
        str(dst),
        *RUN_OPTIONS,
        *options,
    ]


def run_expand(src: Path, dst: Path, *options: str, env=None, timeout=120):
    """Run cropaug to completion and return the CompletedProcess."""
    return subprocess.run(
        expand_command(src, dst, *options),
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def start_expand(
    src: Path, dst: Path, *options: str, log: Path, env=None
) -> subprocess.Popen:
    """Start cropaug in its own process group, with stdout and stderr in `log`."""
    with log.open("w") as output:
        return subprocess.Popen(
            expand_command(src, dst, *options),
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def pause_env(point: str, marker: Path) -> dict:
    """Return an environment that makes the run pause at a test hook point."""
    return {
        **os.environ,
        "CROPAUG_TEST_PAUSE": point,
        "CROPAUG_TEST_PAUSE_MARKER": str(marker),
    }


def wait_until(
    condition, timeout: float = 60.0, description: str = "condition"
) -> None:
    """Poll `condition` every 10 ms until it is true, or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {description}")
        time.sleep(0.01)


def progress_line_count(dst: Path) -> int:
    """Return how many whole lines the progress file has, 0 when it is missing."""
    try:
        return (dst / ".cropaug-progress.jsonl").read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def group_members(group_id: int) -> list[int]:
    """Return the live processes of a process group, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name in brackets may contain spaces; fields follow it.
        fields = stat[stat.rindex(")") + 2 :].split()
        state, process_group = fields[0], int(fields[2])
        if process_group == group_id and state not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def command_line(pid: int) -> str:
    """Return a process's command line from /proc, or "" once it has exited."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def is_resource_tracker(pid: int) -> bool:
    """Return whether a process is multiprocessing's resource tracker.

    The tracker is not a worker. It exits by itself shortly after the parent,
    when it reads the end of its pipe.
    """
    return "multiprocessing.resource_tracker" in command_line(pid)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the run and every process it started, then reap it."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    wait_until(lambda: not group_members(process.pid), description="workers to exit")


def tree_snapshot(root: Path) -> dict[str, bytes | None]:
    """Map every file under `root` to its bytes and every folder to None."""
    snapshot = {}
    for folder, folders, files in os.walk(root):
        relative = Path(folder).relative_to(root)
        for name in folders:
            snapshot[str(relative / name)] = None
        for name in files:
            snapshot[str(relative / name)] = (Path(folder) / name).read_bytes()
    return snapshot


def temp_files(root: Path) -> list[str]:
    """Return cropaug's temporary files under `root`."""
    return [
        str(path) for path in root.rglob(".cropaug-*") if path.name.endswith(".tmp")
    ]
