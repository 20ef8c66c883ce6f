"""Sample the peak memory of another process's children, from a process of its own.

Run as `python -m bench.peaks PID`. Every 10 ms until its standard input
closes, it reads the peak resident memory (VmHWM) of each child of PID
other than itself, then prints the peaks in KiB as one JSON object keyed by
process id. A child's growth in its last 10 ms can be missed.

It runs as a process rather than a thread of the process it measures, so
that process keeps the single thread a user's would have: cropaug forks its
workers only then.
"""

import json
import os
import select
import sys
from pathlib import Path


def main() -> None:
    """Sample until standard input closes, then print the peaks."""
    parent = int(sys.argv[1])
    peaks: dict[int, int] = {}
    while not select.select([sys.stdin], [], [], 0.01)[0]:
        for pid in child_pids(parent):
            if pid != os.getpid():
                peaks[pid] = max(peak_kib(pid), peaks.get(pid, 0))
    print(json.dumps(peaks))


def peak_kib(pid: int) -> int:
    """Return a process's peak resident memory in KiB (VmHWM), or 0 if it is gone.

    Unlike getrusage's ru_maxrss, VmHWM starts afresh at exec, so a process
    does not report the peak of the process that started it.
    """
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def child_pids(parent: int) -> list[int]:
    """Return the process ids of the children of every thread of `parent`."""
    pids = []
    try:
        tasks = list(Path(f"/proc/{parent}/task").iterdir())
    except OSError:
        return pids
    for task in tasks:
        try:
            pids += [int(pid) for pid in (task / "children").read_text().split()]
        except OSError:
            continue
    return pids


if __name__ == "__main__":
    main()
