"""How the command line shows the library's log records: escaped as every line ukeytool
writes, warnings once each. Imported when :mod:`logging` is (see
:func:`ukeytool.cli.inspection.warnings_shown`)."""

from __future__ import annotations

import logging
import sys

from ..model.text import escape_control

__all__ = ["EscapingFormatter", "OnceHandler", "ukeytool_logger"]


def ukeytool_logger() -> logging.Logger:
    """The library's top logger, whose warnings :class:`OnceHandler` shows."""
    return logging.getLogger("ukeytool")


class EscapingFormatter(logging.Formatter):
    """Trace lines as every line ukeytool writes: through escape_control."""

    def format(self, record: logging.LogRecord) -> str:
        return escape_control(super().format(record), lines=True)


class OnceHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """ukeytool's warnings (a p11-kit registry line it skips, a broken catalogue) on
    standard error: escaped as every line ukeytool writes, and each one once per run
    (discovery and the renewal set-up may both meet the same broken file)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(EscapingFormatter("%(message)s"))
        self.setLevel(logging.WARNING)
        self._said: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if text in self._said:
            return
        self._said.add(text)
        self.stream = sys.stderr  # the stream of this moment (tests capture it)
        super().emit(record)
