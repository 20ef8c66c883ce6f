"""Relative paths from a manifest: check them, and keep them inside their folder."""

from pathlib import Path

from cropaug.errors import ManifestError


def path_problem(value: object) -> str | None:
    """Return why `value` is not a safe relative POSIX path, or None when it is."""
    if not isinstance(value, str):
        return f"is {_type_name(value)}, expected a string"
    if not value:
        return "is empty"
    if "\x00" in value:
        return "contains a NUL character"
    if "\\" in value:
        return "contains a backslash"
    if value.startswith("/"):
        return "is absolute"
    parts = value.split("/")
    if ".." in parts:
        return "contains '..'"
    if "" in parts or "." in parts:
        return "has an empty or '.' component"
    return None


def resolve_inside(root: Path, relative: str) -> Path:
    """Return `root / relative` after checking that symbolic links keep it inside root.

    `relative` must already have passed `path_problem`. The path need not
    exist, because only its existing part is resolved.

    Raises:
        ManifestError: when the path resolves outside `root`.
    """
    path = root / relative
    if not is_inside(root, path):
        raise ManifestError(
            f"{path} resolves to {path.resolve()}, outside {root}, through a "
            "symbolic link; remove the link or copy the files into the folder"
        )
    return path


def is_inside(root: Path, path: Path) -> bool:
    """Return whether `path`, with symbolic links resolved, lies inside `root`."""
    try:
        real_root = root.resolve()
        real = path.resolve()
    except (OSError, RuntimeError):
        # Python 3.11 raises RuntimeError for a symbolic link loop.
        return False
    return real == real_root or real_root in real.parents


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__
