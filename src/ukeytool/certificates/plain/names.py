"""Names for the plain reader: checked as cryptography checks them, written as its
``rfc4514_string`` writes them, their attributes as :func:`..names.attributes` reads them."""

from __future__ import annotations

import re
from typing import Any

from ...model import NameAttribute
from ...model.text import STRING_TYPES, Text
from ..names import ATTRIBUTE_NAMES, COMMON_NAME, escape
from .der import Decline, children, oid_tlv, only, strict_oid, tlv

__all__ = ["name_contents", "name_of", "read_name"]


# The length limits cryptography's NameAttribute warns about (in UTF-8 octets).
_LENGTH_LIMITS = {"2.5.4.6": (2, 2), "1.3.6.1.4.1.311.60.2.1.3": (2, 2), COMMON_NAME: (1, 64)}
# The string types read here, how cryptography decodes them, and the characters that
# it (or some version of it) checks the type allows: others are declined.
_STRING_TYPES = {
    0x0C: ("utf-8", None),  # UTF8String
    0x12: ("utf-8", re.compile(r"[0-9 ]*")),  # NumericString
    0x13: ("utf-8", re.compile(r"[A-Za-z0-9 '()+,\-./:=?]*")),  # PrintableString
    0x16: ("utf-8", re.compile(r"[\x20-\x7e]*")),  # IA5String, visible characters only
    0x1A: ("utf-8", re.compile(r"[\x20-\x7e]*")),  # VisibleString
    0x1C: ("utf-32-be", None),  # UniversalString
    0x1E: ("utf-16-be", None),  # BMPString
}

# How decode_text reads each of those types strictly (the ASCII-based ones, which the
# patterns above keep to ASCII, as ASCII): the same text, so it is not decoded again.
_TEXT_CODECS = {
    tag: "ascii" if pattern else codec for tag, (codec, pattern) in _STRING_TYPES.items()
}

_NAMES: dict[bytes, tuple[str, str | None, tuple[NameAttribute, ...]]] = {}
_NAMES_MAX = 256


def name_of(name_der: bytes) -> tuple[str, str | None, tuple[NameAttribute, ...]]:
    """An issuer's Name (see :func:`read_name`), remembered by its DER, as a token's
    certificates share a few issuers."""
    found = _NAMES.get(name_der)
    if found is None:
        found = read_name(name_der)
        if len(_NAMES) >= _NAMES_MAX:
            _NAMES.clear()
        _NAMES[name_der] = found
    return found


def read_name(name_der: bytes) -> tuple[str, str | None, tuple[NameAttribute, ...]]:
    """A Name's RFC 4514 text as cryptography writes it, its last common name, and its
    attributes (as :func:`.names.attributes` reads them). A subject, each certificate's
    own, is read with this, not remembered: it would only push the issuers out."""
    body, end = only(name_der, 0, len(name_der), 0x30)
    return name_contents(name_der, body, end)


def name_contents(
    data: bytes, body: int, end: int
) -> tuple[str, str | None, tuple[NameAttribute, ...]]:
    """The contents of a Name: its text, last common name and attributes."""
    shown = []
    cn = None
    attributes: list[NameAttribute] = []
    for index, (tag, start, _body, rdn_end) in enumerate(children(data, body, end)):
        if tag != 0x31:
            raise Decline
        key = (data[start:rdn_end], index)
        rdn = _RDNS.get(key)
        if rdn is None:
            rdn = _rdn(key[0], index)
            if rdn[1] is None:  # not a common name, each holder's own (see _RDNS)
                if len(_RDNS) >= _RDNS_MAX:
                    _RDNS.clear()
                _RDNS[key] = rdn
        shown.append(rdn[0])
        if rdn[1] is not None:
            cn = rdn[1]
        attributes += rdn[2]
    return ",".join(reversed(shown)), cn, tuple(attributes)


_RDNS: dict[tuple[bytes, int], tuple[str, str | None, tuple[NameAttribute, ...]]] = {}
"""The RDNs read so far, by their DER and place: the certificates of a token share most
(country, organisation, units), only the common name differs. An RDN with a common name
is not kept: each certificate's is its own, and thousands of them would empty the
cache of the shared ones again and again (an issuer's whole name is kept by
:func:`name_of`)."""
_RDNS_MAX = 1024


def _rdn(data: bytes, index: int) -> tuple[str, str | None, tuple[NameAttribute, ...]]:
    """One RDN (its whole TLV, the ``index``-th of its Name): its text, its last common
    name, its attributes."""
    size = len(data)
    if 8 < size < 0x82 and data[1] == size - 2 and data[2] == 0x30 and data[3] == size - 4:
        # The usual RDN, of one attribute with short lengths (a common name): its header,
        # up to the value's contents, checked once for all values (see _attribute_type).
        head = 8 + data[5]
        if data[4] == 0x06 and data[5] < 0x80 and head <= size and data[head - 1] == size - head:
            known = _HEADS.get(data[:head])
            if known is None:
                known = _attribute_type(data, head)
                if len(_HEADS) >= _HEADS_MAX:
                    _HEADS.clear()
                _HEADS[data[:head]] = known
            oid, name, codec, pattern, limits, string_type, text_codec = known
            raw = data[head:]
            value = _value(raw, codec, pattern, limits)
            text = Text(raw, value, text_codec, False)
            return (
                f"{name}={escape(value)}",
                value if oid == COMMON_NAME else None,
                (NameAttribute(oid, name, string_type, text, index),),
            )
    return _rdn_in_general(data, index)


_HEADS: dict[bytes, tuple[str, str, str, Any, tuple[int, int] | None, str, str]] = {}
"""The headers of one-attribute RDNs checked so far (to their value's contents)."""
_HEADS_MAX = 256


def _attribute_type(
    data: bytes, head: int
) -> tuple[str, str, str, Any, tuple[int, int] | None, str, str]:
    """What an attribute's header (of a one-attribute RDN, ``head`` octets) says: the
    OID, its name, the value's codec and pattern, the length limits, the string type and
    the codec decode_text names."""
    oid = strict_oid(data, 6, head - 2)
    tag = data[head - 2]
    kind = _STRING_TYPES.get(tag)
    if kind is None:
        raise Decline
    name = ATTRIBUTE_NAMES.get(oid, oid)
    limits = _LENGTH_LIMITS.get(oid)
    return oid, name, kind[0], kind[1], limits, STRING_TYPES[tag], _TEXT_CODECS[tag]


def _value(raw: bytes, codec: str, pattern: Any, limits: tuple[int, int] | None) -> str:
    """An attribute's value decoded, when cryptography reads it as it is (else
    :class:`Decline`)."""
    value = raw.decode(codec)
    if pattern is not None and not pattern.fullmatch(value):
        raise Decline  # cryptography refuses characters the type does not allow
    if limits is not None and not limits[0] <= len(value.encode()) <= limits[1]:
        raise Decline  # cryptography warns
    if value == " ":
        raise Decline  # cryptography 45 writes it "\\\\ ", 51 "\\ ": versions differ
    return value


def _rdn_in_general(data: bytes, index: int) -> tuple[str, str | None, tuple[NameAttribute, ...]]:
    """:func:`_rdn` for any RDN."""
    _tag, body, end = tlv(data, 0, len(data))
    members = children(data, body, end)
    if not members or end != len(data):
        raise Decline  # cryptography refuses an empty RDN
    shown = []
    cn = None
    attributes = []
    seen: set[str] = set()
    previous = b""
    for member_tag, start, member_body, member_end in members:
        encoded = data[start:member_end]
        if member_tag != 0x30 or (previous and encoded <= previous):
            raise Decline  # not a SEQUENCE, or a SET OF not in DER order
        previous = encoded
        oid, at = oid_tlv(data, member_body, member_end)
        value_tag, value_body, value_end = tlv(data, at, member_end)
        kind = _STRING_TYPES.get(value_tag)
        if value_end != member_end or kind is None or oid in seen:
            raise Decline
        seen.add(oid)
        raw = data[value_body:value_end]
        value = _value(raw, kind[0], kind[1], _LENGTH_LIMITS.get(oid))
        if oid == COMMON_NAME:
            cn = value
        name = ATTRIBUTE_NAMES.get(oid, oid)
        shown.append(f"{name}={escape(value)}")
        # As names._attribute makes it (the value decoded strictly as its type), at once.
        text = Text(raw, value, _TEXT_CODECS[value_tag], False)
        attributes.append(NameAttribute(oid, name, STRING_TYPES[value_tag], text, index))
    return "+".join(shown), cn, tuple(attributes)
