"""The `expand` and `merge` commands: crop a tree, join shard parts."""

import logging
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from cropaug.cli import (
    _FIXED_COUNTS,
    MODES,
    RESAMPLING_FILTERS,
    CropSize,
    Location,
    Ratio,
    ShardType,
    _configure_logging,
    cli,
)

logger = logging.getLogger("cropaug")


@cli.command()
@click.argument("src", type=Location(exists=True))
@click.argument("dst", type=Location())
@click.option(
    "--size",
    required=True,
    type=CropSize(),
    help="Crop size in pixels: 224 or WIDTHxHEIGHT.",
)
@click.option(
    "--n",
    "n",
    type=click.IntRange(min=1),
    help=(
        "Crops per image; required with --mode random, resized and grid (a cap "
        "there), left out with center, five and ten."
    ),
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    help="Run seed; drawn, printed and recorded when omitted.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Worker processes [default: CPU count; 1 runs in-process].",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["same", "jpeg", "png", "webp"], case_sensitive=False),
    default="same",
    show_default=True,
    help=(
        "Output format; 'same' keeps JPEG, PNG and BMP (PNG for a BMP with alpha) "
        "and writes PNG for the rest."
    ),
)
@click.option(
    "--quality",
    type=click.IntRange(1, 100),
    default=95,
    show_default=True,
    help="JPEG and lossy WebP quality.",
)
@click.option(
    "--subsampling",
    type=click.Choice(["4:4:4", "4:2:2", "4:2:0"]),
    help=(
        "JPEG chroma subsampling [default: a JPEG source's own, 4:2:0 for other "
        "sources]."
    ),
)
@click.option("--lossless", is_flag=True, help="Write lossless WebP.")
@click.option(
    "--background",
    default="white",
    show_default=True,
    help=(
        "Colour under transparent pixels when the output has no alpha, and of "
        "the border added by --small pad: a name, #rrggbb or r,g,b."
    ),
)
@click.option(
    "--max-pixels",
    type=click.IntRange(min=1),
    help=(
        "Fail images with more pixels than this, before decoding "
        "[default: Pillow's limit, 178956970]."
    ),
)
@click.option(
    "--small",
    type=click.Choice(["skip", "pad", "upscale", "error"]),
    default="skip",
    show_default=True,
    help=(
        "Images smaller than the crop: skip them, pad them with --background, "
        "upscale them (Lanczos) until the crop fits, or fail them."
    ),
)
@click.option(
    "--resize",
    type=click.IntRange(min=1),
    help=(
        "Resize every image (Lanczos) so its shorter side is this many pixels "
        "before cropping."
    ),
)
@click.option(
    "--keep-exif",
    is_flag=True,
    help=(
        "Copy EXIF (GPS and serial numbers included) into the crops, without "
        "the Orientation tag [default: copy none]."
    ),
)
@click.option(
    "--follow-symlinks",
    is_flag=True,
    help="Follow symbolic links inside SRC (loops are detected and skipped).",
)
@click.option(
    "--overwrite", is_flag=True, help="Replace an earlier cropaug run in DST."
)
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default="random",
    show_default=True,
    help=(
        "How boxes are placed: random fixed-size boxes; resized (random area "
        "and ratio, resized to --size); center; five (corners and centre); ten "
        "(five plus their mirror images); grid (every --stride pixels)."
    ),
)
@click.option(
    "--scale",
    nargs=2,
    type=Ratio(),
    default=(0.08, 1.0),
    show_default=True,
    metavar="MIN MAX",
    help="--mode resized: range of a box's area as a fraction of the image's.",
)
@click.option(
    "--ratio",
    nargs=2,
    type=Ratio(),
    default=(3 / 4, 4 / 3),
    metavar="MIN MAX",
    help=(
        "--mode resized: range of a box's width/height, drawn log-uniformly; "
        "fractions such as 3/4 are allowed [default: 3/4 4/3]."
    ),
)
@click.option(
    "--resample",
    type=click.Choice(RESAMPLING_FILTERS),
    default="bilinear",
    show_default=True,
    help=(
        "Pillow filter that resizes boxes to --size in --mode resized; all but "
        "nearest antialias when shrinking."
    ),
)
@click.option(
    "--stride",
    type=CropSize(),
    help="--mode grid: step between corners, S or SXxSY [default: the crop size].",
)
@click.option(
    "--hflip",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Probability that a crop is mirrored left to right.",
)
@click.option(
    "--min-shift",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help=(
        "--mode random and resized: smallest distance in pixels between the "
        "corners of two crops of one image; 1 allows neighbours one pixel apart."
    ),
)
@click.option(
    "--masks",
    "mask_root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    metavar="MASK_ROOT",
    help=(
        "Tree mirroring SRC with one label mask per image (same relative path, "
        "any image extension), cropped with the same boxes into --mask-out."
    ),
)
@click.option(
    "--mask-out",
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Folder for the mask crops [default: DST_masks, beside DST].",
)
@click.option(
    "--shard",
    type=ShardType(),
    metavar="I/K",
    help=(
        "Crop only shard I of K (I from 0 to K-1) into a DST shared by all "
        "shards; join them with `cropaug merge DST`. Needs --seed."
    ),
)
@click.option(
    "--executor",
    type=click.Choice(["process", "dask"]),
    help=(
        "Run crops in a local process pool or on Dask "
        "[default: dask with --scheduler, process otherwise]."
    ),
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    envvar="DASK_SCHEDULER_ADDRESS",
    show_envvar=True,
    help=(
        "Dask scheduler address, such as tcp://10.0.0.5:8786. Without it, "
        "--executor dask starts a local cluster of --workers processes."
    ),
)
@click.option(
    "--resume",
    is_flag=True,
    help=(
        "Continue the interrupted run in DST, which must have used the same "
        "options. Its seed is reused when --seed is omitted."
    ),
)
@click.option(
    "--dry-run",
    is_flag=True,
    help=(
        "Write nothing, and list the sources, skips and crops a run would "
        "write, with an estimate of the size on disk."
    ),
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log more: -v lists skipped files, -vv debug detail.",
)
@click.option("-q", "--quiet", is_flag=True, help="Hide the progress bar and warnings.")
def expand(
    src,
    dst,
    size,
    n,
    seed,
    workers,
    output_format,
    quality,
    subsampling,
    lossless,
    background,
    max_pixels,
    small,
    resize,
    keep_exif,
    follow_symlinks,
    overwrite,
    mode,
    scale,
    ratio,
    resample,
    stride,
    hflip,
    min_shift,
    mask_root,
    mask_out,
    shard,
    executor,
    scheduler,
    resume,
    dry_run,
    verbose,
    quiet,
):
    """Write N unique random crops of every image in SRC to DST.

    SRC contains one folder per class. Images are found recursively inside
    each class, and DST mirrors the tree. DST/manifest.json records every crop's
    box. --mode picks other crop families (resized, center, five, ten, grid),
    and --masks cuts a label-mask tree alongside. SRC and DST may be URLs
    such as s3://bucket/train when the cloud extra is installed. Example:

        cropaug expand photos/ crops/ --size 224 --n 10 --seed 0
    """
    from cropaug.errors import BrokenPoolError, CropaugError, InvalidParameterError
    from cropaug.expansion import expand as run_expand
    from cropaug.files import OutputWriteError
    from cropaug.interrupt import RunInterrupted

    _check_mode_options(mode, n, mask_root, mask_out)
    if resume and overwrite:
        raise click.UsageError(
            "--resume and --overwrite cannot be combined: --resume continues the "
            "run in DST, --overwrite replaces it"
        )
    _configure_logging(verbose, quiet)
    scheduler = _scheduler_for(executor, scheduler)
    try:
        summary = run_expand(
            src,
            dst,
            size=size,
            n=n,
            seed=seed,
            workers=workers,
            format=output_format.lower(),
            quality=quality,
            subsampling=subsampling,
            lossless=lossless,
            background=background,
            max_pixels=max_pixels,
            overwrite=overwrite,
            follow_symlinks=follow_symlinks,
            progress=not quiet and not dry_run,
            mode=mode,
            scale=scale,
            ratio=ratio,
            resample=resample,
            stride=stride,
            hflip=hflip,
            min_shift=min_shift,
            masks=mask_root,
            mask_out=mask_out,
            small=small,
            resize=resize,
            keep_exif=keep_exif,
            shard=shard,
            executor=executor,
            scheduler=scheduler,
            resume=resume,
            dry_run=dry_run,
        )
    except InvalidParameterError as error:
        raise click.UsageError(str(error)) from None
    except OutputWriteError as error:
        ctx = click.get_current_context()
        if _is_url(src) or _is_url(dst):
            raise click.ClickException(
                f"{error}. The run stopped; once DST is writable again, start it "
                "over with --overwrite"
            ) from None
        raise click.ClickException(
            f"{error}. The run stopped; once DST is writable again, continue "
            f"it with: {resume_command(ctx)}"
        ) from None
    except BrokenPoolError as error:
        ctx = click.get_current_context()
        if _is_url(src) or _is_url(dst):
            raise click.ClickException(
                f"{error}. The run stopped; start it over with --overwrite"
            ) from None
        raise click.ClickException(
            f"{error}. The run stopped; continue it with: {resume_command(ctx)}"
        ) from None
    except CropaugError as error:
        raise click.ClickException(str(error)) from None
    except (RunInterrupted, KeyboardInterrupt) as interrupt:
        _exit_interrupted(interrupt, dry_run)

    if summary.dry_run is not None:
        for line in summary.dry_run.render():
            click.echo(line)
        return
    if summary.already_finished:
        click.echo(f"{dst} already contains this finished run; nothing to do")
    elif summary.resumed_sources:
        click.echo(f"resumed: {summary.resumed_sources} sources were already done")

    _report(summary)


@cli.command()
@click.argument("dst", type=Location(exists=True))
@click.option("-q", "--quiet", is_flag=True, help="Hide warnings.")
def merge(dst, quiet):
    """Join the parts that `cropaug expand --shard I/K` runs wrote into DST.

    Checks that every part from 0 to K-1 is present, that no source is in
    two parts or in none, and that all shards ran with the same options.
    Then writes DST/manifest.json, byte-identical to the one a single run
    writes, and removes DST/_parts. Example:

        cropaug merge crops/
    """
    from cropaug.errors import CropaugError
    from cropaug.merging import merge as run_merge

    _configure_logging(0, quiet)
    try:
        summary = run_merge(dst)
    except CropaugError as error:
        raise click.ClickException(str(error)) from None

    _report(summary)


def _scheduler_for(executor: str | None, scheduler: str | None) -> str | None:
    """Return the scheduler address to use, rejecting one that cannot be used."""
    if not scheduler or executor != "process":
        return scheduler
    source = click.get_current_context().get_parameter_source("scheduler")
    if source is ParameterSource.ENVIRONMENT:
        # An address set for the whole shell does not override an explicit
        # --executor process.
        return None
    raise click.BadParameter(
        "a scheduler address needs --executor dask, not process",
        param_hint="'--scheduler'",
    )


def _report(summary) -> None:
    """Print the failures on stderr and the summary line; exit 1 if any failed."""
    for failure in summary.failed:
        click.echo(f"failed: {failure['source']}: {failure['error']}", err=True)
    prefix = f"shard {summary.shard}: " if summary.shard is not None else ""
    click.echo(
        f"{prefix}images {summary.images}, crops {summary.crops}, "
        f"skipped {len(summary.skipped)}, failed {len(summary.failed)}, "
        f"{summary.seconds:.1f} s (seed {summary.seed})"
    )
    if summary.shard is not None:
        verb = "found" if summary.already_finished else "wrote"
        click.echo(
            f"{verb} {summary.part_path}; run `cropaug merge {summary.dst}` once "
            f"all {summary.shard.count} shards have finished",
            err=True,
        )
    if summary.failed:
        sys.exit(1)


def _check_mode_options(mode, n, mask_root, mask_out) -> None:
    fixed = _FIXED_COUNTS.get(mode)
    if fixed is None and n is None:
        raise click.UsageError(f"Missing option '--n' (required with --mode {mode}).")
    if fixed is not None and n is not None and n != fixed:
        crops = "crop" if fixed == 1 else "crops"
        raise click.UsageError(
            f"--mode {mode} writes {fixed} {crops} per image; leave out --n {n}."
        )
    if mask_out is not None and mask_root is None:
        raise click.UsageError("--mask-out needs --masks MASK_ROOT.")


def resume_command(ctx: click.Context) -> str:
    """Return the command line that resumes this invocation, for the user to rerun.

    Every option given on the command line is repeated except --overwrite. A
    seed that was drawn is not added, because --resume reuses the seed
    recorded in DST.
    """
    import shlex

    words = ["cropaug", ctx.info_name or "expand"]
    for param in ctx.command.params:
        if param.name in ("overwrite", "resume"):
            continue
        source = ctx.get_parameter_source(param.name)
        if source not in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
            continue
        value = ctx.params[param.name]
        if isinstance(param, click.Argument):
            words.append(str(value))
        elif param.count:
            words += [param.opts[0]] * value
        elif param.is_flag:
            if value:
                words.append(param.opts[0])
        elif param.nargs > 1:
            words += [param.opts[0], *(str(item) for item in value)]
        else:
            values = value if param.multiple else [value]
            for item in values:
                words += [param.opts[0], _option_text(param, item)]
    words.append("--resume")
    return shlex.join(words)


def _is_url(location) -> bool:
    """Return whether a SRC or DST argument is a URL other than file://."""
    text = str(location)
    return "://" in text and not text.startswith("file://")


def _option_text(param: click.Parameter, value) -> str:
    if isinstance(param.type, CropSize):
        width, height = value
        return str(width) if width == height else f"{width}x{height}"
    return str(value)


def _exit_interrupted(interrupt: BaseException, dry_run: bool):
    import signal

    ctx = click.get_current_context()
    signal_number = getattr(interrupt, "signal_number", signal.SIGINT)
    name = signal.Signals(signal_number).name
    if dry_run:
        click.echo(f"Interrupted by {name}.", err=True)
    elif _is_url(ctx.params["src"]) or _is_url(ctx.params["dst"]):
        click.echo(
            f"Interrupted by {name}. DST contains a partial run; start it over "
            "with --overwrite",
            err=True,
        )
    else:
        click.echo(
            f"Interrupted by {name}. DST contains a partial run; continue it with:\n"
            f"  {resume_command(ctx)}",
            err=True,
        )
    sys.exit(128 + signal_number)
