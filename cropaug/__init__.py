"""Offline random-crop augmentation with unique, reproducible, recorded crops."""

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = ["CropaugError", "ExpandSummary", "__version__", "expand", "merge"]

if TYPE_CHECKING:
    from cropaug.errors import CropaugError
    from cropaug.expand import ExpandSummary, expand
    from cropaug.merge import merge

# Public names imported on first use, so that `cropaug --help` does not pay
# for numpy and Pillow.
_LAZY_NAMES = {
    "CropaugError": "cropaug.errors",
    "ExpandSummary": "cropaug.expand",
    "expand": "cropaug.expand",
    "merge": "cropaug.merge",
}


def __getattr__(name: str):
    module_name = _LAZY_NAMES.get(name)
    if module_name is None:
        raise AttributeError(f"module 'cropaug' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    # Importing the submodule cropaug.expand binds the package attribute
    # `expand` to that module; the function replaces it.
    # NOTE: code that imports the submodule before first reading
    # `cropaug.expand` or `cropaug.merge` finds the module there instead.
    globals()[name] = value
    return value
