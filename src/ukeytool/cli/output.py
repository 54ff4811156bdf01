"""Where a command's result goes: standard output (as UTF-8 whatever the locale), or a
file written atomically (--output); and whether it is coloured."""

from __future__ import annotations

import os
import sys
from typing import Final

from ..errors import UsageError
from ..i18n.message import template
from ..model.text import escape_control

__all__ = ["CANNOT_WRITE", "emit", "use_color"]

CANNOT_WRITE: Final = template("cli.cannot_write", "cannot write {path}: {reason}")
NOT_A_REGULAR_FILE: Final = template(
    "cli.output_not_regular",
    "--output {path} exists and is not a regular file (a directory, a device, a FIFO, a "
    "socket or a symbolic link to one); ukeytool replaces regular files only",
)


def emit(text: str, output: str | None = None) -> None:
    """``text`` to ``output`` (atomically, as node_exporter's textfile collector needs)
    or, without one, to standard output; raises :class:`UsageError` for a file that
    cannot be written, and for an ``output`` that exists and is not a regular file (a
    device, a FIFO, a directory, a symbolic link to one: never replaced). A new file
    gets mode 0644 less the umask; a replaced one keeps its permission bits only
    (never setuid, setgid or sticky). Every line goes through
    :func:`~ukeytool.model.text.escape_control` (ukeytool's own colours kept)."""
    text = escape_control(text, lines=True, color=True)
    if output:
        from ..rendering.prometheus import NotARegularFile, write_textfile

        try:
            write_textfile(output, text)
        except NotARegularFile:
            raise UsageError(NOT_A_REGULAR_FILE(path=output)) from None
        except OSError as exc:
            # strerror is the operating system's words: a parameter shown as it is.
            reason = exc.strerror or str(exc)
            raise UsageError(CANNOT_WRITE(path=output, reason=reason)) from None
        return
    data = text.encode("utf-8", "backslashreplace")
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def use_color(choice: str) -> bool:
    """--color: ``always``, ``never``, or ``auto`` (a terminal, unless NO_COLOR is set or
    the terminal is dumb)."""
    if choice == "always":
        return True
    if choice == "never" or "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty()
