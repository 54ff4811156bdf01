"""The inspection logic over ukeytool.testing.fake.FakeBackend: slots, tokens, problems,
removal and login, through ukeytool.inspect_backend, with no PKCS#11 module loaded.

The same logic against real modules is in test_inspect.py (SoftHSM) and
test_misbehaving.py (the misbehaving module); these tests reach the corners cheaply.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest

import ukeytool
from ukeytool import Login, Pin, Status
from ukeytool.i18n import render, using
from ukeytool.pkcs11 import cryptoki as ck
from ukeytool.testing.certs import Minted
from ukeytool.testing.fake import (
    CKR_DEVICE_ERROR,
    CKR_DEVICE_REMOVED,
    CKR_TOKEN_NOT_PRESENT,
    FakeBackend,
    FakeCertificate,
    FakeKey,
    FakeSlot,
    FakeToken,
)

from .conftest import FIXED_NOW

DAY = datetime.timedelta(days=1)
GBK_LABEL = "工行U盾".encode("gbk")


@pytest.fixture(scope="module")
def valid(mint_cached: Callable[..., Minted]) -> Minted:
    return mint_cached(
        subject_cn="fake-valid",
        not_before=FIXED_NOW - 10 * DAY,
        not_after=FIXED_NOW + 365 * DAY,
        key="ec-p256",
    )


@pytest.fixture(scope="module")
def expired(mint_cached: Callable[..., Minted]) -> Minted:
    return mint_cached(
        subject_cn="fake-expired",
        not_before=FIXED_NOW - 400 * DAY,
        not_after=FIXED_NOW - DAY,
        key="ec-p256",
    )


def bank_token(valid: Minted, expired: Minted, serial: str = "5f1c2e3d") -> FakeToken:
    return FakeToken(
        label=GBK_LABEL,
        serial=serial,
        pin="1234",
        objects=[
            FakeCertificate(valid.der, label="sign", id=b"\x01"),
            FakeKey.of(valid, id=b"\x01"),
            FakeKey.of(valid, id=b"\x01", key_class=ck.CKO_PUBLIC_KEY),
            FakeCertificate(expired.der, label="old", id=b"\x02"),
            FakeCertificate(valid.der, label="private", id=b"\x03", private=True),
        ],
    )


def inspect(backend: FakeBackend, login: Login | None = None) -> ukeytool.Report:
    return ukeytool.inspect_backend(backend, at=FIXED_NOW, warn_days=30, login=login)


def test_slots_and_tokens(valid: Minted, expired: Minted) -> None:
    uninitialised = FakeToken(label="", serial="blank", flags=0)
    backend = FakeBackend([bank_token(valid, expired), FakeSlot(), uninitialised])
    report = inspect(backend)

    assert [s.slot.slot_id for s in report.slots] == [1, 2, 3]
    bank, empty, blank = report.slots
    assert bank.token is not None
    assert bank.token.label.raw == GBK_LABEL
    assert bank.token.label.value == "工行U盾"
    assert [(e.label.value if e.label else None, e.status) for e in bank.certificates] == [
        ("sign", Status.VALID),
        ("old", Status.EXPIRED),
    ]  # the private certificate is not seen without a login
    assert bank.complete
    assert bank.problems == ()
    # the public key object is seen without login, and links the certificate to its key
    assert bank.keys_listed
    assert [k.key_class for k in bank.keys] == ["public"]
    key = bank.certificates[0].key_on_token
    assert key is not None
    assert key.state == "yes"
    assert (empty.token, empty.certificates, empty.problems) == (None, (), ())
    assert blank.token is not None
    assert not blank.token.initialized
    # no session on an empty slot or an uninitialised token, no login ever
    assert ("C_OpenSession", 2) not in backend.calls
    assert ("C_OpenSession", 3) not in backend.calls
    assert not any(function == "C_Login" for function, _slot in backend.calls)


def test_a_failing_token_call_hides_nothing_else(valid: Minted, expired: Minted) -> None:
    backend = FakeBackend([FakeToken(serial="a"), bank_token(valid, expired)])
    backend.fail("C_GetTokenInfo", CKR_DEVICE_ERROR, slot_id=1)
    broken, bank = inspect(backend).slots

    assert broken.token is None
    (problem,) = broken.problems
    assert (problem.where, problem.code, problem.code_name) == (
        "C_GetTokenInfo",
        CKR_DEVICE_ERROR,
        "CKR_DEVICE_ERROR",
    )
    assert str(problem.message) == "cannot read the token: CKR_DEVICE_ERROR"
    assert len(bank.certificates) == 2
    assert bank.problems == ()


def test_token_gone_between_slot_and_token_info() -> None:
    backend = FakeBackend([FakeToken()])
    backend.fail("C_GetTokenInfo", CKR_TOKEN_NOT_PRESENT)
    (slot,) = inspect(backend).slots
    (problem,) = slot.problems
    assert problem.code_name == "CKR_TOKEN_NOT_PRESENT"
    assert "removed?" in str(problem.message)


def test_failing_slot_info_and_session(valid: Minted, expired: Minted) -> None:
    backend = FakeBackend([FakeToken(serial="a"), bank_token(valid, expired)])
    backend.fail("C_GetSlotInfo", CKR_DEVICE_ERROR, slot_id=1)
    backend.fail("C_OpenSession", CKR_DEVICE_ERROR, slot_id=2)
    no_info, no_session = inspect(backend).slots
    assert no_info.slot.slot_id == 1  # kept in the listing
    assert [p.where for p in no_info.problems] == ["C_GetSlotInfo"]
    assert no_session.token is not None  # the token's info was read
    assert [p.where for p in no_session.problems] == ["C_OpenSession"]
    assert str(no_session.problems[0].message) == "cannot list certificates: CKR_DEVICE_ERROR"
    assert not no_session.complete


def test_a_failing_slot_list_fails_the_module() -> None:
    backend = FakeBackend([FakeToken()])
    backend.fail("C_GetSlotList", CKR_DEVICE_ERROR)
    with pytest.raises(ukeytool.ModuleCallFailed) as raised:
        inspect(backend)
    assert raised.value.function == "C_GetSlotList"
    assert raised.value.code_name == "CKR_DEVICE_ERROR"


def test_a_failing_attribute_read(valid: Minted) -> None:
    sensitive = FakeCertificate(
        valid.der, label="hidden", unreadable={"CKA_VALUE": ck.CKR_ATTRIBUTE_SENSITIVE}
    )
    backend = FakeBackend([FakeToken(objects=[sensitive, FakeCertificate(valid.der)])])
    (slot,) = inspect(backend).slots
    hidden, fine = slot.certificates
    assert hidden.certificate is None
    assert hidden.status is Status.UNREADABLE
    (problem,) = hidden.problems
    assert (problem.where, problem.code_name) == ("CKA_VALUE", "CKR_ATTRIBUTE_SENSITIVE")
    assert "refuses to reveal CKA_VALUE" in str(problem.message)
    assert fine.status is Status.VALID
    assert slot.complete  # one unreadable object is not an incomplete listing
    with using("zh"):
        assert "CKA_VALUE" in render(problem.message)
        assert "refuses" not in render(problem.message)


def test_token_removed_mid_listing(valid: Minted, expired: Minted) -> None:
    backend = FakeBackend([bank_token(valid, expired), FakeToken(serial="b")])
    backend.remove_token(1, after=1)
    first, other = inspect(backend).slots

    assert [e.label.value for e in first.certificates if e.label] == ["sign"]
    assert not first.complete
    (problem,) = first.problems
    assert (problem.where, problem.code) == ("C_FindObjects", CKR_DEVICE_REMOVED)
    assert "the token was removed" in str(problem.message)
    assert not first.keys_listed
    assert other.complete
    # afterwards the reader is empty
    again, _ = inspect(backend).slots
    assert (again.token, again.problems) == (None, ())


def test_login_shows_private_objects_with_one_c_login(valid: Minted, expired: Minted) -> None:
    backend = FakeBackend([bank_token(valid, expired), FakeSlot()])
    (slot, _empty) = inspect(backend, Login(Pin("1234"))).slots
    assert slot.login is not None
    assert slot.login.logged_in
    assert [e.label.value for e in slot.certificates if e.label] == ["sign", "old", "private"]
    assert sorted(k.key_class for k in slot.keys) == ["private", "public"]
    assert [c for c in backend.calls if c[0] == "C_Login"] == [("C_Login", 1)]


def test_wrong_pin_is_tried_once(valid: Minted, expired: Minted) -> None:
    backend = FakeBackend([bank_token(valid, expired)])
    (slot,) = inspect(backend, Login(Pin("0000"))).slots
    assert slot.login is not None
    assert not slot.login.logged_in
    assert slot.login.code_name == "CKR_PIN_INCORRECT"
    assert len(slot.certificates) == 2  # what is public is still listed
    assert [c for c in backend.calls if c[0] == "C_Login"] == [("C_Login", 1)]


def test_no_pin_spent_on_an_ambiguous_login(valid: Minted, expired: Minted) -> None:
    backend = FakeBackend([bank_token(valid, expired), bank_token(valid, expired, serial="2")])
    pin = Pin("1234")
    with pytest.raises(ukeytool.UsageError, match="a login needs exactly one"):
        inspect(backend, Login(pin))
    assert not pin.spent
    assert not any(function in ("C_Login", "C_OpenSession") for function, _ in backend.calls)


def test_fail_knows_its_functions() -> None:
    with pytest.raises(ValueError, match="cannot fail C_Sign"):
        FakeBackend().fail("C_Sign", CKR_DEVICE_ERROR)
