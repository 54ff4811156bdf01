"""The fields that relate certificates to each other and to key objects: the subject and
authority key identifiers and the public key.

Read with asn1crypto alone, which takes every certificate cryptography does and the
lenient ones too; each field on its own, a failure a :class:`~ukeytool.Problem` (an
absent extension is no problem).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..i18n.message import template
from ..model import Certificate, Problem
from ..model._value import replace
from .algorithms import (
    AUTHORITY_KEY_IDENTIFIER,
    EC_KEY,
    RSA_KEYS,
    SM2,
    SUBJECT_KEY_IDENTIFIER,
)
from .asn1 import contents, oid_text, rsa_modulus, tlvs
from .fields import COULD_NOT_READ, lenient_extension
from .parts import Parts
from .reasons import Unreadable, reason

__all__ = ["public_key_from_info", "relation_fields", "with_relation_fields"]

SKI_NOT_OCTETS = template(
    "certificate.ski_not_octets", "the SubjectKeyIdentifier extension is not an OCTET STRING"
)
AKI_NOT_SEQUENCE = template(
    "certificate.aki_not_sequence", "the AuthorityKeyIdentifier extension is not a SEQUENCE"
)
KEY_NOT_BITS = template("certificate.key_not_bits", "the public key is not a BIT STRING")


def with_relation_fields(certificate: Certificate) -> Certificate:
    """``certificate`` with its key identifiers and public key filled in, where readable.

    Never raises. (:func:`~ukeytool.read_certificate` fills them in as it reads, from the
    parsed certificate it has already; this is for a certificate made otherwise.)
    """
    if certificate.error is not None:
        return certificate
    from asn1crypto import x509 as asn1_x509

    try:
        parsed = asn1_x509.Certificate.load(certificate.der)
    except Exception:
        return certificate  # the reader already said what is wrong with it
    found = relation_fields(parsed, None)
    if found is None:
        return certificate
    values, problems = found
    return replace(certificate, problems=(*certificate.problems, *problems), **values)


def relation_fields(
    parsed: Any, parts: Parts | None
) -> tuple[dict[str, Any], list[Problem]] | None:
    """The relation fields of a certificate and the problems reading them, from its raw
    ``parts`` when there are any, else from asn1crypto's ``parsed`` certificate; None
    when asn1crypto cannot even find the signed part (the reader has said why)."""
    readers: tuple[tuple[str, Callable[[Any], Any]], ...]
    if parts is not None:
        source: Any = parts
        readers = (
            ("subject_key_identifier", _ski_of_parts),
            ("authority_key_identifier", _aki_of_parts),
            ("public_key_info", _info_of_parts),
        )
    else:
        try:
            parsed["tbs_certificate"]
        except Exception:
            return None
        source = parsed
        readers = (
            ("subject_key_identifier", _subject_key_identifier),
            ("authority_key_identifier", _authority_key_identifier),
            ("public_key_info", _public_key_info),
        )
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for where, reader in readers:
        try:
            values[where] = reader(source)
        except Exception as exc:
            problems.append(Problem(where, COULD_NOT_READ(detail=reason(exc))))
    if values.get("public_key_info") is not None:
        try:
            values["public_key"] = public_key_from_info(values["public_key_info"], strict=True)
        except Exception as exc:
            problems.append(Problem("public_key", COULD_NOT_READ(detail=reason(exc))))
    return values, problems


def _ski_of_parts(parts: Parts) -> bytes | None:
    return _ski(parts.extension(SUBJECT_KEY_IDENTIFIER))


def _aki_of_parts(parts: Parts) -> bytes | None:
    return _aki(parts.extension(AUTHORITY_KEY_IDENTIFIER))


def _info_of_parts(parts: Parts) -> bytes:
    return parts.public_key_info


def _subject_key_identifier(certificate: Any) -> bytes | None:
    return _ski(lenient_extension(certificate, SUBJECT_KEY_IDENTIFIER))


def _ski(value: bytes | None) -> bytes | None:
    if value is None:
        return None
    if value[:1] != b"\x04":
        raise Unreadable(SKI_NOT_OCTETS())
    return contents(value)


def _authority_key_identifier(certificate: Any) -> bytes | None:
    return _aki(lenient_extension(certificate, AUTHORITY_KEY_IDENTIFIER))


def _aki(value: bytes | None) -> bytes | None:
    if value is None:
        return None
    if value[:1] != b"\x30":
        raise Unreadable(AKI_NOT_SEQUENCE())
    for part in tlvs(contents(value)):
        if part.tag == 0x80:  # [0] IMPLICIT KeyIdentifier
            return part.contents
    return None


def _public_key_info(certificate: Any) -> bytes:
    return bytes(certificate["tbs_certificate"]["subject_public_key_info"].dump())


def public_key_from_info(info: bytes, *, strict: bool = False) -> bytes | None:
    """The public key in a SubjectPublicKeyInfo (a certificate's, or a key object's
    CKA_PUBLIC_KEY_INFO) as :attr:`Certificate.public_key` holds it: an RSA modulus
    without leading zero octets, an EC or SM2 point as is; None for other algorithms.

    Never raises unless ``strict``; then bytes that are not a SubjectPublicKeyInfo raise.
    """
    try:
        algorithm, key = list(tlvs(contents(info)))[:2]
        oid_tlv = next(tlvs(algorithm.contents))
        oid = oid_text(oid_tlv.encoded)
        if key.tag != 0x03 or not key.contents:
            raise Unreadable(KEY_NOT_BITS())
        bits = key.contents[1:]
        if oid in RSA_KEYS:
            modulus = rsa_modulus(bits)
            return modulus.to_bytes((modulus.bit_length() + 7) // 8, "big")
        if oid in (EC_KEY, SM2):
            return bytes(bits)
        return None
    except Exception:
        if strict:
            raise
        return None
