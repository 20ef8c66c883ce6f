import unicodedata

import pytest

from cropaug.naming import MAX_NAME_BYTES, crop_name, index_width, plan_output_stems


@pytest.mark.parametrize(
    ("n", "expected"), [(1, 2), (10, 2), (100, 2), (101, 3), (1000, 3), (1001, 4)]
)
def test_index_width(n, expected):
    assert index_width(n) == expected


def test_crop_name_pads_index():
    assert crop_name("cats/IMG_0001", 3, 2, ".jpg") == "cats/IMG_0001_c03.jpg"


def test_plan_output_stems_plain_names():
    stems = plan_output_stems(["cats/a.jpg", "cats/sub/b.png", "dogs/a.jpg"], 10)

    assert stems == {
        "cats/a.jpg": "cats/a",
        "cats/sub/b.png": "cats/sub/b",
        "dogs/a.jpg": "dogs/a",
    }


def test_plan_output_stems_same_stem_keeps_extension():
    stems = plan_output_stems(["cats/a.jpg", "cats/a.png", "cats/b.jpg"], 10)

    assert stems == {
        "cats/a.jpg": "cats/a_jpg",
        "cats/a.png": "cats/a_png",
        "cats/b.jpg": "cats/b",
    }


def test_plan_output_stems_no_extension():
    stems = plan_output_stems(["cats/IMG_1", "cats/IMG_1.jpg"], 10)

    assert stems["cats/IMG_1"] == "cats/IMG_1"
    assert stems["cats/IMG_1.jpg"] == "cats/IMG_1_jpg"


def _all_output_names(sources: list[str], n: int) -> list[str]:
    """Every crop path the sources would write, for every output extension."""
    stems = plan_output_stems(sources, n)
    names = []
    for stem in stems.values():
        for index in range(n):
            for extension in (".jpg", ".png"):
                names.append(crop_name(stem, index, index_width(n), extension))
    return names


@pytest.mark.parametrize(
    "sources",
    [
        ["c/a.jpg", "c/a.png", "c/a_jpg.png"],
        ["c/a.jpg", "c/A.jpg", "c/a.JPG"],
        ["c/IMG_1", "c/IMG_1.jpg", "c/IMG_1.jpeg", "c/IMG_1_jpg"],
        ["c/a.jpg", "c/a_c00.jpg", "c/a_c00_c00.jpg"],
        [
            "c/" + unicodedata.normalize("NFC", "café.jpg"),
            "c/" + unicodedata.normalize("NFD", "café.jpg"),
        ],
    ],
    ids=["extension", "case", "no-extension", "index-like", "unicode-forms"],
)
def test_plan_output_stems_never_collide(sources):
    names = _all_output_names(sources, 3)
    folded = {unicodedata.normalize("NFC", name).casefold() for name in names}

    assert len(folded) == len(names)


def test_plan_output_stems_shortens_long_names():
    long_name = "é" * 200 + ".jpg"
    stems = plan_output_stems([f"c/{long_name}", "c/b.jpg"], 1000)
    name = crop_name(stems[f"c/{long_name}"], 999, index_width(1000), ".webp")

    assert len(name.split("/")[-1].encode("utf-8")) <= MAX_NAME_BYTES
    assert stems["c/b.jpg"] == "c/b"


def test_plan_output_stems_independent_of_other_folders():
    alone = plan_output_stems(["cats/a.jpg"], 10)
    with_others = plan_output_stems(["cats/a.jpg", "dogs/a.png", "cats/b.jpg"], 10)

    assert with_others["cats/a.jpg"] == alone["cats/a.jpg"]
