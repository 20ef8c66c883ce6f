"""Turn a manifest's `params` back into the crop settings that wrote it."""

import dataclasses
import json
import re

from cropaug.crop import CropSettings
from cropaug.errors import ManifestError
from cropaug.expand import FORMATS
from cropaug.imaging import SUBSAMPLING

# Manifest keys whose CropSettings field has another name or value type.
_RENAMED = {"width": "crop_width", "height": "crop_height"}
_BACKGROUND_PATTERN = re.compile(r"^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$")


def settings_from_params(params: dict) -> CropSettings:
    """Rebuild the CropSettings that `expand.settings_to_params` recorded.

    A key that names a CropSettings field is passed through unchanged (a
    JSON list becomes a tuple), so options added later need no code here as
    long as the manifest key and the field share a name. A key that names
    no field is rejected, because this cropaug would ignore an option that
    changed the crops.

    Raises:
        ManifestError: for an unknown key, a missing key without a default,
            or a value of the wrong type or range.
    """
    if not isinstance(params, dict):
        raise ManifestError(f"params is {_type_name(params)}, expected an object")

    fields = {field.name: field for field in dataclasses.fields(CropSettings)}
    values = {}
    for key, value in params.items():
        name = _RENAMED.get(key, key)
        if name not in fields:
            raise ManifestError(
                f"params has {_show(key)}, an option this cropaug does not know; "
                "use the cropaug version that wrote the manifest"
            )
        values[name] = tuple(value) if isinstance(value, list) else value

    _check_known_values(values)
    if isinstance(values.get("background"), str):
        values["background"] = _parse_background(values["background"])

    missing = [
        name
        for name, field in fields.items()
        if name not in values
        and field.default is dataclasses.MISSING
        and field.default_factory is dataclasses.MISSING
    ]
    if missing:
        keys = ", ".join(_manifest_key(name) for name in missing)
        raise ManifestError(f"params lacks {keys}")
    return CropSettings(**values)


def _check_known_values(values: dict) -> None:
    """Check the type and range of every option cropaug itself records."""
    for name in ("crop_width", "crop_height", "n", "max_pixels"):
        if name in values:
            _require_int(name, values[name], minimum=1)
    if "seed" in values:
        _require_int("seed", values["seed"], minimum=0)
    if "quality" in values:
        _require_int("quality", values["quality"], minimum=1, maximum=100)
    if "format" in values and values["format"] not in FORMATS:
        raise ManifestError(
            f"params.format is {_show(values['format'])}, expected one of "
            f"{', '.join(FORMATS)}"
        )
    subsampling = values.get("subsampling")
    if subsampling is not None and subsampling not in SUBSAMPLING:
        raise ManifestError(
            f"params.subsampling is {_show(subsampling)}, expected null or one of "
            f"{', '.join(SUBSAMPLING)}"
        )
    if "lossless" in values and not isinstance(values["lossless"], bool):
        raise ManifestError(
            f"params.lossless is {_show(values['lossless'])}, expected true or false"
        )


def _require_int(
    name: str, value: object, minimum: int, maximum: int | None = None
) -> None:
    # bool is a subclass of int, but true is no crop size.
    in_range = (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value >= minimum
        and (maximum is None or value <= maximum)
    )
    if not in_range:
        bounds = f"from {minimum} to {maximum}" if maximum else f"of {minimum} or more"
        key = _manifest_key(name)
        raise ManifestError(
            f"params.{key} is {_show(value)}, expected an integer {bounds}"
        )


def _parse_background(text: str) -> tuple[int, int, int]:
    match = _BACKGROUND_PATTERN.match(text)
    if not match:
        raise ManifestError(
            f"params.background is {_show(text)}, expected a colour as #rrggbb"
        )
    red, green, blue = (int(group, 16) for group in match.groups())
    return red, green, blue


def _manifest_key(field_name: str) -> str:
    for key, name in _RENAMED.items():
        if name == field_name:
            return key
    return field_name


def _show(value: object) -> str:
    # JSON spelling, as in the manifest.
    return json.dumps(value)


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__
