"""The layout of ``--help`` with Chinese in it: wide characters take two terminal columns.

argparse measures text in characters and breaks lines at spaces only; Chinese has wide
characters and no spaces. In English the layout is left entirely to argparse.
"""

from __future__ import annotations

import argparse
import re
import unicodedata
from typing import Any, Final

from ..i18n import _, get_language

__all__ = ["HelpFormatter", "is_wide", "wrap_wide"]


#: Characters a line does not start with, and those it does not end with, when help
#: text with Chinese is wrapped (Chinese breaks between any two characters otherwise).
_NO_LINE_START: Final = frozenset("，。；：、！？）》」』”’…,.;:!?)]}")
_NO_LINE_END: Final = frozenset("（《「『“‘([{")


def is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def wrap_wide(text: str, width: int, indent: str = "") -> list[str]:
    """``text`` (one paragraph) in lines of at most ``width`` terminal columns, wide
    characters counting two: breaks at spaces, and between wide characters except
    before closing and after opening punctuation. ``indent`` starts every line after
    the first one."""
    from ..rendering.text import display_width

    units: list[tuple[str, bool]] = []  # unbreakable pieces; whether a space comes first
    space = glue = False
    for ch in text:
        if ch.isspace():
            space, glue = bool(units), False
            continue
        joins = bool(units) and not space
        if joins and not (glue or ch in _NO_LINE_START):
            # A narrow character after a narrow one: the same word.
            joins = not is_wide(ch) and not is_wide(units[-1][0][-1])
        if joins:
            units[-1] = (units[-1][0] + ch, units[-1][1])
        else:
            units.append((ch, space))
        space, glue = False, ch in _NO_LINE_END
    lines: list[str] = []
    line, used = "", 0
    for piece, spaced in units:
        gap = " " if spaced and line else ""
        size = display_width(piece)
        if line and used + len(gap) + size > width:
            lines.append(line)
            line, used = indent + piece, display_width(indent) + size
        else:
            line, used = line + gap + piece, used + len(gap) + size
    if line:
        lines.append(line)
    return lines


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The help layout: descriptions and epilogs as written (argparse's
    RawDescriptionHelpFormatter), and text with Chinese characters laid out by terminal
    columns, a wide character taking two (argparse counts characters): option help
    wrapped to its column, over-long description lines wrapped, continuation lines of
    a wide ``usage:`` prefix moved under its end, and section headings ending in the
    language's colon on every Python (argparse translates it from 3.13 on). In English
    the layout is left entirely to argparse."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ukeytool_headings: list[str] = []

    def _split_lines(self, text: str, width: int) -> list[str]:
        if get_language() == "en" or not any(is_wide(ch) for ch in text):
            return super()._split_lines(text, width)
        return wrap_wide(" ".join(text.split()), width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if get_language() == "en" or not any(is_wide(ch) for ch in text):
            return super()._fill_text(text, width, indent)
        from ..rendering.text import display_width

        lines: list[str] = []
        for line in text.splitlines():
            if display_width(indent + line) <= width:
                lines.append(indent + line)
                continue
            # Continuation lines go under the text: after the leading spaces and, in a
            # table of exit codes, after the code.
            lead = re.match(r"\s*(?:\d+\s+)?", line)
            hang = " " * display_width(lead.group() if lead else "")
            lines.extend(wrap_wide(indent + line, width, indent + hang))
        return "\n".join(lines) + ("\n" if text.endswith("\n") else "")

    def _format_usage(self, usage: Any, actions: Any, groups: Any, prefix: Any) -> str:
        from ..rendering.text import display_width

        if prefix is None:
            prefix = _("usage: ")
        extra = display_width(prefix) - len(prefix)
        if extra <= 0:
            return str(super()._format_usage(usage, actions, groups, prefix))
        self._width -= extra  # argparse measures the prefix in characters
        try:
            text = str(super()._format_usage(usage, actions, groups, prefix))
        finally:
            self._width += extra
        first, *rest = text.split("\n")
        moved = [" " * extra + line if line.startswith(" ") else line for line in rest]
        return "\n".join([first, *moved])

    def start_section(self, heading: str | None) -> None:
        if heading:
            self._ukeytool_headings.append(heading)
        super().start_section(heading)

    def format_help(self) -> str:
        text = str(super().format_help())
        if get_language() == "en":
            return text
        lines = text.split("\n")
        for index, line in enumerate(lines):
            stripped = line.strip()
            if stripped.endswith(":") and stripped[:-1] in self._ukeytool_headings:
                heading = _("%(heading)s:") % {"heading": stripped[:-1]}
                lines[index] = line[: len(line) - len(line.lstrip())] + heading
        return "\n".join(lines)
