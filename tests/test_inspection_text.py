"""Tests for cropaug.inspection_text: inspect's text output."""

from cropaug.inspection_text import printable


def test_printable_keeps_text_and_newlines():
    assert printable("Ünïcode name\nnext") == "Ünïcode name\nnext"


def test_printable_escapes_surrogates_and_del():
    assert printable("a\udcff\x7f") == "a\\udcff\\x7f"
