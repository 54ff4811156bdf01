"""Personal data is masked by default, everywhere: a sentinel ID-card number put into every
place a token can carry text (subject CN, a GBK name in a PrintableString, a BMPString, a
non-string attribute, identity extensions, CKA_LABEL, the token label) appears in no
output of any command, format or log unless --show-personal-data is given.

The certificates are minted here and edited with :mod:`ukeytool.testing.certs`; they sit on
a SoftHSM token of their own and are read through the real module.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path

import pytest

from ukeytool.certificates.x509 import read_certificate
from ukeytool.cli import main
from ukeytool.model.text import decode_text
from ukeytool.rendering.json import report_to_dict
from ukeytool.rendering.mask import mask_certificate, mask_report, mask_text
from ukeytool.rendering.text import render_certificate_details, render_text
from ukeytool.testing.certs import (
    BMP_STRING,
    PRINTABLE_STRING,
    identity_code,
    mint,
    to_pem,
    with_extension,
    with_subject_value,
)
from ukeytool.testing.softhsm import CertObject, SoftHSMStore, TokenSpec

from .conftest import FIXED_NOW, Cli, CliResult
from .test_cli import schema_validator

SENTINEL = "11010519491231002X"
"""A valid-looking 18-character ID-card number (region 110105, born 1949-12-31)."""
MASKED = "110***********002X"
# The part masking hides, alone: it must not leak in any form either.
HIDDEN = SENTINEL[3:-4]
DAY = datetime.timedelta(days=1)
AT = ["--at", "2030-01-01T00:00:00Z"]
TOKEN_LABEL = f"U盾 {SENTINEL}"
GBK_LABEL = f"签名 {SENTINEL}".encode("gbk")


def forbidden_forms(text: str) -> dict[str, str]:
    """``text`` as it could appear in output: itself, and its bytes in hex in every
    encoding a token or certificate may use (ASCII, UTF-8 and GBK share one)."""
    return {
        "text": text,
        "hex": text.encode("ascii").hex(),
        "HEX": text.encode("ascii").hex().upper(),
        "utf-16-be hex": text.encode("utf-16-be").hex(),
        "utf-16-le hex": text.encode("utf-16-le").hex(),
        "utf-32-be hex": text.encode("utf-32-be").hex(),
        "percent-encoded": "".join(f"%{b:02X}" for b in text.encode("ascii")),
    }


def assert_no_sentinel(output: str, what: str) -> None:
    for secret in (SENTINEL, SENTINEL.lower(), HIDDEN):
        for form, value in forbidden_forms(secret).items():
            assert value not in output, f"{what}: the ID number appears as {form}"


@dataclasses.dataclass(frozen=True)
class PersonalToken:
    store: SoftHSMStore
    serial: str
    ders: dict[str, bytes]


def _holder(cn: str, key: str = "rsa2048", hash: str = "sha256") -> bytes:
    return mint(
        subject_cn=cn,
        not_before=FIXED_NOW - 100 * DAY,
        not_after=FIXED_NOW + 300 * DAY,
        organization="CFCA OCA1",
        organizational_units=("Individual-1", "Local RA"),
        key=key,
        hash=hash,
    ).der


def _certificates() -> dict[str, bytes]:
    rsa_der = _holder(f"051@张三@Z{SENTINEL}@0001")
    rsa_der = with_extension(rsa_der, "1.2.86.11.7.1", SENTINEL.encode("ascii"))
    rsa_der = with_extension(rsa_der, "1.2.86.11.7.3", identity_code(SENTINEL, implicit=True))
    # A value that is no string at all: shown as #<hex> of its encoding.
    rsa_der = with_subject_value(rsa_der, b"\x04\x12" + SENTINEL.encode(), tag=0x30, oid="2.5.4.11")
    # GBK bytes in a PrintableString, as older Chinese CA software wrote them.
    sm2_der = with_subject_value(
        _holder("placeholder", "sm2", "sm3"),
        f"051@李四@Z{SENTINEL}@0002".encode("gbk"),
        tag=PRINTABLE_STRING,
    )
    sm2_der = with_subject_value(
        sm2_der, f"个人 {SENTINEL}".encode("utf-16-be"), tag=BMP_STRING, oid="2.5.4.11"
    )
    sm2_der = with_extension(sm2_der, "1.2.156.10260.4.1.1", identity_code(SENTINEL))
    sm2_der = with_extension(
        sm2_der, "1.2.156.10260.4.1.2", identity_code(SENTINEL, choice=1, tag=0x0C)
    )
    return {"rsa": rsa_der, "sm2": sm2_der}


@pytest.fixture(scope="module")
def personal(softhsm: SoftHSMStore) -> PersonalToken:
    """The sentinel token, in the session store (selected by its serial)."""
    ders = _certificates()
    store = softhsm
    [token] = store.add_tokens(
        [
            TokenSpec(
                label=TOKEN_LABEL,
                objects=[
                    CertObject(ders["rsa"], label=GBK_LABEL, id=b"\x01"),
                    CertObject(ders["sm2"], label=SENTINEL, id=b"\x02"),
                ],
            )
        ]
    )
    return PersonalToken(store, token.serial, ders)


@pytest.fixture
def env(personal: PersonalToken, monkeypatch: pytest.MonkeyPatch) -> PersonalToken:
    monkeypatch.setenv("SOFTHSM2_CONF", str(personal.store.conf_path))
    monkeypatch.delenv("PKCS11_MODULE", raising=False)
    return personal


COMMANDS = [
    pytest.param(["list-tokens"], id="list-tokens-text"),
    pytest.param(["list-tokens", "--uris"], id="list-tokens-text-uris"),
    pytest.param(["list-tokens", "--format", "json"], id="list-tokens-json"),
    pytest.param(["list-tokens", "--format", "prometheus"], id="list-tokens-prometheus"),
    pytest.param(["check"], id="check-text"),
    pytest.param(["check", "--format", "json"], id="check-json"),
    pytest.param(["check", "--format", "prometheus"], id="check-prometheus"),
]


def run(personal: PersonalToken, cli: Cli, argv: list[str]) -> CliResult:
    command, *rest = argv
    module = str(personal.store.module_path)
    return cli(command, "--module", module, "--serial", personal.serial, *rest, *AT, "--trace")


@pytest.mark.softhsm
@pytest.mark.parametrize("argv", COMMANDS)
def test_masked_by_default_everywhere(env: PersonalToken, cli: Cli, argv: list[str]) -> None:
    code, out, err = run(env, cli, argv)
    assert code in (0, 1), err  # list-tokens OK; check WARNING is fine too
    assert "ukeytool trace: C_GetAttributeValue" in err  # the log was written
    assert_no_sentinel(out, "stdout")
    assert_no_sentinel(err, "stderr")
    assert MASKED in out  # masked, not dropped: the listing still says whose key it is


@pytest.mark.softhsm
@pytest.mark.parametrize("argv", COMMANDS)
def test_shown_when_asked(env: PersonalToken, cli: Cli, argv: list[str]) -> None:
    code, out, _ = run(env, cli, [*argv, "--show-personal-data"])
    assert code in (0, 1)
    assert SENTINEL in out
    assert MASKED not in out


@pytest.mark.softhsm
def test_masked_json_is_valid_and_says_so(env: PersonalToken, cli: Cli) -> None:
    _, out, _ = run(env, cli, ["list-tokens", "--json"])
    doc = json.loads(out)
    schema_validator().validate(doc)
    assert doc["personal_data"] == "masked"
    [token] = [s["token"] for m in doc["modules"] for s in m["slots"] if s["token"]]
    assert token["label"] == f"U盾 {MASKED}"
    assert token["label_hex"] == f"U盾 {MASKED}".encode().hex()
    by_id = {c["id"]: c for c in token["certificates"]}  # SoftHSM's order varies
    rsa, sm2 = by_id["01"], by_id["02"]
    assert rsa["label"] == f"签名 {MASKED}"
    assert rsa["label_hex"] == f"签名 {MASKED}".encode("gbk").hex()  # GBK bytes, masked
    assert rsa["holder"] == {
        "type_code": "051",
        "kind": "individual",
        "name": "张三",
        "id_type": "Z",
        "id_type_name": "identity card",
        "id_number": MASKED,
        "sequence": "0001",
    }
    assert [n["number"] for n in rsa["identity_numbers"]] == [MASKED, MASKED]
    [cn] = [a for a in sm2["subject_attributes"] if a["name"] == "CN"]
    assert cn["value"] == f"051@李四@Z{MASKED}@0002"
    assert cn["value_hex"] == f"051@李四@Z{MASKED}@0002".encode("gbk").hex()
    assert (cn["string_type"], cn["decoding"], cn["value_encoding"]) == (
        "PrintableString",
        "guess",
        "gb18030",
    )
    ids = {n["oid"]: n for n in sm2["identity_numbers"]}
    assert ids["1.2.156.10260.4.1.1"]["id_kind"] == "resident identity card"
    assert ids["1.2.156.10260.4.1.2"]["meaning"] == "social insurance number"

    _, shown, _ = run(env, cli, ["list-tokens", "--json", "--show-personal-data"])
    doc = json.loads(shown)
    schema_validator().validate(doc)
    assert doc["personal_data"] == "shown"


@pytest.mark.softhsm
def test_text_says_what_was_masked(env: PersonalToken, cli: Cli) -> None:
    _, out, _ = run(env, cli, ["list-tokens"])
    assert "Personal data masked" in out
    # The guessed CN is marked and explained like a guessed label, with masked bytes.
    assert f"051@李四@Z{MASKED}@0002†" in out
    footnote = f"051@李四@Z{MASKED}@0002".encode("gbk").hex()
    assert f"decoded as GB18030 (not valid PrintableString); raw bytes: {footnote}" in out
    _, shown, _ = run(env, cli, ["list-tokens", "--show-personal-data"])
    assert "Personal data masked" not in shown


def test_library_values_keep_the_truth() -> None:
    ders = _certificates()
    cert = read_certificate(ders["rsa"])
    assert cert.holder is not None
    assert cert.holder.id_number == SENTINEL
    masked = mask_certificate(cert)
    assert masked.holder is not None
    assert masked.holder.id_number == MASKED
    assert cert.holder.id_number == SENTINEL  # the original is untouched
    assert (masked.sha256, masked.der) == (cert.sha256, cert.der)


def test_every_rendering_of_a_certificate_is_masked() -> None:
    for der in _certificates().values():
        cert = read_certificate(der)
        details = render_certificate_details(cert)
        assert_no_sentinel(details, "details")
        assert MASKED in details
        assert SENTINEL in render_certificate_details(cert, show_personal_data=True)
        masked = mask_certificate(cert)
        assert_no_sentinel(repr(masked), "repr of the masked certificate")


def test_mask_text_keeps_the_encoding() -> None:
    for raw, encoding in [
        (f"签名 {SENTINEL}".encode("gbk"), "gb18030"),
        (f"签名 {SENTINEL}".encode(), "utf-8"),
        (f"签名 {SENTINEL}\xff".encode("latin-1", "replace") + b"\xff\xfe", "unknown"),
    ]:
        text = decode_text(raw)
        assert text.encoding == encoding
        masked = mask_text(text)
        assert_no_sentinel(masked.value + masked.hex, encoding)
        assert len(masked.raw) == len(raw)
    bmp = decode_text(f"个人 {SENTINEL}".encode("utf-16-be"), string_type=BMP_STRING)
    masked = mask_text(bmp)
    assert masked.raw == f"个人 {MASKED}".encode("utf-16-be")
    plain = decode_text(b"Demo CA")
    assert mask_text(plain) is plain


@pytest.mark.softhsm
def test_renderers_take_the_library_argument(
    env: PersonalToken, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ukeytool.pkcs11.inspect import inspect

    report = inspect(str(env.store.module_path), at=FIXED_NOW)
    assert SENTINEL in json.dumps(
        report_to_dict([report], generated_at=FIXED_NOW, show_personal_data=True),
        ensure_ascii=False,
    )
    document = json.dumps(report_to_dict([report], generated_at=FIXED_NOW), ensure_ascii=False)
    assert_no_sentinel(document, "report_to_dict")
    assert_no_sentinel(render_text([report], color=False, details=True), "render_text")
    assert SENTINEL in render_text([report], color=False, show_personal_data=True)
    assert mask_report(mask_report(report)) == mask_report(report)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_inspect_file_is_masked_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """The sentinel certificates in a file named after the number: masked by default in
    the path, the names, the holder and the extensions; shown when asked."""
    ders = _certificates()
    path = tmp_path / f"{SENTINEL}.pem"
    path.write_bytes(b"".join(to_pem(der) for der in ders.values()))
    code = main(["inspect-file", str(path), "--format", fmt, *AT])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert_no_sentinel(out + err, f"inspect-file {fmt}")
    code = main(["inspect-file", str(path), "--format", fmt, "--show-personal-data", *AT])
    out, _ = capsys.readouterr()
    assert code == 0
    assert SENTINEL in out


def test_an_issuer_masked_once_is_masked_the_same_for_the_next() -> None:
    # mask_certificate keeps an issuer's masked name for the next certificate of that
    # issuer (rendering.mask._ISSUER_*): the masking must be what it is without it, and
    # a certificate with nothing to mask must still come back as itself (no copy).
    from ukeytool.rendering import mask

    start = datetime.datetime(2029, 1, 1, tzinfo=datetime.timezone.utc)
    dates = {"not_before": start, "not_after": start + 400 * DAY}
    personal_ca = mint(subject_cn=f"CA {SENTINEL}", key="ec-p256", is_ca=True, **dates)
    plain_ca = mint(subject_cn="Plain CA", key="ec-p256", is_ca=True, **dates)
    certificates = [
        read_certificate(mint(subject_cn=f"holder {i}", key="ec-p256", issuer=ca, **dates).der)
        for i, ca in enumerate([personal_ca, plain_ca, personal_ca, plain_ca, plain_ca])
    ]
    for memo in (mask._ISSUER_NAMES, mask._ISSUER_ATTRIBUTES):
        memo.clear()
    alone = []
    for cert in certificates:
        alone.append(mask_certificate(cert))
        for memo in (mask._ISSUER_NAMES, mask._ISSUER_ATTRIBUTES):
            memo.clear()
    kept = [mask_certificate(cert) for cert in certificates]
    again = [mask_certificate(cert) for cert in certificates]
    assert kept == again == alone
    assert all(m.issuer is not None and MASKED in m.issuer for m in kept[0:3:2])
    assert_no_sentinel(repr(kept[2].issuer_attributes), "issuer attributes")
    for cert, masked in zip(certificates[1::2], kept[1::2], strict=True):
        assert masked is cert
