"""Expand a class-per-folder dataset into N unique random crops per image."""

import logging
import numbers
import os
import secrets
import time
from pathlib import Path

from PIL import Image

from cropaug.arguments import (
    require_flag,
    require_integer,
    require_number,
    require_text,
)
from cropaug.crop import CropSettings
from cropaug.destination import check_destination, earlier_seed, run_header
from cropaug.dryrun import plan_dry_run
from cropaug.errors import InvalidParameterError
from cropaug.executors import EXECUTORS, check_executor
from cropaug.imaging import SUBSAMPLING, parse_color
from cropaug.masks import check_mask_folders, relative_mask_out, resolve_mask_out
from cropaug.modes import resolve_count, validate_mode_settings
from cropaug.remote import is_remote, location
from cropaug.run import execute_run
from cropaug.shards import Shard, validate_shard
from cropaug.sizing import SMALL_POLICIES
from cropaug.summary import ExpandSummary

logger = logging.getLogger(__name__)

FORMATS = ("same", "jpeg", "png", "webp")

# Seeds drawn when none is given stay below 2**32 so they are easy to retype.
_DRAWN_SEED_BOUND = 1 << 32


def expand(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    size: int | tuple[int, int],
    n: int | None = None,
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
    mode: str = "random",
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    resample: str = "bilinear",
    stride: int | tuple[int, int] | None = None,
    hflip: float = 0.0,
    min_shift: int = 2,
    masks: str | os.PathLike | None = None,
    mask_out: str | os.PathLike | None = None,
    small: str = "skip",
    resize: int | None = None,
    keep_exif: bool = False,
    shard: Shard | str | tuple[int, int] | None = None,
    executor: str | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    dry_run: bool = False,
) -> ExpandSummary:
    """Write `n` distinct random crops of every image under SRC into DST.

    Args:
        size: crop size in pixels, one number for a square or (width, height).
            Every crop file has this size, in every mode.
        n: crops per image; required in modes random, resized and grid (a
            cap there), left out in center, five and ten.
        seed: the run's seed; drawn at random, logged and recorded when None.
        workers: processes to crop with; defaults to the CPU count, and 1
            crops in this process.
        format: "same" keeps each source's format where loaders read it and
            it stores the image's mode; "jpeg", "png" or "webp" force one.
        subsampling: JPEG chroma subsampling ("4:4:4", "4:2:2", "4:2:0");
            None keeps a JPEG source's own and uses 4:2:0 otherwise.
        background: colour that transparent pixels are composited over when
            the output format has no alpha, and of the border --small pad adds.
        max_pixels: larger images fail before they are decoded; defaults to
            the size at which Pillow stops decoding.
        overwrite: replace the outputs of an earlier cropaug run in DST.
        resume: continue the interrupted run in DST, which must have used the
            same options; without `seed` its seed is reused. A finished run
            is checked and left as it is, and an empty DST starts a new run.
            With `shard`, continues that shard's stopped run. SRC and DST
            must be local folders.
        dry_run: write nothing and return what a run would do, with an
            estimate of its size on disk, in the summary's `dry_run`. SRC
            and DST must be local folders.
        mode: "random", "resized", "center", "five", "ten" or "grid"; see
            cropaug.modes and docs/modes.md.
        scale, ratio: resized mode's ranges of area fraction and of aspect
            ratio (width / height), as (min, max).
        resample: filter that resizes boxes to `size` in resized mode:
            "nearest", "box", "bilinear", "hamming", "bicubic" or "lanczos".
        stride: grid mode's step between corners, one number or (x, y);
            defaults to the crop size.
        hflip: probability that a crop is mirrored left to right.
        min_shift: smallest Chebyshev distance, in pixels, between the
            corners of two crops of one image in modes random and resized;
            1 only keeps them distinct.
        masks: a tree mirroring SRC with one label mask per image, cropped
            alongside it into `mask_out` (default: DST's sibling named
            after it with "_masks" appended).

        small: what to do with an image smaller than the crop: "skip" it,
            "pad" it to the crop size with `background`, "upscale" it until
            the crop fits, or fail it with "error".
        resize: resize every image so its shorter side has this many pixels
            before cropping (Lanczos); the boxes refer to the resized image.
        keep_exif: copy each source's EXIF into its crops, without the
            Orientation tag and with the size tags set to the crop size.
        shard: crop only shard I of K, given as "I/K", (I, K) or a Shard,
            with I counted from 0. Shards share DST and each writes
            `DST/_parts/part-I-of-K.json` instead of the manifest; `merge`
            joins them. Needs an explicit `seed`.
        executor: "process" (a local process pool) or "dask"; defaults to
            "dask" when `scheduler` is given and to "process" otherwise.
        scheduler: address of a running Dask scheduler, such as
            "tcp://10.0.0.5:8786". With executor "dask" and no address, a
            local Dask cluster of `workers` processes runs on 127.0.0.1.

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
    n = require_integer("n", n, optional=True)
    seed = require_integer("seed", seed, optional=True)
    workers = require_integer("workers", workers, optional=True)
    quality = require_integer("quality", quality)
    max_pixels = require_integer("max_pixels", max_pixels, optional=True)
    min_shift = require_integer("min_shift", min_shift)
    resize = require_integer("resize", resize, optional=True)
    hflip = require_number("hflip", hflip)
    lossless = require_flag("lossless", lossless)
    keep_exif = require_flag("keep_exif", keep_exif)
    if resume and overwrite:
        raise InvalidParameterError(
            "resume and overwrite cannot be combined: resume continues the run "
            "in DST, overwrite replaces it"
        )
    crop_width, crop_height = _crop_size(size)
    src_path, dst_path = location(src), location(dst)
    _check_local(src_path, dst_path, resume, dry_run)
    given_seed = seed
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
        n=resolve_count(mode, n),
        seed=seed,
        format=format,
        quality=quality,
        subsampling=subsampling,
        lossless=lossless,
        background=_background(background),
        max_pixels=max_pixels if max_pixels is not None else 2 * Image.MAX_IMAGE_PIXELS,
        mode=mode,
        scale=scale,
        ratio=ratio,
        resample=resample,
        stride=_stride(stride),
        hflip=hflip,
        min_shift=min_shift,
        mask_root=Path(masks) if masks is not None else None,
        mask_out=resolve_mask_out(masks, mask_out, dst),
        small=small,
        resize=resize,
        keep_exif=keep_exif,
    )
    _validate(settings, workers)
    executor = _executor(executor, scheduler)
    shard = validate_shard(shard, given_seed, overwrite)
    workers = workers or os.cpu_count() or 1
    params = settings_to_params(settings, dst_path)
    state = check_destination(
        src_path, dst_path, resume, overwrite, sharded=shard is not None
    )
    if settings.mask_root is not None and settings.mask_out is not None:
        # A resumed run keeps the mask crops of the run it continues.
        replaces_run = overwrite or (resume and state != "empty")
        check_mask_folders(
            src_path,
            dst_path,
            settings.mask_root,
            settings.mask_out,
            replaces_run,
            shared=shard is not None,
        )

    if dry_run:
        resume_header = None
        if resume and state == "interrupted" and shard is None:
            resume_header = run_header(src_path, params, follow_symlinks)
        plan = plan_dry_run(
            src_path, dst_path, settings, follow_symlinks, resume_header, shard
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
            shard=shard,
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
        shard=shard,
        executor=executor,
        scheduler=scheduler,
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
        shard=shard,
        resumed_sources=outcome.resumed_sources,
        already_finished=outcome.already_finished,
    )


def settings_to_params(settings: CropSettings, dst: Path | None = None) -> dict:
    """Return the manifest's `params`: every option that affects the output.

    `mask_out` is recorded relative to `dst`, or as given when `dst` is None.
    """
    mask_out = None
    if settings.mask_out is not None:
        mask_out = (
            relative_mask_out(dst, settings.mask_out)
            if dst is not None
            else str(settings.mask_out)
        )
    stride = settings.stride or (settings.crop_width, settings.crop_height)
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
        "mode": settings.mode,
        "scale": list(settings.scale),
        "ratio": list(settings.ratio),
        "resample": settings.resample,
        "stride": list(stride),
        "hflip": settings.hflip,
        "min_shift": settings.min_shift,
        "masks": settings.mask_root is not None,
        "mask_out": mask_out,
        "small": settings.small,
        "resize": settings.resize,
        "keep_exif": settings.keep_exif,
    }


def _crop_size(size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(size, bool | str):
        # True would pass as an int, and "88" would unpack into two sides.
        raise InvalidParameterError(
            f"size must be an int or a (width, height) pair, not {size!r}"
        )
    if isinstance(size, numbers.Integral):
        width = height = size
    else:
        try:
            width, height = size
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"size must be an int or a (width, height) pair, not {size!r}"
            ) from None
    if not (_is_integer(width) and _is_integer(height)) or width < 1 or height < 1:
        raise InvalidParameterError(f"size must be positive integers, not {size!r}")
    return int(width), int(height)


def _is_integer(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _background(text: str) -> tuple[int, int, int]:
    require_text("background", text)
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
    if settings.small not in SMALL_POLICIES:
        raise InvalidParameterError(
            f"small must be one of {', '.join(SMALL_POLICIES)}, not {settings.small!r}"
        )
    if settings.resize is not None and settings.resize < 1:
        raise InvalidParameterError(f"resize must be at least 1, not {settings.resize}")
    validate_mode_settings(settings)


def _stride(stride: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if stride is None:
        return None
    try:
        return _crop_size(stride)
    except InvalidParameterError:
        raise InvalidParameterError(
            f"stride must be a positive int or an (x, y) pair, not {stride!r}"
        ) from None


def _executor(executor: str | None, scheduler: str | None) -> str:
    if executor is None:
        executor = "dask" if scheduler else "process"
    if executor not in EXECUTORS:
        raise InvalidParameterError(
            f"executor must be one of {', '.join(EXECUTORS)}, not {executor!r}"
        )
    if scheduler and executor != "dask":
        raise InvalidParameterError(
            f"a scheduler address needs the dask executor, not {executor!r}; "
            "drop the address or use the dask executor"
        )
    check_executor(executor)
    return executor


def _draw_seed() -> int:
    return secrets.randbelow(_DRAWN_SEED_BOUND)


def _check_local(src, dst, resume: bool, dry_run: bool) -> None:
    """Reject resume and dry_run for a URL, which they do not support."""
    if not (is_remote(src) or is_remote(dst)):
        return
    # NOTE: resume checks source and crop files with os.stat and deletes
    # stale crops with unlink and rmdir. A dry run reads image headers with
    # Pillow. None of these reach an fsspec URL yet.
    if resume:
        raise InvalidParameterError(
            "resume needs a local SRC and DST, not a URL; start the run over "
            "with overwrite instead"
        )
    if dry_run:
        raise InvalidParameterError(
            "dry_run needs a local SRC and DST, not a URL; run it on a local "
            "copy of SRC"
        )
