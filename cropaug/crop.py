"""Crop one source image: decode it once, draw its corners, write every crop."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cropaug.conversion import PreparedImage, output_format_for, prepare_image
from cropaug.encoding import EXTENSIONS, SUBSAMPLING, encode_crop, exif_for_crop
from cropaug.errors import ImageError
from cropaug.files import OutputWriteError, write_atomic
from cropaug.imaging import DecodedImage, decode_opened, open_image
from cropaug.naming import crop_name, index_width
from cropaug.sampling import count_positions, image_rng, sample_corners
from cropaug.sizing import (
    SizePlan,
    SmallImageError,
    crop_upright,
    describe_small,
    fit_image,
    plan_size,
)


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
    # What to do with an image smaller than the crop: skip, pad, upscale, error.
    small: str = "skip"
    # Shorter side in pixels that every image is resized to first, or None.
    resize: int | None = None
    # Copy the source's EXIF into the crops (without Orientation).
    keep_exif: bool = False


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
        decoded, plan, sha256 = load_source(src / job.source, settings)
    except SmallImageError as error:
        if error.policy == "skip":
            return {"status": "skipped", "source": job.source, "reason": str(error)}
        return _failed(job, str(error))
    except ImageError as error:
        return _failed(job, str(error))

    width, height = plan.size
    positions = count_positions(
        width, height, settings.crop_width, settings.crop_height
    )
    rng = image_rng(settings.seed, job.source)
    corners = sample_corners(
        rng, width, height, settings.crop_width, settings.crop_height, settings.n
    )
    output_format = output_format_for(decoded.format, settings.format, decoded.mode)
    extension = EXTENSIONS[output_format]
    digits = index_width(settings.n)
    paths = [
        crop_name(job.output_stem, index, digits, extension)
        for index in range(len(corners))
    ]

    try:
        prepared = write_crops(dst, decoded, settings, corners, paths, plan)
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
    image.update(_size_fields(plan, decoded, settings))
    if settings.keep_exif and decoded.exif:
        image["exif"] = _exif_outcome(prepared)
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


def load_source(
    path: Path, settings: CropSettings
) -> tuple[DecodedImage, SizePlan, str]:
    """Read a source file once; return its decode, its size plan and its SHA-256.

    The size plan is made from the header, so an image that is too small is
    rejected before its pixels are decoded.

    Raises:
        SmallImageError: when the image is smaller than the crop and
            --small is skip or error.
        ImageError: when the file cannot be read or decoded.
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImageError(f"cannot read: {error.strerror or error}") from None
    sha256 = hashlib.sha256(data).hexdigest()

    opened = open_image(data, settings.max_pixels)
    crop_size = (settings.crop_width, settings.crop_height)
    plan = plan_size(opened.size, crop_size, settings.resize, settings.small)
    if plan.small in ("skip", "error"):
        reason = describe_small(plan, crop_size, settings.resize)
        raise SmallImageError(reason, plan.small)
    decoded = decode_opened(opened, plan.scaled_size)
    return decoded, plan, sha256


def write_crops(
    dst: Path,
    decoded: DecodedImage,
    settings: CropSettings,
    corners: list[tuple[int, int]],
    paths: list[str],
    plan: SizePlan | None = None,
) -> PreparedImage:
    """Encode the crop at each corner and write it atomically to its path under DST.

    Returns the prepared image, whose mode and conversion the manifest records.
    When any crop fails to encode, the crops already written are removed.
    `plan` is the size plan from `load_source`, made again when omitted.

    Raises:
        ImageError: when the image cannot be converted or encoded.
        OutputWriteError: when DST cannot be written, which stops the run.
    """
    output_format = output_format_for(decoded.format, settings.format, decoded.mode)
    prepared = prepare_image(decoded, output_format, settings.background)
    if plan is None:
        crop_size = (settings.crop_width, settings.crop_height)
        plan = plan_size(decoded.size, crop_size, settings.resize, settings.small)
    prepared = fit_image(prepared, plan, decoded.draft_box, settings.background)
    if settings.keep_exif and decoded.exif:
        prepared.exif = exif_for_crop(
            decoded.exif, settings.crop_width, settings.crop_height
        )
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
                crop_upright(prepared.image, prepared.orientation, box),
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


def _size_fields(plan: SizePlan, decoded: DecodedImage, settings: CropSettings):
    """Return the manifest fields that record how the image was sized for cropping."""
    fields: dict = {}
    if settings.resize is not None or plan.small is not None:
        fields["original_width"], fields["original_height"] = plan.original
    if plan.resized is not None:
        fields["resized_width"], fields["resized_height"] = plan.resized
    if decoded.draft_scale > 1:
        fields["draft_scale"] = decoded.draft_scale
    if plan.small is not None:
        fields["small"] = plan.small
    if plan.small == "pad":
        fields["pad_x"], fields["pad_y"] = plan.pad_offset
    return fields


def _exif_outcome(prepared: PreparedImage) -> str:
    """Return what --keep-exif did with a source that has EXIF, for the manifest."""
    if prepared.exif:
        return "copied"
    return "not copied: corrupt EXIF"


def _failed(job: CropJob, error: str) -> dict:
    return {"status": "failed", "source": job.source, "error": error}


def _remove_all(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
