"""The summary of a run, and the manifest written from its result records."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cropaug.manifest import MANIFEST_NAME, write_manifest
from cropaug.parts import PARTS_FOLDER

if TYPE_CHECKING:
    from cropaug.dryrun import DryRun
    from cropaug.shards import Shard


@dataclass
class ExpandSummary:
    """Summary of one run, whose `failed` lists each source that was not cropped."""

    dst: Path
    seed: int
    seed_drawn: bool
    classes: list[str]
    images: int
    crops: int
    skipped: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    clamped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # Set for a shard run, which writes a part file instead of the manifest.
    shard: "Shard | None" = None
    # Sources whose crops an interrupted earlier run had written.
    resumed_sources: int = 0
    # True when `resume` found the run finished already and wrote nothing.
    already_finished: bool = False
    # What a dry run found; None for a real run.
    dry_run: "DryRun | None" = None

    @property
    def manifest_path(self) -> Path:
        return self.dst / MANIFEST_NAME

    @property
    def part_path(self) -> Path | None:
        if self.shard is None:
            return None
        return self.dst / PARTS_FOLDER / self.shard.part_name


def write_run_manifest(
    dst: Path,
    params: dict,
    classes: list[str],
    results: list[dict],
    skipped_files: list[dict],
) -> ExpandSummary:
    """Write DST/manifest.json from a run's result records and return its summary.

    `results` are crop result records and `skipped_files` the files discovery
    skipped, both sorted by source. A single run and a merge of shards both
    end here, which keeps their manifests byte-identical.
    """
    summary = summarise(dst, params, classes, results, skipped_files)
    images = [r["image"] for r in results if r["status"] == "cropped"]
    write_manifest(dst, params, classes, images, summary.skipped, summary.failed)
    return summary


def summarise(
    dst: Path,
    params: dict,
    classes: list[str],
    results: list[dict],
    skipped_files: list[dict],
) -> ExpandSummary:
    """Return the summary of a run from its result records and skipped files."""
    images = [r["image"] for r in results if r["status"] == "cropped"]
    skipped = list(skipped_files)
    skipped += [
        {"source": r["source"], "reason": r["reason"]}
        for r in results
        if r["status"] == "skipped"
    ]
    skipped.sort(key=lambda item: item["source"])
    failed = [
        {"source": r["source"], "error": r["error"]}
        for r in results
        if r["status"] == "failed"
    ]

    return ExpandSummary(
        dst=dst,
        seed=params["seed"],
        seed_drawn=False,
        classes=classes,
        images=len(images),
        crops=sum(len(image["crops"]) for image in images),
        skipped=skipped,
        failed=failed,
        clamped=[image["source"] for image in images if "requested" in image],
    )
