"""Where a command's result goes: standard output (as UTF-8 whatever the locale), or a
file written atomically (--output); and whether it is coloured."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

from ..errors import UsageError
from ..i18n.message import template
from ..model.text import escape_control

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

__all__ = ["CANNOT_WRITE", "emit", "use_color"]

CANNOT_WRITE: Final = template("cli.cannot_write", "cannot write {path}: {reason}")
NOT_A_REGULAR_FILE: Final = template(
    "cli.output_not_regular",
    "--output {path} exists and is not a regular file (a directory, a device, a FIFO, a "
    "socket or a symbolic link to one); ukeytool replaces regular files only",
)


def emit(
    text: str | Iterable[str | bytes], output: str | None = None, *, clean: bool = False
) -> None:
    """``text`` to ``output`` (atomically, as node_exporter's textfile collector needs)
    or, without one, to standard output; raises :class:`UsageError` for a file that
    cannot be written, and for an ``output`` that exists and is not a regular file (a
    device, a FIFO, a directory, a symbolic link to one: never replaced). A new file
    gets mode 0644 less the umask; a replaced one keeps its permission bits only
    (never setuid, setgid or sticky). Every line goes through
    :func:`~ukeytool.model.text.escape_control` (ukeytool's own colours kept).

    ``text`` may come in pieces (:func:`~ukeytool.rendering.json.iter_json`'s): each is
    escaped and written as it comes, so the whole is never held at once; the bytes are
    those of the joined text (a piece never splits a colour sequence). To a file, the
    pieces go to the temporary file, which replaces ``output`` only once all are
    written. ``clean``: ``text`` holds nothing that escape_control would change (a JSON
    document of :mod:`ukeytool.rendering.json`, whose strings are escaped as they are
    written), so it is written without that pass over each character; its pieces may
    then be UTF-8 already (:func:`~ukeytool.rendering.json.iter_json_utf8`'s), written
    as they are."""
    pieces: Iterable[str | bytes] = [text] if isinstance(text, str) else text
    escaped = (
        pieces
        if clean
        else (
            escape_control(
                piece if isinstance(piece, str) else piece.decode(), lines=True, color=True
            )
            for piece in pieces
        )
    )
    if output:
        from ..rendering.prometheus import NotARegularFile, write_textfile

        try:
            write_textfile(output, escaped)
        except NotARegularFile:
            raise UsageError(NOT_A_REGULAR_FILE(path=output)) from None
        except OSError as exc:
            # strerror is the operating system's words: a parameter shown as it is.
            reason = exc.strerror or str(exc)
            raise UsageError(CANNOT_WRITE(path=output, reason=reason)) from None
        return
    sys.stdout.flush()
    out = sys.stdout.buffer
    for piece in escaped:
        out.write(piece if isinstance(piece, bytes) else piece.encode("utf-8", "backslashreplace"))
    out.flush()


def use_color(choice: str) -> bool:
    """--color: ``always``, ``never``, or ``auto`` (a terminal, unless NO_COLOR is set or
    the terminal is dumb)."""
    if choice == "always":
        return True
    if choice == "never" or "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    return sys.stdout.isatty()
