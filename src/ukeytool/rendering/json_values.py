"""How single values are written in ukeytool's JSON documents (see :mod:`.json` for the
choices): moments, versions, bytes kept with their text, problems and the message codes
beside human sentences, and the escaping of non-printing characters."""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Sequence
from typing import Any

from ..i18n import render
from ..i18n.message import Message
from ..model import Problem
from ..model.text import Text

__all__ = [
    "day",
    "escape_nonprinting",
    "hex_or_none",
    "message_code",
    "moment",
    "problem_list",
    "text_members",
    "version",
]


def message_code(value: Message | str | None) -> str | None:
    """The stable code of the message a sentence was rendered from (``message_code`` in
    the JSON); None for text made the old way, or no text."""
    return value.code if isinstance(value, Message) else None


def moment(value: datetime.datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    value = value.astimezone(datetime.timezone.utc)
    text = (
        f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
        f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
    )
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def version(value: tuple[int, int]) -> str:
    return f"{value[0]}.{value[1]}"


def text_members(name: str, value: Text | None) -> dict[str, Any]:
    if value is None:
        return {name: None, f"{name}_hex": None, f"{name}_encoding": None, f"{name}_guessed": None}
    return {
        name: value.value,
        f"{name}_hex": value.hex,
        f"{name}_encoding": value.encoding,
        f"{name}_guessed": value.guessed,
    }


def hex_or_none(value: bytes | None) -> str | None:
    return None if value is None else value.hex()


def day(value: datetime.date | None) -> str | None:
    return None if value is None else value.isoformat()


def problem_list(problems: Sequence[Problem]) -> list[dict[str, Any]]:
    return [
        {
            "where": str(p.where),
            "message": render(p.message),
            "message_code": message_code(p.message),
            "code": p.code,
            "code_name": p.code_name,
        }
        for p in problems
    ]


def escape_nonprinting(text: str) -> str:
    # json.dumps already escapes U+0000..U+001F inside strings, so the only raw control
    # characters left outside strings are the newlines of the indentation.
    if all(ch == "\n" or unicodedata.category(ch)[0] != "C" for ch in text):
        return text
    out = []
    for ch in text:
        if ch != "\n" and unicodedata.category(ch)[0] == "C":
            code = ord(ch)
            if code > 0xFFFF:
                code -= 0x10000
                out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
            else:
                out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
