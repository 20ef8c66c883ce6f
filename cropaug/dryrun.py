"""Report what a run would write, and estimate its size on disk, without writing DST.

Image sizes come from file headers, so no image is decoded except the few
samples that the size estimate encodes. The crop counts are those of a real
run, because the boxes are drawn from the header's size with the run's
generators (--resize and --small included). They differ in three cases. A
file whose header reads but whose pixel data fails to decode fails only in
a real run. A PNG may store its EXIF orientation after its pixel data, where
the header reader does not look. Masks (--masks) are not read, so a missing
or misfitting mask fails its source only in a real run.
"""

import json
import math
import os
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from cropaug.crop import CropJob, CropSettings, crop_source, fitting_size
from cropaug.discover import discover_sources
from cropaug.imaging import output_format_for
from cropaug.modes import plan_boxes
from cropaug.naming import plan_output_stems
from cropaug.progress import read_header
from cropaug.resume import check_header, plan_resume, verify_outputs
from cropaug.sampling import image_rng
from cropaug.shards import Shard
from cropaug.sizing import describe_small, plan_size

# Images fully cropped and encoded for the size estimate, spread evenly over
# the sorted sources. Eight keeps a dry run quick; the estimate's error
# depends on how much the images differ.
SAMPLE_IMAGES = 8

# Allocation unit assumed when the file system does not report one.
_DEFAULT_BLOCK_SIZE = 4096

# EXIF orientations that turn the image by 90 degrees, swapping its sides.
_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}
_ORIENTATION_TAG = 0x0112


@dataclass
class DryRun:
    """The report of a dry run, from file headers and a few sample encodes."""

    classes: list[str]
    sources: int
    images: int = 0
    crops: int = 0
    skipped: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    # Sources that get fewer crops than n: source, positions (None in
    # resized mode), crops, and the limit that applies in words.
    clamped: list[dict] = field(default_factory=list)
    estimated_bytes: int | None = None
    estimated_manifest_bytes: int | None = None
    sample_images: int = 0
    sample_crops: int = 0
    block_size: int = _DEFAULT_BLOCK_SIZE
    # With --resume on an interrupted run: sources whose crops would be kept.
    resumed_sources: int | None = None

    def render(self) -> list[str]:
        """Return the report as lines of text for a terminal."""
        lines = ["dry run: nothing was written"]
        lines.append(f"classes {len(self.classes)}: {', '.join(self.classes)}")
        lines.append(
            f"sources {self.sources}: {self.images} to crop, "
            f"{len(self.skipped)} skipped, {len(self.failed)} failing"
        )
        lines.append(f"crops to write: {self.crops}")
        if self.resumed_sources is not None:
            lines.append(
                f"resume: {self.resumed_sources} of {self.sources} sources are "
                "already done and would be kept"
            )
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)}:")
            lines += [f"  {i['source']}: {i['reason']}" for i in self.skipped]
        if self.clamped:
            lines.append(f"clamped {len(self.clamped)} (fewer crops than --n):")
            lines += [
                f"  {i['source']}: {i['limit']}, writes {i['crops']} "
                + ("crop" if i["crops"] == 1 else "crops")
                for i in self.clamped
            ]
        if self.failed:
            lines.append(f"failing {len(self.failed)}:")
            lines += [f"  {i['source']}: {i['error']}" for i in self.failed]
        lines.append(self._describe_estimate())
        return lines

    def _describe_estimate(self) -> str:
        if self.estimated_bytes is None:
            return "estimated size on disk: unknown, no sample image could be cropped"
        return (
            f"estimated size on disk: {_format_bytes(self.estimated_bytes)}, "
            f"of which the manifest {_format_bytes(self.estimated_manifest_bytes)} "
            f"(an estimate: the mean size of the {self.sample_crops} crops of "
            f"{self.sample_images} sample images, in {self.block_size}-byte "
            "blocks, times the crop count)"
        )


def plan_dry_run(
    src: Path,
    dst: Path,
    settings: CropSettings,
    follow_symlinks: bool,
    resume_header: dict | None = None,
    shard: Shard | None = None,
) -> DryRun:
    """Walk SRC, read every image header, and estimate the output size.

    Sources whose header cannot be read are listed as failing. A file whose
    header reads but whose pixel data is damaged fails only in a real run.
    With `resume_header`, the header of this run, DST's interrupted run is
    checked against it and the sources it finished are counted. With
    `shard`, only that shard's share of SRC is counted.

    Raises:
        DestinationError: when `resume_header` differs from DST's run.
    """
    discovery = discover_sources(src, follow_symlinks=follow_symlinks)
    if resume_header is not None:
        check_header(dst, read_header(dst), resume_header)
    sources, skipped = discovery.sources, discovery.skipped
    if shard is not None:
        sources = [source for source in sources if shard.owns(source.path)]
        skipped = [item for item in skipped if shard.owns(item.source)]
    report = DryRun(classes=discovery.classes, sources=len(sources))
    report.skipped = [
        {"source": item.source, "reason": item.reason} for item in skipped
    ]

    # (source, class_name, output format, crop count) of each source to crop.
    to_crop = []
    for source in sources:
        try:
            width, height, source_format, source_mode = read_image_header(
                src / source.path, settings.max_pixels
            )
        except ValueError as error:
            report.failed.append({"source": source.path, "error": str(error)})
            continue
        plan = plan_size(
            (width, height), fitting_size(settings), settings.resize, settings.small
        )
        if plan.small in ("skip", "error"):
            crop_size = (settings.crop_width, settings.crop_height)
            reason = describe_small(plan, crop_size, settings.resize)
            if plan.small == "skip":
                report.skipped.append({"source": source.path, "reason": reason})
            else:
                report.failed.append({"source": source.path, "error": reason})
            continue
        rng = image_rng(settings.seed, source.path)
        boxes = plan_boxes(rng, settings, *plan.size)
        count = len(boxes.boxes)
        if count < settings.n and settings.mode != "grid":
            report.clamped.append(
                {
                    "source": source.path,
                    "positions": boxes.positions,
                    "crops": count,
                    "limit": _describe_limit(boxes.positions, count, settings),
                }
            )
        output_format = output_format_for(source_format, settings.format, source_mode)
        to_crop.append((source.path, source.class_name, output_format, count))
    report.skipped.sort(key=lambda item: item["source"])
    report.images = len(to_crop)
    report.crops = sum(count for *_, count in to_crop)

    if resume_header is not None:
        stems = plan_output_stems((s.path for s in discovery.sources), settings.n)
        resume_plan = plan_resume(src, dst, stems, settings)
        verify_outputs(dst, resume_plan)
        report.resumed_sources = len(resume_plan.done)

    report.block_size = _block_size(dst)
    _estimate_size(src, settings, to_crop, report)
    return report


def read_image_size(path: Path, max_pixels: int) -> tuple[int, int, str]:
    """Return the upright width, height and format from an image's header.

    Raises:
        ValueError: with a plain reason when the header cannot be read or the
            image has more pixels than `max_pixels`.
    """
    width, height, source_format, _ = read_image_header(path, max_pixels)
    return width, height, source_format


def read_image_header(path: Path, max_pixels: int) -> tuple[int, int, str, str]:
    """Return the upright width, height, format and mode from an image's header.

    Raises:
        ValueError: with a plain reason when the header cannot be read or the
            image has more pixels than `max_pixels`.
    """
    with _pixel_limit_lifted():
        try:
            with Image.open(path) as image:
                width, height = image.size
                source_format = image.format or "unknown"
                source_mode = image.mode
                orientation = _orientation(image)
        except UnidentifiedImageError:
            raise ValueError("not an image") from None
        except (OSError, SyntaxError) as error:
            raise ValueError(f"unreadable image header ({error})") from None
    if width * height > max_pixels:
        raise ValueError(
            f"image is {width * height} pixels, above --max-pixels ({max_pixels})"
        )
    if orientation in _SWAPPING_ORIENTATIONS:
        width, height = height, width
    return width, height, source_format, source_mode


def _describe_limit(positions: int | None, crops: int, settings: CropSettings) -> str:
    """Say what limits an image to fewer crops than requested."""
    if positions is None:
        return f"room for only {crops} distinct boxes"
    states = 2 if 0 < settings.hflip < 1 else 1
    if crops >= positions * states:
        return f"{positions} crop positions"
    return (
        f"{positions} crop positions, {crops} with corners at least "
        f"{settings.min_shift} pixels apart"
    )


def _orientation(image: Image.Image) -> int | None:
    if image.format == "PNG":
        # Pillow decodes a whole PNG to look for EXIF after the pixel data,
        # so only EXIF stored before it is read here.
        data = image.info.get("exif")
        if not data:
            return None
        exif = Image.Exif()
        exif.load(data)
        return exif.get(_ORIENTATION_TAG)
    return image.getexif().get(_ORIENTATION_TAG)


def _estimate_size(
    src: Path, settings: CropSettings, to_crop: list, report: DryRun
) -> None:
    """Crop a few sample images into a temporary folder and extrapolate.

    Each crop's size is rounded up to whole blocks, the unit file systems
    allocate. Formats without a sample use the mean over all samples.
    """
    if not to_crop:
        report.estimated_bytes = report.estimated_manifest_bytes = 0
        return
    step = max(1, len(to_crop) / SAMPLE_IMAGES)
    picks = sorted(
        {to_crop[int(i * step)] for i in range(min(SAMPLE_IMAGES, len(to_crop)))}
    )
    stems = plan_output_stems((source for source, *_ in to_crop), settings.n)
    # The samples write no mask crops, which would land in MASK_OUT.
    settings = replace(settings, mask_root=None, mask_out=None)

    block = report.block_size
    crop_bytes: dict[str, list[int]] = {}
    image_line_bytes, crop_line_bytes = [], []
    with tempfile.TemporaryDirectory(prefix="cropaug-dry-run-") as folder:
        sample_dst = Path(folder)
        for source, class_name, _, _ in picks:
            job = CropJob(source, class_name, stems[source])
            result = crop_source(src, sample_dst, job, settings)
            if result["status"] != "cropped":
                continue
            image = result["image"]
            sizes = result["sizes"]
            crop_bytes.setdefault(image["output_format"], []).extend(
                math.ceil(size / block) * block for size in sizes
            )
            fields = {key: value for key, value in image.items() if key != "crops"}
            image_line_bytes.append(len(json.dumps(fields, ensure_ascii=False)) + 16)
            crop_line_bytes += [
                len(json.dumps(crop, ensure_ascii=False)) + 8 for crop in image["crops"]
            ]
            report.sample_images += 1
            report.sample_crops += len(sizes)
    if not crop_bytes:
        return

    every_sample = [size for sizes in crop_bytes.values() for size in sizes]
    overall_mean = sum(every_sample) / len(every_sample)
    means = {fmt: sum(sizes) / len(sizes) for fmt, sizes in crop_bytes.items()}
    crops_total = sum(
        count * means.get(output_format, overall_mean)
        for _, _, output_format, count in to_crop
    )
    manifest = len(to_crop) * _mean(image_line_bytes) + report.crops * _mean(
        crop_line_bytes
    )
    report.estimated_manifest_bytes = math.ceil(manifest / block) * block
    report.estimated_bytes = round(crops_total) + report.estimated_manifest_bytes


def _mean(values: list[int]) -> float:
    return sum(values) / len(values)


def _block_size(dst: Path) -> int:
    """Return the allocation unit of the file system DST is or would be on."""
    folder = dst.absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        size = os.statvfs(folder).f_frsize
    except (AttributeError, OSError):
        # os.statvfs does not exist on Windows.
        return _DEFAULT_BLOCK_SIZE
    return size or _DEFAULT_BLOCK_SIZE


def _format_bytes(count: int | None) -> str:
    size = float(count or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


@contextmanager
def _pixel_limit_lifted():
    """Switch off Pillow's size check, because read_image_size applies --max-pixels."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved
