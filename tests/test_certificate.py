"""read_certificate: strict and lenient parsing, SM2, odd encodings, unreadable values.

Every certificate is minted here at fixed dates around FIXED_NOW (no files, no clock).
The odd encodings are made by editing the minted DER with the ``with_*`` helpers of
:mod:`ukeytool.testing.certs`; those leave the signature stale, which the reader never
checks. ``filterwarnings=error`` is on, so a warning escaping the reader fails the test.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime
import hashlib
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ukeytool.certificates.x509 import read_certificate
from ukeytool.i18n.message import Message
from ukeytool.model import Certificate, Problem
from ukeytool.testing.certs import (
    BMP_STRING,
    SM2_DISTINGUISHING_ID,
    UTF8_STRING,
    Minted,
    mint,
    mint_ca,
    to_pem,
    with_gbk_subject_cn,
    with_key_algorithm,
    with_long_form_length,
    with_negative_serial,
    with_nonminimal_serial,
    with_signature_algorithm,
    with_subject_value,
)

UTC = datetime.timezone.utc
FIXED_NOW = datetime.datetime(2030, 1, 1, tzinfo=UTC)  # as conftest's, the moment tests judge at
DAY = datetime.timedelta(days=1)
NOT_BEFORE = FIXED_NOW - 100 * DAY
NOT_AFTER = FIXED_NOW + 365 * DAY
END_OF_TIME = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
SM3_WITH_SM2 = "1.2.156.10197.1.501"
SM2_CURVE = "1.2.156.10197.1.301"
PEM_PROBLEM = ("CKA_VALUE", "the object holds PEM text, not DER")


def said(problem: Problem) -> tuple[str, str]:
    """Where and what, in English, as a person reads them."""
    return str(problem.where), str(problem.message)


@dataclasses.dataclass(frozen=True)
class Chains:
    rsa_ca: Minted
    rsa_leaf: Minted
    rsa1024: Minted
    ec: Minted
    sm2_ca: Minted
    sm2_sign: Minted
    sm2_encrypt: Minted
    forever: Minted


@pytest.fixture(scope="module")
def chains() -> Chains:
    rsa_ca = mint_ca(
        "Test RSA CA", at=FIXED_NOW, organization="China Financial Certification Authority"
    )
    sm2_ca = mint_ca("Test SM2 CA", at=FIXED_NOW, key="sm2")
    sm2_person: dict[str, Any] = {
        "subject_cn": "051@张三@Z110101199001011234@1",
        "not_before": NOT_BEFORE,
        "not_after": NOT_AFTER,
        "key": "sm2",
        "hash": "sm3",
        "issuer": sm2_ca,
        "organization": "CFCA SM2 OCA1",
        "organizational_units": ("Individual-1", "Local RA"),
    }
    return Chains(
        rsa_ca=rsa_ca,
        rsa_leaf=mint(
            subject_cn="051@李四@Z110101199001015678@1",
            not_before=NOT_BEFORE,
            not_after=NOT_AFTER,
            issuer=rsa_ca,
            organization="CFCA OCA1",
            organizational_units=("Individual-1", "Local RA"),
            serial=0x0123456789ABCDEF,
        ),
        rsa1024=mint(
            subject_cn="old key",
            not_before=NOT_BEFORE,
            not_after=NOT_AFTER,
            key="rsa1024",
            hash="sha1",
            issuer=rsa_ca,
        ),
        ec=mint(subject_cn="ec key", not_before=NOT_BEFORE, not_after=NOT_AFTER, key="ec-p256"),
        sm2_ca=sm2_ca,
        sm2_sign=mint(**sm2_person, key_usage=("digitalSignature", "nonRepudiation")),
        sm2_encrypt=mint(**sm2_person, key_usage=("keyEncipherment", "dataEncipherment")),
        forever=mint(subject_cn="forever", not_before=NOT_BEFORE, not_after=END_OF_TIME),
    )


def _assert_clean(certificate: Certificate, der: bytes) -> None:
    assert certificate.error is None
    assert certificate.encoding == "der"
    assert certificate.problems == ()
    assert certificate.der == der
    assert certificate.sha256 == hashlib.sha256(der).hexdigest()
    assert certificate.sha1 == hashlib.sha1(der).hexdigest()


def _assert_utc(moment: datetime.datetime | None, expected: datetime.datetime) -> None:
    assert moment == expected
    assert moment is not None
    assert moment.utcoffset() == datetime.timedelta(0)


# --- strict path: the certificates cryptography takes -------------------------------------


def test_rsa2048_sha256_leaf(chains: Chains) -> None:
    cert = read_certificate(chains.rsa_leaf.der)
    _assert_clean(cert, chains.rsa_leaf.der)
    assert (
        cert.subject
        == "CN=051@李四@Z110101199001015678@1,OU=Local RA,OU=Individual-1,O=CFCA OCA1,C=CN"
    )
    assert cert.subject_cn == "051@李四@Z110101199001015678@1"
    assert cert.issuer == "CN=Test RSA CA,O=China Financial Certification Authority,C=CN"
    assert cert.issuer_cn == "Test RSA CA"
    assert cert.serial == "123456789abcdef"
    _assert_utc(cert.not_before, NOT_BEFORE)
    _assert_utc(cert.not_after, NOT_AFTER)
    assert (cert.key_algorithm, cert.key_size, cert.key_curve) == ("RSA", 2048, None)
    assert cert.signature_algorithm == "sha256WithRSAEncryption"
    assert cert.signature_algorithm_oid == "1.2.840.113549.1.1.11"
    assert cert.key_usage == ("digitalSignature", "nonRepudiation")
    assert cert.extended_key_usage is None
    assert cert.is_ca is False
    assert cert.self_signed is False


def test_rsa_ca_is_self_signed(chains: Chains) -> None:
    cert = read_certificate(chains.rsa_ca.der)
    _assert_clean(cert, chains.rsa_ca.der)
    assert cert.is_ca is True
    assert cert.self_signed is True
    assert cert.subject == cert.issuer
    assert cert.key_usage == ("keyCertSign", "cRLSign")


def test_rsa1024_sha1(chains: Chains) -> None:
    cert = read_certificate(chains.rsa1024.der)
    _assert_clean(cert, chains.rsa1024.der)
    assert (cert.key_algorithm, cert.key_size) == ("RSA", 1024)
    assert cert.signature_algorithm == "sha1WithRSAEncryption"
    assert cert.signature_algorithm_oid == "1.2.840.113549.1.1.5"
    assert cert.subject == "CN=old key,C=CN"
    assert cert.issuer_cn == "Test RSA CA"


def test_ec_p256(chains: Chains) -> None:
    cert = read_certificate(chains.ec.der)
    _assert_clean(cert, chains.ec.der)
    assert (cert.key_algorithm, cert.key_size, cert.key_curve) == ("EC", 256, "secp256r1")
    assert cert.signature_algorithm == "ecdsa-with-SHA256"
    assert cert.signature_algorithm_oid == "1.2.840.10045.4.3.2"
    assert cert.self_signed is True
    assert cert.is_ca is False


def test_sm2_signing_certificate(chains: Chains) -> None:
    cert = read_certificate(chains.sm2_sign.der)
    _assert_clean(cert, chains.sm2_sign.der)
    assert (cert.key_algorithm, cert.key_size, cert.key_curve) == ("SM2", 256, "sm2p256v1")
    assert cert.signature_algorithm == "SM3withSM2"
    assert cert.signature_algorithm_oid == SM3_WITH_SM2
    assert cert.key_usage == ("digitalSignature", "nonRepudiation")
    assert cert.subject_cn == "051@张三@Z110101199001011234@1"
    assert cert.issuer == "CN=Test SM2 CA,C=CN"
    assert cert.issuer_cn == "Test SM2 CA"
    assert cert.is_ca is False
    assert cert.self_signed is False
    _assert_utc(cert.not_before, NOT_BEFORE)
    _assert_utc(cert.not_after, NOT_AFTER)


def test_sm2_encryption_certificate_pairs_with_the_signing_one(chains: Chains) -> None:
    sign = read_certificate(chains.sm2_sign.der)
    encrypt = read_certificate(chains.sm2_encrypt.der)
    _assert_clean(encrypt, chains.sm2_encrypt.der)
    assert (encrypt.key_algorithm, encrypt.key_size, encrypt.key_curve) == (
        "SM2",
        256,
        "sm2p256v1",
    )
    assert encrypt.signature_algorithm == "SM3withSM2"
    assert encrypt.key_usage == ("keyEncipherment", "dataEncipherment")
    assert encrypt.subject == sign.subject
    assert encrypt.serial != sign.serial
    assert encrypt.sha256 != sign.sha256


def test_sm2_ca(chains: Chains) -> None:
    cert = read_certificate(chains.sm2_ca.der)
    _assert_clean(cert, chains.sm2_ca.der)
    assert cert.key_algorithm == "SM2"
    assert cert.is_ca is True
    assert cert.self_signed is True
    assert cert.key_usage == ("keyCertSign", "cRLSign")


def test_sm2_key_signed_by_rsa_issuer(chains: Chains) -> None:
    minted = mint(
        subject_cn="migrating",
        not_before=NOT_BEFORE,
        not_after=NOT_AFTER,
        key="sm2",
        issuer=chains.rsa_ca,
    )
    cert = read_certificate(minted.der)
    _assert_clean(cert, minted.der)
    assert cert.key_algorithm == "SM2"
    assert cert.signature_algorithm == "sha256WithRSAEncryption"


@pytest.mark.parametrize("parameters", [None, b"\x06\x08\x2a\x81\x1c\xcf\x55\x01\x82\x2d"])
def test_sm2_oid_as_key_algorithm(chains: Chains, parameters: bytes | None) -> None:
    der = with_key_algorithm(chains.sm2_sign.der, SM2_CURVE, parameters=parameters)
    cert = read_certificate(der)
    assert cert.error is None
    assert (cert.key_algorithm, cert.key_size, cert.key_curve) == ("SM2", 256, "sm2p256v1")
    assert cert.subject_cn == "051@张三@Z110101199001011234@1"


@pytest.mark.parametrize("null_parameters", [False, True])
def test_sm3_with_sm2_with_and_without_null_parameters(
    chains: Chains, null_parameters: bool
) -> None:
    der = with_signature_algorithm(
        chains.sm2_sign.der, SM3_WITH_SM2, null_parameters=null_parameters
    )
    cert = read_certificate(der)
    assert cert.error is None
    assert cert.signature_algorithm == "SM3withSM2"
    assert cert.signature_algorithm_oid == SM3_WITH_SM2


@pytest.mark.parametrize(
    ("oid", "name"),
    [
        ("1.2.156.10197.1.504", "SM3withRSA"),
        ("1.2.840.113549.1.1.4", "md5WithRSAEncryption"),
        ("1.2.840.10045.4.3.3", "ecdsa-with-SHA384"),
        ("1.2.3.4.5", "1.2.3.4.5"),
    ],
)
def test_signature_algorithm_names(chains: Chains, oid: str, name: str) -> None:
    cert = read_certificate(
        with_signature_algorithm(chains.rsa_leaf.der, oid, null_parameters=True)
    )
    assert cert.error is None
    assert (cert.signature_algorithm, cert.signature_algorithm_oid) == (name, oid)
    assert cert.key_algorithm == "RSA"


@pytest.mark.parametrize(
    ("curve", "expected"),
    [("SM2", ("SM2", 256, "sm2p256v1")), ("prime256v1", ("EC", 256, "secp256r1"))],
)
def test_explicit_curve_parameters(
    chains: Chains, curve: str, expected: tuple[str, int, str]
) -> None:
    # Older certificates spell the curve out; the reader recognises it by its prime.
    openssl = shutil.which("openssl")
    assert openssl is not None
    explicit = subprocess.run(
        [openssl, "ecparam", "-name", curve, "-param_enc", "explicit", "-outform", "DER"],
        capture_output=True,
        check=True,
    ).stdout
    der = with_key_algorithm(chains.ec.der, "1.2.840.10045.2.1", parameters=explicit)
    cert = read_certificate(der)
    assert (cert.key_algorithm, cert.key_size, cert.key_curve) == expected
    assert cert.problems == ()


def test_unknown_key_algorithm_is_its_oid(chains: Chains) -> None:
    cert = read_certificate(with_key_algorithm(chains.ec.der, "1.2.3.4"))
    assert (cert.key_algorithm, cert.key_size, cert.key_curve) == ("1.2.3.4", None, None)
    assert cert.subject_cn == "ec key"


def test_extended_key_usage_and_rare_key_usage_bits() -> None:
    # mint() writes no EKU, so this one is built with cryptography directly.
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "eku")])
    usage = dict.fromkeys(
        ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
         "key_cert_sign", "crl_sign"),
        False,
    )  # fmt: skip
    der = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(
            x509.KeyUsage(**usage, key_agreement=True, encipher_only=False, decipher_only=True),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [
                    ExtendedKeyUsageOID.SERVER_AUTH,
                    ExtendedKeyUsageOID.CLIENT_AUTH,
                    x509.ObjectIdentifier("1.2.3.4"),
                ]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA384())
        .public_bytes(serialization.Encoding.DER)
    )
    strict = read_certificate(der)
    _assert_clean(strict, der)
    assert strict.key_usage == ("keyAgreement", "decipherOnly")
    assert strict.extended_key_usage == ("serverAuth", "clientAuth", "1.2.3.4")
    assert strict.is_ca is None
    assert (strict.key_algorithm, strict.key_size, strict.key_curve) == ("EC", 384, "secp384r1")
    assert strict.signature_algorithm == "ecdsa-with-SHA384"
    assert strict.serial == "1"
    _same_fields(strict, read_certificate(with_long_form_length(der)))


def test_generalized_time_end_of_time(chains: Chains) -> None:
    assert b"\x18\x0f99991231235959Z" in chains.forever.der
    for der in (chains.forever.der, with_long_form_length(chains.forever.der)):
        cert = read_certificate(der)
        assert cert.error is None
        _assert_utc(cert.not_after, END_OF_TIME)
        assert cert.not_after is not None
        assert cert.not_after.isoformat() == "9999-12-31T23:59:59+00:00"


def test_utc_time_and_generalized_time_around_2050() -> None:
    last_utc_time = datetime.datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC)
    first_generalized = datetime.datetime(2050, 1, 1, tzinfo=UTC)
    minted = mint(
        subject_cn="2050", not_before=last_utc_time, not_after=first_generalized, key="ec-p256"
    )
    assert b"\x17\x0d491231235959Z" in minted.der
    assert b"\x18\x0f20500101000000Z" in minted.der
    for der in (minted.der, with_long_form_length(minted.der)):
        cert = read_certificate(der)
        _assert_utc(cert.not_before, last_utc_time)
        _assert_utc(cert.not_after, first_generalized)


def test_dates_are_the_minted_ones_not_the_clock() -> None:
    moment = datetime.datetime(2031, 7, 8, 9, 10, 11, 999_999, tzinfo=UTC)
    minted = mint(subject_cn="t", not_before=moment, not_after=moment + DAY, key="ec-p256")
    cert = read_certificate(minted.der)
    _assert_utc(cert.not_before, moment.replace(microsecond=0))
    _assert_utc(cert.not_after, (moment + DAY).replace(microsecond=0))


# --- PEM, trailing bytes --------------------------------------------------------------------


def test_pem_text(chains: Chains) -> None:
    der = chains.sm2_sign.der
    cert = read_certificate(to_pem(der))
    assert cert.encoding == "pem"
    assert [said(p) for p in cert.problems] == [PEM_PROBLEM]
    assert [p.message.code for p in cert.problems if isinstance(p.message, Message)] == [
        "certificate.pem_text"
    ]
    assert cert.error is None
    assert cert.der == der
    assert cert.sha256 == hashlib.sha256(der).hexdigest()
    assert cert.sha1 == hashlib.sha1(der).hexdigest()
    assert cert.subject == read_certificate(der).subject
    assert cert.key_algorithm == "SM2"


def test_pem_with_crlf_and_text_around_and_two_certificates(chains: Chains) -> None:
    value = (
        b"subject=CN = whatever\r\n"
        + to_pem(chains.rsa_leaf.der).replace(b"\n", b"\r\n")
        + to_pem(chains.rsa_ca.der)
    )
    cert = read_certificate(value)
    assert cert.der == chains.rsa_leaf.der
    assert cert.encoding == "pem"
    assert said(cert.problems[0]) == PEM_PROBLEM
    assert str(cert.problems[1].message) == "the PEM text holds 2 certificates; read the first"
    assert cert.subject_cn == "051@李四@Z110101199001015678@1"


def test_pem_text_needing_the_lenient_parser(chains: Chains) -> None:
    der = with_negative_serial(chains.ec.der)
    cert = read_certificate(to_pem(der))
    assert cert.encoding == "lenient"
    assert cert.der == der
    assert said(cert.problems[0]) == PEM_PROBLEM
    assert "serial number is negative" in str(cert.problems[1].message)
    assert cert.serial == "-1"


def test_trailing_bytes_are_ignored_and_said(chains: Chains) -> None:
    der = chains.ec.der
    cert = read_certificate(der + b"\x00" * 4)
    assert cert.encoding == "der"
    assert cert.der == der
    assert cert.sha256 == hashlib.sha256(der).hexdigest()
    assert [said(p) for p in cert.problems] == [
        ("CKA_VALUE", "4 bytes after the certificate ignored")
    ]
    assert cert.subject_cn == "ec key"


# --- lenient path: what cryptography refuses or warns about ------------------------------


def _code(message: Message | str | None) -> str | None:
    return message.code if isinstance(message, Message) else None


def _refused(cert: Certificate) -> Problem:
    assert cert.encoding == "lenient"
    assert cert.error is None
    [problem] = [p for p in cert.problems if _code(p.message) == "certificate.read_leniently"]
    assert str(problem.message).startswith("strict DER parsing refused")
    assert problem.where == "CKA_VALUE"
    return problem


@pytest.mark.parametrize(
    ("serial", "shown"), [(-1, "-1"), (0, "0"), (-128, "-80"), (-0x1234, "-1234")]
)
def test_negative_or_zero_serial(chains: Chains, serial: int, shown: str) -> None:
    der = with_negative_serial(chains.rsa_leaf.der, serial)
    cert = read_certificate(der)
    assert "serial number is negative or zero" in str(_refused(cert).message)
    assert cert.serial == shown
    assert cert.der == der
    assert cert.sha256 == hashlib.sha256(der).hexdigest()
    assert cert.subject_cn == "051@李四@Z110101199001015678@1"
    _assert_utc(cert.not_after, NOT_AFTER)
    assert cert.key_algorithm == "RSA"


def test_nonminimal_serial(chains: Chains) -> None:
    cert = read_certificate(with_nonminimal_serial(chains.rsa_leaf.der))
    assert "TbsCertificate::serial" in str(_refused(cert).message)
    assert cert.serial == "123456789abcdef"
    assert cert.issuer_cn == "Test RSA CA"


def test_gbk_in_printable_string(chains: Chains) -> None:
    der = with_gbk_subject_cn(chains.sm2_sign.der, "张三")
    cert = read_certificate(der)
    _refused(cert)
    assert cert.subject_cn == "张三"
    assert cert.subject == "CN=张三,OU=Local RA,OU=Individual-1,O=CFCA SM2 OCA1,C=CN"
    [note] = [p for p in cert.problems if p.where == "subject"]
    assert "PrintableString holding non-ASCII bytes" in str(note.message)
    assert "gb18030" in str(note.message)
    assert _code(note.message) == "certificate.name_not_ascii"
    # The rest of the certificate is still all there.
    assert (cert.key_algorithm, cert.key_usage) == ("SM2", ("digitalSignature", "nonRepudiation"))
    assert cert.issuer_cn == "Test SM2 CA"
    _assert_utc(cert.not_after, NOT_AFTER)


def test_gbk_in_utf8_string(chains: Chains) -> None:
    # cryptography takes the certificate and only refuses the name when it is read.
    der = with_subject_value(chains.rsa_leaf.der, "李四".encode("gbk"), tag=UTF8_STRING)
    cert = read_certificate(der)
    assert cert.encoding == "der"
    assert cert.subject_cn == "李四"
    assert cert.subject == "CN=李四,OU=Local RA,OU=Individual-1,O=CFCA OCA1,C=CN"
    refused, note = cert.problems
    assert refused.where == note.where == "subject"
    assert str(refused.message).startswith("strict parsing refused it")
    assert str(refused.message).endswith("read leniently")
    assert _code(refused.message) == "certificate.field_read_leniently"
    assert str(note.message) == (
        "CN is a UTF8String holding non-UTF-8 bytes; read as gb18030 (a guess)"
    )
    assert _code(note.message) == "certificate.name_not_utf8"
    assert cert.issuer_cn == "Test RSA CA"
    assert cert.serial == "123456789abcdef"


def test_bmp_string_name_is_read_strictly(chains: Chains) -> None:
    der = with_subject_value(chains.rsa_leaf.der, "王五".encode("utf-16-be"), tag=BMP_STRING)
    cert = read_certificate(der)
    assert cert.encoding == "der"
    assert cert.subject_cn == "王五"


def test_special_characters_are_escaped_alike(chains: Chains) -> None:
    der = with_subject_value(chains.rsa_leaf.der, b' a+b,c;d<e>f\\g"h ', tag=UTF8_STRING)
    strict = read_certificate(der)
    lenient = read_certificate(with_long_form_length(der))
    assert strict.encoding == "der"
    assert lenient.encoding == "lenient"
    assert strict.subject == lenient.subject
    assert strict.subject is not None
    assert strict.subject.startswith('CN=\\ a\\+b\\,c\\;d\\<e\\>f\\\\g\\"h\\ ,')


def _same_fields(a: Certificate, b: Certificate) -> None:
    skip = {"der", "sha256", "sha1", "sm3", "encoding", "problems"}
    for field in dataclasses.fields(Certificate):
        if field.name not in skip:
            assert getattr(a, field.name) == getattr(b, field.name), field.name


@pytest.mark.parametrize(
    "name", ["rsa_ca", "rsa_leaf", "rsa1024", "ec", "sm2_ca", "sm2_sign", "sm2_encrypt"]
)
def test_lenient_reading_matches_strict(chains: Chains, name: str) -> None:
    der = getattr(chains, name).der
    strict = read_certificate(der)
    lenient = read_certificate(with_long_form_length(der))
    assert "a length not encoded as DER requires" in str(_refused(lenient).message)
    assert len(lenient.problems) == 1
    _same_fields(strict, lenient)


# --- values that are not certificates -------------------------------------------------------


def _assert_unreadable(cert: Certificate, raw: bytes) -> None:
    assert cert.error is not None
    assert cert.der == raw
    assert cert.sha256 == hashlib.sha256(raw).hexdigest()
    assert cert.sha1 == hashlib.sha1(raw).hexdigest()
    assert cert.subject is None
    assert cert.not_after is None


def test_empty_value() -> None:
    cert = read_certificate(b"")
    _assert_unreadable(cert, b"")
    assert str(cert.error) == "CKA_VALUE is empty"
    assert _code(cert.error) == "certificate.value_empty"
    assert cert.sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_truncated_der(chains: Chains) -> None:
    der = chains.rsa_leaf.der
    cert = read_certificate(der[:500])
    _assert_unreadable(cert, der[:500])
    assert str(cert.error) == f"not a DER certificate: truncated at byte 500 of {len(der)}"
    assert _code(cert.error) == "certificate.der_truncated"


def test_truncated_pem(chains: Chains) -> None:
    pem = to_pem(chains.rsa_leaf.der)
    cert = read_certificate(pem[: len(pem) // 2])
    _assert_unreadable(cert, pem[: len(pem) // 2])
    assert cert.encoding == "pem"
    assert str(cert.error) == "PEM text without its END CERTIFICATE line"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (b"hello world", "not a DER certificate: it starts with byte 0x68, not a SEQUENCE (0x30)"),
        (b"\x30", "not a DER certificate: it ends after its first byte"),
        (b"\x30\x82\x01", "not a DER certificate: truncated at byte 3 of its length field"),
        (b"\x30\x89" + b"\xff" * 9, "not a DER certificate: its length takes 9 bytes"),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n", "not a certificate: PEM text of a PRIVATE KEY"),
        (
            b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
            "PEM text whose base64 could not be decoded",
        ),
        (
            b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
            "PEM text with an empty certificate",
        ),
    ],
)
def test_garbage_with_reasons(value: bytes, error: str) -> None:
    cert = read_certificate(value)
    _assert_unreadable(cert, value)
    assert str(cert.error) == error


@pytest.mark.parametrize(
    "value",
    [
        b"\x00",
        b"\x30\x00",
        b"\x30\x80",
        b"\x30\x80\x00\x00",
        b"\x30\x03\x02\x01\x05",
        b"\x30\x06\x30\x04\x02\x02\x01\x00",
        bytes(range(256)),
        random.Random(5).randbytes(1200),
        b"\x30\x82\x04\xb0" + random.Random(6).randbytes(1200),
    ],
)
def test_garbage_never_raises(value: bytes) -> None:
    # Each of these once reached a different corner of the framing or the lenient walk.
    cert = read_certificate(value)
    assert isinstance(cert, Certificate)
    assert cert.error is not None
    assert cert.sha256 == hashlib.sha256(cert.der).hexdigest()
    assert cert.subject is None


def test_not_bytes() -> None:
    cert = read_certificate(42)  # type: ignore[arg-type]
    assert str(cert.error) == "CKA_VALUE is not bytes but int"
    assert str(read_certificate(bytearray(b"")).error) == "CKA_VALUE is empty"  # type: ignore[arg-type]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_damaged_certificates_never_raise(chains: Chains, data: st.DataObject) -> None:
    original = data.draw(st.sampled_from([chains.rsa_leaf.der, chains.sm2_sign.der, chains.ec.der]))
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(damaged) - 1))
        damaged[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(damaged)))
    cert = read_certificate(bytes(damaged[:cut]))
    assert isinstance(cert, Certificate)
    assert cert.sha256 == hashlib.sha256(cert.der).hexdigest()
    assert (cert.error is None) == any(
        v is not None for v in (cert.subject, cert.serial, cert.not_after, cert.key_algorithm)
    )
    _assert_plain_types(cert)


def _assert_plain_types(cert: Any) -> None:
    # Plain values, or ukeytool's own frozen dataclasses made of them.
    for field in dataclasses.fields(cert):
        value = getattr(cert, field.name)
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, Message):
                _assert_plain_message(item)
            elif dataclasses.is_dataclass(item):
                assert type(item).__module__.startswith("ukeytool."), field.name
                _assert_plain_types(item)
            else:
                assert item is None or type(item) in (str, bytes, int, bool, datetime.datetime), (
                    field.name
                )


def _assert_plain_message(message: Message) -> None:
    # A message's parameters are text, numbers, messages or tuples of these: nothing a
    # parser made (its exceptions' words come in as text).
    for _name, value in message.params:
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, Message):
                _assert_plain_message(item)
            else:
                assert type(item) in (str, int), (message.code, _name)


def test_no_foreign_types_leak(chains: Chains) -> None:
    for field in dataclasses.fields(Chains):
        minted = getattr(chains, field.name)
        _assert_plain_types(read_certificate(minted.der))
        _assert_plain_types(read_certificate(with_long_form_length(minted.der)))


def test_only_the_certificate_module_imports_the_parsers() -> None:
    # The certificate reader's modules (ukeytool.certificates: the X.509 reader, names,
    # and the file reader, which takes certificates out of PKCS#7 and PKCS#12
    # containers), and no other; none lets a foreign type out.
    readers = {
        f"certificates/{name}.py"
        for name in ("algorithms", "asn1", "fields", "identifiers", "names", "x509")
    } | {f"certificates/files/{name}.py" for name in ("decrypt", "keys", "pem", "pkcs7", "pkcs12")}
    package = Path(__file__).resolve().parents[1] / "src" / "ukeytool"
    offenders = []
    for path in package.rglob("*.py"):
        relative = path.relative_to(package)
        if relative.parts[0] == "testing" or relative.as_posix() in readers:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            if any(n.split(".")[0] in ("cryptography", "asn1crypto") for n in names):
                offenders.append(str(relative))
    assert offenders == []


# --- the minting helpers themselves ----------------------------------------------------------


def test_minted_sm2_chain_verifies_with_openssl(chains: Chains, tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    assert openssl is not None
    (tmp_path / "ca.pem").write_bytes(to_pem(chains.sm2_ca.der))
    (tmp_path / "leaf.pem").write_bytes(
        to_pem(chains.sm2_sign.der) + to_pem(chains.sm2_encrypt.der)
    )
    at = str(int(FIXED_NOW.timestamp()))
    done = subprocess.run(
        [openssl, "verify", "-attime", at, "-vfyopt", f"distid:{SM2_DISTINGUISHING_ID}",
         "-CAfile", "ca.pem", "leaf.pem"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_minted_key_pairs_belong_together(chains: Chains) -> None:
    from cryptography.hazmat.primitives import serialization

    for minted in (chains.rsa_leaf, chains.ec):
        private = serialization.load_der_private_key(minted.key_pkcs8_der, password=None)
        public = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        assert public == minted.public_key_der
    assert chains.sm2_sign.key_type == "sm2"
    assert chains.rsa1024.key_type == "rsa"
    assert chains.ec.key_type == "ec"
    assert chains.sm2_sign.public_key_der in chains.sm2_sign.der


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"key": "rsa4096"}, "key must be one of"),
        ({"hash": "md4"}, "hash must be one of"),
        ({"hash": "md5", "key": "ec-p256"}, "signs with RSA keys only"),
        ({"hash": "sm3"}, "cannot sign with an RSA key"),
        ({"key": "sm2"}, "cannot sign with an SM2 key"),
        ({"key_usage": ("sign",)}, "unknown key usage"),
        ({"not_before": datetime.datetime(2030, 1, 1)}, "must be an aware datetime"),
    ],
)
def test_mint_refuses_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "subject_cn": "x",
        "not_before": NOT_BEFORE,
        "not_after": NOT_AFTER,
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        mint(**arguments)  # type: ignore[arg-type]
