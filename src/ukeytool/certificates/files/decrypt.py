"""Decrypting PKCS#12 contents with cryptography's primitives: the PKCS#12 KDF and MAC
(RFC 7292 appendix B), PKCS#12 PBE (RC4, 3DES, RC2) and PBES2 (PBKDF2 with AES, SM4,
DES); 40-bit RC2 by :mod:`.rc2`. What this module cannot decrypt it says with
:class:`Unsupported`, and the PKCS#12 reader falls back to OpenSSL."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any

from asn1crypto import core as asn1_core
from cryptography.hazmat.decrepit.ciphers import algorithms as decrepit
from cryptography.hazmat.primitives import hashes, hmac, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from ...i18n.message import Message, template
from ..asn1 import octets
from ..reasons import Unreadable
from .rc2 import rc2_cbc_decrypt

__all__ = [
    "DIGESTS",
    "MAX_ITERATIONS",
    "Secret",
    "TooManyIterations",
    "Undecryptable",
    "Unsupported",
    "check_iterations",
    "decrypt_content",
    "mac",
]

SCHEME_OID = template("file.pkcs12_scheme", "the scheme {oid}")
PBES2_CIPHER = template("file.pkcs12_pbes2_cipher", "PBES2 with {cipher}")
PBES2_KDF = template("file.pkcs12_pbes2_kdf", "PBES2 with the key derivation {oid}")
PBES2_PRF = template("file.pkcs12_pbes2_prf", "PBES2 {cipher} with the PRF {oid}")
NO_PADDING = template(
    "file.pkcs12_no_padding",
    "could not be decrypted (no valid padding): a wrong password, or a damaged file",
)


MAX_ITERATIONS = 10_000_000
"""The most iterations of a key derivation (the MAC's, PBES2's, PKCS#12 PBE's) that
ukeytool runs for a file. Exporters use 2,000 (Windows), 2,048 (OpenSSL), 10,000 (Java)
to a few hundred thousand (OWASP's 600,000 for PBKDF2-SHA256): the cap is 16 times the
highest of them, and bounds what one file costs to a few seconds per password tried,
where a count from the file itself (2^31 - 1 in a 2.5 kB file) would run for hours."""

TOO_MANY_ITERATIONS = template(
    "file.pkcs12_too_many_iterations",
    "the file asks for {count} iterations of its key derivation, more than ukeytool runs "
    "(at most {limit}); it was not decrypted",
)


class TooManyIterations(Unreadable):
    """A key derivation asks for more than :data:`MAX_ITERATIONS` iterations."""


def check_iterations(count: int) -> None:
    """Raise :class:`TooManyIterations` when ``count`` is over :data:`MAX_ITERATIONS`,
    before any key derivation is run."""
    if count > MAX_ITERATIONS:
        raise TooManyIterations(TOO_MANY_ITERATIONS(count=count, limit=MAX_ITERATIONS))


@dataclasses.dataclass(frozen=True)
class Secret:
    """A password in the two forms PKCS#12 uses; never shown."""

    utf8: bytes = dataclasses.field(repr=False)
    """For PBKDF2 (PBES2), as OpenSSL passes it: the bytes as given."""
    bmp: bytes = dataclasses.field(repr=False)
    """For the PKCS#12 KDF: UTF-16BE with a terminating zero; empty for "no password"."""


class Unsupported(Exception):
    """An encryption this module does not implement."""

    def __init__(self, scheme: Message | str) -> None:
        super().__init__(str(scheme))
        self.scheme = scheme
        """What the encryption is: its name, or a message naming its OIDs."""


class Undecryptable(Unreadable):
    """Decryption gave no valid padding or no valid structure: a wrong password, or damage."""


def _triple_des(key: bytes) -> Any:
    # Single DES and two-key 3DES as the three-key form cryptography keeps supporting.
    return decrepit.TripleDES(
        key * 3 if len(key) == 8 else key + key[:8] if len(key) == 16 else key
    )


# digest OID -> (cryptography hash, its block size in bytes, for the PKCS#12 KDF)
DIGESTS: dict[str, tuple[Callable[[], hashes.HashAlgorithm], int]] = {
    "1.3.14.3.2.26": (hashes.SHA1, 64),
    "2.16.840.1.101.3.4.2.4": (hashes.SHA224, 64),
    "2.16.840.1.101.3.4.2.1": (hashes.SHA256, 64),
    "2.16.840.1.101.3.4.2.2": (hashes.SHA384, 128),
    "2.16.840.1.101.3.4.2.3": (hashes.SHA512, 128),
    "1.2.156.10197.1.401": (hashes.SM3, 64),
}
# PBKDF2 PRF OID -> hash
_PRFS: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "1.2.840.113549.2.7": hashes.SHA1,
    "1.2.840.113549.2.8": hashes.SHA224,
    "1.2.840.113549.2.9": hashes.SHA256,
    "1.2.840.113549.2.10": hashes.SHA384,
    "1.2.840.113549.2.11": hashes.SHA512,
    # HMAC-SM3, as GmSSL and most Chinese software write it, and as GM/T 0091 does.
    "1.2.156.10197.1.401.2": hashes.SM3,
    "1.2.156.10197.1.401.3.1": hashes.SM3,
}
# PBES2 cipher OID -> (name, key length, cipher factory)
_PBES2_CIPHERS: dict[str, tuple[str, int, Callable[[bytes], Any]]] = {
    "2.16.840.1.101.3.4.1.2": ("AES-128-CBC", 16, algorithms.AES),
    "2.16.840.1.101.3.4.1.22": ("AES-192-CBC", 24, algorithms.AES),
    "2.16.840.1.101.3.4.1.42": ("AES-256-CBC", 32, algorithms.AES),
    "1.2.156.10197.1.104.2": ("SM4-CBC", 16, algorithms.SM4),
    "1.2.840.113549.3.7": ("DES-EDE3-CBC", 24, _triple_des),
    "1.3.14.3.2.7": ("DES-CBC", 8, _triple_des),
}
# The same digests in hashlib, whose one-call hashing makes the KDF's rounds cheaper.
_HASHLIB = {
    "1.3.14.3.2.26": "sha1",
    "2.16.840.1.101.3.4.2.4": "sha224",
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}
_SHA1 = "1.3.14.3.2.26"
_PBES2 = "1.2.840.113549.1.5.13"
_PBKDF2 = "1.2.840.113549.1.5.12"
# PKCS#12 PBE OID -> (name, key length, cipher factory, IV length; 0: a stream cipher)
_PKCS12_PBES: dict[str, tuple[str, int, Callable[[bytes], Any] | None, int]] = {
    "1.2.840.113549.1.12.1.1": ("pbeWithSHAAnd128BitRC4", 16, decrepit.ARC4, 0),
    "1.2.840.113549.1.12.1.2": ("pbeWithSHAAnd40BitRC4", 5, decrepit.ARC4, 0),
    "1.2.840.113549.1.12.1.3": ("pbeWithSHAAnd3-KeyTripleDES-CBC", 24, _triple_des, 8),
    "1.2.840.113549.1.12.1.4": ("pbeWithSHAAnd2-KeyTripleDES-CBC", 16, _triple_des, 8),
    "1.2.840.113549.1.12.1.5": ("pbeWithSHAAnd128BitRC2-CBC", 16, decrepit.RC2, 8),
    # cryptography's RC2 takes 128-bit keys only: the 40-bit one is rc2_cbc_decrypt's.
    "1.2.840.113549.1.12.1.6": ("pbeWithSHAAnd40BitRC2-CBC", 5, None, 8),
}
_OTHER_SCHEMES = {
    "1.2.840.113549.1.5.3": "pbeWithMD5AndDES-CBC",
    "1.2.840.113549.1.5.10": "pbeWithSHA1AndDES-CBC",
    "1.2.156.10197.6.1.4.1.12.1.1": "pbeWithSM3AndSM4-CBC",
    "1.2.840.113549.3.2": "RC2-CBC",
}


def mac(oid: str, secret: Secret, salt: bytes, iterations: int, message: bytes) -> bytes:
    factory, _ = DIGESTS[oid]
    size = factory().digest_size
    check_iterations(iterations)
    key = _pkcs12_kdf(oid, secret.bmp, salt, purpose=3, rounds=iterations, size=size)
    code = hmac.HMAC(key, factory())
    code.update(message)
    return code.finalize()


def _pkcs12_kdf(
    oid: str, password: bytes, salt: bytes, *, purpose: int, rounds: int, size: int
) -> bytes:
    """RFC 7292 appendix B.2: purpose 1 makes keys, 2 IVs, 3 MAC keys."""
    factory, v = DIGESTS[oid]

    def stretch(value: bytes) -> bytes:
        if not value:
            return b""
        length = v * -(-len(value) // v)
        return (value * (length // len(value) + 1))[:length]

    block = stretch(salt) + stretch(password)
    out = b""
    while len(out) < size:
        digest = bytes([purpose]) * v + block
        if oid in _HASHLIB:
            new = getattr(hashlib, _HASHLIB[oid])
            for _ in range(rounds):
                digest = new(digest).digest()
        else:
            for _ in range(rounds):
                h = hashes.Hash(factory())
                h.update(digest)
                digest = h.finalize()
        out += digest
        if len(out) >= size:
            break
        b = int.from_bytes((digest * (v // len(digest) + 1))[:v], "big") + 1
        block = b"".join(
            ((int.from_bytes(block[i : i + v], "big") + b) % (1 << (8 * v))).to_bytes(v, "big")
            for i in range(0, len(block), v)
        )
    return out[:size]


def decrypt_content(info: Any, secret: Secret) -> bytes:
    encrypted = info["content"]["encrypted_content_info"]
    algorithm = encrypted["content_encryption_algorithm"]
    ciphertext = octets(encrypted["encrypted_content"])
    return _decrypt(algorithm, ciphertext, secret)


def _decrypt(algorithm: Any, ciphertext: bytes, secret: Secret) -> bytes:
    oid = algorithm["algorithm"].dotted
    if oid == _PBES2:
        return _pbes2(algorithm["parameters"], ciphertext, secret)
    if oid in _PKCS12_PBES:
        _, size, cipher, iv_size = _PKCS12_PBES[oid]
        parameters = algorithm["parameters"]
        salt, rounds = parameters["salt"].native, parameters["iterations"].native
        check_iterations(rounds)
        key = _pkcs12_kdf(_SHA1, secret.bmp, salt, purpose=1, rounds=rounds, size=size)
        if not iv_size and cipher is not None:
            decryptor = Cipher(cipher(key), mode=None).decryptor()
            return bytes(decryptor.update(ciphertext) + decryptor.finalize())
        iv = _pkcs12_kdf(_SHA1, secret.bmp, salt, purpose=2, rounds=rounds, size=iv_size)
        if cipher is None:
            return _unpad(rc2_cbc_decrypt(key, 8 * size, iv, ciphertext), 8)
        return _cbc(cipher(key), iv, ciphertext)
    raise Unsupported(_OTHER_SCHEMES.get(oid) or SCHEME_OID(oid=oid))


def _pbes2(parameters: Any, ciphertext: bytes, secret: Secret) -> bytes:
    kdf = parameters["key_derivation_func"]
    scheme = parameters["encryption_scheme"]
    kdf_oid = kdf["algorithm"].dotted
    cipher_oid = scheme["algorithm"].dotted
    if cipher_oid not in _PBES2_CIPHERS:
        cipher_name = _OTHER_SCHEMES.get(cipher_oid, cipher_oid)
        raise Unsupported(PBES2_CIPHER(cipher=cipher_name))
    if kdf_oid != _PBKDF2:
        raise Unsupported(PBES2_KDF(oid=kdf_oid))
    name, size, cipher = _PBES2_CIPHERS[cipher_oid]
    kdf_parameters = kdf["parameters"]
    prf_oid = kdf_parameters["prf"]["algorithm"].dotted
    if prf_oid not in _PRFS:
        raise Unsupported(PBES2_PRF(cipher=name, oid=prf_oid))
    length = kdf_parameters["key_length"].native or size
    check_iterations(kdf_parameters["iteration_count"].native)
    key = PBKDF2HMAC(
        algorithm=_PRFS[prf_oid](),
        length=length,
        salt=kdf_parameters["salt"].native,
        iterations=kdf_parameters["iteration_count"].native,
    ).derive(secret.utf8)
    iv = asn1_core.OctetString.load(scheme["parameters"].dump()).native
    return _cbc(cipher(key), iv, ciphertext)


def _cbc(algorithm: Any, iv: bytes, ciphertext: bytes) -> bytes:
    decryptor = Cipher(algorithm, modes.CBC(iv)).decryptor()
    return _unpad(decryptor.update(ciphertext) + decryptor.finalize(), algorithm.block_size // 8)


def _unpad(padded: bytes, block: int) -> bytes:
    unpadder = padding.PKCS7(8 * block).unpadder()
    try:
        return bytes(unpadder.update(padded) + unpadder.finalize())
    except ValueError:
        raise Undecryptable(NO_PADDING()) from None
