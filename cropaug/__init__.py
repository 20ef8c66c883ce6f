"""Offline random-crop augmentation with unique, reproducible, recorded crops."""

import importlib
import sys
import types
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

# Submodules that share their name with the public function they define.
_FUNCTION_MODULES = ("expand", "merge")


class _Package(types.ModuleType):
    """The `cropaug` package, which keeps `expand` and `merge` bound to functions.

    Loading the submodule `cropaug.expand` makes the import system set the
    package attribute `expand` to that module, which would hide the public
    function. This class stores the module's function in its place.
    """

    def __setattr__(self, name: str, value) -> None:
        if name in _FUNCTION_MODULES and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


# NOTE: `import cropaug.expand as module` therefore gives the function. Use
# `from cropaug.expand import ...` to reach the module's other names.
sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    module_name = _LAZY_NAMES.get(name)
    if module_name is None:
        raise AttributeError(f"module 'cropaug' has no attribute {name!r}")
    return getattr(importlib.import_module(module_name), name)
