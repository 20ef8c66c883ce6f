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
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
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
    follow_symlinks,
    overwrite,
    resume,
    dry_run,
    verbose,
    quiet,
):
    """Write N unique random crops of every image in SRC to DST.

    SRC holds one folder per class; images are found recursively inside each
    class and DST mirrors the tree. DST/manifest.json records every crop's
    corner. Example:

        cropaug expand photos/ crops/ --size 224 --n 10 --seed 0
    """
    from cropaug.errors import CropaugError, InvalidParameterError
    from cropaug.expand import expand as run_expand
    from cropaug.files import OutputWriteError
    from cropaug.interrupt import RunInterrupted

    if resume and overwrite:
        raise click.UsageError(
            "--resume and --overwrite cannot be combined: --resume continues the "
            "run in DST, --overwrite replaces it"
        )
    _configure_logging(verbose, quiet)
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
            resume=resume,
            dry_run=dry_run,
        )
    except InvalidParameterError as error:
        raise click.UsageError(str(error)) from None
    except OutputWriteError as error:
        ctx = click.get_current_context()
        raise click.ClickException(
            f"{error}. The run stopped; once DST is writable again, continue "
            f"it with: {resume_command(ctx)}"
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

    for failure in summary.failed:
        click.echo(f"failed: {failure['source']}: {failure['error']}", err=True)
    click.echo(
        f"images {summary.images}, crops {summary.crops}, "
        f"skipped {len(summary.skipped)}, failed {len(summary.failed)}, "
        f"{summary.seconds:.1f} s (seed {summary.seed})"
    )
    if summary.failed:
        sys.exit(1)


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
        else:
            values = value if param.multiple else [value]
            for item in values:
                words += [param.opts[0], _option_text(param, item)]
    words.append("--resume")
    return shlex.join(words)


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
    else:
        click.echo(
            f"Interrupted by {name}. DST contains a partial run; continue it with:\n"
            f"  {resume_command(ctx)}",
            err=True,
        )
    sys.exit(128 + signal_number)


def main() -> None:
    cli(prog_name="cropaug")
