"""What goes on a test token: objects, token specs and their PKCS#11 attribute templates.

:class:`CertObject`, :class:`PrivateKeyObject`, :class:`PublicKeyObject` and
:class:`RawObject` describe the objects; :class:`TokenSpec` a token to create with them;
the ``*_template`` functions turn them into the raw ``C_CreateObject`` templates the
writer child (:mod:`ukeytool.testing._writer`) replays. The keys and certificates are
parsed here, with asn1crypto, so the child only copies bytes.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Sequence
from typing import Any

from asn1crypto import core as asn1_core
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509

__all__ = [
    "CKA_CERTIFICATE_TYPE",
    "CKA_CLASS",
    "CKA_COEFFICIENT",
    "CKA_DECRYPT",
    "CKA_DERIVE",
    "CKA_EC_PARAMS",
    "CKA_EC_POINT",
    "CKA_ENCRYPT",
    "CKA_EXPONENT_1",
    "CKA_EXPONENT_2",
    "CKA_EXTRACTABLE",
    "CKA_ID",
    "CKA_ISSUER",
    "CKA_KEY_TYPE",
    "CKA_LABEL",
    "CKA_MODULUS",
    "CKA_PRIME_1",
    "CKA_PRIME_2",
    "CKA_PRIVATE",
    "CKA_PRIVATE_EXPONENT",
    "CKA_PUBLIC_EXPONENT",
    "CKA_SENSITIVE",
    "CKA_SERIAL_NUMBER",
    "CKA_SIGN",
    "CKA_SUBJECT",
    "CKA_TOKEN",
    "CKA_UNWRAP",
    "CKA_VALUE",
    "CKA_VERIFY",
    "CKA_WRAP",
    "CKC_X_509",
    "CKK_EC",
    "CKK_RSA",
    "CKO_CERTIFICATE",
    "CKO_PRIVATE_KEY",
    "CKO_PUBLIC_KEY",
    "CertObject",
    "PrivateKeyObject",
    "PublicKeyObject",
    "RawAttributes",
    "RawObject",
    "TokenObject",
    "TokenSpec",
    "certificate_template",
    "ck_bool",
    "ck_ulong",
    "object_template",
    "private_key_template",
    "public_key_template",
]

# SoftHSM stores CK_TOKEN_INFO.label in a fixed 32-byte, blank-padded field.
_TOKEN_LABEL_SIZE = 32

# PKCS#11 constants, written out: python-pkcs11 is imported by ukeytool's backend and by
# the writer child only, and none of its types cross into callers.
CKA_CLASS = 0x0000
CKA_TOKEN = 0x0001
CKA_PRIVATE = 0x0002
CKA_LABEL = 0x0003
CKA_VALUE = 0x0011
CKA_CERTIFICATE_TYPE = 0x0080
CKA_ISSUER = 0x0081
CKA_SERIAL_NUMBER = 0x0082
CKA_KEY_TYPE = 0x0100
CKA_SUBJECT = 0x0101
CKA_ID = 0x0102
CKA_SENSITIVE = 0x0103
CKA_ENCRYPT = 0x0104
CKA_DECRYPT = 0x0105
CKA_WRAP = 0x0106
CKA_UNWRAP = 0x0107
CKA_SIGN = 0x0108
CKA_VERIFY = 0x010A
CKA_DERIVE = 0x010C
CKA_MODULUS = 0x0120
CKA_PUBLIC_EXPONENT = 0x0122
CKA_PRIVATE_EXPONENT = 0x0123
CKA_PRIME_1 = 0x0124
CKA_PRIME_2 = 0x0125
CKA_EXPONENT_1 = 0x0126
CKA_EXPONENT_2 = 0x0127
CKA_COEFFICIENT = 0x0128
CKA_EXTRACTABLE = 0x0162
CKA_EC_PARAMS = 0x0180
CKA_EC_POINT = 0x0181

CKO_CERTIFICATE = 1
CKO_PUBLIC_KEY = 2
CKO_PRIVATE_KEY = 3
CKC_X_509 = 0
CKK_RSA = 0
CKK_EC = 3

_RSA_ENCRYPTION_OID = "1.2.840.113549.1.1.1"
_EC_PUBLIC_KEY_OID = "1.2.840.10045.2.1"
_SM2_CURVE_OID = "1.2.156.10197.1.301"

RawAttributes = tuple[tuple[int, bytes], ...]
"""A PKCS#11 template as (attribute type, raw value bytes) pairs, in order."""


def ck_ulong(value: int) -> bytes:
    """Pack a CK_ULONG (native ``unsigned long``) as a raw attribute value."""
    return struct.pack("@L", value)


def ck_bool(value: bool) -> bytes:
    """Pack a CK_BBOOL as a raw attribute value."""
    return b"\x01" if value else b"\x00"


def _label_bytes(label: bytes | str) -> bytes:
    # Bytes are kept verbatim (GBK labels are the point of many tests); text is UTF-8,
    # which is what PKCS#11 prescribes.
    return label if isinstance(label, bytes) else label.encode("utf-8")


# --------------------------------------------------------------------------- specs


@dataclasses.dataclass(frozen=True)
class CertObject:
    """An X.509 certificate object (CKO_CERTIFICATE, CKC_X_509)."""

    value: bytes
    """Stored verbatim as CKA_VALUE: DER, but also empty, truncated, PEM text or garbage."""
    label: bytes | str | None = None
    """CKA_LABEL; bytes are stored raw (e.g. GBK), text as UTF-8, None leaves it out."""
    id: bytes | None = None
    """CKA_ID; None leaves it out (SoftHSM then stores an empty one)."""
    private: bool = False
    """CKA_PRIVATE: a private certificate is only visible after login."""
    subject: bytes | None = None
    """CKA_SUBJECT; None derives it from ``value`` (empty when ``value`` does not parse).

    SoftHSM refuses a certificate without CKA_SUBJECT, so "absent" is stored as empty.
    CKA_ISSUER and CKA_SERIAL_NUMBER are derived alongside when ``value`` parses."""
    extra_attributes: RawAttributes = ()
    """Further raw attributes, appended last (so they override the derived ones)."""


@dataclasses.dataclass(frozen=True)
class PrivateKeyObject:
    """A private key (CKO_PRIVATE_KEY) imported from PKCS#8 DER: RSA or EC (P-256, SM2...).

    EC keys are stored with the curve OID from the PKCS#8 parameters as CKA_EC_PARAMS, so
    SM2 keys work too (SoftHSM 2.6.1 stores them; nothing here signs with them), whether
    the key algorithm is id-ecPublicKey with the SM2 curve or the SM2 OID itself. The key
    is private, sensitive and not extractable, like on a real key.
    """

    pkcs8_der: bytes
    """Unencrypted PKCS#8 PrivateKeyInfo, DER."""
    label: bytes | str | None = None
    """CKA_LABEL, as for :class:`CertObject`."""
    id: bytes | None = None
    """CKA_ID; use the certificate's CKA_ID to pair them."""
    extra_attributes: RawAttributes = ()
    """Further raw attributes, appended last."""


@dataclasses.dataclass(frozen=True)
class PublicKeyObject:
    """A public key (CKO_PUBLIC_KEY) from SubjectPublicKeyInfo DER: RSA or EC."""

    spki_der: bytes
    """SubjectPublicKeyInfo, DER (``Minted.public_key_der``)."""
    label: bytes | str | None = None
    """CKA_LABEL, as for :class:`CertObject`."""
    id: bytes | None = None
    """CKA_ID."""
    extra_attributes: RawAttributes = ()
    """Further raw attributes, appended last."""


@dataclasses.dataclass(frozen=True)
class RawObject:
    """Any object, given as a complete raw template (for cases the classes above refuse).

    CKA_TOKEN is not added for you: include ``(CKA_TOKEN, ck_bool(True))`` or the object
    vanishes with the writer's session.
    """

    attributes: RawAttributes
    """The template passed to C_CreateObject, verbatim."""
    description: str = "raw object"
    """Named in error messages."""


TokenObject = CertObject | PrivateKeyObject | PublicKeyObject | RawObject


@dataclasses.dataclass(frozen=True)
class TokenSpec:
    """One token to initialise in a free slot and fill with objects."""

    label: bytes | str
    """Token label (CK_TOKEN_INFO.label): at most 32 bytes, raw bytes kept verbatim.

    SoftHSM pads it with blanks, so trailing blanks cannot be told apart from padding."""
    so_pin: str = dataclasses.field(default="12345678", repr=False)
    """Security officer PIN (SoftHSM wants 4 to 255 characters)."""
    user_pin: str = dataclasses.field(default="1234", repr=False)
    """User PIN (SoftHSM wants 4 to 255 characters)."""
    objects: Sequence[TokenObject] = ()
    """Objects to create, in this order."""

    def __post_init__(self) -> None:
        # Frozen and hashable even when the caller passes a list.
        object.__setattr__(self, "objects", tuple(self.objects))
        raw = _label_bytes(self.label)
        if len(raw) > _TOKEN_LABEL_SIZE:
            raise ValueError(f"token label is {len(raw)} bytes; PKCS#11 allows 32: {raw!r}")
        if b"\x00" in raw:
            # It goes through softhsm2-util's argv, where NUL ends the string.
            raise ValueError(f"token label must not contain NUL bytes: {raw!r}")
        for name, pin in (("so_pin", self.so_pin), ("user_pin", self.user_pin)):
            if not 4 <= len(pin.encode("utf-8")) <= 255 or "\x00" in pin:
                raise ValueError(f"{name} must be 4 to 255 bytes without NUL (SoftHSM limit)")


# ----------------------------------------------------------------- templates


def _int_bytes(value: int) -> bytes:
    """Big-endian unsigned bytes, minimal length: PKCS#11's "Big integer"."""
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def _common(label: bytes | str | None, id_: bytes | None, private: bool) -> list[tuple[int, bytes]]:
    attrs = [(CKA_TOKEN, ck_bool(True)), (CKA_PRIVATE, ck_bool(private))]
    if label is not None:
        attrs.append((CKA_LABEL, _label_bytes(label)))
    if id_ is not None:
        attrs.append((CKA_ID, id_))
    return attrs


def _certificate_names(value: bytes) -> list[tuple[int, bytes]]:
    """CKA_SUBJECT / CKA_ISSUER / CKA_SERIAL_NUMBER cut verbatim out of DER, or []."""
    # asn1crypto re-emits the original encoding of a part it did not have to change, so
    # these are the certificate's own bytes even when they are not canonical DER.
    try:
        tbs = asn1_x509.Certificate.load(value)["tbs_certificate"]
        return [
            (CKA_SUBJECT, bytes(tbs["subject"].dump())),
            (CKA_ISSUER, bytes(tbs["issuer"].dump())),
            (CKA_SERIAL_NUMBER, bytes(tbs["serial_number"].dump())),
        ]
    except Exception:  # any bytes at all are allowed in CKA_VALUE; those give no names
        return []


def certificate_template(obj: CertObject) -> RawAttributes:
    """The C_CreateObject template for a :class:`CertObject`."""
    attrs = [(CKA_CLASS, ck_ulong(CKO_CERTIFICATE)), (CKA_CERTIFICATE_TYPE, ck_ulong(CKC_X_509))]
    attrs += _common(obj.label, obj.id, obj.private)
    attrs.append((CKA_VALUE, obj.value))
    names = _certificate_names(obj.value)
    if obj.subject is not None:
        names = [(t, v) for t, v in names if t != CKA_SUBJECT] + [(CKA_SUBJECT, obj.subject)]
    elif not names:
        names = [(CKA_SUBJECT, b"")]
    attrs += names
    return _merge(attrs, obj.extra_attributes)


def _key_algorithm(algorithm_identifier: Any) -> tuple[str, bytes]:
    """(key algorithm OID, CKA_EC_PARAMS or b"") from a parsed AlgorithmIdentifier."""
    oid = algorithm_identifier[0].dotted
    if oid == _SM2_CURVE_OID:
        # Some SM2 keys name the curve as the key algorithm itself, with no parameters.
        return oid, bytes(asn1_core.ObjectIdentifier(_SM2_CURVE_OID).dump())
    if oid == _EC_PUBLIC_KEY_OID:
        return oid, bytes(algorithm_identifier[1].dump())  # the named curve's OID, DER
    if oid == _RSA_ENCRYPTION_OID:
        return oid, b""
    raise ValueError(f"unsupported key algorithm {oid}")


def private_key_template(obj: PrivateKeyObject) -> RawAttributes:
    """The C_CreateObject template for a :class:`PrivateKeyObject`."""
    # Generic parsing: asn1crypto's PrivateKeyInfo raises KeyError on the SM2 OID used
    # as key algorithm; the inner RSAPrivateKey / ECPrivateKey are standard either way.
    info = asn1_core.load(obj.pkcs8_der)
    oid, ec_params = _key_algorithm(info[1])
    inner = info[2].native
    attrs = [(CKA_CLASS, ck_ulong(CKO_PRIVATE_KEY))]
    attrs += _common(obj.label, obj.id, private=True)
    attrs += [(CKA_SENSITIVE, ck_bool(True)), (CKA_EXTRACTABLE, ck_bool(False))]
    # Usage flags are all spelt out: SoftHSM's defaults would also allow unwrap (and
    # decrypt for EC), which no banking key offers and listings would show.
    attrs += [(CKA_SIGN, ck_bool(True)), (CKA_UNWRAP, ck_bool(False))]
    if oid == _RSA_ENCRYPTION_OID:
        rsa = asn1_keys.RSAPrivateKey.load(inner)
        attrs += [
            (CKA_KEY_TYPE, ck_ulong(CKK_RSA)),
            (CKA_DECRYPT, ck_bool(True)),
            (CKA_DERIVE, ck_bool(False)),
        ]
        for attr, field in (
            (CKA_MODULUS, "modulus"),
            (CKA_PUBLIC_EXPONENT, "public_exponent"),
            (CKA_PRIVATE_EXPONENT, "private_exponent"),
            (CKA_PRIME_1, "prime1"),
            (CKA_PRIME_2, "prime2"),
            (CKA_EXPONENT_1, "exponent1"),
            (CKA_EXPONENT_2, "exponent2"),
            (CKA_COEFFICIENT, "coefficient"),
        ):
            attrs.append((attr, _int_bytes(rsa[field].native)))
    else:
        ec = asn1_keys.ECPrivateKey.load(inner)
        attrs += [
            (CKA_KEY_TYPE, ck_ulong(CKK_EC)),
            (CKA_DECRYPT, ck_bool(False)),
            (CKA_DERIVE, ck_bool(True)),
            (CKA_EC_PARAMS, ec_params),
            # The scalar's octets as encoded (fixed curve size, leading zeros kept).
            (CKA_VALUE, bytes(ec["private_key"].contents)),
        ]
    return _merge(attrs, obj.extra_attributes)


def public_key_template(obj: PublicKeyObject) -> RawAttributes:
    """The C_CreateObject template for a :class:`PublicKeyObject`."""
    info = asn1_core.load(obj.spki_der)
    oid, ec_params = _key_algorithm(info[0])
    key_bits = bytes(info[1].contents[1:])  # the BIT STRING without its unused-bits octet
    attrs = [(CKA_CLASS, ck_ulong(CKO_PUBLIC_KEY))]
    attrs += _common(obj.label, obj.id, private=False)
    attrs += [(CKA_VERIFY, ck_bool(True)), (CKA_WRAP, ck_bool(False))]
    if oid == _RSA_ENCRYPTION_OID:
        rsa = asn1_keys.RSAPublicKey.load(key_bits)
        attrs += [
            (CKA_KEY_TYPE, ck_ulong(CKK_RSA)),
            (CKA_ENCRYPT, ck_bool(True)),
            (CKA_MODULUS, _int_bytes(rsa["modulus"].native)),
            (CKA_PUBLIC_EXPONENT, _int_bytes(rsa["public_exponent"].native)),
        ]
    else:
        attrs += [
            (CKA_KEY_TYPE, ck_ulong(CKK_EC)),
            (CKA_ENCRYPT, ck_bool(False)),
            (CKA_EC_PARAMS, ec_params),
            # PKCS#11 2.40 wants the point DER-wrapped in an OCTET STRING (SoftHSM does).
            (CKA_EC_POINT, bytes(asn1_core.OctetString(key_bits).dump())),
        ]
    return _merge(attrs, obj.extra_attributes)


def _merge(attrs: list[tuple[int, bytes]], extra: RawAttributes) -> RawAttributes:
    # A template must not name an attribute twice (CKR_TEMPLATE_INCONSISTENT), so extra
    # attributes replace derived ones instead of being appended beside them.
    overridden = {t for t, _ in extra}
    return tuple((t, v) for t, v in attrs if t not in overridden) + tuple(extra)


def object_template(obj: TokenObject) -> tuple[str, RawAttributes]:
    """(description for errors, raw template) for any token object."""
    if isinstance(obj, CertObject):
        return f"certificate {obj.label!r}", certificate_template(obj)
    if isinstance(obj, PrivateKeyObject):
        return f"private key {obj.label!r}", private_key_template(obj)
    if isinstance(obj, PublicKeyObject):
        return f"public key {obj.label!r}", public_key_template(obj)
    return obj.description, obj.attributes
