"""Certificates for tests and the demo, minted at fixed dates, and odd encodings of them.

:func:`mint` makes a key pair and a certificate for it, self-signed or signed by another
:class:`Minted`. The dates are always the caller's: nothing here reads the clock, so a
test that judges validity at a fixed moment gets the same answer every day.

RSA and EC certificates signed with SHA-256 come from cryptography's CertificateBuilder.
cryptography can neither hold an SM2 key nor sign a certificate with SHA-1 or MD5 any
more, so for those the TBSCertificate is built with asn1crypto and signed on its own:
SM3withSM2 by the ``openssl`` command line (OpenSSL 3 signs SM2 with SM3 and the GM/T 0009
default distinguishing ID), RSA and ECDSA with SHA-1 (RSA with MD5) by cryptography's
plain ``sign``. :func:`mint_openssl` has the ``openssl`` command line make the whole
certificate (``openssl ca``), for certificates encoded by another implementation.

:func:`to_pkcs7` and :func:`to_pkcs12` put certificates into the files bank software
keeps on disk: a PKCS#7 bundle built with asn1crypto (so it can hold broken certificates
as they are), and a PKCS#12 file made by ``openssl pkcs12 -export`` (the real thing,
legacy RC2 and SM2/SM4 included when the local OpenSSL has them).

The ``with_*`` functions edit a certificate's DER into shapes real tokens hold, most of
which strict parsers refuse: a negative serial, a non-minimal INTEGER, GBK bytes in a
PrintableString, a BER length, other algorithm identifiers. They do not re-sign: the
results are for parser tests, not for chain validation.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import os
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from asn1crypto import algos as asn1_algos
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

__all__ = [
    "BMP_STRING",
    "PRINTABLE_STRING",
    "SM2_DISTINGUISHING_ID",
    "UTF8_STRING",
    "Minted",
    "identity_code",
    "mint",
    "mint_openssl",
    "to_pem",
    "to_pkcs7",
    "to_pkcs12",
    "with_extension",
    "with_gbk_subject_cn",
    "with_key_algorithm",
    "with_long_form_length",
    "with_negative_serial",
    "with_nonminimal_serial",
    "with_serial_contents",
    "with_signature_algorithm",
    "with_subject_value",
]

SM2_DISTINGUISHING_ID = "1234567812345678"
"""The signer ID GM/T 0009 makes the default, which CFCA's certificates are signed with
too. OpenSSL 3.0 must be told it to verify them: ``openssl verify -vfyopt distid:...``."""

_T = TypeVar("_T")

PRINTABLE_STRING = 0x13
"""The universal tag of PrintableString, for :func:`with_subject_value`."""
UTF8_STRING = 0x0C
"""The universal tag of UTF8String."""
BMP_STRING = 0x1E
"""The universal tag of BMPString (UTF-16 big-endian)."""

_KEY_TYPES = {"rsa2048": "rsa", "rsa1024": "rsa", "ec-p256": "ec", "sm2": "sm2"}
_HASHES = ("sha256", "sha1", "sm3", "md5")
_KEY_USAGE_ARGS = {
    "digitalSignature": "digital_signature",
    "nonRepudiation": "content_commitment",
    "keyEncipherment": "key_encipherment",
    "dataEncipherment": "data_encipherment",
    "keyAgreement": "key_agreement",
    "keyCertSign": "key_cert_sign",
    "cRLSign": "crl_sign",
    "encipherOnly": "encipher_only",
    "decipherOnly": "decipher_only",
}
# asn1crypto's names are cryptography's but for the one cryptography renamed.
_ASN1_KEY_USAGE = {**_KEY_USAGE_ARGS, "nonRepudiation": "non_repudiation"}
_TBS_FIELDS = ("serial", "signature", "issuer", "validity", "subject", "subject_public_key_info")
_SM3_WITH_SM2 = "1.2.156.10197.1.501"
# (key type, hash) -> (signature algorithm OID, whether its parameters are NULL)
_SIGNATURE_ALGORITHMS = {
    ("rsa", "sha256"): ("1.2.840.113549.1.1.11", True),
    ("rsa", "sha1"): ("1.2.840.113549.1.1.5", True),
    ("rsa", "md5"): ("1.2.840.113549.1.1.4", True),
    ("ec", "sha256"): ("1.2.840.10045.4.3.2", False),
    ("ec", "sha1"): ("1.2.840.10045.4.1", False),
    ("sm2", "sm3"): (_SM3_WITH_SM2, False),
}


@dataclasses.dataclass(frozen=True)
class Minted:
    """A minted certificate with its key pair."""

    der: bytes
    """The certificate, DER."""
    key_pkcs8_der: bytes
    """The private key, PKCS#8 DER (unencrypted)."""
    public_key_der: bytes
    """The public key, SubjectPublicKeyInfo DER."""
    key_type: str
    """``"rsa"``, ``"ec"`` or ``"sm2"``."""
    subject_cn: str


@dataclasses.dataclass(frozen=True)
class _KeyPair:
    pkcs8_der: bytes
    spki_der: bytes


@dataclasses.dataclass(frozen=True)
class _Plan:
    """What goes into the certificate, whichever way it is built."""

    spki_der: bytes
    subject: x509.Name
    issuer_name_der: bytes
    issuer_certificate: bytes | None
    """The issuer's certificate DER; None for a self-signed certificate."""
    serial: int
    not_before: datetime.datetime
    not_after: datetime.datetime
    is_ca: bool
    key_usage: tuple[str, ...]
    ski: bytes
    aki: bytes
    key_identifiers: bool = True


def mint(
    *,
    subject_cn: str,
    not_before: datetime.datetime,
    not_after: datetime.datetime,
    key: str = "rsa2048",
    hash: str = "sha256",
    issuer: Minted | None = None,
    is_ca: bool = False,
    key_usage: tuple[str, ...] = ("digitalSignature", "nonRepudiation"),
    organization: str | None = None,
    organizational_units: tuple[str, ...] = (),
    country: str | None = "CN",
    serial: int | None = None,
    key_identifiers: bool = True,
) -> Minted:
    """Make a new key pair and a certificate for it.

    ``key`` is ``"rsa2048"``, ``"rsa1024"``, ``"ec-p256"`` or ``"sm2"``; ``hash`` is
    ``"sha256"``, ``"sha1"``, ``"md5"`` (RSA signers only) or ``"sm3"`` (``"sm3"`` exactly
    when the signing key, the issuer's or for a self-signed certificate the new one, is
    SM2). Without ``issuer`` the certificate is self-signed. The subject is
    ``C, O, OU..., CN`` in that order (as CFCA writes it); the extensions are
    BasicConstraints and KeyUsage (both critical, KeyUsage left out when ``key_usage`` is
    empty) and the key identifiers. ``serial``
    defaults to a random positive number. SM2 dual certificates are two calls with the
    same subject and different ``key_usage``. Without ``key_identifiers`` the
    SubjectKeyIdentifier and AuthorityKeyIdentifier extensions are left out (certificates
    then link to their issuers by name only).
    """
    if key not in _KEY_TYPES:
        raise ValueError(f"key must be one of {', '.join(_KEY_TYPES)}, not {key!r}")
    if hash not in _HASHES:
        raise ValueError(f"hash must be one of {', '.join(_HASHES)}, not {hash!r}")
    unknown = [name for name in key_usage if name not in _KEY_USAGE_ARGS]
    if unknown:
        raise ValueError(f"unknown key usage {unknown[0]!r}; use RFC 5280 names")
    not_before = _utc_seconds(not_before, "not_before")
    not_after = _utc_seconds(not_after, "not_after")
    key_type = _KEY_TYPES[key]
    signer_type = issuer.key_type if issuer is not None else key_type
    if (hash == "sm3") != (signer_type == "sm2"):
        raise ValueError(
            f"hash {hash!r} cannot sign with an {signer_type.upper()} key; "
            "SM2 keys sign with sm3 and only they do"
        )
    if hash == "md5" and signer_type != "rsa":
        raise ValueError("hash 'md5' signs with RSA keys only")

    pair = _new_key(key)
    subject = _name(subject_cn, organization, organizational_units, country)
    if issuer is None:
        issuer_name = subject.public_bytes()
        signer_pkcs8, issuer_spki = pair.pkcs8_der, pair.spki_der
    else:
        # The issuer's name exactly as its certificate has it, so chains link up.
        issuer_name = asn1_x509.Certificate.load(issuer.der)["tbs_certificate"]["subject"].dump()
        signer_pkcs8, issuer_spki = issuer.key_pkcs8_der, issuer.public_key_der
    plan = _Plan(
        spki_der=pair.spki_der,
        subject=subject,
        issuer_name_der=issuer_name,
        issuer_certificate=None if issuer is None else issuer.der,
        serial=x509.random_serial_number() if serial is None else serial,
        not_before=not_before,
        not_after=not_after,
        is_ca=is_ca,
        key_usage=key_usage,
        ski=asn1_keys.PublicKeyInfo.load(pair.spki_der).sha1,
        aki=asn1_keys.PublicKeyInfo.load(issuer_spki).sha1,
        key_identifiers=key_identifiers,
    )
    if key_type != "sm2" and signer_type != "sm2" and hash == "sha256":
        der = _build_with_cryptography(plan, signer_pkcs8)
    else:
        tbs = _tbs(plan, _SIGNATURE_ALGORITHMS[(signer_type, hash)])
        der = _sign_tbs(tbs, signer_type, hash, signer_pkcs8)
    return Minted(der, pair.pkcs8_der, pair.spki_der, key_type, subject_cn)


_OPENSSL_CA_CONFIG = """\
[ca]
default_ca = ca_section
[ca_section]
database = index.txt
new_certs_dir = .
serial = serial.txt
policy = any_name
unique_subject = no
email_in_dn = no
copy_extensions = none
[any_name]
countryName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
[extensions]
"""
_OPENSSL_DIGESTS = ("sha256", "sha1", "md5")


def mint_openssl(
    *,
    subject_cn: str,
    not_before: datetime.datetime,
    not_after: datetime.datetime,
    key: str = "rsa2048",
    digest: str = "sha256",
    issuer: Minted | None = None,
    is_ca: bool = False,
    key_usage: tuple[str, ...] = ("digitalSignature", "nonRepudiation"),
    key_identifiers: bool = True,
    serial: int | None = None,
) -> Minted:
    """Like :func:`mint`, but the certificate is made by the ``openssl`` command line
    (``openssl req`` for the key and request, ``openssl ca`` to sign it), so the corpus
    also holds certificates encoded by OpenSSL itself. RSA keys only (``"rsa2048"``,
    ``"rsa1024"``); ``digest`` is ``"sha256"``, ``"sha1"`` or ``"md5"``, which OpenSSL
    still signs with. The subject is ``C=CN, CN=subject_cn``.
    """
    if key not in ("rsa2048", "rsa1024"):
        raise ValueError(f"mint_openssl makes RSA keys only (rsa2048, rsa1024), not {key!r}")
    if digest not in _OPENSSL_DIGESTS:
        raise ValueError(f"digest must be one of {', '.join(_OPENSSL_DIGESTS)}, not {digest!r}")
    if issuer is not None and issuer.key_type != "rsa":
        raise ValueError("mint_openssl signs with RSA issuers only")
    unknown = [name for name in key_usage if name not in _KEY_USAGE_ARGS]
    if unknown:
        raise ValueError(f"unknown key usage {unknown[0]!r}; use RFC 5280 names")
    start = _utc_seconds(not_before, "not_before")
    end = _utc_seconds(not_after, "not_after")
    extensions = [f"basicConstraints = critical,CA:{'TRUE' if is_ca else 'FALSE'}"]
    if key_usage:
        extensions.append(f"keyUsage = critical,{','.join(key_usage)}")
    if key_identifiers:
        extensions += ["subjectKeyIdentifier = hash", "authorityKeyIdentifier = keyid,issuer"]
    else:
        extensions += ["subjectKeyIdentifier = none", "authorityKeyIdentifier = none"]
    number = x509.random_serial_number() if serial is None else serial

    def run(work: Path) -> Minted:
        (work / "ca.cnf").write_text(_OPENSSL_CA_CONFIG + "\n".join(extensions) + "\n")
        (work / "index.txt").write_text("")
        digits = f"{number:x}"
        # openssl reads the serial file as hex octets: an even number of digits.
        (work / "serial.txt").write_text(digits.rjust(len(digits) + len(digits) % 2, "0") + "\n")
        bits = "1024" if key == "rsa1024" else "2048"
        _openssl(work, "req", "-new", "-newkey", f"rsa:{bits}", "-nodes",
                 "-keyout", "key.pem", "-subj", f"/C=CN/CN={subject_cn}", "-out", "req.pem",
                 "-config", "ca.cnf")  # fmt: skip
        signing = ["-selfsign", "-keyfile", "key.pem"]
        if issuer is not None:
            (work / "issuer.der").write_bytes(issuer.der)
            (work / "issuer.p8").write_bytes(issuer.key_pkcs8_der)
            _openssl(work, "x509", "-inform", "DER", "-in", "issuer.der", "-out", "issuer.pem")
            signing = ["-cert", "issuer.pem", "-keyfile", "issuer.p8", "-keyform", "DER"]
        _openssl(work, "ca", "-batch", "-notext", "-config", "ca.cnf", "-extensions",
                 "extensions", "-md", digest, "-preserveDN", "-utf8",
                 "-startdate", f"{start:%Y%m%d%H%M%S}Z", "-enddate", f"{end:%Y%m%d%H%M%S}Z",
                 *signing, "-in", "req.pem", "-out", "cert.pem")  # fmt: skip
        _openssl(work, "x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der")
        _openssl(work, "pkcs8", "-topk8", "-nocrypt", "-in", "key.pem", "-outform", "DER",
                 "-out", "key.p8")  # fmt: skip
        _openssl(work, "pkey", "-in", "key.pem", "-pubout", "-outform", "DER", "-out", "pub.der")
        return Minted(
            (work / "cert.der").read_bytes(),
            (work / "key.p8").read_bytes(),
            (work / "pub.der").read_bytes(),
            "rsa",
            subject_cn,
        )

    return _in_temp_dir(run)


def to_pem(der: bytes) -> bytes:
    """The certificate as PEM text (``-----BEGIN CERTIFICATE-----``), lines of 64."""
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode("ascii"), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n".encode("ascii")


def to_pkcs7(ders: Sequence[bytes], *, pem: bool = False) -> bytes:
    """A certs-only PKCS#7 SignedData holding ``ders`` as they are (broken ones too), DER
    or, with ``pem``, PEM text (``-----BEGIN PKCS7-----``), as ``openssl crl2pkcs7
    -nocrl`` writes it."""
    certificates = b"".join(ders)
    signed_data = _tlv(
        0x30,
        _tlv(0x02, b"\x01")  # version 1
        + _tlv(0x31, b"")  # no digest algorithms
        + _tlv(0x30, _oid_tlv("1.2.840.113549.1.7.1"))  # no content
        + _tlv(0xA0, certificates)
        + _tlv(0x31, b""),  # no signer infos
    )
    der = _tlv(0x30, _oid_tlv("1.2.840.113549.1.7.2") + _tlv(0xA0, signed_data))
    if not pem:
        return der
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode("ascii"), 64))
    return f"-----BEGIN PKCS7-----\n{body}\n-----END PKCS7-----\n".encode("ascii")


def to_pkcs12(
    certificate: Minted,
    *,
    password: str = "",
    with_key: bool = True,
    extra: Sequence[bytes] = (),
    name: str | None = None,
    legacy: bool = False,
    key_pbe: str | None = None,
    cert_pbe: str | None = None,
    mac: str | None = None,
) -> bytes:
    """A PKCS#12 file made by ``openssl pkcs12 -export``: ``certificate`` (with its private
    key unless ``with_key`` is false) and the ``extra`` certificates (DER).

    ``password`` goes to openssl through its environment, never its arguments. ``name``
    is the friendlyName; ``legacy`` asks for OpenSSL's ``-legacy`` encryption (40-bit
    RC2 for the certificates, 3DES for the key; needs the legacy provider); ``key_pbe``,
    ``cert_pbe`` and ``mac`` are openssl's ``-keypbe``, ``-certpbe`` and ``-macalg``
    (``"NONE"`` for no encryption; ``mac="NONE"`` for no MAC). Raises RuntimeError when
    openssl cannot make it (the message is openssl's).
    """

    def run(work: Path) -> bytes:
        (work / "cert.pem").write_bytes(to_pem(certificate.der))
        args = ["pkcs12", "-export", "-in", "cert.pem", "-out", "out.p12"]
        args += ["-passout", "env:UKEYTOOL_TEST_PKCS12_PASSWORD"]
        if with_key:
            key = base64.b64encode(certificate.key_pkcs8_der).decode("ascii")
            body = "\n".join(textwrap.wrap(key, 64))
            (work / "key.pem").write_text(
                f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"
            )
            args += ["-inkey", "key.pem"]
        else:
            args.append("-nokeys")
        if extra:
            (work / "extra.pem").write_bytes(b"".join(to_pem(der) for der in extra))
            args += ["-certfile", "extra.pem"]
        if name is not None:
            args += ["-name", name]
        if legacy:
            args.append("-legacy")
        for option, value in (("-keypbe", key_pbe), ("-certpbe", cert_pbe)):
            if value is not None:
                args += [option, value]
        if mac == "NONE":
            args.append("-nomac")
        elif mac is not None:
            args += ["-macalg", mac]
        _openssl(work, *args, env={"UKEYTOOL_TEST_PKCS12_PASSWORD": password})
        return (work / "out.p12").read_bytes()

    return _in_temp_dir(run)


def with_serial_contents(der: bytes, contents: bytes) -> bytes:
    """The certificate with its serial INTEGER's content octets replaced, as given.

    Anything goes: ``b"\\xff"`` is -1, ``b"\\x00\\x01"`` is a non-minimal 1.
    """
    return _edit_tbs_field(der, "serial", _tlv(0x02, contents))


def with_negative_serial(der: bytes, serial: int = -1) -> bytes:
    """The certificate with a negative (or zero) serial number, minimally encoded.

    RFC 5280 forbids it; cryptography warns and will refuse it; tokens hold them.
    """
    if serial > 0:
        raise ValueError("the serial must be negative or zero")
    length = ((-serial - 1).bit_length() + 8) // 8 if serial < 0 else 1
    return with_serial_contents(der, serial.to_bytes(length, "big", signed=True))


def with_nonminimal_serial(der: bytes) -> bytes:
    """The certificate with one superfluous leading zero octet in its serial INTEGER.

    The number is unchanged (for a positive serial); DER forbids the extra octet.
    """
    _, serial = _tbs_field(der, "serial")
    return with_serial_contents(der, b"\x00" + _contents(serial))


def with_subject_value(
    der: bytes, raw: bytes, *, tag: int = PRINTABLE_STRING, oid: str = "2.5.4.3"
) -> bytes:
    """The certificate with the subject's last ``oid`` attribute value replaced.

    The new value is the universal ``tag`` (PrintableString by default) around ``raw``
    exactly as given, so it can hold bytes the string type does not allow.
    """
    oid_tlv = _oid_tlv(oid)
    _, subject = _tbs_field(der, "subject")
    rdns = _children(subject)
    for i in reversed(range(len(rdns))):
        atvs = _children(rdns[i])
        for j in reversed(range(len(atvs))):
            parts = _children(atvs[j])
            if parts[0] == oid_tlv:
                atvs[j] = _tlv(0x30, parts[0] + _tlv(tag, raw))
                rdns[i] = _tlv(0x31, b"".join(atvs))
                return _edit_tbs_field(der, "subject", _tlv(0x30, b"".join(rdns)))
    raise ValueError(f"the subject has no {oid} attribute")


def with_gbk_subject_cn(der: bytes, text: str) -> bytes:
    """The certificate with ``text``, encoded as GBK, as its subject CN in a PrintableString.

    PrintableString allows only a subset of ASCII; Chinese CAs' older software wrote
    GBK into it anyway.
    """
    return with_subject_value(der, text.encode("gbk"), tag=PRINTABLE_STRING)


def with_extension(der: bytes, oid: str, value: bytes, *, critical: bool = False) -> bytes:
    """The certificate with one more extension: ``oid`` with ``value`` (its extnValue
    octets, exactly as given) at the end of the extensions.

    For the extensions Chinese CAs add, e.g. an identity number
    (``with_extension(der, "1.2.156.10260.4.1.1", identity_code("1101..."))``).
    """
    extension = _tlv(
        0x30, _oid_tlv(oid) + (b"\x01\x01\xff" if critical else b"") + _tlv(0x04, value)
    )
    certificate = _children(der)
    tbs = _children(certificate[0])
    if tbs[-1][0] == 0xA3:
        extensions = _children(tbs[-1])[0]
        tbs[-1] = _tlv(0xA3, _tlv(0x30, _contents(extensions) + extension))
    else:
        tbs.append(_tlv(0xA3, _tlv(0x30, extension)))
    certificate[0] = _tlv(0x30, b"".join(tbs))
    return _tlv(0x30, b"".join(certificate))


def identity_code(
    number: str, *, choice: int = 0, implicit: bool = False, tag: int = PRINTABLE_STRING
) -> bytes:
    """An IdentifyCode value (GB/T 20518, GM/T 0015) for :func:`with_extension`.

    ``choice`` 0 is a resident identity card number, 1 a military officer card number,
    2 a passport number; the standard leaves the tagging open, so both EXPLICIT (the
    default, ``[n] { PrintableString }``) and ``implicit`` are made. The number is
    encoded as UTF-8 inside the string type ``tag``.
    """
    raw = number.encode("utf-8")
    if implicit:
        return _tlv(0x80 | choice, raw)
    return _tlv(0xA0 | choice, _tlv(tag, raw))


def with_long_form_length(der: bytes) -> bytes:
    """The certificate with its outer SEQUENCE length in one octet more than needed (BER)."""
    contents = _contents(der)
    size = len(contents).to_bytes((len(contents).bit_length() + 7) // 8 + 1, "big")
    return b"\x30" + bytes([0x80 | len(size)]) + size + contents


def with_signature_algorithm(der: bytes, oid: str, *, null_parameters: bool = False) -> bytes:
    """The certificate with ``oid`` as its signature algorithm, in the TBSCertificate and
    outside it, with NULL parameters or none.

    For SM3withSM2 both forms are in use; for unknown algorithms this makes test input.
    """
    algorithm = _tlv(0x30, _oid_tlv(oid) + (b"\x05\x00" if null_parameters else b""))
    der = _edit_tbs_field(der, "signature", algorithm)
    parts = _children(der)
    parts[1] = algorithm
    return _tlv(0x30, b"".join(parts))


def with_key_algorithm(der: bytes, oid: str, *, parameters: bytes | None = None) -> bytes:
    """The certificate with its public key's AlgorithmIdentifier replaced: ``oid`` and
    ``parameters`` (a DER TLV, or none). The key bits stay as they are.

    Some Chinese CAs write SM2 keys with the SM2 OID itself as the key algorithm instead
    of id-ecPublicKey with the SM2 curve: ``with_key_algorithm(der, "1.2.156.10197.1.301")``.
    """
    _, spki = _tbs_field(der, "subject_public_key_info")
    algorithm = _tlv(0x30, _oid_tlv(oid) + (parameters or b""))
    return _edit_tbs_field(der, "subject_public_key_info", _edit_children(spki, 0, algorithm))


def _utc_seconds(moment: datetime.datetime, what: str) -> datetime.datetime:
    # Certificates carry whole seconds; a naive datetime's zone would be a guess.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime, not {moment.isoformat()}")
    return moment.astimezone(datetime.timezone.utc).replace(microsecond=0)


def _name(
    cn: str, organization: str | None, units: tuple[str, ...], country: str | None
) -> x509.Name:
    attributes = []
    if country is not None:
        attributes.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    if organization is not None:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    attributes += [x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou) for ou in units]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name([x509.RelativeDistinguishedName([a]) for a in attributes])


def _new_key(key: str) -> _KeyPair:
    if key == "sm2":
        return _new_sm2_key()
    private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if key == "ec-p256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        private = rsa.generate_private_key(65537, 1024 if key == "rsa1024" else 2048)
    pkcs8 = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    spki = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return _KeyPair(pkcs8, spki)


def _new_sm2_key() -> _KeyPair:
    def run(work: Path) -> tuple[bytes, bytes]:
        _openssl(work, "genpkey", "-algorithm", "SM2", "-out", "key.pem")
        # genpkey's DER output is SEC1 for SM2; PKCS#8 is what tokens import.
        _openssl(work, "pkcs8", "-topk8", "-nocrypt", "-in", "key.pem", "-outform", "DER",
                 "-out", "key.p8")  # fmt: skip
        _openssl(work, "pkey", "-in", "key.pem", "-pubout", "-outform", "DER", "-out", "pub.der")
        return (work / "key.p8").read_bytes(), (work / "pub.der").read_bytes()

    pkcs8, spki = _in_temp_dir(run)
    return _KeyPair(pkcs8, spki)


def _build_with_cryptography(plan: _Plan, signer_pkcs8: bytes) -> bytes:
    public_key = serialization.load_der_public_key(plan.spki_der)
    signer = serialization.load_der_private_key(signer_pkcs8, password=None)
    if not isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey) or not isinstance(
        signer, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    ):
        raise TypeError("CertificateBuilder is only used for RSA and EC keys here")
    issuer_name = plan.subject
    if plan.issuer_certificate is not None:
        issuer_name = x509.load_der_x509_certificate(plan.issuer_certificate).subject
    builder = (
        x509.CertificateBuilder()
        .subject_name(plan.subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(plan.serial)
        .not_valid_before(plan.not_before)
        .not_valid_after(plan.not_after)
        .add_extension(x509.BasicConstraints(ca=plan.is_ca, path_length=None), critical=True)
    )
    if plan.key_identifiers:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier(plan.ski), critical=False
        ).add_extension(
            x509.AuthorityKeyIdentifier(
                plan.aki, authority_cert_issuer=None, authority_cert_serial_number=None
            ),
            critical=False,
        )
    if plan.key_usage:
        flags = {arg: name in plan.key_usage for name, arg in _KEY_USAGE_ARGS.items()}
        builder = builder.add_extension(x509.KeyUsage(**flags), critical=True)
    return builder.sign(signer, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def _tbs(plan: _Plan, algorithm: tuple[str, bool]) -> asn1_x509.TbsCertificate:
    extensions: list[dict[str, object]] = [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": plan.is_ca}},
    ]
    if plan.key_identifiers:
        extensions += [
            {"extn_id": "key_identifier", "critical": False, "extn_value": plan.ski},
            {
                "extn_id": "authority_key_identifier",
                "critical": False,
                "extn_value": {"key_identifier": plan.aki},
            },
        ]
    if plan.key_usage:
        extensions.append(
            {
                "extn_id": "key_usage",
                "critical": True,
                "extn_value": {_ASN1_KEY_USAGE[name] for name in plan.key_usage},
            }
        )
    return asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": plan.serial,
            "signature": _algorithm(algorithm),
            "issuer": asn1_x509.Name.load(plan.issuer_name_der),
            "validity": {"not_before": _time(plan.not_before), "not_after": _time(plan.not_after)},
            "subject": asn1_x509.Name.load(plan.subject.public_bytes()),
            "subject_public_key_info": asn1_keys.PublicKeyInfo.load(plan.spki_der),
            "extensions": extensions,
        }
    )


def _algorithm(algorithm: tuple[str, bool]) -> asn1_algos.SignedDigestAlgorithm:
    oid, null_parameters = algorithm
    value: dict[str, object] = {"algorithm": oid}
    if null_parameters:
        value["parameters"] = None
    return asn1_algos.SignedDigestAlgorithm(value)


def _time(moment: datetime.datetime) -> asn1_x509.Time:
    # RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
    if 1950 <= moment.year < 2050:
        return asn1_x509.Time(name="utc_time", value=moment)
    return asn1_x509.Time(name="general_time", value=moment)


def _sign_tbs(
    tbs: asn1_x509.TbsCertificate, signer_type: str, hash: str, signer_pkcs8: bytes
) -> bytes:
    tbs_der = tbs.dump()
    if signer_type == "sm2":
        signature = _sm2_sign(tbs_der, signer_pkcs8)
    else:
        digest: hashes.HashAlgorithm = hashes.SHA256()
        if hash == "sha1":
            digest = hashes.SHA1()
        elif hash == "md5":
            digest = hashes.MD5()
        signer = serialization.load_der_private_key(signer_pkcs8, password=None)
        if isinstance(signer, rsa.RSAPrivateKey):
            signature = signer.sign(tbs_der, padding.PKCS1v15(), digest)
        elif isinstance(signer, ec.EllipticCurvePrivateKey):
            signature = signer.sign(tbs_der, ec.ECDSA(digest))
        else:
            raise TypeError(f"cannot sign with a {type(signer).__name__}")
    certificate = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": tbs["signature"],
            "signature_value": signature,
        }
    )
    return bytes(certificate.dump())


def _sm2_sign(message: bytes, key_pkcs8: bytes) -> bytes:
    def run(work: Path) -> bytes:
        (work / "key.p8").write_bytes(key_pkcs8)
        (work / "tbs.der").write_bytes(message)
        _openssl(
            work, "pkeyutl", "-sign", "-rawin", "-digest", "sm3",
            "-inkey", "key.p8", "-keyform", "DER",
            "-pkeyopt", f"distid:{SM2_DISTINGUISHING_ID}",
            "-in", "tbs.der", "-out", "sig.der",
        )  # fmt: skip
        return (work / "sig.der").read_bytes()

    return _in_temp_dir(run)


def _in_temp_dir(run: Callable[[Path], _T]) -> _T:
    # The directory holds private keys for a moment; it goes whatever happens.
    with tempfile.TemporaryDirectory(prefix="ukeytool-mint-") as work:
        return run(Path(work))


def _openssl(work: Path, *args: str, env: dict[str, str] | None = None) -> None:
    command = shutil.which("openssl")
    if command is None:
        raise RuntimeError("minting SM2 certificates needs the openssl command, which is not found")
    done = subprocess.run(
        [command, *args],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
        env=None if env is None else {**os.environ, **env},
    )
    if done.returncode != 0:
        message = done.stderr.strip() or done.stdout.strip() or "no output"
        raise RuntimeError(f"openssl {' '.join(args)} failed (exit {done.returncode}): {message}")


# A tiny DER toolkit for the with_* editors: they must write what DER encoders refuse to.


def _header(data: bytes) -> tuple[int, int]:
    """(header length, content length) of the TLV at the start of ``data``."""
    first = data[1]
    if first < 0x80:
        return 2, first
    count = first & 0x7F
    return 2 + count, int.from_bytes(data[2 : 2 + count], "big")


def _contents(tlv: bytes) -> bytes:
    start, length = _header(tlv)
    return tlv[start : start + length]


def _children(tlv: bytes) -> list[bytes]:
    contents = _contents(tlv)
    out = []
    while contents:
        start, length = _header(contents)
        out.append(contents[: start + length])
        contents = contents[start + length :]
    return out


def _tlv(tag: int, contents: bytes) -> bytes:
    size = len(contents)
    if size < 0x80:
        return bytes([tag, size]) + contents
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(octets)]) + octets + contents


def _oid_tlv(oid: str) -> bytes:
    arcs = [int(arc) for arc in oid.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        rest = arc >> 7
        while rest:
            chunk.append(0x80 | (rest & 0x7F))
            rest >>= 7
        body += bytes(reversed(chunk))
    return _tlv(0x06, bytes(body))


def _edit_children(tlv: bytes, index: int, replacement: bytes) -> bytes:
    parts = _children(tlv)
    parts[index] = replacement
    return _tlv(tlv[0], b"".join(parts))


def _tbs_field(der: bytes, field: str) -> tuple[int, bytes]:
    """The index and TLV of a TBSCertificate field (a v1 certificate has no [0] version)."""
    parts = _children(_children(der)[0])
    index = _TBS_FIELDS.index(field) + (1 if parts[0][0] == 0xA0 else 0)
    return index, parts[index]


def _edit_tbs_field(der: bytes, field: str, replacement: bytes) -> bytes:
    index, _ = _tbs_field(der, field)
    parts = _children(der)
    parts[0] = _edit_children(parts[0], index, replacement)
    return _tlv(0x30, b"".join(parts))
