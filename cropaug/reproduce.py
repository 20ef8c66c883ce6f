"""Rebuild a run's crops from its manifest's boxes and the original sources.

No box is drawn again. Every crop is cut at the box the manifest records,
resized and mirrored as it records, with the settings its `params` record,
by the same code that `expand` uses. Given MASK_ROOT, the mask crops are
cut too. With the library versions the manifest records, the crops and the
manifest come out byte for byte as the original run wrote them.
"""

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from cropaug.crop import CropSettings
from cropaug.errors import (
    CropaugError,
    DestinationError,
    ImageError,
    InvalidParameterError,
    ManifestError,
)
from cropaug.files import OutputWriteError
from cropaug.manifest import library_versions, write_manifest
from cropaug.masks import Mask, default_mask_out, relative_mask_out
from cropaug.params import with_mask_folders
from cropaug.paths import is_inside, resolve_inside
from cropaug.pool import run_tasks
from cropaug.recorded_files import MASKS, SOURCES, check_recorded_files
from cropaug.recorded_images import load_recorded_source, write_recorded_crops
from cropaug.recorded_masks import (
    check_mask_out,
    load_recorded_mask,
    without_masks,
    write_recorded_mask_crops,
)
from cropaug.validate import load_checked_manifest

logger = logging.getLogger(__name__)


@dataclass
class ReproduceSummary:
    """Counts of a reproduction, and each source it could not rebuild (`failed`)."""

    out: Path
    images: int
    crops: int
    failed: list[dict] = field(default_factory=list)
    # Sources and masks whose SHA-256 differs from the manifest's, rebuilt
    # anyway because the caller passed ignore_hash.
    changed_sources: list[str] = field(default_factory=list)
    changed_masks: list[str] = field(default_factory=list)
    # Folder the mask crops were written to, or None.
    mask_out: Path | None = None


def reproduce(
    manifest_path: str | os.PathLike,
    src: str | os.PathLike,
    out: str | os.PathLike,
    *,
    masks: str | os.PathLike | None = None,
    mask_out: str | os.PathLike | None = None,
    ignore_hash: bool = False,
    workers: int | None = None,
    progress: bool = False,
) -> ReproduceSummary:
    """Write every crop a manifest records into OUT, cut from the sources in SRC.

    OUT gets the manifest's tree and a manifest of its own. That manifest
    equals the original byte for byte unless the library versions differ
    (it records the versions that wrote it), a source could not be rebuilt,
    or the mask crops go elsewhere or nowhere (see `masks`).

    Args:
        masks: MASK_ROOT, the label-mask tree of a run that cropped masks.
            Without it such a run's images alone are rebuilt, a warning is
            logged, and the new manifest records no masks.
        mask_out: folder for the mask crops; defaults to OUT's sibling named
            after it with "_masks" appended, as `expand` does. The new
            manifest records it relative to OUT, so it equals the original's
            `mask_out` when the folders lie alike.
        ignore_hash: rebuild from sources and masks whose SHA-256 differs
            from the manifest's; their new hashes are recorded.
        workers: processes to crop with; defaults to the CPU count.

    Raises:
        ManifestError: when the manifest is invalid or unsafe.
        InvalidParameterError: when `masks` is given for a run without masks,
            or `mask_out` without `masks`.
        CropaugError: when SRC is not a folder, a source or mask is missing,
            or one changed and `ignore_hash` is False.
        DestinationError: when OUT or the mask folder is not empty or
            overlaps another folder.
        OutputWriteError: when OUT cannot be written; the run stops.
    """
    manifest, settings = load_checked_manifest(Path(manifest_path))
    assert settings is not None
    params = manifest["params"]
    src_path, out_path = Path(src), Path(out)
    settings = _mask_settings(settings, params, out_path, masks, mask_out)
    _check_folders(src_path, out_path)
    if settings.mask_root is not None and settings.mask_out is not None:
        check_mask_out(src_path, out_path, settings.mask_root, settings.mask_out)
    workers = workers or os.cpu_count() or 1
    for difference in version_differences(manifest):
        logger.warning(
            "%s, so crops may differ from the original run's bytes", difference
        )

    images = manifest["images"]
    changed = check_recorded_files(
        SOURCES, src_path, images, ignore_hash, workers, progress
    )
    changed_masks = []
    if settings.mask_root is not None:
        changed_masks = check_recorded_files(
            MASKS, settings.mask_root, images, ignore_hash, workers, progress
        )

    out_path.mkdir(parents=True, exist_ok=True)
    for class_name in manifest["classes"]:
        resolve_inside(out_path, class_name).mkdir(exist_ok=True)
    if settings.mask_out is not None:
        params = params | {"mask_out": relative_mask_out(out_path, settings.mask_out)}
        for class_name in manifest["classes"]:
            (settings.mask_out / class_name).mkdir(parents=True, exist_ok=True)
    elif params.get("masks") is True:
        params = params | {"masks": False, "mask_out": None}
    shared = (src_path, out_path, settings, not ignore_hash)
    results = {}
    tasks = run_tasks(reproduce_image, shared, images, workers, progress, "reproducing")
    for result in tasks:
        results[result["source"]] = result
        for note in result.get("notes", []):
            logger.warning("%s: %s", result["source"], note)

    rebuilt = [results[image["source"]] for image in images]
    new_images = [r["image"] for r in rebuilt if r["status"] == "reproduced"]
    new_failed = [
        {"source": r["source"], "error": r["error"]}
        for r in rebuilt
        if r["status"] == "failed"
    ]
    failed = sorted(manifest["failed"] + new_failed, key=_source_key)
    totals = write_manifest(
        out_path,
        params,
        manifest["classes"],
        new_images,
        manifest["skipped"],
        failed,
    )
    return ReproduceSummary(
        out=out_path,
        images=totals["images"],
        crops=totals["crops"],
        failed=new_failed,
        changed_sources=changed,
        changed_masks=changed_masks,
        mask_out=settings.mask_out,
    )


def _mask_settings(
    settings: CropSettings,
    params: dict,
    out: Path,
    masks: str | os.PathLike | None,
    mask_out: str | os.PathLike | None,
) -> CropSettings:
    """Return the settings with the mask folders reproduce uses, if any."""
    if masks is None:
        if mask_out is not None:
            raise InvalidParameterError("mask_out needs masks, the tree to crop")
        if params.get("masks") is True:
            logger.warning(
                "the manifest records mask crops, but no MASK_ROOT was given "
                "(--masks), so only the images are rebuilt and the new manifest "
                "records no masks"
            )
        return settings
    folder = Path(mask_out) if mask_out is not None else default_mask_out(out)
    return with_mask_folders(settings, params, Path(masks), folder)


def reproduce_image(
    src: Path, out: Path, settings: CropSettings, check_hash: bool, image: dict
) -> dict:
    """Rebuild one manifest image's crops in OUT and return its result record.

    With `settings.mask_root` set, its mask crops are rebuilt in
    `settings.mask_out` too. Otherwise the entry loses its mask fields.
    The record's `status` is "reproduced" (with the manifest entry to write
    under `image`) or "failed" (with an `error`).

    Raises:
        OutputWriteError: when OUT cannot be written, which stops the run.
    """
    source = image["source"]
    mask = None
    try:
        decoded, plan, sha256 = load_recorded_source(src, image, settings, check_hash)
        if settings.mask_root is not None:
            mask = load_recorded_mask(
                settings.mask_root, image, settings.max_pixels, check_hash
            )
        prepared = write_recorded_crops(out, decoded, plan, settings, image)
        if mask is not None:
            _write_mask_crops(out, settings, mask, image)
    except (ImageError, ManifestError) as error:
        return {"status": "failed", "source": source, "error": str(error)}

    record = dict(image) if mask is not None else without_masks(image)
    notes = []
    if mask is not None:
        if mask.sha256 != image["mask_sha256"]:
            record["mask_sha256"] = mask.sha256
        if mask.image.mode != image["mask_mode"]:
            notes.append(
                f"mask crops are {mask.image.mode}, the manifest records "
                f"{image['mask_mode']}"
            )
            record["mask_mode"] = mask.image.mode
    if sha256 != image["sha256"]:
        record["sha256"] = sha256
    if prepared.image.mode != image.get("output_mode"):
        notes.append(
            f"crops are {prepared.image.mode}, the manifest records "
            f"{image.get('output_mode')}"
        )
        record["output_mode"] = prepared.image.mode
    if prepared.conversion != image.get("conversion"):
        notes.append(
            f"conversion is {prepared.conversion!r}, the manifest records "
            f"{image.get('conversion')!r}"
        )
        record.pop("conversion", None)
        if prepared.conversion:
            record["conversion"] = prepared.conversion
    return {"status": "reproduced", "source": source, "image": record, "notes": notes}


def _write_mask_crops(
    out: Path, settings: CropSettings, mask: Mask, image: dict
) -> None:
    """Write an image's mask crops, or remove its crops too, as expand does."""
    assert settings.mask_out is not None
    size = (settings.crop_width, settings.crop_height)
    try:
        write_recorded_mask_crops(settings.mask_out, mask, image, size)
    except (ImageError, ManifestError, OutputWriteError):
        for crop in image["crops"]:
            (out / crop["path"]).unlink(missing_ok=True)
        raise


def version_differences(manifest: dict) -> list[str]:
    """Return one line per library whose version differs from the manifest's."""
    recorded = manifest.get("library_versions")
    if not isinstance(recorded, dict):
        return ["the manifest records no library versions"]
    current = library_versions()
    return [
        f"{name} is {version} here, the manifest records {recorded.get(name)}"
        for name, version in current.items()
        if recorded.get(name) != version
    ]


def _check_folders(src: Path, out: Path) -> None:
    if not src.is_dir():
        raise CropaugError(
            f"SRC {src} is not a folder; pass the folder the run cropped"
        )
    if out.exists() and not out.is_dir():
        raise DestinationError(f"OUT {out} is a file; choose a new or empty folder")
    if is_inside(src, out):
        raise DestinationError(
            f"OUT {out} is inside SRC {src}; choose a folder outside SRC"
        )
    if out.exists() and any(out.iterdir()):
        raise DestinationError(f"OUT {out} is not empty; choose a new or empty folder")


def _source_key(record: dict) -> str:
    source = record.get("source")
    return source if isinstance(source, str) else ""
