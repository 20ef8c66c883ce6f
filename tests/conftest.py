"""Shared fixtures: every manifest a test writes is checked against the schema."""

from pathlib import Path

import pytest
from manifest_schema import assert_manifest_valid

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "crafted_manifest: the test writes manifests that break the schema on "
        "purpose, so they are not validated after it",
    )


@pytest.fixture(autouse=True)
def _validate_written_manifests(request):
    """After each test that uses tmp_path, validate every manifest.json in it."""
    checked = (
        "tmp_path" in request.fixturenames
        and not request.node.get_closest_marker("crafted_manifest")
    )
    # Taken before the test runs: the fixture value is gone at teardown, but
    # the folder stays.
    tmp_path = request.getfixturevalue("tmp_path") if checked else None
    yield
    if tmp_path is not None:
        for manifest in sorted(tmp_path.rglob("manifest.json")):
            assert_manifest_valid(manifest)


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> tuple[Path, Path]:
    """Expand sample_data/ once per session; return (SRC, DST). Copy before changing."""
    from cropaug.expand import expand

    dst = tmp_path_factory.mktemp("sample-run") / "dst"
    expand(SAMPLE_DATA, dst, size=224, n=4, seed=0, workers=1)
    assert_manifest_valid(dst / "manifest.json")
    return SAMPLE_DATA, dst


@pytest.fixture(scope="session")
def small_run(tmp_path_factory) -> tuple[Path, Path]:
    """Expand three sample photos (two classes, PNG and JPEG) once per session.

    Returns (SRC, DST); copy them before changing anything.
    """
    import shutil

    from cropaug.expand import expand

    root = tmp_path_factory.mktemp("small-run")
    src = root / "src"
    for source in ("scenes/chelsea.png", "scenes/rocket.jpg", "textures/brick.png"):
        (src / source).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SAMPLE_DATA / source, src / source)
    dst = root / "dst"
    expand(src, dst, size=128, n=3, seed=7, workers=1)
    assert_manifest_valid(dst / "manifest.json")
    return src, dst
