"""Pauses at named points of a run, for tests only.

The tests kill a run at an exact instant, such as after the manifest is
written but before it is renamed into place. They set CROPAUG_TEST_PAUSE to
the point's name and CROPAUG_TEST_PAUSE_MARKER to a file path. The run creates
that file when it reaches the point, then sleeps until the test kills it.
Nothing else reads these variables, and without them each call is one
dictionary lookup.
"""

import os
import time
from pathlib import Path

PAUSE_VARIABLE = "CROPAUG_TEST_PAUSE"
MARKER_VARIABLE = "CROPAUG_TEST_PAUSE_MARKER"

# Long enough for any test to kill the paused run, short enough that a
# forgotten variable does not block a process for good.
_PAUSE_SECONDS = 600


def pause_if_requested(point: str) -> None:
    """Create the marker file and sleep when CROPAUG_TEST_PAUSE names `point`."""
    if os.environ.get(PAUSE_VARIABLE) != point:
        return
    marker = os.environ.get(MARKER_VARIABLE)
    if marker:
        Path(marker).write_text(f"{os.getpid()}\n", encoding="utf-8")
    time.sleep(_PAUSE_SECONDS)
