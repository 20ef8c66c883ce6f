"""Read the masks a manifest records and cut their crops again at the recorded boxes.

`reproduce` and `verify` use these when given MASK_ROOT, the tree of label
masks the run cropped. The manifest records each mask's path under
MASK_ROOT (`mask_source`) and SHA-256, so the mask is read from that path,
not searched for again.
"""

import os
from pathlib import Path

from cropaug.boxes import box_from_record
from cropaug.errors import DestinationError, ImageError
from cropaug.masks import Mask, read_mask, write_mask_crops
from cropaug.paths import is_inside, resolve_inside

# Fields that only a run with masks records.
IMAGE_MASK_FIELDS = ("mask_source", "mask_sha256", "mask_mode")
CROP_MASK_FIELD = "mask"


def recorded_mask_folder(dst: Path, params: dict) -> Path | None:
    """Return the folder a run wrote its mask crops to, or None for a run without.

    `params.mask_out` is relative to DST with its symbolic links resolved,
    so it is joined to the resolved DST.
    """
    if params.get("masks") is not True:
        return None
    return Path(os.path.normpath(dst.resolve() / params["mask_out"]))


def load_recorded_mask(
    mask_root: Path, image: dict, max_pixels: int, check_hash: bool
) -> Mask:
    """Decode the mask a manifest image records and check it is the recorded one.

    Raises:
        ManifestError: when the mask path resolves outside MASK_ROOT.
        ImageError: when the mask is missing, unreadable, of another size
            than its image, or (with `check_hash`) has another SHA-256.
    """
    relative = image["mask_source"]
    path = resolve_inside(mask_root, relative)
    if not path.is_file():
        raise ImageError(f"mask {relative} is missing from MASK_ROOT")
    size = (image["width"], image["height"])
    mask = read_mask(mask_root, relative, size, max_pixels)
    if check_hash and mask.sha256 != image["mask_sha256"]:
        raise ImageError(
            f"mask {relative} changed since the manifest was written: its "
            f"SHA-256 is {mask.sha256}, the manifest records {image['mask_sha256']}"
        )
    return mask


def write_recorded_mask_crops(
    mask_out: Path, mask: Mask, image: dict, size: tuple[int, int]
) -> None:
    """Cut a manifest image's mask crops at their recorded boxes into MASK_OUT.

    The manifest's checks ensure that each crop's `mask` is its path with
    the extension .png, which is where `write_mask_crops` writes it.

    Raises:
        ManifestError: when a mask crop's folder resolves outside MASK_OUT.
        ImageError: when a mask crop cannot be encoded.
        OutputWriteError: when MASK_OUT cannot be written.
    """
    crops = image["crops"]
    # NOTE: as for the image crops, a symbolic link created inside MASK_OUT
    # between this check and the write is not caught.
    for crop in crops:
        resolve_inside(mask_out, crop[CROP_MASK_FIELD])
    boxes = [box_from_record(crop) for crop in crops]
    paths = [crop["path"] for crop in crops]
    write_mask_crops(mask_out, mask, boxes, paths, size)


def without_masks(image: dict) -> dict:
    """Return a copy of a manifest image without its mask fields."""
    record = {
        key: value for key, value in image.items() if key not in IMAGE_MASK_FIELDS
    }
    record["crops"] = [
        {key: value for key, value in crop.items() if key != CROP_MASK_FIELD}
        for crop in image["crops"]
    ]
    return record


def check_mask_out(src: Path, out: Path, mask_root: Path, mask_out: Path) -> None:
    """Check that MASK_OUT is new or empty, and apart from SRC, OUT and MASK_ROOT.

    Raises:
        DestinationError: naming the folder MASK_OUT overlaps, or saying that
            it is a file or not empty.
    """
    if not mask_root.is_dir():
        raise DestinationError(
            f"MASK_ROOT {mask_root} is not a folder; pass the mask tree the run cropped"
        )
    for name, folder in (("SRC", src), ("OUT", out), ("MASK_ROOT", mask_root)):
        if is_inside(folder, mask_out) or is_inside(mask_out, folder):
            raise DestinationError(
                f"MASK_OUT {mask_out} overlaps {name} {folder}; choose a folder "
                "outside it"
            )
    if mask_out.exists() and not mask_out.is_dir():
        raise DestinationError(
            f"MASK_OUT {mask_out} is a file; choose a new or empty folder"
        )
    if mask_out.exists() and any(mask_out.iterdir()):
        raise DestinationError(
            f"MASK_OUT {mask_out} is not empty; choose a new or empty folder"
        )
