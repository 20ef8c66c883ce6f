"""SRC and DST at s3:// URLs, against a moto S3 server on 127.0.0.1.

The S3 client gets its endpoint and test credentials from fsspec's config,
so it never looks for real credentials or contacts another host.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from cropaug.cli import cli
from cropaug.expansion import expand
from cropaug.merging import merge

fsspec = pytest.importorskip("fsspec", reason="needs the cloud extra")
pytest.importorskip("s3fs", reason="needs the cloud extra")
boto3 = pytest.importorskip("boto3", reason="needs moto, from the test extra")
moto_server = pytest.importorskip("moto.server", reason="needs moto[server]")

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parent.parent
SAMPLE_DATA = REPO / "sample_data"
ODD = REPO / "tests" / "data" / "odd"
OPTIONS = {"size": 64, "n": 2, "seed": 3, "workers": 1}
CREDENTIALS = {"key": "testing", "secret": "testing"}
REGION = "us-east-1"


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Map every file under root, by POSIX path relative to root, to its bytes."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Path:
    """Real photos in three classes, a broken image and a non-image file."""
    root = tmp_path_factory.mktemp("src")
    for class_folder in SAMPLE_DATA.iterdir():
        if class_folder.is_dir():
            shutil.copytree(class_folder, root / class_folder.name)
    shutil.copy(ODD / "broken.png", root / "scenes" / "broken.png")
    (root / "textures" / "notes.txt").write_text("not an image\n")
    (root / "textures" / "nested").mkdir()
    shutil.copy(ODD / "hopper_gray.jpg", root / "textures" / "nested" / "gray")
    return root


@pytest.fixture(scope="module")
def local_run(src, tmp_path_factory) -> dict[str, bytes]:
    dst = tmp_path_factory.mktemp("local") / "out"
    expand(src, dst, **OPTIONS)
    return tree_bytes(dst)


@pytest.fixture(scope="module")
def s3_endpoint():
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, src, request, monkeypatch) -> str:
    """A new bucket holding SRC under `src/`; fsspec is pointed at the server."""
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setitem(
        fsspec.config.conf,
        "s3",
        {
            **CREDENTIALS,
            "client_kwargs": {"endpoint_url": s3_endpoint, "region_name": REGION},
        },
    )
    name = request.node.name.replace("_", "-")[:63]
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=REGION,
        aws_access_key_id=CREDENTIALS["key"],
        aws_secret_access_key=CREDENTIALS["secret"],
    )
    client.create_bucket(Bucket=name)
    fs = fsspec.filesystem("s3")
    fs.put(str(src), f"{name}/src", recursive=True)
    return name


def download(url_path: str, local: Path) -> dict[str, bytes]:
    fs = fsspec.filesystem("s3")
    fs.invalidate_cache()
    fs.get(url_path, str(local), recursive=True)
    return tree_bytes(local)


def test_s3_round_trip_matches_local(bucket, local_run, tmp_path):
    summary = expand(f"s3://{bucket}/src", f"s3://{bucket}/dst", **OPTIONS)
    assert [failure["source"] for failure in summary.failed] == ["scenes/broken.png"]
    assert download(f"{bucket}/dst", tmp_path / "dst") == local_run


def test_s3_to_local_with_worker_processes(bucket, local_run, tmp_path):
    dst = tmp_path / "out"
    expand(f"s3://{bucket}/src", dst, **{**OPTIONS, "workers": 2})
    assert tree_bytes(dst) == local_run


def test_s3_shards_merge_match_local(bucket, local_run, tmp_path):
    dst = f"s3://{bucket}/dst"
    for index in (1, 0):
        expand(f"s3://{bucket}/src", dst, shard=f"{index}/2", **OPTIONS)
    merge(dst)
    assert download(f"{bucket}/dst", tmp_path / "dst") == local_run


def test_s3_cli_rejects_non_empty_dst(bucket):
    fs = fsspec.filesystem("s3")
    fs.pipe_file(f"{bucket}/dst/keep.txt", b"keep")
    result = CliRunner().invoke(
        cli,
        [
            "expand",
            f"s3://{bucket}/src",
            f"s3://{bucket}/dst",
            "--size",
            "64",
            "--n",
            "2",
            "--seed",
            "3",
            "-q",
        ],
    )
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: DST s3://{bucket}/dst is not empty; pass --overwrite to replace "
        "an earlier run, or choose an empty folder"
    )


def test_file_url_is_a_local_path(src, local_run, tmp_path):
    dst = tmp_path / "out"
    expand(src.as_uri(), dst.as_uri(), **OPTIONS)
    assert tree_bytes(dst) == local_run


def test_url_without_cloud_extra_message(tmp_path):
    # A child interpreter in which `import fsspec` fails, as it does without
    # the cloud extra.
    code = (
        "import sys; sys.modules['fsspec'] = None; from cropaug.cli import main; main()"
    )
    command = [sys.executable, "-c", code, "expand", "s3://bucket/src"]
    result = subprocess.run(
        [*command, str(tmp_path / "out"), "--size", "64", "--n", "2", "--seed", "3"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: s3://bucket/src is a URL, and URLs need fsspec; install it with "
        "pip install 'cropaug[cloud]'"
    )
