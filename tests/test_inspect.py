"""ukeytool.inspect against real SoftHSM tokens created at test time.

One store holds a bank-like token (GBK label) with a certificate in every state and every
broken CKA_VALUE, a second token, and SoftHSM's spare uninitialised slot. Certificates
are minted at fixed offsets from a fixed moment, so nothing here depends on the clock.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import ukeytool
from ukeytool import PinState, Report, Status
from ukeytool.i18n import Message
from ukeytool.testing.softhsm import SoftHSMStore

from .conftest import GBK_CERT_LABEL, GBK_TOKEN, Bank

pytestmark = pytest.mark.softhsm

UTC = datetime.timezone.utc
NOW = datetime.datetime(2030, 1, 1, tzinfo=UTC)  # conftest.FIXED_NOW
DAY = datetime.timedelta(days=1)


@pytest.fixture(scope="module")
def report(bank: Bank) -> Iterator[Report]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOFTHSM2_CONF", str(bank.store.conf_path))
        yield ukeytool.inspect(str(bank.store.module_path), at=NOW, warn_days=30)


def token_slot(report: Report, serial: str) -> ukeytool.SlotReport:
    found = [s for s in report.slots if s.token is not None and s.token.serial.value == serial]
    assert len(found) == 1
    return found[0]


def by_label(slot: ukeytool.SlotReport) -> dict[str, ukeytool.CertificateEntry]:
    return {c.label.value: c for c in slot.certificates if c.label is not None}


def test_module_info(report: Report, bank: Bank) -> None:
    assert report.module.path == str(bank.store.module_path)
    assert report.module.manufacturer.value == "SoftHSM"
    assert report.module.cryptoki_version[0] == 2
    assert report.at == NOW
    assert report.warn_days == 30


def test_every_slot_is_listed_including_the_uninitialised_one(report: Report) -> None:
    assert len(report.slots) == 3
    spare = [s for s in report.slots if s.token is not None and not s.token.initialized]
    assert len(spare) == 1
    assert spare[0].token is not None
    assert spare[0].token.pin_state is PinState.NOT_INITIALISED
    # SoftHSM sets SO-PIN flags on an uninitialised token; that is not "locked"
    assert spare[0].certificates == ()
    assert not spare[0].problems


def test_gbk_token_label_keeps_its_bytes(report: Report, bank: Bank) -> None:
    token = token_slot(report, bank.serial).token
    assert token is not None
    assert token.label.raw == GBK_TOKEN
    assert token.label.value == "工行U盾"
    assert token.label.guessed
    assert token.label.encoding == "gb18030"
    assert token.manufacturer.value == "SoftHSM project"
    assert token.pin_state is PinState.OK
    assert "CKF_TOKEN_INITIALIZED" in token.flag_names
    assert token.unknown_flags == 0


def test_two_tokens_identified_by_serial(report: Report, bank: Bank) -> None:
    second = token_slot(report, bank.second_serial)
    assert second.token is not None
    assert second.token.label.value == "second"
    assert not second.token.label.guessed
    assert [c.label.value for c in second.certificates if c.label] == ["copy"]


def test_statuses_and_days_left(report: Report, bank: Bank) -> None:
    certs = by_label(token_slot(report, bank.serial))
    expected = {
        "Demo Root CA": (Status.VALID, 3000),
        "sign": (Status.VALID, 365),
        "expiring": (Status.EXPIRING, 20),
        "edge": (Status.EXPIRING, 0),
        "expired": (Status.EXPIRED, -30),
        "future": (Status.NOT_YET_VALID, 400),
        "签名证书": (Status.EXPIRING, 20),
        "sm2-enc": (Status.EXPIRING, 20),
        "pem": (Status.EXPIRING, 20),
    }
    for label, (status, days) in expected.items():
        assert (certs[label].status, certs[label].days_left) == (status, days), label


def test_certificate_values(report: Report, bank: Bank) -> None:
    certs = by_label(token_slot(report, bank.serial))
    valid = certs["sign"].certificate
    assert valid is not None
    minted = bank.certs["valid"]
    assert valid.subject_cn == "张三"
    assert valid.issuer_cn == "Demo Root CA"
    assert valid.key_algorithm == "RSA"
    assert valid.key_size == 2048
    assert valid.sha256 == hashlib.sha256(minted.der).hexdigest()
    assert valid.sha1 == hashlib.sha1(minted.der).hexdigest()
    assert valid.not_after == NOW + 365 * DAY
    assert valid.not_before == NOW - 100 * DAY
    assert certs["sign"].id == b"\x01"
    assert certs["sign"].private is False
    assert certs["sign"].certificate_type == 0
    expired = certs["expired"].certificate
    assert expired is not None
    assert (expired.key_size, expired.signature_algorithm) == (1024, "sha1WithRSAEncryption")
    ca = certs["Demo Root CA"].certificate
    assert ca is not None
    assert ca.is_ca is True
    assert ca.self_signed is True
    assert certs["Demo Root CA"].id in (b"", None)


def test_sm2_certificates_and_gbk_object_label(report: Report, bank: Bank) -> None:
    certs = by_label(token_slot(report, bank.serial))
    sign = certs["签名证书"]
    assert sign.label is not None
    assert sign.label.raw == GBK_CERT_LABEL
    assert sign.label.guessed
    assert sign.certificate is not None
    assert sign.certificate.key_algorithm == "SM2"
    assert sign.certificate.key_size == 256
    assert sign.certificate.signature_algorithm == "SM3withSM2"
    assert sign.certificate.key_usage == ("digitalSignature", "nonRepudiation")
    enc = certs["sm2-enc"].certificate
    assert enc is not None
    assert enc.key_usage == ("keyEncipherment", "dataEncipherment", "keyAgreement")
    assert enc.subject == sign.certificate.subject


def test_broken_values_are_listed_as_unreadable(report: Report, bank: Bank) -> None:
    certs = by_label(token_slot(report, bank.serial))
    for label in ("empty", "truncated"):
        entry = certs[label]
        assert entry.status is Status.UNREADABLE, label
        assert entry.days_left is None
        assert entry.certificate is not None
        assert entry.certificate.error, label
    assert "empty" in str(certs["empty"].certificate.error)  # type: ignore[union-attr]
    pem = certs["pem"].certificate
    assert pem is not None
    assert pem.encoding == "pem"
    assert pem.sha256 == hashlib.sha256(bank.certs["expiring"].der).hexdigest()


def test_private_certificates_are_not_visible_without_login(report: Report, bank: Bank) -> None:
    certs = by_label(token_slot(report, bank.serial))
    assert "private" not in certs
    assert len(certs) == 11
    slot = token_slot(report, bank.serial)
    assert slot.token is not None
    assert slot.token.login_required


def test_nothing_failed(report: Report) -> None:
    assert report.complete
    assert all(not s.problems for s in report.slots)


def test_at_must_be_aware(bank: Bank, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOFTHSM2_CONF", str(bank.store.conf_path))
    with pytest.raises(ukeytool.UsageError, match="no time zone"):
        ukeytool.inspect(str(bank.store.module_path), at=datetime.datetime(2030, 1, 1))


def test_removed_token_store_lists_nothing_but_the_spare_slot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SoftHSMStore(tmp_path)
    monkeypatch.setenv("SOFTHSM2_CONF", str(store.conf_path))
    report = ukeytool.inspect(str(store.module_path), at=NOW)
    assert len(report.slots) == 1
    assert report.certificates == ()
    assert report.complete


def test_several_modules_one_failing(
    bank: Bank, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SOFTHSM2_CONF", str(bank.store.conf_path))
    missing = str(tmp_path / "libmissing.so")
    reports, failures = ukeytool.inspect_modules(
        [missing, str(bank.store.module_path)], at=NOW, warn_days=30
    )
    assert [r.module.path for r in reports] == [str(bank.store.module_path)]
    assert len(reports[0].certificates) == 12
    assert [(f.path, f.kind) for f in failures] == [(missing, "ModuleNotFound")]
    assert "module not found" in str(failures[0].message)
    assert isinstance(failures[0].message, Message)
    assert failures[0].message.code == "module.not_found"
    assert failures[0].code is None
