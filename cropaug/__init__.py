"""Offline random-crop augmentation with unique, reproducible, recorded crops."""

import importlib
import sys
import types
from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = ["CropaugError", "ExpandSummary", "__version__", "expand"]

if TYPE_CHECKING:
    from cropaug.errors import CropaugError
    from cropaug.expand import ExpandSummary, expand


class _Package(types.ModuleType):
    """The `cropaug` package, which keeps the function `expand` under its name.

    Loading the submodule `cropaug.expand` makes the import system set the
    package attribute `expand` to that module, which would hide the public
    function. This class stores the module's function in its place.
    """

    def __setattr__(self, name: str, value) -> None:
        if name == "expand" and isinstance(value, types.ModuleType):
            value = value.expand
        super().__setattr__(name, value)


# NOTE: `import cropaug.expand as module` therefore gives the function. Use
# `from cropaug.expand import ...` to reach the module's other names.
sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    # Imported on first use so that `cropaug --help` does not pay for numpy
    # and Pillow.
    if name in ("expand", "ExpandSummary"):
        return getattr(importlib.import_module("cropaug.expand"), name)
    if name == "CropaugError":
        from cropaug.errors import CropaugError

        return CropaugError
    raise AttributeError(f"module 'cropaug' has no attribute {name!r}")
