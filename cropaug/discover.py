"""Find the classes and source images of a class-per-folder tree."""

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"}
)

# Leading bytes of the formats above, used to recognise images saved without
# one of the usual extensions.
_SIGNATURES = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",  # PNG
    b"GIF87a",
    b"GIF89a",
    b"BM",  # BMP
    b"II*\x00",  # TIFF, little-endian
    b"MM\x00*",  # TIFF, big-endian
)


@dataclass(frozen=True, slots=True)
class Source:
    """One image to crop: its POSIX path relative to SRC and its class."""

    path: str
    class_name: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file that is not cropped by rule, with the reason."""

    source: str
    reason: str


@dataclass
class Discovery:
    """Classes, sources and skipped files found in SRC, each list sorted by path."""

    classes: list[str]
    sources: list[Source] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    empty_classes: list[str] = field(default_factory=list)


def is_hidden(name: str) -> bool:
    return name.startswith(".")


def discover_sources(src: Path, follow_symlinks: bool = False) -> Discovery:
    """Walk SRC and sort every file into a source to crop or a skipped file.

    Every non-hidden folder directly inside SRC is a class; images are found
    recursively inside it. Hidden files and folders are ignored without a
    record. Symbolic links are skipped unless `follow_symlinks` is set; a
    followed link that leads back into a folder already being walked is
    skipped as a loop.

    `src` may also be a RemotePath (an fsspec URL), which has no symbolic links.
    """
    from cropaug.remote import is_remote

    if is_remote(src):
        return _discover_remote(src)
    discovery = Discovery(classes=[])

    for entry in _sorted_entries(src):
        if is_hidden(entry.name):
            continue
        if not _is_valid_name(entry.name):
            discovery.skipped.append(Skipped(entry.name, _INVALID_NAME))
            continue
        if entry.is_symlink() and not follow_symlinks:
            discovery.skipped.append(Skipped(entry.name, "symbolic link"))
            continue
        if entry.is_dir(follow_symlinks=follow_symlinks):
            discovery.classes.append(entry.name)
            found_before = len(discovery.sources)
            ancestors = {os.path.realpath(src), os.path.realpath(entry.path)}
            _walk_class(
                Path(entry.path),
                entry.name,
                entry.name,
                follow_symlinks,
                ancestors,
                discovery,
            )
            if len(discovery.sources) == found_before:
                discovery.empty_classes.append(entry.name)
        else:
            discovery.skipped.append(Skipped(entry.name, "not in a class folder"))

    discovery.skipped.sort(key=lambda skipped: skipped.source)
    discovery.sources.sort(key=lambda source: source.path)
    return discovery


_INVALID_NAME = "name is not valid UTF-8; rename it to include it"


def _discover_remote(src) -> Discovery:
    """Sort the objects under a RemotePath as `discover_sources` sorts files.

    One recursive listing replaces the walk, since each listing request to an
    object store takes a network round trip.
    """
    discovery = Discovery(classes=[])
    prefix = src.path + "/"
    classes = set()
    counts: dict[str, int] = {}
    for name, info in src.fs.find(src.path, withdirs=True, detail=True).items():
        if not name.startswith(prefix):
            continue
        path = name[len(prefix) :].rstrip("/")
        parts = path.split("/")
        if any(is_hidden(part) for part in parts):
            continue
        if info["type"] == "directory":
            if len(parts) == 1:
                classes.add(path)
            continue
        if len(parts) == 1:
            discovery.skipped.append(Skipped(path, "not in a class folder"))
            continue
        classes.add(parts[0])
        reason = _reason_not_image(src / path)
        if reason is None:
            discovery.sources.append(Source(path, parts[0]))
            counts[parts[0]] = counts.get(parts[0], 0) + 1
        else:
            discovery.skipped.append(Skipped(path, reason))

    discovery.classes = sorted(classes)
    discovery.empty_classes = [name for name in discovery.classes if name not in counts]
    discovery.skipped.sort(key=lambda skipped: skipped.source)
    discovery.sources.sort(key=lambda source: source.path)
    return discovery


def _walk_class(
    folder: Path,
    relative: str,
    class_name: str,
    follow_symlinks: bool,
    ancestors: set[str],
    discovery: Discovery,
) -> None:
    # Entries are visited in directory order, not sorted, so a folder of a
    # million files is never held as a list. discover_sources sorts the
    # results once at the end.
    with os.scandir(folder) as entries:
        for entry in entries:
            _visit_entry(
                entry, relative, class_name, follow_symlinks, ancestors, discovery
            )


def _visit_entry(
    entry: os.DirEntry,
    relative: str,
    class_name: str,
    follow_symlinks: bool,
    ancestors: set[str],
    discovery: Discovery,
) -> None:
    if is_hidden(entry.name):
        return
    path = f"{relative}/{entry.name}"
    if not _is_valid_name(entry.name):
        discovery.skipped.append(Skipped(path, _INVALID_NAME))
        return
    if entry.is_symlink():
        if not follow_symlinks:
            discovery.skipped.append(Skipped(path, "symbolic link"))
            return
        if not os.path.exists(entry.path):
            discovery.skipped.append(Skipped(path, "broken symbolic link"))
            return
    if entry.is_dir(follow_symlinks=follow_symlinks):
        real = os.path.realpath(entry.path)
        if real in ancestors:
            discovery.skipped.append(Skipped(path, "symbolic link loop"))
            return
        _walk_class(
            Path(entry.path),
            path,
            class_name,
            follow_symlinks,
            ancestors | {real},
            discovery,
        )
    elif entry.is_file(follow_symlinks=follow_symlinks):
        reason = _reason_not_image(Path(entry.path))
        if reason is None:
            discovery.sources.append(Source(path, class_name))
        else:
            discovery.skipped.append(Skipped(path, reason))
    else:
        discovery.skipped.append(Skipped(path, "not a regular file"))


def _sorted_entries(folder: Path) -> list[os.DirEntry]:
    with os.scandir(folder) as entries:
        return sorted(entries, key=lambda entry: entry.name)


def _is_valid_name(name: str) -> bool:
    # os.scandir keeps undecodable bytes as lone surrogates, which cannot be
    # written to the UTF-8 manifest.
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _reason_not_image(path: Path) -> str | None:
    """Return why a file is not a source image, or None when it is one.

    A file with an image extension is always a source, so that one that does
    not decode is reported as failed rather than quietly skipped.
    """
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return None
    try:
        with path.open("rb") as file:
            head = file.read(16)
    except OSError as error:
        return f"cannot read: {error.strerror}"
    if head.startswith(_SIGNATURES) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return None
    extension = path.suffix or "no extension"
    return f"not an image ({extension})"
