"""Check that a run's outputs, and its mask crops, are what its manifest records.

Every crop is regenerated from its source into a temporary folder, by the
code `reproduce` uses, and compared with the crop in DST as `compare`
describes: the same pixels, or for lossy crops under other library
versions, within LOSSY_TOLERANCE. Given MASK_ROOT, every mask crop is
regenerated from its mask and must have the same labels. Without it, the
mask crops' files are checked but not their labels.
"""

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cropaug.compare import LOSSY_TOLERANCE, ExpectedCrop, crop_file_problem
from cropaug.crop import CropSettings
from cropaug.errors import ImageError, InvalidParameterError, ManifestError
from cropaug.files import TEMP_PREFIX, TEMP_SUFFIX
from cropaug.manifest import MANIFEST_NAME
from cropaug.params import with_mask_folders
from cropaug.pool import run_tasks
from cropaug.progress import PROGRESS_NAME
from cropaug.recorded_images import load_recorded_source, write_recorded_crops
from cropaug.recorded_masks import (
    CROP_MASK_FIELD,
    load_recorded_mask,
    recorded_mask_folder,
    write_recorded_mask_crops,
)
from cropaug.reproduce import version_differences
from cropaug.validate import load_checked_manifest

logger = logging.getLogger(__name__)


@dataclass(frozen=True, order=True)
class Problem:
    """One way an output or source differs from the manifest."""

    path: str
    message: str


@dataclass
class VerifyReport:
    """Outcome of checking a run against its manifest; `problems` lists each fault."""

    dst: Path
    images: int
    crops: int
    # Allowed tile difference for lossy crops, 0.0 when the versions match.
    tolerance: float
    version_differences: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Folder of the run's mask crops, None for a run without masks; the mask
    # crops' labels were compared with their masks only when masks_compared.
    mask_out: Path | None = None
    masks_compared: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(
    dst: str | os.PathLike,
    src: str | os.PathLike,
    *,
    masks: str | os.PathLike | None = None,
    mask_out: str | os.PathLike | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> VerifyReport:
    """Check every crop, source and file of a run against DST/manifest.json.

    Args:
        masks: MASK_ROOT, the mask tree of a run that cropped masks. Without
            it, such a run's mask crops are checked for existence, format,
            size and mode only, and a warning is logged.
        mask_out: the folder of the mask crops, when they were moved from
            where the manifest records them (params.mask_out, relative to
            DST).

    Raises:
        ManifestError: when the manifest is invalid or unsafe; no file is
            read for it then.
        InvalidParameterError: when `masks` or `mask_out` is given for a run
            without masks.
        CropaugError: when the manifest is missing or unreadable.
    """
    dst_path, src_path = Path(dst), Path(src)
    manifest, settings = load_checked_manifest(dst_path / MANIFEST_NAME)
    assert settings is not None
    params = manifest["params"]
    mask_folder = recorded_mask_folder(dst_path, params)
    if mask_out is not None:
        if mask_folder is None:
            raise InvalidParameterError(
                "the manifest records no masks (params.masks is false), so there "
                "are no mask crops; leave out the mask folder (--mask-out)"
            )
        mask_folder = Path(mask_out)
    if masks is not None:
        settings = with_mask_folders(settings, params, Path(masks), mask_folder)
    elif mask_folder is not None:
        logger.warning(
            "the manifest records mask crops, but no MASK_ROOT was given "
            "(--masks), so their files are checked but not their labels"
        )
    differences = version_differences(manifest)
    tolerance = LOSSY_TOLERANCE if differences else 0.0
    workers = workers or os.cpu_count() or 1

    images = manifest["images"]
    problems = stray_problems(dst_path, manifest)
    if mask_folder is not None:
        problems += stray_problems(mask_folder, manifest, masks=True)
    shared = (src_path, dst_path, settings, tolerance, mask_folder)
    tasks = run_tasks(verify_image, shared, images, workers, progress, "verifying")
    for image_problems in tasks:
        problems += image_problems

    return VerifyReport(
        dst=dst_path,
        images=len(images),
        crops=sum(len(image["crops"]) for image in images),
        tolerance=tolerance,
        version_differences=differences,
        problems=sorted(problems),
        mask_out=mask_folder,
        masks_compared=settings.mask_root is not None,
    )


def verify_image(
    src: Path,
    dst: Path,
    settings: CropSettings,
    tolerance: float,
    mask_folder: Path | None,
    image: dict,
) -> list[Problem]:
    """Check one manifest image's source, crops and mask crops; return the problems.

    `mask_folder` is where the run's mask crops are, or None for a run
    without masks. Their labels are compared when `settings.mask_root` is set.
    """
    problems = []
    size = (settings.crop_width, settings.crop_height)
    with tempfile.TemporaryDirectory(prefix=".cropaug-verify-") as folder:
        rebuilt_root: Path | None = Path(folder) / "crops"
        try:
            decoded, plan, _ = load_recorded_source(
                src, image, settings, check_hash=True
            )
            write_recorded_crops(rebuilt_root, decoded, plan, settings, image)
        except (ImageError, ManifestError) as error:
            problems.append(Problem(str(src / image["source"]), str(error)))
            rebuilt_root = None

        lossless = image["output_format"] in ("PNG", "BMP") or (
            image["output_format"] == "WEBP" and settings.lossless
        )
        for crop in image["crops"]:
            rebuilt = rebuilt_root / crop["path"] if rebuilt_root else None
            expected = ExpectedCrop(
                image["output_format"], size, image["output_mode"], rebuilt, lossless
            )
            problem = crop_file_problem(dst, crop["path"], "DST", expected, tolerance)
            if problem:
                problems.append(Problem(str(dst / crop["path"]), problem))

        if mask_folder is not None:
            scratch = Path(folder) / "masks"
            problems += _mask_problems(settings, mask_folder, scratch, image)
    return problems


def _mask_problems(
    settings: CropSettings, mask_folder: Path, scratch: Path, image: dict
) -> list[Problem]:
    """Check one image's mask crops, comparing labels when MASK_ROOT is known."""
    problems = []
    size = (settings.crop_width, settings.crop_height)
    rebuilt_root = None
    if settings.mask_root is not None:
        try:
            mask = load_recorded_mask(
                settings.mask_root, image, settings.max_pixels, check_hash=True
            )
            write_recorded_mask_crops(scratch, mask, image, size)
            rebuilt_root = scratch
        except (ImageError, ManifestError) as error:
            path = settings.mask_root / image["mask_source"]
            problems.append(Problem(str(path), str(error)))

    for crop in image["crops"]:
        relative = crop[CROP_MASK_FIELD]
        rebuilt = rebuilt_root / relative if rebuilt_root else None
        expected = ExpectedCrop(
            "PNG", size, image["mask_mode"], rebuilt, True, labels=True, origin="mask"
        )
        problem = crop_file_problem(mask_folder, relative, "MASK_OUT", expected, 0.0)
        if problem:
            problems.append(Problem(str(mask_folder / relative), problem))
    return problems


def stray_problems(dst: Path, manifest: dict, masks: bool = False) -> list[Problem]:
    """Return a problem for every file and empty folder in DST the manifest lacks.

    With `masks`, `dst` is the folder of the mask crops, and the crops'
    `mask` paths are the files expected in it.
    """
    expected = set() if masks else {MANIFEST_NAME}
    key = CROP_MASK_FIELD if masks else "path"
    folders = set(manifest["classes"])
    for image in manifest["images"]:
        for crop in image["crops"]:
            expected.add(crop[key])
            parts = crop[key].split("/")
            folders.update("/".join(parts[:end]) for end in range(1, len(parts)))

    problems = []
    for folder, subfolders, files in os.walk(dst):
        relative = Path(folder).relative_to(dst).as_posix()
        prefix = "" if relative == "." else f"{relative}/"
        for name in subfolders:
            if os.path.islink(os.path.join(folder, name)):
                problems.append(
                    Problem(str(dst / f"{prefix}{name}"), "stray symbolic link")
                )
        for name in files:
            if f"{prefix}{name}" not in expected:
                problems.append(Problem(str(dst / f"{prefix}{name}"), _stray(name)))
        if not subfolders and not files and relative not in folders | {"."}:
            problems.append(Problem(str(dst / relative), "stray empty folder"))
    return problems


def _stray(name: str) -> str:
    if name == PROGRESS_NAME or (
        name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)
    ):
        return "stray file left by an interrupted cropaug run"
    return "stray file, not in the manifest"
