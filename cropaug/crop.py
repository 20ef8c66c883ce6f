"""Crop one source image: decode it once, draw its corners, write every crop."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cropaug.errors import ImageError
from cropaug.files import OutputWriteError, write_atomic
from cropaug.imaging import (
    EXTENSIONS,
    SUBSAMPLING,
    DecodedImage,
    PreparedImage,
    decode_image,
    encode_crop,
    output_format_for,
    prepare_image,
)
from cropaug.naming import crop_name, index_width
from cropaug.sampling import count_positions, image_rng, sample_corners


@dataclass(frozen=True)
class CropSettings:
    """Every option that affects the crops of one image."""

    crop_width: int
    crop_height: int
    n: int
    seed: int
    format: str
    quality: int
    # Chroma subsampling as "4:2:0"-style text, or None for the source's own.
    subsampling: str | None
    lossless: bool
    background: tuple[int, int, int]
    max_pixels: int


@dataclass(frozen=True)
class CropJob:
    """One source to crop and the stem its outputs are named from (relative to DST)."""

    source: str
    class_name: str
    output_stem: str


def crop_source(src: Path, dst: Path, job: CropJob, settings: CropSettings) -> dict:
    """Crop one source and return its result record.

    The record's `status` is "cropped" (with the manifest entry under
    `image`), "skipped" (with a `reason`) or "failed" (with an `error`).
    A failed source leaves no output file behind.

    Raises:
        OutputWriteError: when DST cannot be written, which stops the run.
    """
    try:
        decoded, sha256 = load_source(src / job.source, settings)
    except ImageError as error:
        return _failed(job, str(error))

    width, height = decoded.image.size
    positions = count_positions(
        width, height, settings.crop_width, settings.crop_height
    )
    if positions == 0:
        reason = (
            f"image is {width}x{height}, smaller than the "
            f"{settings.crop_width}x{settings.crop_height} crop"
        )
        return {"status": "skipped", "source": job.source, "reason": reason}

    rng = image_rng(settings.seed, job.source)
    corners = sample_corners(
        rng, width, height, settings.crop_width, settings.crop_height, settings.n
    )
    output_format = output_format_for(decoded.format, settings.format)
    extension = EXTENSIONS[output_format]
    digits = index_width(settings.n)
    paths = [
        crop_name(job.output_stem, index, digits, extension)
        for index in range(len(corners))
    ]

    try:
        prepared = write_crops(dst, decoded, settings, corners, paths)
    except ImageError as error:
        return _failed(job, str(error))

    image = {
        "source": job.source,
        "class_name": job.class_name,
        "width": width,
        "height": height,
        "sha256": sha256,
        "format": decoded.format,
        "mode": decoded.mode,
        "output_format": output_format,
        "output_mode": prepared.image.mode,
    }
    if decoded.frames > 1:
        image["frames"] = decoded.frames
    if prepared.conversion:
        image["conversion"] = prepared.conversion
    image["positions"] = positions
    if len(corners) < settings.n:
        image["requested"] = settings.n
    image["crops"] = [
        {
            "path": path,
            "x": x,
            "y": y,
            "width": settings.crop_width,
            "height": settings.crop_height,
        }
        for path, (x, y) in zip(paths, corners, strict=True)
    ]
    return {"status": "cropped", "source": job.source, "image": image}


def load_source(path: Path, settings: CropSettings) -> tuple[DecodedImage, str]:
    """Read a source file once and return its upright decode and SHA-256.

    Raises:
        ImageError: when the file cannot be read or decoded.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImageError(f"cannot read: {error.strerror or error}") from None
    sha256 = hashlib.sha256(data).hexdigest()
    return decode_image(data, settings.max_pixels), sha256


def write_crops(
    dst: Path,
    decoded: DecodedImage,
    settings: CropSettings,
    corners: list[tuple[int, int]],
    paths: list[str],
) -> PreparedImage:
    """Encode the crop at each corner and write it atomically to its path under DST.

    Returns the prepared image, whose mode and conversion the manifest records.
    When any crop fails to encode, the crops already written are removed.

    Raises:
        ImageError: when the image cannot be converted or encoded.
        OutputWriteError: when DST cannot be written, which stops the run.
    """
    output_format = output_format_for(decoded.format, settings.format)
    prepared = prepare_image(decoded, output_format, settings.background)
    subsampling = _jpeg_subsampling(settings.subsampling, decoded.jpeg_subsampling)

    folders = {(dst / path).parent for path in paths}
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputWriteError(folder, error) from None

    written = []
    try:
        for path, (x, y) in zip(paths, corners, strict=True):
            box = (x, y, x + settings.crop_width, y + settings.crop_height)
            encoded = encode_crop(
                prepared.image.crop(box),
                prepared,
                settings.quality,
                subsampling,
                settings.lossless,
            )
            target = dst / path
            write_atomic(target, encoded)
            written.append(target)
    except OutputWriteError:
        _remove_all(written)
        raise
    except (OSError, ValueError) as error:
        _remove_all(written)
        raise ImageError(f"cannot encode {output_format}: {error}") from None
    return prepared


def _jpeg_subsampling(
    requested: str | None, source_subsampling: int | None
) -> int | None:
    if requested is not None:
        return SUBSAMPLING[requested]
    return source_subsampling


def _failed(job: CropJob, error: str) -> dict:
    return {"status": "failed", "source": job.source, "error": error}


def _remove_all(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
