"""Faults after something was read (issue 14, "what was read is never lost"), absurd
answers that must stay one module's failure, SIGTERM, and no secret in a child's
environment.

Every run goes through ``python -m ukeytool`` on the misbehaving module
(``tests/shim``), in a child of pytest with a time limit of its own.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ukeytool.cli import ExitCode
from ukeytool.cli.signals import TERMINATED

from .conftest import Bank
from .shim_module import AT, run_ukeytool, shim_env
from .test_isolation import callers, gone, keyed, wait_for

pytestmark = pytest.mark.softhsm


@pytest.fixture(scope="module")
def base(shim: Path, bank: Bank) -> dict[str, Any]:
    """The bank store through the well-behaved shim, isolated as by default."""
    run = run_ukeytool(shim, bank.store, isolate=True)
    assert run.returncode == ExitCode.OK, run.stderr
    assert run.document is not None
    return run.document


def bank_index(base: dict[str, Any], bank: Bank) -> int:
    (module,) = base["modules"]
    serials = [s["token"]["serial"] if s["token"] else None for s in module["slots"]]
    return serials.index(bank.serial)


# --- C_Finalize after a full read ----------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "code", "words"),
    [
        ("finalize_crash", "isolation.finalize_crashed", "(signal 11, SIGSEGV) in C_Finalize"),
        ("finalize_hang", "isolation.finalize_hung", "did not return from C_Finalize within 2 s"),
    ],
)  # fmt: skip
def test_a_fault_in_c_finalize_loses_nothing(
    shim: Path, bank: Bank, base: dict[str, Any], *, mode: str, code: str, words: str
) -> None:
    run = run_ukeytool(shim, bank.store, [mode], isolate=True, args=["--timeout", "2"])
    assert run.returncode == ExitCode.OK, run.stderr
    assert run.document is not None
    (module,) = run.document["modules"]
    (expected,) = base["modules"]
    assert keyed(module) == keyed(expected)
    assert len(keyed(module)[bank.serial]) == 11
    # Reported on the module, with its code; nothing was lost, so the run is complete.
    (problem,) = module["problems"]
    assert problem["where"] == "C_Finalize"
    assert problem["message_code"] == code
    assert words in problem["message"]
    assert "nothing was lost" in problem["message"]
    assert module["complete"] is True
    assert run.document["complete"] is True
    assert [c.misbehaved for c in run.calls_to("C_Finalize")] == [True]
    assert all(gone(pid) for pid in {c.fields["pid"] for c in run.calls})


def test_a_fault_in_c_finalize_shows_in_text_and_check(shim: Path, bank: Bank) -> None:
    env = shim_env(bank.store, ["finalize_crash"])
    command = [sys.executable, "-m", "ukeytool"]
    text = subprocess.run(
        [*command, "list-tokens", "--at", AT, "--module", str(shim)],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert text.returncode == ExitCode.OK, text.stderr
    assert "crashed (signal 11, SIGSEGV) in C_Finalize" in text.stdout
    assert bank.serial in text.stdout
    check = subprocess.run(
        [*command, "check", "--at", AT, "--module", str(shim), "--serial", bank.second_serial],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert check.stdout.startswith("UKEYTOOL OK"), check.stdout + check.stderr
    assert check.returncode == 0


# --- one slot's call crashes ---------------------------------------------------------


def test_a_crash_in_one_slot_hides_no_other_slot(
    shim: Path, bank: Bank, base: dict[str, Any]
) -> None:
    index = bank_index(base, bank)
    run = run_ukeytool(shim, bank.store, ["slotinfo_crash"], slot=index, isolate=True)
    assert run.returncode == ExitCode.INCOMPLETE, run.stderr
    assert run.document is not None
    assert run.document["complete"] is False
    (module,) = run.document["modules"]
    (expected,) = base["modules"]
    assert len(module["slots"]) == len(expected["slots"])
    for position, (slot, before) in enumerate(zip(module["slots"], expected["slots"], strict=True)):
        assert slot["slot_id"] == before["slot_id"]
        if position == index:
            (problem,) = slot["problems"]
            assert problem["message_code"] == "isolation.slot_crashed"
            assert "crashed (signal 11, SIGSEGV) while this slot was read" in problem["message"]
            assert slot["complete"] is False
            assert slot["token"] is None
        else:
            assert slot["problems"] == []
            assert keyed({"slots": [slot]}) == keyed({"slots": [before]})
    assert len(keyed(module)) == len(keyed(expected)) - 1  # the second token is listed
    # Two children: the one that crashed, and the one that read the others without it.
    initialisers = callers_of(run, "C_Initialize")
    assert len(initialisers) == 2


def test_a_hang_in_one_slot_keeps_the_slots_read_before_it(
    shim: Path, bank: Bank, base: dict[str, Any]
) -> None:
    (module,) = base["modules"]
    serials = [s["token"]["serial"] if s["token"] else None for s in module["slots"]]
    # The later of the two tokens' slots: the other token's slot comes before it.
    index = max(serials.index(bank.serial), serials.index(bank.second_serial))
    run = run_ukeytool(
        shim, bank.store, ["slotinfo_hang"], slot=index, isolate=True, args=["--timeout", "3"]
    )
    assert run.returncode == ExitCode.INCOMPLETE, run.stderr
    assert run.document is not None
    (module,) = run.document["modules"]
    (expected,) = base["modules"]
    assert [s["slot_id"] for s in module["slots"]] == [s["slot_id"] for s in expected["slots"]]
    for position, (slot, before) in enumerate(zip(module["slots"], expected["slots"], strict=True)):
        if position < index:
            assert slot["problems"] == []
            assert keyed({"slots": [slot]}) == keyed({"slots": [before]})
            continue
        (problem,) = slot["problems"]
        code = "isolation.slot_timed_out" if position == index else "isolation.slots_not_read"
        assert problem["message_code"] == code
        assert slot["complete"] is False
    assert len(callers_of(run, "C_Initialize")) == 1  # a hang is not tried again


def callers_of(run: Any, function: str) -> list[int]:
    return [c.fields["pid"] for c in run.calls_to(function)]


# --- absurd answers stay one module's failure -----------------------------------------


@pytest.mark.parametrize("mode", ["slots_huge", "slots_many"])
@pytest.mark.parametrize("isolate", [True, False])
def test_an_absurd_slot_count_is_that_modules_failure(
    shim: Path, bank: Bank, mode: str, isolate: bool
) -> None:
    good = str(bank.store.module_path)
    run = run_ukeytool(shim, bank.store, [mode], isolate=isolate, args=["--module", good])
    assert run.returncode == ExitCode.INCOMPLETE, run.stderr
    assert run.document is not None
    (failure,) = run.document["failed_modules"]
    assert failure["kind"] == "ModuleCallFailed"
    assert failure["message_code"] == "module.too_many_slots"
    assert "more than the 65536 ukeytool reads" in failure["message"]
    (module,) = run.document["modules"]
    assert module["path"] == good
    assert bank.serial in keyed(module)
    fills = [c for c in run.calls_to("C_GetSlotList") if c.fields["fill"]]
    assert fills == []  # no buffer that large was made


def test_check_says_unknown_for_an_absurd_module_beside_a_good_one(shim: Path, bank: Bank) -> None:
    good = str(bank.store.module_path)
    done = subprocess.run(
        [sys.executable, "-m", "ukeytool", "check", "--module", str(shim), "--module", good,
         "--at", AT, "--serial", bank.second_serial],
        env=shim_env(bank.store, ["slots_huge"]), capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert done.stdout.startswith("UKEYTOOL UNKNOWN")
    assert "internal error" not in done.stdout + done.stderr


def test_a_null_function_list_is_named(shim: Path, bank: Bank) -> None:
    run = run_ukeytool(shim, bank.store, ["function_list_null"])
    assert run.returncode == ExitCode.MODULE_FAILED
    assert run.stderr == (
        f"ukeytool: error: module {shim}: C_GetFunctionList returned CKR_OK but no function "
        "list (a NULL pointer); the module is faulty: ask its vendor\n"
    )


def test_an_unexpected_exception_is_one_modules_failure(
    bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ukeytool
    from ukeytool.pkcs11 import inspect as inspecting

    good = str(bank.store.module_path)
    real = inspecting.inspect

    def broken(path: str, **kwargs: Any) -> Any:
        if path == "broken":
            raise OverflowError("array too large")
        return real(path, **kwargs)

    monkeypatch.setattr(inspecting, "inspect", broken)
    reports, failures = ukeytool.inspect_modules(["broken", good])
    (failure,) = failures
    assert (failure.path, failure.kind) == ("broken", "InternalError")
    assert failure.message.code == "module.inspection_bug"
    assert "OverflowError: array too large" in str(failure.message)
    assert [r.module.path for r in reports] == [good]


# --- SIGTERM ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "code", "stdout", "stderr"),
    [
        ("list-tokens", TERMINATED, "", "ukeytool: error: terminated\n"),
        ("check", 3, "UKEYTOOL UNKNOWN - terminated\n", ""),
    ],
)
def test_sigterm_stops_the_child_and_ends_as_documented(
    shim: Path, bank: Bank, tmp_path: Path, *, command: str, code: int, stdout: str, stderr: str
) -> None:
    log = tmp_path / "calls.log"
    env = shim_env(bank.store, ["init_hang"], log=log)
    run = subprocess.Popen(
        [sys.executable, "-m", "ukeytool", command, "--module", str(shim), "--timeout", "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: bool(callers(log)), "the child to call C_Initialize")
        run.send_signal(signal.SIGTERM)
        out, err = run.communicate(timeout=30)
    finally:
        run.kill()
        run.wait()
    assert (run.returncode, out, err) == (code, stdout, stderr)
    assert TERMINATED == 143
    (child,) = callers(log)
    assert gone(child)


def test_the_modules_helper_process_goes_with_the_child(
    shim: Path, bank: Bank, tmp_path: Path
) -> None:
    # A module that starts a helper (as some vendor modules start a daemon): after a
    # normal run and after SIGTERM, the helper is gone with the child's process group.
    run = run_ukeytool(shim, bank.store, ["fork_helper"], isolate=True)
    assert run.returncode == ExitCode.OK, run.stderr
    (helper,) = callers_of(run, "helper")
    wait_for(lambda: gone(helper), "the helper of a finished run to be stopped")
    log = tmp_path / "calls.log"
    command = [sys.executable, "-m", "ukeytool", "list-tokens", "--module", str(shim)]
    terminated = subprocess.Popen(
        [*command, "--timeout", "0"],
        env=shim_env(bank.store, ["fork_helper", "init_hang"], log=log),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: bool(callers(log, "helper")), "the module to start its helper")
        terminated.send_signal(signal.SIGTERM)
        terminated.communicate(timeout=30)
    finally:
        terminated.kill()
        terminated.wait()
    assert terminated.returncode == TERMINATED
    (helper,) = callers(log, "helper")
    wait_for(lambda: gone(helper), "the helper to be stopped with its process group")
    assert all(gone(pid) for pid in callers(log))


def test_check_says_unknown_on_ctrl_c(shim: Path, bank: Bank, tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    run = subprocess.Popen(
        [sys.executable, "-m", "ukeytool", "check", "--module", str(shim), "--timeout", "0"],
        env=shim_env(bank.store, ["init_hang"], log=log),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: bool(callers(log)), "the child to call C_Initialize")
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=30)
    finally:
        run.kill()
        run.wait()
    assert (run.returncode, out, err) == (3, "UKEYTOOL UNKNOWN - interrupted\n", "")


# --- no secret in a child's environment ------------------------------------------------


def pin_in_environment(run: Any) -> dict[int, int]:
    """Process id -> whether UKEYTOOL_PIN was in that process's environment at C_Initialize."""
    return {c.fields["pid"]: c.fields["UKEYTOOL_PIN"] for c in run.calls_to("environ")}


@pytest.mark.parametrize("isolate", [True, False])
def test_no_inspection_sees_the_pin(shim: Path, bank: Bank, isolate: bool) -> None:
    run = run_ukeytool(
        shim,
        bank.store,
        ["pin_env"],
        isolate=isolate,
        env={"UKEYTOOL_PIN": "73914682", "UKEYTOOL_PKCS12_PASSWORD": "secret"},
    )
    assert run.returncode == ExitCode.OK, run.stderr
    seen = run.calls_to("environ")
    assert seen
    assert all(c.fields["UKEYTOOL_PIN"] == 0 for c in seen)
    assert all(c.fields["UKEYTOOL_PKCS12_PASSWORD"] == 0 for c in seen)
    assert "73914682" not in run.stdout + run.stderr


def test_the_login_child_gets_the_pin_by_pipe_only(
    shim: Path, bank: Bank, base: dict[str, Any]
) -> None:
    run = run_ukeytool(
        shim,
        bank.store,
        ["pin_env"],
        isolate=True,
        args=["--login", "--serial", bank.serial],
        env={"UKEYTOOL_PIN": "1234"},
    )
    assert run.returncode == ExitCode.OK, run.stderr
    seen = pin_in_environment(run)
    assert len(seen) == 2  # the listing's child and the login child
    assert set(seen.values()) == {0}
    (login,) = run.calls_to("C_Login")
    assert login.rv == 0  # the PIN did arrive, over the pipe


def test_a_pin_that_is_not_utf8_is_a_usage_error_that_does_not_show_it(
    shim: Path, bank: Bank
) -> None:
    env = shim_env(bank.store)
    env.pop("UKEYTOOL_PIN", None)
    envb = {k.encode(): v.encode() for k, v in env.items()}
    envb[b"UKEYTOOL_PIN"] = b"12\xff\xfe34"
    done = subprocess.run(
        [sys.executable, "-m", "ukeytool", "list-tokens", "--module", str(shim), "--login",
         "--serial", bank.serial, "--at", AT],
        env=envb, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == ExitCode.USAGE, done.stderr
    assert done.stderr == (
        b"ukeytool: error: the PIN in UKEYTOOL_PIN is not valid UTF-8 (PKCS#11 PINs are "
        b"UTF-8 text); nothing was tried\n"
    )
    assert done.stdout == b""


def test_a_crash_in_the_login_child_keeps_the_listing_without_login(
    shim: Path, bank: Bank, base: dict[str, Any]
) -> None:
    index = bank_index(base, bank)
    run = run_ukeytool(
        shim,
        bank.store,
        ["login_crash"],
        slot=index,
        isolate=True,
        args=["--login", "--serial", bank.serial],
        env={"UKEYTOOL_PIN": "1234"},
    )
    assert run.returncode == ExitCode.INCOMPLETE, run.stderr
    assert run.document is not None
    (module,) = run.document["modules"]
    (expected,) = base["modules"]
    # The first listing of the token, whole (--serial shows only that token).
    assert keyed(module)[bank.serial] == keyed(expected)[bank.serial]
    (slot,) = module["slots"]
    (problem,) = slot["problems"]
    assert problem["message_code"] == "isolation.slot_crashed"
    assert slot["complete"] is False
    assert run.count("C_Login") == 1  # never tried again
    # The PIN is not shown (a hex fingerprint or serial may hold "1234" by chance).
    assert not re.search(r"(?<![0-9A-Fa-f])1234(?![0-9A-Fa-f])", run.stdout + run.stderr)


def test_a_failed_login_child_keeps_the_listing_without_login(
    bank: Bank, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ukeytool.errors import ModuleCrashed
    from ukeytool.pkcs11 import inspect as inspecting
    from ukeytool.pkcs11.isolate import KILLED as CRASHED

    real = inspecting.inspect

    def crashing(path: str, **kwargs: Any) -> Any:
        if kwargs.get("login") is not None:
            raise ModuleCrashed(
                CRASHED(path=path, number=11, name="SIGSEGV"),
                path=path,
                signal=11,
                signal_name="SIGSEGV",
                exit_status=None,
            )
        return real(path, **kwargs)

    monkeypatch.setattr(inspecting, "inspect", crashing)
    env = {"SOFTHSM2_CONF": str(bank.store.conf_path), "UKEYTOOL_PIN": "1234"}
    module = str(bank.store.module_path)
    code, out, _err = cli(
        "list-tokens", "--module", module, "--no-isolation", "--login", "--serial", bank.serial,
        "--at", AT, "--json", env=env,
    )  # fmt: skip
    assert code == ExitCode.INCOMPLETE
    document = json.loads(out)
    (listed,) = document["modules"]
    (problem,) = listed["problems"]
    assert problem["message_code"] == "login.listing_failed"
    assert problem["message"] == (
        f"the listing with the login could not be made (module {module} crashed "
        "(signal 11, SIGSEGV) while it was inspected; the module or its device is faulty: "
        "ask its vendor, or run with --trace to see the last call it answered); the "
        "listing without login is shown"
    )
    assert len(keyed(listed)[bank.serial]) == 11
