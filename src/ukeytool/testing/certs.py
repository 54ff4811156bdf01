"""Certificates for tests and the demo, minted at fixed dates.

:func:`mint` makes a key pair and a certificate for it, self-signed or signed by another
:class:`Minted`; :func:`mint_ca` makes a certificate authority the usual way (long
valid around a moment, ``keyCertSign`` and ``cRLSign``, SM3 for SM2);
:func:`ukeytool.testing.bulk.mint_many` a CA and thousands of holders at once. The dates
are always the caller's: nothing here reads the clock, so a test that judges validity at a fixed
moment gets the same answer every day.

RSA and EC certificates signed with SHA-256 come from cryptography's CertificateBuilder.
cryptography can neither hold an SM2 key nor sign a certificate with SHA-1 or MD5 any
more, so for those the TBSCertificate is built with asn1crypto and signed on its own:
SM3withSM2 by the ``openssl`` command line (OpenSSL 3 signs SM2 with SM3 and the GM/T 0009
default distinguishing ID), RSA and ECDSA with SHA-1 (RSA with MD5) by cryptography's
plain ``sign``. :func:`mint_openssl` has the ``openssl`` command line make the whole
certificate (``openssl ca``), for certificates encoded by another implementation.

The files bank software keeps (:func:`to_pem`, :func:`to_pkcs7`, :func:`to_pkcs12`) are
made in :mod:`ukeytool.testing.bundles`, and the odd DER encodings (the ``with_*``
functions) in :mod:`ukeytool.testing.der`; both are importable from here too.
"""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path
from typing import Any

from asn1crypto import algos as asn1_algos
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from ._openssl import in_temp_dir as _in_temp_dir
from ._openssl import openssl as _openssl
from .bundles import to_pem, to_pkcs7, to_pkcs12
from .der import (
    BMP_STRING,
    PRINTABLE_STRING,
    UTF8_STRING,
    identity_code,
    with_extension,
    with_gbk_subject_cn,
    with_key_algorithm,
    with_long_form_length,
    with_negative_serial,
    with_nonminimal_serial,
    with_serial_contents,
    with_signature_algorithm,
    with_subject_value,
)

__all__ = [
    "BMP_STRING",
    "PRINTABLE_STRING",
    "SM2_DISTINGUISHING_ID",
    "UTF8_STRING",
    "Minted",
    "identity_code",
    "mint",
    "mint_ca",
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


_CA_YEARS = datetime.timedelta(days=3000)


def mint_ca(
    subject_cn: str,
    *,
    at: datetime.datetime,
    key: str = "rsa2048",
    issuer: Minted | None = None,
    before: datetime.timedelta = _CA_YEARS,
    after: datetime.timedelta = _CA_YEARS,
    **options: Any,
) -> Minted:
    """A certificate authority: valid from ``before`` before ``at`` to ``after`` after it
    (about eight years each way by default), a CA by BasicConstraints, with KeyUsage
    ``keyCertSign`` and ``cRLSign``; self-signed unless ``issuer`` is given.

    The hash is SM3 when the signing key (``issuer``'s, or for a self-signed CA the new
    one) is SM2, else SHA-256. ``options`` go to :func:`mint` as they are (``hash``,
    ``organization``, ``key_identifiers``...).
    """
    signer = issuer.key_type if issuer is not None else _KEY_TYPES.get(key)
    fields: dict[str, Any] = {
        "hash": "sm3" if signer == "sm2" else "sha256",
        "key_usage": ("keyCertSign", "cRLSign"),
        **options,
    }
    return mint(
        subject_cn=subject_cn,
        not_before=at - before,
        not_after=at + after,
        key=key,
        issuer=issuer,
        is_ca=True,
        **fields,
    )


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
