"""Shared fixtures: source trees built in tmp_path from the repository's images.

`validate_manifest` checks the field set of every manifest the tests read, and
every manifest.json a test leaves in tmp_path is validated against the JSON
Schema after the test.
"""

import hashlib
import json
import re
import shutil
from pathlib import Path, PurePosixPath

import numpy as np
import PIL
import pytest
import simplejpeg
from click.testing import CliRunner
from manifest_schema import assert_manifest_valid
from PIL import Image, ImageOps

import cropaug
from cropaug.cli import cli
from cropaug.sampling import count_positions

REPOSITORY = Path(__file__).resolve().parents[1]
SAMPLE_DATA = REPOSITORY / "sample_data"
TEST_DATA = REPOSITORY / "tests" / "data"
EXIF_ORIENTATION = TEST_DATA / "exif-orientation"
ODD = TEST_DATA / "odd"

EXIF_ORIENTATION_PHOTOS = sorted(EXIF_ORIENTATION.glob("*.jpg"))
SAMPLE_PHOTOS = sorted(SAMPLE_DATA.glob("*/*.*"))

OUTPUT_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp"}


# Manifest field set. A field added to the manifest must be added here too.
TOP_LEVEL_FIELDS = [
    "format_version",
    "cropaug_version",
    "library_versions",
    "params",
    "classes",
    "images",
    "skipped",
    "failed",
    "totals",
]
# Every option adds a key to `params`, so keys beyond these are accepted.
REQUIRED_PARAMS = {
    "width",
    "height",
    "n",
    "seed",
    "format",
    "quality",
    "subsampling",
    "lossless",
    "background",
    "max_pixels",
}
REQUIRED_IMAGE_FIELDS = {
    "source",
    "class_name",
    "width",
    "height",
    "sha256",
    "format",
    "mode",
    "output_format",
    "output_mode",
    "positions",
    "crops",
}
OPTIONAL_IMAGE_FIELDS = {"frames", "conversion", "requested"}
CROP_FIELDS = ["path", "x", "y", "width", "height"]
TOTALS_FIELDS = ["images", "crops", "skipped", "failed"]


def validate_manifest(manifest: dict) -> None:
    """Assert that a manifest has the documented fields and consistent values."""
    assert list(manifest) == TOP_LEVEL_FIELDS
    assert manifest["format_version"] == 1
    assert manifest["cropaug_version"] == cropaug.__version__
    assert manifest["library_versions"] == {
        "numpy": np.__version__,
        "pillow": PIL.__version__,
        "simplejpeg": simplejpeg.__version__,
    }

    params = manifest["params"]
    assert set(params) >= REQUIRED_PARAMS
    assert isinstance(params["seed"], int)
    assert params["n"] >= 1

    classes = manifest["classes"]
    assert classes == sorted(classes)
    assert len(set(classes)) == len(classes)

    images = manifest["images"]
    sources = [image["source"] for image in images]
    assert sources == sorted(sources)
    assert len(set(sources)) == len(sources)
    for image in images:
        _validate_image(image, params, classes)

    all_paths = [crop["path"] for image in images for crop in image["crops"]]
    assert len(set(all_paths)) == len(all_paths)

    for key, detail in (("skipped", "reason"), ("failed", "error")):
        entries = manifest[key]
        assert all(list(entry) == ["source", detail] for entry in entries)
        assert all(isinstance(entry[detail], str) for entry in entries)
        entry_sources = [entry["source"] for entry in entries]
        assert entry_sources == sorted(entry_sources)

    totals = manifest["totals"]
    assert list(totals) == TOTALS_FIELDS
    assert totals["images"] == len(images)
    assert totals["crops"] == len(all_paths)
    assert totals["skipped"] == len(manifest["skipped"])
    assert totals["failed"] == len(manifest["failed"])


def _validate_image(image: dict, params: dict, classes: list[str]) -> None:
    fields = set(image)
    assert fields >= REQUIRED_IMAGE_FIELDS, image["source"]
    assert fields - REQUIRED_IMAGE_FIELDS <= OPTIONAL_IMAGE_FIELDS, image["source"]
    assert list(image)[-1] == "crops"

    source = PurePosixPath(image["source"])
    assert not source.is_absolute()
    assert ".." not in source.parts
    assert "\\" not in image["source"]
    assert image["class_name"] == source.parts[0]
    assert image["class_name"] in classes
    assert re.fullmatch("[0-9a-f]{64}", image["sha256"])
    assert image["output_format"] in OUTPUT_EXTENSIONS

    width, height = image["width"], image["height"]
    positions = count_positions(width, height, params["width"], params["height"])
    assert image["positions"] == positions
    crops = image["crops"]
    assert len(crops) == min(params["n"], positions)
    if "requested" in image:
        assert image["requested"] == params["n"]
        assert len(crops) < params["n"]
    else:
        assert len(crops) == params["n"]
    if "frames" in image:
        assert image["frames"] > 1

    corners = set()
    extension = OUTPUT_EXTENSIONS[image["output_format"]]
    for crop in crops:
        assert list(crop) == CROP_FIELDS
        assert crop["width"] == params["width"]
        assert crop["height"] == params["height"]
        assert 0 <= crop["x"] <= width - crop["width"]
        assert 0 <= crop["y"] <= height - crop["height"]
        assert crop["path"].startswith(image["class_name"] + "/")
        assert crop["path"].endswith(extension)
        corners.add((crop["x"], crop["y"]))
    assert len(corners) == len(crops)


def check_outputs(manifest: dict, src: Path, dst: Path) -> None:
    """Assert that every recorded crop exists, decodes, and has its recorded size."""
    for image in manifest["images"]:
        data = (src / image["source"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == image["sha256"]
        for crop in image["crops"]:
            with Image.open(dst / crop["path"]) as output:
                output.load()
                assert output.size == (crop["width"], crop["height"])
                assert output.mode == image["output_mode"]
                assert output.format == image["output_format"]


def read_manifest(dst: Path) -> dict:
    """Load DST/manifest.json and validate its field set."""
    manifest = json.loads((dst / "manifest.json").read_text(encoding="utf-8"))
    validate_manifest(manifest)
    return manifest


def open_upright(path: Path) -> Image.Image:
    """Open an image with Pillow alone and turn it upright by its EXIF orientation."""
    with Image.open(path) as image:
        upright = ImageOps.exif_transpose(image)
        upright.load()
    return upright


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Map every file under `root` to its bytes, keyed by POSIX relative path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def build_tree(root: Path, files: dict[str, Path | bytes | Image.Image]) -> Path:
    """Create `root` with one file per entry: a copy, raw bytes or a saved image."""
    root.mkdir(parents=True, exist_ok=True)
    for relative, content in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            content.save(target)
    return root


def build_derived_tree(root: Path, count: int, seed: int) -> dict[str, int]:
    """Write `count` photos cut and rescaled from sample_data into 3 classes.

    About one in eight is smaller than 224 pixels on a side; the first is a
    GIF. Returns how many photos of each format were written.
    """
    rng = np.random.default_rng(seed)
    photos = [open_upright(path).convert("RGB") for path in SAMPLE_PHOTOS]
    formats = {"GIF": 0, "JPEG": 0, "PNG": 0}
    for index in range(count):
        photo = photos[index % len(photos)]
        width, height = photo.size
        cut_width = int(rng.integers(width // 3, width + 1))
        cut_height = int(rng.integers(height // 3, height + 1))
        x = int(rng.integers(0, width - cut_width + 1))
        y = int(rng.integers(0, height - cut_height + 1))
        image = photo.crop((x, y, x + cut_width, y + cut_height))
        scale = 0.2 + 0.3 * rng.random() if index % 8 == 7 else 0.6 + rng.random()
        image = image.resize(
            (max(1, round(cut_width * scale)), max(1, round(cut_height * scale)))
        )
        if index % 4 == 1:
            image = image.convert("L")

        class_name = ("alpha", "beta", "gamma")[index % 3]
        if index == 0:
            image_format, extension = "GIF", ".gif"
        elif index % 2:
            image_format, extension = "PNG", ".png"
        else:
            image_format, extension = "JPEG", ".jpg"
        target = root / class_name / f"photo_{index:04d}{extension}"
        target.parent.mkdir(parents=True, exist_ok=True)
        image.save(target, image_format)
        formats[image_format] += 1
    return formats


@pytest.fixture
def sample_tree(tmp_path: Path) -> Path:
    """A copy of sample_data/ in tmp_path, with its attribution file on top."""
    return Path(shutil.copytree(SAMPLE_DATA, tmp_path / "src"))


@pytest.fixture
def exif_tree(tmp_path: Path) -> Path:
    """The EXIF-orientation photos as two classes, landscape and portrait."""
    files = {}
    for path in EXIF_ORIENTATION_PHOTOS:
        class_name = "landscape" if path.name.startswith("Landscape") else "portrait"
        files[f"{class_name}/{path.name}"] = path
    return build_tree(tmp_path / "src", files)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def invoke(runner: CliRunner):
    """Run `cropaug ARGS...` in-process and return click's result."""

    def run(*args: str | Path):
        arguments = [str(arg) for arg in args]
        return runner.invoke(
            cli, arguments, prog_name="cropaug", catch_exceptions=False
        )

    return run


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
            # A source tree may have a class folder with this name.
            if manifest.is_file():
                assert_manifest_valid(manifest)


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> tuple[Path, Path]:
    """Expand sample_data/ once per session; return (SRC, DST). Copy before changing."""
    from cropaug.expansion import expand

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

    from cropaug.expansion import expand

    root = tmp_path_factory.mktemp("small-run")
    src = root / "src"
    for source in ("scenes/chelsea.png", "scenes/rocket.jpg", "textures/brick.png"):
        (src / source).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SAMPLE_DATA / source, src / source)
    dst = root / "dst"
    expand(src, dst, size=128, n=3, seed=7, workers=1)
    assert_manifest_valid(dst / "manifest.json")
    return src, dst
