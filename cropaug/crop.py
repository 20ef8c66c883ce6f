"""Crop one source image: decode it once, draw its boxes, write every crop."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cropaug.boxes import (
    Box,
    apply_box,
    crop_record,
    needs_resampling,
    prepare_for_resampling,
)
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
from cropaug.masks import load_mask, write_mask_crops
from cropaug.modes import FIXED_SIZE_MODES, plan_boxes
from cropaug.naming import crop_name, index_width
from cropaug.sampling import count_positions, image_rng


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
    # How boxes are drawn: one of modes.MODES.
    mode: str = "random"
    # Resized mode: area fraction and aspect-ratio (width / height) ranges.
    scale: tuple[float, float] = (0.08, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    # Filter that resizes boxes to the crop size: a key of boxes.RESAMPLING.
    resample: str = "bilinear"
    # Grid mode: (x, y) step between corners; None steps by the crop size.
    stride: tuple[int, int] | None = None
    # Probability that a crop is mirrored left to right.
    hflip: float = 0.0
    # Smallest Chebyshev distance between the corners of two crops of one
    # image; 1 only keeps them distinct.
    min_shift: int = 2
    # Label-mask tree that mirrors SRC, and where its crops go; None for none.
    mask_root: Path | None = None
    mask_out: Path | None = None


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
    if positions == 0 and settings.mode in FIXED_SIZE_MODES:
        reason = (
            f"image is {width}x{height}, smaller than the "
            f"{settings.crop_width}x{settings.crop_height} crop"
        )
        return {"status": "skipped", "source": job.source, "reason": reason}

    mask = None
    if settings.mask_root is not None:
        try:
            mask = load_mask(
                settings.mask_root, job.source, (width, height), settings.max_pixels
            )
        except ImageError as error:
            return _failed(job, str(error))

    rng = image_rng(settings.seed, job.source)
    plan = plan_boxes(rng, settings, width, height)
    output_format = output_format_for(decoded.format, settings.format)
    extension = EXTENSIONS[output_format]
    digits = index_width(settings.n)
    paths = [
        crop_name(job.output_stem, index, digits, extension)
        for index in range(len(plan.boxes))
    ]

    try:
        prepared = write_crops(dst, decoded, settings, plan.boxes, paths)
    except ImageError as error:
        return _failed(job, str(error))
    mask_paths = None
    if mask is not None:
        assert settings.mask_out is not None
        try:
            mask_paths = write_mask_crops(
                settings.mask_out, mask, plan.boxes, paths, _output_size(settings)
            )
        except OutputWriteError:
            _remove_all([dst / path for path in paths])
            raise
        except ImageError as error:
            _remove_all([dst / path for path in paths])
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
    if plan.positions is not None:
        image["positions"] = plan.positions
    if len(plan.boxes) < settings.n and settings.mode != "grid":
        image["requested"] = settings.n
    if mask is not None:
        image["mask_source"] = mask.source
        image["mask_sha256"] = mask.sha256
        image["mask_mode"] = mask.image.mode
    crops = [
        crop_record(box, path) for box, path in zip(plan.boxes, paths, strict=True)
    ]
    if mask_paths is not None:
        for crop, mask_path in zip(crops, mask_paths, strict=True):
            crop["mask"] = mask_path
    image["crops"] = crops
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
    boxes: list[Box] | list[tuple[int, int]],
    paths: list[str],
) -> PreparedImage:
    """Encode the crop of each box and write it atomically to its path under DST.

    Each box is a `Box`, or an (x, y) corner of a crop-size box. Every crop
    is resized to the crop size with `settings.resample` when its box has
    another size, then mirrored when the box is flipped.

    Returns the prepared image, whose mode and conversion the manifest records.
    When any crop fails to encode, the crops already written are removed.

    Raises:
        ImageError: when the image cannot be converted or encoded.
        OutputWriteError: when DST cannot be written, which stops the run.
    """
    size = _output_size(settings)
    boxes = [
        box if isinstance(box, Box) else Box(box[0], box[1], *size) for box in boxes
    ]
    output_format = output_format_for(decoded.format, settings.format)
    prepared = prepare_image(decoded, output_format, settings.background)
    if needs_resampling(boxes, size):
        prepared = prepare_for_resampling(prepared, settings.resample)
    subsampling = _jpeg_subsampling(settings.subsampling, decoded.jpeg_subsampling)

    folders = {(dst / path).parent for path in paths}
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputWriteError(folder, error) from None

    written = []
    try:
        for path, box in zip(paths, boxes, strict=True):
            encoded = encode_crop(
                apply_box(prepared.image, box, size, settings.resample),
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


def _output_size(settings: CropSettings) -> tuple[int, int]:
    return settings.crop_width, settings.crop_height


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
