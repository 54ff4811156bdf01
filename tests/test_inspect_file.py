"""Certificates in files: ukeytool.inspect_files and `ukeytool inspect-file`.

The corpus is made at test time: certificates minted at fixed dates around FIXED_NOW,
PKCS#7 bundles from asn1crypto and from `openssl crl2pkcs7`, PKCS#12 files from
`openssl pkcs12 -export` (legacy RC2, SM2 and SM4 when the local OpenSSL has them).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import ukeytool
from ukeytool import FileKey, FileReport, Problem, Role, Status, Validity
from ukeytool.certificates.files.pkcs12 import WRONG_PASSWORD
from ukeytool.cli import ExitCode, main
from ukeytool.i18n.message import Message
from ukeytool.rendering.json import files_to_dict, report_to_dict
from ukeytool.rendering.text import render_files_text
from ukeytool.testing.certs import (
    Minted,
    mint_ca,
    to_pem,
    to_pkcs7,
    to_pkcs12,
    with_negative_serial,
)

from .conftest import FIXED_NOW, Bank

DAY = datetime.timedelta(days=1)
AT = ["--at", "2030-01-01T00:00:00Z"]
PASSWORD = "s3cret-密码"  # non-ASCII on purpose: PBKDF2 takes UTF-8, the MAC UTF-16
ENV = "UKEYTOOL_PKCS12_PASSWORD"


# --- the corpus -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Certs:
    ca: Minted
    leaf: Minted
    expiring: Minted
    sm2_ca: Minted
    sm2: Minted


@pytest.fixture(scope="module")
def certs(mint_cached: Callable[..., Minted]) -> Certs:
    ca = mint_cached(mint_ca, "File Test CA", at=FIXED_NOW)
    sm2_ca = mint_cached(mint_ca, "File Test SM2 CA", at=FIXED_NOW, key="sm2")
    return Certs(
        ca=ca,
        leaf=mint_cached(
            subject_cn="051@张三@Z000000000000000000@0001",
            not_before=FIXED_NOW - 100 * DAY,
            not_after=FIXED_NOW + 365 * DAY,
            issuer=ca,
        ),
        expiring=mint_cached(
            subject_cn="expiring",
            not_before=FIXED_NOW - 100 * DAY,
            not_after=FIXED_NOW + 20 * DAY,
            issuer=ca,
        ),
        sm2_ca=sm2_ca,
        sm2=mint_cached(
            subject_cn="李四",
            not_before=FIXED_NOW - 10 * DAY,
            not_after=FIXED_NOW + 700 * DAY,
            key="sm2",
            hash="sm3",
            issuer=sm2_ca,
        ),
    )


def openssl(work: Path, *args: str) -> None:
    command = shutil.which("openssl")
    if command is None:
        pytest.skip("the openssl command is needed")
    subprocess.run([command, *args], cwd=work, check=True, capture_output=True, timeout=60)


def pkcs12_or_skip(certificate: Minted, **options: Any) -> bytes:
    """A PKCS#12 file, or a skip when this OpenSSL cannot make one like it."""
    try:
        return to_pkcs12(certificate, **options)
    except RuntimeError as exc:
        if "legacy" in str(exc).lower() or "unsupported" in str(exc).lower():
            pytest.skip(f"this OpenSSL cannot make it: {exc}")
        raise


def key_pem(certificate: Minted) -> bytes:
    body = "\n".join(textwrap.wrap(base64.b64encode(certificate.key_pkcs8_der).decode(), 64))
    return f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n".encode()


def lines_in(*chunks: bytes) -> int:
    return sum(chunk.count(b"\n") for chunk in chunks)


def read(path: Path, **options: Any) -> FileReport:
    return ukeytool.inspect_file(path, at=FIXED_NOW, **options)


def english(problems: tuple[Problem, ...]) -> tuple[Problem, ...]:
    """``problems`` as a person reads them in English: where and what as text."""
    return tuple(
        dataclasses.replace(p, where=str(p.where), message=str(p.message)) for p in problems
    )


def same_certificate(entry: ukeytool.CertificateEntry, der: bytes) -> None:
    """The entry says exactly what the same bytes on a token say, except that a note a
    token files under its CKA_VALUE attribute is placed in the file instead."""
    expected = ukeytool.read_certificate(der)
    moved = tuple(
        dataclasses.replace(p, where=entry.location) if p.where == "CKA_VALUE" else p
        for p in expected.problems
    )
    assert entry.certificate is not None
    assert dataclasses.replace(
        entry.certificate, problems=english(entry.certificate.problems)
    ) == dataclasses.replace(expected, problems=english(moved))
    assert entry.validity == ukeytool.judge(expected, FIXED_NOW, 30)


def schema_validator() -> Draft202012Validator:
    text = (resources.files("ukeytool") / "schema" / "report.schema.json").read_text("utf-8")
    return Draft202012Validator(json.loads(text))


# --- PEM ------------------------------------------------------------------------------


def test_pem_with_several_blocks_one_broken_hides_nothing(certs: Certs, tmp_path: Path) -> None:
    good = to_pem(certs.leaf.der)
    broken = b"-----BEGIN CERTIFICATE-----\nMIIB!!not base64!!\n-----END CERTIFICATE-----\n"
    truncated = to_pem(certs.ca.der[:200])
    sm2 = to_pem(certs.sm2.der)
    path = tmp_path / "bundle.pem"
    path.write_bytes(b"bank bundle\n" + good + broken + truncated + b"\n" + sm2)

    report = read(path)

    assert report.format == "pem"
    assert report.opened
    assert not report.complete
    line_broken = 2 + lines_in(good)
    line_truncated = line_broken + lines_in(broken)
    line_sm2 = line_truncated + lines_in(truncated) + 1
    assert english(report.problems) == (
        Problem(f"PEM block 2 (line {line_broken})", "its base64 text could not be decoded"),
    )
    assert [(e.handle, e.location) for e in report.certificates] == [
        (1, "PEM block 1 (line 2)"),
        (2, f"PEM block 3 (line {line_truncated})"),
        (3, f"PEM block 4 (line {line_sm2})"),
    ]
    leaf, cut, sm2_entry = report.certificates
    same_certificate(leaf, certs.leaf.der)
    assert leaf.validity == Validity(Status.VALID, 365)
    assert leaf.certificate is not None
    assert leaf.certificate.subject_cn == "051@张三@Z000000000000000000@0001"
    assert leaf.certificate.encoding == "der"
    assert (leaf.label, leaf.id, leaf.certificate_type, leaf.private) == (None, None, None, None)
    # A certificate cut short is an unreadable entry, as on a token: a status, not a gap.
    same_certificate(cut, certs.ca.der[:200])
    assert cut.status is Status.UNREADABLE
    assert (
        str(cut.unreadable_reason)
        == f"not a DER certificate: truncated at byte 200 of {len(certs.ca.der)}"
    )
    same_certificate(sm2_entry, certs.sm2.der)
    assert sm2_entry.certificate is not None
    assert sm2_entry.certificate.key_algorithm == "SM2"
    assert sm2_entry.validity == Validity(Status.VALID, 700)
    assert report.keys == ()


def test_pem_x509_and_trusted_certificates(certs: Certs, tmp_path: Path) -> None:
    (tmp_path / "leaf.pem").write_bytes(to_pem(certs.leaf.der))
    openssl(
        tmp_path, "x509", "-in", "leaf.pem", "-trustout", "-setalias", "张三的证书",
        "-addtrust", "clientAuth", "-out", "trusted.pem",
    )  # fmt: skip
    x509 = to_pem(certs.expiring.der).replace(b"CERTIFICATE", b"X509 CERTIFICATE")
    path = tmp_path / "mixed.pem"
    path.write_bytes((tmp_path / "trusted.pem").read_bytes() + x509)

    report = read(path)

    assert report.complete
    trusted, expiring = report.certificates
    assert b"TRUSTED CERTIFICATE" in path.read_bytes()
    same_certificate(trusted, certs.leaf.der)  # the trust settings after it are not part of it
    assert trusted.label is not None
    assert trusted.label.value == "张三的证书"
    same_certificate(expiring, certs.expiring.der)
    assert expiring.validity == Validity(Status.EXPIRING, 20)


def test_pem_certificate_and_its_key(certs: Certs, tmp_path: Path) -> None:
    blocks = [to_pem(certs.ca.der), key_pem(certs.sm2), to_pem(certs.sm2.der), key_pem(certs.leaf)]
    path = tmp_path / "soft.pem"
    path.write_bytes(b"".join(blocks))
    sm2_line = 1 + lines_in(blocks[0])
    rsa_line = 1 + lines_in(*blocks[:3])

    report = read(path)

    assert report.complete
    assert [e.handle for e in report.certificates] == [1, 2]
    sm2_key, rsa_key = report.keys
    assert (str(sm2_key.location), sm2_key.algorithm, sm2_key.certificates) == (
        f"PEM block 2 (line {sm2_line})",
        "SM2",
        (2,),
    )
    assert (str(rsa_key.location), rsa_key.algorithm, rsa_key.certificates) == (
        f"PEM block 4 (line {rsa_line})",
        "RSA",
        (),  # the leaf's key, but not the leaf's certificate: nothing here matches
    )
    assert rsa_key.public_key_sha256 is not None
    assert rsa_key.local_key_id is None
    text = render_files_text([report], color=False).splitlines()
    assert f"  private key (SM2) at PEM block 2 (line {sm2_line}): for certificate #2" in text
    assert (
        f"  private key (RSA) at PEM block 4 (line {rsa_line}): "
        "no certificate read from this file matches it"
    ) in text


def test_pem_without_certificates_and_cut_short(certs: Certs, tmp_path: Path) -> None:
    only_key = tmp_path / "key.pem"
    only_key.write_bytes(key_pem(certs.leaf))
    cut = tmp_path / "cut.pem"
    first = to_pem(certs.leaf.der)
    cut.write_bytes(first + to_pem(certs.ca.der)[:300])

    key_report = read(only_key)
    cut_report = read(cut)

    assert english(key_report.problems) == (
        Problem("content", "no certificate in this PEM text (it holds a private key)"),
    )
    assert key_report.certificates == ()
    assert english(cut_report.problems) == (
        Problem(
            f"PEM block 2 (line {1 + lines_in(first)})",
            "no -----END CERTIFICATE----- line; the file may be cut short",
        ),
    )
    same_certificate(cut_report.certificates[0], certs.leaf.der)


def test_pem_as_windows_and_some_cas_write_it(certs: Certs, tmp_path: Path) -> None:
    utf16 = tmp_path / "notepad.cer"  # saved as "Unicode": UTF-16 with a byte order mark
    utf16.write_bytes(to_pem(certs.leaf.der).decode().replace("\n", "\r\n").encode("utf-16"))
    chain = tmp_path / "chain.cer"  # a PKCS#7 chain under a CERTIFICATE label
    chain.write_bytes(to_pem(to_pkcs7([certs.leaf.der, certs.ca.der])))

    notepad, bundle = read(utf16), read(chain)

    assert (notepad.format, notepad.complete) == ("pem", True)
    same_certificate(notepad.certificates[0], certs.leaf.der)
    assert bundle.complete
    assert [e.location for e in bundle.certificates] == [
        "PEM block 1 (line 1), certificate 1",
        "PEM block 1 (line 1), certificate 2",
    ]
    same_certificate(bundle.certificates[1], certs.ca.der)


def test_inspect_files_wants_a_list(tmp_path: Path) -> None:
    with pytest.raises(ukeytool.UsageError, match="for one file use inspect_file"):
        ukeytool.inspect_files(str(tmp_path / "a.pem"))


# --- DER and PKCS#7 ---------------------------------------------------------------------


def test_der_one_and_several(certs: Certs, tmp_path: Path) -> None:
    one = tmp_path / "leaf.cer"
    one.write_bytes(certs.leaf.der)
    two = tmp_path / "two.der"
    two.write_bytes(certs.leaf.der + certs.sm2.der + b"\r\n")
    tail = tmp_path / "tail.der"
    tail.write_bytes(certs.leaf.der + b"garbage")

    single, double, trailing = read(one), read(two), read(tail)

    assert (single.format, single.complete) == ("der", True)
    assert [e.location for e in single.certificates] == ["DER certificate 1 (byte 0)"]
    same_certificate(single.certificates[0], certs.leaf.der)
    assert double.complete  # a line end after the last certificate is not a problem
    assert [e.location for e in double.certificates] == [
        "DER certificate 1 (byte 0)",
        f"DER certificate 2 (byte {len(certs.leaf.der)})",
    ]
    same_certificate(double.certificates[1], certs.sm2.der)
    assert english(trailing.problems) == (
        Problem(
            f"byte {len(certs.leaf.der)}",
            "7 bytes after certificate 1 are not a certificate; they were not read",
        ),
    )


def test_pkcs7_from_openssl_pem_and_der(certs: Certs, tmp_path: Path) -> None:
    (tmp_path / "chain.pem").write_bytes(to_pem(certs.leaf.der) + to_pem(certs.ca.der))
    (tmp_path / "sm2.pem").write_bytes(to_pem(certs.sm2.der))
    for form, name in (("PEM", "chain.p7b"), ("DER", "chain.p7c")):
        openssl(
            tmp_path, "crl2pkcs7", "-nocrl", "-certfile", "chain.pem", "-certfile", "sm2.pem",
            "-outform", form, "-out", name,
        )  # fmt: skip

    pem, der = read(tmp_path / "chain.p7b"), read(tmp_path / "chain.p7c")

    assert (pem.format, der.format) == ("pem", "pkcs7")
    assert pem.complete
    assert der.complete
    assert [e.location for e in der.certificates] == [
        "PKCS#7 certificate 1",
        "PKCS#7 certificate 2",
        "PKCS#7 certificate 3",
    ]
    assert [e.location for e in pem.certificates] == [
        "PEM block 1 (line 1), certificate 1",
        "PEM block 1 (line 1), certificate 2",
        "PEM block 1 (line 1), certificate 3",
    ]
    for report in (pem, der):
        for entry, source in zip(
            report.certificates, (certs.leaf, certs.ca, certs.sm2), strict=True
        ):
            same_certificate(entry, source.der)


def test_pkcs7_keeps_broken_certificates_as_they_are(certs: Certs, tmp_path: Path) -> None:
    negative = with_negative_serial(certs.expiring.der)
    junk = bytes.fromhex("3003020100")  # a SEQUENCE, but no certificate
    path = tmp_path / "odd.p7b"
    path.write_bytes(to_pkcs7([certs.leaf.der, negative, junk]))

    report = read(path)

    assert report.complete
    leaf, lenient, unreadable = report.certificates
    same_certificate(leaf, certs.leaf.der)
    same_certificate(lenient, negative)
    assert lenient.certificate is not None
    assert lenient.certificate.encoding == "lenient"
    assert lenient.certificate.serial == "-1"
    # The note read_certificate files under CKA_VALUE is placed in the file instead.
    assert [str(p.where) for p in lenient.certificate.problems] == ["PKCS#7 certificate 2"]
    same_certificate(unreadable, junk)
    assert unreadable.status is Status.UNREADABLE


def test_pkcs7_without_certificates(tmp_path: Path) -> None:
    path = tmp_path / "empty.p7b"
    path.write_bytes(to_pkcs7([], pem=True))
    assert english(read(path).problems) == (
        Problem("PEM block 1 (line 1)", "a PKCS#7 SignedData without certificates"),
    )


# --- PKCS#12 ----------------------------------------------------------------------------


def test_pkcs12_with_password(certs: Certs, tmp_path: Path) -> None:
    path = tmp_path / "soft.pfx"
    path.write_bytes(
        to_pkcs12(certs.leaf, password=PASSWORD, extra=[certs.ca.der], name="网银证书")
    )

    report = read(path, password=PASSWORD)

    assert (report.format, report.complete, report.problems) == ("pkcs12", True, ())
    leaf, ca = report.certificates
    same_certificate(leaf, certs.leaf.der)
    same_certificate(ca, certs.ca.der)
    assert leaf.label is not None
    assert leaf.label.value == "网银证书"
    assert leaf.id is not None
    assert ca.id is None
    assert leaf.location is not None
    assert leaf.location.startswith("PKCS#12 content 1, bag ")
    (key,) = report.keys
    assert dataclasses.replace(key, location=str(key.location)) == FileKey(
        location="PKCS#12 content 2, bag 1",
        algorithm=None,  # encrypted: never decrypted
        public_key_sha256=None,
        local_key_id=leaf.id,
        certificates=(leaf.handle,),
    )


def test_pkcs12_password_from_bytes_and_callable(certs: Certs, tmp_path: Path) -> None:
    path = tmp_path / "soft.p12"
    path.write_bytes(to_pkcs12(certs.leaf, password=PASSWORD))
    plain = tmp_path / "plain.p12"
    plain.write_bytes(to_pkcs12(certs.leaf, password=""))
    asked: list[str] = []

    def ask(name: str) -> str:
        asked.append(name)
        return PASSWORD

    assert read(path, password=PASSWORD.encode()).complete
    reports = ukeytool.inspect_files([plain, path], at=FIXED_NOW, password=ask)

    assert [r.complete for r in reports] == [True, True]
    assert asked == [str(path)]  # only the file that needs one, once


def test_pkcs12_empty_password_is_tried_first(certs: Certs, tmp_path: Path) -> None:
    path = tmp_path / "plain.p12"
    path.write_bytes(to_pkcs12(certs.sm2, password=""))
    for password in (None, "not this one"):
        report = read(path, password=password)
        assert report.complete
        same_certificate(report.certificates[0], certs.sm2.der)


def test_pkcs12_wrong_and_missing_password(certs: Certs, tmp_path: Path) -> None:
    path = tmp_path / "soft.p12"
    path.write_bytes(to_pkcs12(certs.leaf, password=PASSWORD))

    wrong = read(path, password="guess")
    missing = read(path)
    gave_up = read(path, password=lambda _: None)

    assert english(wrong.problems) == (
        Problem(
            "password", "wrong password: the PKCS#12 file does not open with the password given"
        ),
    )
    assert gave_up.problems == missing.problems
    assert english(missing.problems) == (
        Problem("password", "a password is needed: the PKCS#12 file does not open without one"),
    )
    # The key bag is not encrypted at the container level: it is still listed.
    assert [str(k.location) for k in wrong.keys] == ["PKCS#12 content 2, bag 1"]
    assert wrong.keys[0].certificates == ()
    assert PASSWORD not in repr(wrong)
    assert "guess" not in repr(wrong)


def test_pkcs12_without_mac_or_encryption(certs: Certs, tmp_path: Path) -> None:
    path = tmp_path / "open.p12"
    path.write_bytes(to_pkcs12(certs.leaf, key_pbe="NONE", cert_pbe="NONE", mac="NONE"))

    report = read(path, password=lambda _: pytest.fail("no password is needed"))

    assert report.complete
    (key,) = report.keys
    # A key in clear is tied to its certificate by its public half.
    assert (key.algorithm, key.certificates) == ("RSA", (1,))
    assert key.public_key_sha256 is not None


def test_pkcs12_legacy_rc2_40(certs: Certs, tmp_path: Path) -> None:
    for minted in (certs.leaf, certs.sm2):
        path = tmp_path / f"legacy-{minted.key_type}.p12"
        path.write_bytes(pkcs12_or_skip(minted, password=PASSWORD, legacy=True))
        report = read(path, password=PASSWORD)
        assert report.complete, report.problems
        same_certificate(report.certificates[0], minted.der)
        assert report.keys[0].certificates == (1,)


def test_pkcs12_sm2_with_sm4_and_sm3(certs: Certs, tmp_path: Path) -> None:
    path = tmp_path / "sm2.p12"
    path.write_bytes(
        pkcs12_or_skip(
            certs.sm2,
            password=PASSWORD,
            extra=[certs.sm2_ca.der],
            key_pbe="SM4-CBC",
            cert_pbe="SM4-CBC",
            mac="SM3",
        )
    )

    report = read(path, password=PASSWORD)

    assert report.complete, report.problems
    sm2, sm2_ca = report.certificates
    same_certificate(sm2, certs.sm2.der)
    same_certificate(sm2_ca, certs.sm2_ca.der)
    assert report.keys[0].certificates == (1,)
    assert read(path, password="guess").problems[0].message == WRONG_PASSWORD()


def test_pkcs12_other_encryptions_go_through_cryptography(certs: Certs, tmp_path: Path) -> None:
    path = tmp_path / "des.p12"
    path.write_bytes(
        pkcs12_or_skip(certs.leaf, password=PASSWORD, legacy=True, cert_pbe="PBE-MD5-DES")
    )

    report = read(path, password=PASSWORD)

    assert report.complete, report.problems
    (entry,) = report.certificates
    same_certificate(entry, certs.leaf.der)
    assert entry.location == "PKCS#12 content 1, certificate 1"
    assert report.keys[0].certificates == (1,)


def test_pkcs12_that_nothing_can_decrypt_says_so(certs: Certs, tmp_path: Path) -> None:
    # cryptography refuses SM2 keys, so its reader cannot help with this one.
    path = tmp_path / "sm2-des.p12"
    path.write_bytes(
        pkcs12_or_skip(certs.sm2, password=PASSWORD, legacy=True, cert_pbe="PBE-MD5-DES")
    )

    report = read(path, password=PASSWORD)

    assert report.certificates == ()
    (problem,) = report.problems
    assert str(problem.where) == "PKCS#12 content 1"
    assert str(problem.message).startswith(
        "encrypted with pbeWithMD5AndDES-CBC, which ukeytool cannot decrypt, and the OpenSSL "
        "behind cryptography could not read the file either ("
    )
    assert [str(k.location) for k in report.keys] == ["PKCS#12 content 2, bag 1"]


@pytest.mark.parametrize(
    ("key", "bits", "plain", "cipher"),
    [  # RFC 2268 section 5
        ("0000000000000000", 63, "0000000000000000", "ebb773f993278eff"),
        ("ffffffffffffffff", 64, "ffffffffffffffff", "278b27e42e2f0d49"),
        ("3000000000000000", 64, "1000000000000001", "30649edf9be7d2c2"),
        ("88", 64, "0000000000000000", "61a8a244adacccf0"),
        ("88bca90e90875a", 64, "0000000000000000", "6ccf4308974c267f"),
        ("88bca90e90875a7f0f79c384627bafb2", 64, "0000000000000000", "1a807d272bbe5db1"),
        ("88bca90e90875a7f0f79c384627bafb2", 128, "0000000000000000", "2269552ab0f85ca6"),
    ],
)
def test_rc2_decryption_meets_the_rfc_vectors(key: str, bits: int, plain: str, cipher: str) -> None:
    # 40-bit RC2 is ukeytool's own (cryptography only has 128-bit RC2); the legacy
    # PKCS#12 tests check it end to end against OpenSSL.
    from ukeytool.certificates.files.rc2 import rc2_decrypt_block, rc2_key_schedule

    schedule = rc2_key_schedule(bytes.fromhex(key), bits)
    assert rc2_decrypt_block(schedule, bytes.fromhex(cipher)).hex() == plain


def plain(value: object) -> bool:
    """Only ukeytool's own values and builtins, all the way down."""
    if value is None or isinstance(value, str | bytes | int | float | datetime.datetime):
        return True
    if isinstance(value, tuple):
        return all(plain(item) for item in value)
    if isinstance(value, Message):  # a value written out, not a dataclass (start-up cost)
        return plain((value.code, value.msgid, value.params))
    if dataclasses.is_dataclass(value) and type(value).__module__.split(".")[0] == "ukeytool":
        return all(plain(getattr(value, f.name)) for f in dataclasses.fields(value))
    return False


def test_no_foreign_types_leak(certs: Certs, tmp_path: Path) -> None:
    walked = tmp_path / "walked.p12"
    walked.write_bytes(to_pkcs12(certs.leaf, password=PASSWORD, extra=[certs.ca.der]))
    fallback = tmp_path / "fallback.p12"
    fallback.write_bytes(
        pkcs12_or_skip(certs.leaf, password=PASSWORD, legacy=True, cert_pbe="PBE-MD5-DES")
    )
    pem = tmp_path / "soft.pem"
    pem.write_bytes(to_pem(certs.sm2.der) + key_pem(certs.sm2))
    for path in (walked, fallback, pem):
        report = read(path, password=PASSWORD)
        assert report.certificates
        assert plain(report), path


def test_pkcs12_damaged(certs: Certs, tmp_path: Path) -> None:
    data = to_pkcs12(certs.leaf, password=PASSWORD)
    path = tmp_path / "cut.p12"
    path.write_bytes(data[: len(data) // 2])
    (problem,) = read(path, password=PASSWORD).problems
    assert problem.where == "content"
    assert str(problem.message).startswith("a damaged PKCS#12 file: ")
    assert isinstance(problem.message, Message)
    assert problem.message.code == "file.pkcs12_damaged"


# --- things that are no certificate file ---------------------------------------------


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_bytes(b"")
    noise = tmp_path / "noise.bin"
    noise.write_bytes(bytes(range(0x80, 0x100)) * 3)
    text = tmp_path / "notes.txt"
    text.write_text("my certificate is on the key\n")
    missing = tmp_path / "missing.pem"

    reports = ukeytool.inspect_files([empty, noise, text, tmp_path, missing], at=FIXED_NOW)

    assert [(r.format, r.opened, english(r.problems)) for r in reports] == [
        (None, True, (Problem("content", "the file is empty"),)),
        (
            None,
            True,
            (
                Problem(
                    "content",
                    "not a certificate file: neither PEM text nor DER (it starts with bytes "
                    "80 81 82 83, not 30 for an ASN.1 SEQUENCE)",
                ),
            ),
        ),
        (
            None,
            True,
            (
                Problem(
                    "content",
                    "not a certificate file: text without a -----BEGIN CERTIFICATE----- line",
                ),
            ),
        ),
        (
            None,
            False,
            (
                Problem(
                    "file",
                    f"{tmp_path} is a directory; give the certificate files in it ({tmp_path}/*)",
                ),
            ),
        ),
        (None, False, (Problem("file", f"file not found: {missing} does not exist"),)),
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.pem"
    path.write_bytes(b"x")
    path.chmod(0)
    assert english(read(path).problems) == (
        Problem("file", f"permission denied: {path} cannot be read by this user"),
    )


# --- same values, same JSON as on a token ------------------------------------------------


@pytest.mark.softhsm
def test_same_values_and_json_as_on_a_token(
    bank: Bank, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOFTHSM2_CONF", str(bank.store.conf_path))
    token_report = ukeytool.inspect(str(bank.store.module_path), at=FIXED_NOW)
    names = ("valid", "expired", "sm2_sign", "future")
    path = tmp_path / "bank.pem"
    path.write_bytes(b"".join(to_pem(bank.certs[name].der) for name in names))

    file_report = read(path)

    token_document = report_to_dict([token_report], generated_at=FIXED_NOW)
    token_certificates = {
        c["sha256"]: c
        for slot in token_document["modules"][0]["slots"]
        if slot["token"]
        for c in slot["token"]["certificates"]
    }
    file_document = files_to_dict([file_report], generated_at=FIXED_NOW)
    schema_validator().validate(file_document)
    token_only = {"handle", "label", "label_hex", "label_encoding", "label_guessed", "id",
                  "certificate_type", "private", "uri",
                  # relations are worked out per token (docs/relations.md)
                  "role", "issued_by", "pair", "key_on_token", "findings"}  # fmt: skip
    for name, entry, json_entry in zip(
        names, file_report.certificates, file_document["files"][0]["certificates"], strict=True
    ):
        on_token = next(
            e
            for e in token_report.certificates
            if e.certificate is not None and e.certificate.der == bank.certs[name].der
        )
        assert entry.certificate == on_token.certificate
        assert entry.validity == on_token.validity
        from_token = token_certificates[json_entry["sha256"]]
        assert set(json_entry) == set(from_token) | {"location"}
        for member, value in from_token.items():
            if member not in token_only:
                assert json_entry[member] == value, member
        assert json_entry["uri"] is None


def test_json_document_validates_and_keeps_its_shape(certs: Certs, tmp_path: Path) -> None:
    pem = tmp_path / "a.pem"
    first = to_pem(certs.leaf.der)
    pem.write_bytes(first + b"-----BEGIN CERTIFICATE-----\n!\n-----END CERTIFICATE-----\n")
    p12 = tmp_path / "b.p12"
    p12.write_bytes(to_pkcs12(certs.sm2, password=PASSWORD, name="sm2"))
    reports = ukeytool.inspect_files(
        [pem, p12, tmp_path / "missing"], at=FIXED_NOW, warn_days=10, password=PASSWORD
    )

    document = files_to_dict(reports, generated_at=FIXED_NOW + DAY)

    schema_validator().validate(document)
    assert document["at"] == "2030-01-01T00:00:00Z"
    assert document["generated_at"] == "2030-01-02T00:00:00Z"
    assert document["warn_days"] == 10
    assert (document["modules"], document["failed_modules"]) == ([], [])
    assert document["complete"] is False
    assert document["summary"] == {
        "certificates": 2, "valid": 2, "expiring": 0, "expired": 0, "not_yet_valid": 0,
        "unreadable": 0,
    }  # fmt: skip
    pem_file, p12_file, missing_file = document["files"]
    assert pem_file["problems"] == [
        {
            "where": f"PEM block 2 (line {1 + lines_in(first)})",
            "message": "its base64 text could not be decoded",
            "message_code": "file.pem_bad_base64",
            "code": None,
            "code_name": None,
        }
    ]
    assert pem_file["certificates"][0]["location"] == "PEM block 1 (line 1)"
    assert pem_file["certificates"][0]["handle"] == 1
    assert p12_file["format"] == "pkcs12"
    assert p12_file["certificates"][0]["label"] == "sm2"
    assert p12_file["certificates"][0]["key_algorithm"] == "SM2"
    assert p12_file["private_keys"] == [
        {
            "location": "PKCS#12 content 2, bag 1",
            "algorithm": None,
            "public_key_sha256": None,
            "local_key_id": p12_file["certificates"][0]["id"],
            "certificates": [1],
        }
    ]
    assert (missing_file["opened"], missing_file["format"]) == (False, None)
    assert missing_file["certificates"] == []


# --- the command line -----------------------------------------------------------------


@pytest.fixture
def no_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)


def test_cli_text(
    certs: Certs, tmp_path: Path, no_password: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "chain.pem"
    path.write_bytes(to_pem(certs.leaf.der) + to_pem(certs.expiring.der))

    code = main(["inspect-file", str(path), *AT, "--color", "never"])

    out, err = capsys.readouterr()
    assert (code, err) == (ExitCode.OK, "")
    assert out.splitlines() == [
        "Validity at 2030-01-01 00:00:00 UTC; expiring = expires within 30 days",
        "",
        f"File {path}  (PEM)",
        "    #  LABEL  ID  SUBJECT CN                         ISSUER CN     KEY       "
        "NOT AFTER   DAYS  STATUS",
        "    1  -      -   051@张三@Z000***********0000@0001  File Test CA  RSA-2048  "
        "2031-01-01   365  valid",
        "      end entity, issuer not in this file; key: no (no private key in the file "
        "belongs to it)",
        "    2  -      -   expiring                           File Test CA  RSA-2048  "
        "2030-01-21    20  expiring",
        "      end entity, issuer not in this file; key: no (no private key in the file "
        "belongs to it)",
        "",
        "Personal data masked: ID numbers are partly replaced by *; --show-personal-data "
        "shows them.",
        "",
        "2 certificates: 1 valid, 1 expiring",
    ]


def test_cli_json_with_password_from_the_environment(
    certs: Certs,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "soft.p12"
    path.write_bytes(to_pkcs12(certs.leaf, password=PASSWORD))
    monkeypatch.setenv(ENV, PASSWORD)

    code = main(["inspect-file", "--json", "--warn-days", "400", str(path), *AT])

    out, err = capsys.readouterr()
    assert (code, err) == (ExitCode.OK, "")
    document = json.loads(out)
    schema_validator().validate(document)
    assert document["files"][0]["certificates"][0]["status"] == "expiring"
    assert PASSWORD not in out


def test_cli_wrong_password_is_one_line_and_never_shown(
    certs: Certs,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "soft.p12"
    path.write_bytes(to_pkcs12(certs.leaf, password=PASSWORD))
    monkeypatch.setenv(ENV, "guess-" + PASSWORD)

    code = main(["inspect-file", str(path), *AT])

    out, err = capsys.readouterr()
    assert code == ExitCode.INCOMPLETE
    assert (
        "  ! wrong password: the PKCS#12 file does not open with the password given"
        in out.splitlines()
    )
    assert err == ""
    assert PASSWORD not in out + err


def test_cli_missing_password_gives_a_hint(
    certs: Certs, tmp_path: Path, no_password: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "soft.p12"
    path.write_bytes(to_pkcs12(certs.leaf, password=PASSWORD))

    code = main(["inspect-file", str(path), *AT])  # standard input is not a terminal here

    out, err = capsys.readouterr()
    assert code == ExitCode.INCOMPLETE
    assert "  ! a password is needed: the PKCS#12 file does not open without one" in out
    assert err == (
        "ukeytool: give PKCS#12 passwords in the environment variable "
        "UKEYTOOL_PKCS12_PASSWORD, or run ukeytool on a terminal to be asked for them\n"
    )


def test_cli_exit_codes_for_missing_files(
    certs: Certs, tmp_path: Path, no_password: None, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "leaf.der"
    good.write_bytes(certs.leaf.der)
    missing = tmp_path / "missing.pem"

    assert main(["inspect-file", str(good), str(missing), *AT]) == ExitCode.INCOMPLETE
    out, err = capsys.readouterr()
    assert f"  ! file not found: {missing} does not exist" in out.splitlines()
    assert out.rstrip().endswith(
        "1 certificate: 1 valid; 1 file could not be opened; some things could not be read "
        "(lines marked !)"
    )

    assert main(["inspect-file", str(missing), str(tmp_path), *AT]) == ExitCode.USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"ukeytool: error: file not found: {missing} does not exist",
        f"ukeytool: error: {tmp_path} is a directory; "
        f"give the certificate files in it ({tmp_path}/*)",
    ]

    assert main(["inspect-file"]) == ExitCode.USAGE
    assert "the following arguments are required: PATH" in capsys.readouterr().err


def answer_on_a_terminal(
    args: list[str], env: dict[str, str], prompt: bytes, answer: str, until: bytes
) -> tuple[int, bytes]:
    """Run ``python -m ukeytool ARGS`` on a pseudo-terminal, type ``answer`` after
    ``prompt``, read until ``until``; the exit code and everything the terminal showed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: ukeytool on the terminal
        os.execve(sys.executable, [sys.executable, "-m", "ukeytool", *args], env)
    transcript = b""

    def read_until(marker: bytes) -> None:
        nonlocal transcript
        while marker not in transcript:
            ready, _, _ = select.select([fd], [], [], 60)
            assert ready, f"no {marker!r} from ukeytool: {transcript!r}"
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                chunk = b""
            assert chunk, f"ukeytool ended before {marker!r}: {transcript!r}"
            transcript += chunk

    read_until(prompt)
    os.write(fd, answer.encode() + b"\n")
    read_until(until)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), transcript


def test_cli_asks_for_the_password_on_a_terminal(certs: Certs, tmp_path: Path) -> None:
    path = tmp_path / "soft.p12"
    path.write_bytes(to_pkcs12(certs.leaf, password=PASSWORD))
    env = {k: v for k, v in os.environ.items() if k != ENV}
    code, transcript = answer_on_a_terminal(
        ["inspect-file", str(path), *AT, "--color", "never"],
        env,
        b"Password for PKCS#12 file ",
        PASSWORD,
        b"1 certificate: 1 valid",
    )
    assert code == ExitCode.OK
    assert PASSWORD.encode() not in transcript  # not echoed


def test_help_names_no_password_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect-file", "--help"]) == 0
    out = capsys.readouterr().out
    assert "UKEYTOOL_PKCS12_PASSWORD" in out
    assert "--password" not in out


def test_file_certificates_are_related_like_a_tokens(certs: Certs, tmp_path: Path) -> None:
    """Roles, issuer links and findings as on a token; the key is the file's."""
    bundle = tmp_path / "soft.p12"
    bundle.write_bytes(to_pkcs12(certs.leaf, password=PASSWORD, extra=[certs.ca.der]))
    (report,) = ukeytool.inspect_files([bundle], at=FIXED_NOW, password=PASSWORD.encode())
    by_cn = {e.certificate.subject_cn: e for e in report.certificates if e.certificate}
    leaf, ca = by_cn[certs.leaf.subject_cn], by_cn["File Test CA"]
    assert leaf.role is Role.END_ENTITY
    assert ca.role is Role.ROOT
    assert leaf.issued_by is not None
    assert leaf.issued_by.handle == ca.handle
    assert leaf.key_on_token is not None
    assert leaf.key_on_token.state == "yes"
    assert "in the file" in str(leaf.key_on_token.reason)
    chain = tmp_path / "chain.pem"
    chain.write_bytes(to_pem(certs.leaf.der))
    (alone,) = ukeytool.inspect_files([chain], at=FIXED_NOW)
    (entry,) = alone.certificates
    assert entry.issued_by is None
    assert entry.key_on_token is not None
    assert entry.key_on_token.state == "no"
