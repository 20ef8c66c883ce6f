import pickle

import pytest
from conftest import SAMPLE_DATA, build_tree

import cropaug
from cropaug.files import OutputWriteError, write_atomic


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
