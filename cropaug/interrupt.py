"""Turn SIGINT and SIGTERM into one exception, so a run stops the same way for both."""

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class RunInterrupted(BaseException):
    """SIGINT or SIGTERM arrived during a run; DST is left resumable.

    A BaseException like KeyboardInterrupt, so that no `except Exception`
    on the way up swallows it.
    """

    def __init__(self, signal_number: int):
        self.signal_number = signal_number
        super().__init__(signal.Signals(signal_number).name)

    def __reduce__(self):
        return RunInterrupted, (self.signal_number,)

    @property
    def exit_status(self) -> int:
        """Return the shell's status for death by this signal: 130 or 143."""
        return 128 + self.signal_number


@contextmanager
def signals_interrupt_run() -> Iterator[None]:
    """Raise RunInterrupted in the main thread on the first SIGINT or SIGTERM.

    Later signals are ignored until the block ends, so that a second Ctrl-C
    cannot cut short the stopping of the worker processes. Outside the main
    thread, where Python cannot install handlers, this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    received = []

    def handle(signal_number, frame):
        if received:
            return
        received.append(signal_number)
        raise RunInterrupted(signal_number)

    previous = {
        number: signal.signal(number, handle)
        for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
