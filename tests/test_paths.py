"""Tests for cropaug.paths: relative paths of a manifest from elsewhere."""

import pytest

from cropaug.errors import ManifestError
from cropaug.paths import is_inside, path_problem, resolve_inside


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("cats/a_c00.jpg", None),
        ("cats/..a.jpg", None),
        ("cats/ü.jpg", None),
        ("../../x", "contains '..'"),
        ("cats/../../x", "contains '..'"),
        ("/etc/x", "is absolute"),
        ("cats\\..\\x", "contains a backslash"),
        ("cats/a\x00.jpg", "contains a NUL character"),
        ("cats//a.jpg", "has an empty or '.' component"),
        ("./cats/a.jpg", "has an empty or '.' component"),
        ("cats/", "has an empty or '.' component"),
        ("", "is empty"),
        (3, "is int, expected a string"),
        (None, "is null, expected a string"),
    ],
)
def test_path_problem(value, problem):
    assert path_problem(value) == problem


def test_resolve_inside_plain_path(tmp_path):
    assert resolve_inside(tmp_path, "a/b.png") == tmp_path / "a" / "b.png"


def test_resolve_inside_symlink_escape(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "outside").mkdir()
    (root / "a").symlink_to(tmp_path / "outside", target_is_directory=True)

    with pytest.raises(ManifestError) as raised:
        resolve_inside(root, "a/b.png")

    assert str(raised.value) == (
        f"{root / 'a' / 'b.png'} resolves to {tmp_path / 'outside' / 'b.png'}, "
        f"outside {root}, through a symbolic link; remove the link or copy the "
        "files into the folder"
    )


def test_is_inside_symlink_within_root(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)

    assert is_inside(tmp_path, tmp_path / "link" / "a.png")


def test_is_inside_symlink_loop(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")

    assert not is_inside(tmp_path, tmp_path / "a" / "x.png")
