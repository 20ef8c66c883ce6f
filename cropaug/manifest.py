"""Write and read `manifest.json`, the record of every crop a run wrote.

The layout is fixed so that identical runs give identical bytes: top-level
keys in a fixed order, one image per line followed by one crop per line, and
no timestamps, host names, durations or absolute paths.
"""

import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from cropaug.errors import CropaugError
from cropaug.files import open_atomic

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1


def library_versions() -> dict[str, str]:
    """Return the versions of the libraries whose output the crops depend on."""
    import numpy
    import PIL

    from cropaug.jpeg import simplejpeg_version

    versions = {"numpy": numpy.__version__, "pillow": PIL.__version__}
    # simplejpeg encodes the crops of JPEG sources written as JPEG whenever it
    # is installed (see cropaug.jpeg).
    simplejpeg = simplejpeg_version()
    if simplejpeg is not None:
        versions["simplejpeg"] = simplejpeg
    return versions


def write_manifest(
    dst: Path,
    params: dict,
    classes: list[str],
    images: Iterable[dict],
    skipped: list[dict],
    failed: list[dict],
) -> dict[str, int]:
    """Write DST/manifest.json atomically and return its totals.

    `images` must be sorted by source; they are streamed to the file, so the
    caller may pass a generator.
    """
    from cropaug import __version__

    totals = {"images": 0, "crops": 0, "skipped": len(skipped), "failed": len(failed)}
    with open_atomic(dst / MANIFEST_NAME) as file:
        file.write("{\n")
        file.write(f'  "format_version": {FORMAT_VERSION},\n')
        file.write(f'  "cropaug_version": {_dumps(__version__)},\n')
        file.write(f'  "library_versions": {_dumps(library_versions())},\n')
        file.write(f'  "params": {_dumps(params)},\n')
        file.write(f'  "classes": {_dumps(classes)},\n')
        file.write('  "images": [')
        for count, image in enumerate(images):
            file.write(",\n" if count else "\n")
            _write_image(file, image)
            totals["images"] += 1
            totals["crops"] += len(image["crops"])
        file.write("\n  ],\n" if totals["images"] else "],\n")
        _write_list(file, "skipped", skipped)
        file.write(",\n")
        _write_list(file, "failed", failed)
        file.write(",\n")
        file.write(f'  "totals": {_dumps(totals)}\n')
        file.write("}\n")
    return totals


def load_manifest(path: Path) -> dict:
    """Read a manifest.

    Raises:
        CropaugError: when the file is missing, is not JSON, or is not a
            cropaug manifest of a version this release reads.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CropaugError(
            f"{path} does not exist; pass the manifest.json of a run"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise CropaugError(f"cannot read {path}: {error}") from None
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as error:
        raise CropaugError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(manifest, dict) or "format_version" not in manifest:
        raise CropaugError(f"{path} is not a cropaug manifest (no format_version)")
    if manifest["format_version"] != FORMAT_VERSION:
        raise CropaugError(
            f"{path} has format_version {manifest['format_version']!r}; "
            f"this cropaug reads version {FORMAT_VERSION}"
        )
    return manifest


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _write_image(file: IO[str], image: dict) -> None:
    fields = {key: value for key, value in image.items() if key != "crops"}
    opening = _dumps(fields)[:-1]
    crops = image["crops"]
    file.write(f'    {opening}, "crops": [')
    for index, crop in enumerate(crops):
        file.write(",\n" if index else "\n")
        file.write(f"      {_dumps(crop)}")
    file.write("\n    ]}" if crops else "]}")


def _write_list(file: IO[str], key: str, items: list[dict]) -> None:
    if not items:
        file.write(f'  "{key}": []')
        return
    rows = ",\n".join(f"    {_dumps(item)}" for item in items)
    file.write(f'  "{key}": [\n{rows}\n  ]')
