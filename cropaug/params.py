"""Turn a manifest's `params` back into the crop settings that wrote it."""

import dataclasses
import json
import re
from pathlib import Path

from cropaug.boxes import RESAMPLING
from cropaug.crop import CropSettings
from cropaug.errors import InvalidParameterError, ManifestError
from cropaug.expansion import FORMATS
from cropaug.imaging import SUBSAMPLING
from cropaug.modes import MODES, validate_mode_settings

# Manifest keys whose CropSettings field has another name or value type.
_RENAMED = {"width": "crop_width", "height": "crop_height", "masks": "mask_root"}
_BACKGROUND_PATTERN = re.compile(r"^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$")


def settings_from_params(
    params: dict, mask_root: Path | None = None, mask_out: Path | None = None
) -> CropSettings:
    """Rebuild the CropSettings that `expand.settings_to_params` recorded.

    A key that names a CropSettings field is passed through unchanged (a
    JSON list becomes a tuple), so options added later need no code here as
    long as the manifest key and the field share a name. A key that names
    no field is rejected, because this cropaug would ignore an option that
    changed the crops.

    `masks` and `mask_out` record whether a run cropped masks and where it
    wrote them, not folders of this machine. The settings therefore get
    `mask_root` and `mask_out` as the caller passes them (see
    `with_mask_folders`). A `stride` equal to the crop size becomes None,
    the default it stands for.

    Raises:
        ManifestError: for an unknown key, a missing key without a default,
            or a value of the wrong type or range.
        InvalidParameterError: when `mask_root` is given for a run without
            masks, or without `mask_out`.
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
    _check_mode_values(values)
    if isinstance(values.get("background"), str):
        values["background"] = _parse_background(values["background"])
    # The recorded mask folders describe the original run, so
    # with_mask_folders sets the folders of this machine instead.
    values.pop("mask_root", None)
    values.pop("mask_out", None)
    if values.get("stride") == (values.get("crop_width"), values.get("crop_height")):
        values["stride"] = None

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
    settings = CropSettings(**values)
    try:
        validate_mode_settings(settings)
    except InvalidParameterError as error:
        raise ManifestError(f"params are invalid: {error}") from None
    return with_mask_folders(settings, params, mask_root, mask_out)


def with_mask_folders(
    settings: CropSettings,
    params: dict,
    mask_root: Path | None,
    mask_out: Path | None,
) -> CropSettings:
    """Return `settings` set to crop masks from `mask_root` into `mask_out`.

    With `mask_root` None the settings crop the images alone, whatever
    `params` records.

    Raises:
        InvalidParameterError: when `mask_root` is given but `params` records
            a run without masks, or `mask_out` is missing.
    """
    if mask_root is None:
        return dataclasses.replace(settings, mask_root=None, mask_out=None)
    if params.get("masks") is not True:
        raise InvalidParameterError(
            "the manifest records no masks (params.masks is false), so there "
            "are no mask crops; leave out MASK_ROOT (--masks)"
        )
    if mask_out is None:
        raise InvalidParameterError(
            "mask_out is required with mask_root: the folder for the mask crops"
        )
    return dataclasses.replace(
        settings, mask_root=Path(mask_root), mask_out=Path(mask_out)
    )


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


def _check_mode_values(values: dict) -> None:
    """Check the types of the crop-mode options, before their ranges are checked."""
    if "mode" in values and values["mode"] not in MODES:
        raise ManifestError(
            f"params.mode is {_show(values['mode'])}, expected one of "
            f"{', '.join(MODES)}"
        )
    if "resample" in values and values["resample"] not in RESAMPLING:
        raise ManifestError(
            f"params.resample is {_show(values['resample'])}, expected one of "
            f"{', '.join(RESAMPLING)}"
        )
    for name in ("scale", "ratio"):
        if name in values and not _is_pair(values[name], _is_number):
            raise ManifestError(
                f"params.{name} is {_show(values[name])}, expected [min, max] numbers"
            )
    if "stride" in values and not _is_pair(values["stride"], _is_positive_int):
        raise ManifestError(
            f"params.stride is {_show(values['stride'])}, expected [x, y] integers "
            "of 1 or more"
        )
    if "hflip" in values and not _is_number(values["hflip"]):
        raise ManifestError(
            f"params.hflip is {_show(values['hflip'])}, expected a number from 0 to 1"
        )
    if "min_shift" in values:
        _require_int("min_shift", values["min_shift"], minimum=1)

    masks = values.get("mask_root", False)
    if not isinstance(masks, bool):
        raise ManifestError(f"params.masks is {_show(masks)}, expected true or false")
    mask_out = values.get("mask_out")
    if masks and not (isinstance(mask_out, str) and mask_out):
        raise ManifestError(
            f"params.mask_out is {_show(mask_out)}, expected the mask folder "
            "relative to DST, because params.masks is true"
        )
    if not masks and mask_out is not None:
        raise ManifestError(
            f"params.mask_out is {_show(mask_out)}, expected null, because "
            "params.masks is false"
        )


def _is_pair(value: object, is_item) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and all(map(is_item, value))


def _is_number(value: object) -> bool:
    # bool is a subclass of int, but true is no number of pixels or ratio.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


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
