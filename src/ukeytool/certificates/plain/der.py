"""Strict DER, one TLV at a time, for the plain reader: what it does not vouch for
raises :class:`Decline`."""

from __future__ import annotations

from ..asn1 import dotted

__all__ = [
    "Decline",
    "ascii_text",
    "bit_string",
    "children",
    "oid_tlv",
    "only",
    "positive",
    "sequences",
    "strict_oid",
    "tlv",
]


class Decline(Exception):
    """Something this reader does not vouch for: the parsers read the certificate."""


def tlv(data: bytes, start: int, end: int) -> tuple[int, int, int]:
    """(tag, start of contents, end) of the strict DER TLV at ``start``, within ``end``."""
    if start + 2 > end:
        raise Decline
    tag = data[start]
    if tag & 0x1F == 0x1F:
        raise Decline
    first = data[start + 1]
    if first < 0x80:
        body = start + 2
        stop = body + first
    elif first == 0x81:
        body = start + 3
        if body > end or data[start + 2] < 0x80:
            raise Decline
        stop = body + data[start + 2]
    elif first in (0x82, 0x83):
        body = start + 2 + (first & 0x7F)
        if body > end or data[start + 2] == 0:
            raise Decline
        stop = body + int.from_bytes(data[start + 2 : body], "big")
    else:
        raise Decline
    if stop > end:
        raise Decline
    return tag, body, stop


def children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, start, start of contents, end) of each TLV from ``start`` to exactly ``end``."""
    found: list[tuple[int, int, int, int]] = []
    append = found.append
    while start < end:
        # The common case inline (a low tag, a short length): what tlv checks, without
        # the call; anything else goes through tlv.
        if start + 2 <= end:
            tag = data[start]
            first = data[start + 1]
            if first < 0x80 and tag & 0x1F != 0x1F:
                stop = start + 2 + first
                if stop <= end:
                    append((tag, start, start + 2, stop))
                    start = stop
                    continue
        tag, body, stop = tlv(data, start, end)
        append((tag, start, body, stop))
        start = stop
    return found


def sequences(data: bytes, start: int, end: int) -> list[tuple[int, int]]:
    """The (start of contents, end) of each SEQUENCE of the SEQUENCE OF SEQUENCE that fills
    ``start`` to ``end``: at least one, as the X.509 grammar's ``SIZE (1..MAX)`` asks."""
    body, stop = only(data, start, end, 0x30)
    found = children(data, body, stop)
    if not found:
        raise Decline
    out = []
    for tag, _start, member_body, member_end in found:
        if tag != 0x30:
            raise Decline
        out.append((member_body, member_end))
    return out


def only(data: bytes, start: int, end: int, tag: int) -> tuple[int, int]:
    """The contents of the one TLV, of ``tag``, that fills ``start`` to ``end``."""
    found, body, stop = tlv(data, start, end)
    if found != tag or stop != end:
        raise Decline
    return body, stop


_MAX_OID = 32


def strict_oid(data: bytes, body: int, stop: int) -> str:
    """An OBJECT IDENTIFIER's contents, strictly: minimal arcs of at most 28 bits."""
    contents = data[body:stop]
    known = _OIDS.get(contents)
    if known is not None:
        return known  # checked when it was first met
    if not 0 < stop - body <= _MAX_OID or data[stop - 1] & 0x80:
        raise Decline
    arc_start = True
    size = 0
    for byte in data[body:stop]:
        if arc_start and byte == 0x80:
            raise Decline  # a leading zero septet
        size = size + 1 if byte & 0x80 else 0
        if size > 3:
            raise Decline  # an arc over 28 bits
        arc_start = not byte & 0x80
    text = dotted(contents)
    if len(_OIDS) < 4096:
        _OIDS[contents] = text
    return text


_OIDS: dict[bytes, str] = {}
"""The OIDs checked so far, by their contents: a token's certificates share a few dozen."""


def oid_tlv(data: bytes, start: int, end: int) -> tuple[str, int]:
    tag, body, stop = tlv(data, start, end)
    if tag != 0x06:
        raise Decline
    return strict_oid(data, body, stop), stop


def bit_string(data: bytes, body: int, stop: int) -> bytes:
    """A BIT STRING's bits, padding checked as DER (and cryptography) require."""
    if stop == body:
        raise Decline
    unused = data[body]
    if unused > 7 or (unused and (stop == body + 1 or data[stop - 1] & ((1 << unused) - 1))):
        raise Decline
    return data[body + 1 : stop]


def positive(data: bytes, body: int, stop: int) -> int:
    """A positive INTEGER in its minimal encoding."""
    if stop == body or data[body] & 0x80:
        raise Decline
    if stop - body > 1 and data[body] == 0 and not data[body + 1] & 0x80:
        raise Decline
    value = int.from_bytes(data[body:stop], "big")
    if value == 0:
        raise Decline
    return value


def ascii_text(data: bytes, body: int, stop: int) -> str:
    return data[body:stop].decode("ascii")  # UnicodeDecodeError: declined
