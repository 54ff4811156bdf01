"""RFC 7512 pkcs11: URIs: the RFC's examples, percent-encoding of reserved and non-UTF-8
bytes, errors, matching on raw bytes, selection, and the very strings p11tool prints for
the same SoftHSM tokens."""

from __future__ import annotations

import dataclasses
import datetime
import os
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ukeytool
from ukeytool.errors import UsageError
from ukeytool.model import Report, SlotReport
from ukeytool.pkcs11.selection import (
    filter_report,
    select_certificate,
    select_certificates,
    select_token,
    select_tokens,
    uri_matches_certificate,
    uri_matches_token,
)
from ukeytool.pkcs11.token_uris import certificate_uri, token_uri
from ukeytool.pkcs11.uri import Pkcs11Uri, format_uri, parse_uri, percent_encode
from ukeytool.testing.certs import Minted
from ukeytool.testing.softhsm import CertObject, PrivateKeyObject, SoftHSMStore, TokenSpec

from .conftest import FIXED_NOW, _new_store
from .test_render import (
    AT,
    CERTS,
    GBK_LABEL,
    WARN,
    module,
    slot_info,
    t,
    token,
)

# -- the RFC's examples (RFC 7512 section 3) -------------------------------------------

RFC_EXAMPLES: list[tuple[str, dict[str, Any]]] = [
    ("pkcs11:", {}),
    ("pkcs11:object=my-pubkey;type=public", {"object": b"my-pubkey", "type": "public"}),
    (
        "pkcs11:object=my-key;type=private?pin-source=file:/etc/token",
        {"object": b"my-key", "type": "private", "pin_source": "file:/etc/token"},
    ),
    (
        "pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;"
        "manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;"
        "id=%69%95%3E%5C%F4%BD%EC%91;serial=?pin-source=file:/etc/token_pin",
        {
            "token": b"The Software PKCS#11 Softtoken",
            "manufacturer": b"Snake Oil, Inc.",
            "model": b"1.0",
            "object": b"my-certificate",
            "type": "cert",
            "id": bytes.fromhex("69953e5cf4bdec91"),
            "serial": b"",
            "pin_source": "file:/etc/token_pin",
        },
    ),
    (
        "pkcs11:object=my-sign-key;type=private?module-name=mypkcs11",
        {"object": b"my-sign-key", "type": "private", "module_name": "mypkcs11"},
    ),
    (
        "pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1",
        {"object": b"my-sign-key", "type": "private", "module_path": "/mnt/libmypkcs11.so.1"},
    ),
    (
        "pkcs11:token=Software%20PKCS%2311%20softtoken;"
        "manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin",
        {
            "token": b"Software PKCS#11 softtoken",
            "manufacturer": b"Snake Oil, Inc.",
            "pin_value": "the-pin",
        },
    ),
    ("pkcs11:slot-description=Sun%20Metaslot", {"slot_description": b"Sun Metaslot"}),
    (
        "pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;"
        "library-description=Soft%20Token%20Library;library-version=1.23",
        {
            "library_manufacturer": b"Snake Oil, Inc.",
            "library_description": b"Soft Token Library",
            "library_version": (1, 23),
        },
    ),
    (
        "pkcs11:token=My%20token%25%20created%20by%20Joe;"
        "library-version=3;id=%01%02%03%Ba%dd%Ca%fe%04%05%06",
        {
            "token": b"My token% created by Joe",
            "library_version": (3, 0),
            "id": bytes.fromhex("010203badd cafe040506".replace(" ", "")),
        },
    ),
    (
        "pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert",
        {"token": b"A name with a substring %;", "object": b"my-certificate", "type": "cert"},
    ),
    (
        "pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;"
        "object=my-certificate;type=cert",
        {
            "token": "Name with a small A with acute: á".encode(),
            "object": b"my-certificate",
            "type": "cert",
        },
    ),
    (
        "pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a"
        "?pin-source=file:/etc/token_pin&vendor-bbb=value-b",
        {
            "token": b"my-token",
            "object": b"my-certificate",
            "type": "cert",
            "vendor_path": (("vendor-aaa", b"value-a"),),
            "pin_source": "file:/etc/token_pin",
            "vendor_query": (("vendor-bbb", b"value-b"),),
        },
    ),
]


@pytest.mark.parametrize(("text", "fields"), RFC_EXAMPLES, ids=[t for t, _ in RFC_EXAMPLES])
def test_rfc_examples_parse(text: str, fields: dict[str, Any]) -> None:
    uri = parse_uri(text)
    assert uri == Pkcs11Uri(**fields)
    # Every attribute not named is absent.
    for field in dataclasses.fields(Pkcs11Uri):
        if field.name not in fields:
            assert getattr(uri, field.name) in (None, ()), field.name


@pytest.mark.parametrize(("text", "fields"), RFC_EXAMPLES, ids=[t for t, _ in RFC_EXAMPLES])
def test_rfc_examples_round_trip(text: str, fields: dict[str, Any]) -> None:
    uri = parse_uri(text)
    canonical = format_uri(uri, reveal_pin_value=True)
    # Equivalent (RFC 7512 comparison: order, hex case, needless escapes aside) ...
    assert parse_uri(canonical) == uri
    # ... and canonical: formatting is a fixed point.
    assert format_uri(parse_uri(canonical), reveal_pin_value=True) == canonical
    assert canonical.isascii()


def test_rfc_example_as_printed_over_several_lines() -> None:
    # The RFC prints its longer examples wrapped and indented.
    wrapped = """pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;
                manufacturer=Snake%20Oil,%20Inc.;
                model=1.0;
                object=my-certificate;
                type=cert;
                id=%69%95%3E%5C%F4%BD%EC%91;
                serial=
                ?pin-source=file:/etc/token_pin
    """
    assert parse_uri(wrapped) == parse_uri(RFC_EXAMPLES[3][0])


def test_canonical_form_follows_p11kit() -> None:
    uri = parse_uri(RFC_EXAMPLES[3][0])
    # p11-kit's order (library, slot, model, manufacturer, serial, token, id, object,
    # type; then the query) and encoding: only A-Z a-z 0-9 - . _ stay as they are.
    assert str(uri) == (
        "pkcs11:model=1.0;manufacturer=Snake%20Oil%2C%20Inc.;serial=;"
        "token=The%20Software%20PKCS%2311%20Softtoken;id=%69%95%3E%5C%F4%BD%EC%91;"
        "object=my-certificate;type=cert?pin-source=file%3A%2Fetc%2Ftoken_pin"
    )
    full = Pkcs11Uri(
        token=b"t",
        manufacturer=b"m",
        model=b"M",
        serial=b"s",
        object=b"o",
        id=b"i",
        type="cert",
        library_manufacturer=b"lm",
        library_description=b"ld",
        library_version=(2, 6),
        slot_id=3,
        slot_description=b"sd",
        slot_manufacturer=b"sm",
        vendor_path=(("zz", b"1"), ("aa", b"2")),
        pin_source="p",
        module_name="n",
        module_path="/x",
        vendor_query=(("q", b"2"), ("b", b"1"), ("q", b"1")),
    )
    assert str(full) == (
        "pkcs11:library-description=ld;library-manufacturer=lm;library-version=2.6;"
        "slot-description=sd;slot-manufacturer=sm;slot-id=3;"
        "model=M;manufacturer=m;serial=s;token=t;id=%69;object=o;type=cert;aa=2;zz=1"
        "?pin-source=p&module-name=n&module-path=%2Fx&b=1&q=2&q=1"
    )
    assert parse_uri(str(full)) == full


# -- percent-encoding ------------------------------------------------------------------


def test_reserved_bytes_are_percent_encoded() -> None:
    uri = Pkcs11Uri(token=b"a b;c/d?e%f&g=h#i~j:k,l", object=b"A-z_0.9")
    assert str(uri) == "pkcs11:token=a%20b%3Bc%2Fd%3Fe%25f%26g%3Dh%23i%7Ej%3Ak%2Cl;object=A-z_0.9"
    assert parse_uri(str(uri)) == uri


def test_non_utf8_and_utf8_bytes_are_percent_encoded() -> None:
    assert str(Pkcs11Uri(token=GBK_LABEL)) == "pkcs11:token=%B9%A4%D0%D0U%B6%DC"
    # UTF-8 text is not written literally either (as p11tool does).
    assert str(Pkcs11Uri(token="中文".encode())) == "pkcs11:token=%E4%B8%AD%E6%96%87"
    assert str(Pkcs11Uri(token=b"\x00\x01\xff")) == "pkcs11:token=%00%01%FF"


def test_id_is_always_encoded_byte_by_byte() -> None:
    assert str(Pkcs11Uri(id=b"ab\x01")) == "pkcs11:id=%61%62%01"
    assert parse_uri("pkcs11:id=ab%01").id == b"ab\x01"


@given(st.binary(max_size=40))
def test_every_byte_is_each_byte_in_upper_case_hex(value: bytes) -> None:
    expected = "".join(f"%{byte:02X}" for byte in value)
    assert percent_encode(value, every_byte=True) == expected
    assert percent_encode(bytearray(value), every_byte=True) == expected


def test_decoding_is_case_insensitive_and_undoes_needless_escapes() -> None:
    assert parse_uri("pkcs11:token=%e5%b7%a5%41") == Pkcs11Uri(token="工A".encode())
    assert str(parse_uri("pkcs11:token=%e5%b7%a5%41")) == "pkcs11:token=%E5%B7%A5A"
    assert parse_uri("PKCS11:token=x") == Pkcs11Uri(token=b"x")  # schemes ignore case


def test_reserved_characters_the_grammar_allows_unencoded() -> None:
    # pk11-path-res-avail in the path; pk11-query-res-avail in the query.
    uri = parse_uri("pkcs11:token=:[]@!$'()*+,=&?x-attr=:[]@!$'()*+,=/?|")
    assert uri.token == b":[]@!$'()*+,=&"
    assert uri.vendor_query == (("x-attr", b":[]@!$'()*+,=/?|"),)
    assert parse_uri(str(uri)) == uri


def test_literal_non_ascii_stands_for_its_utf8_bytes() -> None:
    assert parse_uri("pkcs11:token=工行U盾").token == "工行U盾".encode()


@given(st.binary(max_size=64), st.binary(max_size=64), st.binary(max_size=16))
def test_any_bytes_round_trip(label: bytes, object_label: bytes, ident: bytes) -> None:
    uri = Pkcs11Uri(token=label, object=object_label, id=ident, type="cert")
    text = str(uri)
    assert text.isascii()
    assert text.isprintable()
    assert parse_uri(text) == uri


@given(st.text(max_size=40))
def test_query_text_round_trips(path: str) -> None:
    uri = Pkcs11Uri(module_path=path, pin_source=path)
    assert parse_uri(str(uri)) == uri


def test_gbk_token_label_round_trips() -> None:
    tok = token(t(GBK_LABEL))
    assert tok.label.guessed
    uri = token_uri(tok)
    assert str(uri) == (
        "pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=5f1c2e3d4a5b6c7d;"
        "token=%B9%A4%D0%D0U%B6%DC"
    )
    back = parse_uri(str(uri))
    assert back.token == GBK_LABEL
    assert uri_matches_token(back, tok)
    # The same characters as UTF-8 are other bytes: they do not match.
    assert not uri_matches_token(parse_uri("pkcs11:token=工行U盾"), tok)


# -- pin-value ---------------------------------------------------------------------------


def test_pin_value_is_never_shown() -> None:
    uri = parse_uri("pkcs11:token=x?pin-value=s3cret%21")
    assert uri.pin_value == "s3cret!"
    assert "s3cret" not in repr(uri)
    assert "s3cret" not in str(uri)
    assert str(uri) == "pkcs11:token=x"
    assert "pin-value" not in format_uri(uri)
    assert format_uri(uri, reveal_pin_value=True) == "pkcs11:token=x?pin-value=s3cret%21"
    # Nor in the messages that quote a URI.
    slots = (SlotReport(slot_info(1, "a"), token(t("y"))),)
    with pytest.raises(UsageError) as caught:
        select_token(slots, uri=uri)
    assert "s3cret" not in str(caught.value)


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("token=x", "does not start with 'pkcs11:'"),
        ("", "does not start with 'pkcs11:'"),
        ("http://example.com/", "does not start with 'pkcs11:'"),
        ("pkcs11:token=%4", r"bad percent escape '%4' .* attribute token"),
        ("pkcs11:token=%zz", r"bad percent escape '%zz'"),
        ("pkcs11:token=100%", r"bad percent escape '%'"),
        ("pkcs11:token=a;token=b", "'token' appears twice"),
        ("pkcs11:x-a=1;x-a=2", "'x-a' appears twice"),
        ("pkcs11:?module-name=a&module-name=b", "'module-name' appears twice"),
        ("pkcs11:?pin-source=a&pin-value=b", "both pin-source and pin-value"),
        ("pkcs11:token=My Token", "a space is not allowed unencoded .* write it as %20"),
        ("pkcs11:token=a/b", r"'/' is not allowed unencoded .* %2F"),
        ("pkcs11:token=a\x1b[2J", r"'\\x1b' is not allowed unencoded .* %1B"),
        ("pkcs11:token=a#b", "'#' is not allowed"),
        ("pkcs11:type=key", "unknown type 'key'"),
        ("pkcs11:token", "has no '='"),
        ("pkcs11:=x", "bad PKCS#11 URI attribute name ''"),
        ("pkcs11:tok%65n=x", "bad PKCS#11 URI attribute name"),
        ("pkcs11:token=a;", "empty attribute in the path"),
        ("pkcs11:?a=1&", "empty attribute in the query"),
        ("pkcs11:library-version=1.x", "bad library-version '1.x'"),
        ("pkcs11:library-version=256", "numbers go up to 255"),
        ("pkcs11:slot-id=0x1", "bad slot-id '0x1'"),
        ("pkcs11:pin-source=file:/x", "'pin-source' belongs in the query"),
        ("pkcs11:?token=x", "'token' belongs in the path"),
    ],
)
def test_malformed_uris(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        parse_uri(text)
    assert "\n" not in str(caught.value)
    assert "\x1b" not in str(caught.value)


def test_constructor_checks_values() -> None:
    with pytest.raises(UsageError, match="type"):
        Pkcs11Uri(type="key")
    with pytest.raises(UsageError, match="bytes"):
        Pkcs11Uri(token="text")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="standard"):
        Pkcs11Uri(vendor_path=(("token", b"x"),))
    with pytest.raises(UsageError, match="0 to 255"):
        Pkcs11Uri(library_version=(1, 300))
    with pytest.raises(UsageError, match="both"):
        Pkcs11Uri(pin_source="a", pin_value="b")


def test_vendor_attributes_are_kept() -> None:
    # The final RFC has no x- prefix: any other name is a vendor attribute.
    uri = parse_uri("pkcs11:x-b=2;a-vendor=1?z=1&q=%20&z=0")
    assert uri.vendor_path == (("a-vendor", b"1"), ("x-b", b"2"))
    assert uri.vendor_query == (("q", b" "), ("z", b"1"), ("z", b"0"))
    assert str(uri) == "pkcs11:a-vendor=1;x-b=2?q=%20&z=1&z=0"
    # Order does not matter for equality (RFC 7512 comparison).
    assert parse_uri("pkcs11:a-vendor=1;x-b=2") == parse_uri("pkcs11:x-b=2;a-vendor=1")


# -- matching ----------------------------------------------------------------------------

TOKEN = token(t(GBK_LABEL))
MODULE = module()
SLOT = slot_info(0x1A2B3C, "SoftHSM slot ID 0x1a2b3c")


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("pkcs11:", True),
        ("pkcs11:token=%B9%A4%D0%D0U%B6%DC", True),
        ("pkcs11:token=%B9%A4%D0%D0U%B6%DC%20%20", True),  # p11-kit pads: trailing blanks
        ("pkcs11:token=%B9%A4%D0%D0U", False),  # no prefix matching
        ("pkcs11:token=%b9%a4%d0%d0u%b6%dc", False),  # 'u' is not 'U'
        ("pkcs11:serial=5f1c2e3d4a5b6c7d;model=SoftHSM%20v2", True),
        ("pkcs11:serial=", False),  # empty matches only an empty serial
        ("pkcs11:manufacturer=SoftHSM%20project", True),
        ("pkcs11:manufacturer=SoftHSM", False),
        ("pkcs11:token=%B9%A4%D0%D0U%B6%DC;object=whatever;type=private", True),
        ("pkcs11:library-description=Implementation%20of%20PKCS11", True),
        ("pkcs11:library-manufacturer=SoftHSM;library-version=2.6", True),
        ("pkcs11:library-version=2.5", False),
        ("pkcs11:slot-id=1715004", True),
        ("pkcs11:slot-id=1", False),
        ("pkcs11:slot-description=SoftHSM%20slot%20ID%200x1a2b3c", True),
        ("pkcs11:slot-manufacturer=other", False),
        ("pkcs11:x-unknown=1", False),  # RFC 7512: unknown path attributes match nothing
        ("pkcs11:?x-unknown=1&module-path=%2Felsewhere.so", True),  # the query is ignored
    ],
)
def test_uri_matches_token(text: str, matches: bool) -> None:
    assert uri_matches_token(parse_uri(text), TOKEN, MODULE, slot=SLOT) is matches


def test_library_and_slot_attributes_need_what_they_name() -> None:
    assert not uri_matches_token(parse_uri("pkcs11:library-manufacturer=SoftHSM"), TOKEN)
    assert not uri_matches_token(parse_uri("pkcs11:slot-id=1715004"), TOKEN, MODULE)
    assert uri_matches_token(token_uri(TOKEN, MODULE), TOKEN, MODULE)
    assert str(token_uri(TOKEN, MODULE)).startswith(
        "pkcs11:library-description=Implementation%20of%20PKCS11;library-manufacturer=SoftHSM;"
        "model="
    )


def test_empty_field_matches_only_empty() -> None:
    blank = token(t("x"), serial="")
    assert str(token_uri(blank)).endswith(";serial=;token=x")
    assert uri_matches_token(parse_uri("pkcs11:serial="), blank)
    assert uri_matches_token(token_uri(blank), blank)
    assert not uri_matches_token(token_uri(blank), TOKEN)


def test_uri_matches_certificate() -> None:
    sign, sm2, _ec, _future, gbk, nothing = CERTS
    uri = certificate_uri(TOKEN, sign)
    assert str(uri) == str(token_uri(TOKEN)) + ";id=%01;object=sign-2027;type=cert"
    assert uri_matches_certificate(uri, TOKEN, sign)
    assert not uri_matches_certificate(uri, TOKEN, sm2)
    assert not uri_matches_certificate(uri, token(t("other")), sign)
    # Labels on raw bytes: a GBK object label matches its GBK bytes only.
    assert uri_matches_certificate(parse_uri("pkcs11:object=%B9%A4%D0%D0U%B6%DC"), TOKEN, gbk)
    assert not uri_matches_certificate(parse_uri("pkcs11:object=工行U盾"), TOKEN, gbk)
    assert uri_matches_certificate(parse_uri("pkcs11:id=%05"), TOKEN, gbk)
    assert uri_matches_certificate(parse_uri("pkcs11:type=cert"), TOKEN, sign)
    assert not uri_matches_certificate(parse_uri("pkcs11:type=private"), TOKEN, sign)
    # Without CKA_ID or CKA_LABEL, a URI naming them does not match; their URI leaves
    # them out.
    assert not uri_matches_certificate(parse_uri("pkcs11:id=%01"), TOKEN, nothing)
    assert not uri_matches_certificate(parse_uri("pkcs11:object=x"), TOKEN, nothing)
    assert str(certificate_uri(TOKEN, nothing)) == str(token_uri(TOKEN)) + ";type=cert"
    assert uri_matches_certificate(certificate_uri(TOKEN, nothing), TOKEN, nothing)
    # Vendor path attributes: nothing matches.
    assert not uri_matches_certificate(
        dataclasses.replace(uri, vendor_path=(("v", b"1"),)), TOKEN, sign
    )


def test_certificate_without_token_info() -> None:
    sign = CERTS[0]
    uri = certificate_uri(None, sign)
    assert str(uri) == "pkcs11:id=%01;object=sign-2027;type=cert"
    assert uri_matches_certificate(uri, None, sign)
    assert not uri_matches_certificate(certificate_uri(TOKEN, sign), None, sign)
    with_module = certificate_uri(None, sign, MODULE)
    assert uri_matches_certificate(with_module, None, sign, MODULE)
    assert not uri_matches_certificate(with_module, None, sign)


# -- selecting ---------------------------------------------------------------------------


def bank_report() -> Report:
    """Three tokens: a GBK one, and two that share the label "U盾" (serials 01, 02)."""
    return Report(
        module=MODULE,
        slots=(
            SlotReport(SLOT, TOKEN, CERTS),
            SlotReport(slot_info(2, "empty reader", present=False), None),
            SlotReport(slot_info(3, "a"), token(t("U盾"), serial="01"), CERTS[:2]),
            SlotReport(slot_info(4, "b"), token(t("U盾"), serial="02"), CERTS[:1]),
        ),
        at=AT,
        warn_days=WARN,
    )


def test_select_tokens_zero_one_many() -> None:
    report = bank_report()
    assert select_tokens(report, uri="pkcs11:token=nothing") == []
    (gbk,) = select_tokens(report, uri="pkcs11:token=%B9%A4%D0%D0U%B6%DC")
    assert gbk.token is TOKEN
    both = select_tokens(report, uri="pkcs11:token=U%E7%9B%BE")
    assert [s.slot.slot_id for s in both] == [3, 4]
    # No criterion: every slot that has a token.
    assert [s.slot.slot_id for s in select_tokens(report)] == [0x1A2B3C, 3, 4]
    # Criteria combine.
    (second,) = select_tokens(report, uri="pkcs11:token=U%E7%9B%BE", serial="02")
    assert second.slot.slot_id == 4
    # Slot reports work too; library attributes then need the module.
    uri = "pkcs11:library-manufacturer=SoftHSM;serial=01"
    assert select_tokens(report.slots, uri=uri) == []
    assert len(select_tokens(report.slots, uri=uri, module=MODULE)) == 1
    assert len(select_tokens(report, uri=uri)) == 1


def test_select_by_label_and_serial() -> None:
    report = bank_report()
    # bytes: the raw label; text: the decoded label, so a GBK label can be typed.
    assert [s.slot.slot_id for s in select_tokens(report, label=GBK_LABEL)] == [0x1A2B3C]
    assert [s.slot.slot_id for s in select_tokens(report, label="工行U盾")] == [0x1A2B3C]
    assert select_tokens(report, label="工行U盾".encode()) == []
    assert [s.slot.slot_id for s in select_tokens(report, label="U盾")] == [3, 4]
    assert [s.slot.slot_id for s in select_tokens(report, serial="02")] == [4]
    assert [s.slot.slot_id for s in select_tokens(report, serial=b"01")] == [3]
    assert select_tokens(report, label="U盾", serial="5f1c2e3d4a5b6c7d") == []


def test_select_token_wants_exactly_one() -> None:
    report = bank_report()
    assert select_token(report, serial="01").slot.slot_id == 3
    with pytest.raises(UsageError) as caught:
        select_token(report, label="U盾")
    message = str(caught.value)
    assert message.startswith("2 tokens match label 'U盾', one is needed: ")
    assert "slot 0x3 pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;serial=01;" in (
        message
    )
    assert "slot 0x4 " in message
    assert "\n" not in message
    with pytest.raises(UsageError, match=r"no token matches 'pkcs11:token=x': slot 0x1a2b3c "):
        select_token(report, uri="pkcs11:token=x")
    with pytest.raises(UsageError, match="there is no token"):
        select_token((), uri="pkcs11:token=x")


def test_select_refuses_unknown_path_attributes() -> None:
    with pytest.raises(UsageError, match=r"does not know \(x-foo\).*matches nothing"):
        select_tokens(bank_report(), uri="pkcs11:token=U%E7%9B%BE;x-foo=1")
    with pytest.raises(UsageError, match="bad percent escape"):
        select_tokens(bank_report(), uri="pkcs11:token=%G0")


def test_select_certificates() -> None:
    report = bank_report()
    found = select_certificates(report, uri="pkcs11:object=sign-2027")
    assert [(s.slot.slot_id, e.handle) for s, e in found] == [(0x1A2B3C, 1), (3, 1), (4, 1)]
    found = select_certificates(report, uri="pkcs11:serial=01;type=cert")
    assert [e.handle for _, e in found] == [1, 2]
    assert select_certificates(report, uri="pkcs11:type=private") == []
    slot, cert = select_certificate(report, uri=certificate_uri(TOKEN, CERTS[1]))
    assert (slot.slot.slot_id, cert) == (0x1A2B3C, CERTS[1])
    with pytest.raises(UsageError, match="3 certificates match 'pkcs11:id=%01'") as caught:
        select_certificate(report, uri="pkcs11:id=%01")
    assert ";serial=01;token=U%E7%9B%BE;id=%01;object=sign-2027;type=cert" in str(caught.value)
    with pytest.raises(UsageError, match="no certificate matches"):
        select_certificate(report, uri="pkcs11:id=%99")


def test_filter_report() -> None:
    report = bank_report()
    assert filter_report(report) is report
    only = filter_report(report, label="U盾")
    assert [s.slot.slot_id for s in only.slots] == [3, 4]
    assert len(only.certificates) == 3
    certs = filter_report(report, uri="pkcs11:token=U%E7%9B%BE;id=%02")
    assert [s.slot.slot_id for s in certs.slots] == [3, 4]
    assert [e.handle for e in certs.certificates] == [2]
    assert filter_report(report, serial="nothing").slots == ()


# -- against p11tool ---------------------------------------------------------------------

PROBE_LABELS: list[bytes | str] = [
    "sign",
    "签名证书".encode("gbk"),  # not UTF-8
    "签名证书",  # UTF-8
    "a b;c/d?e%f&g=h:i@j~k_l.m-n*o!p$q'r(s)t+u,v[w]x",  # every reserved character
]


@dataclasses.dataclass(frozen=True)
class Probe:
    store: SoftHSMStore
    serials: tuple[str, ...]


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory, mint_cached: Callable[..., Minted]) -> Probe:
    """A store with a GBK-labelled token holding certificates with awkward labels and ids,
    and a token whose label is all reserved characters (mark: softhsm)."""
    cert = mint_cached(
        subject_cn="probe",
        not_before=FIXED_NOW - datetime.timedelta(days=10),
        not_after=FIXED_NOW + datetime.timedelta(days=100),
    )
    store = _new_store(tmp_path_factory.mktemp("uri-probe"))
    objects = [
        CertObject(cert.der, label=PROBE_LABELS[0], id=b"\x01"),
        PrivateKeyObject(cert.key_pkcs8_der, label="sign", id=b"\x01"),
        CertObject(cert.der, label=PROBE_LABELS[1], id=b"\x06\xff a/;?%"),
        CertObject(cert.der, label=PROBE_LABELS[2]),  # no CKA_ID
        CertObject(cert.der, label=PROBE_LABELS[3], id=b"ab"),
        CertObject(cert.der, id=b"\x00"),  # no CKA_LABEL
    ]
    created = store.add_tokens(
        [
            TokenSpec(label=GBK_LABEL, objects=objects),
            TokenSpec(label=" x ~!;/?%#", objects=[CertObject(cert.der, label="x")]),
        ]
    )
    return Probe(store, tuple(c.serial for c in created))


def _p11tool() -> str:
    found = shutil.which("p11tool")
    if found is None:
        message = "p11tool is missing (Debian package gnutls-bin)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must install it")
        pytest.skip(message)
    return found


def _p11tool_urls(probe: Probe, *args: str) -> set[str]:
    done = subprocess.run(
        [_p11tool(), "--provider", str(probe.store.module_path), *args],
        env=probe.store.subprocess_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    urls = {line for line in done.stdout.splitlines() if line.startswith("pkcs11:")}
    return {url for url in urls if any(f"serial={s};" in url for s in probe.serials)}


@pytest.fixture
def probe_report(probe: Probe, monkeypatch: pytest.MonkeyPatch) -> Report:
    _p11tool()
    for name, value in probe.store.env.items():
        monkeypatch.setenv(name, value)
    return ukeytool.inspect(str(probe.store.module_path), at=FIXED_NOW)


@pytest.mark.softhsm
def test_token_uris_are_what_p11tool_prints(probe: Probe, probe_report: Report) -> None:
    slots = [s for s in probe_report.slots if s.token and s.token.serial.value in probe.serials]
    assert len(slots) == 2
    ours = {str(token_uri(s.token)) for s in slots if s.token}
    assert ours == _p11tool_urls(probe, "--list-token-urls")
    assert f"token={''.join(f'%{b:02X}' for b in GBK_LABEL[:4])}U%B6%DC" in " ".join(ours)
    detailed = {str(token_uri(s.token, probe_report.module)) for s in slots if s.token}
    assert detailed == _p11tool_urls(probe, "--list-token-urls", "--detailed-url")


@pytest.mark.softhsm
def test_certificate_uris_are_what_p11tool_prints(probe: Probe, probe_report: Report) -> None:
    slots = [s for s in probe_report.slots if s.token and s.token.serial.value in probe.serials]
    ours = {str(certificate_uri(s.token, e)) for s in slots for e in s.certificates}
    assert len(ours) == 6
    assert ours == _p11tool_urls(probe, "--list-all-certs", "--only-urls", "pkcs11:")
    detailed = {
        str(certificate_uri(s.token, e, probe_report.module)) for s in slots for e in s.certificates
    }
    assert detailed == _p11tool_urls(
        probe, "--list-all-certs", "--only-urls", "--detailed-url", "pkcs11:"
    )


@pytest.mark.softhsm
def test_p11tool_uris_select_what_they_name(probe: Probe, probe_report: Report) -> None:
    # Each URI p11tool prints, given back to ukeytool, selects exactly that token or
    # certificate (which is also why the URIs must be unique on this token).
    for url in _p11tool_urls(probe, "--list-token-urls"):
        slot = select_token(probe_report, uri=url)
        assert slot.token is not None
        assert str(token_uri(slot.token)) == url
    for url in _p11tool_urls(probe, "--list-all-certs", "--only-urls", "--detailed-url", "pkcs11:"):
        slot, cert = select_certificate(probe_report, uri=url)
        assert str(certificate_uri(slot.token, cert, probe_report.module)) == url
    # The GBK label selects by its raw bytes and by its text.
    gbk = select_token(probe_report, uri="pkcs11:token=%B9%A4%D0%D0U%B6%DC")
    assert select_token(probe_report, label="工行U盾") == gbk
    labels = {e.label.raw for e in gbk.certificates if e.label is not None}
    assert {label if isinstance(label, bytes) else label.encode() for label in PROBE_LABELS} <= (
        labels
    )
