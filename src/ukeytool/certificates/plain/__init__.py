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

from ...model import Certificate, Problem
from .. import fields as field_readers
from ..algorithms import CURVES, EC_KEY, EDWARDS_KEYS, RSA_KEYS, SIGNATURE_NAMES, SM3_WITH_SM2
from ..fields import fingerprints
from ..names import holder, identity_numbers_of
from ..parts import Extension
from .der import Decline, bit_string, children, oid_tlv, positive, tlv
from .extensions import Usage, read_extensions
from .names import name_of, read_name

__all__ = ["read_plain"]


def read_plain(der: bytes, encoding: str, problems: list[Problem]) -> Certificate | None:
    """The certificate ``der`` (one framed DER value) when it is inside the subset this
    reader vouches for, else None; ``problems``: those found before (PEM text, trailing
    bytes), kept first. Never raises."""
    try:
        return _read(der, encoding, problems)
    except Exception:  # Decline, or anything unexpected in bytes it did not check
        return None


# --- the certificate ----------------------------------------------------------------


def _read(der: bytes, encoding: str, problems: list[Problem]) -> Certificate:
    tag, body, end = tlv(der, 0, len(der))
    if tag != 0x30 or end != len(der):
        raise Decline
    outer = children(der, body, end)
    if len(outer) != 3:
        raise Decline
    tbs, outer_algorithm, signature = outer
    if tbs[0] != 0x30 or outer_algorithm[0] != 0x30 or signature[0] != 0x03:
        raise Decline
    bit_string(der, signature[2], signature[3])
    fields = children(der, tbs[2], tbs[3])
    version = 1
    if fields and fields[0][0] == 0xA0:
        if der[fields[0][2] : fields[0][3]] != b"\x02\x01\x02":
            raise Decline  # v2, an encoded v1 (a DEFAULT DER leaves out), or worse
        version = 3
        fields = fields[1:]
    if len(fields) < 6:
        raise Decline
    serial, inner_algorithm, issuer, validity, subject, info = fields[:6]
    if serial[0] != 0x02 or not (
        inner_algorithm[0] == issuer[0] == validity[0] == subject[0] == info[0] == 0x30
    ):
        raise Decline
    rest = fields[6:]
    usage = Usage()
    extensions: list[Extension] = []
    if rest:
        if version != 3 or len(rest) != 1 or rest[0][0] != 0xA3:
            raise Decline  # unique identifiers, or extensions in a v1 certificate
        extensions = read_extensions(der, rest[0][2], rest[0][3], usage)

    if der[inner_algorithm[1] : inner_algorithm[3]] != der[outer_algorithm[1] : outer_algorithm[3]]:
        raise Decline
    algorithm = der[outer_algorithm[1] : outer_algorithm[3]]
    signature_oid = _SIGNATURES.get(algorithm)
    if signature_oid is None:
        signature_oid = _signature_algorithm(
            algorithm, outer_algorithm[2] - outer_algorithm[1], len(algorithm)
        )
        if len(_SIGNATURES) < 64:
            _SIGNATURES[algorithm] = signature_oid
    number = positive(der, serial[2], serial[3])
    if serial[3] - serial[2] > 21:
        raise Decline
    issuer_der = der[issuer[1] : issuer[3]]
    subject_der = der[subject[1] : subject[3]]
    issuer_name = name_of(issuer_der)
    subject_name = issuer_name if subject_der == issuer_der else read_name(subject_der)
    if issuer_der not in field_readers._ISSUERS:
        # Read as both parsers read it (a name inside the subset): the reader of the
        # certificates this one declines may take it from there too.
        field_readers._remember_issuer(issuer_der, (issuer_name[:2], issuer_name[2]))
    at = validity[2]
    if (
        validity[3] - at == 30
        and der[at] == der[at + 15] == 0x17
        and der[at + 1] == der[at + 16] == 13
    ):  # the usual two UTCTimes, found without walking them
        not_before = _time(der, 0x17, at, at + 2, at + 15)
        not_after = _time(der, 0x17, at + 15, at + 17, at + 30)
    else:
        times = children(der, at, validity[3])
        if len(times) != 2:
            raise Decline
        not_before = _time(der, *times[0])
        not_after = _time(der, *times[1])
    key_algorithm, key_size, key_curve, public_key = _key(der, info[2], info[3])

    subject_text, subject_cn, subject_attributes = subject_name
    issuer_text, issuer_cn, issuer_attributes = issuer_name
    fingerprint = fingerprints(der)
    return Certificate(
        der=der,
        sha256=fingerprint["sha256"],
        sha1=fingerprint["sha1"],
        sm3=fingerprint["sm3"],
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
        error=None,
        subject_key_identifier=usage.subject_key_identifier,
        authority_key_identifier=usage.authority_key_identifier,
        public_key_info=der[info[1] : info[3]],
        public_key=public_key,
    )


# --- algorithms and keys ------------------------------------------------------------

_NULL = b"\x05\x00"
_RSA_SIGNATURES = frozenset("1.2.840.113549.1.1." + n for n in ("5", "11", "12", "13", "14"))
_ECDSA_SIGNATURES = frozenset("1.2.840.10045.4.3." + n for n in ("1", "2", "3", "4"))
_RSA_KEY = RSA_KEYS[0]


def _algorithm(data: bytes, body: int, stop: int) -> tuple[str, bytes | None]:
    """An AlgorithmIdentifier's OID and its parameters' TLV (None when absent)."""
    oid, at = oid_tlv(data, body, stop)
    if at == stop:
        return oid, None
    _tag, _body, end = tlv(data, at, stop)
    if end != stop:
        raise Decline
    return oid, data[at:stop]


_SIGNATURES: dict[bytes, str] = {}
"""The signature AlgorithmIdentifiers checked so far, by their encoding."""


def _signature_algorithm(data: bytes, body: int, stop: int) -> str:
    oid, parameters = _algorithm(data, body, stop)
    if oid in _RSA_SIGNATURES or oid == SM3_WITH_SM2:
        if parameters not in (None, _NULL):
            raise Decline
    elif oid in _ECDSA_SIGNATURES or oid in EDWARDS_KEYS:
        if parameters is not None:
            raise Decline
    else:
        raise Decline
    return oid


_KEY_ALGORITHMS: dict[bytes, tuple[str, str, int, str | None]] = {}
"""The key AlgorithmIdentifiers checked so far, by their encoding: what :func:`_key_kind`
makes of each (a token's certificates share one or two)."""


def _key(data: bytes, body: int, stop: int) -> tuple[str, int, str | None, bytes | None]:
    """The key's algorithm, size and curve (as the readers name them) and the public key
    (as :func:`.identifiers.public_key_from_info` gives it)."""
    found = children(data, body, stop)
    if len(found) != 2 or found[0][0] != 0x30 or found[1][0] != 0x03:
        raise Decline
    algorithm, key = found
    identifier = data[algorithm[1] : algorithm[3]]
    known = _KEY_ALGORITHMS.get(identifier)
    if known is None:
        known = _key_kind(data, algorithm[2], algorithm[3])
        if len(_KEY_ALGORITHMS) < 64:
            _KEY_ALGORITHMS[identifier] = known
    family, name, size, curve = known
    bits = bit_string(data, key[2], key[3])
    if data[key[2]]:
        raise Decline  # a key of whole octets
    if family == "RSA":
        sequence = tlv(bits, 0, len(bits))
        if sequence[0] != 0x30 or sequence[2] != len(bits):
            raise Decline
        numbers = children(bits, sequence[1], sequence[2])
        if len(numbers) != 2 or numbers[0][0] != 0x02 or numbers[1][0] != 0x02:
            raise Decline
        modulus = positive(bits, numbers[0][2], numbers[0][3])
        positive(bits, numbers[1][2], numbers[1][3])
        octets = bits[numbers[0][2] : numbers[0][3]].lstrip(b"\x00")
        return "RSA", modulus.bit_length(), None, octets
    if family == "EC":
        if not bits:
            raise Decline
        return name, size, curve, bits
    return name, size, None, None


def _key_kind(data: bytes, body: int, stop: int) -> tuple[str, str, int, str | None]:
    """A key's AlgorithmIdentifier (its contents): the family (``"RSA"``, ``"EC"`` or
    ``"EDWARDS"``), and for the last two the algorithm's name, size and curve."""
    oid, parameters = _algorithm(data, body, stop)
    if oid == _RSA_KEY:
        if parameters not in (None, _NULL):
            raise Decline
        return "RSA", "RSA", 0, None
    if oid == EC_KEY:
        if parameters is None or parameters[0] != 0x06:
            raise Decline
        curve, _end = oid_tlv(parameters, 0, len(parameters))
        if curve not in CURVES:
            raise Decline
        name, size = CURVES[curve]
        return "EC", ("SM2" if name == "sm2p256v1" else "EC"), size, name
    if oid in EDWARDS_KEYS and parameters is None:
        name, size = EDWARDS_KEYS[oid]
        return "EDWARDS", name, size, None
    raise Decline


# --- times --------------------------------------------------------------------------


def _time(data: bytes, tag: int, _start: int, body: int, stop: int) -> datetime.datetime:
    if data[stop - 1] != 0x5A:  # "Z"
        raise Decline
    digits = data[body : stop - 1]
    if not digits.isdigit():  # bytes: ASCII digits only
        raise Decline
    number = int(digits)
    number, second = divmod(number, 100)
    number, minute = divmod(number, 100)
    number, hour = divmod(number, 100)
    number, day = divmod(number, 100)
    year, month = divmod(number, 100)
    if tag == 0x17 and len(digits) == 12:
        year += 1900 if year >= 50 else 2000
    elif tag != 0x18 or len(digits) != 14:
        raise Decline
    if year < 1950 or hour > 23 or minute > 59 or second > 59:
        raise Decline
    # ValueError for a day or month that does not exist: declined.
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=_UTC)


_UTC = datetime.timezone.utc
