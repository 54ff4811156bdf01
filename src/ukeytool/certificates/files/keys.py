"""Private keys next to certificates in a file: only what ties a key to its certificate
(its algorithm and the hash of its public half) is read, never the key itself, and an
encrypted key is not decrypted."""

from __future__ import annotations

import hashlib

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509

from ...i18n.message import Message
from ..asn1 import header, oid_at, tlv_end
from .found import Key

__all__ = ["certificate_public_key_sha256", "pem_key", "pkcs8_key"]

_RSA = "1.2.840.113549.1.1.1"
_EC = "1.2.840.10045.2.1"
_SM2 = "1.2.156.10197.1.301"
_KEY_NAMES = {
    _RSA: "RSA",
    "1.2.840.113549.1.1.10": "RSA",
    _EC: "EC",
    _SM2: "SM2",
    "1.2.840.10040.4.1": "DSA",
    "1.3.101.112": "Ed25519",
    "1.3.101.113": "Ed448",
}


def pem_key(body: bytes, label: bytes, where: Message) -> Key:
    try:
        if label == b"RSA PRIVATE KEY":
            return Key(where, "RSA", _rsa_public_sha256(body))
        if label == b"EC PRIVATE KEY":
            return _ec_key(body, None, where)
        return pkcs8_key(body, where)
    except Exception:
        # The key is only looked at to find its certificate; a key we cannot read is
        # still a key in the file.
        return Key(where)


def pkcs8_key(der: bytes, where: Message, local_key_id: bytes | None = None) -> Key:
    info = asn1_keys.PrivateKeyInfo.load(der)
    oid = info["private_key_algorithm"]["algorithm"].dotted
    inner = bytes(info["private_key"].contents)
    if oid == _RSA:
        return Key(where, "RSA", _rsa_public_sha256(inner), local_key_id)
    if oid in (_EC, _SM2):
        parameters = info["private_key_algorithm"]["parameters"]
        curve = oid_at(parameters.dump(), 0) if parameters.dump()[:1] == b"\x06" else None
        key = _ec_key(inner, _SM2 if oid == _SM2 else curve, where)
        key.local_key_id = local_key_id
        return key
    return Key(where, _KEY_NAMES.get(oid, oid), None, local_key_id)


def _rsa_public_sha256(der: bytes) -> str:
    private = asn1_keys.RSAPrivateKey.load(der)
    public = asn1_keys.RSAPublicKey(
        {"modulus": private["modulus"].native, "public_exponent": private["public_exponent"].native}
    )
    return hashlib.sha256(public.dump()).hexdigest()


def _ec_key(der: bytes, curve: str | None, where: Message) -> Key:
    # Parsed by hand: asn1crypto's ECPrivateKey looks the curve up when its fields are
    # read, and it does not know SM2's.
    fields: dict[int, bytes] = {}
    outer = header(der, 0)
    offset = 0 if outer is None else outer[0]
    while outer is not None and offset < len(der):
        child = header(der, offset)
        end = tlv_end(der, offset)
        if child is None or end is None:
            break
        fields[der[offset]] = der[offset + child[0] : end]
        offset = end
    named = fields.get(0xA0)
    if curve is None and named and named[:1] == b"\x06":
        curve = oid_at(named, 0)
    algorithm = "SM2" if curve == _SM2 else "EC"
    bits = fields.get(0xA1)
    if not bits or bits[0] != 0x03:
        return Key(where, algorithm)
    point = header(bits, 0)
    if point is None:
        return Key(where, algorithm)
    # Skip the BIT STRING's unused-bits octet: the point itself is what certificates hold.
    return Key(where, algorithm, hashlib.sha256(bits[point[0] + 1 :]).hexdigest())


def certificate_public_key_sha256(der: bytes) -> str | None:
    try:
        spki = asn1_x509.Certificate.load(der)["tbs_certificate"]["subject_public_key_info"]
        return hashlib.sha256(bytes(spki["public_key"].contents)[1:]).hexdigest()
    except Exception:
        return None
