"""Proof that no command writes: every PKCS#11 call it makes is an inspection call,
every session is read-only, and the token files are byte for byte what they were.

Each command runs as ``python -m ukeytool`` with OpenSC's pkcs11-spy as the module, in
front of SoftHSM and the ``bank`` store of conftest (a GBK-labelled token with a private
key and a private certificate, a second token, SoftHSM's spare uninitialised slot). The
spy logs every call with its arguments; SoftHSM keeps each token as files, hashed before
and after.

:func:`run_read_only` is the reusable part: give it other ``allowed`` functions for a
command that may do more (``--login`` adds C_Login and C_Logout).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import subprocess
import sys
from collections.abc import Collection, Sequence
from pathlib import Path

import pytest

from ukeytool.cli import ExitCode
from ukeytool.testing.softhsm import SoftHSMStore

from .conftest import Bank
from .shim_module import AT
from .test_call_budget import spy_module

pytestmark = [pytest.mark.softhsm, pytest.mark.spy]

INSPECTION: frozenset[str] = frozenset(
    {
        "C_Initialize",
        "C_Finalize",
        "C_GetInfo",
        "C_GetFunctionList",
        # python-pkcs11 asks for the PKCS#11 3.0 interface too: a function-table lookup
        # like C_GetFunctionList, which touches no slot or token.
        "C_GetInterface",
        "C_GetSlotList",
        "C_GetSlotInfo",
        "C_GetTokenInfo",
        "C_OpenSession",
        "C_CloseSession",
        # Whether the session outlived the read (a token pulled out): reads nothing.
        "C_GetSessionInfo",
        "C_FindObjectsInit",
        "C_FindObjects",
        "C_FindObjectsFinal",
        "C_GetAttributeValue",
    }
)
"""What a command without login may call."""
LOGIN: frozenset[str] = INSPECTION | {"C_Login", "C_Logout"}
"""What a command with ``--login`` may call (for the login tests)."""
CKF_RW_SESSION = 0x2


@dataclasses.dataclass(frozen=True)
class SpiedRun:
    """One command run through the spy."""

    returncode: int
    stdout: str
    stderr: str
    calls: tuple[str, ...]
    """Every PKCS#11 function the spy saw, in order."""
    session_flags: tuple[int, ...]
    """The flags of every C_OpenSession."""


def token_files(store: SoftHSMStore) -> dict[str, str]:
    """SHA-256 of every file under the store (token directories, objects, locks, the
    configuration), by path relative to it: a file added or removed shows too."""
    root = store.directory
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def run_read_only(
    store: SoftHSMStore,
    log: Path,
    args: Sequence[str],
    *,
    allowed: Collection[str] = INSPECTION,
    stdin: str | None = None,
) -> SpiedRun:
    """``python -m ukeytool ARGS`` with ``SPY`` in ``args`` replaced by the spy module
    (which wraps the store's module), and the proof that it wrote nothing: every call in
    ``allowed``, no session opened with CKF_RW_SESSION, every file of the store unchanged.
    ``log`` is where the spy writes (a new file per run)."""
    spy = spy_module()
    before = token_files(store)
    env = {
        **store.subprocess_env(),
        "PKCS11SPY": str(store.module_path),
        "PKCS11SPY_OUTPUT": str(log),
    }
    env.pop("PKCS11_MODULE", None)
    done = subprocess.run(
        [sys.executable, "-m", "ukeytool", *(spy if a == "SPY" else a for a in args)],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    text = log.read_text(errors="replace") if log.exists() else ""
    calls = tuple(re.findall(r"^\d+: (C_\w+)$", text, flags=re.MULTILINE))
    flags = tuple(
        int(value, 16)
        for value in re.findall(
            r"^\d+: C_OpenSession\n.*\n\[in\] slotID = \S+\n\[in\] flags = (0x[0-9a-f]+)$",
            text,
            flags=re.MULTILINE,
        )
    )
    assert len(flags) == calls.count("C_OpenSession"), "a C_OpenSession the regex missed"
    unexpected = sorted(set(calls) - set(allowed))
    assert not unexpected, f"{' '.join(args)} called {unexpected}"
    assert not any(f & CKF_RW_SESSION for f in flags), f"a read/write session: {flags}"
    assert token_files(store) == before, "the token files changed"
    return SpiedRun(done.returncode, done.stdout, done.stderr, calls, flags)


@pytest.fixture
def spied(bank: Bank) -> Bank:
    """The bank store, with no spy log yet (so each test's log is its own)."""
    spy_module()  # skip (or fail under CI) before anything else when there is no spy
    return bank


LISTINGS = {
    "text": [],
    "json": ["--json"],
    "prometheus": ["--format", "prometheus"],
    "uris": ["--uris"],
    "no-isolation": ["--no-isolation", "--json"],
}


@pytest.mark.parametrize("extra", list(LISTINGS.values()), ids=list(LISTINGS))
def test_list_tokens_only_reads(extra: list[str], spied: Bank, tmp_path: Path) -> None:
    run = run_read_only(
        spied.store, tmp_path / "spy.log", ["list-tokens", "--module", "SPY", "--at", AT, *extra]
    )
    assert run.returncode == ExitCode.OK, run.stderr
    assert spied.serial in run.stdout or "prometheus" in " ".join(extra)
    # the whole listing was done: every token read, every certificate object too
    assert run.calls.count("C_Initialize") == run.calls.count("C_Finalize") == 1
    assert run.calls.count("C_OpenSession") == run.calls.count("C_CloseSession") == 2
    assert run.calls.count("C_GetAttributeValue") == 12
    assert run.session_flags == (0x4, 0x4)  # CKF_SERIAL_SESSION alone


@pytest.mark.parametrize("how", ["serial", "uri"])
def test_selecting_a_token_only_reads(how: str, spied: Bank, tmp_path: Path) -> None:
    select = {"serial": ["--serial", spied.serial], "uri": ["--uri", "pkcs11:token=second"]}[how]
    run = run_read_only(
        spied.store,
        tmp_path / "spy.log",
        ["list-tokens", "--module", "SPY", "--at", AT, "--json", *select],
    )
    assert run.returncode == ExitCode.OK, run.stderr
    assert run.calls.count("C_GetTokenInfo") >= 2


@pytest.mark.parametrize("fmt", ["text", "json", "prometheus"])
def test_check_only_reads(fmt: str, spied: Bank, tmp_path: Path) -> None:
    run = run_read_only(
        spied.store,
        tmp_path / "spy.log",
        ["check", "--module", "SPY", "--at", AT, "--format", fmt],
    )
    assert run.returncode == 2, run.stderr  # CRITICAL: the bank token has expired ones
    assert run.calls.count("C_GetAttributeValue") == 12


def test_list_modules_loads_nothing(spied: Bank, tmp_path: Path) -> None:
    log = tmp_path / "spy.log"
    for extra in ([], ["--json"]):
        run = run_read_only(spied.store, log, ["list-modules", "--module", "SPY", *extra])
        assert run.returncode == ExitCode.OK, run.stderr
        assert spy_module() in run.stdout
        assert run.calls == ()
    assert not log.exists()  # the spy was never even loaded


def test_a_writing_call_would_be_caught(spied: Bank, tmp_path: Path) -> None:
    # The helper's own check: with C_GetAttributeValue not allowed, the listing fails it.
    with pytest.raises(AssertionError, match=r"called \['C_GetAttributeValue'\]"):
        run_read_only(
            spied.store,
            tmp_path / "spy.log",
            ["list-tokens", "--module", "SPY", "--at", AT],
            allowed=INSPECTION - {"C_GetAttributeValue"},
        )
