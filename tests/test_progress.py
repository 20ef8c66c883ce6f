"""The progress file: atomic header, torn last lines, offsets, last line wins."""

import json

import pytest
from conftest import SAMPLE_PHOTOS, build_tree

from cropaug.crop import CropJob, CropSettings
from cropaug.errors import CropaugError
from cropaug.progress import (
    PROGRESS_NAME,
    ProgressLog,
    RecordReader,
    crop_and_record,
    read_header,
    scan_records,
    start_progress,
)

HEADER = {"params": {"n": 3, "seed": 7}, "src": "/data/src"}


def record(source, status="skipped"):
    return {"status": status, "source": source, "reason": "test"}


def test_start_progress_writes_header_only(tmp_path):
    start_progress(tmp_path, HEADER)

    lines = (tmp_path / PROGRESS_NAME).read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) == {"progress_version": 1, **HEADER}
    assert read_header(tmp_path) == {"progress_version": 1, **HEADER}


def test_start_progress_replaces_earlier_file(tmp_path):
    (tmp_path / PROGRESS_NAME).write_text("old header\nold line\n")

    start_progress(tmp_path, HEADER)

    assert list(scan_records(tmp_path)) == []
    assert [path.name for path in tmp_path.iterdir()] == [PROGRESS_NAME]


def test_progress_log_appends_records(tmp_path):
    start_progress(tmp_path, HEADER)
    log = ProgressLog(tmp_path)
    log.append(record("cats/a.jpg"))
    log.append(record("cats/é b.jpg"))
    log.close()

    records = [line for _, line in scan_records(tmp_path)]

    assert records == [record("cats/a.jpg"), record("cats/é b.jpg")]


def test_progress_log_drops_torn_last_line(tmp_path):
    start_progress(tmp_path, HEADER)
    log = ProgressLog(tmp_path)
    log.append(record("cats/a.jpg"))
    log.close()
    with (tmp_path / PROGRESS_NAME).open("ab") as file:
        file.write(b'{"status": "cropped", "sou')

    log = ProgressLog(tmp_path)
    log.append(record("cats/b.jpg"))
    log.close()

    sources = [line["source"] for _, line in scan_records(tmp_path)]
    assert sources == ["cats/a.jpg", "cats/b.jpg"]


def test_scan_records_ignores_torn_last_line(tmp_path):
    start_progress(tmp_path, HEADER)
    with (tmp_path / PROGRESS_NAME).open("ab") as file:
        file.write(json.dumps(record("cats/a.jpg")).encode() + b"\n")
        # A whole record without its newline counts as torn too.
        file.write(json.dumps(record("cats/b.jpg")).encode())

    sources = [line["source"] for _, line in scan_records(tmp_path)]

    assert sources == ["cats/a.jpg"]


def test_scan_records_skips_damaged_line(tmp_path):
    start_progress(tmp_path, HEADER)
    with (tmp_path / PROGRESS_NAME).open("ab") as file:
        file.write(b"\x00\x00 damaged\n")
        file.write(json.dumps(record("cats/b.jpg")).encode() + b"\n")

    sources = [line["source"] for _, line in scan_records(tmp_path)]

    assert sources == ["cats/b.jpg"]


def test_record_reader_reads_at_scanned_offsets(tmp_path):
    start_progress(tmp_path, HEADER)
    log = ProgressLog(tmp_path)
    for name in ("a", "b", "c"):
        log.append(record(f"cats/{name}.jpg"))
    log.close()
    offsets = {line["source"]: offset for offset, line in scan_records(tmp_path)}

    with RecordReader(tmp_path) as reader:
        assert reader.read(offsets["cats/c.jpg"]) == record("cats/c.jpg")
        assert reader.read(offsets["cats/a.jpg"]) == record("cats/a.jpg")


def test_read_header_rejects_other_version(tmp_path):
    (tmp_path / PROGRESS_NAME).write_text('{"progress_version": 99, "params": {}}\n')

    with pytest.raises(CropaugError) as raised:
        read_header(tmp_path)

    assert str(raised.value) == (
        f"{tmp_path / PROGRESS_NAME} was written by another version of cropaug "
        "(progress_version 99); pass --overwrite to start over"
    )


def test_read_header_rejects_damaged_header(tmp_path):
    (tmp_path / PROGRESS_NAME).write_text("not json\n")

    with pytest.raises(CropaugError) as raised:
        read_header(tmp_path)

    assert str(raised.value) == (
        f"{tmp_path / PROGRESS_NAME} has no valid header line; "
        "pass --overwrite to start over"
    )


def test_crop_and_record_sizes_match_files(tmp_path):
    src = build_tree(tmp_path / "src", {"cats/a.jpg": SAMPLE_PHOTOS[0]})
    settings = CropSettings(
        crop_width=64,
        crop_height=48,
        n=4,
        seed=0,
        format="same",
        quality=90,
        subsampling=None,
        lossless=False,
        background=(255, 255, 255),
        max_pixels=10**8,
    )
    job = CropJob("cats/a.jpg", "cats", "cats/a")

    line = crop_and_record(src, tmp_path / "dst", job, settings)

    paths = [crop["path"] for crop in line["image"]["crops"]]
    assert len(paths) == 4
    assert line["sizes"] == [(tmp_path / "dst" / path).stat().st_size for path in paths]
    assert line["source_stat"]["size"] == (src / "cats" / "a.jpg").stat().st_size
