"""Read SRC and write DST at fsspec URLs such as `s3://bucket/train`.

Local paths and `file://` URLs stay plain `pathlib.Path` objects. Any other
URL becomes a `RemotePath`, which offers the few `pathlib` methods that
discovery, cropping, shards and merge call, so the same code serves both.
fsspec is imported only when a URL is given, so the core install needs none
of the `cloud` extra.

Object stores differ from a file system in ways a user can see. A folder
exists only while an object is under it, so a class without crops has no
folder in DST. There are no symbolic links. Files cannot be appended to, so
the progress record of a run into a URL stays on the local disk (see
`progress_folder`).
"""

import hashlib
import os
import posixpath
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit

from cropaug.errors import CropaugError


class RemotePath:
    """A file or folder in an fsspec file system, addressed like a `pathlib.Path`."""

    def __init__(self, fs, path: str):
        self.fs = fs
        self.path = path.rstrip("/")

    def __str__(self) -> str:
        return self.fs.unstrip_protocol(self.path)

    def __repr__(self) -> str:
        return f"RemotePath({str(self)!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, RemotePath) and self._key() == other._key()

    def __lt__(self, other: "RemotePath") -> bool:
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __truediv__(self, name: str) -> "RemotePath":
        return RemotePath(self.fs, f"{self.path}/{name}")

    def _key(self) -> tuple[str, str]:
        return str(self.fs.protocol), self.path

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    @property
    def suffix(self) -> str:
        return posixpath.splitext(self.name)[1]

    @property
    def parent(self) -> "RemotePath":
        return RemotePath(self.fs, posixpath.dirname(self.path))

    @property
    def parents(self) -> list["RemotePath"]:
        parents = []
        path = self.path
        while "/" in path:
            path = posixpath.dirname(path)
            parents.append(RemotePath(self.fs, path))
        return parents

    def resolve(self) -> "RemotePath":
        return self

    def exists(self) -> bool:
        return self.fs.exists(self.path)

    def is_dir(self) -> bool:
        return self.fs.isdir(self.path)

    def is_file(self) -> bool:
        return self.fs.isfile(self.path)

    def is_symlink(self) -> bool:
        return False

    def iterdir(self) -> Iterator["RemotePath"]:
        # Another process (a shard on another machine) may have written here
        # since this process last listed the folder.
        self.fs.invalidate_cache(self.path)
        for entry in self.fs.ls(self.path, detail=False):
            if entry.rstrip("/") != self.path:
                yield RemotePath(self.fs, entry)

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        # Object stores have no empty folders: this only checks that the
        # bucket exists, and the folder appears with its first object.
        self.fs.makedirs(self.path, exist_ok=True)

    def read_bytes(self) -> bytes:
        return self.fs.cat_file(self.path)

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def write_bytes(self, data: bytes) -> None:
        # One PUT: an object store shows the whole object or none of it.
        self.fs.pipe_file(self.path, data)

    def open(self, mode: str = "r", encoding: str | None = None) -> IO:
        if "b" in mode:
            return self.fs.open(self.path, mode)
        return self.fs.open(self.path, mode, encoding=encoding)

    def unlink(self, missing_ok: bool = False) -> None:
        try:
            self.fs.rm_file(self.path)
        except FileNotFoundError:
            if not missing_ok:
                raise

    def upload(self, local: Path) -> None:
        """Copy a local file to this path in one upload."""
        self.fs.put_file(str(local), self.path)

    def remove_tree(self) -> None:
        """Delete this folder and everything under it."""
        self.fs.rm(self.path, recursive=True)


def location(value: "str | os.PathLike") -> "Path | RemotePath":
    """Return a local Path for a path or `file://` URL, and a RemotePath for other URLs.

    Raises:
        CropaugError: when the URL's file system is not installed, naming the
            package to install.
    """
    if isinstance(value, (Path, RemotePath)):
        return value
    text = os.fspath(value)
    if "://" not in text:
        return Path(text)
    parts = urlsplit(text)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    try:
        import fsspec
    except ImportError:
        raise CropaugError(
            f"{text} is a URL, and URLs need fsspec; install it with "
            "pip install 'cropaug[cloud]'"
        ) from None
    try:
        fs, path = fsspec.core.url_to_fs(text)
    except (ImportError, ValueError) as error:
        raise CropaugError(f"cannot open {text}: {error}") from None
    return RemotePath(fs, path)


def is_remote(path: "Path | RemotePath") -> bool:
    return isinstance(path, RemotePath)


def remove_tree(path: "Path | RemotePath") -> None:
    """Delete a folder and everything under it, locally or at a URL."""
    if isinstance(path, RemotePath):
        path.remove_tree()
    else:
        shutil.rmtree(path)


def progress_folder(dst: "Path | RemotePath") -> Path:
    """Return the local folder that keeps the progress records of a run into DST.

    That is DST itself for a local DST. For a URL it is a folder in the
    system's temporary directory named by the SHA-256 of the URL, because an
    object store cannot append to a file. A rerun on the same machine finds
    that folder again.
    """
    if not isinstance(dst, RemotePath):
        return dst
    digest = hashlib.sha256(str(dst).encode("utf-8")).hexdigest()[:16]
    folder = Path(tempfile.gettempdir(), "cropaug-progress", digest)
    folder.mkdir(parents=True, exist_ok=True)
    return folder
