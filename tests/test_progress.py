"""The progress line: on a terminal's standard error while a module takes more than a
second, never when standard error is piped, never with JSON (issue 13 item 7)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from ukeytool.cli import ExitCode

from .conftest import Bank
from .shim_module import shim_env

pytestmark = pytest.mark.softhsm

LINE = (
    "ukeytool: reading the tokens; the PKCS#11 module is taking its time (some read the "
    "whole card when they start)..."
)


def run_on_terminal(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """``python -m ukeytool ARGS`` with standard error on a pseudo-terminal and standard
    output piped: (exit code, stdout, what the terminal received)."""
    master, slave = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "ukeytool", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
            text=True,
        )
        os.close(slave)
        slave = -1
        out, _ = process.communicate(timeout=60)
        received = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not chunk:
                break
            received += chunk
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    return process.returncode, out, received.decode().replace("\r\n", "\n")


def slow_env(bank: Bank) -> dict[str, str]:
    # C_Initialize hangs: the module is stopped by --timeout after 3 s.
    env = shim_env(bank.store, ["init_hang"])
    env.pop("PKCS11_MODULE", None)
    env["LANG"] = "C.UTF-8"
    return env


def test_slow_module_on_a_terminal(shim: Path, bank: Bank) -> None:
    args = ("--module", str(shim), "--timeout", "3")
    code, out, terminal = run_on_terminal(slow_env(bank), "list-tokens", *args)
    assert code == ExitCode.MODULE_TIMED_OUT, terminal
    assert terminal.splitlines().count(LINE) == 1
    assert "reading the tokens" not in out


def test_no_progress_line_with_json_or_piped(shim: Path, bank: Bank) -> None:
    args = ("--module", str(shim), "--timeout", "3")
    code, out, terminal = run_on_terminal(slow_env(bank), "list-tokens", "--json", *args)
    assert code == ExitCode.MODULE_TIMED_OUT, terminal
    assert "reading the tokens" not in out + terminal
    code, out, terminal = run_on_terminal(slow_env(bank), "check", "--format", "json", *args)
    assert "reading the tokens" not in out + terminal
    piped = subprocess.run(
        [sys.executable, "-m", "ukeytool", "list-tokens", *args],
        env=slow_env(bank),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert piped.returncode == ExitCode.MODULE_TIMED_OUT
    assert "reading the tokens" not in piped.stdout + piped.stderr
