"""The JSON listing's per-certificate work (issue 12): strings escaped as they are written
instead of the whole text scanned again, and the parts many certificates share (an
issuer's name, a bank's renewal policy, the findings...) made and written once. The text
stays that of ``json.dumps`` of the document's dicts, escaped as before."""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ukeytool
from ukeytool.model.text import escape_control
from ukeytool.rendering import json_certificate, json_certificate_text, json_encode
from ukeytool.rendering.json import (
    files_to_dict,
    iter_json,
    iter_json_utf8,
    render_files_json,
    render_json,
    report_to_dict,
)
from ukeytool.rendering.json_encode import (
    Shared,
    SharedParts,
    dumps_indented,
    iter_indented,
)
from ukeytool.rendering.json_values import escape_nonprinting, escape_string
from ukeytool.testing.certs import Minted, mint, mint_ca
from ukeytool.testing.fake import FakeBackend, FakeCertificate, FakeKey, FakeToken

from .conftest import FIXED_NOW, Bank

DAY = datetime.timedelta(days=1)

ODD = [
    "",
    "证书 中国工商银行",
    "\u2028 \u2029 \u202e \ufeff \u200b",
    "\x00 \x1b[31m \x7f \x85 \x9b \t\n\r",
    "\udcff \udc80 lone surrogates",
    "\ud83d\ude00 a pair, \U0001f600 an emoji, \U000e0001 a tag",
    "\u3000 ideographic space, \xa0 no-break space",
    '"quoted" \\ back\\slash /',
    "\U0010ffff \ue000 private use, \u0378 unassigned",
]
"""Strings the escaping must get right: JSON's own escapes, characters the listing
escapes (controls, format characters, separators, surrogates) and printable ones it
keeps (CJK, spaces of other widths)."""

_strings = st.one_of(
    st.sampled_from(ODD),
    st.text(st.characters(exclude_categories=()), max_size=12),
    st.text(st.characters(codec="utf-8"), max_size=12),
)
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    _strings,
)
_values = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(_strings, children, max_size=4),
    ),
    max_leaves=25,
)


def _expected(value: Any) -> str:
    """The document as it was written before: ``json.dumps``, then the whole text
    escaped."""
    return escape_nonprinting(json.dumps(value, ensure_ascii=False, indent=2))


def _wrap(value: Any, choices: Iterator[bool]) -> Any:
    """``value`` with some of its containers held as :class:`Shared`."""
    if isinstance(value, dict):
        inner: Any = {key: _wrap(item, choices) for key, item in value.items()}
    elif isinstance(value, list):
        inner = [_wrap(item, choices) for item in value]
    else:
        return value
    return Shared(inner) if next(choices, False) else inner


@settings(max_examples=300, deadline=None)
@given(_values, st.lists(st.booleans(), max_size=40))
def test_escaping_each_string_is_escaping_the_text(value: Any, wrap: list[bool]) -> None:
    expected = _expected(value)
    assert dumps_indented(value, escape=escape_string) == expected
    # The same value held several times, at several indentations, as Shared parts.
    shared = _wrap(value, iter(wrap))
    document = {"a": shared, "b": [shared, {"c": [[shared]]}], "d": shared}
    plain = {"a": value, "b": [value, {"c": [[value]]}], "d": value}
    assert dumps_indented(document, escape=escape_string) == _expected(plain)
    pieces = list(iter_indented(document, "\n", escape=escape_string))
    assert "".join(pieces) == _expected(plain) + "\n"
    # Nothing is left that the command line's own escaping would change.
    for piece in pieces:
        assert escape_control(piece, lines=True, color=True) == piece


@pytest.mark.parametrize("text", ODD)
def test_odd_keys_and_values(text: str) -> None:
    value = {text: [text, {text: text}], "n": [math.inf, -0.0, 2**70]}
    assert dumps_indented(value, escape=escape_string) == _expected(value)
    assert dumps_indented(value) == json.dumps(value, ensure_ascii=False, indent=2)


def test_a_shared_part_is_written_once_per_indentation(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    real = json_encode.encode_shared

    def counting(value: Any, newline: str, escape: Any) -> str:
        made.append(newline)
        return real(value, newline, escape)

    monkeypatch.setattr(json_encode, "encode_shared", counting)
    part = Shared({"name": "证书", "list": [1, 2]})
    document = [part] * 50 + [{"deeper": part}] * 50
    plain = [part.value] * 50 + [{"deeper": part.value}] * 50
    assert dumps_indented(document, escape=escape_string) == _expected(plain)
    assert made == ["\n  ", "\n    "]


def test_shared_parts_are_bounded() -> None:
    parts = SharedParts()
    for i in range(json_encode.PARTS_MAX + 10):
        parts.get(str, i)
    made = parts.get(str, -1)
    assert made == "-1"  # past the bound: made each time, not held
    assert isinstance(parts.get(str, 3), Shared)  # those held are still found
    assert parts.get(str, 3) is parts.get(str, 3)
    unhashable = [1, 2]
    assert parts.get(len, unhashable) == 2  # made, not held
    assert parts.get(len, unhashable) == 2


# --- whole documents: the new writing against json.dumps of the old structure


def _documents(
    reports: list[ukeytool.Report], *, languages: tuple[str, ...] = ("en", "zh")
) -> None:
    """Every way of writing ``reports`` gives json.dumps's text of their dicts."""
    for lang in languages:
        for shown in (False, True):
            options: dict[str, Any] = {"lang": lang, "show_personal_data": shown}
            document = report_to_dict(reports, generated_at=FIXED_NOW, **options)
            expected = _expected(document) + "\n"
            pieces = list(iter_json(reports, generated_at=FIXED_NOW, **options))
            assert "".join(pieces) == expected
            assert render_json(reports, generated_at=FIXED_NOW, **options) == expected
            utf8 = list(iter_json_utf8(reports, generated_at=FIXED_NOW, **options))
            assert len(utf8) == len(pieces)
            assert b"".join(utf8) == expected.encode()
            for piece in pieces:
                assert escape_control(piece, lines=True, color=True) == piece


@pytest.fixture(scope="module")
def issued() -> tuple[Minted, Minted, list[Minted]]:
    """Two CAs and holders of each, EC keys (quick to make)."""
    ca = mint_ca("共享 CA", at=FIXED_NOW, key="ec-p256", organization="共享测试银行")
    other = mint_ca("Other CA", at=FIXED_NOW, key="ec-p256")
    holders = [
        mint(
            subject_cn=f"持有人 {i}",
            not_before=FIXED_NOW - 400 * DAY,
            not_after=FIXED_NOW + (i * 40 - 60) * DAY,
            key="ec-p256",
            issuer=ca if i % 3 else other,
            organization="共享测试银行" if i % 2 else None,
            key_usage=("digitalSignature",) if i % 4 else (),
        )
        for i in range(12)
    ]
    return ca, other, holders


def _token(
    issued: tuple[Minted, Minted, list[Minted]], labels: list[bytes | str | None]
) -> FakeToken:
    ca, other, holders = issued
    objects: list[FakeCertificate | FakeKey] = [
        FakeCertificate(ca.der, label="CA", id=b"\x00"),
        FakeCertificate(other.der, label=None),
        FakeCertificate(b"\x30\x03\x02\x01\x00", label="not a certificate", id=b"\x09"),
        FakeCertificate(None, label="no value", id=b"\x0a"),
        FakeCertificate(ca.der, label="sensitive", unreadable={"CKA_VALUE": 0x11}),
    ]
    for i, holder in enumerate(holders):
        ident = bytes([i + 1])
        label = labels[i % len(labels)] if labels else f"证书 {i}"
        if isinstance(label, str):  # lone surrogates too: any bytes
            label = label.encode("utf-8", "surrogatepass")
        objects.append(FakeCertificate(holder.der, label=label, id=ident))
        if i % 2:
            objects.append(FakeKey(id=ident, key_class=2, label=f"key {i}"))
    return FakeToken(objects=objects, label="共享 token")


def _report(*tokens: FakeToken) -> ukeytool.Report:
    report = ukeytool.inspect_backend(FakeBackend(list(tokens)), at=FIXED_NOW)
    return ukeytool.advise(report)


def test_varied_tokens_give_json_dumps_text(
    issued: tuple[Minted, Minted, list[Minted]],
) -> None:
    first = _token(issued, [*ODD, None, b"\xff\xfe gb", "证书".encode("gb18030")])
    second = dataclasses.replace(_token(issued, []), serial="fake0002", label=b"\xc4\xe3")
    report = _report(first, second)
    assert len(report.certificates) == 2 * 17
    _documents([report])
    _documents([report, report], languages=("en",))
    _documents([])


def _changed(report: ukeytool.Report, change: Callable[[Any], Any]) -> ukeytool.Report:
    """``report`` with ``change(entry)`` for each certificate entry."""
    slots = tuple(
        dataclasses.replace(slot, certificates=tuple(change(e) for e in slot.certificates))
        for slot in report.slots
    )
    return dataclasses.replace(report, slots=slots)


_maybe_strings = st.one_of(st.none(), _strings)
_zones = st.sampled_from(
    [None, datetime.timezone.utc, datetime.timezone(datetime.timedelta(hours=8))]
)
_MOMENTS = [
    datetime.datetime(2030, 1, 1, 0, 0, tzinfo=datetime.timezone.utc),
    datetime.datetime(2030, 1, 1, 8, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8))),
    datetime.datetime(2030, 1, 1, 0, 0),
    datetime.datetime(2030, 1, 1, 0, 0, 0, 1),
]
"""Moments equal or nearly so, each written as its own (the writer remembers moments)."""
_certificate_values = st.fixed_dictionaries(
    {
        "subject": _maybe_strings,
        "subject_cn": _maybe_strings,
        "issuer": _maybe_strings,
        "serial": _maybe_strings,
        "key_algorithm": _maybe_strings,
        "key_size": st.one_of(st.none(), st.integers()),
        "key_curve": _maybe_strings,
        "sha1": _strings,
        "sm3": _maybe_strings,
        "key_usage": st.one_of(st.none(), st.lists(_strings, max_size=3).map(tuple)),
        "is_ca": st.one_of(st.none(), st.booleans()),
        "encoding": _strings,
        "subject_attributes": st.one_of(st.none(), st.just(())),
        "issuer_attributes": st.one_of(st.none(), st.just(())),
        "subject_key_identifier": st.one_of(st.none(), st.binary(max_size=4)),
        # The same instant in other zones, naive (taken as UTC), with microseconds.
        "not_before": st.one_of(st.none(), st.datetimes(timezones=_zones)),
        "not_after": st.one_of(st.none(), st.sampled_from(_MOMENTS)),
    }
)


@settings(max_examples=40, deadline=None)
@given(values=_certificate_values, advised=st.booleans())
def test_any_certificate_values_give_json_dumps_text(
    issued: tuple[Minted, Minted, list[Minted]], values: dict[str, Any], advised: bool
) -> None:
    """Whatever a certificate's members hold (None, odd strings, empty lists), and with
    or without advice, the text written straight from the values is json.dumps's."""
    read = ukeytool.inspect_backend(FakeBackend([_token(issued, [])]), at=FIXED_NOW)
    report = ukeytool.advise(read) if advised else read

    def change(entry: Any) -> Any:
        if entry.certificate is None:
            return entry
        return dataclasses.replace(
            entry, certificate=dataclasses.replace(entry.certificate, **values)
        )

    _documents([_changed(report, change)], languages=("en",))


@pytest.mark.parametrize("bound", [0, 1, 3])
def test_past_the_bound_of_shared_parts_the_text_is_the_same(
    issued: tuple[Minted, Minted, list[Minted]], monkeypatch: pytest.MonkeyPatch, bound: int
) -> None:
    """A document with more shared parts than a SharedParts holds (parts made each time
    past the bound), and more days and moments than the writer remembers (forgotten and
    remembered afresh), is written the same."""
    monkeypatch.setattr(json_encode, "PARTS_MAX", bound)
    monkeypatch.setattr(json_certificate_text, "_TEXTS_MAX", bound)
    monkeypatch.setattr(json_certificate_text, "_DAYS", {})
    monkeypatch.setattr(json_certificate_text, "_MOMENTS", {})
    report = ukeytool.advise(
        ukeytool.inspect_backend(FakeBackend([_token(issued, [])]), at=FIXED_NOW), bank="icbc"
    )
    _documents([report], languages=("en",))


@settings(max_examples=25, deadline=None)
@given(labels=st.lists(st.one_of(st.binary(max_size=12), _strings), min_size=1, max_size=6))
def test_any_labels_give_json_dumps_text(
    issued: tuple[Minted, Minted, list[Minted]], labels: list[bytes | str | None]
) -> None:
    _documents([_report(_token(issued, labels))], languages=("en",))


def test_the_test_tokens_give_json_dumps_text(bank: Bank, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOFTHSM2_CONF", str(bank.store.conf_path))
    report = ukeytool.advise(ukeytool.inspect(str(bank.store.module_path), at=FIXED_NOW))
    assert report.certificates
    _documents([report])


def test_files_give_json_dumps_text(
    issued: tuple[Minted, Minted, list[Minted]], tmp_path: Path
) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    ca, other, holders = issued
    pem = tmp_path / "证书.pem"
    pem.write_bytes(
        b"".join(
            x509.load_der_x509_certificate(m.der).public_bytes(Encoding.PEM)
            for m in (ca, other, *holders)
        )
    )
    files = ukeytool.inspect_files([pem, tmp_path / "missing \u202e.der"], at=FIXED_NOW)
    for shown in (False, True):
        document = files_to_dict(files, generated_at=FIXED_NOW, show_personal_data=shown)
        text = render_files_json(files, generated_at=FIXED_NOW, show_personal_data=shown)
        assert text == _expected(document) + "\n"


# --- the shared parts are not made again for each certificate


def _count(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[int]:
    calls = [0]
    real: Callable[..., Any] = getattr(module, name)

    def counting(*args: Any) -> Any:
        calls[0] += 1
        return real(*args)

    monkeypatch.setattr(module, name, counting)
    return calls


def _count_encoding(
    monkeypatch: pytest.MonkeyPatch, which: Callable[[Any], bool] = lambda value: True
) -> list[int]:
    """Counts the values (``which`` of them) the JSON listing encodes from dicts and lists,
    whether :mod:`~ukeytool.rendering.json_encode` or
    :mod:`~ukeytool.rendering.json_certificate_text` asks for it."""
    calls = [0]
    real = json_encode.encode_shared

    def counting(value: Any, *args: Any) -> Any:
        if which(value):
            calls[0] += 1
        return real(value, *args)

    monkeypatch.setattr(json_encode, "encode_shared", counting)
    monkeypatch.setattr(json_certificate_text, "encode_shared", counting)
    return calls


@pytest.fixture(scope="module")
def one_issuer() -> tuple[Minted, list[bytes]]:
    ca = mint_ca("一个 CA", at=FIXED_NOW, key="ec-p256", organization="一个银行")
    holders = [
        mint(
            subject_cn=f"持有人 {i}",
            not_before=FIXED_NOW - 30 * DAY,
            not_after=FIXED_NOW + (i * 5 + 10) * DAY,
            key="ec-p256",
            issuer=ca,
            organization="一个银行",
            key_usage=(),
        ).der
        for i in range(200)
    ]
    return ca, holders


def test_the_shared_parts_are_made_once_whatever_the_certificates(
    one_issuer: tuple[Minted, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """For 100 and for 200 certificates of one issuer, its name, the bank's renewal
    policy, the findings, the link to the issuer and the key's state are each made and
    written once; what grows is only what each certificate has of its own."""
    ca, holders = one_issuer
    counted = {
        name: _count(monkeypatch, json_certificate, name)
        for name in (
            "attributes_json",
            "bank_json",
            "findings_json",
            "link_json",
            "key_on_token_json",
        )
    }
    encoded = _count_encoding(monkeypatch)
    results = []
    for n in (100, 200):
        objects = [FakeCertificate(ca.der, label="CA")]
        objects += [FakeCertificate(der, label=f"证书 {i}") for i, der in enumerate(holders[:n])]
        report = _report(FakeToken(objects=objects))
        for calls in (*counted.values(), encoded):
            calls[0] = 0
        text = "".join(iter_json([report], generated_at=FIXED_NOW))
        assert json.loads(text)["summary"]["certificates"] == n + 1
        results.append(({name: calls[0] for name, calls in counted.items()}, encoded[0]))
    (made_100, encoded_100), (made_200, encoded_200) = results
    # The issuer's name once (the CA's is the same name); one bank, the holders'
    # findings (the CA has none), one link to the CA, one state of the key.
    assert (
        made_100
        == made_200
        == {
            "attributes_json": 1,
            "bank_json": 1,
            "findings_json": 1,
            "link_json": 1,
            "key_on_token_json": 1,
        }
    )
    # 100 more certificates, each written straight to text: nothing more is encoded.
    assert encoded_200 == encoded_100 > 0


def test_the_policy_lists_are_written_once_whatever_the_certificates(
    one_issuer: tuple[Minted, list[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The renewal policy's lists (each window's menus, steps and sources, the branch
    steps...) are the same for every certificate the policy advises on: they are written
    once, for 100 certificates as for 200, as runs of members (a window's from its menu
    to its sources, the advice's branch members)."""
    ca, holders = one_issuer
    lists = _count_encoding(monkeypatch, lambda v: isinstance(v, dict) and _RUNS & v.keys())
    written = []
    for n in (100, 200):
        objects = [FakeCertificate(der, label=f"证书 {i}") for i, der in enumerate(holders[:n])]
        token = FakeToken(objects=[FakeCertificate(ca.der, label="CA"), *objects])
        # ICBC's policy: windows with menus and steps, branch steps and sources.
        read = ukeytool.inspect_backend(FakeBackend([token]), at=FIXED_NOW)
        report = ukeytool.advise(read, bank="icbc")
        lists[0] = 0
        text = "".join(iter_json([report], generated_at=FIXED_NOW))
        advice = json.loads(text)["modules"][0]["slots"][0]["token"]["certificates"][1]["advice"]
        assert advice["windows"][0]["steps"]
        assert advice["windows"][0]["menu"]
        written.append(lists[0])
    assert written[0] == written[1] > 0


_RUNS = {"menu", "branch_steps"}
"""A member of each run of policy members (json_certificate_text's)."""


@pytest.mark.parametrize(
    "value",
    [
        datetime.datetime(1, 1, 1, tzinfo=datetime.timezone.utc),
        datetime.datetime(999, 12, 31, 23, 59, 59, 1, tzinfo=datetime.timezone.utc),
        datetime.datetime(2030, 6, 1, 8, 0, 0, 500000),
        datetime.datetime(2030, 6, 1, 8, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8))),
        datetime.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=datetime.timezone.utc),
    ],
)
def test_moments_are_written_as_before(value: datetime.datetime) -> None:
    from ukeytool.rendering.json_values import moment

    utc = value.replace(tzinfo=datetime.timezone.utc) if value.tzinfo is None else value
    utc = utc.astimezone(datetime.timezone.utc)
    before = (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    ) + (f".{utc.microsecond:06d}" if utc.microsecond else "")
    assert moment(value) == before + "Z"
