"""Expand a class-per-folder dataset into N unique random crops per image."""

import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from cropaug.crop import CropSettings
from cropaug.destination import check_destination, earlier_seed, run_header
from cropaug.dryrun import DryRun, plan_dry_run
from cropaug.errors import InvalidParameterError
from cropaug.imaging import SUBSAMPLING, parse_color
from cropaug.manifest import MANIFEST_NAME
from cropaug.run import execute_run

logger = logging.getLogger(__name__)

FORMATS = ("same", "jpeg", "png", "webp")

# Seeds drawn when none is given stay below 2**32 so they are easy to retype.
_DRAWN_SEED_BOUND = 1 << 32


@dataclass
class ExpandSummary:
    """What one run did; `failed` lists each source that could not be cropped."""

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
    # Sources whose crops an interrupted earlier run had written.
    resumed_sources: int = 0
    # True when `resume` found the run finished already and wrote nothing.
    already_finished: bool = False
    # What a dry run found; None for a real run.
    dry_run: DryRun | None = None

    @property
    def manifest_path(self) -> Path:
        return self.dst / MANIFEST_NAME


def expand(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    size: int | tuple[int, int],
    n: int,
    seed: int | None = None,
    workers: int | None = None,
    format: str = "same",
    quality: int = 95,
    subsampling: str | None = None,
    lossless: bool = False,
    background: str = "white",
    max_pixels: int | None = None,
    overwrite: bool = False,
    follow_symlinks: bool = False,
    progress: bool = False,
    resume: bool = False,
    dry_run: bool = False,
) -> ExpandSummary:
    """Write `n` distinct random crops of every image under SRC into DST.

    Args:
        size: crop size in pixels, one number for a square or (width, height).
        seed: the run's seed; drawn at random, logged and recorded when None.
        workers: processes to crop with; defaults to the CPU count, and 1
            crops in this process.
        format: "same" keeps each source's format where loaders read it and
            it holds the image's mode; "jpeg", "png" or "webp" force one.
        subsampling: JPEG chroma subsampling ("4:4:4", "4:2:2", "4:2:0");
            None keeps a JPEG source's own and uses 4:2:0 otherwise.
        background: colour that transparent pixels are composited over when
            the output format has no alpha.
        max_pixels: larger images fail before they are decoded; defaults to
            the size at which Pillow stops decoding.
        overwrite: replace the outputs of an earlier cropaug run in DST.
        resume: continue the interrupted run in DST, which must have used the
            same options; without `seed` its seed is reused. A finished run
            is checked and left as it is, and an empty DST starts a new run.
        dry_run: write nothing and return what a run would do, with an
            estimate of its size on disk, in the summary's `dry_run`.

    Returns:
        The run's summary. Sources that failed are listed in it and in the
        manifest rather than raised.

    Raises:
        InvalidParameterError: for an argument out of range.
        DestinationError: when DST is inside SRC, contains it, or is not
            empty, or when `resume` finds a run with other options.
        OutputWriteError: when DST cannot be written; the run stops and DST
            stays resumable.
        RunInterrupted: on SIGINT or SIGTERM; DST stays resumable.
    """
    started = time.perf_counter()
    if resume and overwrite:
        raise InvalidParameterError(
            "resume and overwrite cannot be combined: resume continues the run "
            "in DST, overwrite replaces it"
        )
    src_path, dst_path = Path(src), Path(dst)
    crop_width, crop_height = _crop_size(size)
    seed_drawn = False
    if seed is None and resume:
        seed = earlier_seed(dst_path)
        if seed is not None:
            logger.info("resuming with seed %d of the earlier run", seed)
    if seed is None:
        seed, seed_drawn = _draw_seed(), True
    settings = CropSettings(
        crop_width=crop_width,
        crop_height=crop_height,
        n=n,
        seed=seed,
        format=format,
        quality=quality,
        subsampling=subsampling,
        lossless=lossless,
        background=_background(background),
        max_pixels=max_pixels if max_pixels is not None else 2 * Image.MAX_IMAGE_PIXELS,
    )
    _validate(settings, workers)
    workers = workers or os.cpu_count() or 1
    params = settings_to_params(settings)
    state = check_destination(src_path, dst_path, resume, overwrite)

    if dry_run:
        resume_header = None
        if resume and state == "interrupted":
            resume_header = run_header(src_path, params, follow_symlinks)
        plan = plan_dry_run(
            src_path, dst_path, settings, follow_symlinks, resume_header
        )
        return ExpandSummary(
            dst=dst_path,
            seed=settings.seed,
            seed_drawn=seed_drawn,
            classes=plan.classes,
            images=plan.images,
            crops=plan.crops,
            skipped=plan.skipped,
            failed=plan.failed,
            clamped=[item["source"] for item in plan.clamped],
            seconds=time.perf_counter() - started,
            dry_run=plan,
        )

    if seed_drawn:
        logger.warning(
            "no --seed given; drew seed %d (pass --seed %d to repeat)",
            settings.seed,
            settings.seed,
        )
    outcome = execute_run(
        src_path,
        dst_path,
        settings,
        params,
        state=state,
        workers=workers,
        resume=resume,
        follow_symlinks=follow_symlinks,
        progress=progress,
    )
    return ExpandSummary(
        dst=dst_path,
        seed=settings.seed,
        seed_drawn=seed_drawn,
        classes=outcome.classes,
        images=outcome.images,
        crops=outcome.crops,
        skipped=outcome.skipped,
        failed=outcome.failed,
        clamped=outcome.clamped,
        seconds=time.perf_counter() - started,
        resumed_sources=outcome.resumed_sources,
        already_finished=outcome.already_finished,
    )


def settings_to_params(settings: CropSettings) -> dict:
    """Return the manifest's `params`: every option that affects the output."""
    return {
        "width": settings.crop_width,
        "height": settings.crop_height,
        "n": settings.n,
        "seed": settings.seed,
        "format": settings.format,
        "quality": settings.quality,
        "subsampling": settings.subsampling,
        "lossless": settings.lossless,
        "background": "#{:02x}{:02x}{:02x}".format(*settings.background),
        "max_pixels": settings.max_pixels,
    }


def _crop_size(size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(size, int):
        width = height = size
    else:
        try:
            width, height = size
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"size must be an int or a (width, height) pair, not {size!r}"
            ) from None
    if (
        not (isinstance(width, int) and isinstance(height, int))
        or width < 1
        or height < 1
    ):
        raise InvalidParameterError(f"size must be positive integers, not {size!r}")
    return width, height


def _background(text: str) -> tuple[int, int, int]:
    try:
        return parse_color(text)
    except ValueError as error:
        raise InvalidParameterError(
            f"background {text!r} is not a colour ({error}); "
            "use a name, #rrggbb or r,g,b"
        ) from None


def _validate(settings: CropSettings, workers: int | None) -> None:
    if settings.n < 1:
        raise InvalidParameterError(f"n must be at least 1, not {settings.n}")
    if settings.seed < 0:
        raise InvalidParameterError(f"seed must not be negative, not {settings.seed}")
    if workers is not None and workers < 1:
        raise InvalidParameterError(f"workers must be at least 1, not {workers}")
    if settings.format not in FORMATS:
        raise InvalidParameterError(
            f"format must be one of {', '.join(FORMATS)}, not {settings.format!r}"
        )
    if not 1 <= settings.quality <= 100:
        raise InvalidParameterError(f"quality must be 1 to 100, not {settings.quality}")
    if settings.subsampling is not None and settings.subsampling not in SUBSAMPLING:
        raise InvalidParameterError(
            f"subsampling must be one of {', '.join(SUBSAMPLING)}, "
            f"not {settings.subsampling!r}"
        )
    if settings.max_pixels < 1:
        raise InvalidParameterError(
            f"max_pixels must be at least 1, not {settings.max_pixels}"
        )


def _draw_seed() -> int:
    return secrets.randbelow(_DRAWN_SEED_BOUND)
