"""Certificate problems, key presence, relation findings, pkcs11: URI errors and the
check's certificate names in Simplified Chinese, and in English exactly as before.

These sentences are made where they happen (the certificate reader and the relations run
in the isolation child, the URI parser in the library), English by ``str()``, and shown
in the reader's language (``ukeytool.i18n.render``). The token is built at test time
from the ``bank`` certificates, bent the way real banking keys bend them."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

import ukeytool
from ukeytool.cli import ExitCode, main
from ukeytool.i18n import _, pgettext, render, using
from ukeytool.judging.relations import finding_message, key_presence_reason, relate
from ukeytool.model import (
    CertificateEntry,
    KeyObject,
    Report,
    SlotReport,
    Status,
    Validity,
)
from ukeytool.model.text import decode_text
from ukeytool.rendering.check import check_reports, check_to_dict
from ukeytool.testing.certs import (
    to_pem,
    with_gbk_subject_cn,
    with_key_algorithm,
    with_negative_serial,
    with_subject_value,
)
from ukeytool.testing.softhsm import (
    CertObject,
    PublicKeyObject,
    SoftHSMStore,
    TokenObject,
    TokenSpec,
)

from .conftest import FIXED_NOW, Bank, Cli
from .factories import make_module_info, make_slot_info, make_token_info

SOURCE = Path(ukeytool.__file__).parent
AT = ["--at", "2030-01-01T00:00:00Z"]
DSA = "1.2.840.10040.4.1"
UTF8_STRING = 0x0C
ID_NUMBER = "11010519491231002X"


def zh(template: str, **values: object) -> str:
    """``template`` translated and filled, as the Chinese output must show it."""
    with using("zh"):
        return _(template).format(**values)


# --- a token of odd certificates -------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Odd:
    store: SoftHSMStore
    serial: str
    module: str


@pytest.fixture(scope="module")
def odd(bank: Bank, tmp_path_factory: pytest.TempPathFactory) -> Odd:
    """One token with a blank label (so certificate names fall back on its serial) and
    the certificates behind each kind of message: PEM text, bytes after the DER, GBK in
    a PrintableString, a negative serial, DSA without parameters, a key object of
    another key under the certificate's CKA_ID, a public key object that matches, and
    unreadable objects without a label."""
    leaf = bank.certs["valid"]
    other = bank.certs["expiring"]
    objects: list[TokenObject] = [
        CertObject(to_pem(leaf.der), label="pem", id=b"\x01"),
        CertObject(leaf.der + b"\x00\x00\x00", label="trailing", id=b"\x02"),
        CertObject(with_gbk_subject_cn(leaf.der, "张三"), label="gbk", id=b"\x03"),
        CertObject(with_negative_serial(leaf.der), label="negative", id=b"\x04"),
        CertObject(with_key_algorithm(leaf.der, DSA), label="dsa", id=b"\x05"),
        CertObject(other.der, label="mismatch", id=b"\x06"),
        PublicKeyObject(leaf.public_key_der, label="mismatch", id=b"\x06"),
        CertObject(bank.certs["future"].der, label="pub", id=b"\x07"),
        PublicKeyObject(bank.certs["future"].public_key_der, label="pub", id=b"\x07"),
        CertObject(b"hello", id=b"\x0c"),
    ]
    store = SoftHSMStore(tmp_path_factory.mktemp("i18n-certificates"))
    token = store.add_token(TokenSpec(label=" ", objects=objects))
    return Odd(store, token.serial, str(store.module_path))


@pytest.fixture
def odd_env(odd: Odd, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Odd:
    monkeypatch.setenv("SOFTHSM2_CONF", str(odd.store.conf_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("PKCS11_MODULE", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "UKEYTOOL_PIN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    return odd


def listing(odd: Odd, *extra: str) -> list[str]:
    return ["list-tokens", "--module", odd.module, "--serial", odd.serial, *AT, *extra]


# The problems of the odd token, in English as made and as the listing shows them.
PEM = "the object holds PEM text, not DER"
TRAILING = "3 bytes after the certificate ignored"
NEGATIVE = (
    "strict DER parsing refused the certificate (the serial number is negative or zero, "
    "which RFC 5280 forbids); it was read with a lenient parser"
)
GBK_NOTE = "CN is a PrintableString holding non-ASCII bytes; read as gb18030 (a guess)"
DSA_NOTE = "the DSA parameters are inherited from the issuer"
HELLO = "not a DER certificate: it starts with byte 0x68, not a SEQUENCE (0x30)"
PUBLIC_NO_LOGIN = (
    "its public key object is on the token (same CKA_ID and same public key); "
    "private keys cannot be seen without login"
)
NO_KEY = "private keys cannot be seen without login, and no public key object belongs to it"


def chinese_problems() -> dict[str, str]:
    """The same problems as the Chinese listing must show them (templates translated,
    nested sentences too, values such as gb18030 and 0x68 kept)."""
    return {
        PEM: zh("the object holds PEM text, not DER"),
        TRAILING: zh("{count} bytes after the certificate ignored", count=3),
        NEGATIVE: zh(
            "strict DER parsing refused the certificate ({detail}); "
            "it was read with a lenient parser",
            detail=zh("the serial number is negative or zero, which RFC 5280 forbids"),
        ),
        GBK_NOTE: zh(
            "{name} is a {kind} holding non-ASCII bytes; {detail}",
            name="CN",
            kind="PrintableString",
            detail=zh("read as {encoding} (a guess)", encoding="gb18030"),
        ),
        DSA_NOTE: zh("the DSA parameters are inherited from the issuer"),
        HELLO: zh(
            "not a DER certificate: it starts with byte 0x{byte}, not a SEQUENCE (0x30)",
            byte="68",
        ),
        PUBLIC_NO_LOGIN: zh(
            "its public key object is on the token ({detail}); "
            "private keys cannot be seen without login",
            detail=zh("same CKA_ID and same public key"),
        ),
        NO_KEY: zh(
            "private keys cannot be seen without login, and no public key object belongs to it"
        ),
    }


MISMATCH = (
    "the public key object with the same CKA_ID (06) holds another public key: software "
    "that pairs keys with certificates by CKA_ID will pick the wrong key"
)


# --- the listing ------------------------------------------------------------------------


@pytest.mark.softhsm
def test_certificate_problems_in_the_chinese_listing(odd_env: Odd, cli: Cli) -> None:
    code, english, _err = cli(*listing(odd_env))
    assert code == ExitCode.OK
    lines = english.splitlines()
    for line in (
        f"      ! CKA_VALUE: {PEM}",
        f"      ! CKA_VALUE: {TRAILING}",
        f"      ! CKA_VALUE: {NEGATIVE}",
        f"      ! subject: {GBK_NOTE}",
        f"      ! key_size: {DSA_NOTE}",
        f"      [warning] key-id-mismatch: {MISMATCH}",
    ):
        assert line in lines
    assert f"unreadable: {HELLO}" in english
    assert (
        "key: yes (public key object, same CKA_ID and public key); "
        "private key: unknown (not logged in)"
    ) in english

    code, chinese, _err = cli(*listing(odd_env), "--lang", "zh")
    assert code == ExitCode.OK
    lines = chinese.splitlines()
    problems = chinese_problems()
    subject = zh("subject")
    for where, message in (
        ("CKA_VALUE", PEM),
        ("CKA_VALUE", TRAILING),
        ("CKA_VALUE", NEGATIVE),
        (subject, GBK_NOTE),
        ("key_size", DSA_NOTE),
    ):
        assert f"      ! {where}：{problems[message]}" in lines, message
    with using("zh"):
        mismatch = _(
            "the public key object with the same CKA_ID ({ident}) holds another public key: "
            "software that pairs keys with certificates by CKA_ID will pick the wrong key"
        ).format(ident="06")
    assert f"      [警告] key-id-mismatch: {mismatch}" in lines
    assert zh("{status}: {reason}", status="无法读取", reason=problems[HELLO]) in chinese
    # A few words as a person reads them, whatever the templates say.
    assert "      ! CKA_VALUE：该对象存放的是 PEM 文本，而不是 DER" in lines
    assert "      ! CKA_VALUE：已忽略证书之后的 3 个字节" in lines
    assert "按 gb18030 读取（推测）" in chinese
    assert "CKA_ID 相同（06）的公钥对象持有另一个公钥" in chinese
    assert "无法读取：不是 DER 证书：它以字节 0x68 开头" in chinese
    for english_word in ("PEM text, not DER", "lenient", "holding non-ASCII", "inherited"):
        assert english_word not in chinese


@pytest.mark.softhsm
def test_certificate_problems_and_key_presence_in_the_chinese_json(odd_env: Odd, cli: Cli) -> None:
    def certificates(lang: str) -> dict[str, dict[str, object]]:
        code, out, _err = cli(*listing(odd_env, "--json"), "--lang", lang)
        assert code == ExitCode.OK
        doc = json.loads(out)
        assert doc["language"] == lang
        token = next(s["token"] for m in doc["modules"] for s in m["slots"] if s["token"])
        return {c["label"] or f"id {c['id']}": c for c in token["certificates"]}

    english, chinese = certificates("en"), certificates("zh")
    problems = chinese_problems()
    for label, message in (
        ("pem", PEM),
        ("trailing", TRAILING),
        ("negative", NEGATIVE),
        ("gbk", GBK_NOTE),
        ("dsa", DSA_NOTE),
    ):
        assert message in [p["message"] for p in english[label]["problems"]]  # type: ignore[attr-defined]
        assert problems[message] in [p["message"] for p in chinese[label]["problems"]]  # type: ignore[attr-defined]
        # codes stay: where the problem is
        assert [p["where"] for p in english[label]["problems"]] == [  # type: ignore[attr-defined]
            p["where"]
            for p in chinese[label]["problems"]  # type: ignore[attr-defined]
        ]
    assert english["id 0c"]["error"] == HELLO
    assert chinese["id 0c"]["error"] == problems[HELLO]
    assert chinese["id 0c"]["status"] == "unreadable"

    def presence(cert: dict[str, object]) -> dict[str, object]:
        value = cert["key_on_token"]
        assert isinstance(value, dict)
        return value

    assert presence(english["pub"])["reason"] == PUBLIC_NO_LOGIN
    assert presence(chinese["pub"])["reason"] == problems[PUBLIC_NO_LOGIN]
    assert presence(chinese["pub"])["reason"] == (
        "其公钥对象在此令牌上（CKA_ID 和公钥均相同）；未登录时看不到私钥"
    )
    # The key object under its CKA_ID holds another key: not its key.
    assert presence(english["mismatch"])["reason"] == NO_KEY
    assert presence(chinese["mismatch"])["reason"] == problems[NO_KEY]
    for key in ("state", "private_key"):
        assert presence(english["pub"])[key] == presence(chinese["pub"])[key]

    def matches(cert: dict[str, object]) -> list[object]:
        # Object handles are the module's, and SoftHSM gives others on each load.
        found = presence(cert)["matches"]
        assert isinstance(found, list)
        return [{k: v for k, v in m.items() if k != "handle"} for m in found]

    assert matches(english["pub"]) == matches(chinese["pub"])
    assert presence(chinese["pub"])["state"] == "yes"
    found: dict[str, list[dict[str, str]]] = {
        lang: certs["mismatch"]["findings"]  # type: ignore[misc]
        for lang, certs in (("en", english), ("zh", chinese))
    }
    assert [(f["code"], f["severity"]) for f in found["zh"]] == [("key-id-mismatch", "warning")]
    assert found["zh"][0]["message"].startswith("CKA_ID 相同（06）的公钥对象持有另一个公钥：")
    assert [f["message"] for f in found["en"]] == [MISMATCH]


@pytest.mark.softhsm
def test_key_presence_after_login_with_a_chinese_locale(odd: Odd) -> None:
    """LANG=zh_CN.UTF-8 chooses Chinese; the reasons are made in the isolation child,
    which does not know the language, and shown translated."""
    env = {
        **odd.store.subprocess_env(),
        "UKEYTOOL_PIN": "1234",
        "LANG": "zh_CN.UTF-8",
        "LC_ALL": "",
        "LANGUAGE": "",
    }
    command = [sys.executable, "-m", "ukeytool", *listing(odd, "--login", "--json")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == ExitCode.OK, done.stderr
    doc = json.loads(done.stdout)
    assert doc["language"] == "zh"
    token = next(s["token"] for m in doc["modules"] for s in m["slots"] if s["token"])
    certs = {c["label"]: c["key_on_token"] for c in token["certificates"] if c["label"]}
    assert certs["mismatch"]["state"] == "no"
    assert certs["mismatch"]["reason"] == zh(
        "no private key on the token belongs to it (searched after login)"
    )
    assert certs["mismatch"]["reason"] == "此令牌上没有属于它的私钥（已在登录后查找）"
    assert certs["pub"]["reason"] == zh(
        "no private key on the token belongs to it (searched after login); "
        "its public key object is there ({detail})",
        detail=zh("same CKA_ID and same public key"),
    )


# --- the check --------------------------------------------------------------------------


def perfdata(out: str) -> str:
    return out.splitlines()[0].split(" | ", 1)[1]


@pytest.mark.softhsm
def test_check_names_translated_in_the_lines_only(odd_env: Odd, cli: Cli) -> None:
    check = ["check", "--module", odd_env.module, "--serial", odd_env.serial, *AT]
    english = cli(*check)[1]
    chinese = cli(*check, "--lang", "zh")[1]
    serial = odd_env.serial
    # The names fall back on the serial: the token's label is blank.
    assert f"'pem@serial {serial}'=365;31:;8:" in perfdata(english)
    assert perfdata(chinese) == perfdata(english)  # graphs survive a change of LANG
    assert f"[UNKNOWN] certificate id 0c@serial {serial}: unreadable: {HELLO}" in english
    with using("zh"):
        name = "{}@{}".format(
            pgettext("certificate name", "id {id}").format(id="0c"),
            pgettext("certificate name", "serial {serial}").format(serial=serial),
        )
        line = _("certificate {name}{cn}: {reason}").format(
            name=name,
            cn="",
            reason=_("unreadable: {why}").format(why=chinese_problems()[HELLO]),
        )
    assert f"[UNKNOWN] {line}" in chinese.splitlines()
    assert f"[UNKNOWN] 证书 ID 0c@序列号 {serial}：无法读取：不是 DER 证书：" in chinese
    assert f"证书 mismatch@序列号 {serial}：警告问题 key-id-mismatch：CKA_ID 相同（06）" in chinese
    assert "@serial " not in chinese.split(" | ", 1)[1].split("\n", 1)[1]

    # JSON: the same names in both languages, the reasons in the language.
    docs = {
        lang: json.loads(cli(*check, "--format", "json", "--lang", lang)[1])
        for lang in ("en", "zh")
    }
    names = {lang: [c["name"] for c in doc["certificates"]] for lang, doc in docs.items()}
    assert names["zh"] == names["en"]
    assert f"id 0c@serial {serial}" in names["zh"]
    reasons = {c["name"]: c["reason"] for c in docs["zh"]["certificates"]}
    why = chinese_problems()[HELLO]
    assert reasons[f"id 0c@serial {serial}"] == zh("unreadable: {why}", why=why)
    assert [f["certificate"] for f in docs["zh"]["findings"]] == [
        f["certificate"] for f in docs["en"]["findings"]
    ]


def test_check_slot_and_object_names_in_chinese() -> None:
    """A token without label and serial, a certificate without label, CN or CKA_ID: the
    name falls back on the object handle and the slot; the JSON and the performance
    data keep the English words, the lines translate them (and number duplicates the
    same way)."""
    entries = tuple(
        CertificateEntry(handle, None, None, 0, False, None, Validity(Status.UNREADABLE, None))
        for handle in (7, 7)
    )
    token = make_token_info(label="", serial="")
    slot = SlotReport(make_slot_info(slot_id=0x1A), token, entries)
    report = Report(make_module_info(), (slot,), FIXED_NOW, 30)
    english = check_reports([report])
    with using("zh"):
        chinese = check_reports([report])
        lines = chinese.details()
    assert [c.name for c in chinese.certificates] == ["object 7@slot 0x1a", "object 7@slot 0x1a #2"]
    assert [c.name for c in english.certificates] == [c.name for c in chinese.certificates]
    assert check_to_dict(chinese)["certificates"][1]["name"] == "object 7@slot 0x1a #2"
    assert any(line.startswith("[UNKNOWN] 证书 对象 7@插槽 0x1a #2：无法读取：") for line in lines)
    assert not any("object 7" in line for line in lines)
    assert any(
        line.startswith("[UNKNOWN] certificate object 7@slot 0x1a #2: unreadable: ")
        for line in english.details()
    )
    assert english.certificates[0].display_name is None


# --- pkcs11: URIs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "english", "chinese"),
    [
        (
            "pkcs11:token=a b",
            "a space is not allowed unencoded in PKCS#11 URI attribute token: write it as %20",
            "PKCS#11 URI 属性 token 中不能直接出现空格：请写作 %20",
        ),
        (
            "token=ab",
            "not a PKCS#11 URI: 'token=ab' does not start with 'pkcs11:' "
            "(e.g. pkcs11:token=My%20Token)",
            "不是 PKCS#11 URI：'token=ab' 不以 'pkcs11:' 开头（例如 pkcs11:token=My%20Token）",
        ),
        (
            "pkcs11:slot-id=x1",
            "bad slot-id 'x1' in PKCS#11 URI: a decimal number is expected",
            "PKCS#11 URI 中的 slot-id 'x1' 无效：应为十进制数字",
        ),
        (
            "pkcs11:token=a;;serial=1",
            "empty attribute in the path of a PKCS#11 URI (a stray ';')",
            "PKCS#11 URI 的路径部分有空属性（多余的 ';'）",
        ),
        (
            "pkcs11:?pin-source=a&token=b",
            "'token' belongs in the path part of a PKCS#11 URI, before '?' (pkcs11:token=...)",
            "'token' 应放在 PKCS#11 URI 的路径部分，即 '?' 之前（pkcs11:token=...）",
        ),
    ],
)
def test_bad_uri_errors_in_chinese(  # noqa: PLR0917 - the parameters and three fixtures
    uri: str,
    english: str,
    chinese: str,
    capsys: pytest.CaptureFixture[str],
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    # The URI is refused before any module is loaded: no module is needed.
    args = ["list-tokens", "--module", str(tmp_path / "none.so"), "--uri", uri]
    assert cli(*args)[1:] == ("", f"ukeytool: error: {english}\n")
    assert main([*args, "--lang", "zh"]) == ExitCode.USAGE
    assert capsys.readouterr().err == f"ukeytool：错误：{chinese}\n"
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert main(args) == ExitCode.USAGE
    assert capsys.readouterr().err == f"ukeytool：错误：{chinese}\n"
    # The check says it as a monitoring plugin: UNKNOWN (3), on the status line.
    assert main(["check", *args[1:]]) == 3
    assert capsys.readouterr().out == f"UKEYTOOL UNKNOWN - {chinese}\n"


def test_uri_errors_are_made_in_english() -> None:
    with using("zh"), pytest.raises(ukeytool.UsageError) as raised:
        ukeytool.parse_uri("pkcs11:library-version=300")
    message = raised.value.message
    assert str(message) == "bad library-version '300' in PKCS#11 URI: numbers go up to 255"
    with using("zh"):
        assert render(message) == "PKCS#11 URI 中的 library-version '300' 无效：数字最大为 255"


# --- the library: relations and certificates made in English, shown translated --------


def test_key_id_mismatch_and_presence_in_chinese(bank: Bank) -> None:
    from ukeytool.certificates.x509 import read_certificate

    cert = read_certificate(bank.certs["valid"].der)
    valid = Validity(Status.VALID, 365)
    entry = CertificateEntry(1, decode_text(b"sign"), b"\x0b", 0, False, cert, valid)
    other = read_certificate(bank.certs["expiring"].der)
    assert other.public_key is not None
    keys = [KeyObject(9, "private", b"\x0b", None, "RSA", modulus=other.public_key)]
    [related] = relate([entry], keys, keys_listed=True, logged_in=True)
    [finding] = related.findings
    assert str(finding.message).startswith("the private key object with the same CKA_ID (0b) holds")
    assert related.key_on_token is not None
    assert str(related.key_on_token.reason) == (
        "no private key on the token belongs to it (searched after login)"
    )
    with using("zh"):
        assert finding_message(finding).startswith("CKA_ID 相同（0b）的私钥对象持有另一个公钥：")
        reason = key_presence_reason(related.key_on_token)
    assert reason == "此令牌上没有属于它的私钥（已在登录后查找）"
    assert finding_message(finding) == str(finding.message)  # English: as made
    [unfinished] = relate([entry], [], keys_listed=False)
    assert unfinished.key_on_token is not None
    with using("zh"):
        assert key_presence_reason(unfinished.key_on_token) == (
            "密钥查找未完成，且没有属于它的公钥对象"
        )
    mine = KeyObject(3, "private", b"\x0b", None, "RSA", modulus=cert.public_key)
    [found] = relate([entry], [mine], keys_listed=True, logged_in=True)
    assert found.key_on_token is not None
    assert str(found.key_on_token.reason) == (
        "its private key is on the token (same CKA_ID and same public key)"
    )
    with using("zh"):
        assert key_presence_reason(found.key_on_token) == "其私钥在此令牌上（CKA_ID 和公钥均相同）"


def test_nested_reasons_of_the_certificate_reader(bank: Bank) -> None:
    from ukeytool.certificates.x509 import read_certificate

    der = with_subject_value(bank.certs["valid"].der, "李四".encode("gbk"), tag=UTF8_STRING)
    refused, note = read_certificate(der).problems
    assert str(refused.message).startswith("strict parsing refused it (")
    with using("zh"):
        shown = render(refused.message)
        note_shown = render(note.message)
    assert shown.startswith("严格解析拒绝（")
    assert shown.endswith("）；已宽松读取")
    assert note_shown == "CN 是 UTF8String，却含有非 UTF-8 字节；按 gb18030 读取（推测）"
    truncated = read_certificate(bank.certs["valid"].der[:200])
    assert truncated.error is not None
    with using("zh"):
        assert render(truncated.error) == zh(
            "not a DER certificate: truncated at byte {at} of {total}",
            at=200,
            total=len(bank.certs["valid"].der),
        )


def test_holder_words_in_the_chinese_details(bank: Bank) -> None:
    from ukeytool.certificates.x509 import read_certificate
    from ukeytool.rendering.text import render_certificate_details

    der = with_subject_value(
        bank.certs["valid"].der, f"051@张三@Z{ID_NUMBER}@0001".encode(), tag=UTF8_STRING
    )
    cert = read_certificate(der)
    english = render_certificate_details(cert, show_personal_data=True)
    assert f"individual (051): 张三, ID Z (identity card) {ID_NUMBER}, sequence 0001" in english
    with using("zh"):
        chinese = render_certificate_details(cert, show_personal_data=True)
    assert f"个人（051）：张三，ID Z（居民身份证）{ID_NUMBER}，序号 0001" in chinese
    assert cert.holder is not None
    assert cert.holder.kind == "individual"  # the code stays
