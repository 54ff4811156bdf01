"""A token pulled out or swapped during the read is never reported complete (issue 13,
item 4).

Once a token's objects are read, ukeytool checks that the slot still holds the same token
(``ukeytool.pkcs11.integrity``): the session is still alive (C_GetSessionInfo), the slot
still says CKF_TOKEN_PRESENT (C_GetSlotInfo), and C_GetTokenInfo gives the same label,
manufacturer, model, serial and versions. Shown with the misbehaving module over SoftHSM
(modes ``token_removed_after_read``, ``token_swapped``), with the fake backend (a slot
that is empty afterwards, a re-read that fails for another reason), and on the virtual
PIV card through pcscd and OpenSC, pulled out while OpenSC reads it inside C_Initialize:
the case issue 13 found, where a listing of one certificate out of three passed as
complete.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import ukeytool
from ukeytool.cli import ExitCode
from ukeytool.errors import TokenError
from ukeytool.model import SlotInfo, TokenInfo
from ukeytool.model.text import decode_text
from ukeytool.pkcs11.backend import CANNOT_READ_SLOT
from ukeytool.testing.certs import mint
from ukeytool.testing.fake import FakeBackend, FakeCertificate, FakeSlot, FakeToken

from .conftest import FIXED_NOW, Bank, Cli, PivCard
from .shim_module import AT, Run, run_ukeytool, shim_env

REMOVED_DURING_READ = (
    "the token was removed during the read: C_GetSessionInfo returned CKR_DEVICE_REMOVED; "
    "the certificates listed may not be all of them"
)
EMPTY_AFTER_READ = (
    "the token was removed during the read: the slot holds no token any more; the "
    "certificates listed may not be all of them"
)


# --- the misbehaving module over SoftHSM ----------------------------------------------


@dataclasses.dataclass(frozen=True)
class Base:
    run: Run
    bank: int
    """Index of the bank token's slot in the slot list."""


@pytest.fixture(scope="module")
def base(shim: Path, bank: Bank) -> Base:
    run = run_ukeytool(shim, bank.store)
    assert run.returncode == ExitCode.OK, run.stderr
    serials = [s["token"]["serial"] if s["token"] else None for s in run.slots]
    return Base(run, serials.index(bank.serial))


def certificate_ids(slot: dict[str, Any]) -> list[str | None]:
    return sorted(c["id"] or "" for c in slot["token"]["certificates"])


def assert_others_untouched(run: Run, base: Base) -> None:
    for index, (slot, expected) in enumerate(zip(run.slots, base.run.slots, strict=True)):
        if index != base.bank:
            assert slot["problems"] == expected["problems"] == []
            assert slot["complete"] is True


@pytest.mark.softhsm
@pytest.mark.parametrize("isolate", [False, True], ids=["in-process", "isolated"])
def test_token_removed_after_the_read_makes_the_listing_incomplete(
    isolate: bool, shim: Path, bank: Bank, base: Base
) -> None:
    run = run_ukeytool(
        shim, bank.store, ["token_removed_after_read"], slot=base.bank, isolate=isolate
    )
    assert run.returncode == ExitCode.INCOMPLETE, run.stderr
    assert run.stderr == ""
    assert run.document is not None
    assert run.document["complete"] is False
    slot = run.slots[base.bank]
    assert slot["complete"] is False
    assert slot["problems"] == [
        {
            "where": "C_GetSessionInfo",
            "message": REMOVED_DURING_READ,
            "message_code": "token.removed_during_read",
            "code": 0x32,
            "code_name": "CKR_DEVICE_REMOVED",
        }
    ]
    # What was seen is still listed.
    assert certificate_ids(slot) == certificate_ids(base.run.slots[base.bank])
    assert_others_untouched(run, base)
    # one C_GetSessionInfo per session, before its C_CloseSession
    assert run.count("C_GetSessionInfo") == run.count("C_OpenSession")
    assert [c.misbehaved for c in run.calls_to("C_GetSessionInfo")].count(True) == 1


@pytest.mark.softhsm
def test_token_swapped_during_the_read_makes_the_listing_incomplete(
    shim: Path, bank: Bank, base: Base
) -> None:
    run = run_ukeytool(shim, bank.store, ["token_swapped"], slot=base.bank)
    assert run.returncode == ExitCode.INCOMPLETE, run.stderr
    slot = run.slots[base.bank]
    assert slot["complete"] is False
    (problem,) = slot["problems"]
    assert problem["where"] == "C_GetTokenInfo"
    assert problem["message_code"] == "token.replaced_during_read"
    assert problem["message"] == (
        f"the token was replaced during the read: serial {bank.serial} label 工行U盾 at the "
        "start, serial SWAPPEDTOKEN0001 label 工行U盾 at the end; the certificates listed "
        "may be of either token"
    )
    # the token's info is the one read at the start
    assert slot["token"]["serial"] == bank.serial
    assert certificate_ids(slot) == certificate_ids(base.run.slots[base.bank])
    assert_others_untouched(run, base)


@pytest.mark.softhsm
def test_removed_token_is_unknown_in_check_and_marked_in_text(
    shim: Path, bank: Bank, base: Base
) -> None:
    env = shim_env(bank.store, ["token_removed_after_read"], slot=base.bank)
    command = [sys.executable, "-m", "ukeytool"]
    common = ["--module", str(shim), "--at", AT, "--serial", bank.serial]
    done = subprocess.run(
        [*command, "check", *common, "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode in (3, 2), done.stderr
    result = json.loads(done.stdout)
    (problem,) = [p for p in result["problems"] if p["message_code"].startswith("token.")]
    assert problem["message_code"] == "token.removed_during_read"
    assert problem["state"] == "UNKNOWN"
    assert result["state"] in ("UNKNOWN", "CRITICAL")  # UNKNOWN at best
    done = subprocess.run(
        [*command, "list-tokens", *common],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == ExitCode.INCOMPLETE, done.stderr
    assert f"! C_GetSessionInfo: {REMOVED_DURING_READ} (0x32)" in [
        line.strip() for line in done.stdout.splitlines()
    ]


# --- the fake backend: what the shim's modes do not show -----------------------------


class PulledAfterRead(FakeBackend):
    """A token that is gone, or another one, once its objects were listed; no session
    state to ask (the fake has no C_GetSessionInfo), so the slot is asked again."""

    def __init__(self, *args: Any, then: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.then = then
        self.read = False

    def certificate_objects(self, slot_id: int, **kwargs: Any) -> Any:
        listing = super().certificate_objects(slot_id, **kwargs)
        self.read = True
        return listing

    def slot_info(self, slot_id: int) -> SlotInfo:
        info = super().slot_info(slot_id)
        if self.read and self.then == "empty":
            return dataclasses.replace(info, flags=info.flags & ~0x1)
        if self.read and self.then == "slot_error":
            raise TokenError(
                CANNOT_READ_SLOT(
                    function="C_GetSlotInfo", code_name="CKR_GENERAL_ERROR", slot_id=slot_id
                ),
                slot_id=slot_id,
                function="C_GetSlotInfo",
                code=0x5,
                code_name="CKR_GENERAL_ERROR",
            )
        return info

    def token_info(self, slot_id: int) -> TokenInfo:
        info = super().token_info(slot_id)
        if self.read and self.then == "relabelled":
            return dataclasses.replace(info, label=decode_text(b"another key"))
        return info


def pulled(then: str) -> PulledAfterRead:
    der = mint(
        subject_cn="holder",
        not_before=FIXED_NOW.replace(year=2029),
        not_after=FIXED_NOW.replace(year=2031),
    ).der
    token = FakeToken(label="key", serial="0001", objects=[FakeCertificate(der, label="cert")])
    return PulledAfterRead([FakeSlot(token)], then=then)


def test_slot_empty_after_the_read() -> None:
    report = ukeytool.inspect_backend(pulled("empty"), at=FIXED_NOW)
    (slot,) = report.slots
    assert not slot.complete
    assert not report.complete
    (problem,) = slot.problems
    assert (problem.where, problem.message.code) == ("C_GetSlotInfo", "token.empty_after_read")
    assert str(problem.message) == EMPTY_AFTER_READ
    assert len(slot.certificates) == 1  # still listed


def test_token_relabelled_after_the_read() -> None:
    report = ukeytool.inspect_backend(pulled("relabelled"), at=FIXED_NOW)
    (slot,) = report.slots
    assert not slot.complete
    (problem,) = slot.problems
    assert problem.message.code == "token.replaced_during_read"
    assert "label key at the start" in str(problem.message)
    assert "label another key at the end" in str(problem.message)


def test_a_re_read_that_fails_for_another_reason_proves_nothing() -> None:
    backend = pulled("slot_error")
    report = ukeytool.inspect_backend(backend, at=FIXED_NOW)
    (slot,) = report.slots
    assert slot.complete
    assert slot.problems == ()
    # the check: one C_GetSlotInfo more, and no C_GetTokenInfo after it failed
    assert [f for f, _ in backend.calls].count("C_GetSlotInfo") == 2
    assert [f for f, _ in backend.calls].count("C_GetTokenInfo") == 1


def test_an_unchanged_token_passes() -> None:
    backend = pulled("nothing")
    report = ukeytool.inspect_backend(backend, at=FIXED_NOW)
    assert report.complete
    calls = [f for f, _ in backend.calls]
    assert calls.count("C_GetSlotInfo") == calls.count("C_GetTokenInfo") == 2


# --- the virtual PIV card, pulled out while OpenSC reads it in C_Initialize ------------

#: GET DATA commands the card answers before it leaves: OpenSC has then read the
#: discovery object, the CHUID and the first certificate (9A), not the two others.
PULLED_AFTER = 16
#: How long the shim's C_CloseSession waits: pcscd polls the reader and OpenSC asks it
#: again at most once a second; a slow key's teardown takes as long.
CLOSE_PAUSE_US = 1_500_000


def on_card(cli: Cli, card: PivCard, shim: Path, *args: str) -> tuple[int, str, str]:
    """``ukeytool ARGS`` on the card, through the shim (a pass-through here, but for the
    pause in C_CloseSession) over OpenSC."""
    env: dict[str, str | None] = {
        **card.env,
        "PKCS11_MODULE": None,
        "MISBEHAVE_REAL": card.module,
        "MISBEHAVE": "",
        "MISBEHAVE_CLOSE_PAUSE_US": str(CLOSE_PAUSE_US),
    }
    return cli(*args[:1], "--module", str(shim), "--at", AT, *args[1:], env=env)


def card_slot(out: str) -> dict[str, Any]:
    (module,) = json.loads(out)["modules"]
    slot: dict[str, Any] = module["slots"][0]
    return slot


def test_card_not_pulled_is_complete(cli: Cli, piv_card: PivCard, shim: Path) -> None:
    code, out, err = on_card(cli, piv_card, shim, "list-tokens", "--json")
    assert code == ExitCode.OK, err
    slot = card_slot(out)
    assert slot["complete"] is True
    assert len(slot["token"]["certificates"]) == 3


def test_card_pulled_during_the_read_is_never_complete(
    cli: Cli, piv_card: PivCard, shim: Path
) -> None:
    partial = 0
    for _attempt in range(3):
        with piv_card.stand.pulled_after(PULLED_AFTER):
            code, out, err = on_card(cli, piv_card, shim, "list-tokens", "--json")
        slot = card_slot(out)
        if slot["token"] is None:
            # pcscd saw the card leave before OpenSC's first C_GetSlotInfo: an empty
            # reader, which is the truth; try again for the case of issue 13.
            assert code == ExitCode.OK, err
            continue
        # The token as OpenSC read it in C_Initialize: fewer certificates than the card
        # holds, and never passed as complete.
        assert code == ExitCode.INCOMPLETE, err
        assert len(slot["token"]["certificates"]) < 3
        assert slot["complete"] is False
        codes = [p["message_code"] for p in slot["problems"]]
        assert codes in (["token.empty_after_read"], ["token.removed_during_read"]), codes
        partial += 1
        break
    assert partial, "the card never left in the middle of the read"


def test_check_on_a_card_pulled_during_the_read_is_unknown(
    cli: Cli, piv_card: PivCard, shim: Path
) -> None:
    for _attempt in range(3):
        with piv_card.stand.pulled_after(PULLED_AFTER):
            code, out, err = on_card(cli, piv_card, shim, "check")
        if "no token" not in out and "no certificates" not in out:
            break
    # issue 13 found "CRITICAL - 1 expired, 1 ok" with the expiring certificate missing;
    # the certificate read (9A) is valid: UNKNOWN, since the listing is incomplete.
    assert code == 3, out + err  # UNKNOWN
    assert out.startswith("UKEYTOOL UNKNOWN"), out
    assert "the token was removed during the read" in out
