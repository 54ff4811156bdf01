"""ukeytool against a PKCS#11 module that misbehaves on purpose.

The module is ``tests/shim/misbehave.c``: it wraps SoftHSM's ``bank`` store and fails as
``MISBEHAVE`` says, on the bank token's slot only (``MISBEHAVE_SLOT``), so every test also
shows that the other tokens and their certificates are untouched. ukeytool runs in a child
process (``python -m ukeytool list-tokens --json``) and each test pins down its exact
current behaviour: exit code, JSON, stderr, and the PKCS#11 calls the shim saw.

Hangs and crashes in C_Initialize are what child-process isolation is for: here only the
module's own behaviour is tested, through a raw probe; what ukeytool does with them is in
``test_isolation.py``. The PIN modes belong to the opt-in login (``test_login.py``); here
the listing without login is shown to be unaffected.
"""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ukeytool.cli import ExitCode

from .conftest import Bank
from .shim_module import AT, Run, run_probe, run_ukeytool, shim_env

pytestmark = pytest.mark.softhsm

FLAG_NAMES = {
    "pin_count_low": "CKF_USER_PIN_COUNT_LOW",
    "pin_final_try": "CKF_USER_PIN_FINAL_TRY",
    "pin_locked": "CKF_USER_PIN_LOCKED",
}


@dataclasses.dataclass(frozen=True)
class Baseline:
    """The bank store listed through the shim with no misbehaviour."""

    run: Run
    bank: int
    """Index in the slot list of the bank token (GBK label, 11 visible certificates)."""
    second: int
    """Index of the second token (one certificate)."""

    def certificates(self, index: int) -> list[dict[str, Any]]:
        return certificates(self.run.slots[index])


def certificates(slot: dict[str, Any]) -> list[dict[str, Any]]:
    assert slot["token"] is not None, slot["problems"]
    found: list[dict[str, Any]] = slot["token"]["certificates"]
    return found


# How a certificate relates to the others on its token: these name other objects by
# handle, and change with what could be read of the others (tests/test_relations.py).
RELATION_FIELDS = ("role", "issued_by", "pair", "key_on_token", "findings")


def keyed(entries: list[dict[str, Any]]) -> dict[str | None, dict[str, Any]]:
    """Certificates by CKA_ID (unique on these tokens), without their handles and their
    relations to the other objects.

    So they compare across runs: SoftHSM's handles and find order vary between processes.
    """
    dropped = ("handle", *RELATION_FIELDS)
    out = {e["id"]: {k: v for k, v in e.items() if k not in dropped} for e in entries}
    assert len(out) == len(entries), "CKA_ID is not unique"
    return out


@pytest.fixture(scope="module")
def base(shim: Path, bank: Bank) -> Baseline:
    run = run_ukeytool(shim, bank.store)
    assert run.returncode == ExitCode.OK, run.stderr
    serials = [s["token"]["serial"] if s["token"] else None for s in run.slots]
    return Baseline(run, serials.index(bank.serial), serials.index(bank.second_serial))


def misbehave(shim: Path, bank: Bank, base: Baseline, *modes: str, **params: int) -> Run:
    """ukeytool on the shim, misbehaving on the bank token's slot only."""
    return run_ukeytool(shim, bank.store, modes, slot=base.bank, **params)


def assert_others_untouched(run: Run, base: Baseline) -> None:
    """Every slot but the bank token's is listed exactly as without misbehaviour."""
    assert len(run.slots) == len(base.run.slots)
    for index, (slot, expected) in enumerate(zip(run.slots, base.run.slots, strict=True)):
        if index == base.bank:
            continue
        assert slot["slot_id"] == expected["slot_id"]
        assert slot["problems"] == []
        assert slot["complete"]
        if expected["token"] is not None:
            assert keyed(certificates(slot)) == keyed(certificates(expected))
    assert certificates(run.slots[base.second])[0]["status"] == "valid"


# --- the shim itself ------------------------------------------------------------------


def test_passthrough_lists_what_softhsm_lists(base: Baseline, bank: Bank) -> None:
    run = base.run
    assert run.stderr == ""
    assert len(run.slots) == 3
    assert len(base.certificates(base.bank)) == 11
    assert run.slots[base.bank]["token"]["label"] == "工行U盾"
    assert not any(c.misbehaved for c in run.calls)
    assert run.count("C_GetAttributeValue") == 12  # one per certificate: every value fits
    assert run.count("C_Login") == 0
    direct = run_ukeytool(bank.store.module_path, bank.store)  # SoftHSM without the shim
    assert direct.returncode == ExitCode.OK
    for slot, expected in zip(run.slots, direct.slots, strict=True):
        assert {k: v for k, v in slot.items() if k != "token"} == {
            k: v for k, v in expected.items() if k != "token"
        }
        if expected["token"] is not None:
            assert keyed(certificates(slot)) == keyed(certificates(expected))


def test_unknown_mode_fails_loudly(shim: Path, bank: Bank) -> None:
    probe = run_probe(shim, bank.store, ["init_hnag"], "init")
    assert probe.returncode == 1
    assert probe.results == {"C_GetFunctionList": 0x5}  # CKR_GENERAL_ERROR
    assert "misbehave: unknown mode 'init_hnag' in MISBEHAVE; known:" in probe.stderr
    with pytest.raises(AssertionError, match="unknown mode 'init_hnag'"):
        run_ukeytool(shim, bank.store, ["init_hnag"])


def test_function_list_error_is_named(shim: Path, bank: Bank) -> None:
    run = run_ukeytool(shim, bank.store, ["function_list_error"])
    assert run.returncode == ExitCode.MODULE_FAILED
    assert run.stdout == ""
    assert run.stderr == (
        f"ukeytool: error: module {shim}: C_GetFunctionList failed with CKR_GENERAL_ERROR\n"
    )
    assert run.calls == ()  # nothing was called: there is no function list to call through


# --- C_Initialize ----------------------------------------------------------------------


def test_init_args_bad_is_one_line_and_exit_4(shim: Path, bank: Bank) -> None:
    run = run_ukeytool(shim, bank.store, ["init_args_bad"])
    assert run.returncode == ExitCode.MODULE_FAILED
    assert run.document is None
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert run.stderr.endswith("\n")
    assert run.stderr.startswith("ukeytool: error: module ")
    assert "C_Initialize returned CKR_ARGUMENTS_BAD" in run.stderr
    assert "Traceback" not in run.stderr
    assert [c.function for c in run.calls] == ["C_Initialize"]


def test_init_hang_module_really_hangs(shim: Path, bank: Bank) -> None:
    # What ukeytool does with it (stops the child at --timeout): test_isolation.py.
    probe = run_probe(shim, bank.store, ["init_hang"], "init", timeout=3)
    assert probe.timed_out
    assert probe.results == {"C_GetFunctionList": 0}  # C_Initialize never came back


def test_init_crash_module_really_dies_with_sigsegv(shim: Path, bank: Bank) -> None:
    # What ukeytool does with it (reports the signal): test_isolation.py.
    probe = run_probe(shim, bank.store, ["init_crash"], "init")
    assert probe.returncode == -signal.SIGSEGV
    assert probe.results == {"C_GetFunctionList": 0}


# --- the slot list and token info -------------------------------------------------------


def test_slot_list_growing_between_calls_is_read_again(
    shim: Path, bank: Bank, base: Baseline
) -> None:
    run = run_ukeytool(shim, bank.store, ["slotlist_grows"])
    assert run.returncode == ExitCode.OK, run.stderr
    assert run.stderr == ""
    assert run.document is not None
    assert run.document["complete"] is True
    assert run.document["modules"][0]["problems"] == []
    assert [s["slot_id"] for s in run.slots] == [s["slot_id"] for s in base.run.slots]
    lists = run.calls_to("C_GetSlotList")
    assert [(c.fields["fill"], c.rv) for c in lists] == [(0, 0), (1, 0x150), (0, 0), (1, 0)]
    assert lists[1].fields["count"] == len(base.run.slots) + 1
    for slot, expected in zip(run.slots, base.run.slots, strict=True):
        if expected["token"] is not None:
            assert keyed(certificates(slot)) == keyed(certificates(expected))


TOKEN_INFO_FAILURES = {
    "tokeninfo_not_present": (
        0xE0,
        "CKR_TOKEN_NOT_PRESENT",
        "the slot reports a token but the token is not present (removed?)",
    ),
    "tokeninfo_device_error": (0x30, "CKR_DEVICE_ERROR", "cannot read the token: CKR_DEVICE_ERROR"),
    "tokeninfo_slot_invalid": (
        0x3,
        "CKR_SLOT_ID_INVALID",
        "cannot read the token: CKR_SLOT_ID_INVALID",
    ),
    "vendor_rv": (
        0x80000123,
        "CKR_VENDOR_DEFINED+0x123",
        "cannot read the token: CKR_VENDOR_DEFINED+0x123",
    ),
}


@pytest.mark.parametrize("mode", sorted(TOKEN_INFO_FAILURES))
def test_token_info_failure_marks_that_slot_only(
    mode: str, shim: Path, bank: Bank, base: Baseline
) -> None:
    code, name, message = TOKEN_INFO_FAILURES[mode]
    run = misbehave(shim, bank, base, mode)
    assert run.returncode == ExitCode.INCOMPLETE, run.stderr
    assert run.stderr == ""
    assert run.document is not None
    assert run.document["complete"] is False
    slot = run.slots[base.bank]
    assert slot["slot_id"] == base.run.slots[base.bank]["slot_id"]
    assert slot["token_present"] is True
    assert slot["token"] is None
    assert "certificates" not in slot
    assert slot["problems"] == [
        {
            "where": "C_GetTokenInfo",
            "message": message,
            "message_code": slot["problems"][0]["message_code"],
            "code": code,
            "code_name": name,
        }
    ]
    assert_others_untouched(run, base)
    # no session is opened on a token whose info could not be read
    assert run.count("C_OpenSession") == 1


def test_vendor_flag_bits_are_kept_as_unknown_flags(shim: Path, bank: Bank, base: Baseline) -> None:
    run = misbehave(shim, bank, base, "vendor_flags")
    assert run.returncode == ExitCode.OK, run.stderr
    token = run.slots[base.bank]["token"]
    expected = base.run.slots[base.bank]["token"]
    assert token["unknown_flags"] == 0x20000000
    assert token["flags"] == expected["flags"] | 0x20000000
    assert token["flag_names"] == expected["flag_names"]
    assert token["pin_state"] == "ok"
    assert keyed(token["certificates"]) == keyed(expected["certificates"])
    assert run.slots[base.second]["token"]["unknown_flags"] == 0
    assert_others_untouched(run, base)


@pytest.mark.parametrize("mode", sorted(FLAG_NAMES))
def test_pin_flags_give_the_pin_state(mode: str, shim: Path, bank: Bank, base: Baseline) -> None:
    run = misbehave(shim, bank, base, mode)
    assert run.returncode == ExitCode.OK, run.stderr
    token = run.slots[base.bank]["token"]
    assert token["pin_state"] == mode.removeprefix("pin_")
    assert FLAG_NAMES[mode] in token["flag_names"]
    assert token["unknown_flags"] == 0
    # the state is read from the flags alone: the listing goes on, nobody logs in
    assert len(token["certificates"]) == 11
    assert run.count("C_Login") == 0
    assert run.slots[base.second]["token"]["pin_state"] == "ok"
    assert_others_untouched(run, base)


def test_protected_authentication_path_is_reported(shim: Path, bank: Bank, base: Baseline) -> None:
    run = misbehave(shim, bank, base, "protected_auth")
    assert run.returncode == ExitCode.OK, run.stderr
    token = run.slots[base.bank]["token"]
    assert token["protected_authentication_path"] is True
    assert "CKF_PROTECTED_AUTHENTICATION_PATH" in token["flag_names"]
    assert token["pin_state"] == "ok"
    assert len(token["certificates"]) == 11
    assert run.count("C_Login") == 0
    assert run.slots[base.second]["token"]["protected_authentication_path"] is False
    assert_others_untouched(run, base)


# --- sessions and login ------------------------------------------------------------------


def test_rw_only_module_gets_no_rw_session(shim: Path, bank: Bank, base: Baseline) -> None:
    run = misbehave(shim, bank, base, "rw_only")
    assert run.returncode == ExitCode.INCOMPLETE, run.stderr
    assert run.stderr == ""
    slot = run.slots[base.bank]
    assert slot["token"] is not None
    assert slot["token"]["certificates"] == []
    assert slot["complete"] is False
    assert slot["problems"] == [
        {
            "where": "C_OpenSession",
            "message": "cannot list certificates: CKR_SESSION_READ_ONLY",
            "message_code": "token.cannot_list",
            "code": 0xB5,
            "code_name": "CKR_SESSION_READ_ONLY",
        }
    ]
    sessions = run.calls_to("C_OpenSession")
    assert [c.fields["flags"] for c in sessions] == [0x4, 0x4]  # CKF_SERIAL_SESSION only
    assert [c.misbehaved for c in sessions].count(True) == 1  # tried once, not again R/W
    # the second token's three searches (certificates, private keys, public keys)
    assert run.count("C_FindObjectsInit") == 3
    assert_others_untouched(run, base)


def test_login_pin_locked_module_refuses_login(shim: Path, bank: Bank, base: Baseline) -> None:
    # The module's side of the mode (ukeytool's side: tests/test_login.py). The shim
    # answers for the real module there, so no PIN try is ever spent.
    locked = run_probe(
        shim, bank.store, ["login_pin_locked"], "login", str(base.bank), "1234", slot=base.bank
    )
    assert locked.returncode == 0, locked.stderr
    assert locked.results["C_OpenSession"] == 0
    assert locked.results["C_Login"] == 0xA4  # CKR_PIN_LOCKED
    # the other token's login goes through to SoftHSM (the right PIN: no try spent either)
    other = run_probe(
        shim, bank.store, ["login_pin_locked"], "login", str(base.second), "1234", slot=base.bank
    )
    assert other.returncode == 0, other.stderr
    assert other.results["C_Login"] == 0


def test_login_pin_locked_is_invisible_to_the_listing(
    shim: Path, bank: Bank, base: Baseline
) -> None:
    run = misbehave(shim, bank, base, "login_pin_locked")
    assert run.returncode == ExitCode.OK, run.stderr
    assert run.count("C_Login") == 0
    assert keyed(certificates(run.slots[base.bank])) == keyed(base.certificates(base.bank))


# --- the search -----------------------------------------------------------------------------

FIND_FAILURES = {
    "find_device_removed": (
        0x32,
        "CKR_DEVICE_REMOVED",
        "CKR_DEVICE_REMOVED (the token was removed)",
    ),
    "find_session_invalid": (
        0xB3,
        "CKR_SESSION_HANDLE_INVALID",
        "CKR_SESSION_HANDLE_INVALID (the session was closed by the module (token removed?))",
    ),
}


@pytest.mark.parametrize("after", [0, 3])
@pytest.mark.parametrize("mode", sorted(FIND_FAILURES))
def test_search_failing_midway_gives_a_partial_listing(
    mode: str, after: int, shim: Path, bank: Bank, base: Baseline
) -> None:
    code, name, explained = FIND_FAILURES[mode]
    run = misbehave(shim, bank, base, mode, after=after)
    assert run.returncode == ExitCode.INCOMPLETE, run.stderr
    assert run.stderr == ""
    slot = run.slots[base.bank]
    assert slot["complete"] is False
    assert slot["problems"] == [
        {
            "where": "C_FindObjects",
            "message": f"the search stopped after {after} certificate objects: {explained}",
            "message_code": "search.stopped.certificates",
            "code": code,
            "code_name": name,
        }
    ]
    # the certificates found before the failure are listed, fully read
    got, expected = keyed(certificates(slot)), keyed(base.certificates(base.bank))
    assert len(got) == after
    assert got == {k: expected[k] for k in got}
    # the search is ended even after a failure; the token is gone, so no key search
    # follows; the other token gets its three searches
    assert run.count("C_FindObjectsFinal") == 1 + 3
    assert run.count("C_GetAttributeValue") == after + 1
    assert_others_untouched(run, base)


# --- attributes --------------------------------------------------------------------------

TARGET = 1
"""MISBEHAVE_OBJECT: the second certificate found on the bank token misbehaves."""
NOT_READ = "CKA_VALUE is larger than 1048576 bytes; not read"
ATTRIBUTE_FAILURES = {
    "attr_huge_length": ("CKA_VALUE", 0x150, "CKR_BUFFER_TOO_SMALL", NOT_READ),
    "attr_grows": ("CKA_VALUE", 0x150, "CKR_BUFFER_TOO_SMALL", NOT_READ),
    "attr_unavailable_ok": ("CKA_VALUE", 0, "CKR_OK", "the module gave no value for CKA_VALUE"),
    "attr_sensitive": (
        "CKA_VALUE",
        0x11,
        "CKR_ATTRIBUTE_SENSITIVE",
        "the module refuses to reveal CKA_VALUE (CKR_ATTRIBUTE_SENSITIVE)",
    ),
    "attr_type_invalid_label": (
        "CKA_LABEL",
        0x12,
        "CKR_ATTRIBUTE_TYPE_INVALID",
        "the object has no CKA_LABEL (CKR_ATTRIBUTE_TYPE_INVALID)",
    ),
}
CERTIFICATE_FIELDS = ("status", "subject", "issuer", "serial", "not_after", "sha256", "encoding")
LABEL_FIELDS = ("label", "label_hex", "label_encoding", "label_guessed")


def attribute_calls(run: Run) -> dict[int, list[bool]]:
    """Per object handle, each C_GetAttributeValue on it: whether the shim misbehaved."""
    calls: dict[int, list[bool]] = {}
    for call in run.calls_to("C_GetAttributeValue"):
        calls.setdefault(call.fields["object"], []).append(call.misbehaved)
    return calls


@pytest.mark.parametrize("mode", sorted(ATTRIBUTE_FAILURES))
def test_attribute_failure_marks_that_certificate_only(
    mode: str, shim: Path, bank: Bank, base: Baseline
) -> None:
    where, code, name, message = ATTRIBUTE_FAILURES[mode]
    run = misbehave(shim, bank, base, mode, obj=TARGET)
    assert run.returncode == ExitCode.INCOMPLETE, run.stderr
    assert run.stderr == ""  # no MemoryError, no traceback
    slot = run.slots[base.bank]
    assert slot["complete"] is True
    assert slot["problems"] == []
    got, expected = certificates(slot), keyed(base.certificates(base.bank))
    assert len(got) == len(expected) == 11
    target = got[TARGET]  # the shim counts in the order ukeytool lists
    before = expected.pop(target["id"])
    injected = {
        "where": where,
        "message": message,
        "message_code": target["problems"][0]["message_code"],
        "code": code,
        "code_name": name,
    }
    # SoftHSM's handle order differs between processes, so the target may be an object
    # whose certificate has problems of its own (the PEM one); those remain unless the
    # value itself is what could not be read.
    own = [] if where == "CKA_VALUE" else before["problems"]
    assert target["problems"] == [injected, *own]
    if where == "CKA_VALUE":
        assert target["status"] == "unreadable"
        assert target["sha256"] is None
        assert target["subject"] is None
        assert target["error"] is None  # nothing to parse, rather than a parse error
        kept: tuple[str, ...] = (*LABEL_FIELDS, "id", "certificate_type", "private")
    else:
        assert all(target[f] is None for f in LABEL_FIELDS)
        kept = (*CERTIFICATE_FIELDS, "id", "certificate_type", "private")
    assert {f: target[f] for f in kept} == {f: before[f] for f in kept}
    assert keyed(got[:TARGET] + got[TARGET + 1 :]) == expected
    # one call per object, a second only for the one that did not give its value
    calls = attribute_calls(run)
    assert calls.pop(target["handle"]) == [True, True]
    assert all(each == [False] for each in calls.values())
    assert_others_untouched(run, base)


@pytest.mark.parametrize("mode", sorted(ATTRIBUTE_FAILURES))
def test_attribute_failure_on_every_object(
    mode: str, shim: Path, bank: Bank, base: Baseline
) -> None:
    where, _code, name, _message = ATTRIBUTE_FAILURES[mode]
    run = misbehave(shim, bank, base, mode)
    assert run.returncode == ExitCode.INCOMPLETE, run.stderr
    assert run.stderr == ""
    got = certificates(run.slots[base.bank])
    expected = keyed(base.certificates(base.bank))
    assert len(got) == 11
    for entry in got:
        problems = [(p["where"], p["code_name"]) for p in entry["problems"]]
        # the attribute's problem first, then what the certificate said in the baseline
        # (when it could still be read)
        assert problems[0] == (where, name)
        if where == "CKA_LABEL":
            assert entry["problems"][1:] == expected[entry["id"]]["problems"]
        else:
            assert problems == [(where, name)]
    calls = attribute_calls(run)
    assert len(calls) == 12
    assert sum(len(each) == 2 for each in calls.values()) == 11  # the second token's: 1
    assert_others_untouched(run, base)


def test_value_buffer_too_small_is_read_again_with_room(
    shim: Path, bank: Bank, base: Baseline
) -> None:
    run = misbehave(shim, bank, base, "attr_too_small")
    assert run.returncode == ExitCode.OK, run.stderr
    assert run.document is not None
    assert run.document["complete"] is True
    got = certificates(run.slots[base.bank])
    assert keyed(got) == keyed(base.certificates(base.bank))
    calls = attribute_calls(run)
    bank_handles = {c["handle"] for c in got}
    assert all(calls[h] == [True, False] for h in bank_handles)  # 8 KiB: too small; 1 MiB: fits
    assert_others_untouched(run, base)


# --- teardown and removal ----------------------------------------------------------------


def assert_one_lifetime(run: Run) -> None:
    """C_Initialize first, C_Finalize last, each exactly once."""
    assert run.calls[0].function == "C_Initialize"
    assert run.calls[-1].function == "C_Finalize"
    assert run.count("C_Initialize") == run.count("C_Finalize") == 1


TEARDOWN_FAILURES = {
    "finalize_error": ("C_Finalize", 0x30),  # CKR_DEVICE_ERROR
    "close_session_invalid": ("C_CloseSession", 0xB3),  # CKR_SESSION_HANDLE_INVALID
}


@pytest.mark.parametrize("mode", sorted(TEARDOWN_FAILURES))
def test_failing_teardown_changes_nothing(
    mode: str, shim: Path, bank: Bank, base: Baseline
) -> None:
    function, code = TEARDOWN_FAILURES[mode]
    run = run_ukeytool(shim, bank.store, [mode])  # on every slot
    assert run.returncode == ExitCode.OK, run.stderr
    assert run.stderr == ""
    assert run.document is not None
    assert run.document["complete"] is True
    for slot, expected in zip(run.slots, base.run.slots, strict=True):
        assert slot["problems"] == expected["problems"] == []
        if expected["token"] is not None:
            assert keyed(certificates(slot)) == keyed(certificates(expected))
    failed = run.calls_to(function)
    assert failed
    assert all(c.rv == code and c.misbehaved for c in failed)  # it did fail, unseen
    assert_one_lifetime(run)


def test_closing_a_dead_session_does_not_replace_the_removal(
    shim: Path, bank: Bank, base: Baseline
) -> None:
    run = misbehave(shim, bank, base, "find_device_removed", "close_session_invalid", after=3)
    assert run.returncode == ExitCode.INCOMPLETE, run.stderr
    assert run.stderr == ""
    slot = run.slots[base.bank]
    assert slot["complete"] is False
    assert slot["problems"] == [
        {
            "where": "C_FindObjects",
            "message": "the search stopped after 3 certificate objects: CKR_DEVICE_REMOVED "
            "(the token was removed)",
            "message_code": "search.stopped.certificates",
            "code": 0x32,
            "code_name": "CKR_DEVICE_REMOVED",
        }
    ]
    assert len(certificates(slot)) == 3
    closes = run.calls_to("C_CloseSession")
    assert [(c.rv, c.misbehaved) for c in closes].count((0xB3, True)) == 1
    assert_others_untouched(run, base)
    assert_one_lifetime(run)


REMOVED = {
    "where": "C_GetAttributeValue",
    "message": "cannot read the object: CKR_DEVICE_REMOVED (the token was removed)",
    "message_code": "object.cannot_read",
    "code": 0x32,
    "code_name": "CKR_DEVICE_REMOVED",
}


def test_token_removed_while_certificates_are_read(shim: Path, bank: Bank, base: Baseline) -> None:
    target = 4  # the fifth object read: four are listed whole before it
    run = misbehave(shim, bank, base, "attr_device_removed", obj=target)
    assert run.returncode == ExitCode.INCOMPLETE, run.stderr
    assert run.stderr == ""
    assert run.document is not None
    assert run.document["complete"] is False
    slot = run.slots[base.bank]
    assert slot["complete"] is False
    assert slot["problems"] == [REMOVED]
    got = certificates(slot)
    assert len(got) == target + 1
    expected = keyed(base.certificates(base.bank))
    assert keyed(got[:target]) == {k: expected[k] for k in keyed(got[:target])}
    removed = got[target]
    assert removed["status"] == "unreadable"
    assert removed["problems"] == [REMOVED]
    # nothing more is asked of the removed token
    assert list(attribute_calls(run).values()).count([True]) == 1
    assert run.count("C_GetAttributeValue") == target + 1 + 1  # + the second token's
    assert_others_untouched(run, base)
    assert_one_lifetime(run)


def test_token_removed_shows_in_the_text_listing(shim: Path, bank: Bank, base: Baseline) -> None:
    # As users run it: the module in a child process, the partial report carried over.
    env = shim_env(bank.store, ["attr_device_removed"], slot=base.bank, obj=4)
    done = subprocess.run(
        [sys.executable, "-m", "ukeytool", "list-tokens", "--module", str(shim), "--at", AT],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == ExitCode.INCOMPLETE, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    removal = (
        "! C_GetAttributeValue: cannot read the object: CKR_DEVICE_REMOVED "
        "(the token was removed) (0x32)"
    )
    assert [line.strip() for line in lines].count(removal) == 2  # the token's, the object's
    assert (
        "    (certificate listing incomplete: certificates may be missing; see the lines "
        "marked !)" in lines
    )
    assert lines[-1].endswith("; some things could not be read (lines marked !)")
