"""Each module inspected in a child process: a module that hangs or crashes takes the
child down, never ukeytool, and the other modules' results arrive intact.

The misbehaving module (``tests/shim``) hangs or dies in C_Initialize; the good module
is SoftHSM itself, with the ``bank`` store of conftest. Runs of the command go through
``python -m ukeytool`` in a child of pytest (with a time limit of its own), so that even
a broken isolation could not hang or kill the test run. Time limits given to ukeytool are
short (1 s when nothing else has to finish in time, 4 s when a good module has to).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import ukeytool
from ukeytool import (
    MissingDependency,
    ModuleCallFailed,
    ModuleCrashed,
    ModuleFailure,
    ModuleNotFound,
    ModuleTimedOut,
    TokenError,
    UsageError,
    WrongArchitecture,
)
from ukeytool.cli import ExitCode, _only_failures, main
from ukeytool.i18n import Message
from ukeytool.pkcs11.isolate import inspect_in_child

from .conftest import FIXED_NOW, Bank, Cli
from .shim_module import AT, shim_env

pytestmark = pytest.mark.softhsm

#: Time limits for the ukeytool under test (see the module docstring).
ALONE = "1"
WITH_GOOD = "4"


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """The shim's call log (MISBEHAVE_LOG): which process called what."""
    return tmp_path / "calls.log"


def env_for(bank: Bank, mode: str, log: Path) -> dict[str, str]:
    env = shim_env(bank.store, [mode] if mode else [], log=log)
    env.pop("PKCS11_MODULE", None)
    return env


def cli(env: Mapping[str, str], *args: str, limit: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m ukeytool ARGS``; pytest's own time limit is ``limit`` seconds."""
    return subprocess.run(
        [sys.executable, "-m", "ukeytool", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=limit,
        check=False,
    )


def callers(log: Path, function: str = "C_Initialize") -> list[int]:
    """The process ids that called ``function`` on the shim, in order."""
    if not log.exists():
        return []
    return [
        int(line.rsplit("pid=", 1)[1])
        for line in log.read_text("ascii").splitlines()
        if line.split()[0] == function
    ]


def gone(pid: int) -> bool:
    """The process has exited (a zombie nobody reaped yet counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def wait_for(condition: Callable[[], bool], what: str, limit: float = 30) -> None:
    """Poll until ``condition()`` holds (not a timing assumption: a bound on a hang)."""
    end = time.monotonic() + limit
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"still waiting, after {limit} s, for {what}")
        time.sleep(0.05)


def keyed(report_doc: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]]:
    """A JSON module's certificates per token serial, without handles (they vary between
    processes), so runs can be compared."""
    out = {}
    for slot in report_doc["slots"]:
        token = slot["token"]
        if token is None:
            continue
        out[token["serial"]] = sorted(
            (c["id"], c["label"], c["status"], c["sha256"], c["days_left"])
            for c in token.get("certificates", [])
        )
    return out


@pytest.fixture(scope="module")
def good_alone(bank: Bank) -> dict[str, Any]:
    """The good module's JSON document, inspected alone without isolation."""
    done = cli(
        bank.store.subprocess_env(),
        "list-tokens",
        "--module",
        str(bank.store.module_path),
        "--json",
        "--at",
        AT,
        "--no-isolation",
    )
    assert done.returncode == ExitCode.OK, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


# --- the command -------------------------------------------------------------------------


def test_hanging_module_is_stopped_and_the_good_one_listed(
    shim: Path, bank: Bank, log: Path
) -> None:
    good = str(bank.store.module_path)
    args = ["list-tokens", "--module", str(shim), "--module", good, "--at", AT]
    done = cli(env_for(bank, "init_hang", log), *args, "--timeout", WITH_GOOD)
    assert done.returncode == ExitCode.INCOMPLETE, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    at = lines.index(f"Module {shim}")
    assert lines[at + 1] == (
        f"  ! module {shim} did not answer within 4 s and was stopped: the device or its "
        "driver may be stuck; unplug and replug the token, or allow more time"
    )
    assert "工行U盾" in done.stdout
    assert bank.serial in done.stdout
    assert "; 1 module could not be inspected" in lines[-1]
    (hung,) = callers(log)
    assert hung != os.getpid()
    assert gone(hung)  # killed, no retry: one C_Initialize only
    assert callers(log, "C_Finalize") == []


def test_crashing_module_is_reported_beside_full_results(
    shim: Path, bank: Bank, log: Path, good_alone: dict[str, Any]
) -> None:
    good = str(bank.store.module_path)
    done = cli(
        env_for(bank, "init_crash", log),
        *("list-tokens", "--json", "--at", AT, "--module", str(shim), "--module", good),
    )
    assert done.returncode == ExitCode.INCOMPLETE, done.stderr
    assert done.stderr == ""
    doc = json.loads(done.stdout)
    assert doc["complete"] is False
    message = (
        f"module {shim} crashed (signal 11, SIGSEGV) while it was inspected; the module or "
        "its device is faulty: ask its vendor, or run with --trace to see the last call it "
        "answered"
    )
    assert doc["failed_modules"] == [
        {"path": str(shim), "path_hex": bytes(shim).hex(),
         "kind": "ModuleCrashed", "message": message,
         "message_code": "isolation.crashed", "code": None, "code_name": None}
    ]  # fmt: skip
    (module,) = doc["modules"]
    (expected,) = good_alone["modules"]
    assert module["path"] == good
    assert module["problems"] == []
    assert keyed(module) == keyed(expected)
    assert len(keyed(module)[bank.serial]) == 11


def test_crash_alone_exits_7_with_one_line(shim: Path, bank: Bank, log: Path) -> None:
    done = cli(env_for(bank, "init_crash", log), "list-tokens", "--module", str(shim))
    assert done.returncode == ExitCode.MODULE_CRASHED
    assert int(ExitCode.MODULE_CRASHED) == 7
    assert done.stdout == ""
    assert done.stderr.startswith(f"ukeytool: error: module {shim} crashed (signal 11, SIGSEGV)")
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_hang_with_an_unusable_module_exits_6(
    shim: Path, bank: Bank, log: Path, tmp_path: Path
) -> None:
    missing = str(tmp_path / "libmissing.so")
    args = ["list-tokens", "--module", missing, "--module", str(shim), "--timeout", ALONE]
    done = cli(env_for(bank, "init_hang", log), *args)
    assert done.returncode == ExitCode.MODULE_TIMED_OUT  # the worse of 3 and 6
    assert int(ExitCode.MODULE_TIMED_OUT) == 6
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"ukeytool: error: module not found: {missing} does not exist; check the path of "
        "the vendor's PKCS#11 library (a .so file)",
        f"ukeytool: error: module {shim} did not answer within 1 s and was stopped: the "
        "device or its driver may be stuck; unplug and replug the token, or allow more time",
    ]
    assert all(gone(pid) for pid in callers(log))


def test_check_makes_a_crash_unknown(shim: Path, bank: Bank, log: Path) -> None:
    good = str(bank.store.module_path)
    done = cli(
        env_for(bank, "init_crash", log),
        *("check", "--at", AT, "--module", str(shim), "--module", good),
        *("--token-label", "second"),  # valid for a year: OK, but for the crash
    )
    assert done.returncode == 3, done.stderr
    first, *details = done.stdout.splitlines()
    assert first.startswith("UKEYTOOL UNKNOWN - ")
    assert "1 module not inspected" in first
    assert any(
        line.startswith(f"[UNKNOWN] {shim}: ModuleCrashed: module {shim} crashed (signal 11")
        for line in details
    ), details
    assert any(line.startswith("[OK] certificate copy@second ") for line in details)


@pytest.mark.parametrize(
    ("kinds", "code"),
    [
        (["ModuleNotFound", "ModuleCallFailed"], ExitCode.MODULE_FAILED),
        (["ModuleTimedOut", "WrongArchitecture", "ModuleCallFailed"], ExitCode.MODULE_TIMED_OUT),
        (["ModuleTimedOut", "ModuleCrashed", "NotAPkcs11Module"], ExitCode.MODULE_CRASHED),
        (["MissingDependency"], ExitCode.MODULE_UNUSABLE),
    ],
)
def test_every_module_failed_exits_with_the_worst_kind(
    kinds: list[str], code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    failures = [ModuleFailure(f"/m{i}.so", kind, f"failure {i}") for i, kind in enumerate(kinds)]
    assert _only_failures(failures) == code
    assert capsys.readouterr().err.splitlines() == [
        f"ukeytool: error: failure {i}" for i in range(len(kinds))
    ]


def test_interrupt_kills_the_child_and_exits_130(shim: Path, bank: Bank, log: Path) -> None:
    # --timeout 0: no limit, so only the interrupt can end the run.
    command = [sys.executable, "-m", "ukeytool", "list-tokens", "--module", str(shim)]
    run = subprocess.Popen(
        [*command, "--timeout", "0"],
        env=env_for(bank, "init_hang", log),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: bool(callers(log)), "the child to call C_Initialize")
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=30)
    finally:
        run.kill()
        run.wait()
    assert run.returncode == ExitCode.INTERRUPTED
    assert out == ""
    assert err == "ukeytool: error: interrupted\n"
    (child,) = callers(log)
    assert child != run.pid
    assert gone(child)


def test_child_dies_with_a_killed_parent(shim: Path, bank: Bank, log: Path) -> None:
    command = [sys.executable, "-m", "ukeytool", "list-tokens", "--module", str(shim)]
    run = subprocess.Popen(
        [*command, "--timeout", "0"],
        env=env_for(bank, "init_hang", log),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: bool(callers(log)), "the child to call C_Initialize")
        run.kill()  # SIGKILL: ukeytool gets no chance to clean up
    finally:
        run.kill()
        run.wait()
    (child,) = callers(log)
    wait_for(lambda: gone(child), "the orphaned child to die")


def test_trace_from_the_child_reaches_stderr(bank: Bank) -> None:
    done = cli(
        bank.store.subprocess_env(),
        *("list-tokens", "--module", str(bank.store.module_path), "--at", AT, "--trace"),
    )
    assert done.returncode == ExitCode.OK, done.stderr
    lines = done.stderr.splitlines()
    assert lines
    assert all(line.startswith("ukeytool trace: ") for line in lines), lines
    assert lines[0].startswith("ukeytool trace: C_GetFunctionList(&list) -> CKR_OK [")
    assert lines[1].startswith("ukeytool trace: C_Initialize(NULL) -> CKR_OK [")
    assert lines[-1].startswith("ukeytool trace: C_Finalize(NULL) -> CKR_OK [")


# --- options -------------------------------------------------------------------------------


@pytest.fixture
def bank_env(bank: Bank, monkeypatch: pytest.MonkeyPatch) -> Bank:
    monkeypatch.setenv("SOFTHSM2_CONF", str(bank.store.conf_path))
    monkeypatch.delenv("PKCS11_MODULE", raising=False)
    return bank


def listing(run: Cli, module: str, *extra: str) -> dict[str, Any]:
    code, out, err = run("list-tokens", "--module", module, "--json", "--at", AT, *extra)
    assert code == ExitCode.OK, err
    assert err == ""
    document: dict[str, Any] = json.loads(out)
    return document


def test_without_isolation_well_behaved_modules_list_the_same(bank_env: Bank, cli: Cli) -> None:
    module = str(bank_env.store.module_path)
    isolated = listing(cli, module)
    inside = listing(cli, module, "--no-isolation")
    unlimited = listing(cli, module, "--timeout", "0")
    for doc in (isolated, inside, unlimited):
        doc.pop("generated_at")
        (report,) = doc["modules"]
        _drop_handles(report)  # SoftHSM's handles differ between processes
        # and so does its order of certificates
        for slot in report["slots"]:
            if slot["token"]:
                slot["token"]["certificates"].sort(key=lambda c: (c["id"] or "", c["label"]))
    assert isolated == inside == unlimited


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["list-tokens", "--no-isolation", "--timeout", "5"], 2, "--timeout needs isolation"),
        (["check", "--no-isolation", "--timeout", "5"], 3, "--timeout needs isolation"),
        (["list-tokens", "--timeout", "-1"], 2, "'-1' is not a number of seconds >= 0"),
        (["list-tokens", "--timeout", "soon"], 2, "'soon' is not a number of seconds >= 0"),
        (["list-tokens", "--timeout", "nan"], 2, "'nan' is not a number of seconds >= 0"),
    ],
)
def test_bad_isolation_options(
    argv: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--module", "/nonexistent/x.so"]) == code
    out, err = capsys.readouterr()
    assert message in out + err
    assert len((out + err).strip().splitlines()) == 1


def test_help_names_the_options_and_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list-tokens", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--timeout SECONDS" in text
    assert "(default: 60; 0: no limit)" in text
    assert "--no-isolation" in text
    assert "6 the module did not answer within --timeout seconds" in text
    assert "7 the module crashed" in text


# --- the library ------------------------------------------------------------------------


@pytest.fixture
def shim_in_env(
    shim: Path, bank: Bank, log: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], str]:
    """Set this process's environment for the shim (children inherit it); the shim is
    never loaded in this process."""

    def use(mode: str) -> str:
        for name, value in env_for(bank, mode, log).items():
            monkeypatch.setenv(name, value)
        return str(shim)

    return use


def certificates(report: ukeytool.Report) -> list[tuple[Any, ...]]:
    return sorted(
        (c.id, c.label and c.label.raw, c.status, c.certificate and c.certificate.sha256)
        for c in report.certificates
    )


def test_library_option(
    shim_in_env: Callable[[str], str], bank: Bank, log: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shim = shim_in_env("init_crash")  # the time limit is the command's tests' business
    good = str(bank.store.module_path)
    caplog.set_level(logging.DEBUG, "ukeytool.pkcs11")
    reports, failures = ukeytool.inspect_modules(
        [shim, good], at=FIXED_NOW, isolate=True, timeout=float(WITH_GOOD)
    )
    traced = [r for r in caplog.records if r.name == "ukeytool.pkcs11"]
    assert [(f.path, f.kind, f.code) for f in failures] == [(shim, "ModuleCrashed", None)]
    assert "crashed (signal 11, SIGSEGV)" in str(failures[0].message)
    assert isinstance(failures[0].message, Message)
    assert failures[0].message.code == "isolation.crashed"
    (report,) = reports
    inside = ukeytool.inspect(good, at=FIXED_NOW)
    assert report.module == inside.module
    assert report.at == inside.at
    assert report.complete
    assert certificates(report) == certificates(inside)
    # the child's trace arrived as records of this process's logging, marked as the child's
    children = {r.process for r in traced if r.getMessage().startswith("C_GetSlotList(")}
    assert len(children) == 1
    assert os.getpid() not in children
    assert all(gone(pid) for pid in callers(log))


def test_library_errors_carry_what_happened(shim_in_env: Callable[[str], str]) -> None:
    shim = shim_in_env("init_crash")
    with pytest.raises(ModuleCrashed) as crashed:
        inspect_in_child(shim, at=FIXED_NOW)
    assert (crashed.value.signal, crashed.value.signal_name) == (11, "SIGSEGV")
    assert crashed.value.exit_status is None
    assert crashed.value.path == shim
    shim = shim_in_env("init_hang")
    with pytest.raises(ModuleTimedOut) as hung:
        inspect_in_child(shim, timeout=float(ALONE), at=FIXED_NOW)
    assert hung.value.timeout == 1.0
    assert hung.value.path == shim


def test_errors_of_the_module_cross_over_as_they_are(shim_in_env: Callable[[str], str]) -> None:
    shim = shim_in_env("init_args_bad")
    with pytest.raises(ModuleCallFailed) as info:
        inspect_in_child(shim, at=FIXED_NOW)
    assert info.value.function == "C_Initialize"
    assert info.value.code_name == "CKR_ARGUMENTS_BAD"
    assert info.value.path == shim


def test_library_refuses_a_timeout_it_cannot_keep(bank: Bank) -> None:
    good = str(bank.store.module_path)
    with pytest.raises(UsageError, match="a timeout needs isolate=True"):
        ukeytool.inspect_modules([good], timeout=5)
    with pytest.raises(UsageError, match="> 0"):
        ukeytool.inspect_modules([good], isolate=True, timeout=0)


def test_unusable_files_are_found_without_a_child(tmp_path: Path) -> None:
    missing = str(tmp_path / "libmissing.so")
    with pytest.raises(ModuleNotFound):
        inspect_in_child(missing)


def test_arguments_reach_the_child_through_the_pipe_only(
    shim_in_env: Callable[[str], str], log: Path
) -> None:
    """What the child is asked (the lead's PIN will travel this way) is in neither its
    command line nor its environment."""
    shim = shim_in_env("init_hang")
    marker = 35_791  # within the window judge() accepts (at most 36500 days)
    seen: dict[str, bytes] = {}

    def look() -> None:
        wait_for(lambda: bool(callers(log)), "the child to call C_Initialize")
        (child,) = callers(log)
        try:
            for what in ("cmdline", "environ"):
                seen[what] = Path(f"/proc/{child}/{what}").read_bytes()
        finally:
            os.kill(child, signal.SIGKILL)  # as a crash would: no time limit to race

    looker = threading.Thread(target=look)
    looker.start()
    try:
        with pytest.raises(ModuleCrashed, match=r"\(signal 9, SIGKILL\)"):
            # (the time limit only bounds a broken test; the looker ends the child first)
            inspect_in_child(shim, timeout=30, at=FIXED_NOW, warn_days=marker)
    finally:
        looker.join()
    assert set(seen) == {"cmdline", "environ"}
    assert b"-c" in seen["cmdline"].split(b"\0")
    for text in seen.values():
        assert str(marker).encode() not in text
        assert pickle.dumps(marker) not in text


# --- errors cross the pipe -----------------------------------------------------------------


def every_error() -> Iterator[ukeytool.UkeytoolError]:
    yield ukeytool.UkeytoolError("root")
    yield UsageError("usage")
    yield ModuleNotFound("not found", path="/x.so")
    yield WrongArchitecture("arch", path="/x.so", module_arch="32-bit x86", python_arch="64")
    yield MissingDependency("dep", path="/x.so", dependency="libdep.so")
    yield ModuleCallFailed(
        "call", path="/x.so", function="C_Initialize", code=7, code_name="CKR_ARGUMENTS_BAD"
    )
    yield ModuleTimedOut("slow", path="/x.so", timeout=2.5)
    yield ModuleCrashed("dead", path="/x.so", signal=6, signal_name="SIGABRT", exit_status=None)
    yield TokenError("token", slot_id=3, function="C_GetTokenInfo", code=0xE0, code_name="X")
    yield ukeytool.CertificateError("cert", reason="truncated")


@pytest.mark.parametrize("error", list(every_error()), ids=lambda e: type(e).__name__)
def test_errors_pickle_with_their_attributes(error: ukeytool.UkeytoolError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.args == error.args
    assert vars(copy) == vars(error)


def _drop_handles(value: Any) -> None:
    """Remove every object handle (a certificate's, a link's, advice's) from a document."""
    if isinstance(value, dict):
        for key in ("handle", "certificate_handle"):
            value.pop(key, None)
        for item in value.values():
            _drop_handles(item)
    elif isinstance(value, list):
        for item in value:
            _drop_handles(item)
