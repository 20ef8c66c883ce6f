"""Run every kind of odd and broken image through `cropaug expand`."""

import functools
import gzip
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from imagefiles import (
    ODD,
    animated,
    cmyk_icc_profile,
    crop_box,
    encode,
    make_image,
    open_crop,
    pixels,
    png_header_only,
    rgb_image,
    upright_source,
)
from PIL import ExifTags, Image, ImageCms

from cropaug.cli import cli

ODD_IMAGES = sorted(path for path in ODD.iterdir() if path.suffix != ".md")
ODD_IMAGES = [path for path in ODD_IMAGES if not path.name.startswith("LICENSE")]

LOSSLESS = {"PNG", "BMP"}


def run_expand(src: Path, dst: Path, *options: str):
    """Run the CLI in this process and return the result and the manifest."""
    arguments = ["expand", str(src), str(dst), "--seed", "0", "--workers", "1"]
    result = CliRunner().invoke(cli, [*arguments, "-q", *options])
    manifest_path = dst / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else None
    return result, manifest


def by_source(manifest: dict) -> dict[str, dict]:
    return {image["source"]: image for image in manifest["images"]}


def failures(manifest: dict) -> dict[str, str]:
    return {item["source"]: item["error"] for item in manifest["failed"]}


def odd_tree(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "odd").mkdir(parents=True)
    for path in ODD_IMAGES:
        shutil.copy(path, src / "odd" / path.name)
    return src


def luma(color: tuple[int, int, int]) -> int:
    red, green, blue = color
    return (red * 299 + green * 587 + blue * 114 + 500) // 1000


def expected_pixels(
    source: Image.Image,
    output_mode: str,
    output_format: str,
    background: tuple[int, int, int] = (255, 255, 255),
    icc_profile: bytes | None = None,
) -> np.ndarray:
    """Convert a source by the documented rules, independently of cropaug."""
    mode = source.mode
    if mode.startswith("I;16"):
        values = pixels(source).astype(np.int64)
        if output_mode == "I;16":
            return values
        gray = np.rint(values * 255 / 65535).astype(np.uint8)
        return gray if output_mode == "L" else np.dstack([gray] * 3)
    if mode == "CMYK" and output_mode == "RGB":
        if icc_profile:
            converted = ImageCms.profileToProfile(
                source,
                ImageCms.ImageCmsProfile(io.BytesIO(icc_profile)),
                ImageCms.createProfile("sRGB"),
                outputMode="RGB",
            )
            return pixels(converted)
        return pixels(source.convert("RGB"))
    keeps_key = output_format == "PNG" or "transparency" not in source.info
    if output_mode == mode and keeps_key:
        # The mode is kept, and in PNG a transparent colour key with it.
        return pixels(source)
    has_alpha = mode in ("LA", "RGBA") or "transparency" in source.info
    if has_alpha and output_mode in ("L", "RGB"):
        gray = output_mode == "L"
        with_alpha = pixels(source.convert("LA" if gray else "RGBA")).astype(np.int64)
        fill = np.array([luma(background)] if gray else background)
        alpha = with_alpha[..., -1:]
        blended = (with_alpha[..., :-1] * alpha + fill * (255 - alpha) + 127) // 255
        return blended[..., 0] if gray else blended
    return pixels(source.convert(output_mode))


def assert_crop_matches(
    crop_path: Path, expected: np.ndarray, output_format: str, tolerance: float = 4
):
    """Check a crop's pixels: exact when lossless, else within a mean error."""
    crop = open_crop(crop_path)
    actual = pixels(crop).astype(np.int64)
    expected = expected.astype(np.int64)
    if output_format == "WEBP" and crop.mode == "RGB" and expected.shape[-1] == 4:
        # libwebp leaves out the alpha of a crop whose pixels are all opaque.
        assert np.all(expected[..., 3] == 255), crop_path
        expected = expected[..., :3]
    assert actual.shape == expected.shape, crop_path
    if output_format in LOSSLESS or (
        output_format == "WEBP" and crop.info.get("lossless")
    ):
        assert np.array_equal(actual, expected), crop_path
    else:
        assert np.abs(actual - expected).mean() < tolerance, crop_path


def assert_no_exif(crop_path: Path):
    crop = open_crop(crop_path)
    assert "exif" not in crop.info, crop_path
    assert dict(crop.getexif()) == {}, crop_path


# Expected outcome of each file in tests/data/odd with --format same:
# (output format, output mode, frames, ICC profile expected in the crops).
ODD_CROPPED = {
    "16bit.cropped.tif": ("PNG", "I;16", None, False),
    "exif_gps.jpg": ("JPEG", "RGB", None, False),
    "hopper_gray.jpg": ("JPEG", "L", None, False),
    "hopper_orientation_6.jpg": ("JPEG", "RGB", None, False),
    "icc_profile_big.jpg": ("JPEG", "RGB", None, True),
    "iss634.gif": ("PNG", "P", 42, False),
    "p_trns_single.png": ("PNG", "P", None, False),
    "pil_sample_cmyk.jpg": ("JPEG", "CMYK", None, False),
    "tiny.png": ("PNG", "P", None, False),
    "transparent.png": ("PNG", "RGBA", None, False),
    "uncompressed_la.png": ("PNG", "LA", None, False),
}
ODD_FAILED = {
    "odd/broken.png": "truncated or corrupt PNG header",
    "odd/decompression_bomb.gif": (
        "image is 4364696535 pixels, above --max-pixels (178956970)"
    ),
    "odd/truncated_jpeg.jpg": "truncated JPEG data",
}
ODD_SKIPPED = [
    {
        "source": "odd/orientation_rectangle.jpg",
        "reason": "image is 1x2, smaller than the 4x4 crop",
    }
]


def test_odd_corpus_outcomes(tmp_path):
    src, dst = odd_tree(tmp_path), tmp_path / "dst"
    result, manifest = run_expand(src, dst, "--size", "4", "--n", "3")

    assert result.exit_code == 1
    assert failures(manifest) == ODD_FAILED
    assert manifest["skipped"] == ODD_SKIPPED
    for source, reason in ODD_FAILED.items():
        assert f"failed: {source}: {reason}" in result.stderr
    images = by_source(manifest)
    assert sorted(images) == sorted(f"odd/{name}" for name in ODD_CROPPED)

    for name, (output_format, output_mode, frames, has_icc) in ODD_CROPPED.items():
        image = images[f"odd/{name}"]
        assert image["output_format"] == output_format, name
        assert image["output_mode"] == output_mode, name
        assert image.get("frames") == frames, name
        assert "conversion" not in image, name
        source = upright_source(ODD / name)
        for crop in image["crops"]:
            crop_path = dst / crop["path"]
            expected = pixels(source.crop(crop_box(crop)))
            assert_crop_matches(crop_path, expected, output_format)
            assert open_crop(crop_path).mode == output_mode, name
            assert ("icc_profile" in open_crop(crop_path).info) == has_icc, name
            assert_no_exif(crop_path)


def test_odd_corpus_icc_profile_carried(tmp_path):
    src, dst = odd_tree(tmp_path), tmp_path / "dst"
    source_profile = open_crop(ODD / "icc_profile_big.jpg").info["icc_profile"]
    for output_format in ("jpeg", "png", "webp"):
        out = dst / output_format
        run_expand(src, out, "--size", "16", "--n", "2", "--format", output_format)
        manifest = json.loads((out / "manifest.json").read_text())
        crops = by_source(manifest)["odd/icc_profile_big.jpg"]["crops"]
        for crop in crops:
            assert open_crop(out / crop["path"]).info["icc_profile"] == source_profile


@pytest.mark.parametrize("output_format", ["jpeg", "png", "webp"])
def test_odd_corpus_converted(tmp_path, output_format):
    src, dst = odd_tree(tmp_path), tmp_path / "dst"
    options = ["--size", "4", "--n", "3", "--format", output_format]
    if output_format == "webp":
        options.append("--lossless")
    if output_format == "jpeg":
        # Full-resolution chroma keeps 4x4 crops of saturated colours close.
        options += ["--subsampling", "4:4:4"]
    result, manifest = run_expand(src, dst, *options)

    assert result.exit_code == 1
    assert failures(manifest) == ODD_FAILED
    for image in manifest["images"]:
        assert image["output_format"] == output_format.upper()
        source = upright_source(ODD / Path(image["source"]).name)
        for crop in image["crops"]:
            region = source.crop(crop_box(crop))
            expected = expected_pixels(
                region, image["output_mode"], image["output_format"]
            )
            assert_crop_matches(dst / crop["path"], expected, image["output_format"])
            assert_no_exif(dst / crop["path"])


def test_odd_cmyk_colours_not_inverted(tmp_path):
    src, dst = odd_tree(tmp_path), tmp_path / "dst"
    run_expand(src, dst, "--size", "16", "--n", "4", "--format", "png")
    manifest = json.loads((dst / "manifest.json").read_text())
    image = by_source(manifest)["odd/pil_sample_cmyk.jpg"]
    # The source is an Adobe CMYK JPEG (stored inverted); read upright, its
    # RGB rendering and the crops' must agree, not be negatives.
    source = open_crop(ODD / "pil_sample_cmyk.jpg").convert("RGB")
    assert image["conversion"] == "CMYK converted to RGB"
    for crop in image["crops"]:
        expected = pixels(source.crop(crop_box(crop)))
        assert np.array_equal(pixels(open_crop(dst / crop["path"])), expected)


# Generated sources: kind -> the containers that store it.
GENERATED = {
    "RGB": ["png", "jpg", "webp", "bmp", "tif"],
    "RGBA": ["png", "webp", "tif"],
    "L": ["png", "jpg", "bmp", "tif"],
    "LA": ["png", "tif"],
    "L+transparency": ["png"],
    "RGB+transparency": ["png"],
    "1": ["png", "bmp", "tif"],
    "P": ["png", "gif", "bmp"],
    "P+transparency": ["png", "gif"],
    "CMYK": ["jpg", "tif"],
    "CMYK+icc": ["jpg", "tif"],
    "I;16": ["png", "tif"],
}
CONTAINER_FORMATS = {
    "png": "PNG",
    "jpg": "JPEG",
    "webp": "WEBP",
    "bmp": "BMP",
    "tif": "TIFF",
    "gif": "GIF",
}


def generated_tree(root: Path) -> dict[str, tuple[Image.Image, bytes | None]]:
    """Write one file per (kind, container); return each source's image and ICC."""
    sources = {}
    for kind, containers in GENERATED.items():
        image = make_image(kind.removesuffix("+icc"), 40, 32)
        icc_profile = cmyk_icc_profile() if kind.endswith("+icc") else None
        folder = root / kind.replace(";", "").replace("+", "_")
        folder.mkdir(parents=True)
        for container in containers:
            options: dict = {}
            if icc_profile:
                options["icc_profile"] = icc_profile
            if container == "jpg":
                options["quality"] = 95
            if container == "webp":
                options["lossless"] = True
                options["exact"] = True
            if container == "gif" and "transparency" in image.info:
                # GIF stores one fully transparent index.
                image = make_image("P", 40, 32)
                image.info["transparency"] = 0
            path = folder / f"{kind.replace(';', '')}.{container}"
            path.write_bytes(encode(image, CONTAINER_FORMATS[container], **options))
            decoded = open_crop(path)
            source = f"{folder.name}/{path.name}"
            sources[source] = (decoded, icc_profile)
    return sources


@pytest.mark.parametrize("output_format", ["same", "jpeg", "png", "webp"])
def test_generated_kinds(tmp_path, output_format):
    sources = generated_tree(tmp_path / "src")
    dst = tmp_path / "dst"
    options = ["--size", "16", "--n", "3", "--format", output_format]
    if output_format == "webp":
        options.append("--lossless")
    # JPEG crops at full quality and chroma resolution stay within about one
    # level of the source, so a misplaced or miscoloured crop cannot pass.
    options += ["--quality", "100", "--subsampling", "4:4:4"]
    result, manifest = run_expand(tmp_path / "src", dst, *options)

    assert result.exit_code == 0, result.output
    images = by_source(manifest)
    assert sorted(images) == sorted(sources)
    for source, (decoded, icc_profile) in sources.items():
        image = images[source]
        assert image["mode"] == decoded.mode, source
        crops = image["crops"]
        assert len(crops) == 3, source
        for crop in crops:
            crop_path = dst / crop["path"]
            region = decoded.crop(crop_box(crop))
            expected = expected_pixels(
                region,
                image["output_mode"],
                image["output_format"],
                icc_profile=icc_profile,
            )
            if image["output_format"] != "WEBP":
                assert open_crop(crop_path).mode == image["output_mode"], source
            assert_crop_matches(crop_path, expected, image["output_format"], 1.5)
            assert_no_exif(crop_path)
            keeps_key = image["output_format"] == "PNG"
            if (
                keeps_key
                and image["output_mode"] == decoded.mode
                and "transparency" in decoded.info
            ):
                crop_key = open_crop(crop_path).info["transparency"]
                assert crop_key == decoded.info["transparency"], source
            if icc_profile and image["output_mode"] == "RGB":
                assert open_crop(crop_path).info["icc_profile"][16:20] == b"RGB "


def test_generated_same_format_choices(tmp_path):
    sources = generated_tree(tmp_path / "src")
    _, manifest = run_expand(
        tmp_path / "src", tmp_path / "dst", "--size", "16", "--n", "1"
    )
    choices = {
        source: (image["output_format"], image["output_mode"])
        for source, image in by_source(manifest).items()
    }
    assert set(choices) == set(sources)
    assert choices["I16/I16.tif"] == ("PNG", "I;16")
    assert choices["I16/I16.png"] == ("PNG", "I;16")
    assert choices["RGBA/RGBA.webp"] == ("PNG", "RGBA")
    assert choices["P_transparency/P+transparency.gif"] == ("PNG", "P")
    assert choices["CMYK/CMYK.jpg"] == ("JPEG", "CMYK")
    assert choices["CMYK_icc/CMYK+icc.tif"] == ("PNG", "RGB")
    assert choices["1/1.bmp"] == ("BMP", "1")
    assert choices["LA/LA.tif"] == ("PNG", "LA")


def test_generated_sixteen_bit_kept_in_png(tmp_path):
    (tmp_path / "src" / "scans").mkdir(parents=True)
    source = make_image("I;16", 40, 32)
    (tmp_path / "src" / "scans" / "scan.tif").write_bytes(encode(source, "TIFF"))
    dst = tmp_path / "dst"
    _, manifest = run_expand(
        tmp_path / "src", dst, "--size", "40x32", "--n", "1", "--format", "png"
    )
    image = manifest["images"][0]
    assert image["output_mode"] == "I;16"
    crop = open_crop(dst / image["crops"][0]["path"])
    assert np.array_equal(pixels(crop), pixels(source))
    assert pixels(crop).max() == 65535


def test_generated_animations(tmp_path):
    folder = tmp_path / "src" / "moving"
    folder.mkdir(parents=True)
    for name, format in [
        ("a.gif", "GIF"),
        ("b.png", "PNG"),
        ("c.webp", "WEBP"),
        ("d.tif", "TIFF"),
    ]:
        (folder / name).write_bytes(animated(format))
    (folder / "e.jpg").write_bytes(animated("MPO"))
    dst = tmp_path / "dst"
    result, manifest = run_expand(tmp_path / "src", dst, "--size", "8", "--n", "2")

    assert result.exit_code == 0
    images = by_source(manifest)
    assert {source: image["frames"] for source, image in images.items()} == {
        "moving/a.gif": 3,
        "moving/b.png": 3,
        "moving/c.webp": 3,
        "moving/d.tif": 3,
        "moving/e.jpg": 3,
    }
    assert images["moving/e.jpg"]["format"] == "MPO"
    assert images["moving/e.jpg"]["output_format"] == "JPEG"
    for source, image in images.items():
        first = open_crop(tmp_path / "src" / source)
        for crop in image["crops"]:
            expected = pixels(first.crop(crop_box(crop)))
            assert_crop_matches(dst / crop["path"], expected, image["output_format"])


@functools.cache
def broken_files() -> dict[str, tuple[bytes, str]]:
    """Return broken sources by name, with the failure reason each must give."""
    jpeg = encode(rgb_image(96, 64), "JPEG")
    png = encode(rgb_image(96, 64), "PNG")
    gif = encode(rgb_image(96, 64), "GIF")
    tiff = encode(rgb_image(96, 64), "TIFF")
    webp = encode(rgb_image(96, 64), "WEBP")
    return {
        "cut_header.jpg": (jpeg[:30], "truncated JPEG header"),
        "cut_half.jpg": (jpeg[: len(jpeg) // 2], "truncated JPEG data"),
        "cut_end.jpg": (jpeg[:-2], "truncated JPEG data"),
        "cut_header.png": (png[:30], "truncated or corrupt PNG header"),
        "cut_half.png": (png[: len(png) // 2], "truncated PNG data"),
        "cut_header.gif": (gif[:30], "truncated or corrupt GIF header"),
        "cut_half.gif": (gif[: len(gif) // 2], "truncated GIF data"),
        "cut_header.tif": (tiff[:30], "truncated or corrupt TIFF header"),
        "cut_half.tif": (tiff[: len(tiff) // 2], "truncated TIFF data"),
        "cut_header.webp": (webp[:30], "truncated WEBP data"),
        "cut_half.webp": (webp[: len(webp) // 2], "truncated WEBP data"),
        "empty.jpg": (b"", "empty file"),
        "empty.png": (b"", "empty file"),
        "z.jpg": (gzip.compress(b"a compressed text file\n" * 40), "not an image"),
        "notes.png": (b"plain text with an image extension\n", "not an image"),
        "bomb.png": (
            png_header_only(20000, 20000),
            "image is 400000000 pixels, above --max-pixels (178956970)",
        ),
    }


def good_files() -> dict[str, bytes]:
    return {
        "x.jpg": encode(rgb_image(40, 32), "PNG"),
        "photo.jpg": encode(rgb_image(40, 32), "JPEG"),
        "logo.png": encode(make_image("RGBA", 40, 32), "PNG"),
        "anim.gif": animated("GIF"),
        "scan.tif": encode(make_image("I;16", 40, 32), "TIFF"),
    }


def mixed_tree(root: Path) -> None:
    for class_name in ("cats", "dogs"):
        folder = root / class_name
        folder.mkdir(parents=True)
        for name, data in good_files().items():
            (folder / name).write_bytes(data)
        for name, (data, _) in broken_files().items():
            (folder / name).write_bytes(data)


def test_lying_extensions(tmp_path):
    folder = tmp_path / "src" / "misc"
    folder.mkdir(parents=True)
    (folder / "x.jpg").write_bytes(encode(rgb_image(40, 32), "PNG"))
    (folder / "z.jpg").write_bytes(gzip.compress(b"a compressed text file\n" * 40))
    dst = tmp_path / "dst"
    result, manifest = run_expand(tmp_path / "src", dst, "--size", "8", "--n", "2")

    assert result.exit_code == 1
    assert failures(manifest) == {"misc/z.jpg": "not an image"}
    image = by_source(manifest)["misc/x.jpg"]
    assert image["format"] == "PNG"
    assert image["output_format"] == "PNG"
    assert [crop["path"] for crop in image["crops"]] == [
        "misc/x_c00.png",
        "misc/x_c01.png",
    ]
    assert sorted(path.name for path in (dst / "misc").iterdir()) == [
        "x_c00.png",
        "x_c01.png",
    ]


def test_mixed_tree_two_workers(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    mixed_tree(src)
    runner = CliRunner()
    arguments = ["expand", str(src), str(dst), "--size", "8", "--n", "2", "--seed", "0"]
    result = runner.invoke(cli, [*arguments, "--workers", "2", "-q"])
    manifest = json.loads((dst / "manifest.json").read_text())

    assert result.exit_code == 1
    expected_failures = {
        f"{class_name}/{name}": reason
        for class_name in ("cats", "dogs")
        for name, (_, reason) in broken_files().items()
    }
    assert failures(manifest) == expected_failures
    for source, reason in expected_failures.items():
        assert f"failed: {source}: {reason}" in result.stderr
    assert "Traceback" not in result.output
    assert sorted(by_source(manifest)) == sorted(
        f"{class_name}/{name}"
        for class_name in ("cats", "dogs")
        for name in good_files()
    )

    written = sorted(
        str(path.relative_to(dst)) for path in dst.rglob("*") if path.is_file()
    )
    listed = sorted(
        crop["path"] for image in manifest["images"] for crop in image["crops"]
    )
    assert written == sorted([*listed, "manifest.json"])
    assert len(listed) == 2 * len(good_files()) * 2


def test_mixed_tree_same_bytes_one_or_two_workers(tmp_path):
    src = tmp_path / "src"
    mixed_tree(src)
    outputs = {}
    for workers in ("1", "2"):
        dst = tmp_path / f"dst{workers}"
        arguments = ["expand", str(src), str(dst), "--size", "8", "--n", "2"]
        arguments += ["--seed", "0", "--resize", "20", "--workers", workers, "-q"]
        CliRunner().invoke(cli, arguments)
        outputs[workers] = {
            str(path.relative_to(dst)): path.read_bytes()
            for path in sorted(dst.rglob("*"))
            if path.is_file()
        }
    assert outputs["1"] == outputs["2"]


def small_tree(root: Path) -> None:
    folder = root / "small"
    folder.mkdir(parents=True)
    (folder / "wide.png").write_bytes(encode(rgb_image(30, 10), "PNG"))
    (folder / "clear.png").write_bytes(encode(make_image("RGBA", 10, 10), "PNG"))
    (folder / "big.png").write_bytes(encode(rgb_image(40, 40), "PNG"))


def test_small_skip_default(tmp_path):
    small_tree(tmp_path / "src")
    result, manifest = run_expand(
        tmp_path / "src", tmp_path / "dst", "--size", "16", "--n", "1"
    )
    assert result.exit_code == 0
    assert manifest["skipped"] == [
        {
            "source": "small/clear.png",
            "reason": "image is 10x10, smaller than the 16x16 crop",
        },
        {
            "source": "small/wide.png",
            "reason": "image is 30x10, smaller than the 16x16 crop",
        },
    ]
    assert "small" not in by_source(manifest)["small/big.png"]


def test_small_error(tmp_path):
    small_tree(tmp_path / "src")
    options = ["--size", "16", "--n", "1", "--small", "error"]
    result, manifest = run_expand(tmp_path / "src", tmp_path / "dst", *options)

    assert result.exit_code == 1
    assert failures(manifest)["small/wide.png"] == (
        "image is 30x10, smaller than the 16x16 crop; "
        "pass --small pad or --small upscale to crop it"
    )
    assert not list((tmp_path / "dst" / "small").glob("wide*"))


def test_small_pad(tmp_path):
    small_tree(tmp_path / "src")
    dst = tmp_path / "dst"
    options = ["--size", "16", "--n", "5", "--small", "pad", "--background", "#102030"]
    result, manifest = run_expand(tmp_path / "src", dst, *options)

    assert result.exit_code == 0
    wide = by_source(manifest)["small/wide.png"]
    assert (wide["width"], wide["height"]) == (30, 16)
    assert (wide["original_width"], wide["original_height"]) == (30, 10)
    assert (wide["small"], wide["pad_x"], wide["pad_y"]) == ("pad", 0, 3)
    canvas = np.zeros((16, 30, 3), dtype=np.uint8)
    canvas[:] = (0x10, 0x20, 0x30)
    canvas[3:13] = pixels(rgb_image(30, 10))
    for crop in wide["crops"]:
        expected = canvas[crop["y"] : crop["y"] + 16, crop["x"] : crop["x"] + 16]
        assert np.array_equal(pixels(open_crop(dst / crop["path"])), expected)

    clear = by_source(manifest)["small/clear.png"]
    crop = open_crop(dst / clear["crops"][0]["path"])
    assert crop.mode == "RGBA"
    assert crop.getpixel((0, 0)) == (0x10, 0x20, 0x30, 0)


def test_small_upscale(tmp_path):
    small_tree(tmp_path / "src")
    dst = tmp_path / "dst"
    result, manifest = run_expand(
        tmp_path / "src", dst, "--size", "16", "--n", "2", "--small", "upscale"
    )
    assert result.exit_code == 0
    wide = by_source(manifest)["small/wide.png"]
    assert (wide["width"], wide["height"]) == (48, 16)
    assert wide["small"] == "upscale"
    upscaled = rgb_image(30, 10).resize((48, 16), Image.Resampling.LANCZOS)
    for crop in wide["crops"]:
        expected = pixels(upscaled.crop(crop_box(crop)))
        assert np.array_equal(pixels(open_crop(dst / crop["path"])), expected)


def test_resize_records_sizes(tmp_path):
    folder = tmp_path / "src" / "photos"
    folder.mkdir(parents=True)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    source = rgb_image(800, 600)
    (folder / "turned.jpg").write_bytes(
        encode(source, "JPEG", quality=95, exif=exif.tobytes())
    )
    (folder / "flat.png").write_bytes(encode(source, "PNG"))
    dst = tmp_path / "dst"
    options = ["--size", "64", "--n", "3", "--resize", "100", "--format", "png"]
    result, manifest = run_expand(tmp_path / "src", dst, *options)

    assert result.exit_code == 0
    assert manifest["params"]["resize"] == 100
    turned = by_source(manifest)["photos/turned.jpg"]
    assert (turned["original_width"], turned["original_height"]) == (600, 800)
    assert (turned["resized_width"], turned["resized_height"]) == (100, 133)
    assert (turned["width"], turned["height"]) == (100, 133)
    assert turned["draft_scale"] == 4

    flat = by_source(manifest)["photos/flat.png"]
    assert (flat["width"], flat["height"]) == (133, 100)
    assert "draft_scale" not in flat
    resized = source.resize((133, 100), Image.Resampling.LANCZOS)
    for crop in flat["crops"]:
        expected = pixels(resized.crop(crop_box(crop)))
        assert np.array_equal(pixels(open_crop(dst / crop["path"])), expected)


def test_keep_exif(tmp_path):
    folder = tmp_path / "src" / "odd"
    folder.mkdir(parents=True)
    for name in ("exif_gps.jpg", "hopper_orientation_6.jpg"):
        shutil.copy(ODD / name, folder / name)
    dst = tmp_path / "dst"
    result, manifest = run_expand(
        tmp_path / "src", dst, "--size", "4", "--n", "1", "--keep-exif"
    )
    assert result.exit_code == 0
    images = by_source(manifest)
    gps_crop = open_crop(dst / images["odd/exif_gps.jpg"]["crops"][0]["path"])
    assert images["odd/exif_gps.jpg"]["exif"] == "copied"
    assert gps_crop.getexif().get_ifd(ExifTags.IFD.GPSInfo) != {}
    turned = open_crop(dst / images["odd/hopper_orientation_6.jpg"]["crops"][0]["path"])
    assert ExifTags.Base.Orientation not in turned.getexif()
    assert manifest["params"]["keep_exif"] is True


def test_keep_exif_corrupt_block(tmp_path):
    folder = tmp_path / "src" / "photos"
    folder.mkdir(parents=True)
    # IFD0 claims five entries but contains one: Orientation 6, which applies.
    exif = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12\x00\x03"
    exif += b"\x00\x00\x00\x01\x00\x06\x00\x00"
    (folder / "a.jpg").write_bytes(encode(rgb_image(30, 20), "JPEG", exif=exif))
    dst = tmp_path / "dst"
    result, manifest = run_expand(
        tmp_path / "src", dst, "--size", "8", "--n", "2", "--keep-exif"
    )
    image = manifest["images"][0]
    assert result.exit_code == 0
    assert image["exif"] == "not copied: corrupt EXIF"
    assert (image["width"], image["height"]) == (20, 30)
    for crop in image["crops"]:
        assert_no_exif(dst / crop["path"])


def test_default_copies_no_gps(tmp_path):
    folder = tmp_path / "src" / "odd"
    folder.mkdir(parents=True)
    shutil.copy(ODD / "exif_gps.jpg", folder / "exif_gps.jpg")
    dst = tmp_path / "dst"
    _, manifest = run_expand(tmp_path / "src", dst, "--size", "4", "--n", "3")
    for crop in manifest["images"][0]["crops"]:
        assert_no_exif(dst / crop["path"])
    assert "exif" not in manifest["images"][0]
