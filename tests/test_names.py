"""Names as people wrote them: each attribute of a subject or issuer with its string type,
its raw bytes and how it was decoded; the CFCA holder fields; identity numbers carried in
extensions. One decoder (decode_text) for labels and names alike.

Certificates are minted here and edited with :mod:`ukeytool.testing.certs` into the
shapes real tokens hold (signatures go stale; nothing here checks them).
"""

from __future__ import annotations

import dataclasses
import datetime
import json

import pytest

from ukeytool.certificates.x509 import read_certificate
from ukeytool.model import (
    Certificate,
    CertificateEntry,
    Holder,
    NameAttribute,
    Report,
    SlotReport,
    Status,
    Validity,
)
from ukeytool.model.text import decode_text
from ukeytool.rendering.json import _certificate, report_to_dict
from ukeytool.rendering.text import render_certificate_details, render_text
from ukeytool.testing.certs import (
    BMP_STRING,
    PRINTABLE_STRING,
    UTF8_STRING,
    identity_code,
    mint,
    with_extension,
    with_long_form_length,
    with_subject_value,
)

from .factories import make_module_info, make_slot_info, make_token_info
from .test_cli import schema_validator

UTC = datetime.timezone.utc
NOT_BEFORE = datetime.datetime(2029, 1, 1, tzinfo=UTC)
NOT_AFTER = datetime.datetime(2031, 1, 1, tzinfo=UTC)
TELETEX_STRING = 0x14
IA5_STRING = 0x16
UNIVERSAL_STRING = 0x1C
OCTET_STRING = 0x04
COMMON_NAME = "2.5.4.3"
ORGANIZATIONAL_UNIT = "2.5.4.11"
ID_NUMBER = "11010519491231002X"


@pytest.fixture(scope="module")
def base() -> bytes:
    """A small EC certificate with C, O, OU, CN to edit (EC keys are quick to make)."""
    return mint(
        subject_cn="Demo",
        key="ec-p256",
        organization="CFCA OCA1",
        organizational_units=("Individual-1",),
        not_before=NOT_BEFORE,
        not_after=NOT_AFTER,
    ).der


def cn_of(cert: Certificate) -> NameAttribute:
    assert cert.subject_attributes is not None
    [cn] = [a for a in cert.subject_attributes if a.oid == COMMON_NAME]
    return cn


# --- decode_text: one decoder for labels and names ------------------------------------------


@pytest.mark.parametrize(
    ("raw", "string_type", "value", "encoding", "guessed"),
    [
        pytest.param(b"ICBC", None, "ICBC", "utf-8", False, id="label-ascii"),
        pytest.param("工行".encode(), None, "工行", "utf-8", False, id="label-utf8"),
        pytest.param("工行".encode("gbk"), None, "工行", "gb18030", True, id="label-gbk"),
        pytest.param("张三".encode(), UTF8_STRING, "张三", "utf-8", False, id="utf8string"),
        pytest.param("张三".encode("gbk"), UTF8_STRING, "张三", "gb18030", True, id="utf8-gbk"),
        pytest.param(b"CN", PRINTABLE_STRING, "CN", "ascii", False, id="printable"),
        pytest.param(
            "张三".encode("gbk"), PRINTABLE_STRING, "张三", "gb18030", True, id="printable-gbk"
        ),
        pytest.param("张三".encode(), PRINTABLE_STRING, "张三", "utf-8", True, id="printable-utf8"),
        pytest.param(
            "张三".encode("gbk"), TELETEX_STRING, "张三", "gb18030", True, id="teletex-gbk"
        ),
        pytest.param("王五".encode("utf-16-be"), BMP_STRING, "王五", "utf-16-be", False, id="bmp"),
        pytest.param(
            "王五".encode("utf-32-be"), UNIVERSAL_STRING, "王五", "utf-32-be", False, id="universal"
        ),
        pytest.param(
            "王五".encode("gbk") + b"!", BMP_STRING, "王五!", "gb18030", True, id="bmp-odd-length"
        ),
        pytest.param(b"\xff\xfeA", UTF8_STRING, "\\xff\\xfeA", "unknown", True, id="undecodable"),
    ],
)
def test_decode_text(
    raw: bytes, string_type: int | None, value: str, encoding: str, guessed: bool
) -> None:
    text = decode_text(raw, string_type=string_type)
    assert (text.value, text.encoding, text.guessed) == (value, encoding, guessed)
    assert text.raw == raw


def test_labels_and_names_decode_alike() -> None:
    raw = "签名证书".encode("gbk")
    assert decode_text(raw) == decode_text(raw, string_type=UTF8_STRING)


# --- name attributes ---------------------------------------------------------------------


def test_attributes_in_certificate_order(base: bytes) -> None:
    cert = read_certificate(base)
    assert cert.encoding == "der"
    assert cert.subject_attributes is not None
    assert [(a.name, a.value, a.string_type, a.rdn) for a in cert.subject_attributes] == [
        ("C", "CN", "PrintableString", 0),
        ("O", "CFCA OCA1", "UTF8String", 1),
        ("OU", "Individual-1", "UTF8String", 2),
        ("CN", "Demo", "UTF8String", 3),
    ]
    assert all(a.decoding == "strict" for a in cert.subject_attributes)
    assert cert.issuer_attributes == cert.subject_attributes  # self-signed
    assert cn_of(cert).text.raw == b"Demo"


@pytest.mark.parametrize(
    ("raw", "tag", "string_type", "decoding", "encoding", "note"),
    [
        pytest.param(
            "张三".encode("gbk"),
            PRINTABLE_STRING,
            "PrintableString",
            "guess",
            "gb18030",
            "CN is a PrintableString holding non-ASCII bytes; read as gb18030 (a guess)",
            id="gbk-printable",
        ),
        pytest.param(
            "张三".encode("gbk"),
            UTF8_STRING,
            "UTF8String",
            "guess",
            "gb18030",
            "CN is a UTF8String holding non-UTF-8 bytes; read as gb18030 (a guess)",
            id="gbk-utf8",
        ),
        pytest.param(
            "张三".encode("gbk"),
            TELETEX_STRING,
            "TeletexString",
            "guess",
            "gb18030",
            "CN is a TeletexString holding non-ASCII bytes; read as gb18030 (a guess)",
            id="gbk-teletex",
        ),
        pytest.param(
            "张三".encode("utf-16-be"),
            BMP_STRING,
            "BMPString",
            "strict",
            "utf-16-be",
            None,
            id="bmp",
        ),
        pytest.param(
            "张三".encode("utf-32-be"),
            UNIVERSAL_STRING,
            "UniversalString",
            "strict",
            "utf-32-be",
            None,
            id="universal",
        ),
        pytest.param(
            b"\xff\xfe\x80",
            IA5_STRING,
            "IA5String",
            "undecodable",
            "unknown",
            "CN is a IA5String holding non-ASCII bytes; it could not be decoded "
            "(shown with \\xNN escapes)",
            id="undecodable",
        ),
    ],
)
def test_each_value_as_written(
    base: bytes,
    *,
    raw: bytes,
    tag: int,
    string_type: str,
    decoding: str,
    encoding: str,
    note: str | None,
) -> None:
    cert = read_certificate(with_subject_value(base, raw, tag=tag))
    cn = cn_of(cert)
    assert (cn.string_type, cn.decoding, cn.text.encoding) == (string_type, decoding, encoding)
    assert cn.text.raw == raw
    assert cn.value == cert.subject_cn
    notes = [str(p.message) for p in cert.problems if p.where == "subject"]
    if note is None:
        assert not notes
    else:
        assert note in notes
    # The rest of the name is untouched, and the JSON keeps the raw bytes as hex.
    assert cert.subject_attributes is not None
    assert [a.name for a in cert.subject_attributes] == ["C", "O", "OU", "CN"]
    entry = CertificateEntry(1, None, None, 0, False, cert, Validity(Status.VALID, 1))
    [member] = [
        a for a in _certificate(None, entry)["subject_attributes"] if a["oid"] == COMMON_NAME
    ]
    assert member["value_hex"] == raw.hex()
    assert member["decoding"] == decoding


def test_a_value_that_is_no_string(base: bytes) -> None:
    value = b"\x04\x03abc"
    der = with_subject_value(base, value[2:], tag=OCTET_STRING, oid=ORGANIZATIONAL_UNIT)
    cert = read_certificate(with_long_form_length(der))
    assert cert.subject_attributes is not None
    [ou] = [a for a in cert.subject_attributes if a.name == "OU"]
    assert (ou.string_type, ou.decoding, ou.value) == (
        "OCTET STRING",
        "not_a_string",
        "#0403616263",
    )
    assert ou.text.raw == value
    assert cert.subject is not None
    assert "OU=#0403616263" in cert.subject  # as RFC 4514 writes it
    assert read_certificate(der).subject_attributes == cert.subject_attributes


def test_strict_and_lenient_reading_agree(base: bytes) -> None:
    der = with_subject_value(base, "王五".encode("utf-16-be"), tag=BMP_STRING)
    strict = read_certificate(der)
    lenient = read_certificate(with_long_form_length(der))
    assert (strict.encoding, lenient.encoding) == ("der", "lenient")
    assert strict.subject_attributes == lenient.subject_attributes
    assert strict.issuer_attributes == lenient.issuer_attributes


def test_control_characters_are_escaped_on_a_terminal(base: bytes) -> None:
    der = with_subject_value(base, b"evil\x1b[2J", tag=UTF8_STRING)
    cert = read_certificate(der)
    assert cn_of(cert).value == "evil\x1b[2J"  # the value itself is kept
    details = render_certificate_details(cert)
    assert "\x1b" not in details
    assert "CN=evil\\x1b[2J" in details
    text = render_text([one_certificate_report(cert)], color=False, details=True)
    assert "\x1b" not in text


AT = datetime.datetime(2030, 1, 1, tzinfo=UTC)


def one_certificate_report(cert: Certificate) -> Report:
    entry = CertificateEntry(1, decode_text(b"sign"), b"\x01", 0, False, cert,
                             Validity(Status.VALID, 300))  # fmt: skip
    slot = SlotReport(make_slot_info(), make_token_info(), (entry,))
    return Report(make_module_info(), (slot,), AT, 30)


def test_guessed_cn_is_marked_in_the_listing(base: bytes) -> None:
    der = with_subject_value(base, "张三".encode("gbk"), tag=PRINTABLE_STRING)
    text = render_text([one_certificate_report(read_certificate(der))], color=False)
    assert "张三†" in text
    assert "† 张三: decoded as GB18030 (not valid PrintableString); raw bytes: d5c5c8fd" in text


def test_details_show_attributes_fingerprints_holder(base: bytes) -> None:
    der = with_subject_value(base, f"051@张三@Z{ID_NUMBER}@0001".encode(), tag=UTF8_STRING)
    cert = read_certificate(der)
    details = render_certificate_details(cert, show_personal_data=True)
    assert f"SHA-256       {cert.sha256}" in details
    assert "O=CFCA OCA1  (UTF8String)" in details
    assert "C=CN  (PrintableString)" in details
    assert f"individual (051): 张三, ID Z (identity card) {ID_NUMBER}, sequence 0001" in details


# --- CFCA holder names -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cn", "holder"),
    [
        pytest.param(
            f"051@张三@Z{ID_NUMBER}@0001",
            Holder("051", "individual", "张三", "Z", "identity card", ID_NUMBER, "0001"),
            id="personal",
        ),
        pytest.param(
            "051@李四@130427199405294118@1",
            Holder("051", "individual", "李四", None, None, "130427199405294118", "1"),
            id="personal-no-letter",
        ),
        pytest.param(
            "051@王五@PE12345678@2",
            Holder("051", "individual", "王五", "P", None, "E12345678", "2"),
            id="personal-other-letter",
        ),
        pytest.param(
            "041@N91320508346386385N@某某公司@00000001",
            Holder(
                "041",
                "organisation",
                "某某公司",
                "N",
                "unified social credit code",
                "91320508346386385N",
                "00000001",
            ),
            id="organisation",
        ),
        pytest.param(
            "041@733901124@某某公司@01000002",
            Holder("041", "organisation", "某某公司", None, None, "733901124", "01000002"),
            id="organisation-code",
        ),
        pytest.param("051@@@", Holder("051", "individual", "", None, None, "", ""), id="empty"),
        pytest.param("061@a@b@c", None, id="unknown-code"),
        pytest.param("051@a@b", None, id="three-fields"),
        pytest.param("051@a@b@c@d", None, id="five-fields"),
        pytest.param("Demo Root CA", None, id="plain"),
    ],
)
def test_holder(base: bytes, cn: str, holder: Holder | None) -> None:
    cert = read_certificate(with_subject_value(base, cn.encode(), tag=UTF8_STRING))
    assert cert.holder == holder


# --- identity numbers in extensions ------------------------------------------------------


@pytest.mark.parametrize(
    ("oid", "value", "meaning", "number", "string_type", "id_kind"),
    [
        pytest.param(
            "1.2.156.10260.4.1.1",
            identity_code(ID_NUMBER),
            "identity code",
            ID_NUMBER,
            "PrintableString",
            "resident identity card",
            id="explicit-choice",
        ),
        pytest.param(
            "1.2.156.10260.4.1.1",
            identity_code("E12345678", choice=2, implicit=True),
            "identity code",
            "E12345678",
            None,
            "passport",
            id="implicit-choice",
        ),
        pytest.param(
            "1.2.156.10260.4.1.1",
            identity_code("军字第123号", choice=1, tag=UTF8_STRING),
            "identity code",
            "军字第123号",
            "UTF8String",
            "military officer card",
            id="officer-utf8",
        ),
        pytest.param(
            "1.2.86.11.7.1",
            ID_NUMBER.encode(),
            "identity code",
            ID_NUMBER,
            None,
            None,
            id="bare-bytes",
        ),
        pytest.param(
            "1.2.156.10260.4.1.2",
            b"\x30\x05\x13\x03123",
            "social insurance number",
            "123",
            "PrintableString",
            None,
            id="in-a-sequence",
        ),
        pytest.param(
            "1.2.156.10260.4.1.3",
            b"\x13\x03123",
            "business registration number",
            "123",
            "PrintableString",
            None,
            id="bare-string",
        ),
        pytest.param(
            "1.2.156.10260.4.1.4",
            b"\x04\x03123",
            "organisation code",
            "123",
            "OCTET STRING",
            None,
            id="octet-string",
        ),
        pytest.param(
            "1.2.156.10260.4.1.5", b"\x0c\x03123", "tax number", "123", "UTF8String", None, id="tax"
        ),
        pytest.param(
            "1.2.86.11.7.3",
            b"\x13\x03123",
            "organisation code",
            "123",
            "PrintableString",
            None,
            id="old-arc-swapped",
        ),
        pytest.param(
            "1.2.86.11.7.4",
            b"\x13\x03123",
            "business registration number",
            "123",
            "PrintableString",
            None,
            id="old-arc-registration",
        ),
        pytest.param(
            "1.2.86.11.7.9",
            b"\x13\x03abc",
            "unknown",
            "abc",
            "PrintableString",
            None,
            id="unknown-in-arc",
        ),
        pytest.param(
            "1.2.156.10260.4.1.1",
            b"\x02\x01\x05",
            "identity code",
            None,
            None,
            None,
            id="not-a-string",
        ),
    ],
)
def test_identity_numbers(
    base: bytes,
    *,
    oid: str,
    value: bytes,
    meaning: str,
    number: str | None,
    string_type: str | None,
    id_kind: str | None,
) -> None:
    der = with_extension(base, oid, value)
    for cert in (read_certificate(der), read_certificate(with_long_form_length(der))):
        [found] = cert.identity_numbers
        assert (found.oid, found.meaning, found.string_type, found.id_kind) == (
            oid,
            meaning,
            string_type,
            id_kind,
        )
        assert (found.number.value if found.number else None) == number
        assert found.raw == value
        assert found.critical is False
        assert found.personal is (meaning in ("identity code", "social insurance number",
                                              "unknown"))  # fmt: skip


def test_identity_number_flags_and_json(base: bytes) -> None:
    der = with_extension(base, "1.2.156.10260.4.1.1", identity_code(ID_NUMBER), critical=True)
    der = with_extension(der, "2.5.29.32.99", b"\x13\x03abc")  # not an identity extension
    cert = read_certificate(der)
    [found] = cert.identity_numbers
    assert found.critical is True
    report = one_certificate_report(cert)
    for show in (False, True):
        doc = report_to_dict([report], generated_at=AT, show_personal_data=show)
        schema_validator().validate(doc)
        [certificate] = doc["modules"][0]["slots"][0]["token"]["certificates"]
        [member] = certificate["identity_numbers"]
        assert member["id_kind"] == "resident identity card"
        assert (member["number"] == ID_NUMBER) is show
        assert (ID_NUMBER in json.dumps(doc)) is show


def test_no_identity_extensions(base: bytes) -> None:
    assert read_certificate(base).identity_numbers == ()
    assert dataclasses.replace(read_certificate(base), holder=None).holder is None
