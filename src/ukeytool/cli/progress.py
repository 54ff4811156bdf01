"""A progress line on a terminal while the modules take their time.

Some modules read the whole card inside C_Initialize (OpenSC: seconds on a CAC card);
meanwhile a person at a terminal would see nothing. When reading takes more than a
second, one line says so on standard error, only when standard error is a terminal:
never when it is piped or redirected, never in standard output (JSON stays JSON)."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator

from ..i18n import render
from ..i18n.message import template
from ..model.text import escape_control

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

__all__ = ["DELAY", "STILL_READING", "progress_line"]

STILL_READING: Final = template(
    "cli.progress.reading",
    "reading the tokens; the PKCS#11 module is taking its time (some read the whole card "
    "when they start)...",
)
DELAY: Final = 1.0
"""Seconds of reading before the line is shown."""


@contextlib.contextmanager
def progress_line(enabled: bool = True) -> Iterator[None]:
    """Show :data:`STILL_READING` on a terminal's standard error once the block has run
    for :data:`DELAY` seconds (``enabled`` false: never, as for JSON output)."""
    stream = sys.stderr
    try:
        terminal = enabled and stream.isatty()
    except (AttributeError, ValueError, OSError):
        terminal = False
    if not terminal:
        yield
        return
    # The sentence is made in the main thread, in the run's language.
    line = escape_control("ukeytool: " + render(STILL_READING())) + "\n"
    lock = threading.Lock()
    done = False

    def show() -> None:
        with lock:
            if not done:
                with contextlib.suppress(OSError, ValueError):
                    stream.write(line)
                    stream.flush()

    timer = threading.Timer(DELAY, show)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            done = True
        timer.cancel()
