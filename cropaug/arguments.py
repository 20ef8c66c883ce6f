"""Check the types of `cropaug.expand`'s arguments before any of them is used.

Without these checks a wrong type surfaces as a TypeError deep in the run,
after DST is created. Some wrong types were accepted, such as "no" for
`lossless`, and recorded in a manifest that cropaug's own params check
rejects. numpy scalars are accepted and turned into Python numbers, so that
the manifest can be written as JSON.
"""

import numbers

from cropaug.errors import InvalidParameterError


def require_integer(name: str, value: object, optional: bool = False) -> int | None:
    """Return `value` as an int, or None when it is None and `optional`.

    Raises:
        InvalidParameterError: for a bool, a float, a string or any other
            value that is not an integer.
    """
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidParameterError(f"{name} must be an integer, not {value!r}")
    return int(value)


def require_number(name: str, value: object) -> float:
    """Return `value` as a float, or raise InvalidParameterError for a non-number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(f"{name} must be a number, not {value!r}")
    return float(value)


def require_flag(name: str, value: object) -> bool:
    """Return `value`, or raise InvalidParameterError unless it is True or False."""
    if not isinstance(value, bool):
        raise InvalidParameterError(f"{name} must be True or False, not {value!r}")
    return value


def require_text(name: str, value: object) -> str:
    """Return `value`, or raise InvalidParameterError unless it is a string."""
    if not isinstance(value, str):
        raise InvalidParameterError(f"{name} must be a string, not {value!r}")
    return value
