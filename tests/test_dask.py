"""The dask executor: same bytes as the process pool, on a local and a separate cluster.

Every scheduler, worker and HTTP server these tests start listens on
127.0.0.1 only.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from cropaug.cli import cli
from cropaug.crop import CropJob, CropSettings
from cropaug.dask_executor import batch_size, crop_batch, split_batches
from cropaug.expansion import expand

distributed = pytest.importorskip("distributed", reason="needs the dask extra")
dask = pytest.importorskip("dask", reason="needs the dask extra")

# A hung cluster fails the test instead of the whole run.
pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DATA = REPO / "sample_data"
ODD = REPO / "tests" / "data" / "odd"
OPTIONS = {"size": 64, "n": 3, "seed": 11}
CLI_OPTIONS = ["--size", "64", "--n", "3", "--seed", "11", "-q"]
# Seconds allowed for a scheduler file to appear or a client to connect.
STARTUP_TIMEOUT = 60


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Map every file under root, by POSIX path relative to root, to its bytes."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Path:
    """Real photos plus a broken and a too-small image, in three classes."""
    root = tmp_path_factory.mktemp("src")
    for class_folder in SAMPLE_DATA.iterdir():
        if class_folder.is_dir():
            shutil.copytree(class_folder, root / class_folder.name)
    odd = root / "odd"
    odd.mkdir()
    for name in ("broken.png", "tiny.png", "hopper_gray.jpg"):
        shutil.copy(ODD / name, odd / name)
    (odd / "nested").mkdir()
    shutil.copy(ODD / "transparent.png", odd / "nested" / "transparent.png")
    return root


@pytest.fixture(scope="module")
def process_run(src, tmp_path_factory) -> dict[str, bytes]:
    dst = tmp_path_factory.mktemp("process") / "out"
    expand(src, dst, executor="process", workers=2, **OPTIONS)
    return tree_bytes(dst)


@pytest.fixture(scope="module")
def scheduler_address(tmp_path_factory) -> str:
    """Start `dask scheduler` and one `dask worker` as processes; yield the address.

    Ports are chosen by the OS and the address read from the scheduler file.
    The processes are killed by pid at the end.
    """
    folder = tmp_path_factory.mktemp("cluster")
    scheduler_file = folder / "scheduler.json"
    loopback = ["--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0"]
    scheduler = _start(
        folder / "scheduler.log",
        "distributed.cli.dask_scheduler",
        *loopback,
        "--port",
        "0",
        "--no-dashboard",
        "--scheduler-file",
        str(scheduler_file),
    )
    worker = None
    try:
        address = _read_address(scheduler_file, scheduler)
        worker = _start(
            folder / "worker.log",
            "distributed.cli.dask_worker",
            *loopback,
            "--no-dashboard",
            "--nworkers",
            "1",
            "--nthreads",
            "2",
            "--death-timeout",
            "30",
            "--scheduler-file",
            str(scheduler_file),
        )
        _wait_for_workers(address, count=1)
        yield address
    finally:
        for process in (worker, scheduler):
            if process is not None:
                _kill(process)


def _start(log: Path, module: str, *arguments: str) -> subprocess.Popen:
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", module, *arguments],
            stdout=output,
            stderr=subprocess.STDOUT,
            # A process group of its own, so killing it also ends the worker
            # process that the nanny spawned.
            start_new_session=True,
        )


def _read_address(scheduler_file: Path, scheduler: subprocess.Popen) -> str:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        assert scheduler.poll() is None, "dask scheduler exited at start"
        try:
            return json.loads(scheduler_file.read_text())["address"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            time.sleep(0.1)
    raise TimeoutError(f"no scheduler address in {scheduler_file}")


def _wait_for_workers(address: str, count: int) -> None:
    with distributed.Client(
        address, timeout=STARTUP_TIMEOUT, set_as_default=False
    ) as client:
        client.wait_for_workers(count, timeout=STARTUP_TIMEOUT)


def _kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=STARTUP_TIMEOUT)


def test_batch_size_small_run():
    # 11 images on 2 threads: 4 batches per thread, so 2 images a batch.
    assert batch_size(11, 2) == 2


def test_batch_size_large_run_capped():
    assert batch_size(1_000_000, 64) == 256


def test_batch_size_no_workers_yet():
    assert batch_size(100, 0) == 25


def test_split_batches_keeps_every_job():
    batches = split_batches(list(range(10)), 4)
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_local_cluster_matches_process_pool(src, process_run, tmp_path):
    dst = tmp_path / "out"
    summary = expand(src, dst, executor="dask", workers=2, **OPTIONS)
    assert [failure["source"] for failure in summary.failed] == ["odd/broken.png"]
    assert tree_bytes(dst) == process_run


def test_scheduler_option_matches_process_pool(
    src, process_run, scheduler_address, tmp_path
):
    dst = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["expand", str(src), str(dst), *CLI_OPTIONS, "--scheduler", scheduler_address],
    )
    # odd/broken.png fails, so the run exits 1 and lists it.
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("failed: odd/broken.png: ")
    assert tree_bytes(dst) == process_run


def test_scheduler_env_var_matches_process_pool(
    src, process_run, scheduler_address, tmp_path
):
    dst = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["expand", str(src), str(dst), *CLI_OPTIONS],
        env={"DASK_SCHEDULER_ADDRESS": scheduler_address},
    )
    assert result.exit_code == 1, result.output
    assert tree_bytes(dst) == process_run


def test_shards_on_dask_match_process_pool(
    src, process_run, scheduler_address, tmp_path
):
    dst = tmp_path / "out"
    for index in (1, 0):
        expand(src, dst, shard=f"{index}/2", scheduler=scheduler_address, **OPTIONS)
    CliRunner().invoke(cli, ["merge", str(dst)])
    assert tree_bytes(dst) == process_run


def test_worker_write_error_reaches_client(src, scheduler_address, tmp_path):
    # A file where the folder odd/nested must go makes its crops fail to write
    # on the worker, and the error must reach the client intact. A shard run
    # keeps what DST contains, so the file is still there when the crops come.
    dst = tmp_path / "out"
    (dst / "odd").mkdir(parents=True)
    (dst / "odd" / "nested").write_bytes(b"")
    result = CliRunner().invoke(
        cli,
        [
            "expand",
            str(src),
            str(dst),
            *CLI_OPTIONS,
            "--shard",
            "0/1",
            "--scheduler",
            scheduler_address,
        ],
    )
    assert result.exit_code == 1
    last_line = result.output.strip().splitlines()[-1]
    assert last_line.startswith(
        f"Error: cannot write {dst / 'odd' / 'nested'}: File exists. "
    )
    # The shard's run can be resumed like an unsharded one.
    assert last_line.endswith(
        f"--shard 0/1 --scheduler {scheduler_address} -q --resume"
    )


def test_unreachable_scheduler_message(src, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = CliRunner().invoke(
            cli,
            ["expand", str(src), str(tmp_path / "out"), *CLI_OPTIONS],
            env={"DASK_SCHEDULER_ADDRESS": address},
        )
    assert result.exit_code == 1
    assert result.output.startswith(
        f"Error: cannot connect to the Dask scheduler at {address}: "
    )


def test_scheduler_needs_dask_executor(src, tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "expand",
            str(src),
            str(tmp_path / "out"),
            *CLI_OPTIONS,
            "--executor",
            "process",
            "--scheduler",
            "tcp://127.0.0.1:8786",
        ],
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == (
        "Error: Invalid value for '--scheduler': a scheduler address needs "
        "--executor dask, not process"
    )


def test_env_scheduler_ignored_by_process_executor(src, process_run, tmp_path):
    dst = tmp_path / "out"
    result = CliRunner().invoke(
        cli,
        ["expand", str(src), str(dst), *CLI_OPTIONS, "--executor", "process"],
        env={"DASK_SCHEDULER_ADDRESS": "tcp://127.0.0.1:8786"},
    )
    assert result.exit_code == 1, result.output
    assert tree_bytes(dst) == process_run


def test_missing_dask_extra_message(src, tmp_path):
    # A child interpreter in which `import distributed` fails, as it does
    # without the dask extra.
    code = (
        "import sys; sys.modules['distributed'] = None; "
        "from cropaug.cli import main; main()"
    )
    dst = tmp_path / "out"
    command = [sys.executable, "-c", code, "expand", str(src), str(dst)]
    result = subprocess.run(
        [*command, *CLI_OPTIONS, "--executor", "dask"],
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: the dask executor needs Dask's distributed package; install it "
        "with pip install 'cropaug[dask]'"
    )
    assert not dst.exists()


def test_crop_batch_returns_progress_lines(src, tmp_path):
    # A resumed run checks the source stat and crop sizes of each line, so
    # Dask batches must return them like the process pool does.
    settings = CropSettings(
        crop_width=64,
        crop_height=64,
        n=2,
        seed=0,
        format="png",
        quality=95,
        subsampling=None,
        lossless=False,
        background=(255, 255, 255),
        max_pixels=200_000_000,
    )
    (tmp_path / "odd").mkdir()
    job = CropJob("odd/hopper_gray.jpg", "odd", "odd/hopper_gray")

    batch = crop_batch([job], src, tmp_path, settings)
    line = batch["results"][0]

    stat = (src / "odd" / "hopper_gray.jpg").stat()
    assert line["source_stat"] == {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    crop_sizes = [(tmp_path / c["path"]).stat().st_size for c in line["image"]["crops"]]
    assert line["sizes"] == crop_sizes
