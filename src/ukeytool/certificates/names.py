"""The names in a certificate: attributes one by one, CFCA-style holders, identity numbers.

Names are read attribute by attribute from their own bytes (:class:`~ukeytool.NameAttribute`:
string type, raw value, how it was decoded, by the same :func:`~ukeytool.decode_text` that
decodes token labels), written as RFC 4514 text exactly as cryptography writes it, so both
parsers agree. A CFCA-style subject CN is split into its :class:`~ukeytool.Holder`
fields, and the identity numbers of the GB/T 20518 / GM/T 0015 extensions
(1.2.156.10260.4.1.x, 1.2.86.11.7.x) are read leniently into
:class:`~ukeytool.IdentityNumber` values. These hold personal data as it is; the
renderers mask it (:mod:`ukeytool.rendering.mask`).

The words in :attr:`Holder.kind`, :attr:`Holder.id_type_name`,
:attr:`IdentityNumber.meaning` and :attr:`IdentityNumber.id_kind` are codes in the JSON
(marked with ``N_``); the text's details line shows them translated.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..i18n import N_
from ..i18n.message import Message, template
from ..model import Holder, IdentityNumber, NameAttribute
from ..model.text import STRING_TYPES, Text, decode_text
from .asn1 import contents, definite, oid_text, tlvs
from .parts import Extension
from .reasons import Unreadable

if TYPE_CHECKING:
    from cryptography import x509

__all__ = [
    "ATTRIBUTE_NAMES",
    "COMMON_NAME",
    "attributes",
    "decoding_note",
    "escape",
    "holder",
    "identity_numbers_of",
    "lenient_identity_numbers",
    "rfc4514",
    "strict_identity_numbers",
]

# The same short names cryptography's rfc4514_string uses, so both parsers agree.
ATTRIBUTE_NAMES = {
    "2.5.4.3": "CN",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.6": "C",
    "2.5.4.9": "STREET",
    "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID",
}
COMMON_NAME = "2.5.4.3"

_OTHER_TYPES = {
    0x01: "BOOLEAN",
    0x02: "INTEGER",
    0x03: "BIT STRING",
    0x04: "OCTET STRING",
    0x05: "NULL",
    0x06: "OBJECT IDENTIFIER",
    0x17: "UTCTime",
    0x18: "GeneralizedTime",
    0x30: "SEQUENCE",
    0x31: "SET",
}

ATTRIBUTE_PARTS = template(
    "certificate.attribute_parts", "an attribute of {count} parts instead of type and value"
)
READ_AS_GUESS = template("certificate.read_as_guess", "read as {encoding} (a guess)")
UNDECODABLE = template(
    "certificate.undecodable", "it could not be decoded (shown with \\xNN escapes)"
)
NOT_UTF8 = template(
    "certificate.name_not_utf8", "{name} is a UTF8String holding non-UTF-8 bytes; {detail}"
)
NOT_ITS_CODEC = template(
    "certificate.name_not_its_codec", "{name} is a {kind} that is not {codec}; {detail}"
)
NOT_ASCII = template(
    "certificate.name_not_ascii", "{name} is a {kind} holding non-ASCII bytes; {detail}"
)


def attributes(name_der: bytes) -> tuple[NameAttribute, ...]:
    """A Name's attributes one by one, in the order the DER has them.

    String values are decoded by :func:`decode_text` as their string type says (and
    guessed at when they are not what it says); a value of another type keeps its whole
    encoding and reads ``#<hex>``, as RFC 4514 writes it.
    """
    plain = _plain_attributes(name_der)
    if plain is not None:
        return tuple(_attribute(*found) for found in plain)
    found = []
    for index, rdn in enumerate(tlvs(contents(name_der))):
        for atv in tlvs(rdn.contents):
            parts = list(tlvs(atv.contents))
            if len(parts) != 2:
                raise Unreadable(ATTRIBUTE_PARTS(count=len(parts)))
            oid_tlv, value_tlv = parts
            found.append(
                _attribute(
                    oid_tlv.encoded, value_tlv.tag, value_tlv.contents, value_tlv.encoded, index
                )
            )
    return tuple(found)


def _attribute(oid_tlv: bytes, tag: int, value: bytes, encoded: bytes, index: int) -> NameAttribute:
    """One attribute: its OID's TLV, its value's tag, contents and TLV, its RDN's index."""
    oid = oid_text(oid_tlv)
    kind = STRING_TYPES.get(tag)
    if kind is not None:
        text = decode_text(value, string_type=tag)
    else:
        kind = _OTHER_TYPES.get(tag, f"[tag 0x{tag:02x}]")
        text = Text(encoded, "#" + encoded.hex(), "unknown", False)
    return NameAttribute(oid, ATTRIBUTE_NAMES.get(oid, oid), kind, text, index)


def _plain_attributes(der: bytes) -> list[tuple[bytes, int, bytes, bytes, int]] | None:
    """(OID TLV, value tag, value contents, value TLV, RDN index) of each attribute of
    a Name in plain DER (definite lengths, low tags, two parts an attribute), found by
    offsets; None for anything else, which :func:`attributes` walks the general way."""
    head = _head(der, 0, len(der))
    if head is None or head[2] != len(der):
        return None
    _tag, position, end = head
    found = []
    index = 0
    while position < end:
        rdn = _head(der, position, end)
        if rdn is None:
            return None
        _tag, inner, rdn_end = rdn
        while inner < rdn_end:
            atv = _head(der, inner, rdn_end)
            if atv is None:
                return None
            _tag, body, atv_end = atv
            oid = _head(der, body, atv_end)
            value = None if oid is None else _head(der, oid[2], atv_end)
            if oid is None or value is None or value[2] != atv_end:
                return None
            found.append(
                (
                    der[body : oid[2]],
                    der[oid[2]],
                    der[value[1] : atv_end],
                    der[oid[2] : atv_end],
                    index,
                )
            )
            inner = atv_end
        position = rdn_end
        index += 1
    return found


def _head(data: bytes, start: int, end: int) -> tuple[int, int, int] | None:
    """(tag, start of contents, end) of a plain TLV at ``start`` within ``end``."""
    span = definite(data, start, end)
    return None if span is None else (data[start], *span)


def rfc4514(name_der: bytes) -> tuple[str, str | None, Message | None]:
    """A Name read from its bytes: its RFC 4514 text, its (last) common name, and what is
    odd about its strings (the first odd attribute's note), else None."""
    rdns: dict[int, list[str]] = {}
    cn = None
    odd: list[Message] = []
    for attribute in attributes(name_der):
        if attribute.decoding == "not_a_string":
            shown = attribute.value  # "#<hex>", which RFC 4514 leaves unescaped
        else:
            shown = escape(attribute.value)
            if attribute.oid == COMMON_NAME:
                cn = attribute.value
        note = decoding_note(attribute)
        if note is not None:
            odd.append(note)
        rdns.setdefault(attribute.rdn, []).append(f"{attribute.name}={shown}")
    text = ",".join("+".join(rdns[i]) for i in sorted(rdns, reverse=True))
    return text, cn, odd[0] if odd else None


def decoding_note(attribute: NameAttribute) -> Message | None:
    """A sentence for a value that is not what its string type says, else None."""
    decoding = attribute.decoding
    if decoding in ("strict", "not_a_string"):
        return None
    text = attribute.text
    how = READ_AS_GUESS(encoding=text.encoding)
    if decoding == "undecodable":
        how = UNDECODABLE()
    kind = attribute.string_type
    if kind == "UTF8String":
        return NOT_UTF8(name=attribute.name, detail=how)
    if kind in ("BMPString", "UniversalString"):
        codec = "utf-16-be" if kind == "BMPString" else "utf-32-be"
        return NOT_ITS_CODEC(name=attribute.name, kind=kind, codec=codec, detail=how)
    return NOT_ASCII(name=attribute.name, kind=kind, detail=how)


_SPECIALS = re.compile(r'[\\"+,;<>\x00]')


def escape(value: str) -> str:
    """RFC 4514 escaping, exactly as cryptography's rfc4514_string does it."""
    if not value:
        return ""
    if value[0] not in "# " and value[-1] != " " and not _SPECIALS.search(value):
        return value  # the usual case: nothing to escape
    for special in ("\\", '"', "+", ",", ";", "<", ">"):
        value = value.replace(special, "\\" + special)
    value = value.replace("\0", "\\00")
    if value[0] == "#" or (value[0] == " " and len(value) > 1):
        value = "\\" + value
    if value[-1] == " ":
        value = value[:-1] + "\\ "
    return value


# --- CFCA-style holder names ------------------------------------------------------------

_CFCA_NAME = re.compile(r"(?P<code>0[45]1)@(?P<first>[^@]*)@(?P<second>[^@]*)@(?P<seq>[^@]*)")
# The words below are codes in the JSON; the text's details line shows them translated.
_HOLDER_KINDS = {"051": N_("individual"), "041": N_("organisation")}
# What the letter in front of the number stands for, where it is known (domain.md: CFCA
# writes ID-card numbers as Z<number>; the organisation codes seen with N are unified
# social credit codes). Other letters are reported as they are, meaning unknown.
_ID_TYPE_NAMES = {
    ("051", "Z"): N_("identity card"),
    ("041", "N"): N_("unified social credit code"),
}


def holder(common_name: str | None) -> Holder | None:
    """The fields of a CFCA-style common name, or None for a name of another shape."""
    match = _CFCA_NAME.fullmatch(common_name or "")
    if match is None:
        return None
    code = match["code"]
    name, number = (match["first"], match["second"])
    if code == "041":
        name, number = number, name
    letter = None
    if len(number) > 1 and number[0].isascii() and number[0].isalpha():
        letter, number = number[0], number[1:]
    return Holder(
        type_code=code,
        kind=_HOLDER_KINDS[code],
        name=name,
        id_type=letter,
        id_type_name=None if letter is None else _ID_TYPE_NAMES.get((code, letter.upper())),
        id_number=number,
        sequence=match["seq"],
    )


# --- identity numbers in extensions -----------------------------------------------------

# GB/T 20518-2006 and GM/T 0015-2012 (1.2.156.10260.4.1.x, SM2 certificates) and the
# older e-government arc 1.2.86.11.7.x (RSA certificates) carry the same numbers, but
# organisation code and business registration number swap places between the two.
_IDENTITY_EXTENSIONS: dict[str, tuple[str, bool]] = {
    "1.2.156.10260.4.1.1": (N_("identity code"), True),
    "1.2.156.10260.4.1.2": (N_("social insurance number"), True),
    "1.2.156.10260.4.1.3": (N_("business registration number"), False),
    "1.2.156.10260.4.1.4": (N_("organisation code"), False),
    "1.2.156.10260.4.1.5": (N_("tax number"), False),
    "1.2.86.11.7.1": ("identity code", True),
    "1.2.86.11.7.2": ("social insurance number", True),
    "1.2.86.11.7.3": ("organisation code", False),
    "1.2.86.11.7.4": ("business registration number", False),
    "1.2.86.11.7.5": ("tax number", False),
}
_IDENTITY_ARCS = ("1.2.156.10260.4.1.", "1.2.86.11.7.")
# IdentifyCode ::= CHOICE { residenterCardNumber [0] PrintableString,
#     militaryOfficerCardNumber [1] UTF8String, passportNumber [2] PrintableString }
# The standard does not say EXPLICIT or IMPLICIT; both are met.
_ID_KINDS = {
    0: N_("resident identity card"),
    1: N_("military officer card"),
    2: N_("passport"),
}
_CONSTRUCTED = (0x30, 0x31)
_OCTET_STRING = 0x04


def _is_identity(oid: str) -> bool:
    return oid in _IDENTITY_EXTENSIONS or oid.startswith(_IDENTITY_ARCS)


def _identity_number(oid: str, raw: bytes, critical: bool) -> IdentityNumber:
    meaning, personal = _IDENTITY_EXTENSIONS.get(oid, (N_("unknown"), True))
    number, string_type, choice = _identity_value(raw)
    is_code = meaning == "identity code"
    return IdentityNumber(
        oid=oid,
        meaning=meaning,
        personal=personal,
        number=number,
        string_type=string_type,
        id_kind=_ID_KINDS.get(choice) if is_code and choice is not None else None,
        critical=critical,
        raw=raw,
    )


def _identity_value(raw: bytes) -> tuple[Text | None, str | None, int | None]:
    """The number in an identity extension's value: (text, string type, choice tag).

    Seen in the wild: a bare string type, one wrapped in a SEQUENCE, SET or an explicit
    [n] of the IdentifyCode choice, an implicit [n], an OCTET STRING, and the bare bytes
    without any ASN.1 around them.
    """
    try:
        items = list(tlvs(raw))
    except Exception:
        items = []
    if len(items) != 1 or len(items[0].encoded) != len(raw):
        return (decode_text(raw), None, None) if raw else (None, None, None)
    item, choice = items[0], None
    for _ in range(4):  # a few wrappers at most; deeper is not a number
        tag = item.tag
        if tag in STRING_TYPES:
            return decode_text(item.contents, string_type=tag), STRING_TYPES[tag], choice
        if tag & 0xC0 == 0x80:  # context-specific: the IdentifyCode choice
            if choice is None:
                choice = tag & 0x1F
            if not tag & 0x20:  # implicitly tagged: the contents are the string's
                return decode_text(item.contents), None, choice
        elif tag == _OCTET_STRING:
            return decode_text(item.contents), "OCTET STRING", choice
        elif tag not in _CONSTRUCTED:
            return None, None, choice
        children = list(tlvs(item.contents))
        if not children:
            return None, None, choice
        item = children[0]
    return None, None, choice


def strict_identity_numbers(certificate: x509.Certificate) -> tuple[IdentityNumber, ...]:
    """The identity numbers of a certificate cryptography parsed."""
    from cryptography import x509

    numbers = []
    for extension in certificate.extensions:
        oid = extension.oid.dotted_string
        if _is_identity(oid):
            value = extension.value
            raw = value.value if isinstance(value, x509.UnrecognizedExtension) else b""
            numbers.append(_identity_number(oid, raw, extension.critical))
    return tuple(numbers)


def lenient_identity_numbers(certificate: Any) -> tuple[IdentityNumber, ...]:
    """The identity numbers of a certificate asn1crypto parsed."""
    from asn1crypto import x509 as asn1_x509

    extensions = certificate["tbs_certificate"]["extensions"]
    if not isinstance(extensions, asn1_x509.Extensions):
        return ()  # a v1 certificate, or v3 without extensions
    numbers = []
    for extension in extensions:
        oid = str(extension["extn_id"].dotted)
        if _is_identity(oid):
            raw = bytes(extension["extn_value"].contents)
            numbers.append(_identity_number(oid, raw, bool(extension["critical"].native)))
    return tuple(numbers)


def identity_numbers_of(extensions: Iterable[Extension]) -> tuple[IdentityNumber, ...]:
    """The identity numbers among a certificate's raw extensions (:mod:`.parts`)."""
    return tuple(
        _identity_number(e.oid, e.value, e.critical) for e in extensions if _is_identity(e.oid)
    )
