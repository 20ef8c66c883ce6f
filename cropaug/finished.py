"""Check a finished run in DST when `--resume` is given and nothing is left to do.

The manifest is read line by line in the fixed layout that `manifest.py`
writes (one top-level key, image or crop per line), so a manifest of
millions of crops is checked without loading it whole.
"""

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from cropaug.errors import DestinationError
from cropaug.manifest import MANIFEST_NAME
from cropaug.resume import describe_mismatch

_TOP_LEVEL_INDENT = "  "
_ITEM_INDENT = "    "
_CROP_INDENT = "      "


@dataclass
class FinishedRun:
    """The options, totals and lists in the manifest of a finished run."""

    params: dict
    classes: list[str]
    totals: dict
    skipped: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    clamped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def check_finished_run(dst: Path, params: dict) -> FinishedRun:
    """Check that DST contains a finished run with `params` whose crops all exist.

    Raises:
        DestinationError: when the options differ, when the manifest cannot
            be read, or when crops it lists are missing.
    """
    path = dst / MANIFEST_NAME
    try:
        run = _scan_manifest(dst, path)
    except (OSError, UnicodeDecodeError, ValueError, KeyError) as error:
        raise DestinationError(
            f"cannot read {path} as a cropaug manifest ({error}); "
            "pass --overwrite instead of --resume to start over"
        ) from None

    differences = describe_mismatch({"params": run.params}, {"params": params})
    if differences:
        raise DestinationError(
            f"cannot resume: the finished run in DST {dst} used other options. "
            + "; ".join(differences)
            + ". Rerun with the earlier options, or use --overwrite instead of "
            "--resume to start over"
        )
    if run.missing:
        raise DestinationError(
            f"{path} lists {len(run.missing)} crops that are missing, such as "
            f"{run.missing[0]}; pass --overwrite instead of --resume to rebuild DST"
        )
    return run


def read_manifest_params(path: Path) -> dict:
    """Return the `params` of a manifest, reading only up to that line.

    Raises:
        DestinationError: when the file has no params line.
    """
    prefix = _TOP_LEVEL_INDENT + '"params": '
    try:
        with path.open(encoding="utf-8") as file:
            for line in file:
                if line.startswith(prefix):
                    return json.loads(line[len(prefix) :].rstrip().rstrip(","))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise DestinationError(f"cannot read the params of {path}: {error}") from None
    raise DestinationError(f"{path} has no params; it is not a cropaug manifest")


def _scan_manifest(dst: Path, path: Path) -> FinishedRun:
    values: dict = {}
    skipped: list[dict] = []
    failed: list[dict] = []
    clamped: list[str] = []
    missing: list[str] = []
    block = None
    with path.open(encoding="utf-8") as file:
        for line in file:
            line = line.rstrip("\n")
            if line.strip().startswith("]"):
                # The end of a list of crops or of a top-level list.
                continue
            if line.startswith(_CROP_INDENT) and block == "images":
                crop = json.loads(line.strip().rstrip(","))
                if not os.path.isfile(dst / crop["path"]):
                    missing.append(crop["path"])
            elif line.startswith(_ITEM_INDENT) and block == "images":
                image = _parse_image_line(line.strip())
                if "requested" in image:
                    clamped.append(image["source"])
            elif line.startswith(_ITEM_INDENT) and block in ("skipped", "failed"):
                item = json.loads(line.strip().rstrip(","))
                (skipped if block == "skipped" else failed).append(item)
            elif line.startswith(_TOP_LEVEL_INDENT + '"'):
                key, _, value = line.strip().partition(": ")
                key = json.loads(key)
                value = value.rstrip(",")
                if value == "[":
                    block = key
                else:
                    block = None
                    values[key] = json.loads(value)
    return FinishedRun(
        params=values["params"],
        classes=values["classes"],
        totals=values["totals"],
        skipped=skipped,
        failed=failed,
        clamped=clamped,
        missing=missing,
    )


def _parse_image_line(text: str) -> dict:
    """Parse an image's opening line, which ends where its list of crops begins."""
    text = text.rstrip(",")
    if text.endswith("[]}"):
        return json.loads(text)
    return json.loads(text + "]}")
