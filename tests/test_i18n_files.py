"""`ukeytool inspect-file` in Simplified Chinese: every problem, location, key line, error
line, the password prompt and hint; English exactly as before.

Every problem, location and key-presence reason that ``ukeytool.certificates.files``
makes is a message (a template and its parameters, rendered when shown), so these tests
check what a user reads in both languages, end to end, and the messages' stable codes. A
location inside another (a bag in a bag of bags) is a message holding the outer one, so
it is shown wholly in the reader's language.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

import ukeytool
from ukeytool.certificates import files as _files
from ukeytool.cli import ExitCode
from ukeytool.i18n import _, ngettext, using
from ukeytool.i18n.message import Message
from ukeytool.testing.certs import to_pem, to_pkcs7, to_pkcs12

from .conftest import FIXED_NOW, Cli, CliResult
from .test_inspect_file import (
    AT,
    ENV,
    PASSWORD,
    Certs,
    answer_on_a_terminal,
    certs,  # noqa: F401 - the fixture, used by name
    key_pem,
    lines_in,
    pkcs12_or_skip,
    schema_validator,
)

NEVER = ["--color", "never"]
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


@pytest.fixture(autouse=True)
def english_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    """English unless a test says otherwise; no password in the environment."""
    for name in (*LOCALE_VARIABLES, ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


def run(cli: Cli, *args: str) -> CliResult:
    return cli("inspect-file", *args, *AT)


def zh(template: str, **values: object) -> str:
    """``template`` translated into Chinese and filled, as the tests expect to read it."""
    with using("zh"):
        return _(template).format(**values)


def located(where: str, message: str) -> str:
    with using("zh"):
        return _("{where}: {message}").format(where=where, message=message)


# --- the text listing ---------------------------------------------------------------------


BROKEN_BLOCK = b"-----BEGIN CERTIFICATE-----\nMIIB!!not base64!!\n-----END CERTIFICATE-----\n"


def pem_bundle(certs: Certs, tmp_path: Path) -> tuple[Path, int, int]:  # noqa: F811
    """A PEM file with a good certificate, a block that is not base64, an SM2 private
    key and its certificate; and the lines the broken block and the key start on."""
    good = to_pem(certs.leaf.der)
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(good + BROKEN_BLOCK + key_pem(certs.sm2) + to_pem(certs.sm2.der))
    line_broken = 1 + lines_in(good)
    return bundle, line_broken, line_broken + lines_in(BROKEN_BLOCK)


def test_pem_problems_and_keys_in_chinese(
    certs: Certs,  # noqa: F811
    tmp_path: Path,
    cli: Cli,
) -> None:
    bundle, line_broken, line_key = pem_bundle(certs, tmp_path)
    good = to_pem(certs.leaf.der)
    cut = tmp_path / "cut.pem"
    cut.write_bytes(good + to_pem(certs.ca.der)[:300])
    only_key = tmp_path / "key.pem"
    only_key.write_bytes(key_pem(certs.leaf))

    code, out, err = run(cli, str(bundle), str(cut), str(only_key), "--lang", "zh", *NEVER)

    assert (code, err) == (ExitCode.INCOMPLETE, "")
    lines = out.splitlines()
    block = zh("PEM block {number} (line {line})", number=2, line=line_broken)
    assert block == f"PEM 块 2（第 {line_broken} 行）"
    assert (
        "  ! " + located(block, zh("its base64 text could not be decoded"))
        == f"  ! PEM 块 2（第 {line_broken} 行）：其 base64 文本无法解码"
    )
    assert f"  ! PEM 块 2（第 {line_broken} 行）：其 base64 文本无法解码" in lines
    cut_short = zh("no -----END {label}----- line; the file may be cut short", label="CERTIFICATE")
    assert "可能不完整" in cut_short
    cut_block = zh("PEM block {number} (line {line})", number=2, line=1 + lines_in(good))
    assert "  ! " + located(cut_block, cut_short) in lines
    key_where = zh("PEM block {number} (line {line})", number=3, line=line_key)
    with using("zh"):
        key_line = _("{what} at {location}: {belongs}").format(
            what=_("private key ({algorithm})").format(algorithm="SM2"),
            location=key_where,
            # a plural msgid: gettext() finds its forms only from Python 3.11 on
            belongs=ngettext("for certificate {numbers}", "for certificates {numbers}", 1).format(
                numbers="#2"
            ),
        )
    assert f"  {key_line}" in lines
    assert f"  私钥（SM2），位于 PEM 块 3（第 {line_key} 行）：属于证书 #2" in lines
    held = zh("no certificate in this PEM text (it holds a private key)")
    assert f"  ! {held}" in lines
    assert "  ! 此 PEM 文本中没有证书（其中只有私钥）" in lines
    assert not any(line.startswith("  ! PEM block") for line in lines)


def test_der_pkcs7_and_not_certificate_files_in_chinese(
    certs: Certs,  # noqa: F811
    tmp_path: Path,
    cli: Cli,
) -> None:
    tail = tmp_path / "tail.der"
    tail.write_bytes(certs.leaf.der + b"garbage")
    empty = tmp_path / "empty.pem"
    empty.write_bytes(b"")
    noise = tmp_path / "noise.bin"
    noise.write_bytes(bytes(range(0x80, 0x100)))
    no_certs = tmp_path / "empty.p7b"
    no_certs.write_bytes(to_pkcs7([]))
    key = tmp_path / "key.der"
    key.write_bytes(certs.leaf.key_pkcs8_der)

    code, out, _err = run(
        cli, *(str(p) for p in (tail, empty, noise, no_certs, key)), "--lang", "zh", *NEVER
    )

    assert code == ExitCode.INCOMPLETE
    lines = out.splitlines()
    offset = len(certs.leaf.der)
    trailing = located(
        zh("byte {offset}", offset=offset),
        zh(
            "{count} bytes after certificate {number} are not a certificate; they were not read",
            count=7,
            number=1,
        ),
    )
    assert trailing == f"字节偏移 {offset}：证书 1 之后的 7 个字节不是证书，未读取"
    assert f"  ! {trailing}" in lines
    assert f"  ! {zh('the file is empty')}" in lines
    assert "  ! 文件为空" in lines
    neither = zh(
        "not a certificate file: neither PEM text nor DER "
        "(it starts with bytes {head}, not 30 for an ASN.1 SEQUENCE)",
        head="80 81 82 83",
    )
    assert f"  ! {neither}" in lines
    assert neither.startswith("不是证书文件：既不是 PEM 文本也不是 DER")
    assert "  ! " + located("PKCS#7", zh("a PKCS#7 SignedData without certificates")) in lines
    not_a_certificate = zh(
        "not a certificate file: {detail}",
        detail=zh("a private key (PKCS#8 or PKCS#1 DER), no certificate"),
    )
    assert f"  ! {not_a_certificate}" in lines
    assert "  ! 不是证书文件：私钥（PKCS#8 或 PKCS#1 DER），不是证书" in lines
    assert lines[-1].endswith("部分内容无法读取（标有 ! 的行）")


def test_pkcs12_passwords_in_chinese(
    certs: Certs,  # noqa: F811
    tmp_path: Path,
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "soft.p12"
    path.write_bytes(to_pkcs12(certs.leaf, password=PASSWORD))
    key_where = zh("PKCS#12 content {content}, bag {number}", content=2, number=1)
    assert key_where == "PKCS#12 内容 2，包 1"

    code, out, err = run(cli, str(path), "--lang", "zh", *NEVER)  # stdin: no terminal

    assert code == ExitCode.INCOMPLETE
    needed = zh("a password is needed: the PKCS#12 file does not open without one")
    assert f"  ! {needed}" in out.splitlines()
    assert "需要密码" in needed
    with using("zh"):
        hint = _(
            "ukeytool: give PKCS#12 passwords in the environment variable {env}, "
            "or run ukeytool on a terminal to be asked for them"
        ).format(env=ENV)
    assert err == hint + "\n"
    assert err.startswith(f"ukeytool：请在环境变量 {ENV} 中给出 PKCS#12 密码")
    assert f"  私钥，位于 {key_where}：此文件中读出的证书都与它不匹配" in out.splitlines()

    monkeypatch.setenv(ENV, "guess")
    code, out, err = run(cli, str(path), "--lang", "zh", *NEVER)

    assert (code, err) == (ExitCode.INCOMPLETE, "")
    wrong = zh("wrong password: the PKCS#12 file does not open with the password given")
    assert f"  ! {wrong}" in out.splitlines()
    assert "  ! 密码错误：用所给的密码无法打开该 PKCS#12 文件" in out.splitlines()
    assert "guess" not in out


def test_error_lines_when_no_file_opens_in_chinese(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "missing.pem"

    code, out, err = run(cli, str(missing), str(tmp_path), "--lang", "zh")

    assert (code, out) == (ExitCode.USAGE, "")
    with using("zh"):
        expected = [
            _("ukeytool: error: {message}").format(
                message=_("file not found: {path} does not exist").format(path=missing)
            ),
            _("ukeytool: error: {message}").format(
                message=_(
                    "{path} is a directory; give the certificate files in it ({pattern})"
                ).format(path=tmp_path, pattern=f"{tmp_path}/*")
            ),
        ]
    assert err.splitlines() == expected
    assert err.splitlines()[0] == f"ukeytool：错误：找不到文件：{missing} 不存在"
    assert f"{tmp_path} 是一个目录" in err

    # The locale alone: LANG=zh_CN.UTF-8.
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    code, out, err = run(cli, str(missing))
    assert (code, out) == (ExitCode.USAGE, "")
    assert err == expected[0] + "\n"


# --- JSON --------------------------------------------------------------------------------


def test_json_sentences_in_chinese_keys_and_locations_in_english(
    certs: Certs,  # noqa: F811
    tmp_path: Path,
    cli: Cli,
) -> None:
    pem = tmp_path / "a.pem"
    first = to_pem(certs.leaf.der)
    pem.write_bytes(first + b"-----BEGIN CERTIFICATE-----\n!\n-----END CERTIFICATE-----\n")
    p12 = tmp_path / "b.p12"
    p12.write_bytes(to_pkcs12(certs.sm2, password=PASSWORD, name="sm2"))
    missing = tmp_path / "missing.pem"

    code, out, _err = run(cli, str(pem), str(p12), str(missing), "--json", "--lang", "zh")

    assert code == ExitCode.INCOMPLETE
    document = json.loads(out)
    schema_validator().validate(document)
    assert document["language"] == "zh"
    pem_file, p12_file, missing_file = document["files"]
    where = f"PEM block 2 (line {1 + lines_in(first)})"
    assert pem_file["problems"] == [
        {
            "where": where,  # a location, as in English
            "message": zh("its base64 text could not be decoded"),
            "message_code": "file.pem_bad_base64",
            "code": None,
            "code_name": None,
        }
    ]
    assert pem_file["problems"][0]["message"] == "其 base64 文本无法解码"
    entry = pem_file["certificates"][0]
    assert entry["location"] == "PEM block 1 (line 1)"
    assert entry["key_on_token"]["state"] == "no"
    assert entry["key_on_token"]["reason"] == zh("no private key in the file belongs to it")
    assert p12_file["problems"] == [
        {
            "where": "password",
            "message": zh("a password is needed: the PKCS#12 file does not open without one"),
            "message_code": "file.password_needed",
            "code": None,
            "code_name": None,
        }
    ]
    assert p12_file["private_keys"][0]["location"] == "PKCS#12 content 2, bag 1"
    assert missing_file["problems"][0]["where"] == "file"
    assert missing_file["problems"][0]["message"] == f"找不到文件：{missing} 不存在"


def test_json_key_reason_names_the_place_in_chinese(
    certs: Certs,  # noqa: F811
    tmp_path: Path,
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "soft.p12"
    path.write_bytes(to_pkcs12(certs.leaf, password=PASSWORD))
    monkeypatch.setenv(ENV, PASSWORD)

    _code, out, _err = run(cli, str(path), "--json", "--lang", "zh")
    presence = json.loads(out)["files"][0]["certificates"][0]["key_on_token"]
    _code, english, _err = run(cli, str(path), "--json")
    english_presence = json.loads(english)["files"][0]["certificates"][0]["key_on_token"]

    place = zh("PKCS#12 content {content}, bag {number}", content=2, number=1)
    assert presence["reason"] == zh("its private key is in the file ({locations})", locations=place)
    assert presence["reason"] == "其私钥在此文件中（PKCS#12 内容 2，包 1）"
    assert english_presence["reason"] == "its private key is in the file (PKCS#12 content 2, bag 1)"
    assert {k: v for k, v in presence.items() if k != "reason"} == {
        k: v for k, v in english_presence.items() if k != "reason"
    }


# --- English as before --------------------------------------------------------------------


def test_english_unchanged(
    certs: Certs,  # noqa: F811
    tmp_path: Path,
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle, line_broken, line_key = pem_bundle(certs, tmp_path)
    tail = tmp_path / "tail.der"
    tail.write_bytes(certs.leaf.der + b"garbage")
    p12 = tmp_path / "soft.p12"
    p12.write_bytes(to_pkcs12(certs.leaf, password=PASSWORD))
    missing = tmp_path / "missing.pem"
    paths = [str(p) for p in (bundle, tail, p12, missing)]

    code, out, err = run(cli, *paths, *NEVER)

    assert code == ExitCode.INCOMPLETE
    lines = out.splitlines()
    for line in [
        f"  ! PEM block 2 (line {line_broken}): its base64 text could not be decoded",
        f"  private key (SM2) at PEM block 3 (line {line_key}): for certificate #2",
        f"  ! byte {len(certs.leaf.der)}: 7 bytes after certificate 1 are not a certificate; "
        "they were not read",
        "  ! a password is needed: the PKCS#12 file does not open without one",
        "  private key at PKCS#12 content 2, bag 1: no certificate read from this file matches it",
        f"  ! file not found: {missing} does not exist",
        "3 certificates: 3 valid; 1 file could not be opened; some things could not be read "
        "(lines marked !)",
    ]:
        assert line in lines
    assert err == (
        "ukeytool: give PKCS#12 passwords in the environment variable "
        "UKEYTOOL_PKCS12_PASSWORD, or run ukeytool on a terminal to be asked for them\n"
    )
    # --lang en and an English locale say exactly the same.
    assert run(cli, *paths, *NEVER, "--lang", "en") == (code, out, err)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert run(cli, *paths, *NEVER) == (code, out, err)
    assert run(cli, str(missing)) == (
        ExitCode.USAGE,
        "",
        f"ukeytool: error: file not found: {missing} does not exist\n",
    )


# --- every message inspect-file makes, in both languages -------------------------------


def corpus(certs: Certs, tmp_path: Path) -> list[Path]:  # noqa: F811
    """Files of every kind inspect-file meets, good and broken."""
    good = to_pem(certs.leaf.der)
    sm2 = to_pkcs12(certs.sm2, password="")
    pkcs7 = to_pkcs7([certs.leaf.der, certs.ca.der])
    files: dict[str, bytes] = {
        "bundle.pem": b"bank bundle\n"
        + good
        + b"-----BEGIN CERTIFICATE-----\nMIIB!!not base64!!\n-----END CERTIFICATE-----\n"
        + to_pem(certs.ca.der[:200])
        + to_pem(certs.sm2.der),
        "soft.pem": to_pem(certs.ca.der) + key_pem(certs.sm2) + to_pem(certs.sm2.der),
        "key.pem": key_pem(certs.leaf),
        "key-and-crl.pem": key_pem(certs.leaf)
        + b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
        "crl.pem": b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
        "public.pem": b"-----BEGIN PUBLIC KEY-----\n",
        "cut.pem": good + to_pem(certs.ca.der)[:300],
        "mismatch.pem": b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END X509 CRL-----\n",
        "empty-block.pem": b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
        "bad.p7b": b"-----BEGIN PKCS7-----\nAAAA\n-----END PKCS7-----\n",
        "notepad.cer": good.decode().replace("\n", "\r\n").encode("utf-16"),
        "chain.cer": to_pem(pkcs7),
        "two.der": certs.leaf.der + certs.sm2.der,
        "tail.der": certs.leaf.der + b"garbage",
        "tail1.der": certs.leaf.der + b"x",
        "chain.p7c": pkcs7,
        "cut-list.p7c": signed_data(certs.leaf.der + bytes.fromhex("300501")),
        "attribute-certificates.p7c": signed_data(bytes.fromhex("a100")),
        "attribute-certificates.p7b": to_pem(signed_data(bytes.fromhex("a100"))),
        "empty.p7b": to_pkcs7([]),
        "plain.p12": sm2,
        "nested.p12": bag_of_bags(certs.leaf.der, certs.leaf.key_pkcs8_der),
        "open.p12": to_pkcs12(certs.leaf, key_pbe="NONE", cert_pbe="NONE", mac="NONE"),
        "soft.p12": to_pkcs12(certs.leaf, password=PASSWORD, extra=[certs.ca.der]),
        "cut.p12": sm2[: len(sm2) // 2],
        "empty.pem": b"",
        "noise.bin": bytes(range(0x80, 0x100)),
        "notes.txt": b"my certificate is on the key\n",
        "damaged.txt": b"-----BEGIN CERTIFICATE\nxx\n",
        "key.der": certs.leaf.key_pkcs8_der,
        "empty-sequence.der": b"\x30\x00",
        "oid.der": bytes.fromhex("30050603550403"),
        "enveloped.der": bytes.fromhex("300b06092a864886f70d010703"),
        "integer.der": bytes.fromhex("3003020105"),
        "cut-header.der": b"\x30\x84",
    }
    paths = []
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(path)
    for name, options in (
        ("des.p12", {"legacy": True, "cert_pbe": "PBE-MD5-DES"}),
        ("sm2-des.p12", {"legacy": True, "cert_pbe": "PBE-MD5-DES", "sm2": True}),
    ):
        minted = certs.sm2 if options.pop("sm2", False) else certs.leaf
        try:
            data = pkcs12_or_skip(minted, password=PASSWORD, **options)
        except pytest.skip.Exception:
            continue  # this OpenSSL cannot make it; the others still count
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    big = tmp_path / "big.pem"
    with big.open("wb") as handle:  # sparse: costs no disk
        handle.truncate(_files.MAX_FILE_SIZE + 1)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    return [*paths, big, fifo, tmp_path, tmp_path / "missing.pem", tmp_path / ("x" * 300)]


def signed_data(certificates: bytes) -> bytes:
    """A PKCS#7 SignedData whose certificate list is ``certificates`` as it is (one
    certificate and a cut one, or attribute certificates only)."""

    def tlv(tag: int, body: bytes) -> bytes:
        n = len(body)
        size = bytes([n]) if n < 0x80 else bytes([0x82]) + n.to_bytes(2, "big")
        return bytes([tag]) + size + body

    data_oid = bytes.fromhex("06092a864886f70d010701")
    signed_oid = bytes.fromhex("06092a864886f70d010702")
    listed = tlv(0xA0, certificates)
    signed = tlv(
        0x30, tlv(0x02, b"\x01") + tlv(0x31, b"") + tlv(0x30, data_oid) + listed + tlv(0x31, b"")
    )
    return tlv(0x30, signed_oid + tlv(0xA0, signed))


LOCATION_WORDS = re.compile(r"\b(certificate|bag|inner|content|contents|block|line|byte)\b")


def bag_of_bags(der: bytes, key_pkcs8: bytes | None = None) -> bytes:
    """A PKCS#12 file, neither encrypted nor MACed, whose one bag holds a bag of bags
    holding the certificate (OpenSSL does not write these; the format allows them); with
    ``key_pkcs8``, that bag of bags also holds a bag of bags holding the key in clear."""
    from asn1crypto import cms, core, keys, pkcs12

    certificate = pkcs12.SafeBag(
        {
            "bag_id": "cert_bag",
            "bag_value": pkcs12.CertBag(
                {"cert_id": "x509", "cert_value": core.ParsableOctetString(der)}
            ),
        }
    )
    inner = [certificate]
    if key_pkcs8 is not None:
        key = pkcs12.SafeBag(
            {"bag_id": "key_bag", "bag_value": keys.PrivateKeyInfo.load(key_pkcs8)}
        )
        inner.append(
            pkcs12.SafeBag({"bag_id": "safe_contents", "bag_value": pkcs12.SafeContents([key])})
        )
    bags = pkcs12.SafeBag({"bag_id": "safe_contents", "bag_value": pkcs12.SafeContents(inner)})
    data = cms.ContentInfo({"content_type": "data", "content": pkcs12.SafeContents([bags]).dump()})
    auth_safe = pkcs12.AuthenticatedSafe([data]).dump()
    return pkcs12.Pfx(
        {"version": 3, "auth_safe": cms.ContentInfo({"content_type": "data", "content": auth_safe})}
    ).dump()


SHORT_WHERE = frozenset({"file", "content", "password", "PKCS#7"})
"""Machine locations (JSON keys more than words), the same in every language."""


def test_every_message_over_the_corpus_is_translated(
    certs: Certs,  # noqa: F811
    tmp_path: Path,
) -> None:
    reports = [
        *ukeytool.inspect_files(corpus(certs, tmp_path), at=FIXED_NOW),
        *ukeytool.inspect_files(
            [tmp_path / "soft.p12", tmp_path / "des.p12", tmp_path / "sm2-des.p12"],
            at=FIXED_NOW,
            password=PASSWORD,
        ),
        *ukeytool.inspect_files([tmp_path / "soft.p12"], at=FIXED_NOW, password="guess"),
    ]
    said: list[Message | str] = []
    for report in reports:
        for problem in report.problems:
            said += [problem.message, problem.where]
        said += [key.location for key in report.keys]
        for entry in report.certificates:
            assert entry.location is not None
            if entry.key_on_token is not None:
                said.append(entry.key_on_token.reason)
            if entry.certificate is not None:  # the notes are the reader's; their place ours
                said += [p.where for p in entry.certificate.problems if p.where != "subject"]
    # Every sentence and location is a message; only the machine places are words.
    assert {item for item in said if not isinstance(item, Message)} <= SHORT_WHERE
    messages = {item for item in said if isinstance(item, Message)}
    english = {str(part) for message in messages for part in message.walk()}
    for expected in (  # the corpus reaches the rarer messages
        "the file is empty",
        "the block is empty",
        f"{tmp_path / 'fifo'} is not a regular file",
        "its certificate list is cut short after 1 certificate",
        "1 byte after certificate 1 is not a certificate; it was not read",
        "no certificate in this PEM text (it holds no block ukeytool reads)",
        "no certificate in this PEM text (it holds a private key, X509 CRL)",
        "the file holds no certificate",
        "PKCS#12 content 1, bag 1",
        "PKCS#12 content 1, bag 1, inner bag 2",
        "PKCS#12 content 1, bag 1, inner bag 2, inner bag 1",
    ):
        assert expected in english
    assert any(s.startswith(f"cannot read {tmp_path / ('x' * 300)}: ") for s in english)
    assert any(s.startswith("not a readable PKCS#7 structure: ") for s in english)
    assert any(" is 33554433 bytes, too large" in s for s in english)
    codes = {m.code for message in messages for m in message.walk()}
    assert {
        "file.empty",
        "file.not_found",
        "file.is_directory",
        "file.wrong_password",
        "file.location.pem_block",
        "file.location.byte",
        "file.location.pkcs12_bag",
        "file.location.pkcs12_inner_bag",
        "file.key_in_file",
    } <= codes
    assert all(code.startswith(("file.", "certificate.", "list.")) for code in codes)
    for message in sorted(messages, key=str):
        shown = message.render("zh")
        assert shown != str(message), message
        # Each part of a location translated, at any depth: no English location word
        # is left between the Chinese ones ("内层包 1, inner bag 3").
        assert not LOCATION_WORDS.search(shown), (str(message), shown)
        assert message.render("en") == str(message)


def test_nested_pkcs12_locations_wholly_in_chinese(
    certs: Certs,  # noqa: F811
    tmp_path: Path,
    cli: Cli,
) -> None:
    path = tmp_path / "nested.p12"
    path.write_bytes(bag_of_bags(certs.leaf.der, certs.leaf.key_pkcs8_der))
    [report] = ukeytool.inspect_files([path], at=FIXED_NOW)
    [key] = report.keys
    where = "PKCS#12 content 1, bag 1, inner bag 2, inner bag 1"
    assert str(key.location) == where
    assert isinstance(key.location, Message)
    assert [m.code for m in key.location.walk()] == [
        "file.location.pkcs12_inner_bag",
        "file.location.pkcs12_inner_bag",
        "file.location.pkcs12_bag",
    ]
    assert key.certificates == (1,)
    [entry] = report.certificates
    assert entry.location == "PKCS#12 content 1, bag 1, inner bag 1"
    assert entry.key_on_token is not None
    assert isinstance(entry.key_on_token.reason, Message)
    assert entry.key_on_token.reason.code == "file.key_in_file"
    chinese_where = "PKCS#12 内容 1，包 1，内层包 2，内层包 1"
    assert key.location.render("zh") == chinese_where

    # The text listing: the key's place wholly in Chinese; in English as before.
    code, out, err = run(cli, str(path), "--lang", "zh", *NEVER)
    assert (code, err) == (ExitCode.OK, "")
    assert f"  私钥（RSA），位于 {chinese_where}：属于证书 #1" in out.splitlines()
    assert not LOCATION_WORDS.search(out)
    code, out, err = run(cli, str(path), *NEVER)
    assert (code, err) == (ExitCode.OK, "")
    assert f"  private key (RSA) at {where}: for certificate #1" in out.splitlines()

    # JSON: the sentence in Chinese, holding the place in Chinese; locations in English.
    _code, out, _err = run(cli, str(path), "--json", "--lang", "zh")
    document = json.loads(out)
    schema_validator().validate(document)
    [file] = document["files"]
    reason = file["certificates"][0]["key_on_token"]["reason"]
    assert reason == f"其私钥在此文件中（{chinese_where}）"
    assert file["certificates"][0]["location"] == "PKCS#12 content 1, bag 1, inner bag 1"
    assert file["private_keys"][0]["location"] == where
    _code, out, _err = run(cli, str(path), "--json")
    [file] = json.loads(out)["files"]
    assert file["certificates"][0]["key_on_token"]["reason"] == (
        f"its private key is in the file ({where})"
    )


# --- the password prompt ------------------------------------------------------------------


def test_password_prompt_in_chinese_from_the_locale(
    certs: Certs,  # noqa: F811
    tmp_path: Path,
) -> None:
    path = tmp_path / "soft.p12"
    path.write_bytes(to_pkcs12(certs.leaf, password=PASSWORD))
    env = {k: v for k, v in os.environ.items() if k not in (*LOCALE_VARIABLES, ENV)}
    env["LANG"] = "zh_CN.UTF-8"
    prompt = zh("Password for PKCS#12 file {path}: ", path=path)
    assert prompt == f"PKCS#12 文件 {path} 的密码："
    code, transcript = answer_on_a_terminal(
        ["inspect-file", str(path), *AT, *NEVER],
        env,
        prompt.encode(),
        PASSWORD,
        "共 1 个证书：1 个有效".encode(),
    )
    assert code == ExitCode.OK
    assert PASSWORD.encode() not in transcript  # not echoed
