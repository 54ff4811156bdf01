"""The algorithms and extensions a certificate names: OIDs, and the names ukeytool shows
for them (OpenSSL's where it has one), for both parsers alike."""

from __future__ import annotations

__all__ = [
    "AUTHORITY_KEY_IDENTIFIER",
    "BASIC_CONSTRAINTS",
    "CURVES",
    "CURVE_PRIMES",
    "DSA_KEY",
    "EC_KEY",
    "EDWARDS_KEYS",
    "EKU_NAMES",
    "EXTENDED_KEY_USAGE",
    "KEY_USAGE",
    "KEY_USAGE_BITS",
    "RSA_KEYS",
    "SIGNATURE_NAMES",
    "SM2",
    "SM3_WITH_SM2",
    "SUBJECT_KEY_IDENTIFIER",
    "curve_name",
]

RSA_KEYS = ("1.2.840.113549.1.1.1", "1.2.840.113549.1.1.10", "2.5.8.1.1")
EC_KEY = "1.2.840.10045.2.1"
SM2 = "1.2.156.10197.1.301"  # the SM2 curve, and in some certificates the key algorithm
SM3_WITH_SM2 = "1.2.156.10197.1.501"
DSA_KEY = "1.2.840.10040.4.1"
EDWARDS_KEYS = {"1.3.101.112": ("Ed25519", 256), "1.3.101.113": ("Ed448", 448)}

CURVES = {
    "1.2.840.10045.3.1.1": ("secp192r1", 192),
    "1.3.132.0.33": ("secp224r1", 224),
    "1.2.840.10045.3.1.7": ("secp256r1", 256),
    "1.3.132.0.34": ("secp384r1", 384),
    "1.3.132.0.35": ("secp521r1", 521),
    "1.3.132.0.10": ("secp256k1", 256),
    "1.3.36.3.3.2.8.1.1.7": ("brainpoolP256r1", 256),
    "1.3.36.3.3.2.8.1.1.11": ("brainpoolP384r1", 384),
    "1.3.36.3.3.2.8.1.1.13": ("brainpoolP512r1", 512),
    SM2: ("sm2p256v1", 256),
}
# Some older certificates spell the curve out instead of naming it; the prime tells which.
CURVE_PRIMES = {
    0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF: SM2,
    0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF: "1.2.840.10045.3.1.7",
}

SIGNATURE_NAMES = {
    "1.2.840.113549.1.1.2": "md2WithRSAEncryption",
    "1.2.840.113549.1.1.3": "md4WithRSAEncryption",
    "1.2.840.113549.1.1.4": "md5WithRSAEncryption",
    "1.2.840.113549.1.1.5": "sha1WithRSAEncryption",
    "1.2.840.113549.1.1.10": "rsassaPss",
    "1.2.840.113549.1.1.11": "sha256WithRSAEncryption",
    "1.2.840.113549.1.1.12": "sha384WithRSAEncryption",
    "1.2.840.113549.1.1.13": "sha512WithRSAEncryption",
    "1.2.840.113549.1.1.14": "sha224WithRSAEncryption",
    "1.3.14.3.2.29": "sha1WithRSA",
    "2.16.840.1.101.3.4.3.13": "RSA-SHA3-224",
    "2.16.840.1.101.3.4.3.14": "RSA-SHA3-256",
    "2.16.840.1.101.3.4.3.15": "RSA-SHA3-384",
    "2.16.840.1.101.3.4.3.16": "RSA-SHA3-512",
    "1.2.840.10045.4.1": "ecdsa-with-SHA1",
    "1.2.840.10045.4.3.1": "ecdsa-with-SHA224",
    "1.2.840.10045.4.3.2": "ecdsa-with-SHA256",
    "1.2.840.10045.4.3.3": "ecdsa-with-SHA384",
    "1.2.840.10045.4.3.4": "ecdsa-with-SHA512",
    "1.2.840.10040.4.3": "dsaWithSHA1",
    "2.16.840.1.101.3.4.3.1": "dsa_with_SHA224",
    "2.16.840.1.101.3.4.3.2": "dsa_with_SHA256",
    "1.3.101.112": "Ed25519",
    "1.3.101.113": "Ed448",
    SM3_WITH_SM2: "SM3withSM2",
    "1.2.156.10197.1.504": "SM3withRSA",
}

KEY_USAGE_BITS = (
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
    "encipherOnly",
    "decipherOnly",
)
EKU_NAMES = {
    "1.3.6.1.5.5.7.3.1": "serverAuth",
    "1.3.6.1.5.5.7.3.2": "clientAuth",
    "1.3.6.1.5.5.7.3.3": "codeSigning",
    "1.3.6.1.5.5.7.3.4": "emailProtection",
    "1.3.6.1.5.5.7.3.8": "timeStamping",
    "1.3.6.1.5.5.7.3.9": "OCSPSigning",
    "2.5.29.37.0": "anyExtendedKeyUsage",
}
BASIC_CONSTRAINTS = "2.5.29.19"
KEY_USAGE = "2.5.29.15"
EXTENDED_KEY_USAGE = "2.5.29.37"
SUBJECT_KEY_IDENTIFIER = "2.5.29.14"
AUTHORITY_KEY_IDENTIFIER = "2.5.29.35"


def curve_name(oid: str) -> str:
    """asn1crypto's name for a curve outside our table, or the OID."""
    from asn1crypto import keys as asn1_keys

    return str(asn1_keys.NamedCurve.map(oid))
