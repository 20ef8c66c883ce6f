"""Check a manifest read from elsewhere before any file is read or written for it.

A manifest may come from someone else, so every path in it must stay inside
the folder it is relative to, and every box must lie inside its source.
"""

import json
import re
import unicodedata
from pathlib import Path

from cropaug.crop import CropSettings
from cropaug.errors import ManifestError
from cropaug.imaging import EXTENSIONS
from cropaug.manifest import MANIFEST_NAME, load_manifest
from cropaug.params import settings_from_params

# A rejected manifest lists this many problems, then a count of the rest.
MAX_LISTED_PROBLEMS = 20
# Longer values are cut short in messages.
MAX_SHOWN = 120

_SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")


def path_problem(value: object) -> str | None:
    """Return why `value` is not a safe relative POSIX path, or None when it is."""
    if not isinstance(value, str):
        return f"is {_type_name(value)}, expected a string"
    if not value:
        return "is empty"
    if "\x00" in value:
        return "contains a NUL character"
    if "\\" in value:
        return "contains a backslash"
    if value.startswith("/"):
        return "is absolute"
    parts = value.split("/")
    if ".." in parts:
        return "contains '..'"
    if "" in parts or "." in parts:
        return "has an empty or '.' component"
    return None


def resolve_inside(root: Path, relative: str) -> Path:
    """Return `root / relative` after checking that symbolic links keep it inside root.

    `relative` must already have passed `path_problem`. The path need not
    exist, because only its existing part is resolved.

    Raises:
        ManifestError: when the path resolves outside `root`.
    """
    path = root / relative
    if not is_inside(root, path):
        raise ManifestError(
            f"{path} resolves to {path.resolve()}, outside {root}, through a "
            "symbolic link; remove the link or copy the files into the folder"
        )
    return path


def is_inside(root: Path, path: Path) -> bool:
    """Return whether `path`, with symbolic links resolved, lies inside `root`."""
    try:
        real_root = root.resolve()
        real = path.resolve()
    except (OSError, RuntimeError):
        # Python 3.11 raises RuntimeError for a symbolic link loop.
        return False
    return real == real_root or real_root in real.parents


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

    Without settings, crop sizes are checked for type but not against params.
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

    crop_paths: dict[str, str] = {}
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
        problems += _image_problems(where, image, settings, crop_paths)
    return problems


def _image_problems(
    where: str,
    image: dict,
    settings: CropSettings | None,
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
        problems += _crop_path_problems(crop_where, crop.get("path"), crop_paths)
        problems += _box_problems(crop_where, crop, image, settings, size_known)
    return problems


def _crop_path_problems(
    where: str, path: object, crop_paths: dict[str, str]
) -> list[str]:
    problem = path_problem(path)
    if problem:
        return [f"{where}.path {_show(path)} {problem}"]
    assert isinstance(path, str)
    if path == MANIFEST_NAME:
        return [f"{where}.path {_show(path)} is the manifest's own name"]
    # Two paths that differ only in case or Unicode form name one file on
    # macOS and Windows, so one crop would overwrite the other.
    key = unicodedata.normalize("NFC", path).casefold()
    if key in crop_paths:
        return [f"{where}.path {_show(path)} repeats {crop_paths[key]}"]
    crop_paths[key] = where
    return []


def _box_problems(
    where: str,
    crop: dict,
    image: dict,
    settings: CropSettings | None,
    size_known: bool,
) -> list[str]:
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
        elif settings is not None:
            # write_crops cuts every crop of a run at the size in params.
            expected = settings.crop_width if key == "width" else settings.crop_height
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
