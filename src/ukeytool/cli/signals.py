"""SIGINT and SIGTERM end a command the same way.

Ctrl-C (SIGINT) raises :class:`KeyboardInterrupt` where the program is; SIGTERM (a
service manager stopping ukeytool, ``timeout(1)``, ``kill``) raises :class:`Terminated`,
a KeyboardInterrupt, for as long as a command runs. Either way the code that runs
then is the same: the isolation child is killed with its whole process group (any helper
the module started included, :mod:`ukeytool.pkcs11.isolate`), and the command ends
with one line and its own exit code:

* ``list-tokens``, ``list-modules``, ``inspect-file``: ``ukeytool: error: interrupted``
  (exit 130) or ``ukeytool: error: terminated`` (exit 143) on standard error;
* ``check``: its status line ``UKEYTOOL UNKNOWN - interrupted`` (or ``terminated``)
  on standard output, and exit 3 (UNKNOWN), as for every other failure of the plugin.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType

from ..i18n import _
from ..model.text import escape_control
from .exits import PLUGIN_UNKNOWN, ExitCode
from .reporting import PluginReporter, Reporter, error_line

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

__all__ = ["TERMINATED", "Terminated", "interruptible", "terminated_as_interrupted"]

TERMINATED: Final = ExitCode.TERMINATED
"""The exit code after SIGTERM (128 + 15, as a shell reports a process it killed)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived while a command ran."""


@contextlib.contextmanager
def terminated_as_interrupted() -> Iterator[None]:
    """While the block runs (in the main thread), SIGTERM raises :class:`Terminated`;
    a second SIGTERM during the clean-up is ignored (SIGKILL still ends the process)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def interruptible(
    command: Callable[[argparse.Namespace], int], reporter: Reporter
) -> Callable[[argparse.Namespace], int]:
    """``command``, ending on SIGINT or SIGTERM as the module docstring says."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except KeyboardInterrupt as exc:
            terminated = isinstance(exc, Terminated)
            word = _("terminated") if terminated else _("interrupted")
            if isinstance(reporter, PluginReporter):
                sys.stdout.write(f"UKEYTOOL UNKNOWN - {escape_control(word)}\n")
                sys.stdout.flush()
                return PLUGIN_UNKNOWN
            error_line(word)
            return TERMINATED if terminated else ExitCode.INTERRUPTED

    return run
