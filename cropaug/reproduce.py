"""Rebuild a run's crops from its manifest's boxes and the original sources.

No corner is drawn again. Every crop is cut at the box the manifest records,
with the settings its `params` record, by the same code that `expand` uses.
With the library versions the manifest records, the crops and the manifest
come out byte for byte as the original run wrote them.
"""

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from cropaug.crop import CropSettings, load_source, write_crops
from cropaug.errors import CropaugError, DestinationError, ImageError, ManifestError
from cropaug.imaging import DecodedImage, PreparedImage, output_format_for
from cropaug.manifest import library_versions, write_manifest
from cropaug.paths import is_inside, resolve_inside
from cropaug.pool import run_tasks
from cropaug.validate import load_checked_manifest

logger = logging.getLogger(__name__)


@dataclass
class ReproduceSummary:
    """Counts of a reproduction, and each source it could not rebuild (`failed`)."""

    out: Path
    images: int
    crops: int
    failed: list[dict] = field(default_factory=list)
    # Sources whose SHA-256 differs from the manifest's, rebuilt anyway
    # because the caller passed ignore_hash.
    changed_sources: list[str] = field(default_factory=list)


def reproduce(
    manifest_path: str | os.PathLike,
    src: str | os.PathLike,
    out: str | os.PathLike,
    *,
    ignore_hash: bool = False,
    workers: int | None = None,
    progress: bool = False,
) -> ReproduceSummary:
    """Write every crop a manifest records into OUT, cut from the sources in SRC.

    OUT gets the manifest's tree and a manifest of its own, which equals the
    original byte for byte unless the library versions differ (it records
    the versions that wrote it) or a source could not be rebuilt.

    Args:
        ignore_hash: rebuild from sources whose SHA-256 differs from the
            manifest's; their new hashes are recorded.
        workers: processes to crop with; defaults to the CPU count.

    Raises:
        ManifestError: when the manifest is invalid or unsafe.
        CropaugError: when SRC is not a folder, a source is missing, or a
            source changed and `ignore_hash` is False.
        DestinationError: when OUT is not empty or lies inside SRC.
        OutputWriteError: when OUT cannot be written; the run stops.
    """
    manifest, settings = load_checked_manifest(Path(manifest_path))
    src_path, out_path = Path(src), Path(out)
    _check_folders(src_path, out_path)
    workers = workers or os.cpu_count() or 1
    for difference in version_differences(manifest):
        logger.warning(
            "%s, so crops may differ from the original run's bytes", difference
        )

    images = manifest["images"]
    changed = _check_sources(src_path, images, ignore_hash, workers, progress)

    out_path.mkdir(parents=True, exist_ok=True)
    for class_name in manifest["classes"]:
        resolve_inside(out_path, class_name).mkdir(exist_ok=True)
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
        manifest["params"],
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
    )


def reproduce_image(
    src: Path, out: Path, settings: CropSettings, check_hash: bool, image: dict
) -> dict:
    """Rebuild one manifest image's crops in OUT and return its result record.

    The record's `status` is "reproduced" (with the manifest entry to write
    under `image`) or "failed" (with an `error`).

    Raises:
        OutputWriteError: when OUT cannot be written, which stops the run.
    """
    source = image["source"]
    try:
        decoded, sha256 = load_recorded_source(src, image, settings, check_hash)
        prepared = write_recorded_crops(out, decoded, settings, image)
    except (ImageError, ManifestError) as error:
        return {"status": "failed", "source": source, "error": str(error)}

    record = dict(image)
    notes = []
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


def load_recorded_source(
    src: Path, image: dict, settings: CropSettings, check_hash: bool
) -> tuple[DecodedImage, str]:
    """Decode a manifest image's source and check that it is the recorded one.

    Returns the decoded image and the source's SHA-256.

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
    decoded, sha256 = load_source(path, settings)
    if check_hash and sha256 != image["sha256"]:
        raise ImageError(
            f"changed since the manifest was written: its SHA-256 is {sha256}, "
            f"the manifest records {image['sha256']}"
        )

    width, height = decoded.image.size
    if (width, height) != (image["width"], image["height"]):
        raise ImageError(
            f"is {width}x{height}, the manifest records "
            f"{image['width']}x{image['height']}"
        )
    output_format = output_format_for(decoded.format, settings.format)
    if output_format != image["output_format"]:
        raise ImageError(
            f"is {decoded.format}, so its crops would be {output_format}; "
            f"the manifest records {image['output_format']}"
        )
    return decoded, sha256


def write_recorded_crops(
    out: Path, decoded: DecodedImage, settings: CropSettings, image: dict
) -> PreparedImage:
    """Cut and write a manifest image's crops at their recorded boxes under OUT.

    Raises:
        ManifestError: when a crop's folder resolves outside OUT.
        ImageError: when the image cannot be converted or encoded.
        OutputWriteError: when OUT cannot be written.
    """
    corners = [(crop["x"], crop["y"]) for crop in image["crops"]]
    paths = [crop["path"] for crop in image["crops"]]
    # NOTE: a symbolic link that another process creates inside OUT between
    # this check and the write below is not caught.
    for path in paths:
        resolve_inside(out, path)
    return write_crops(out, decoded, settings, corners, paths)


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


def _check_sources(
    src: Path, images: list[dict], ignore_hash: bool, workers: int, progress: bool
) -> list[str]:
    """Hash every source before anything is written, and return the changed ones.

    Raises:
        CropaugError: listing missing sources, and changed ones unless
            `ignore_hash` is set.
    """
    missing, changed = [], []
    shared = (src,)
    tasks = run_tasks(_source_state, shared, images, workers, progress, "hashing")
    for source, problem in tasks:
        if problem == "changed":
            changed.append(source)
        elif problem:
            missing.append(f"{source}: {problem}")
    missing.sort()
    changed.sort()

    if missing:
        raise CropaugError(
            f"{len(missing)} sources cannot be read from SRC {src}; pass the "
            "folder the run cropped:\n  " + "\n  ".join(missing)
        )
    if changed and not ignore_hash:
        raise CropaugError(
            f"{len(changed)} sources in SRC {src} differ from the manifest "
            "(SHA-256 mismatch), so their crops would differ; restore them, or "
            "pass --ignore-hash to crop them as they are now:\n  "
            + "\n  ".join(changed)
        )
    for source in changed:
        logger.warning("%s changed since the manifest was written", source)
    return changed


def _source_state(src: Path, image: dict) -> tuple[str, str | None]:
    """Return the source and None, "changed", or why it cannot be read."""
    source = image["source"]
    try:
        path = resolve_inside(src, source)
    except ManifestError:
        return source, "resolves outside SRC through a symbolic link"
    try:
        with path.open("rb") as file:
            digest = hashlib.file_digest(file, "sha256").hexdigest()
    except FileNotFoundError:
        return source, "missing"
    except OSError as error:
        return source, f"cannot read: {error.strerror or error}"
    return source, None if digest == image["sha256"] else "changed"


def _source_key(record: dict) -> str:
    source = record.get("source")
    return source if isinstance(source, str) else ""
