"""Text that comes from a token or a certificate as bytes, kept with its bytes.

Token labels, manufacturer and model strings and object labels are meant to be UTF-8;
Chinese modules often put GBK there instead. :func:`decode_text` is the single place
that turns such bytes into a :class:`Text`: UTF-8 when the bytes are valid UTF-8,
otherwise GB18030 (a superset of GBK) marked as a guess; the bytes are always kept, so
nothing is lost and a label can be matched on its raw value.
"""

from __future__ import annotations

import codecs
import dataclasses
import unicodedata

__all__ = ["Text", "decode_text", "escape_control"]


@dataclasses.dataclass(frozen=True)
class Text:
    """A string read as bytes, with how it was decoded."""

    raw: bytes
    """The bytes exactly as read (for CK_TOKEN_INFO fields: without the blank padding)."""
    value: str
    """The decoded text."""
    encoding: str
    """How :attr:`value` was decoded: ``"utf-8"``, ``"gb18030"`` or ``"unknown"``
    (neither worked; undecodable bytes appear as ``\\xNN`` escapes)."""
    guessed: bool
    """True when the bytes were not valid UTF-8 and the encoding is a guess."""

    @property
    def hex(self) -> str:
        """The raw bytes as lowercase hex."""
        return self.raw.hex()

    def __str__(self) -> str:
        return self.value


def decode_text(raw: bytes, *, strip_padding: bool = False) -> Text:
    """Decode bytes from a token or certificate into a :class:`Text`.

    With ``strip_padding`` trailing blanks and NUL bytes are removed first, as
    CK_TOKEN_INFO and CK_SLOT_INFO fields are blank-padded to a fixed width.
    """
    if strip_padding:
        raw = raw.rstrip(b" \x00")
    try:
        return Text(raw, raw.decode("utf-8"), "utf-8", False)
    except UnicodeDecodeError:
        pass
    try:
        return Text(raw, raw.decode("gb18030"), "gb18030", True)
    except UnicodeDecodeError:
        pass
    return Text(raw, raw.decode("utf-8", "backslashreplace"), "unknown", True)


def escape_control(value: str) -> str:
    """Escape control and format characters so text cannot steer a terminal."""
    if all(unicodedata.category(ch)[0] != "C" for ch in value):
        return value
    out = []
    for ch in value:
        if unicodedata.category(ch)[0] == "C":
            out.append(codecs.encode(ch, "unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)
