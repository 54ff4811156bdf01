"""How what stops a command reaches the user: one line, and the exit code of :mod:`.exits`.

The language is known here (main() has chosen it), so the CLI's own words are looked up
with ``_()``; an error's message is data (:class:`~ukeytool.Message`) and is
rendered in that language. Words from other software (an exception's text in the internal
error line) are shown as they are, never matched against our templates.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

from ..errors import UkeytoolError
from ..i18n import _, render
from ..model.text import escape_control
from .exits import PLUGIN_UNKNOWN, ExitCode, exit_code, failure_exit_code

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Final

    from ..model import ModuleFailure

__all__ = [
    "PLUGIN",
    "STANDARD",
    "Reporter",
    "error_line",
    "only_failures",
    "run_command",
]


def error_line(message: str) -> None:
    """``ukeytool: error: <message>`` on standard error."""
    line = _("ukeytool: error: {message}").format(message=message)
    sys.stderr.write(escape_control(line) + "\n")


class Reporter:
    """How a command reports an error that stops it: one line on standard error and the
    exit code of the error's class; a bug, one line that says so, and exit 1."""

    def error(self, exc: UkeytoolError) -> int:
        error_line(render(exc.message))
        return exit_code(exc)

    def internal(self, exc: Exception) -> int:
        if os.environ.get("UKEYTOOL_DEBUG"):
            raise exc
        message = _(
            "internal error: {kind}: {error} (this is a bug in ukeytool; run again with "
            "UKEYTOOL_DEBUG=1 and report the traceback)"
        )
        # The exception's own text is Python's or another library's: shown as it is.
        detail = str(exc) or type(exc).__name__
        error_line(message.format(kind=type(exc).__name__, error=detail))
        return ExitCode.INTERNAL


class PluginReporter(Reporter):
    """``check``, a monitoring plugin: every failure is UNKNOWN, the error on the one
    status line a monitoring system reads (standard output)."""

    def error(self, exc: UkeytoolError) -> int:
        sys.stdout.write(escape_control(f"UKEYTOOL UNKNOWN - {render(exc.message)}") + "\n")
        return PLUGIN_UNKNOWN

    def internal(self, exc: Exception) -> int:
        super().internal(exc)
        return PLUGIN_UNKNOWN


STANDARD: Final = Reporter()
PLUGIN: Final = PluginReporter()


def run_command(
    command: Callable[[argparse.Namespace], int], args: argparse.Namespace, reporter: Reporter
) -> int:
    """``command(args)``, with whatever stops it reported by ``reporter``; never a
    traceback (unless ``UKEYTOOL_DEBUG`` is set)."""
    try:
        return command(args)
    except UkeytoolError as exc:
        return reporter.error(exc)
    except KeyboardInterrupt:
        error_line(_("interrupted"))
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): not an error of ours; keep Python quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitCode.OK
    except Exception as exc:
        return reporter.internal(exc)


def only_failures(failures: Sequence[ModuleFailure]) -> int:
    """Every module failed: one line each, and the exit code of the worst kind."""
    for failure in failures:
        error_line(render(failure.message))
    return max(failure_exit_code(f.kind) for f in failures)
