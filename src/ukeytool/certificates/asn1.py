"""Walking DER by hand, one TLV at a time, for the parts the parsers will not read.

asn1crypto parses a whole structure and looks types up by OID (it raises for SM2's
parameters and for anything new), and cryptography refuses what is not clean DER; the
certificate and file readers walk what they need themselves with these few helpers,
which accept BER lengths and never look at what the contents mean.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

__all__ = [
    "Tlv",
    "contents",
    "definite",
    "dotted",
    "header",
    "octets",
    "oid_at",
    "oid_text",
    "rsa_modulus",
    "small_integer_at",
    "tlv_end",
    "tlvs",
]


class Tlv(NamedTuple):
    tag: int
    """The identifier octet (class, constructed bit and tag number < 31)."""
    contents: bytes
    encoded: bytes


def tlvs(data: bytes) -> Iterator[Tlv]:
    """The TLVs one after another in ``data`` (BER lengths accepted)."""
    data = bytes(data)
    start, end = 0, len(data)
    while start < end:
        plain = definite(data, start, end)
        if plain is not None:
            body, stop = plain
            yield Tlv(data[start], data[body:stop], data[start:stop])
            start = stop
            continue
        # BER's indefinite lengths, long tags, and what is broken (asn1crypto's words
        # say how): asn1crypto's parser.
        from asn1crypto import parser as asn1_parser

        _class, _method, _tag, head, body_bytes, trailer = asn1_parser.parse(data[start:])
        size = len(head) + len(body_bytes) + len(trailer)
        yield Tlv(head[0], body_bytes, data[start : start + size])
        start += size


def definite(data: bytes, start: int, end: int) -> tuple[int, int] | None:
    """(start, end) of the contents of the TLV at ``start`` when it has a low tag number
    and a definite length that fits (the common case, read here without asn1crypto's
    parser), else None."""
    if start + 2 > end or data[start] & 0x1F == 0x1F:
        return None
    first = data[start + 1]
    if first < 0x80:
        body = start + 2
        stop = body + first
    elif 0x81 <= first <= 0x84:
        body = start + 2 + (first & 0x7F)
        if body > end:
            return None
        stop = body + int.from_bytes(data[start + 2 : body], "big")
    else:
        return None
    return (body, stop) if stop <= end else None


def contents(tlv: bytes) -> bytes:
    """The contents octets of the TLV ``tlv``."""
    plain = definite(tlv, 0, len(tlv))
    if plain is not None:
        return bytes(tlv[plain[0] : plain[1]])
    from asn1crypto import parser as asn1_parser

    return bytes(asn1_parser.parse(tlv)[4])


def header(data: bytes, start: int) -> tuple[int, int | None] | None:
    """(header length, content length; None for BER's indefinite form) of the TLV at
    ``start``, or None when the header itself is cut short or invalid."""
    if start + 2 > len(data) or data[start] & 0x1F == 0x1F:
        return None
    first = data[start + 1]
    if first == 0x80:
        return 2, None
    if first < 0x80:
        return 2, first
    count = first & 0x7F
    if count > 4 or start + 2 + count > len(data):
        return None
    return 2 + count, int.from_bytes(data[start + 2 : start + 2 + count], "big")


def tlv_end(data: bytes, start: int) -> int | None:
    """Where the TLV at ``start`` ends, or None when it does not fit in ``data``.

    BER's indefinite lengths are walked here, without copying the rest of ``data``: the
    cost is the size of the TLV, however many of them a file holds."""
    offset = start
    open_ = 0  # indefinite-length TLVs entered and not yet closed
    while True:
        if open_ and data[offset : offset + 2] == b"\x00\x00":
            offset += 2
            open_ -= 1
        else:
            head = header(data, offset)
            if head is None:
                return None
            size, length = head
            if length is None:
                if not data[offset] & 0x20 or open_ >= _MAX_INDEFINITE_DEPTH:
                    return None  # only a constructed TLV may have an indefinite length
                open_ += 1
                offset += size
                continue
            offset += size + length
            if offset > len(data):
                return None
        if not open_:
            return offset


_MAX_INDEFINITE_DEPTH = 64


_OIDS: dict[bytes, str] = {}


def oid_text(encoded: bytes) -> str:
    """The dotted form of an OBJECT IDENTIFIER's whole TLV (remembered: a token's
    certificates use a few dozen OIDs between them)."""
    text = _OIDS.get(encoded)
    if text is None:
        span = definite(encoded, 0, len(encoded))
        if encoded[:1] == b"\x06" and span is not None and span[0] < span[1] == len(encoded):
            text = dotted(encoded[span[0] :])
        else:  # not one plain OID TLV: asn1crypto says what it makes of it
            from asn1crypto import core as asn1_core

            text = str(asn1_core.ObjectIdentifier.load(encoded).dotted)
        if len(_OIDS) < 4096:
            _OIDS[encoded] = text
    return text


def dotted(body: bytes) -> str:
    """The dotted form of an OBJECT IDENTIFIER's contents, computed as asn1crypto does
    (also for encodings DER forbids: leading 0x80 octets add nothing, an unfinished last
    arc is dropped)."""
    arcs: list[str] = []
    part = 0
    for byte in body:
        part = part * 128 + (byte & 0x7F)
        if not byte & 0x80:
            if arcs:
                arcs.append(str(part))
            elif part >= 80:
                arcs += ["2", str(part - 80)]
            elif part >= 40:
                arcs += ["1", str(part - 40)]
            else:
                arcs += ["0", str(part)]
            part = 0
    return ".".join(arcs)


def oid_at(data: bytes, start: int) -> str | None:
    """The dotted OID whose TLV starts at ``start``, or None when there is none."""
    end = tlv_end(data, start)
    if end is None or data[start] != 0x06:
        return None
    try:
        from asn1crypto import core as asn1_core

        return str(asn1_core.ObjectIdentifier.load(data[start:end]).dotted)
    except Exception:
        return None


def small_integer_at(data: bytes, start: int) -> int | None:
    """The INTEGER (of at most four octets) at ``start``, or None."""
    end = tlv_end(data, start)
    head = header(data, start)
    if end is None or head is None or end - start - head[0] > 4:
        return None
    return int.from_bytes(data[start + head[0] : end], "big", signed=True)


def octets(value: Any) -> bytes:
    """An asn1crypto OCTET STRING's bytes, also when BER split it into pieces."""
    return bytes(value.__bytes__())


def rsa_modulus(key: bytes) -> int:
    """The modulus of an RSAPublicKey (the BIT STRING's contents after its first octet),
    as asn1crypto reads it; found by offsets when the key is plain DER of the right shape
    (a SEQUENCE of exactly two INTEGERs), else by asn1crypto."""
    outer = definite(key, 0, len(key))
    if key[:1] == b"\x30" and outer is not None and outer[1] == len(key):
        modulus = definite(key, outer[0], outer[1])
        exponent = None if modulus is None else definite(key, modulus[1], outer[1])
        if (
            modulus is not None
            and exponent is not None
            and exponent[1] == outer[1]
            and key[outer[0]] == key[modulus[1]] == 0x02
            and modulus[0] < modulus[1]
            and exponent[0] < exponent[1]
        ):
            return int.from_bytes(key[modulus[0] : modulus[1]], "big", signed=True)
    from asn1crypto import keys as asn1_keys

    return int(asn1_keys.RSAPublicKey.load(key)["modulus"].native)
