"""The renderers: hand-built Report values in, JSON (checked against the shipped schema)
and text (checked for alignment, colour, escaping, footnotes, problems, summary) out."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import importlib.resources
import json
import pathlib
import re
import unicodedata
from typing import Any

import jsonschema
import pytest

from ukeytool import __version__
from ukeytool.errors import UsageError
from ukeytool.i18n import using
from ukeytool.judging.validity import judge
from ukeytool.model import (
    Certificate,
    CertificateEntry,
    Finding,
    KeyPresence,
    LoginOutcome,
    LoginState,
    ModuleFailure,
    ModuleInfo,
    PinState,
    Problem,
    Report,
    Severity,
    SlotInfo,
    SlotReport,
    Status,
    TokenInfo,
)
from ukeytool.model.report import DATES_UNREADABLE, VALUE_UNREADABLE
from ukeytool.model.text import Text
from ukeytool.pkcs11.uri import parse_uri
from ukeytool.rendering.check import (
    CRIT_DAYS_INVALID,
    LISTING_STOPPED,
    check_reports,
    check_to_dict,
)
from ukeytool.rendering.json import SCHEMA_ID, render_json, report_to_dict
from ukeytool.rendering.text import display_width, pad, render_text

from .factories import (
    CKF_LOGIN_REQUIRED,
    CKF_PROTECTED_AUTHENTICATION_PATH,
    CKF_TOKEN_INITIALIZED,
    CKF_USER_PIN_INITIALIZED,
    CKF_USER_PIN_LOCKED,
    DEFAULT_TOKEN_FLAGS,
    make_module_info,
    make_slot_info,
    make_token_info,
    sentence,
    t,
)

UTC = datetime.timezone.utc
AT = datetime.datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
GENERATED = datetime.datetime(2026, 11, 21, 12, 0, 5, 250000, tzinfo=UTC)
WARN = 30
GBK_LABEL = "工行U盾".encode("gbk")  # b9a4d0d055b6dc: not valid UTF-8
EVIL = "bad\x1b[2J\x1b]0;pwned\x07label\u202e"


def cert(
    cn: str | None,
    issuer_cn: str | None,
    not_before: datetime.datetime | None,
    not_after: datetime.datetime | None,
    *,
    algorithm: str | None = "RSA",
    size: int | None = 2048,
    curve: str | None = None,
    error: str | None = None,
    problems: tuple[Problem, ...] = (),
) -> Certificate:
    der = f"{cn}|{issuer_cn}|{not_after}".encode()
    return Certificate(
        der=der,
        sha256=hashlib.sha256(der).hexdigest(),
        sha1=hashlib.sha1(der).hexdigest(),
        subject=None if cn is None else f"CN={cn},O=Test",
        subject_cn=cn,
        issuer=None if issuer_cn is None else f"CN={issuer_cn},C=CN",
        issuer_cn=issuer_cn,
        serial=None if error else "1a2b3c",
        not_before=not_before,
        not_after=not_after,
        key_algorithm=algorithm,
        key_size=size,
        key_curve=curve,
        signature_algorithm=None if error else "sha256WithRSAEncryption",
        signature_algorithm_oid=None if error else "1.2.840.113549.1.1.11",
        key_usage=None if error else ("digitalSignature", "nonRepudiation"),
        extended_key_usage=None if error else ("clientAuth",),
        is_ca=None if error else False,
        self_signed=None if error else False,
        encoding="lenient" if error else "der",
        problems=problems,
        error=error,
    )


def entry(
    handle: int,
    label: Text | None,
    ident: bytes | None,
    certificate: Certificate | None,
    problems: tuple[Problem, ...] = (),
) -> CertificateEntry:
    return CertificateEntry(
        handle=handle,
        label=label,
        id=ident,
        certificate_type=0,
        private=False,
        certificate=certificate,
        validity=judge(certificate, AT, WARN),
        problems=problems,
    )


def days(n: int) -> datetime.datetime:
    return AT + datetime.timedelta(days=n, hours=1)


def slot_info(slot_id: int, description: str, *, present: bool = True) -> SlotInfo:
    return make_slot_info(slot_id, description, present=present)


def token(
    label: Text,
    *,
    flags: int = DEFAULT_TOKEN_FLAGS,
    pin_state: PinState = PinState.OK,
    serial: str = "5f1c2e3d4a5b6c7d",
) -> TokenInfo:
    # The JSON tests check that these numbers pass through unchanged.
    return make_token_info(
        label,
        flags=flags,
        pin_state=pin_state,
        serial=serial,
        max_session_count=-1,
        max_rw_session_count=-1,
    )


DEVICE_ERROR = Problem(
    "C_GetTokenInfo", sentence("C_GetTokenInfo failed"), 0x30, "CKR_DEVICE_ERROR", says_where=True
)

CERTS = (
    entry(1, t("sign-2027"), b"\x01", cert("张三", "Demo CA", days(-30), days(364))),
    entry(
        2,
        t("加密证书"),
        b"\x02",
        cert("李四", "CFCA SM2 OCA1", days(-300), days(10), algorithm="SM2", size=256),
    ),
    entry(
        3,
        t("old-ec"),
        bytes(range(20)),
        cert("Wang Wu", "中国金融认证中心", days(-800), days(-5), algorithm="EC", size=256),
    ),
    entry(4, t("future"), b"\x04", cert("未来", "Demo CA", days(10), days(400))),
    entry(
        5,
        t(GBK_LABEL),
        b"\x05",
        cert(
            None,
            None,
            None,
            None,
            algorithm=None,
            size=None,
            error=sentence("not a certificate: bad DER length"),
            problems=(Problem("not_after", sentence("the validity could not be read")),),
        ),
        problems=(
            Problem(
                "CKA_PRIVATE",
                sentence("C_GetAttributeValue failed"),
                0x12,
                "CKR_ATTRIBUTE_TYPE_INVALID",
            ),
        ),
    ),
    entry(
        6,
        None,
        None,
        None,
        problems=(
            Problem(
                "CKA_VALUE",
                sentence("the certificate's value could not be read"),
                0x11,
                "CKR_ATTRIBUTE_SENSITIVE",
            ),
        ),
    ),
)


def module(path: str = "/usr/lib/softhsm/libsofthsm2.so") -> ModuleInfo:
    return make_module_info(path, real_path="/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")


def full_report() -> Report:
    return Report(
        module=module(),
        slots=(
            SlotReport(slot_info(0x1A2B3C, "SoftHSM slot ID 0x1a2b3c"), token(t(GBK_LABEL)), CERTS),
            SlotReport(slot_info(0x2, "Feitian reader", present=False), None),
            SlotReport(slot_info(0x3, "ICBC reader"), None, problems=(DEVICE_ERROR,)),
            SlotReport(slot_info(0x4, "empty, login"), token(t("空的"))),
            SlotReport(
                slot_info(0x5, "empty, public"),
                token(t("public"), flags=CKF_TOKEN_INITIALIZED | CKF_USER_PIN_INITIALIZED),
            ),
            SlotReport(
                slot_info(0x6, "locked"),
                token(
                    t(EVIL),
                    flags=CKF_TOKEN_INITIALIZED | CKF_LOGIN_REQUIRED | CKF_USER_PIN_LOCKED,
                    pin_state=PinState.LOCKED,
                ),
                CERTS[:1],
                problems=(
                    Problem(
                        "C_FindObjects",
                        sentence("C_FindObjects failed"),
                        0xE0,
                        "CKR_TOKEN_NOT_PRESENT",
                        says_where=True,
                    ),
                ),
                complete=False,
            ),
        ),
        at=AT,
        warn_days=WARN,
        problems=(Problem("C_GetSlotList", sentence("the slot list changed while it was read")),),
    )


def minimal_report(**changes: Any) -> Report:
    base = Report(
        module=module("/opt/icbc/libicbc_ukey.so"),
        slots=(SlotReport(slot_info(0, "USB Key"), token(t("U盾")), CERTS[:2]),),
        at=AT,
        warn_days=WARN,
    )
    return dataclasses.replace(base, **changes)


# -- JSON ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    resource = importlib.resources.files("ukeytool") / "schema" / "report.schema.json"
    loaded: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_ships_and_is_valid(schema: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID
    assert schema["properties"]["schema"] == {"const": SCHEMA_ID}


def test_schema_enums_match_model(schema: dict[str, Any]) -> None:
    assert set(schema["$defs"]["status"]["enum"]) == {s.value for s in Status}
    assert set(schema["$defs"]["pin_state"]["enum"]) == {p.value for p in PinState}
    summary = schema["properties"]["summary"]["properties"]
    assert set(summary) == {"certificates"} | {s.value for s in Status}


@pytest.mark.parametrize(
    "reports",
    [
        pytest.param([full_report()], id="full"),
        pytest.param([minimal_report(), full_report()], id="two-modules"),
        pytest.param([minimal_report(slots=())], id="no-slots"),
        pytest.param([], id="no-modules"),
    ],
)
def test_json_validates(validator: jsonschema.Draft202012Validator, reports: list[Report]) -> None:
    document = report_to_dict(reports, generated_at=GENERATED)
    validator.validate(document)
    # The text is the same document, and itself valid.
    text = render_json(reports, generated_at=GENERATED)
    assert text.endswith("}\n")
    assert json.loads(text) == document
    validator.validate(json.loads(text))


def test_json_top_level() -> None:
    document = report_to_dict([full_report()], generated_at=GENERATED)
    assert document["schema"] == SCHEMA_ID
    assert document["schema_version"] == 1
    assert document["tool"] == "ukeytool"
    assert document["tool_version"] == __version__
    assert document["generated_at"] == "2026-11-21T12:00:05.250000Z"
    assert document["at"] == "2026-11-21T12:00:00Z"
    assert document["warn_days"] == WARN
    assert document["complete"] is False
    assert document["summary"] == {
        "certificates": 7,
        "valid": 2,
        "expiring": 1,
        "expired": 1,
        "not_yet_valid": 1,
        "unreadable": 2,
    }
    (mod,) = document["modules"]
    assert mod["path"] == "/usr/lib/softhsm/libsofthsm2.so"
    assert mod["cryptoki_version"] == "2.40"
    assert mod["library_version"] == "2.6"
    assert mod["manufacturer"] == "SoftHSM"
    assert mod["problems"] == [
        {
            "where": "C_GetSlotList",
            "message": "the slot list changed while it was read",
            "message_code": sentence("the slot list changed while it was read").code,
            "code": None,
            "code_name": None,
        }
    ]


def test_json_slots_and_tokens() -> None:
    (mod,) = report_to_dict([full_report()], generated_at=GENERATED)["modules"]
    first, empty, broken, *_, locked = mod["slots"]
    assert first["slot_id"] == 0x1A2B3C
    assert first["flags"] == 1
    assert first["token_present"] is True
    assert first["complete"] is True
    tok = first["token"]
    assert tok["slot_id"] == 0x1A2B3C
    assert tok["label"] == "工行U盾"
    assert tok["label_hex"] == "b9a4d0d055b6dc"
    assert tok["label_encoding"] == "gb18030"
    assert tok["label_guessed"] is True
    assert tok["serial"] == "5f1c2e3d4a5b6c7d"
    assert tok["serial_encoding"] == "utf-8"
    assert tok["serial_guessed"] is False
    assert tok["pin_state"] == "ok"
    assert tok["login_required"] is True
    assert tok["initialized"] is True
    assert tok["protected_authentication_path"] is False
    assert tok["flag_names"] == [
        "CKF_LOGIN_REQUIRED",
        "CKF_USER_PIN_INITIALIZED",
        "CKF_TOKEN_INITIALIZED",
    ]
    assert tok["max_session_count"] == -1
    assert tok["session_count"] is None
    assert tok["hardware_version"] == "2.6"
    assert len(tok["certificates"]) == len(CERTS)
    assert "certificates" not in first

    assert empty["token"] is None
    assert empty["token_present"] is False
    assert broken["token"] is None
    assert broken["problems"] == [
        {
            "where": "C_GetTokenInfo",
            "message": "C_GetTokenInfo failed",
            "message_code": sentence("C_GetTokenInfo failed").code,
            "code": 0x30,
            "code_name": "CKR_DEVICE_ERROR",
        }
    ]
    assert locked["complete"] is False
    assert locked["token"]["pin_state"] == "locked"
    assert locked["token"]["label"] == EVIL


def test_json_certificates() -> None:
    (mod,) = report_to_dict([full_report()], generated_at=GENERATED)["modules"]
    good, sm2, ec, future, broken, missing = mod["slots"][0]["token"]["certificates"]
    assert good["label"] == "sign-2027"
    assert good["label_encoding"] == "utf-8"
    assert good["id"] == "01"
    assert good["subject_cn"] == "张三"
    assert good["issuer"] == "CN=Demo CA,C=CN"
    assert good["status"] == "valid"
    assert good["days_left"] == 364
    assert good["not_after"] == "2027-11-20T13:00:00Z"
    assert good["not_before"] == "2026-10-22T13:00:00Z"
    assert good["key_algorithm"] == "RSA"
    assert good["key_size"] == 2048
    assert good["key_usage"] == ["digitalSignature", "nonRepudiation"]
    assert good["extended_key_usage"] == ["clientAuth"]
    assert good["sha256"] == hashlib.sha256(CERTS[0].certificate.der).hexdigest()  # type: ignore[union-attr]
    assert good["encoding"] == "der"
    assert good["error"] is None
    assert good["problems"] == []
    assert sm2["status"] == "expiring"
    assert sm2["key_algorithm"] == "SM2"
    assert ec["status"] == "expired"
    assert ec["id"] == bytes(range(20)).hex()
    assert future["status"] == "not_yet_valid"

    assert broken["status"] == "unreadable"
    assert broken["days_left"] is None
    assert broken["not_after"] is None
    assert broken["error"] == "not a certificate: bad DER length"
    assert broken["label"] == "工行U盾"
    assert broken["label_guessed"] is True
    assert [p["where"] for p in broken["problems"]] == ["CKA_PRIVATE", "not_after"]
    assert broken["problems"][0]["code"] == 0x12
    assert broken["problems"][0]["code_name"] == "CKR_ATTRIBUTE_TYPE_INVALID"

    assert missing["label"] is None
    assert missing["label_hex"] is None
    assert missing["id"] is None
    assert missing["sha256"] is None
    assert missing["encoding"] is None
    assert missing["status"] == "unreadable"
    assert missing["problems"][0]["code_name"] == "CKR_ATTRIBUTE_SENSITIVE"


GBK_TOKEN_URI = (
    "pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=5f1c2e3d4a5b6c7d;"
    "token=%B9%A4%D0%D0U%B6%DC"
)


def test_json_uris() -> None:
    (mod,) = report_to_dict([full_report()], generated_at=GENERATED)["modules"]
    tok = mod["slots"][0]["token"]
    # Built from the raw bytes: the GBK label is percent-encoded byte for byte, and
    # parsing the URI gives those bytes back.
    assert tok["uri"] == GBK_TOKEN_URI
    assert parse_uri(tok["uri"]).token == GBK_LABEL
    good, sm2, ec, _future, broken, missing = tok["certificates"]
    assert good["uri"] == GBK_TOKEN_URI + ";id=%01;object=sign-2027;type=cert"
    assert sm2["uri"] == (
        GBK_TOKEN_URI + ";id=%02;object=%E5%8A%A0%E5%AF%86%E8%AF%81%E4%B9%A6;type=cert"
    )
    assert ec["uri"] == GBK_TOKEN_URI + ";id=" + "".join(f"%{b:02X}" for b in range(20)) + (
        ";object=old-ec;type=cert"
    )
    assert broken["uri"] == GBK_TOKEN_URI + ";id=%05;object=%B9%A4%D0%D0U%B6%DC;type=cert"
    # No CKA_ID, no CKA_LABEL: the token's URI and the type only.
    assert missing["uri"] == GBK_TOKEN_URI + ";type=cert"
    # Control characters in a label cannot reach the JSON text raw: they are %XX.
    locked = mod["slots"][-1]["token"]
    assert locked["uri"].endswith(";token=bad%1B%5B2J%1B%5D0%3Bpwned%07label%E2%80%AE")


def test_json_certificate_uri_without_token_info(
    validator: jsonschema.Draft202012Validator,
) -> None:
    report = minimal_report(slots=(SlotReport(slot_info(7, "odd"), None, CERTS[:1]),))
    document = report_to_dict([report], generated_at=GENERATED)
    validator.validate(document)
    assert document["modules"][0]["slots"][0]["certificates"][0]["uri"] == (
        "pkcs11:id=%01;object=sign-2027;type=cert"
    )


def test_schema_requires_uris(validator: jsonschema.Draft202012Validator) -> None:
    document = report_to_dict([full_report()], generated_at=GENERATED)
    tok = document["modules"][0]["slots"][0]["token"]
    for holder in (tok, tok["certificates"][0]):
        uri = holder.pop("uri")
        assert not validator.is_valid(document)
        holder["uri"] = "token=x"
        assert not validator.is_valid(document)
        holder["uri"] = "pkcs11:token=a b"
        assert not validator.is_valid(document)
        holder["uri"] = uri
        assert validator.is_valid(document)


def test_json_empty_list() -> None:
    document = report_to_dict([], generated_at=GENERATED)
    assert document["at"] == document["generated_at"]
    assert document["warn_days"] is None
    assert document["complete"] is True
    assert document["modules"] == []
    assert document["summary"]["certificates"] == 0


def test_json_moments_are_utc_z() -> None:
    shanghai = datetime.timezone(datetime.timedelta(hours=8))
    report = minimal_report(at=datetime.datetime(2026, 11, 22, 8, 0, tzinfo=shanghai))
    generated = datetime.datetime(2026, 11, 22, 8, 0, 1, tzinfo=shanghai)
    document = report_to_dict([report], generated_at=generated)
    assert document["at"] == "2026-11-22T00:00:00Z"
    assert document["generated_at"] == "2026-11-22T00:00:01Z"


def test_json_refuses_naive_generated_at() -> None:
    with pytest.raises(UsageError):
        report_to_dict([], generated_at=datetime.datetime(2026, 1, 1))


def test_json_refuses_reports_judged_differently() -> None:
    with pytest.raises(ValueError, match="same moment"):
        report_to_dict([minimal_report(), minimal_report(warn_days=7)], generated_at=GENERATED)
    later = AT + datetime.timedelta(seconds=1)
    with pytest.raises(ValueError, match="same moment"):
        report_to_dict([minimal_report(), minimal_report(at=later)], generated_at=GENERATED)


def test_json_certificates_without_token_info(
    validator: jsonschema.Draft202012Validator,
) -> None:
    report = minimal_report(slots=(SlotReport(slot_info(7, "odd"), None, CERTS[:1]),))
    document = report_to_dict([report], generated_at=GENERATED)
    validator.validate(document)
    slot = document["modules"][0]["slots"][0]
    assert slot["token"] is None
    assert slot["certificates"][0]["label"] == "sign-2027"


def test_json_text_keeps_unicode_and_escapes_controls() -> None:
    label = "工行\x1b[31m\x9b2J\u202eevil\U000e0041"
    report = minimal_report(slots=(SlotReport(slot_info(0, "x"), token(t(label)), ()),))
    text = render_json([report], generated_at=GENERATED)
    assert "工行" in text
    assert not [ch for ch in text if ch != "\n" and unicodedata.category(ch)[0] == "C"]
    assert "\\u009b" in text
    assert "\\u202e" in text
    assert "\\udb40\\udc41" in text
    assert json.loads(text)["modules"][0]["slots"][0]["token"]["label"] == label


def test_schema_catches_drift(validator: jsonschema.Draft202012Validator) -> None:
    document = report_to_dict([full_report()], generated_at=GENERATED)
    certificate = document["modules"][0]["slots"][0]["token"]["certificates"][0]
    certificate["surprise"] = 1
    assert not validator.is_valid(document)
    del certificate["surprise"]
    certificate["status"] = "fine"
    assert not validator.is_valid(document)
    certificate["status"] = "valid"
    certificate["not_after"] = "2027-11-21T13:00:00+00:00"
    assert not validator.is_valid(document)
    certificate["not_after"] = "2027-11-21T13:00:00Z"
    del certificate["sha1"]
    assert not validator.is_valid(document)
    certificate["sha1"] = "00" * 20
    document["modules"][0]["slots"][0]["token"]["pin_state"] = "blocked"
    assert not validator.is_valid(document)
    document["modules"][0]["slots"][0]["token"]["pin_state"] = "final_try"
    assert validator.is_valid(document)


def test_schema_file_in_source_tree_is_the_shipped_one(schema: dict[str, Any]) -> None:
    source = pathlib.Path(__file__).parent.parent / "src/ukeytool/schema/report.schema.json"
    if source.exists():
        assert json.loads(source.read_text(encoding="utf-8")) == schema


# -- text ----------------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_display_width_and_pad() -> None:
    assert display_width("abc") == 3
    assert display_width("张三") == 4
    assert display_width("工行U盾") == 7
    assert display_width("ＡＢ") == 4  # fullwidth
    assert display_width("e\u0301") == 1  # combining accent
    assert display_width("") == 0
    assert pad("张三", 6) == "张三  "
    assert pad("42", 5, right=True) == "   42"
    assert pad("toolong", 3) == "toolong"


def table_lines(text: str, header_index: int) -> list[str]:
    lines = text.splitlines()
    out = [lines[header_index]]
    for line in lines[header_index + 1 :]:
        if line.startswith("      !"):  # a certificate's problem, under its row
            continue
        if not line.startswith("    "):
            break
        out.append(line)
    return out


def test_text_columns_line_up_with_chinese() -> None:
    text = render_text([full_report()], color=False)
    lines = text.splitlines()
    header_index = next(i for i, line in enumerate(lines) if "STATUS" in line)
    table = table_lines(text, header_index)
    assert len(table) == 1 + len(CERTS)
    statuses = [
        "valid",
        "expiring",
        "expired",
        "not yet valid",
        "unreadable: not a certificate: bad DER length",
        "unreadable: the certificate's value could not be read",
    ]
    header = table[0]
    status_col = display_width(header[: header.index("STATUS")])
    date_col = display_width(header[: header.index("NOT AFTER")])
    days_end = display_width(header[: header.index("DAYS") + len("DAYS")])
    for line, status in zip(table[1:], statuses, strict=True):
        assert line.endswith(status), line
        assert display_width(line[: -len(status)]) == status_col, line
        date = re.search(r"\d{4}-\d{2}-\d{2}|  -  ", line)
        assert date is not None
        if date.group().strip() != "-":
            assert display_width(line[: date.start()]) == date_col, line
        days_match = re.search(r"(-?\d+|-)  " + re.escape(status) + "$", line)
        assert days_match is not None, line
        assert display_width(line[: days_match.end(1)]) == days_end, line
    # The Chinese cells are there, whole.
    assert "张三" in table[1]
    assert "加密证书" in table[2]
    assert "中国金融认证中心" in table[3]
    assert "RSA-2048" in table[1]
    assert "SM2-256" in table[2]
    assert "EC-256" in table[3]
    assert "2027-11-20" in table[1]
    assert re.search(r"\b364  valid$", table[1])
    assert "000102030405..." in table[3]


def test_text_no_ansi_without_color() -> None:
    text = render_text([full_report(), minimal_report()], color=False)
    assert "\x1b" not in text
    assert "\x9b" not in text


def test_text_ansi_with_color() -> None:
    text = render_text([full_report()], color=True)
    assert "\x1b[32mvalid\x1b[0m" in text
    assert "\x1b[33mexpiring\x1b[0m" in text
    assert "\x1b[31mexpired\x1b[0m" in text
    assert "\x1b[31mnot yet valid\x1b[0m" in text
    assert "\x1b[31munreadable: not a certificate: bad DER length\x1b[0m" in text
    assert "PIN: \x1b[1;31mLOCKED" in text
    # Every escape in the output is one of ours; none came from the token's label.
    assert "\x1b" not in ANSI.sub("", text)
    # Colour changes nothing but the escapes.
    assert ANSI.sub("", text) == render_text([full_report()], color=False)


def test_text_escapes_control_characters() -> None:
    text = render_text([full_report()], color=False)
    assert "Token bad\\x1b[2J\\x1b]0;pwned\\x07label\\u202e  serial" in text
    for line in text.splitlines():
        assert not [ch for ch in line if unicodedata.category(ch)[0] == "C"], line


def test_text_guessed_marker_and_footnote() -> None:
    text = render_text([full_report()], color=False)
    assert (
        "  Token 工行U盾†  serial 5f1c2e3d4a5b6c7d  SoftHSM project / SoftHSM v2  PIN: ok" in text
    )
    assert re.search(r"^    工行U盾† +05 ", text, re.MULTILINE)
    footnotes = [line for line in text.splitlines() if line.startswith("†")]
    # One footnote per distinct raw value, however often it appears.
    assert footnotes == [
        "† 工行U盾: decoded as GB18030 (not valid UTF-8); raw bytes: b9a4d0d055b6dc"
    ]


def test_text_undecodable_footnote() -> None:
    raw = b"\xff\xfeU\x80"
    report = minimal_report(slots=(SlotReport(slot_info(0, "x"), token(t(raw)), ()),))
    assert t(raw).encoding == "unknown"
    text = render_text([report], color=False)
    assert "Token \\xff\\xfeU\\x80†" in text
    assert (
        "† \\xff\\xfeU\\x80: neither UTF-8 nor GB18030, undecodable bytes shown as \\xNN; "
        "raw bytes: fffe5580"
    ) in text


def test_text_problems_where_they_happened() -> None:
    lines = render_text([full_report()], color=False).splitlines()
    module_line = next(i for i, line in enumerate(lines) if line.startswith("Module "))
    assert lines[module_line + 2] == ("  ! C_GetSlotList: the slot list changed while it was read")
    slot3 = lines.index("Slot 0x3  ICBC reader")
    assert lines[slot3 + 1] == "  (token present, but its information could not be read)"
    assert lines[slot3 + 2] == "  ! C_GetTokenInfo failed: CKR_DEVICE_ERROR (0x30)"
    broken = next(i for i, line in enumerate(lines) if "bad DER length" in line)
    assert lines[broken + 1] == (
        "      ! CKA_PRIVATE: C_GetAttributeValue failed: CKR_ATTRIBUTE_TYPE_INVALID (0x12)"
    )
    assert lines[broken + 2] == "      ! not_after: the validity could not be read"


def test_text_problem_formats() -> None:
    report = minimal_report(
        problems=(
            Problem(
                "C_Finalize",
                sentence("C_Finalize returned CKR_GENERAL_ERROR"),
                0x5,
                "CKR_GENERAL_ERROR",
                says_where=True,
                says_code=True,
            ),
            Problem("C_OpenSession", sentence("vendor error"), 0x80000001, None),
            Problem("subject", sentence("undecodable\x1b[1m name")),
        )
    )
    text = render_text([report], color=False)
    assert "  ! C_Finalize returned CKR_GENERAL_ERROR (0x5)\n" in text
    assert "  ! C_OpenSession: vendor error: CK_RV 0x80000001\n" in text
    assert "  ! subject: undecodable\\x1b[1m name\n" in text


def test_text_problem_says_what_its_flags_and_parameters_say() -> None:
    # Sentences are never read: the flags and the message's parameters decide.
    stopped = LISTING_STOPPED()
    rv = CRIT_DAYS_INVALID(value="CKR_DEVICE_ERROR")  # a parameter that is the CK_RV name
    report = minimal_report(
        problems=(
            Problem("C_GetTokenInfo", stopped, 0x30, "CKR_DEVICE_ERROR"),
            Problem("C_Login", stopped, 0x30, "CKR_DEVICE_ERROR", says_where=True),
            Problem("C_Logout", stopped, 0x30, "CKR_DEVICE_ERROR", says_code=True),
            Problem("C_CloseSession", rv, 0x30, "CKR_DEVICE_ERROR"),
        )
    )
    text = render_text([report], color=False)
    assert (
        "  ! C_GetTokenInfo: the certificate listing stopped part-way: CKR_DEVICE_ERROR (0x30)\n"
        in text
    )
    assert "  ! the certificate listing stopped part-way: CKR_DEVICE_ERROR (0x30)\n" in text
    assert "  ! C_Logout: the certificate listing stopped part-way (0x30)\n" in text
    assert f"  ! C_CloseSession: {rv} (0x30)\n" in text
    # the check's details say the same
    details = [line.split(": ", 1)[1] for line in check_reports([report]).details()]
    stopped_text = "the certificate listing stopped part-way"
    reason = "the module was not fully read"
    assert f"C_GetTokenInfo: {stopped_text} (CKR_DEVICE_ERROR); {reason}" in details
    assert f"{stopped_text} (CKR_DEVICE_ERROR); {reason}" in details
    assert f"C_Logout: {stopped_text}; {reason}" in details
    assert f"C_CloseSession: {rv}; {reason}" in details


def test_message_code_beside_every_sentence(
    validator: jsonschema.Draft202012Validator,
) -> None:
    unreadable = entry(1, t("broken"), b"\x01", cert(None, None, None, None, error=sentence("x")))
    unreadable = dataclasses.replace(
        unreadable,
        certificate=dataclasses.replace(unreadable.certificate, error=VALUE_UNREADABLE()),
        key_on_token=KeyPresence("unknown", "unknown", (), DATES_UNREADABLE()),
        findings=(Finding("no-key-usage", Severity.INFO, DATES_UNREADABLE()),),
    )
    slot = SlotReport(
        slot_info(0, "USB Key"),
        token(t("U盾")),
        (unreadable,),
        problems=(Problem("C_FindObjects", LISTING_STOPPED()),),
        login=LoginOutcome(LoginState.REFUSED, DATES_UNREADABLE()),
    )
    report = minimal_report(slots=(slot,))
    failure = ModuleFailure("/opt/x.so", "ModuleNotFound", CRIT_DAYS_INVALID(value="7"))
    documents = {
        lang: report_to_dict([report], generated_at=GENERATED, failures=[failure], lang=lang)
        for lang in ("en", "zh")
    }
    for document in documents.values():
        validator.validate(document)
    en, zh = (documents[lang]["modules"][0]["slots"][0] for lang in ("en", "zh"))
    # a problem's message_code is its Message's code, in every language; the sentence is not
    assert en["problems"][0]["message_code"] == zh["problems"][0]["message_code"]
    assert en["problems"][0]["message_code"] == LISTING_STOPPED.code == "check.listing_stopped"
    assert en["problems"][0]["message"] == "the certificate listing stopped part-way"
    assert zh["problems"][0]["message"] == LISTING_STOPPED().render("zh")
    assert zh["problems"][0]["message"] != en["problems"][0]["message"]
    for slot_doc in (en, zh):
        (certificate,) = slot_doc["token"]["certificates"]
        assert certificate["message_code"] == "certificate.value_unreadable"
        assert certificate["key_on_token"]["message_code"] == "certificate.dates_unreadable"
        assert certificate["findings"][0]["message_code"] == "certificate.dates_unreadable"
        assert slot_doc["login"]["message_code"] == "certificate.dates_unreadable"
    for document in documents.values():
        assert document["failed_modules"][0]["message_code"] == "check.crit_days_invalid"
    # a readable certificate has no error, and so no code
    plain = report_to_dict([full_report()], generated_at=GENERATED)
    certificates = plain["modules"][0]["slots"][0]["token"]["certificates"]
    assert certificates[0]["error"] is None
    assert certificates[0]["message_code"] is None
    # the check's JSON carries the same codes
    for lang in ("en", "zh"):
        with using(lang):
            checked = check_to_dict(check_reports([report], failures=[failure]))
        codes = [p["message_code"] for p in checked["problems"]]
        assert "check.listing_stopped" in codes
        assert "check.crit_days_invalid" in codes
        assert checked["findings"][0]["message_code"] == "certificate.dates_unreadable"


def test_message_code_under_lang_zh_on_the_command_line(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path
) -> None:
    # --lang changes the sentence of a problem, never its code
    from ukeytool.cli import main

    (tmp_path / "empty.pem").write_bytes(b"")
    documents = {}
    for lang in ("en", "zh"):
        main(["inspect-file", str(tmp_path / "empty.pem"), "--json", "--lang", lang])
        documents[lang] = json.loads(capsys.readouterr().out)
    en, zh = (documents[lang]["files"][0]["problems"][0] for lang in ("en", "zh"))
    assert en["message"] != zh["message"]
    assert en["message_code"] == zh["message_code"]
    # None until the file reader makes its sentences from templates
    assert en["message_code"] is None or re.fullmatch(
        r"[a-z0-9_]+(\.[a-z0-9_]+)+", en["message_code"]
    )


def test_text_slots_tokens_and_empty_listings() -> None:
    text = render_text([full_report()], color=False)
    lines = text.splitlines()
    assert lines[0] == "Validity at 2026-11-21 12:00:00 UTC; expiring = expires within 30 days"
    assert (
        "Module /usr/lib/softhsm/libsofthsm2.so  "
        "(SoftHSM, Implementation of PKCS11, version 2.6, PKCS#11 2.40)"
    ) in lines
    assert "  real path /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so" in lines
    assert lines[lines.index("Slot 0x2  Feitian reader") + 1] == "  (no token)"
    hidden = (
        "    no certificates visible without login (private certificates may be hidden; "
        "--login shows them)"
    )
    # "0 certificates" is never absolute without login, whatever CKF_LOGIN_REQUIRED says
    assert lines[lines.index("Slot 0x4  empty, login") + 3] == hidden
    assert lines[lines.index("Slot 0x5  empty, public") + 3] == hidden
    locked = lines.index("Slot 0x6  locked")
    assert lines[locked + 1].startswith("  Token ")
    assert "PIN" not in lines[locked + 1]
    assert lines[locked + 2] == "  PIN: LOCKED (only the token's issuer can unlock it)"
    assert lines[locked + 3].startswith("  URI pkcs11:")
    assert lines[locked + 4] == "  ! C_FindObjects failed: CKR_TOKEN_NOT_PRESENT (0xe0)"
    assert (
        "    (certificate listing incomplete: certificates may be missing; see the lines marked !)"
    ) in lines[locked:]


def test_text_token_uri_line() -> None:
    lines = render_text([full_report()], color=False).splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("  Token 工行U盾†"))
    assert lines[first + 1] == f"  URI {GBK_TOKEN_URI}"
    # Every token has one, and only tokens: one per token in the report.
    assert sum(line.startswith("  URI pkcs11:") for line in lines) == 4
    # The URI line is ASCII, whatever the label: nothing to escape, nothing to footnote.
    for line in lines:
        if line.startswith("  URI "):
            assert line.isascii(), line
            assert line.isprintable(), line
    # A PIN warning keeps its own line, before the URI.
    locked = lines.index("Slot 0x6  locked")
    assert lines[locked + 2].startswith("  PIN: LOCKED")
    assert lines[locked + 3].startswith("  URI pkcs11:")


def test_text_certificate_uris_only_when_asked() -> None:
    plain = render_text([full_report()], color=False)
    assert ";type=cert" not in plain
    text = render_text([full_report()], color=False, certificate_uris=True)
    lines = text.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("    sign-2027 "))
    assert lines[row + 1] == f"      {GBK_TOKEN_URI};id=%01;object=sign-2027;type=cert"
    broken = next(i for i, line in enumerate(lines) if "bad DER length" in line)
    # The URI comes right under its row, then the row's problems.
    assert lines[broken + 1] == f"      {GBK_TOKEN_URI};id=%05;object=%B9%A4%D0%D0U%B6%DC;type=cert"
    assert lines[broken + 2].startswith("      ! CKA_PRIVATE")
    # Without the URI lines, the listing is the same.
    without = [line for line in lines if not line.startswith("      pkcs11:")]
    assert "\n".join(without) + "\n" == plain


def test_text_pin_states() -> None:
    for state, expected in [
        (PinState.FINAL_TRY, "PIN: FINAL TRY (one more wrong PIN locks the token)"),
        (PinState.COUNT_LOW, "PIN: WRONG PIN ENTERED since the last login"),
        (PinState.NOT_INITIALISED, "PIN: token not initialised"),
        (PinState.USER_PIN_NOT_SET, "PIN: not set"),
        (PinState.MUST_BE_CHANGED, "PIN: must be changed"),
    ]:
        tok = token(t("k"), pin_state=state, flags=CKF_PROTECTED_AUTHENTICATION_PATH)
        report = minimal_report(slots=(SlotReport(slot_info(0, "x"), tok, ()),))
        assert f"{expected} (PIN pad)" in render_text([report], color=False)
    tok = token(t("k"), pin_state=PinState.FINAL_TRY)
    report = minimal_report(slots=(SlotReport(slot_info(0, "x"), tok, ()),))
    assert "PIN: \x1b[1;31mFINAL TRY" in render_text([report], color=True)


def test_text_summary() -> None:
    text = render_text([full_report()], color=False)
    assert text.endswith(
        "\n7 certificates: 2 valid, 1 expiring, 1 expired, 1 not yet valid, 2 unreadable; "
        "some things could not be read (lines marked !)\n"
    )
    text = render_text([minimal_report()], color=False)
    assert text.endswith("\n2 certificates: 1 valid, 1 expiring\n")
    one = minimal_report(slots=(SlotReport(slot_info(0, "x"), token(t("k")), CERTS[:1]),))
    assert render_text([one], color=False).endswith("\n1 certificate: 1 valid\n")


def test_text_empty_list() -> None:
    assert render_text([], color=True) == "No modules inspected.\n\n0 certificates\n"
