"""How single values are written in ukeytool's JSON documents (see :mod:`.json` for the
choices): moments, versions, bytes kept with their text, problems and the message codes
beside human sentences, and the escaping of non-printing characters."""

from __future__ import annotations

import datetime
import os
import re
from collections.abc import Sequence
from typing import Any

from ..i18n import render
from ..i18n.message import Message
from ..model import Problem
from ..model.text import Text, candidates, escape_control, needs_escape

__all__ = [
    "day",
    "escape_nonprinting",
    "escape_string",
    "hex_or_none",
    "message_code",
    "moment",
    "path_hex",
    "problem_list",
    "text_members",
    "version",
]


def message_code(value: Message | None) -> str | None:
    """The stable code of the message a sentence was rendered from (``message_code`` in
    the JSON); None where there is no sentence."""
    return None if value is None else value.code


def moment(value: datetime.datetime) -> str:
    if value.tzinfo is not datetime.timezone.utc:  # the certificates' times are UTC already
        if value.tzinfo is None or value.utcoffset() is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        value = value.astimezone(datetime.timezone.utc)
    # YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00, the fraction only when not zero, in C.
    return datetime.datetime.isoformat(value)[:-6] + "Z"


def version(value: tuple[int, int]) -> str:
    return f"{value[0]}.{value[1]}"


def text_members(name: str, value: Text | None) -> dict[str, Any]:
    keys = _TEXT_KEYS.get(name)
    if keys is None:
        keys = _TEXT_KEYS[name] = (name, f"{name}_hex", f"{name}_encoding", f"{name}_guessed")
    value_key, hex_key, encoding_key, guessed_key = keys
    if value is None:
        return {value_key: None, hex_key: None, encoding_key: None, guessed_key: None}
    return {
        value_key: value.value,
        hex_key: value.raw.hex(),
        encoding_key: value.encoding,
        guessed_key: value.guessed,
    }


_TEXT_KEYS: dict[str, tuple[str, str, str, str]] = {}
"""The four member names of each :class:`Text` field (a few fixed names)."""


def path_hex(path: str) -> str:
    """A file name's bytes as the operating system has them, lowercase hex (a name that
    is not valid UTF-8 came in with its bytes as lone surrogates)."""
    try:
        return os.fsencode(path).hex()
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogatepass").hex()


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
    """The JSON document ``text`` (from ``json.dumps(..., ensure_ascii=False)``) with the
    characters :func:`~ukeytool.model.text.escape_control` escapes written as JSON
    escapes: C1 controls, DEL, format characters (bidi overrides, the BOM...), U+2028
    and U+2029 (which json.dumps leaves raw) as ``\\uXXXX``, decoding to the same value.
    A lone surrogate (a byte of a non-UTF-8 file name, or any other) has no JSON form
    that strict parsers accept: it becomes the text ``\\xff`` (``\\udXXX``), as the
    listing shows it. One regular-expression pass: only the rare characters are looked
    at, never the document character by character."""
    # json.dumps already escapes U+0000..U+001F inside strings, so the only raw control
    # characters left outside strings are the newlines of the indentation.
    if text.replace("\n", "").isprintable():
        return text  # the usual case: nothing to look at
    return escape_string(text)


def escape_string(text: str) -> str:
    """:func:`escape_nonprinting` for the JSON text of one string (as
    :func:`json.encoder.encode_basestring` writes it) known to hold a character that is
    not printable: what the encoder gives as ``escape`` (:mod:`.json_encode`), so that
    only such strings are looked at, never the whole document."""
    return candidates(lines=True, color=False).sub(_json_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    ch = match.group()
    if not needs_escape(ch):
        return ch
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:
        # The text of the escape, its backslash escaped for JSON.
        return "\\" + escape_control(ch)
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"
