"""How many terminal columns text takes: Chinese (East Asian wide and fullwidth)
characters take two, combining marks and format characters none.

Here, apart from the renderers, so that ``--help`` lays out its Chinese without importing
them (docs/development.md, "Start-up"); :func:`ukeytool.rendering.text.display_width` is
the same function.
"""

from __future__ import annotations

import unicodedata

__all__ = ["display_width", "is_wide"]


def is_wide(ch: str) -> bool:
    """Whether ``ch`` takes two columns (East Asian wide or fullwidth)."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def display_width(text: str) -> int:
    """The number of terminal columns ``text`` takes.

    East Asian wide and fullwidth characters take two columns, combining marks and
    format characters none, everything else one.
    """
    if text.isascii() and text.isprintable():
        return len(text)  # the usual case, without a loop
    width = 0
    for ch in text:
        if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width
