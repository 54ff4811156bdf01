"""Reading an X.509 certificate from a token object's bytes, as far as they can be read.

Certificates on banking keys are often not clean DER: negative serials, non-minimal
INTEGERs, BER lengths, GBK bytes in a PrintableString, SM2 keys. Two parsers, because
neither alone reads all of them well (see docs/domain.md):

* cryptography parses strictly and is tried first. When it takes the whole certificate
  (``encoding="der"``) its well-tested view of names, dates, serial and extensions is
  used; a field it still fails on is read again with asn1crypto, and a
  :class:`~ukeytool.Problem` says so.
* asn1crypto parses lazily and accepts the DER mistakes above. When cryptography
  refuses the certificate, or warns about it (a warning is an error under ``-W error``
  and cryptography has announced it will refuse those certificates), every field is read
  with asn1crypto (``encoding="lenient"``). cryptography cannot load SM2 public keys at
  all, so the key is always read from the SubjectPublicKeyInfo with asn1crypto.

Most certificates on a token are clean, though, and importing the two parsers costs
more than reading a token of them: :mod:`.plain` reads a certificate inside a
conservative subset (strict DER, the usual algorithms, names and extensions checked as
cryptography checks them) in one walk, giving exactly what the two parsers give, and
declines anything else. :func:`read_certificate` tries it first; only a certificate it
declines imports and uses the parsers (:func:`read_with_parsers` is that path alone).

This module takes the value apart (PEM text, the outer TLV, trailing bytes) and hands
it to the plain reader, then to the parsers; the fields are read in :mod:`.fields`, the
names in :mod:`.names`, the key identifiers and public key in :mod:`.identifiers`. The
SM3 fingerprint is there when the interpreter's OpenSSL has SM3.
:func:`read_certificate` never raises.

Every problem and error is a :class:`~ukeytool.Message` from a template below (codes
``certificate.*``); a parser's own words go in as text. Only the modules of
:mod:`ukeytool.certificates` (besides :mod:`ukeytool.testing`) import cryptography or
asn1crypto, and only when they are used (a listing of clean certificates imports
neither); none of their types leave them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import warnings
from typing import TYPE_CHECKING

from ..i18n.message import Message, template
from ..model import Certificate, Problem
from .fields import Reader, sm3
from .identifiers import public_key_from_info, relation_fields
from .parts import split
from .plain import read_plain
from .reasons import reason, warning_reason

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["public_key_from_info", "read_certificate", "read_with_parsers"]

# Found one after the other, each search starting where the last one ended: linear in
# the value, however many BEGIN lines it holds (a lazy BEGIN(.*?)END pattern is
# quadratic when no END follows them).
_PEM_BEGIN = re.compile(rb"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----")
_PEM_END = re.compile(rb"-----END (?:X509 |TRUSTED )?CERTIFICATE-----")
_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")

VALUE_NOT_BYTES = template("certificate.value_not_bytes", "CKA_VALUE is not bytes but {type}")
READ_FAILED = template("certificate.read_failed", "the certificate could not be read: {detail}")
VALUE_EMPTY = template("certificate.value_empty", "CKA_VALUE is empty")
PEM_EMPTY = template("certificate.pem_empty", "PEM text with an empty certificate")
PEM_TEXT = template("certificate.pem_text", "the object holds PEM text, not DER")
PEM_SEVERAL = template(
    "certificate.pem_several", "the PEM text holds {count} certificates; read the first"
)
PEM_NO_END = template("certificate.pem_no_end", "PEM text without its END CERTIFICATE line")
PEM_OTHER = template("certificate.pem_other", "not a certificate: PEM text of a {kind}")
PEM_BAD_BASE64 = template(
    "certificate.pem_bad_base64", "PEM text whose base64 could not be decoded"
)
TRAILING_BYTE = template("certificate.trailing_byte", "1 byte after the certificate ignored")
TRAILING_BYTES = template(
    "certificate.trailing_bytes", "{count} bytes after the certificate ignored"
)
NOT_DER = template("certificate.not_der", "not a DER certificate: {detail}")
DER_NOT_SEQUENCE = template(
    "certificate.der_not_sequence",
    "not a DER certificate: it starts with byte 0x{byte}, not a SEQUENCE (0x30)",
)
DER_ONE_BYTE = template(
    "certificate.der_one_byte", "not a DER certificate: it ends after its first byte"
)
DER_LONG_LENGTH = template(
    "certificate.der_long_length", "not a DER certificate: its length takes {count} bytes"
)
DER_LENGTH_TRUNCATED = template(
    "certificate.der_length_truncated",
    "not a DER certificate: truncated at byte {at} of its length field",
)
DER_TRUNCATED = template(
    "certificate.der_truncated", "not a DER certificate: truncated at byte {at} of {total}"
)
READ_LENIENTLY = template(
    "certificate.read_leniently",
    "strict DER parsing refused the certificate ({detail}); it was read with a lenient parser",
)
NOTHING_READ = template(
    "certificate.nothing_read",
    "not a certificate: strict parsing found {detail} and the lenient parser could read no field",
)


def read_certificate(value: bytes) -> Certificate:
    """What the certificate in ``value`` (a CKA_VALUE) says, as far as it can be read.

    Never raises. DER is expected; PEM text is decoded (first certificate) and noted
    as a problem, as are bytes after the certificate (ignored). Fields that cannot be
    read are None with a :class:`Problem` each; when nothing can be read,
    :attr:`Certificate.error` says why and the fingerprints are over the bytes as given
    (or as decoded from PEM). :attr:`Certificate.encoding` is ``"lenient"`` whenever
    cryptography refused the certificate, also for PEM text (whose problem says so).
    """
    return _read_value(value, plain=True)


def read_with_parsers(value: bytes) -> Certificate:
    """What :func:`read_certificate` gives when the plain reader declines: ``value`` read
    with cryptography and asn1crypto, whatever it holds. (For tests that compare the
    two ways of reading, and for the curious; never raises.)"""
    return _read_value(value, plain=False)


def _read_value(value: bytes, *, plain: bool) -> Certificate:
    if not isinstance(value, bytes | bytearray | memoryview):
        return _unreadable(b"", VALUE_NOT_BYTES(type=type(value).__name__))
    raw = bytes(value)
    try:
        return _read(raw, plain)
    except Exception as exc:  # a bug here must not cost the rest of the token's report
        return _unreadable(raw, READ_FAILED(detail=reason(exc)))


def _read(value: bytes, plain: bool) -> Certificate:
    if not value:
        return _unreadable(value, VALUE_EMPTY())
    problems: list[Problem] = []
    encoding = "der"
    der = value
    # A DER certificate starts with a SEQUENCE; only something else can be PEM text.
    if value[0] != 0x30 and _PEM_LABEL.search(value):
        pem = _from_pem(value)
        if isinstance(pem, Message):
            return _unreadable(value, pem, encoding="pem")
        der, count = pem
        if not der:
            return _unreadable(value, PEM_EMPTY(), encoding="pem")
        encoding = "pem"
        problems.append(Problem("CKA_VALUE", PEM_TEXT()))
        if count > 1:
            problems.append(Problem("CKA_VALUE", PEM_SEVERAL(count=count)))

    framed = _frame(der)
    if isinstance(framed, Message):
        return _unreadable(der, framed, encoding=encoding, problems=problems)
    if len(framed) < len(der):
        extra = len(der) - len(framed)
        ignored = TRAILING_BYTE() if extra == 1 else TRAILING_BYTES(count=extra)
        problems.append(Problem("CKA_VALUE", ignored))
        der = framed

    if plain:
        # The common case, a clean certificate, read in one walk without either parser
        # (see .plain); anything it does not vouch for is left to the parsers below.
        certificate = read_plain(der, encoding, problems)
        if certificate is not None:
            return certificate
    # A warning nobody expected must not become an exception under -W error either:
    # all are recorded, in one record for the whole reading (entering one costs as
    # much as reading a field), and the ones that matter are looked at where they
    # arise (each strict read looks at the warnings it added itself).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        return _parsed(der, encoding, problems, caught)


def _parsed(
    der: bytes, encoding: str, problems: list[Problem], caught: list[warnings.WarningMessage]
) -> Certificate:
    from asn1crypto import x509 as asn1_x509

    strict, refusal = _load_strict(der, caught)
    try:
        lenient = asn1_x509.Certificate.load(der)
    except Exception as exc:
        if strict is None:
            why = NOT_DER(detail=refusal or reason(exc))
            return _unreadable(der, why, encoding=encoding, problems=problems)
        lenient = None
    # Each parser parses the certificate once: the reader and the relation fields share
    # the parsed objects (and, for the plain DER cryptography takes, the raw parts).
    parts = split(der) if strict is not None else None
    relations = None if lenient is None else relation_fields(lenient, parts)
    if strict is not None:
        return Reader(strict, lenient, problems, parts).read(der, encoding, relations, caught)

    note = Problem("CKA_VALUE", READ_LENIENTLY(detail=refusal or ""))
    certificate = Reader(None, lenient, [*problems, note]).read(der, "lenient", relations, caught)
    if not _anything_read(certificate):
        return _unreadable(
            der,
            NOTHING_READ(detail=refusal or ""),
            encoding=encoding,
            problems=problems,
        )
    return certificate


def _unreadable(
    raw: bytes, error: Message, *, encoding: str = "der", problems: list[Problem] | None = None
) -> Certificate:
    return Certificate(
        der=raw,
        sha256=hashlib.sha256(raw).hexdigest(),
        sha1=hashlib.sha1(raw).hexdigest(),
        sm3=sm3(raw),
        encoding=encoding,
        problems=tuple(problems or ()),
        error=error,
    )


def _anything_read(certificate: Certificate) -> bool:
    return any(
        field is not None
        for field in (
            certificate.subject,
            certificate.issuer,
            certificate.serial,
            certificate.not_before,
            certificate.not_after,
            certificate.key_algorithm,
        )
    )


def _from_pem(value: bytes) -> tuple[bytes, int] | Message:
    """The first certificate's DER and how many there are, or why there is none."""
    blocks = _pem_blocks(value)
    if not blocks:
        label = _PEM_LABEL.search(value)
        kind = label.group(1).decode("ascii") if label else "?"
        if kind.endswith("CERTIFICATE"):
            return PEM_NO_END()
        return PEM_OTHER(kind=kind)
    lines = blocks[0].split(b"\n")
    # RFC 7468 allows no headers in certificates, but old tools wrote RFC 1421 ones.
    body = b"".join(line.strip() for line in lines if b":" not in line)
    try:
        return base64.b64decode(body, validate=True), len(blocks)
    except (binascii.Error, ValueError):
        return PEM_BAD_BASE64()


def _pem_blocks(value: bytes) -> list[bytes]:
    """The text between each BEGIN CERTIFICATE line and the first END line after it."""
    blocks: list[bytes] = []
    position = 0
    while True:
        begin = _PEM_BEGIN.search(value, position)
        if begin is None:
            return blocks
        end = _PEM_END.search(value, begin.end())
        if end is None:
            return blocks  # no END after this BEGIN, so none after a later one either
        blocks.append(value[begin.end() : end.start()])
        position = end.end()


def _frame(der: bytes) -> bytes | Message:
    """The outer TLV of ``der`` (without trailing bytes), or why it is not one."""
    if der[0] != 0x30:
        return DER_NOT_SEQUENCE(byte=f"{der[0]:02x}")
    if len(der) < 2:
        return DER_ONE_BYTE()
    first = der[1]
    if first == 0x80:
        # BER indefinite length: only a parser walking the contents finds the end.
        from asn1crypto import parser as asn1_parser

        try:
            return der[: asn1_parser.peek(der)]
        except Exception as exc:
            return NOT_DER(detail=reason(exc))
    if first < 0x80:
        header, length = 2, first
    else:
        count = first & 0x7F
        if count > 4:
            return DER_LONG_LENGTH(count=count)
        header = 2 + count
        if len(der) < header:
            return DER_LENGTH_TRUNCATED(at=len(der))
        length = int.from_bytes(der[2:header], "big")
    total = header + length
    if len(der) < total:
        return DER_TRUNCATED(at=len(der), total=total)
    return der[:total]


def _load_strict(
    der: bytes, caught: list[warnings.WarningMessage]
) -> tuple[x509.Certificate | None, Message | str | None]:
    """cryptography's certificate, or why it refused (or warned about) this one;
    ``caught``: the warnings recorded (``simplefilter("always")``) while it loads."""
    from cryptography import x509

    mark = len(caught)
    try:
        certificate = x509.load_der_x509_certificate(der)
    except Exception as exc:
        return None, reason(exc)
    if len(caught) > mark:
        return None, warning_reason(caught[mark].message)
    return certificate, None
