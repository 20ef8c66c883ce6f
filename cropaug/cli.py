"""The `cropaug` command line: parse options, call the library, report."""

import logging
import re
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from cropaug import __version__

logger = logging.getLogger("cropaug")

_SIZE_PATTERN = re.compile(r"^(\d+)(?:x(\d+))?$")


class CropSize(click.ParamType):
    """`224` for a square crop or `WIDTHxHEIGHT` such as `224x160`."""

    name = "size"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        match = _SIZE_PATTERN.match(str(value).strip().lower())
        if not match:
            self.fail(
                f"{value!r} is not a size; use 224 or WIDTHxHEIGHT such as 224x160",
                param,
                ctx,
            )
        width = int(match.group(1))
        height = int(match.group(2) or width)
        if width < 1 or height < 1:
            self.fail(
                f"{value!r} has a zero side; both sides must be at least 1", param, ctx
            )
        return width, height


class Location(click.ParamType):
    """A local folder, checked like click.Path, or a URL such as s3://bucket/train."""

    name = "location"

    def __init__(self, exists: bool = False):
        self._path = click.Path(exists=exists, file_okay=False, path_type=Path)

    def convert(self, value, param, ctx):
        if isinstance(value, str) and "://" in value:
            # cropaug.remote opens the URL and reports what is wrong with it.
            return value
        return self._path.convert(value, param, ctx)


class ShardType(click.ParamType):
    """`I/K`: shard I of K, with I counted from 0."""

    name = "shard"

    def convert(self, value, param, ctx):
        from cropaug.shards import Shard, parse_shard

        if isinstance(value, Shard):
            return value
        try:
            return parse_shard(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


class _TqdmHandler(logging.Handler):
    """Write log lines above the progress bar instead of through it."""

    def emit(self, record):
        from tqdm import tqdm

        try:
            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:
            self.handleError(record)


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING
    if quiet:
        level = logging.ERROR
    elif verbose:
        level = logging.INFO if verbose == 1 else logging.DEBUG
    handler = _TqdmHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cropaug")
def cli():
    """Expand image datasets offline with unique, reproducible random crops."""


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
    "--n", "n", required=True, type=click.IntRange(min=1), help="Crops per image."
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
    help="Output format; 'same' keeps JPEG, PNG and BMP and writes PNG for the rest.",
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
        "Colour under transparent pixels when the output has no alpha: a name, "
        "#rrggbb or r,g,b."
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
    "--follow-symlinks",
    is_flag=True,
    help="Follow symbolic links inside SRC (loops are detected and skipped).",
)
@click.option(
    "--overwrite", is_flag=True, help="Replace an earlier cropaug run in DST."
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
    follow_symlinks,
    overwrite,
    shard,
    executor,
    scheduler,
    verbose,
    quiet,
):
    """Write N unique random crops of every image in SRC to DST.

    SRC holds one folder per class; images are found recursively inside each
    class and DST mirrors the tree. DST/manifest.json records every crop's
    corner. SRC and DST may be URLs such as s3://bucket/train when the cloud
    extra is installed. Example:

        cropaug expand photos/ crops/ --size 224 --n 10 --seed 0
    """
    from cropaug.errors import CropaugError, InvalidParameterError
    from cropaug.expand import expand as run_expand

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
            progress=not quiet,
            shard=shard,
            executor=executor,
            scheduler=scheduler,
        )
    except InvalidParameterError as error:
        raise click.UsageError(str(error)) from None
    except CropaugError as error:
        raise click.ClickException(str(error)) from None

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
    from cropaug.merge import merge as run_merge

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
        click.echo(
            f"wrote {summary.part_path}; run `cropaug merge {summary.dst}` once "
            f"all {summary.shard.count} shards have finished",
            err=True,
        )
    if summary.failed:
        sys.exit(1)


def main() -> None:
    cli(prog_name="cropaug")
