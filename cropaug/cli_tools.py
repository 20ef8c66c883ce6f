"""Commands that read a manifest: inspect, verify, reproduce, preview, schema."""

import logging
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from cropaug.cli import (
    MODES,
    RESAMPLING_FILTERS,
    CropSize,
    Ratio,
    _configure_logging,
    cli,
)

logger = logging.getLogger("cropaug")


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
