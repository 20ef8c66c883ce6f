"""Tests for cropaug.preview, cropaug.drawing and `cropaug preview`."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from mode_runs import CROP, MODE_OPTIONS, SEED, build_sources, run_mode
from PIL import Image

from cropaug.boxes import Box, box_from_record
from cropaug.cli import cli
from cropaug.drawing import (
    MARGIN,
    OUTLINE_WIDTH,
    display_box,
    draw_preview,
    fit_scale,
)
from cropaug.errors import InvalidParameterError
from cropaug.expansion import expand
from cropaug.preview import (
    preview_sample,
    preview_sample_sheet,
    render_preview,
    save_png,
    seed_path,
)
from cropaug.preview_data import (
    expand_options,
    preview_settings,
    reconstruct,
    sampled_boxes,
)
from cropaug.preview_manifest import preview_recorded, preview_recorded_sheet

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"
ODD_DATA = Path(__file__).resolve().parent / "data" / "odd"
# Label tags cover the top-left corner of each box; outline checks skip them.
LABEL_CLEARANCE = 40


def outline_pixels(picture, box) -> list[tuple[int, int]]:
    """Return the outermost ring of a box's outline in picture pixels."""
    left, top, right, bottom = display_box(box, picture.origin, picture.scale)
    ring = [(x, top) for x in range(left, right + 1)]
    ring += [(x, bottom) for x in range(left, right + 1)]
    ring += [(left, y) for y in range(top + 1, bottom)]
    ring += [(right, y) for y in range(top + 1, bottom)]
    return [
        (x, y)
        for x, y in ring
        if not (x < left + LABEL_CLEARANCE and y < top + LABEL_CLEARANCE)
    ]


def outline_share(picture, box, color) -> float:
    """Return the share of a box's outline pixels that have its colour."""
    pixels = outline_pixels(picture, box)
    matching = sum(picture.image.getpixel(xy) == color for xy in pixels)
    return matching / len(pixels)


def recorded_boxes(dst: Path, source: str) -> list[tuple[int, int, int, int]]:
    manifest = json.loads((dst / "manifest.json").read_text())
    image = next(i for i in manifest["images"] if i["source"] == source)
    return [(c["x"], c["y"], c["width"], c["height"]) for c in image["crops"]]


@pytest.fixture(scope="module")
def rocket_run(tmp_path_factory) -> tuple[Path, Path]:
    """Expand the rocket photo alone, 10 crops of 224 with seed 0."""
    root = tmp_path_factory.mktemp("rocket")
    (root / "src" / "scenes").mkdir(parents=True)
    shutil.copyfile(
        SAMPLE_DATA / "scenes" / "rocket.jpg", root / "src" / "scenes" / "rocket.jpg"
    )
    expand(root / "src", root / "dst", size=224, n=10, seed=0, workers=1)
    return root / "src", root / "dst"


def test_seed_path_uses_folder_and_name():
    assert seed_path(Path("/data/photos/cats/a.jpg")) == "cats/a.jpg"


def test_preview_sample_boxes_match_expand(rocket_run):
    _, dst = rocket_run
    boxes = recorded_boxes(dst, "scenes/rocket.jpg")

    picture = preview_sample(
        SAMPLE_DATA / "scenes" / "rocket.jpg",
        "scenes/rocket.jpg",
        preview_settings((224, 224), 10, 0),
    )

    assert picture.scale == 1.0
    assert picture.image.width == 640 + 2 * MARGIN
    for index, box in enumerate(boxes):
        assert outline_share(picture, box, picture.colors[index]) > 0.5, index


def test_preview_sample_shows_source_pixels(rocket_run):
    with Image.open(SAMPLE_DATA / "scenes" / "rocket.jpg") as source:
        source = source.convert("RGB")
    box = recorded_boxes(rocket_run[1], "scenes/rocket.jpg")[9]

    picture = preview_sample(
        SAMPLE_DATA / "scenes" / "rocket.jpg",
        "scenes/rocket.jpg",
        preview_settings((224, 224), 10, 0),
    )

    x, y = box[0] + 100, box[1] + 100
    left, top = picture.origin
    assert picture.image.getpixel((left + x, top + y)) == source.getpixel((x, y))


def test_preview_single_box_outline_complete():
    settings = preview_settings((200, 120), 1, 4)
    (drawn,) = sampled_boxes((512, 512), "textures/brick.png", settings)
    box = (drawn.x, drawn.y, drawn.width, drawn.height)

    picture = preview_sample(
        SAMPLE_DATA / "textures" / "brick.png", "textures/brick.png", settings
    )

    colors = {picture.image.getpixel(xy) for xy in outline_pixels(picture, box)}
    assert colors == {picture.colors[0]}
    _, top, right, bottom = display_box(box, picture.origin, picture.scale)
    innermost = (right - OUTLINE_WIDTH + 1, (top + bottom) // 2)
    assert picture.image.getpixel(innermost) == picture.colors[0]


def test_preview_recorded_with_source(rocket_run):
    src, dst = rocket_run
    boxes = recorded_boxes(dst, "scenes/rocket.jpg")

    picture = preview_recorded(dst / "manifest.json", "scenes/rocket.jpg", src)

    for index, box in enumerate(boxes):
        assert outline_share(picture, box, picture.colors[index]) > 0.5, index


def test_preview_recorded_without_source(rocket_run):
    _, dst = rocket_run
    boxes = recorded_boxes(dst, "scenes/rocket.jpg")

    picture = preview_recorded(dst / "manifest.json", "scenes/rocket.jpg", None)

    assert picture.image.width == 640 + 2 * MARGIN
    for index, box in enumerate(boxes):
        assert outline_share(picture, box, picture.colors[index]) > 0.5, index


def test_reconstruct_pastes_crops_at_boxes():
    first = Image.new("RGB", (4, 3), (10, 20, 30))
    second = Image.new("RGB", (4, 3), (200, 100, 0))

    canvas = reconstruct(
        (10, 8), [Box(1, 1, 4, 3), Box(5, 4, 4, 3)], [first, second], 1.0
    )

    assert canvas.getpixel((1, 1)) == (10, 20, 30)
    assert canvas.getpixel((8, 6)) == (200, 100, 0)
    assert canvas.getpixel((0, 0)) == (200, 200, 196)


def test_preview_tiny_image_enlarged():
    picture = preview_sample(
        ODD_DATA / "tiny.png",
        "odd/tiny.png",
        preview_settings((3, 3), 4, 1, min_shift=1),
    )

    assert picture.scale == 180.0
    assert len(picture.colors) == 4


def test_fit_scale_whole_factor_up_fraction_down():
    assert fit_scale((100, 50), (1024, 720)) == 10.0
    assert fit_scale((2048, 1024), (1024, 720)) == 0.5


def test_save_png_decodes_with_size(tmp_path):
    picture = preview_sample(
        SAMPLE_DATA / "scenes" / "chelsea.png",
        "scenes/chelsea.png",
        preview_settings((128, 128), 3, 0),
    )
    path = tmp_path / "preview.png"

    save_png(picture.image, path)

    with Image.open(path) as written:
        written.load()
        assert written.format == "PNG"
        assert written.size == picture.image.size
        assert np.array_equal(np.asarray(written), np.asarray(picture.image))


def test_sample_sheet_one_cell_per_source():
    sheet = preview_sample_sheet(
        SAMPLE_DATA, preview_settings((160, 160), 5, 3), max_images=6
    )

    assert sheet.mode == "RGB"
    assert sheet.width == 4 * (280 + 16) - 16 + 2 * MARGIN
    assert sheet.height > 2 * 280


def test_recorded_sheet_without_source(rocket_run):
    _, dst = rocket_run

    sheet = preview_recorded_sheet(dst / "manifest.json", None, max_images=24)

    assert sheet.width == 480
    assert sheet.height > 280


def test_cli_preview_image_writes_png(tmp_path):
    output = tmp_path / "a.png"

    result = CliRunner().invoke(
        cli,
        [
            "preview",
            str(SAMPLE_DATA / "scenes" / "coffee.png"),
            "--size",
            "200x150",
            "--n",
            "6",
            "--seed",
            "1",
            "-o",
            str(output),
        ],
    )

    assert result.exit_code == 0
    with Image.open(output) as written:
        size = written.size
        assert written.format == "PNG"
    assert result.output == f"wrote {output} ({size[0]}x{size[1]})\n"


def test_cli_preview_manifest_grid(rocket_run, tmp_path):
    src, dst = rocket_run
    output = tmp_path / "sheet.png"

    result = CliRunner().invoke(
        cli, ["preview", str(dst), "--grid", "--source", str(src), "-o", str(output)]
    )

    assert result.exit_code == 0
    with Image.open(output) as written:
        assert written.format == "PNG"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["{dst}", "--image", "scenes/rocket.jpg", "--size", "64"],
            "Error: --size, --n, --seed, --mode and the other box options apply to "
            "images and SRC folders; a manifest's boxes are already recorded",
        ),
        (
            ["{dst}"],
            "Error: pass --image SOURCE to preview one source of the manifest, "
            "or --grid",
        ),
        (
            ["{src}/scenes/rocket.jpg", "--n", "3", "--seed", "0"],
            "Error: pass --size and --n to preview the crops expand would cut",
        ),
        (
            ["{src}", "--size", "64", "--n", "3", "--seed", "0"],
            "Error: {src} is a folder; pass --image SOURCE (relative to it) or --grid",
        ),
        (
            [
                "{src}/scenes/rocket.jpg",
                "--size",
                "64",
                "--n",
                "3",
                "--grid",
                "--seed",
                "0",
            ],
            "Error: --image and --grid apply to folders and manifests, not to an image",
        ),
    ],
    ids=["size-with-manifest", "manifest-alone", "no-size", "folder-alone", "grid"],
)
def test_cli_preview_usage_errors(rocket_run, tmp_path, arguments, message):
    src, dst = rocket_run
    filled = [a.format(src=src, dst=dst) for a in arguments]

    result = CliRunner().invoke(
        cli, ["preview", *filled, "-o", str(tmp_path / "x.png")]
    )

    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == message.format(src=src)
    assert not (tmp_path / "x.png").exists()


def test_preview_nested_source_seeds_like_expand(tmp_path):
    src = tmp_path / "src"
    (src / "scenes" / "nested").mkdir(parents=True)
    shutil.copyfile(
        SAMPLE_DATA / "scenes" / "chelsea.png", src / "scenes" / "nested" / "c.png"
    )
    expand(src, tmp_path / "dst", size=96, n=4, seed=9, workers=1)
    boxes = recorded_boxes(tmp_path / "dst", "scenes/nested/c.png")

    picture = preview_sample(
        src / "scenes" / "nested" / "c.png",
        "scenes/nested/c.png",
        preview_settings((96, 96), 4, 9),
    )
    rendered = render_preview(
        src, image="scenes/nested/c.png", size=(96, 96), n=4, seed=9
    )

    for index, box in enumerate(boxes):
        assert outline_share(picture, box, picture.colors[index]) > 0.5, index
    assert np.array_equal(np.asarray(rendered), np.asarray(picture.image))


@pytest.fixture(scope="module")
def mode_sources(tmp_path_factory) -> tuple[Path, Path]:
    """The crop-mode test sources and their label masks: (SRC, MASK_ROOT)."""
    return build_sources(tmp_path_factory.mktemp("mode-sources"))


@pytest.mark.parametrize("mode", list(MODE_OPTIONS))
def test_sampled_boxes_match_expand(mode_sources, tmp_path, mode):
    src, _ = mode_sources
    run_mode(src, tmp_path / "dst", mode, min_shift=3)
    manifest = json.loads((tmp_path / "dst" / "manifest.json").read_text())
    options = {"mode": mode, "min_shift": 3, **MODE_OPTIONS[mode]}
    n = options.pop("n", None)
    settings = preview_settings(CROP, n, SEED, **options)

    for image in manifest["images"]:
        size = (image["width"], image["height"])
        recorded = [box_from_record(crop) for crop in image["crops"]]
        assert sampled_boxes(size, image["source"], settings) == recorded


def test_sampled_boxes_skip_small_fixed_size(mode_sources):
    settings = preview_settings(CROP, 3, SEED)

    assert sampled_boxes((12, 10), "dogs/d.png", settings) == []


def test_preview_settings_n_with_five_rejected():
    with pytest.raises(InvalidParameterError) as raised:
        preview_settings(CROP, 3, SEED, mode="five")

    assert str(raised.value) == (
        "mode 'five' writes 5 crops per image, so n=3 does not apply; leave n out"
    )


def test_expand_options_lists_non_defaults():
    settings = preview_settings(
        (224, 160), 10, 0, mode="resized", ratio=(3 / 4, 4 / 3), hflip=0.5
    )

    assert expand_options(settings) == (
        "--size 224x160 --n 10 --seed 0 --mode resized --hflip 0.5"
    )


def test_expand_options_fraction_and_stride():
    settings = preview_settings(
        (32, 32), 4, 1, mode="grid", ratio=(2 / 3, 3 / 2), stride=(10, 9)
    )

    assert expand_options(settings) == (
        "--size 32x32 --n 4 --seed 1 --mode grid --ratio 2/3 1.5 --stride 10x9"
    )


def test_draw_preview_marks_flipped_label():
    source = Image.new("RGB", (120, 90), (90, 90, 90))
    boxes = [(10, 10, 60, 40), (50, 40, 60, 40)]
    crops = [Image.new("RGB", (60, 40), (90, 90, 90))] * 2

    plain = draw_preview(source, source.size, boxes, crops, "t", "c", [False, False])
    marked = draw_preview(source, source.size, boxes, crops, "t", "c", [False, True])

    differing = np.argwhere(
        np.any(np.asarray(plain.image) != np.asarray(marked.image), axis=2)
    )
    # Only the second box's label changes: at its corner on the source, and
    # under its thumbnail below the source.
    left, top, _, _ = display_box(boxes[1], plain.origin, plain.scale)
    panel_bottom = plain.origin[1] + round(source.height * plain.scale)
    on_source = [(y, x) for y, x in differing if y < panel_bottom]
    below = [(y, x) for y, x in differing if y >= panel_bottom]
    assert on_source
    assert below
    assert all(left <= x < left + LABEL_CLEARANCE for _, x in on_source)
    assert all(top <= y < top + LABEL_CLEARANCE for y, _ in on_source)


def test_reconstruct_mirrors_flipped_crop_back():
    crop = Image.new("RGB", (4, 2), (0, 0, 0))
    crop.putpixel((0, 0), (255, 0, 0))

    canvas = reconstruct((6, 4), [Box(1, 1, 4, 2, flipped=True)], [crop], 1.0)

    assert canvas.getpixel((4, 1)) == (255, 0, 0)
    assert canvas.getpixel((1, 1)) == (0, 0, 0)


def test_preview_recorded_resized_boxes(mode_sources, tmp_path):
    src, _ = mode_sources
    dst = tmp_path / "dst"
    run_mode(src, dst, "resized")
    manifest = json.loads((dst / "manifest.json").read_text())
    image = next(i for i in manifest["images"] if i["source"] == "cats/a.png")
    boxes = [(c["x"], c["y"], c["width"], c["height"]) for c in image["crops"]]

    picture = preview_recorded(dst / "manifest.json", "cats/a.png", src)

    assert len({box[2:] for box in boxes}) > 1
    for index, box in enumerate(boxes):
        assert outline_share(picture, box, picture.colors[index]) > 0.5, index


def test_cli_preview_image_mode_options(tmp_path):
    output = tmp_path / "a.png"

    result = CliRunner().invoke(
        cli,
        [
            "preview", str(SAMPLE_DATA / "scenes" / "coffee.png"), "--size", "96",
            "--n", "6", "--seed", "1", "--mode", "resized", "--scale", "0.1",
            "0.5", "--ratio", "3/4", "4/3", "--hflip", "0.5", "--min-shift",
            "4", "-o", str(output),
        ],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    with Image.open(output) as written:
        assert written.format == "PNG"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["{dst}", "--image", "scenes/rocket.jpg", "--mode", "five"],
            "Error: --size, --n, --seed, --mode and the other box options apply to "
            "images and SRC folders; a manifest's boxes are already recorded",
        ),
        (
            ["{image}", "--size", "64", "--mode", "five", "--n", "3"],
            "Error: mode 'five' writes 5 crops per image, so n=3 does not apply; "
            "leave n out",
        ),
        (
            ["{image}", "--mode", "center"],
            "Error: pass --size to preview the crops expand would cut",
        ),
        (
            ["{image}", "--size", "64", "--n", "2", "--mode", "ten", "--hflip", "1"],
            "Error: mode 'ten' writes 10 crops per image, so n=2 does not apply; "
            "leave n out",
        ),
    ],
    ids=["mode-with-manifest", "n-with-five", "no-size", "ten-n"],
)
def test_cli_preview_mode_usage_errors(rocket_run, tmp_path, arguments, message):
    src, dst = rocket_run
    image = src / "scenes" / "rocket.jpg"
    filled = [a.format(dst=dst, image=image) for a in arguments]

    result = CliRunner().invoke(
        cli, ["preview", *filled, "--seed", "0", "-o", str(tmp_path / "x.png")]
    )

    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == message
    assert not (tmp_path / "x.png").exists()


def test_boxes_on_one_rectangle_share_colour():
    from cropaug.drawing import _color_indexes

    boxes = [(0, 0, 2, 2), (1, 1, 3, 3), (0, 0, 2, 2), (1, 1, 3, 3)]

    assert _color_indexes(boxes) == [0, 1, 0, 1]
