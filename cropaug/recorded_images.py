"""Read a manifest image's source again and cut its crops at the recorded boxes."""

from pathlib import Path

from cropaug.boxes import box_from_record
from cropaug.conversion import PreparedImage, output_format_for
from cropaug.crop import CropSettings, load_source, write_crops
from cropaug.errors import ImageError
from cropaug.imaging import DecodedImage
from cropaug.paths import resolve_inside
from cropaug.sizing import SizePlan


def load_recorded_source(
    src: Path, image: dict, settings: CropSettings, check_hash: bool
) -> tuple[DecodedImage, str]:
    """Decode a manifest image's source and check that it is the recorded one.

    Returns the decoded image, its size plan (resize, small-image policy) and
    the source's SHA-256.

    Raises:
        ManifestError: when the source path resolves outside SRC.
        ImageError: saying what is wrong with the source (the message omits
            the path): it is missing or unreadable, its hash differs (when
            `check_hash` is set), or its size or format no longer gives the
            recorded crops.
    """
    path = resolve_inside(src, image["source"])
    if not path.is_file():
        raise ImageError("missing from SRC")
    decoded, plan, sha256 = load_source(path, settings)
    if check_hash and sha256 != image["sha256"]:
        raise ImageError(
            f"changed since the manifest was written: its SHA-256 is {sha256}, "
            f"the manifest records {image['sha256']}"
        )

    width, height = plan.size
    if (width, height) != (image["width"], image["height"]):
        raise ImageError(
            f"is {width}x{height}, the manifest records "
            f"{image['width']}x{image['height']}"
        )
    output_format = output_format_for(decoded.format, settings.format, decoded.mode)
    if output_format != image["output_format"]:
        raise ImageError(
            f"is {decoded.format}, so its crops would be {output_format}; "
            f"the manifest records {image['output_format']}"
        )
    return decoded, plan, sha256


def write_recorded_crops(
    out: Path,
    decoded: DecodedImage,
    plan: SizePlan,
    settings: CropSettings,
    image: dict,
) -> PreparedImage:
    """Cut and write a manifest image's crops at their recorded boxes under OUT.

    Each box is resized to the crop size and mirrored as its crop records.

    Raises:
        ManifestError: when a crop's folder resolves outside OUT.
        ImageError: when the image cannot be converted or encoded.
        OutputWriteError: when OUT cannot be written.
    """
    boxes = [box_from_record(crop) for crop in image["crops"]]
    paths = [crop["path"] for crop in image["crops"]]
    # NOTE: a symbolic link that another process creates inside OUT between
    # this check and the write below is not caught.
    for path in paths:
        resolve_inside(out, path)
    prepared, _ = write_crops(out, decoded, settings, boxes, paths, plan)
    return prepared
