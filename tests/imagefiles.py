"""Build test images of every mode and container, and read crops back.

Everything is generated with Pillow from fixed seeds, so the tests read no
file outside the repository.
"""

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps

DATA = Path(__file__).parent / "data"
ODD = DATA / "odd"


def encode(image: Image.Image, format: str, **options) -> bytes:
    """Return the bytes of `image` saved in `format`."""
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def pixels(image: Image.Image) -> np.ndarray:
    """Return the pixels of an image as a numpy array."""
    return np.asarray(image)


def rgb_image(width: int = 48, height: int = 40, seed: int = 0) -> Image.Image:
    """Return an RGB image of smooth gradients with some noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    red = x * 255 // max(1, width - 1)
    green = y * 255 // max(1, height - 1)
    blue = (x * 7 + y * 5) % 256
    stacked = np.dstack([red, green, blue]) + rng.integers(-8, 9, (height, width, 3))
    return Image.fromarray(np.clip(stacked, 0, 255).astype(np.uint8))


def alpha_channel(width: int, height: int) -> np.ndarray:
    """Return an alpha channel with every value from fully clear to opaque."""
    y, x = np.mgrid[0:height, 0:width]
    return ((x * 31 + y * 17) % 256).astype(np.uint8)


def make_image(kind: str, width: int = 48, height: int = 40) -> Image.Image:
    """Return a test image of one kind: a Pillow mode, or a mode plus a variant."""
    rgb = rgb_image(width, height)
    if kind == "RGB":
        return rgb

    if kind == "RGBA":
        return Image.fromarray(np.dstack([pixels(rgb), alpha_channel(width, height)]))
    if kind == "L":
        return rgb.convert("L")
    if kind == "LA":
        gray = pixels(rgb.convert("L"))
        return Image.fromarray(np.dstack([gray, alpha_channel(width, height)]), "LA")

    if kind == "1":
        return rgb.convert("L").point(lambda value: 255 if value > 127 else 0, "1")

    if kind == "P":
        return rgb.quantize(64, dither=Image.Dither.NONE)
    if kind == "P+transparency":
        palette_image = rgb.quantize(64, dither=Image.Dither.NONE)
        # Index 0 fully clear and index 1 half clear, the rest opaque.
        palette_image.info["transparency"] = bytes([0, 128] + [255] * 62)
        return palette_image

    if kind == "L+transparency":
        gray = rgb.convert("L")
        # PNG's tRNS chunk for gray images names one fully transparent level.
        gray.info["transparency"] = int(pixels(gray)[0, 0])
        return gray
    if kind == "RGB+transparency":
        rgb.info["transparency"] = tuple(int(value) for value in pixels(rgb)[0, 0])
        return rgb

    if kind == "CMYK":
        return cmyk_image(width, height)
    if kind == "I;16":
        return sixteen_bit_image(width, height)
    raise ValueError(kind)


def png_header_only(width: int, height: int) -> bytes:
    """Return a PNG of the given size whose IDAT chunk contains no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    fields = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", fields) + chunk(b"IDAT", b"")


def cmyk_image(width: int = 48, height: int = 40) -> Image.Image:
    """Return a CMYK image whose top-left quarter is pure cyan ink."""
    y, x = np.mgrid[0:height, 0:width]
    cyan = x * 255 // max(1, width - 1)
    magenta = y * 255 // max(1, height - 1)
    yellow = (x * 5 + y * 3) % 256
    black = (x + y) % 64
    channels = np.dstack([cyan, magenta, yellow, black]).astype(np.uint8)
    channels[: height // 4, : width // 4] = (255, 0, 0, 0)
    return Image.frombytes("CMYK", (width, height), channels.tobytes())


def sixteen_bit_image(width: int = 48, height: int = 40) -> Image.Image:
    """Return an I;16 image whose values lie from 60000 to 65535."""
    y, x = np.mgrid[0:height, 0:width]
    values = 60000 + (x * 113 + y * 59) % 5536
    values[0, 0] = 65535
    return Image.frombytes("I;16", (width, height), values.astype("<u2").tobytes())


def frames(count: int = 3, width: int = 48, height: int = 40) -> list[Image.Image]:
    """Return `count` distinct RGB frames."""
    return [rgb_image(width, height, seed=index) for index in range(count)]


def animated(format: str, count: int = 3) -> bytes:
    """Return an animation or multi-page file of `count` frames."""
    first, *rest = frames(count)
    options: dict = {"save_all": True, "append_images": rest}
    if format == "WEBP":
        options["lossless"] = True
    if format == "GIF":
        first, *rest = [frame.quantize(64) for frame in [first, *rest]]
        options["append_images"] = rest
    return encode(first, format, **options)


def cmyk_icc_profile() -> bytes:
    """Return a small ICC v2 CMYK output profile built from four ink colours.

    Its A2B0 table is a 2x2x2x2 grid of Lab values: each grid corner is the
    product of the inks it contains, so colours differ clearly from Pillow's
    plain CMYK-to-RGB formula while cyan stays cyan.
    """
    inks = {
        "cyan": (0, 160, 230),
        "magenta": (230, 0, 126),
        "yellow": (255, 240, 0),
        "black": (30, 30, 30),
    }
    corners = []
    for cyan in (0, 1):
        for magenta in (0, 1):
            for yellow in (0, 1):
                for black in (0, 1):
                    colour = np.full(3, 255.0)
                    for used, ink in zip(
                        (cyan, magenta, yellow, black), inks.values(), strict=True
                    ):
                        if used:
                            colour = colour * np.array(ink) / 255
                    corners.append(np.round(colour).astype(np.uint8))
    grid = Image.frombytes("RGB", (16, 1), np.array(corners).tobytes())
    lab = ImageCms.profileToProfile(
        grid,
        ImageCms.createProfile("sRGB"),
        ImageCms.createProfile("LAB"),
        outputMode="LAB",
    )
    # Pillow stores a* and b* as signed bytes; lut8 tables offset them by 128.
    lab_values = np.frombuffer(lab.tobytes(), dtype=np.uint8).reshape(-1, 3).copy()
    lab_values[:, 1:] += 128

    def fixed(value: float) -> bytes:
        return struct.pack(">i", round(value * 65536))

    identity = bytes(range(256))
    matrix = b"".join(fixed(value) for value in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    lut = (
        b"mft1"
        + bytes(4)
        + bytes([4, 3, 2, 0])
        + matrix
        + identity * 4
        + lab_values.tobytes()
        + identity * 3
    )
    text = b"cropaug test CMYK\0"
    description = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(78)
    white = b"XYZ " + bytes(4) + fixed(0.9642) + fixed(1.0) + fixed(0.8249)
    tags = [(b"desc", description), (b"wtpt", white), (b"A2B0", lut)]

    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        data += bytes(-(offset + len(data)) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    body = struct.pack(">I", len(tags)) + table + data
    header = (
        struct.pack(">I", 128 + len(body))
        + b"lcms"
        + struct.pack(">I", 0x02100000)
        + b"prtrCMYKLab "
        + bytes(12)
        + b"acsp"
        + bytes(24)
        + struct.pack(">I", 0)
        + fixed(0.9642)
        + fixed(1.0)
        + fixed(0.8249)
        + bytes(48)
    )
    return header + body


def upright_source(path: Path) -> Image.Image:
    """Return the first frame of an image file, turned upright by its EXIF."""
    with Image.open(path) as image:
        image.seek(0)
        image.load()
        return ImageOps.exif_transpose(image)


def crop_box(crop: dict) -> tuple[int, int, int, int]:
    """Return the box of a manifest crop entry."""
    return (crop["x"], crop["y"], crop["x"] + crop["width"], crop["y"] + crop["height"])


def open_crop(path: Path) -> Image.Image:
    """Return the decoded image of a file, with its info, and close the file."""
    with Image.open(path) as image:
        image.load()
        return image.copy()
