"""The `cropaug` command line: parse options, call the library, report."""

import logging
import re
import sys
from pathlib import Path

import click

from cropaug import __version__

logger = logging.getLogger("cropaug")

_SIZE_PATTERN = re.compile(r"^(\d+)(?:x(\d+))?$")

# Equal to modes.MODES, modes.FIXED_COUNTS and the keys of boxes.RESAMPLING
# (a test checks), spelled out so that `cropaug --help` needs no numpy or
# Pillow.
MODES = ("random", "resized", "center", "five", "ten", "grid")
_FIXED_COUNTS = {"center": 1, "five": 5, "ten": 10}
RESAMPLING_FILTERS = ("nearest", "box", "bilinear", "hamming", "bicubic", "lanczos")


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


class Ratio(click.ParamType):
    """A positive number written as a decimal (`0.75`) or a fraction (`3/4`)."""

    name = "number"

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        text = str(value).strip()
        numerator, _, denominator = text.partition("/")
        try:
            number = float(numerator)
            if denominator:
                number /= float(denominator)
        except (ValueError, ZeroDivisionError):
            self.fail(f"{value!r} is not a number such as 0.75 or 3/4", param, ctx)
        if not number > 0:
            self.fail(f"{value!r} is not positive", param, ctx)
        return number


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
    mode,
    scale,
    ratio,
    resample,
    stride,
    hflip,
    min_shift,
    mask_root,
    mask_out,
    verbose,
    quiet,
):
    """Write N unique random crops of every image in SRC to DST.

    SRC holds one folder per class; images are found recursively inside each
    class and DST mirrors the tree. DST/manifest.json records every crop's
    box. --mode picks other crop families (resized, center, five, ten, grid),
    and --masks cuts a label-mask tree alongside. Example:

        cropaug expand photos/ crops/ --size 224 --n 10 --seed 0
    """
    from cropaug.errors import CropaugError, InvalidParameterError
    from cropaug.expand import expand as run_expand

    _check_mode_options(mode, n, mask_root, mask_out)
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
            progress=not quiet,
            mode=mode,
            scale=scale,
            ratio=ratio,
            resample=resample,
            stride=stride,
            hflip=hflip,
            min_shift=min_shift,
            masks=mask_root,
            mask_out=mask_out,
        )
    except InvalidParameterError as error:
        raise click.UsageError(str(error)) from None
    except CropaugError as error:
        raise click.ClickException(str(error)) from None

    for failure in summary.failed:
        click.echo(f"failed: {failure['source']}: {failure['error']}", err=True)
    click.echo(
        f"images {summary.images}, crops {summary.crops}, "
        f"skipped {len(summary.skipped)}, failed {len(summary.failed)}, "
        f"{summary.seconds:.1f} s (seed {summary.seed})"
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


def main() -> None:
    cli(prog_name="cropaug")
