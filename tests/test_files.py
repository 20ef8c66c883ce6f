"""Atomic writes, temporary files, and the write error that stops a run."""

import errno
import os
import pickle
import stat
from pathlib import Path

import pytest
from conftest import SAMPLE_DATA, build_tree

import cropaug
from cropaug import files
from cropaug.files import (
    TEMP_PREFIX,
    TEMP_SUFFIX,
    OutputWriteError,
    is_temp_name,
    open_atomic,
    remove_temp_files,
    write_atomic,
)


def test_output_write_error_survives_pickling():
    error = OutputWriteError(Path("/out/cats/a_c00.jpg"), OSError(errno.ENOSPC, "full"))

    copy = pickle.loads(pickle.dumps(error))

    assert str(copy) == "cannot write /out/cats/a_c00.jpg: full"
    assert copy.path == Path("/out/cats/a_c00.jpg")
    assert copy.errno == errno.ENOSPC


def test_write_atomic_replaces_file(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")

    write_atomic(target, b"new bytes")

    assert target.read_bytes() == b"new bytes"
    assert [path.name for path in tmp_path.iterdir()] == ["a.bin"]


def test_write_atomic_names_missing_folder(tmp_path):
    target = tmp_path / "missing" / "a.bin"

    with pytest.raises(OutputWriteError) as raised:
        write_atomic(target, b"data")

    assert str(raised.value) == f"cannot write {target}: No such file or directory"


def test_open_atomic_interrupted_leaves_no_file(tmp_path):
    target = tmp_path / "manifest.json"

    with pytest.raises(KeyboardInterrupt), open_atomic(target) as file:
        file.write("{")
        raise KeyboardInterrupt

    assert list(tmp_path.iterdir()) == []


def test_remove_temp_files_keeps_other_files(tmp_path):
    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / ".cropaug-x1.tmp").write_bytes(b"")
    (tmp_path / ".cropaug-x2.tmp").write_bytes(b"")
    (tmp_path / "cats" / "a_c00.jpg").write_bytes(b"")
    (tmp_path / ".cropaug-progress.jsonl").write_bytes(b"")

    removed = remove_temp_files(tmp_path)

    assert removed == 2
    remaining = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    assert remaining == [".cropaug-progress.jsonl", "cats", "cats/a_c00.jpg"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (".cropaug-abc123.tmp", True),
        (".cropaug-progress.jsonl", False),
        ("cropaug-abc.tmp", False),
        ("a_c00.jpg", False),
    ],
)
def test_is_temp_name(name, expected):
    assert is_temp_name(name) is expected


def test_output_write_error_pickles(tmp_path):
    error = OutputWriteError(tmp_path / "a.jpg", OSError(28, "No space left"))
    copy = pickle.loads(pickle.dumps(error))

    assert str(copy) == f"cannot write {tmp_path / 'a.jpg'}: No space left"
    assert copy.path == tmp_path / "a.jpg"
    assert copy.errno == 28


def test_write_atomic_leaves_no_temp_file(tmp_path):
    write_atomic(tmp_path / "a.bin", b"data")

    assert [path.name for path in tmp_path.iterdir()] == ["a.bin"]
    assert (tmp_path / "a.bin").read_bytes() == b"data"


def test_write_atomic_error_names_path(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(OutputWriteError) as raised:
        write_atomic(tmp_path / "taken", b"data")

    assert str(raised.value) == f"cannot write {tmp_path / 'taken'}: Is a directory"
    assert [path.name for path in tmp_path.iterdir()] == ["taken"]


@pytest.mark.timeout(60)
def test_write_error_in_worker_stops_run(tmp_path):
    # The folder of cats/<deep>/x.jpg fits in Linux's PATH_MAX of 4096 bytes
    # under SRC but not under the longer DST, so one of the workers cannot
    # write. The error must reach the caller instead of hanging the pool.
    rocket = SAMPLE_DATA / "scenes" / "rocket.jpg"
    deep = "/".join(["d" * 250] * 15)
    files = {f"cats/{deep}/x.jpg": rocket}
    files.update({f"cats/y{index}.jpg": rocket for index in range(4)})
    src = build_tree(tmp_path / "src", files)
    dst = tmp_path / ("e" * 250) / ("e" * 200)
    with pytest.raises(OutputWriteError) as raised:
        cropaug.expand(src, dst, size=16, n=2, seed=0, workers=2)

    assert str(raised.value) == f"cannot write {dst}/cats/{deep}: File name too long"


def test_write_atomic_string_path(tmp_path):
    write_atomic(str(tmp_path / "a.bin"), b"data")

    assert (tmp_path / "a.bin").read_bytes() == b"data"
    assert [path.name for path in tmp_path.iterdir()] == ["a.bin"]


def test_write_atomic_permissions_follow_umask(tmp_path):
    write_atomic(tmp_path / "a.bin", b"data")

    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "a.bin").stat().st_mode) == 0o666 & ~mask


def test_write_atomic_past_stale_temp_names(tmp_path):
    # Temporary files that a killed process with this process's id left
    # behind hold the next names write_atomic would pick.
    following = next(files._temp_numbers) + 1
    stale = [
        tmp_path / f"{TEMP_PREFIX}{os.getpid()}-{number}{TEMP_SUFFIX}"
        for number in range(following, following + 3)
    ]
    for path in stale:
        path.write_bytes(b"stale")

    write_atomic(tmp_path / "a.bin", b"data")

    assert (tmp_path / "a.bin").read_bytes() == b"data"
    assert all(path.read_bytes() == b"stale" for path in stale)
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == sorted(["a.bin", *(path.name for path in stale)])
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "a.bin").stat().st_mode) == 0o666 & ~mask


def test_atomic_writes_follow_umask_set_later(tmp_path):
    previous = os.umask(0o077)
    try:
        write_atomic(tmp_path / "crop.jpg", b"data")
        with open_atomic(tmp_path / "record.json") as file:
            file.write("{}")
    finally:
        os.umask(previous)

    assert stat.S_IMODE((tmp_path / "crop.jpg").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "record.json").stat().st_mode) == 0o600
