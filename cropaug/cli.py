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


# The commands register themselves on `cli` when their modules are imported;
# they come last because they import the types above.
from cropaug import cli_expand, cli_tools  # noqa: E402, F401


def main() -> None:
    cli(prog_name="cropaug")
