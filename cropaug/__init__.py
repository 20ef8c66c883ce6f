"""Offline random-crop augmentation with unique, reproducible, recorded crops."""

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = ["CropaugError", "ExpandSummary", "__version__", "expand", "merge"]

if TYPE_CHECKING:
    from cropaug.errors import CropaugError
    from cropaug.expansion import ExpandSummary, expand
    from cropaug.merging import merge

# Public names imported on first use, so that `cropaug --help` does not pay
# for numpy and Pillow.
_LAZY_NAMES = {
    "CropaugError": "cropaug.errors",
    "ExpandSummary": "cropaug.expansion",
    "expand": "cropaug.expansion",
    "merge": "cropaug.merging",
}


def __getattr__(name: str):
    module_name = _LAZY_NAMES.get(name)
    if module_name is None:
        raise AttributeError(f"module 'cropaug' has no attribute {name!r}")
    return getattr(importlib.import_module(module_name), name)
