"""Reading a clean certificate in one walk of its DER, without either parser.

Importing cryptography and asn1crypto costs more than reading a token of clean
certificates, and most certificates on a token are clean: DER as RFC 5280 gives it,
names of ordinary strings, the usual algorithms and extensions. :func:`read_plain` reads
such a certificate completely (every field, the relation fields, the fingerprints) by
offsets alone, and gives exactly the :class:`~ukeytool.Certificate` that reading it with
both parsers gives (:func:`.x509.read_with_parsers`; a test compares the two on every
certificate the suite makes and on mutations of them).

It vouches only for what it has checked is read the same way, and declines (returns
None) for anything else, which is then read by the parsers as before. The subset is at
least as strict as cryptography is, on everything the two-parser reading takes from
cryptography, because wherever cryptography refuses or warns the output says so:

* strict DER throughout: definite minimal lengths, low tag numbers, nothing left over
  inside any structure it looks into; version v3 (or absent, v1); a positive serial of
  at most 21 octets in its minimal encoding; no unique identifiers;
* the signature algorithm the same in the signed part and outside, one of RSA with SHA-1
  or SHA-2 (parameters NULL or absent), ECDSA with SHA-2 (no parameters: cryptography
  warns about NULL), SM3withSM2 (NULL or absent), Ed25519, Ed448;
* keys: RSA (a SEQUENCE of two positive INTEGERs), EC and SM2 on a named curve of
  :data:`.algorithms.CURVES`, Ed25519 and Ed448; no DSA, no spelled-out curve;
* names whose values are strings cryptography decodes and accepts without a warning:
  UTF8String, BMPString and UniversalString of valid text, PrintableString,
  NumericString, IA5String and VisibleString of the characters their types allow (no
  TeletexString, no other types) (a country name of two octets, a
  common name of 1 to 64), non-empty RDNs, multi-valued ones in DER order with distinct
  attribute types; their RFC 4514 text written as cryptography writes it;
* UTCTime ``YYMMDDHHMMSSZ`` and GeneralizedTime ``YYYYMMDDHHMMSSZ`` of valid dates;
* extensions: no duplicates, criticality TRUE or absent; BasicConstraints, KeyUsage,
  ExtendedKeyUsage, the key identifiers (key identifier only), CRL distribution points
  (full names), certificate policies (CPS and user-notice explicit texts),
  authority information access and subject alternative names (e-mail, DNS, URI, IP,
  registered ID and directory names) checked as cryptography checks them; every other
  extension that cryptography knows declines, the ones it does not know pass, as they
  do there (it keeps them unparsed).

A value cryptography 45 and 51 write differently (a name value of a single space) is
declined too. What a token's certificates share (their issuer, most RDNs of their
subjects, most extensions, the algorithms) is checked once and remembered by its DER, in
bounded tables: checking depends on the bytes alone.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from typing import Any

from ..model import Certificate, NameAttribute, Problem
from . import fields as field_readers
from .algorithms import CURVES, EC_KEY, EDWARDS_KEYS, EKU_NAMES, KEY_USAGE_BITS, SIGNATURE_NAMES
from .asn1 import dotted
from .fields import sm3
from .names import escape, holder, identity_numbers_of, name_attribute
from .parts import Extension

__all__ = ["read_plain"]


class _Decline(Exception):
    """Something this reader does not vouch for: the parsers read the certificate."""


def read_plain(der: bytes, encoding: str, problems: list[Problem]) -> Certificate | None:
    """The certificate ``der`` (one framed DER value) when it is inside the subset this
    reader vouches for, else None; ``problems``: those found before (PEM text, trailing
    bytes), kept first. Never raises."""
    try:
        return _read(der, encoding, problems)
    except Exception:  # _Decline, or anything unexpected in bytes it did not check
        return None


# --- strict DER ---------------------------------------------------------------------


def _tlv(data: bytes, start: int, end: int) -> tuple[int, int, int]:
    """(tag, start of contents, end) of the strict DER TLV at ``start``, within ``end``."""
    if start + 2 > end:
        raise _Decline
    tag = data[start]
    if tag & 0x1F == 0x1F:
        raise _Decline
    first = data[start + 1]
    if first < 0x80:
        body = start + 2
        stop = body + first
    elif first == 0x81:
        body = start + 3
        if body > end or data[start + 2] < 0x80:
            raise _Decline
        stop = body + data[start + 2]
    elif first in (0x82, 0x83):
        body = start + 2 + (first & 0x7F)
        if body > end or data[start + 2] == 0:
            raise _Decline
        stop = body + int.from_bytes(data[start + 2 : body], "big")
    else:
        raise _Decline
    if stop > end:
        raise _Decline
    return tag, body, stop


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """(tag, start, start of contents, end) of each TLV from ``start`` to exactly ``end``."""
    found = []
    while start < end:
        tag, body, stop = _tlv(data, start, end)
        found.append((tag, start, body, stop))
        start = stop
    return found


def _only(data: bytes, start: int, end: int, tag: int) -> tuple[int, int]:
    """The contents of the one TLV, of ``tag``, that fills ``start`` to ``end``."""
    found, body, stop = _tlv(data, start, end)
    if found != tag or stop != end:
        raise _Decline
    return body, stop


_MAX_OID = 32


def _oid(data: bytes, body: int, stop: int) -> str:
    """An OBJECT IDENTIFIER's contents, strictly: minimal arcs of at most 28 bits."""
    contents = data[body:stop]
    known = _OIDS.get(contents)
    if known is not None:
        return known  # checked when it was first met
    if not 0 < stop - body <= _MAX_OID or data[stop - 1] & 0x80:
        raise _Decline
    arc_start = True
    size = 0
    for byte in data[body:stop]:
        if arc_start and byte == 0x80:
            raise _Decline  # a leading zero septet
        size = size + 1 if byte & 0x80 else 0
        if size > 3:
            raise _Decline  # an arc over 28 bits
        arc_start = not byte & 0x80
    text = dotted(contents)
    if len(_OIDS) < 4096:
        _OIDS[contents] = text
    return text


_OIDS: dict[bytes, str] = {}
"""The OIDs checked so far, by their contents: a token's certificates share a few dozen."""


def _oid_tlv(data: bytes, start: int, end: int) -> tuple[str, int]:
    tag, body, stop = _tlv(data, start, end)
    if tag != 0x06:
        raise _Decline
    return _oid(data, body, stop), stop


def _bits(data: bytes, body: int, stop: int) -> bytes:
    """A BIT STRING's bits, padding checked as DER (and cryptography) require."""
    if stop == body:
        raise _Decline
    unused = data[body]
    if unused > 7 or (unused and (stop == body + 1 or data[stop - 1] & ((1 << unused) - 1))):
        raise _Decline
    return data[body + 1 : stop]


def _positive(data: bytes, body: int, stop: int) -> int:
    """A positive INTEGER in its minimal encoding."""
    if stop == body or data[body] & 0x80:
        raise _Decline
    if stop - body > 1 and data[body] == 0 and not data[body + 1] & 0x80:
        raise _Decline
    value = int.from_bytes(data[body:stop], "big")
    if value == 0:
        raise _Decline
    return value


def _ascii(data: bytes, body: int, stop: int) -> str:
    return data[body:stop].decode("ascii")  # UnicodeDecodeError: declined


# --- the certificate ----------------------------------------------------------------


def _read(der: bytes, encoding: str, problems: list[Problem]) -> Certificate:
    tag, body, end = _tlv(der, 0, len(der))
    if tag != 0x30 or end != len(der):
        raise _Decline
    outer = _children(der, body, end)
    if [c[0] for c in outer] != [0x30, 0x30, 0x03]:
        raise _Decline
    tbs, outer_algorithm, signature = outer
    _bits(der, signature[2], signature[3])
    fields = _children(der, tbs[2], tbs[3])
    version = 1
    if fields and fields[0][0] == 0xA0:
        if der[fields[0][2] : fields[0][3]] != b"\x02\x01\x02":
            raise _Decline  # v2, an encoded v1 (a DEFAULT DER leaves out), or worse
        version = 3
        fields = fields[1:]
    if [c[0] for c in fields[:6]] != [0x02, 0x30, 0x30, 0x30, 0x30, 0x30]:
        raise _Decline
    serial, inner_algorithm, issuer, validity, subject, info = fields[:6]
    rest = fields[6:]
    usage = _Usage()
    extensions: list[Extension] = []
    if rest:
        if version != 3 or len(rest) != 1 or rest[0][0] != 0xA3:
            raise _Decline  # unique identifiers, or extensions in a v1 certificate
        extensions = _extensions(der, rest[0][2], rest[0][3], usage)

    if der[inner_algorithm[1] : inner_algorithm[3]] != der[outer_algorithm[1] : outer_algorithm[3]]:
        raise _Decline
    algorithm = der[outer_algorithm[1] : outer_algorithm[3]]
    signature_oid = _SIGNATURES.get(algorithm)
    if signature_oid is None:
        signature_oid = _signature_algorithm(
            algorithm, outer_algorithm[2] - outer_algorithm[1], len(algorithm)
        )
        if len(_SIGNATURES) < 64:
            _SIGNATURES[algorithm] = signature_oid
    number = _positive(der, serial[2], serial[3])
    if serial[3] - serial[2] > 21:
        raise _Decline
    issuer_der = der[issuer[1] : issuer[3]]
    subject_der = der[subject[1] : subject[3]]
    issuer_name = _name_of(issuer_der)
    subject_name = issuer_name if subject_der == issuer_der else _name_of(subject_der)
    if issuer_der not in field_readers._ISSUERS:
        # Read as both parsers read it (a name inside the subset): the reader of the
        # certificates this one declines may take it from there too.
        field_readers._remember_issuer(issuer_der, (issuer_name[:2], issuer_name[2]))
    times = _children(der, validity[2], validity[3])
    if len(times) != 2:
        raise _Decline
    not_before = _time(der, *times[0])
    not_after = _time(der, *times[1])
    key_algorithm, key_size, key_curve, public_key = _key(der, info[2], info[3])

    subject_text, subject_cn, subject_attributes = subject_name
    issuer_text, issuer_cn, issuer_attributes = issuer_name
    return Certificate(
        der=der,
        sha256=hashlib.sha256(der).hexdigest(),
        sha1=hashlib.sha1(der).hexdigest(),
        sm3=sm3(der),
        subject=subject_text,
        subject_cn=subject_cn,
        issuer=issuer_text,
        issuer_cn=issuer_cn,
        serial=f"{number:x}",
        not_before=not_before,
        not_after=not_after,
        key_algorithm=key_algorithm,
        key_size=key_size,
        key_curve=key_curve,
        signature_algorithm=SIGNATURE_NAMES.get(signature_oid, signature_oid),
        signature_algorithm_oid=signature_oid,
        key_usage=usage.key_usage,
        extended_key_usage=usage.extended_key_usage,
        is_ca=usage.is_ca,
        self_signed=issuer_der == subject_der,
        subject_attributes=subject_attributes,
        issuer_attributes=issuer_attributes,
        holder=holder(subject_cn),
        identity_numbers=identity_numbers_of(extensions),
        encoding=encoding,
        problems=tuple(problems),
        subject_key_identifier=usage.subject_key_identifier,
        authority_key_identifier=usage.authority_key_identifier,
        public_key_info=der[info[1] : info[3]],
        public_key=public_key,
    )


# --- algorithms and keys ------------------------------------------------------------

_NULL = b"\x05\x00"
_RSA_SIGNATURES = frozenset("1.2.840.113549.1.1." + n for n in ("5", "11", "12", "13", "14"))
_ECDSA_SIGNATURES = frozenset("1.2.840.10045.4.3." + n for n in ("1", "2", "3", "4"))
_SM3_WITH_SM2 = "1.2.156.10197.1.501"
_RSA_KEY = "1.2.840.113549.1.1.1"


def _algorithm(data: bytes, body: int, stop: int) -> tuple[str, bytes | None]:
    """An AlgorithmIdentifier's OID and its parameters' TLV (None when absent)."""
    oid, at = _oid_tlv(data, body, stop)
    if at == stop:
        return oid, None
    _tag, _body, end = _tlv(data, at, stop)
    if end != stop:
        raise _Decline
    return oid, data[at:stop]


_SIGNATURES: dict[bytes, str] = {}
"""The signature AlgorithmIdentifiers checked so far, by their encoding."""


def _signature_algorithm(data: bytes, body: int, stop: int) -> str:
    oid, parameters = _algorithm(data, body, stop)
    if oid in _RSA_SIGNATURES or oid == _SM3_WITH_SM2:
        if parameters not in (None, _NULL):
            raise _Decline
    elif oid in _ECDSA_SIGNATURES or oid in EDWARDS_KEYS:
        if parameters is not None:
            raise _Decline
    else:
        raise _Decline
    return oid


def _key(data: bytes, body: int, stop: int) -> tuple[str, int, str | None, bytes | None]:
    """The key's algorithm, size and curve (as the readers name them) and the public key
    (as :func:`.identifiers.public_key_from_info` gives it)."""
    found = _children(data, body, stop)
    if len(found) != 2 or found[0][0] != 0x30 or found[1][0] != 0x03:
        raise _Decline
    algorithm, key = found
    oid, parameters = _algorithm(data, algorithm[2], algorithm[3])
    bits = _bits(data, key[2], key[3])
    if data[key[2]]:
        raise _Decline  # a key of whole octets
    if oid == _RSA_KEY:
        if parameters not in (None, _NULL):
            raise _Decline
        sequence = _tlv(bits, 0, len(bits))
        if sequence[0] != 0x30 or sequence[2] != len(bits):
            raise _Decline
        numbers = _children(bits, sequence[1], sequence[2])
        if len(numbers) != 2 or numbers[0][0] != 0x02 or numbers[1][0] != 0x02:
            raise _Decline
        modulus = _positive(bits, numbers[0][2], numbers[0][3])
        _positive(bits, numbers[1][2], numbers[1][3])
        octets = bits[numbers[0][2] : numbers[0][3]].lstrip(b"\x00")
        return "RSA", modulus.bit_length(), None, octets
    if oid == EC_KEY:
        if parameters is None or parameters[0] != 0x06:
            raise _Decline
        curve, _end = _oid_tlv(parameters, 0, len(parameters))
        if curve not in CURVES or not bits:
            raise _Decline
        name, size = CURVES[curve]
        return ("SM2" if name == "sm2p256v1" else "EC"), size, name, bits
    if oid in EDWARDS_KEYS and parameters is None:
        name, size = EDWARDS_KEYS[oid]
        return name, size, None, None
    raise _Decline


# --- times --------------------------------------------------------------------------


def _time(data: bytes, tag: int, _start: int, body: int, stop: int) -> datetime.datetime:
    text = data[body:stop]
    if tag == 0x17 and len(text) == 13:
        digits = text[:12]
        year = int(digits[:2])
        year += 1900 if year >= 50 else 2000
        rest = digits[2:]
    elif tag == 0x18 and len(text) == 15:
        digits = text[:14]
        year = int(digits[:4])
        rest = digits[4:]
    else:
        raise _Decline
    if text[-1:] != b"Z" or not digits.isdigit() or not digits.isascii():
        raise _Decline
    month, day, hour, minute, second = (int(rest[i : i + 2]) for i in range(0, 10, 2))
    if year < 1950 or hour > 23 or minute > 59 or second > 59:
        raise _Decline
    # ValueError for a day or month that does not exist: declined.
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.timezone.utc)


# --- names --------------------------------------------------------------------------

# cryptography's short names in rfc4514_string (the same table as .names uses).
_SHORT_NAMES = {
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
_COMMON_NAME = "2.5.4.3"
# The length limits cryptography's NameAttribute warns about (in UTF-8 octets).
_LENGTH_LIMITS = {"2.5.4.6": (2, 2), "1.3.6.1.4.1.311.60.2.1.3": (2, 2), _COMMON_NAME: (1, 64)}
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

_NAMES: dict[bytes, tuple[str, str | None, tuple[NameAttribute, ...]]] = {}
_NAMES_MAX = 256


def _name_of(name_der: bytes) -> tuple[str, str | None, tuple[NameAttribute, ...]]:
    """A Name's RFC 4514 text as cryptography writes it, its last common name, and its
    attributes (as :func:`.names.attributes` reads them); remembered by their DER, as a
    token's certificates share a few issuers."""
    found = _NAMES.get(name_der)
    if found is None:
        body, end = _only(name_der, 0, len(name_der), 0x30)
        found = _name(name_der, body, end)
        if len(_NAMES) >= _NAMES_MAX:
            _NAMES.clear()
        _NAMES[name_der] = found
    return found


def _name(data: bytes, body: int, end: int) -> tuple[str, str | None, tuple[NameAttribute, ...]]:
    """The contents of a Name: its text, last common name and attributes."""
    shown = []
    cn = None
    attributes: list[NameAttribute] = []
    for index, (tag, start, _body, rdn_end) in enumerate(_children(data, body, end)):
        if tag != 0x31:
            raise _Decline
        key = (data[start:rdn_end], index)
        rdn = _RDNS.get(key)
        if rdn is None:
            rdn = _rdn(key[0], index)
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
(country, organisation, units), only the common name differs."""
_RDNS_MAX = 1024


def _rdn(data: bytes, index: int) -> tuple[str, str | None, tuple[NameAttribute, ...]]:
    """One RDN (its whole TLV, the ``index``-th of its Name): its text, its last common
    name, its attributes."""
    _tag, body, end = _tlv(data, 0, len(data))
    members = _children(data, body, end)
    if not members or end != len(data):
        raise _Decline  # cryptography refuses an empty RDN
    shown = []
    cn = None
    attributes = []
    seen: set[str] = set()
    previous = b""
    for member_tag, start, member_body, member_end in members:
        encoded = data[start:member_end]
        if member_tag != 0x30 or (previous and encoded <= previous):
            raise _Decline  # not a SEQUENCE, or a SET OF not in DER order
        previous = encoded
        oid, at = _oid_tlv(data, member_body, member_end)
        value_tag, value_body, value_end = _tlv(data, at, member_end)
        kind = _STRING_TYPES.get(value_tag)
        if value_end != member_end or kind is None or oid in seen:
            raise _Decline
        seen.add(oid)
        raw = data[value_body:value_end]
        value = raw.decode(kind[0])
        if kind[1] is not None and not kind[1].fullmatch(value):
            raise _Decline  # cryptography refuses characters the type does not allow
        limits = _LENGTH_LIMITS.get(oid)
        if limits is not None and not limits[0] <= len(value.encode()) <= limits[1]:
            raise _Decline  # cryptography warns
        if value == " ":
            raise _Decline  # cryptography 45 writes it "\\\\ ", 51 "\\ ": versions differ
        if oid == _COMMON_NAME:
            cn = value
        shown.append(f"{_SHORT_NAMES.get(oid, oid)}={escape(value)}")
        attributes.append(
            name_attribute(data[member_body:at], value_tag, raw, data[at:value_end], index)
        )
    return "+".join(shown), cn, tuple(attributes)


# --- extensions ---------------------------------------------------------------------


class _Usage:
    """What the extensions say that the certificate shows."""

    def __init__(self) -> None:
        self.key_usage: tuple[str, ...] | None = None
        self.extended_key_usage: tuple[str, ...] | None = None
        self.is_ca: bool | None = None
        self.subject_key_identifier: bytes | None = None
        self.authority_key_identifier: bytes | None = None


def _extensions(data: bytes, start: int, end: int, usage: _Usage) -> list[Extension]:
    """The extensions, each checked (or left unparsed, as cryptography leaves the ones it
    does not know); what they say that the certificate shows goes into ``usage``."""
    body, stop = _only(data, start, end, 0x30)
    found = []
    seen: set[str] = set()
    for _tag, extension_start, _body, extension_end in _children(data, body, stop):
        encoded = data[extension_start:extension_end]
        checked = _CHECKED.get(encoded)
        if checked is None:
            checked = _check(encoded)
            if len(_CHECKED) >= _CHECKED_MAX:
                _CHECKED.clear()
            _CHECKED[encoded] = checked
        extension, shows = checked
        if extension.oid in seen:
            raise _Decline  # cryptography raises DuplicateExtension
        seen.add(extension.oid)
        vars(usage).update(shows)
        found.append(extension)
    if not found:
        raise _Decline
    return found


_CHECKED: dict[bytes, tuple[Extension, dict[str, Any]]] = {}
"""The extensions checked so far, by their whole encoding, and what each shows: a token's
certificates share most of theirs (their CA's key identifier, policies, CRL points)."""
_CHECKED_MAX = 1024


def _check(encoded: bytes) -> tuple[Extension, dict[str, Any]]:
    """One Extension (its whole TLV), checked, and what it shows (:class:`_Usage`'s
    attributes it sets)."""
    tag, body, end = _tlv(encoded, 0, len(encoded))
    if tag != 0x30 or end != len(encoded):
        raise _Decline
    oid, at = _oid_tlv(encoded, body, end)
    tag, value_body, value_end = _tlv(encoded, at, end)
    critical = False
    if tag == 0x01:
        if encoded[value_body:value_end] != b"\xff":
            raise _Decline  # FALSE is a DEFAULT DER leaves out; other octets are BER
        critical = True
        tag, value_body, value_end = _tlv(encoded, value_end, end)
    if tag != 0x04 or value_end != end:
        raise _Decline
    shows = _Usage()
    check = _EXTENSIONS.get(oid)
    if check is not None:
        check(encoded, value_body, value_end, shows)
    elif oid in _KNOWN_ELSEWHERE or oid.startswith(_KNOWN_ARCS):
        raise _Decline
    said = {name: value for name, value in vars(shows).items() if value is not None}
    return Extension(oid, critical, encoded[value_body:value_end]), said


def _basic_constraints(data: bytes, start: int, end: int, usage: _Usage) -> None:
    body, stop = _only(data, start, end, 0x30)
    members = _children(data, body, stop)
    if not members:
        usage.is_ca = False
        return
    tag, _start, flag_body, flag_end = members[0]
    if tag != 0x01 or data[flag_body:flag_end] != b"\xff":
        raise _Decline  # FALSE encoded, BER, or a path length without cA (refused)
    if len(members) == 2:
        tag, _start, length_body, length_end = members[1]
        if tag != 0x02 or length_end - length_body > 8:
            raise _Decline
        if data[length_body:length_end] != b"\x00":
            _positive(data, length_body, length_end)
    elif len(members) != 1:
        raise _Decline
    usage.is_ca = True


def _key_usage(data: bytes, start: int, end: int, usage: _Usage) -> None:
    body, stop = _only(data, start, end, 0x03)
    bits = _bits(data, body, stop)
    if not 1 <= len(bits) <= 2:
        raise _Decline
    flags = [i // 8 < len(bits) and bool(bits[i // 8] & (0x80 >> (i % 8))) for i in range(9)]
    if (flags[7] or flags[8]) and not flags[4]:
        raise _Decline  # cryptography's KeyUsage refuses these without keyAgreement
    usage.key_usage = tuple(name for name, bit in zip(KEY_USAGE_BITS, flags, strict=True) if bit)


def _extended_key_usage(data: bytes, start: int, end: int, usage: _Usage) -> None:
    body, stop = _only(data, start, end, 0x30)
    purposes = []
    at = body
    while at < stop:
        oid, at = _oid_tlv(data, at, stop)
        purposes.append(EKU_NAMES.get(oid, oid))
    if not purposes:
        raise _Decline
    usage.extended_key_usage = tuple(purposes)


def _subject_key_identifier(data: bytes, start: int, end: int, usage: _Usage) -> None:
    body, stop = _only(data, start, end, 0x04)
    usage.subject_key_identifier = data[body:stop]


def _authority_key_identifier(data: bytes, start: int, end: int, usage: _Usage) -> None:
    body, stop = _only(data, start, end, 0x30)
    members = _children(data, body, stop)
    if len(members) > 1 or (members and members[0][0] != 0x80):
        raise _Decline  # an issuer and serial: not read here
    if members:
        usage.authority_key_identifier = data[members[0][2] : members[0][3]]


def _general_names(data: bytes, body: int, stop: int) -> None:
    names = _children(data, body, stop)
    if not names:
        raise _Decline
    for tag, _start, name_body, name_end in names:
        _general_name(data, tag, name_body, name_end)


def _general_name(data: bytes, tag: int, body: int, stop: int) -> None:
    if tag in (0x81, 0x82, 0x86):  # rfc822Name, dNSName, URI
        _ascii(data, body, stop)
    elif tag == 0x87:  # iPAddress
        if stop - body not in (4, 16):
            raise _Decline
    elif tag == 0x88:  # registeredID
        _oid(data, body, stop)
    elif tag == 0xA4:  # directoryName: [4] EXPLICIT Name
        name_body, name_end = _only(data, body, stop, 0x30)
        _name(data, name_body, name_end)  # checked as cryptography checks it, or declined
    else:
        raise _Decline  # otherName, x400Address, ediPartyName


def _alternative_names(data: bytes, start: int, end: int, _usage: _Usage) -> None:
    body, stop = _only(data, start, end, 0x30)
    _general_names(data, body, stop)


def _distribution_points(data: bytes, start: int, end: int, _usage: _Usage) -> None:
    body, stop = _only(data, start, end, 0x30)
    points = _children(data, body, stop)
    if not points:
        raise _Decline
    for tag, _start, point_body, point_end in points:
        if tag != 0x30:
            raise _Decline
        # Only a distributionPoint [0] holding a fullName [0]: no reasons, no cRLIssuer.
        name_body, name_end = _only(data, point_body, point_end, 0xA0)
        full_body, full_end = _only(data, name_body, name_end, 0xA0)
        _general_names(data, full_body, full_end)


_CPS = "1.3.6.1.5.5.7.2.1"
_USER_NOTICE = "1.3.6.1.5.5.7.2.2"


def _policies(data: bytes, start: int, end: int, _usage: _Usage) -> None:
    body, stop = _only(data, start, end, 0x30)
    policies = _children(data, body, stop)
    if not policies:
        raise _Decline
    for tag, _start, policy_body, policy_end in policies:
        if tag != 0x30:
            raise _Decline
        _oid, at = _oid_tlv(data, policy_body, policy_end)
        if at == policy_end:
            continue
        qualifiers_body, qualifiers_end = _only(data, at, policy_end, 0x30)
        qualifiers = _children(data, qualifiers_body, qualifiers_end)
        if not qualifiers:
            raise _Decline
        for qualifier_tag, _start, qualifier_body, qualifier_end in qualifiers:
            if qualifier_tag != 0x30:
                raise _Decline
            kind, at = _oid_tlv(data, qualifier_body, qualifier_end)
            value_tag, value_body, value_end = _tlv(data, at, qualifier_end)
            if value_end != qualifier_end:
                raise _Decline
            if kind == _CPS and value_tag == 0x16:
                _ascii(data, value_body, value_end)
            elif kind == _USER_NOTICE and value_tag == 0x30:
                _user_notice(data, value_body, value_end)
            else:
                raise _Decline


def _user_notice(data: bytes, body: int, stop: int) -> None:
    """A UserNotice of an explicit text alone (no notice reference)."""
    members = _children(data, body, stop)
    if not members:
        return
    if len(members) != 1:
        raise _Decline
    tag, _start, text_body, text_end = members[0]
    text = data[text_body:text_end]
    if tag == 0x16:  # IA5String
        text.decode("ascii")
    elif tag == 0x0C:  # UTF8String
        text.decode("utf-8")
    elif tag == 0x1A:  # VisibleString: cryptography warns about anything not visible
        if not all(0x20 <= octet <= 0x7E for octet in text):
            raise _Decline
    elif tag == 0x1E:  # BMPString
        if len(text) % 2:
            raise _Decline
        text.decode("utf-16-be")
    else:
        raise _Decline


def _access(data: bytes, start: int, end: int, _usage: _Usage) -> None:
    body, stop = _only(data, start, end, 0x30)
    descriptions = _children(data, body, stop)
    if not descriptions:
        raise _Decline
    for tag, _start, description_body, description_end in descriptions:
        if tag != 0x30:
            raise _Decline
        _method, at = _oid_tlv(data, description_body, description_end)
        name_tag, name_body, name_end = _tlv(data, at, description_end)
        if name_end != description_end:
            raise _Decline
        _general_name(data, name_tag, name_body, name_end)


_EXTENSIONS: dict[str, Any] = {
    "2.5.29.19": _basic_constraints,
    "2.5.29.15": _key_usage,
    "2.5.29.37": _extended_key_usage,
    "2.5.29.14": _subject_key_identifier,
    "2.5.29.35": _authority_key_identifier,
    "2.5.29.17": _alternative_names,
    "2.5.29.31": _distribution_points,
    "2.5.29.32": _policies,
    "1.3.6.1.5.5.7.1.1": _access,
}
# Extensions cryptography parses (and may refuse) that are not checked here: the
# certificate is declined. Everything under these arcs counts as known, to be safe
# with versions that know more than this one.
_KNOWN_ARCS = ("2.5.29.", "1.3.6.1.5.5.7.1.", "1.3.6.1.4.1.11129.2.4.")
_KNOWN_ELSEWHERE = frozenset(
    {
        "1.3.36.8.3.3",  # admissions
        "1.3.6.1.4.1.311.21.7",  # MS certificate template
        "1.3.6.1.5.5.7.48.1.5",  # OCSP no check
        "1.3.6.1.5.5.7.48.1.2",  # OCSP nonce
    }
)
