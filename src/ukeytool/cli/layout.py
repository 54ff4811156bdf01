"""The layout of ``--help``: descriptions, epilogs and headings wrapped to the terminal
in every language, and Chinese laid out by terminal columns (wide characters take two).

argparse measures text in characters and breaks lines at spaces only; Chinese has wide
characters and no spaces. English option help is wrapped by argparse (but never at a
hyphen: ``ccb-wangyindun-gd`` and ``--warn-days`` stay whole).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import unicodedata

from ..i18n import _, get_language

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up
if TYPE_CHECKING:
    from typing import Any, Final

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
    from ..i18n.columns import display_width

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


#: What a line of a table of exit codes starts with: spaces, the code, and a state
#: (``  2  CRITICAL  ``); its text wraps under what follows. (Compiled on first use, by re:
#: help only.)
_LEAD: Final = r"\s*(?:\d+\s+(?:[A-Z]{2,}\s+)?)?"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _items(lines: list[str]) -> list[list[str]]:
    """``lines`` in items: a line, and the lines after it indented deeper (its
    continuation, as written), unless it is blank or ends in a colon (a heading)."""
    items: list[list[str]] = []
    for line in lines:
        if (
            items
            and line.strip()
            and _takes_more(items[-1])
            and _indent(line) > _indent(items[-1][0])
        ):
            items[-1].append(line)
        else:
            items.append([line])
    return items


def _takes_more(item: list[str]) -> bool:
    first = item[0].strip()
    return bool(first) and not first.endswith((":", "："))


def _fill_item(item: list[str], width: int, indent: str) -> list[str]:
    """One item laid out as written when every line fits ``width``; else its text
    wrapped, the first line starting as written (``  2  CRITICAL  ``) and the others
    under its text (as far in as its continuation lines were)."""
    from ..i18n.columns import display_width

    if all(display_width(indent + line) <= width for line in item):
        return [indent + line for line in item]
    first = item[0]
    lead = re.match(_LEAD, first)
    head = lead.group() if lead else ""
    hang = display_width(head)
    if len(item) > 1:
        written = _indent(item[1])
        if written < len(first) and first[:written].endswith(" ") and first[written] != " ":
            head, hang = first[:written], written
        elif written > hang:
            hang = written
    body = first[len(head) :].strip()
    for line in item[1:]:
        part = line.strip()
        last = body[-1:] or " "
        glue = "" if is_wide(last) and (is_wide(part[0]) or last in _NO_LINE_START) else " "
        body += glue + part
    start = display_width(indent + head)
    wrapped = wrap_wide(body, width - start, " " * max(hang - display_width(head), 0))
    heads = [head] + [" " * display_width(head)] * (len(wrapped) - 1)
    return [indent + first + piece for first, piece in zip(heads, wrapped, strict=True)]


def terminal_columns() -> int:
    """:func:`shutil.get_terminal_size`'s columns: ``$COLUMNS`` when it is a positive
    number, else the width of the terminal on standard output, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The help layout: descriptions and epilogs line by line as written (argparse's
    RawDescriptionHelpFormatter), a line longer than the terminal wrapped (continuation
    lines under its text: after its leading spaces and, in a table of exit codes, after
    the code); section headings longer than the terminal wrapped; and text with Chinese
    characters laid out by terminal columns, a wide character taking two (argparse
    counts characters): option help wrapped to its column, continuation lines of a wide
    ``usage:`` prefix moved under its end, and section headings ending in the
    language's colon on every Python (argparse translates it from 3.13 on)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) < 4 and kwargs.get("width") is None:
            # What argparse computes, without importing shutil (and bz2, lzma) for it:
            # argparse makes a formatter for every option it is given.
            kwargs["width"] = terminal_columns() - 2
        super().__init__(*args, **kwargs)
        self._ukeytool_headings: list[str] = []

    def _split_lines(self, text: str, width: int) -> list[str]:
        if not any(is_wide(ch) for ch in text):
            import textwrap  # (help only: not at every start)

            # argparse's own wrapping, but never at a hyphen.
            return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)
        return wrap_wide(" ".join(text.split()), width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines: list[str] = []
        for item in _items(text.splitlines()):
            lines.extend(_fill_item(item, width, indent))
        return "\n".join(lines) + ("\n" if text.endswith("\n") else "")

    def _format_usage(self, usage: Any, actions: Any, groups: Any, prefix: Any) -> str:
        from ..i18n.columns import display_width

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
        from ..i18n.columns import display_width

        text = str(super().format_help())
        lines: list[str] = []
        for line in text.split("\n"):
            stripped = line.strip()
            if not (stripped.endswith(":") and stripped[:-1] in self._ukeytool_headings):
                lines.append(line)
                continue
            lead = line[: len(line) - len(line.lstrip())]
            heading = line
            if get_language() != "en":
                heading = lead + _("%(heading)s:") % {"heading": stripped[:-1]}
            if display_width(heading) <= self._width:
                lines.append(heading)
            else:
                lines.extend(wrap_wide(heading, self._width, lead + "  "))
        return "\n".join(lines)
