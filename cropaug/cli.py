"""The `cropaug` command line: parse options, call the library, report."""

import logging
import re
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from click.core import ParameterSource

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

    SRC holds one folder per class; images are found recursively inside each
    class and DST mirrors the tree. DST/manifest.json records every crop's
    box. --mode picks other crop families (resized, center, five, ten, grid),
    and --masks cuts a label-mask tree alongside. SRC and DST may be URLs
    such as s3://bucket/train when the cloud extra is installed. Example:

        cropaug expand photos/ crops/ --size 224 --n 10 --seed 0
    """
    from cropaug.errors import CropaugError, InvalidParameterError
    from cropaug.expand import expand as run_expand
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


def _workers_option(function):
    return click.option(
        "--workers",
        type=click.IntRange(min=1),
        help="Worker processes [default: CPU count; 1 runs in-process].",
    )(function)


def _logging_options(function):
    function = click.option(
        "-q", "--quiet", is_flag=True, help="Hide the progress bar and warnings."
    )(function)
    return click.option(
        "-v", "--verbose", count=True, help="Log more: -v info, -vv debug detail."
    )(function)


@contextmanager
def _click_errors():
    """Turn cropaug's errors into click's: bad arguments exit 2, the rest 1."""
    from cropaug.errors import CropaugError, InvalidParameterError

    try:
        yield
    except InvalidParameterError as error:
        raise click.UsageError(str(error)) from None
    except CropaugError as error:
        raise click.ClickException(str(error)) from None


def _mask_options(mask_out_help: str):
    def decorate(function):
        function = click.option(
            "--mask-out",
            type=click.Path(file_okay=False, path_type=Path),
            metavar="DIR",
            help=mask_out_help,
        )(function)
        return click.option(
            "--masks",
            "mask_root",
            type=click.Path(exists=True, file_okay=False, path_type=Path),
            metavar="MASK_ROOT",
            help="The label-mask tree the run cropped (expand --masks).",
        )(function)

    return decorate


def _manifest_file(path: Path) -> Path:
    from cropaug.manifest import MANIFEST_NAME

    return path / MANIFEST_NAME if path.is_dir() else path


@cli.command()
@click.argument("manifest", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option(
    "--image",
    "source",
    metavar="SOURCE",
    help="List the boxes of one source, given by its path relative to SRC.",
)
def inspect(manifest, as_json, source):
    """Summarise a run from its manifest.

    Prints the parameters and seed, library versions, images and crops per
    class, clamped images, and skipped and failed sources with their reasons.
    MANIFEST is DST/manifest.json or DST. Example:

        cropaug inspect crops/manifest.json --image cats/a.jpg
    """
    import json

    from cropaug.inspection import find_image, summarize_manifest
    from cropaug.inspection_text import format_image, format_summary
    from cropaug.validate import load_checked_manifest

    path = _manifest_file(manifest)
    with _click_errors():
        data, _ = load_checked_manifest(path, settings_required=False)
        if source is not None:
            image = find_image(data, source)
            text = json.dumps(image, indent=2) if as_json else format_image(image)
        else:
            summary = summarize_manifest(data)
            text = (
                json.dumps(summary, indent=2)
                if as_json
                else format_summary(summary, str(path))
            )
    click.echo(text)


@cli.command()
@click.argument("dst", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--source",
    "src",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The SRC folder the run cropped.",
)
@_mask_options(
    "Folder of the mask crops, if moved [default: params.mask_out of the manifest, "
    "relative to DST]."
)
@_workers_option
@_logging_options
def verify(dst, src, mask_root, mask_out, workers, verbose, quiet):
    """Check that DST contains exactly what DST/manifest.json records.

    Every crop must exist, decode, have the recorded size and match its box
    in the source, resized and mirrored as recorded. PNG, BMP and lossless
    WebP crops must have the same pixels, and JPEG and WebP crops too while
    the library versions are the manifest's. Every source must have its
    recorded SHA-256, and DST must contain no other files. The mask crops
    of a run with masks are checked alike, and their labels are compared
    with the masks when --masks is given. Exits 0 when every check passes
    and 1 otherwise, with one line per problem. Example:

        cropaug verify crops/ --source photos/ --masks labels/
    """
    from cropaug.inspection_text import printable
    from cropaug.verify import verify as run_verify

    _configure_logging(verbose, quiet)
    with _click_errors():
        report = run_verify(
            dst,
            src,
            masks=mask_root,
            mask_out=mask_out,
            workers=workers,
            progress=not quiet,
        )
    for difference in report.version_differences:
        logger.warning(
            "%s, so lossy crops may differ by up to %s levels in a 16x16 tile",
            difference,
            report.tolerance,
        )

    for problem in report.problems:
        click.echo(printable(f"{problem.path}: {problem.message}"))
    counts = f"{report.images} images, {report.crops} crops"
    if report.mask_out is not None:
        counts += f" and their mask crops in {report.mask_out}"
    unchecked = ""
    if report.mask_out is not None and not report.masks_compared:
        unchecked = "; mask labels not compared (pass --masks MASK_ROOT)"
    if report.ok:
        click.echo(f"ok: {counts} match {_manifest_file(dst)}{unchecked}")
        return
    click.echo(f"{len(report.problems)} problems ({counts} checked)")
    sys.exit(1)


@cli.command()
@click.argument("manifest", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--source",
    "src",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="The SRC folder the run cropped.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="New or empty folder for the crops and their manifest.",
)
@click.option(
    "--ignore-hash",
    is_flag=True,
    help="Crop sources whose SHA-256 differs from the manifest's, as they are now.",
)
@_mask_options("Folder for the mask crops [default: OUT_masks, beside OUT].")
@_workers_option
@_logging_options
def reproduce(
    manifest, src, out, ignore_hash, mask_root, mask_out, workers, verbose, quiet
):
    """Rebuild a run's crops from its manifest's boxes.

    No box is drawn again: every crop is cut at its recorded box, resized
    and mirrored as recorded. With --masks the mask crops are rebuilt too;
    without it, a run's mask crops are left out and the new manifest records
    no masks. With the library versions the manifest records, OUT matches
    the original DST byte for byte, manifest included. MANIFEST is
    DST/manifest.json or DST. Example:

        cropaug reproduce crops/manifest.json --source photos/ --out rebuilt/
    """
    from cropaug.reproduce import reproduce as run_reproduce

    if mask_out is not None and mask_root is None:
        raise click.UsageError("--mask-out needs --masks MASK_ROOT.")
    _configure_logging(verbose, quiet)
    with _click_errors():
        summary = run_reproduce(
            _manifest_file(manifest),
            src,
            out,
            masks=mask_root,
            mask_out=mask_out,
            ignore_hash=ignore_hash,
            workers=workers,
            progress=not quiet,
        )
    for failure in summary.failed:
        click.echo(f"failed: {failure['source']}: {failure['error']}", err=True)
    masks = f"; mask crops in {summary.mask_out}" if summary.mask_out else ""
    click.echo(
        f"images {summary.images}, crops {summary.crops}, "
        f"failed {len(summary.failed)}, written to {summary.out}{masks}"
    )
    if summary.failed:
        sys.exit(1)


@cli.command()
@click.argument("target", type=click.Path(exists=True, path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="PNG file to write.",
)
@click.option(
    "--size", type=CropSize(), help="Crop size in pixels: 224 or WIDTHxHEIGHT."
)
@click.option(
    "--n",
    "n",
    type=click.IntRange(min=1),
    help="Crops per image; left out with --mode center, five and ten.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    help="Run seed; drawn and printed when omitted.",
)
@click.option(
    "--image",
    "source",
    metavar="SOURCE",
    help="One source, by its path relative to SRC (or as the manifest lists it).",
)
@click.option(
    "--source",
    "src",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="SRC folder of a manifest's run, to draw the sources under the boxes.",
)
@click.option("--grid", is_flag=True, help="Draw a contact sheet of many sources.")
@click.option(
    "--max-images",
    type=click.IntRange(min=1),
    default=24,
    show_default=True,
    help="Sources on a --grid sheet.",
)
@click.option(
    "--mode",
    type=click.Choice(MODES),
    help="How boxes are placed, as in expand [default: random].",
)
@click.option(
    "--scale",
    nargs=2,
    type=Ratio(),
    metavar="MIN MAX",
    help="--mode resized: range of a box's area as a fraction of the image's.",
)
@click.option(
    "--ratio",
    nargs=2,
    type=Ratio(),
    metavar="MIN MAX",
    help="--mode resized: range of a box's width/height.",
)
@click.option(
    "--resample",
    type=click.Choice(RESAMPLING_FILTERS),
    help="Filter that resizes the crops in the strip [default: bilinear].",
)
@click.option(
    "--stride", type=CropSize(), help="--mode grid: step between corners, S or SXxSY."
)
@click.option(
    "--hflip",
    type=click.FloatRange(0, 1),
    help="Probability that a crop is mirrored left to right [default: 0].",
)
@click.option(
    "--min-shift",
    type=click.IntRange(min=1),
    help="Smallest distance in pixels between corners of one image [default: 2].",
)
@_logging_options
def preview(
    target,
    output,
    size,
    n,
    seed,
    source,
    src,
    grid,
    max_images,
    mode,
    scale,
    ratio,
    resample,
    stride,
    hflip,
    min_shift,
    verbose,
    quiet,
):
    """Draw a PNG of crop boxes over a source, with the crops below.

    TARGET is an image, a SRC folder, or DST/manifest.json (or DST). For an
    image or SRC the boxes are the ones `expand` would draw with --size, --n,
    --seed, --mode and its options. A lone image is seeded by its folder and
    file name, as if it lay in a class folder of SRC. For a manifest they are
    the recorded ones. Mirrored crops have an F after their number.
    Examples:

    \b
        cropaug preview photos/cats/a.jpg --size 224 --n 10 --seed 0 -o a.png
        cropaug preview photos/ --grid --size 224 --n 10 --seed 0 -o sheet.png
        cropaug preview photos/cats/a.jpg --size 224 --mode five -o five.png
        cropaug preview crops/ --image cats/a.jpg --source photos/ -o a.png
        cropaug preview crops/manifest.json --grid -o sheet.png
    """
    from cropaug.preview import render_preview, save_png

    given = {
        "mode": mode,
        "scale": scale,
        "ratio": ratio,
        "resample": resample,
        "stride": stride,
        "hflip": hflip,
        "min_shift": min_shift,
    }
    box_options = {name: value for name, value in given.items() if value is not None}
    _configure_logging(verbose, quiet)
    with _click_errors():
        picture = render_preview(
            target,
            size=size,
            n=n,
            seed=seed,
            image=source,
            src=src,
            grid=grid,
            max_images=max_images,
            box_options=box_options,
        )
        save_png(picture, output)
    click.echo(f"wrote {output} ({picture.width}x{picture.height})")


@cli.command()
def schema():
    """Print the JSON Schema (draft 2020-12) of manifest.json."""
    from cropaug.schema import schema_text

    click.echo(schema_text(), nl=False)


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


def main() -> None:
    cli(prog_name="cropaug")
