"""Check SRC and DST before a run, and classify what DST already contains."""

from pathlib import Path

from cropaug.errors import CropaugError, DestinationError
from cropaug.files import is_temp_name
from cropaug.finished import read_manifest_params
from cropaug.manifest import MANIFEST_NAME, library_versions
from cropaug.parts import PARTS_FOLDER
from cropaug.progress import PROGRESS_NAME, read_header
from cropaug.remote import is_remote, progress_folder


def check_destination(
    src: Path, dst: Path, resume: bool, overwrite: bool, sharded: bool = False
) -> str:
    """Return DST's state after checking that SRC and DST can be used as requested.

    For a shard run only the placement of SRC and DST is checked here, and
    `check_shard_destination` judges DST's content once SRC's classes are known.

    Raises:
        CropaugError: when SRC is not a folder.
        DestinationError: when DST overlaps SRC, or its content does not allow
            the request.
    """
    state = destination_state(dst)
    check_folders(src, dst, "empty" if sharded else state, resume, overwrite)
    return state


def destination_state(dst: Path) -> str:
    """Classify DST: "empty", "interrupted", "finished" or "other".

    A folder that contains only cropaug's temporary files is empty, because a
    run killed while writing its first file leaves nothing else. The progress
    file of a URL DST is looked for in its local `progress_folder`.
    """
    if not dst.is_dir():
        return "empty"
    if (progress_folder(dst) / PROGRESS_NAME).is_file():
        return "interrupted"
    if (dst / MANIFEST_NAME).is_file():
        return "finished"
    for child in dst.iterdir():
        if not (is_temp_name(child.name) and child.is_file()):
            return "other"
    return "empty"


def check_folders(
    src: Path, dst: Path, state: str, resume: bool, overwrite: bool
) -> None:
    """Raise a CropaugError when SRC and DST cannot be used as requested."""
    if not src.is_dir():
        raise CropaugError(
            f"SRC {src} is not a folder; pass the root of a class-per-folder tree"
        )
    real_src, real_dst = src.resolve(), dst.resolve()
    if real_dst == real_src or real_src in real_dst.parents:
        raise DestinationError(
            f"DST {dst} is inside SRC {src}; choose a folder outside SRC"
        )
    if real_dst in real_src.parents:
        raise DestinationError(
            f"DST {dst} contains SRC {src}; choose a folder outside SRC"
        )
    if dst.exists() and not dst.is_dir():
        raise DestinationError(f"DST {dst} is a file; choose a folder")
    if state == "empty":
        return
    if state == "other":
        if resume:
            raise DestinationError(
                f"DST {dst} is not empty and contains no cropaug run to resume; "
                "choose another folder"
            )
        if overwrite:
            raise DestinationError(
                f"DST {dst} is not empty and contains no cropaug manifest, so "
                "--overwrite will not delete it; choose an empty folder"
            )
    if resume or overwrite:
        return
    if state == "interrupted" and is_remote(dst):
        raise DestinationError(
            f"DST {dst} contains an interrupted run; pass --overwrite to start over"
        )
    if state == "interrupted":
        raise DestinationError(
            f"DST {dst} contains an interrupted run; pass --resume to continue it, "
            "or --overwrite to start over"
        )
    raise DestinationError(
        f"DST {dst} is not empty; pass --overwrite to replace an earlier run, "
        "or choose an empty folder"
    )


def earlier_seed(dst: Path) -> int | None:
    """Return the seed of the run in DST, or None when DST contains no run."""
    state = destination_state(dst)
    if state == "interrupted":
        return read_header(progress_folder(dst))["params"]["seed"]
    if state == "finished":
        return read_manifest_params(dst / MANIFEST_NAME)["seed"]
    return None


def run_header(src: Path, params: dict, follow_symlinks: bool) -> dict:
    """Return the progress header: every input a resumed run must share."""
    from cropaug import __version__

    return {
        "params": params,
        "src": str(src.resolve()),
        "follow_symlinks": follow_symlinks,
        "cropaug_version": __version__,
        "library_versions": library_versions(),
    }


def check_class_names(classes: list[str], sharded: bool) -> None:
    """Reject a class whose folder in DST would take the name of cropaug's own output.

    Names are compared without case, as a case-insensitive file system does.
    """
    reserved = {MANIFEST_NAME: "the manifest that cropaug writes into DST"}
    if sharded:
        reserved[PARTS_FOLDER] = "the folder where shard runs write their parts"
    for class_name in classes:
        for name, meaning in reserved.items():
            if class_name.casefold() == name.casefold():
                raise DestinationError(
                    f"class folder {class_name!r} in SRC has the name of {meaning}; "
                    "rename that folder"
                )
