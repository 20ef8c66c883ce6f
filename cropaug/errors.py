"""Exceptions that cropaug raises for problems a user can fix."""


class CropaugError(Exception):
    """Base class: the CLI prints the message and exits 1, without a traceback."""


class InvalidParameterError(CropaugError, ValueError):
    """An argument of a public function has a value cropaug cannot use."""


class DestinationError(CropaugError):
    """The output folder cannot be used as it is."""


class ImageError(CropaugError):
    """One source image cannot be cropped; the run records it and goes on."""


class ManifestError(CropaugError):
    """A manifest's content is invalid or unsafe to act on."""


class BrokenPoolError(CropaugError):
    """A worker process exited in mid-run, so the tasks it was running are lost."""
