"""Choose readable output names that never collide."""

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from pathlib import PurePosixPath

# Most file systems limit one path component to 255 bytes.
MAX_NAME_BYTES = 255
# The longest extension cropaug writes (".webp") plus room for a temporary
# suffix is kept out of the stem's budget.
_LONGEST_EXTENSION_BYTES = 5


def index_width(n: int) -> int:
    """Return the digits used for crop indexes: at least 2, more for n > 100."""
    return max(2, len(str(n - 1)))


def crop_name(stem: str, index: int, width: int, extension: str) -> str:
    """Return the path of one crop: stem `cats/a`, index 3 gives `cats/a_c03.jpg`."""
    return f"{stem}_c{index:0{width}d}{extension}"


def plan_output_stems(sources: Iterable[str], n: int) -> dict[str, str]:
    """Map each source path to the stem of its output paths, relative to DST.

    The stem is the source path without its extension. Sources in one folder
    whose stems are equal once case and Unicode normalisation are ignored
    (`a.jpg` and `a.png`, `A.jpg` and `a.jpg`, NFC and NFD spellings of one
    name) all get their extension appended, then a short hash of their full
    name if that is not enough, so no two sources can write the same file even
    on a case-insensitive or normalising file system. A source whose crop
    names could equal a folder that DST mirrors (`b.png` beside a folder
    `b_c00.png/` holding images) gets the hash too. Stems that would make
    names longer than 255 bytes are shortened and given a hash too.
    """
    sources = list(sources)
    suffix_bytes = len("_c") + index_width(n) + _LONGEST_EXTENSION_BYTES
    stems_of_folders = _stems_named_by_folders(sources, index_width(n))
    # Only sources in folders whose names fold to the same text can clash, so
    # each such group is planned on its own. That keeps the temporary tables
    # as small as the largest folder rather than the whole tree.
    by_folder = defaultdict(list)
    for source in sources:
        by_folder[_fold(source.rpartition("/")[0])].append(source)

    result = {}
    for members in by_folder.values():
        result.update(_plan_folder(members, suffix_bytes, stems_of_folders))
    return result


def _plan_folder(
    sources: list[str], suffix_bytes: int, stems_of_folders: set[str]
) -> dict[str, str]:
    """Plan the stems of sources whose folders fold to the same text."""
    stems = {}
    for source in sources:
        path = PurePosixPath(source)
        stems[source] = (str(path.parent), path.stem, path.suffix)

    planned = {}
    folders_and_stems = {
        source: (parent, stem) for source, (parent, stem, _) in stems.items()
    }
    for members in _groups_by_folding(folders_and_stems):
        if len(members) == 1:
            source = members[0]
            parent, stem, _ = stems[source]
            planned[source] = (parent, stem)
            continue
        for source in members:
            parent, stem, suffix = stems[source]
            planned[source] = (
                parent,
                f"{stem}_{suffix.lstrip('.')}" if suffix else stem,
            )

    result = {}
    still_clashing = set()
    for members in _groups_by_folding(planned):
        if len(members) > 1:
            still_clashing.update(members)
    for source, (parent, stem) in planned.items():
        name = PurePosixPath(source).name
        if source in still_clashing or _fold(f"{parent}/{stem}") in stems_of_folders:
            stem = f"{stem}_{_short_hash(name)}"
        stem = _fit_name_length(stem, name, suffix_bytes)
        result[source] = f"{parent}/{stem}"
    return result


def _groups_by_folding(planned: dict[str, tuple[str, str]]) -> list[list[str]]:
    """Group sources whose (folder, stem) pairs are equal after NFC and casefold."""
    groups = defaultdict(list)
    for source, (parent, stem) in planned.items():
        groups[_fold(f"{parent}/{stem}")].append(source)
    return list(groups.values())


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _stems_named_by_folders(sources: list[str], width: int) -> set[str]:
    """Return the folded stems whose crop names equal a folder that contains sources.

    A folder named `b_c00.png` takes the stem `b` whatever its extension,
    because the crop's format is known only once the source is decoded.
    """
    crop_pattern = re.compile(rf"(.*)_c[0-9]{{{width}}}", re.DOTALL)
    stems = set()
    folders = {parent for source in sources for parent in PurePosixPath(source).parents}
    for folder in folders:
        match = crop_pattern.fullmatch(folder.stem)
        if match and folder.suffix:
            stems.add(_fold(f"{folder.parent}/{match.group(1)}"))
    return stems


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def _fit_name_length(stem: str, name: str, suffix_bytes: int) -> str:
    encoded = stem.encode("utf-8")
    if len(encoded) + suffix_bytes <= MAX_NAME_BYTES:
        return stem
    budget = MAX_NAME_BYTES - suffix_bytes - len("_") - 8
    shortened = encoded[:budget].decode("utf-8", errors="ignore")
    return f"{shortened}_{_short_hash(name)}"
