"""Check a manifest read from elsewhere before any file is read or written for it.

A manifest may come from someone else, so every path in it must stay inside
the folder it is relative to, and every box must lie inside its source.
Only `params.mask_out` may climb out of DST with '..', because a run writes
its mask crops beside DST by default.
"""

import json
import re
import unicodedata
from pathlib import Path

from cropaug.crop import CropSettings
from cropaug.errors import ManifestError
from cropaug.imaging import EXTENSIONS
from cropaug.manifest import MANIFEST_NAME, load_manifest
from cropaug.masks import mask_crop_path
from cropaug.modes import FIXED_SIZE_MODES
from cropaug.params import settings_from_params
from cropaug.paths import path_problem

# A rejected manifest lists this many problems, then a count of the rest.
MAX_LISTED_PROBLEMS = 20
# Longer values are cut short in messages.
MAX_SHOWN = 120

_SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")


def load_checked_manifest(
    path: Path, *, settings_required: bool = True
) -> tuple[dict, CropSettings | None]:
    """Read a manifest, rebuild its settings and check every path and box in it.

    With `settings_required` False, params this cropaug cannot turn into
    settings are accepted (for reading a newer run's manifest) and None is
    returned in place of the settings.

    Raises:
        ManifestError: listing every problem found, when any path is unsafe,
            any box lies outside its source, or a field has the wrong type.
        CropaugError: when the file is not a readable cropaug manifest.
    """
    manifest = load_manifest(path)
    try:
        settings = settings_from_params(manifest.get("params"))
    except ManifestError as error:
        if settings_required:
            raise ManifestError(f"{path}: {error}") from None
        settings = None
    problems = manifest_problems(manifest, settings)
    if problems:
        listed = problems[:MAX_LISTED_PROBLEMS]
        if len(problems) > len(listed):
            listed.append(f"... and {len(problems) - len(listed)} more")
        raise ManifestError(
            f"{path} is invalid or unsafe, so no file was read or written "
            "for it:\n  " + "\n  ".join(listed)
        )
    return manifest, settings


def manifest_problems(manifest: dict, settings: CropSettings | None) -> list[str]:
    """Return one line per invalid or unsafe field of a manifest.

    Without settings, box sizes are checked for type but not against params.
    When `params.masks` is true, every image must record its mask and every
    crop its mask crop.
    """
    problems = []
    for key in ("classes", "images", "skipped", "failed"):
        if not isinstance(manifest.get(key), list):
            problems.append(f"{key} is missing or not a list")
    for key in ("params", "library_versions"):
        if not isinstance(manifest.get(key), dict):
            problems.append(f"{key} is missing or not an object")
    if problems:
        return problems

    for key, field in (("skipped", "reason"), ("failed", "error")):
        for index, item in enumerate(manifest[key]):
            if not (
                isinstance(item, dict)
                and isinstance(item.get("source"), str)
                and isinstance(item.get(field), str)
            ):
                problems.append(
                    f"{key}[{index}] is {_show(item)}, expected an object with "
                    f"string source and {field}"
                )

    for index, class_name in enumerate(manifest["classes"]):
        where = f"classes[{index}] {_show(class_name)}"
        problem = path_problem(class_name)
        if problem:
            problems.append(f"{where} {problem}")
        elif "/" in class_name:
            problems.append(f"{where} contains '/'; a class is one folder name")

    masks = manifest["params"].get("masks") is True
    if masks:
        problems += _mask_out_problems(manifest["params"].get("mask_out"))
    crop_size = None
    if settings is not None and settings.mode in FIXED_SIZE_MODES:
        crop_size = (settings.crop_width, settings.crop_height)

    crop_paths: dict[str, str] = {}
    mask_paths: dict[str, str] = {}
    sources: dict[str, str] = {}
    for index, image in enumerate(manifest["images"]):
        where = f"images[{index}]"
        if not isinstance(image, dict):
            problems.append(f"{where} is {_type_name(image)}, expected an object")
            continue
        source = image.get("source")
        if isinstance(source, str) and source in sources:
            problems.append(f"{where}.source {_show(source)} repeats {sources[source]}")
        elif isinstance(source, str):
            sources[source] = where
        problems += _image_problems(where, image, crop_size, crop_paths)
        if masks:
            problems += _mask_problems(where, image, mask_paths)
    return problems


def _image_problems(
    where: str,
    image: dict,
    crop_size: tuple[int, int] | None,
    crop_paths: dict[str, str],
) -> list[str]:
    problems = []
    source = image.get("source")
    problem = path_problem(source)
    if problem:
        problems.append(f"{where}.source {_show(source)} {problem}")
    for key in ("width", "height"):
        value = image.get(key)
        if not _is_int(value, minimum=1):
            problems.append(
                f"{where}.{key} is {_show(value)}, expected an integer of 1 or more"
            )
    sha256 = image.get("sha256")
    if not (isinstance(sha256, str) and _SHA256_PATTERN.match(sha256)):
        problems.append(f"{where}.sha256 is {_show(sha256)}, expected 64 hex digits")
    for key in ("class_name", "output_mode"):
        if not isinstance(image.get(key), str):
            problems.append(
                f"{where}.{key} is {_show(image.get(key))}, expected a string"
            )
    for key in ("positions", "frames", "requested"):
        value = image.get(key)
        if key in image and not _is_int(value, minimum=1):
            problems.append(
                f"{where}.{key} is {_show(value)}, expected an integer of 1 or more"
            )
    output_format = image.get("output_format")
    if output_format not in EXTENSIONS:
        problems.append(
            f"{where}.output_format is {_show(output_format)}, expected one of "
            f"{', '.join(EXTENSIONS)}"
        )
    crops = image.get("crops")
    if not isinstance(crops, list):
        problems.append(f"{where}.crops is missing or not a list")
        return problems

    size_known = _is_int(image.get("width"), 1) and _is_int(image.get("height"), 1)
    for index, crop in enumerate(crops):
        crop_where = f"{where}.crops[{index}]"
        if not isinstance(crop, dict):
            problems.append(f"{crop_where} is {_type_name(crop)}, expected an object")
            continue
        problems += _unique_path_problems(
            f"{crop_where}.path", crop.get("path"), crop_paths
        )
        problems += _box_problems(crop_where, crop, image, crop_size, size_known)
        for key in ("flipped", "center_fallback"):
            if key in crop and not isinstance(crop[key], bool):
                problems.append(
                    f"{crop_where}.{key} is {_show(crop[key])}, expected true or false"
                )
    return problems


def _mask_problems(where: str, image: dict, mask_paths: dict[str, str]) -> list[str]:
    """Check the mask fields of an image of a run with params.masks true."""
    problems = []
    mask_source = image.get("mask_source")
    problem = path_problem(mask_source)
    if problem:
        problems.append(f"{where}.mask_source {_show(mask_source)} {problem}")
    mask_sha256 = image.get("mask_sha256")
    if not (isinstance(mask_sha256, str) and _SHA256_PATTERN.match(mask_sha256)):
        problems.append(
            f"{where}.mask_sha256 is {_show(mask_sha256)}, expected 64 hex digits"
        )
    if not isinstance(image.get("mask_mode"), str):
        problems.append(
            f"{where}.mask_mode is {_show(image.get('mask_mode'))}, expected a string"
        )
    crops = image.get("crops")
    if not isinstance(crops, list):
        return problems

    for index, crop in enumerate(crops):
        if not isinstance(crop, dict):
            continue
        mask_where = f"{where}.crops[{index}].mask"
        mask = crop.get("mask")
        path = crop.get("path")
        # expand writes every mask crop at its crop's path as PNG.
        if isinstance(path, str) and path_problem(path) is None:
            expected = mask_crop_path(path)
            if mask != expected:
                problems.append(
                    f"{mask_where} is {_show(mask)}, expected {_show(expected)}, "
                    "the crop's path with the extension .png"
                )
                continue
        problems += _unique_path_problems(mask_where, mask, mask_paths)
    return problems


def _mask_out_problems(mask_out: object) -> list[str]:
    """Check params.mask_out, the mask folder relative to DST, which may use '..'."""
    where = f"params.mask_out {_show(mask_out)}"
    if not isinstance(mask_out, str) or not mask_out:
        return [f"{where} is not a folder relative to DST"]
    for character, problem in (("\x00", "a NUL character"), ("\\", "a backslash")):
        if character in mask_out:
            return [f"{where} contains {problem}"]
    if mask_out.startswith("/"):
        return [f"{where} is absolute"]
    return []


def _unique_path_problems(where: str, path: object, seen: dict[str, str]) -> list[str]:
    """Check a crop's or mask crop's path, and that no earlier one names its file."""
    problem = path_problem(path)
    if problem:
        return [f"{where} {_show(path)} {problem}"]
    assert isinstance(path, str)
    if path == MANIFEST_NAME:
        return [f"{where} {_show(path)} is the manifest's own name"]
    # Two paths that differ only in case or Unicode form name one file on
    # macOS and Windows, so one crop would overwrite the other.
    key = unicodedata.normalize("NFC", path).casefold()
    if key in seen:
        return [f"{where} {_show(path)} repeats {seen[key]}"]
    seen[key] = where.removesuffix(".path")
    return []


def _box_problems(
    where: str,
    crop: dict,
    image: dict,
    crop_size: tuple[int, int] | None,
    size_known: bool,
) -> list[str]:
    """Check a crop's box: integers, inside the source, of the crop size if fixed.

    `crop_size` is None when box sizes may vary (resized mode) or are unknown.
    """
    problems = []
    for key in ("x", "y"):
        value = crop.get(key)
        if not _is_int(value, minimum=0):
            problems.append(
                f"{where}.{key} is {_show(value)}, expected an integer of 0 or more"
            )
    for key in ("width", "height"):
        value = crop.get(key)
        if not _is_int(value, minimum=1):
            problems.append(
                f"{where}.{key} is {_show(value)}, expected an integer of 1 or more"
            )
        elif crop_size is not None:
            # Every mode but resized cuts its boxes at the size in params.
            expected = crop_size[0] if key == "width" else crop_size[1]
            if value != expected:
                problems.append(f"{where}.{key} is {value}, params records {expected}")
    if problems or not size_known:
        return problems

    right = crop["x"] + crop["width"]
    bottom = crop["y"] + crop["height"]
    if right > image["width"] or bottom > image["height"]:
        problems.append(
            f"{where} box ({crop['x']}, {crop['y']}, {right}, {bottom}) lies outside "
            f"the {image['width']}x{image['height']} source"
        )
    return problems


def _is_int(value: object, minimum: int) -> bool:
    # bool is a subclass of int, but true is no coordinate.
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _show(value: object) -> str:
    """Return a value as JSON spells it, shortened to MAX_SHOWN characters.

    JSON escapes keep control characters in a crafted name from acting on
    the terminal that prints the message.
    """
    text = json.dumps(value)
    if len(text) > MAX_SHOWN:
        return text[: MAX_SHOWN - 3] + "..."
    return text


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__
