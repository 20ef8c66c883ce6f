"""Offline random-crop augmentation with unique, reproducible, recorded crops."""

from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = ["CropaugError", "ExpandSummary", "__version__", "expand"]

if TYPE_CHECKING:
    from cropaug.errors import CropaugError
    from cropaug.expand import ExpandSummary, expand


def __getattr__(name: str):
    # Imported on first use so that `cropaug --help` does not pay for numpy
    # and Pillow.
    if name in ("expand", "ExpandSummary"):
        from cropaug import expand as expand_module

        return getattr(expand_module, name)
    if name == "CropaugError":
        from cropaug.errors import CropaugError

        return CropaugError
    raise AttributeError(f"module 'cropaug' has no attribute {name!r}")
