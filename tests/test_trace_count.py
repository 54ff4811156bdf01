"""``--trace`` shows every PKCS#11 call the process makes (issue 13, item 6).

OpenSC's pkcs11-spy sits between ukeytool and the real module and logs every call it
receives, those made while the module is loaded (C_GetFunctionList, C_GetInterface,
C_Initialize) included. The trace must name the very same calls, in the same order: on
SoftHSM and on tpm2-pkcs11, with the module in the isolation child (its trace lines are
forwarded to the parent's standard error) and in ukeytool's own process.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from ukeytool.cli import ExitCode

from .conftest import Bank, TpmToken
from .shim_module import AT
from .test_call_budget import spy_module

pytestmark = [pytest.mark.spy]

SRC = Path(__file__).resolve().parents[1] / "src"
TRACED = re.compile(r"^ukeytool trace: (C_\w+)\(", re.MULTILINE)
SPIED = re.compile(r"^\d+: (C_\w+)$", re.MULTILINE)


def traced_and_spied(
    env: Mapping[str, str], module: str, tmp_path: Path, *args: str
) -> tuple[list[str], list[str]]:
    """The calls ``list-tokens --trace`` traced, and those pkcs11-spy saw, in order."""
    log = tmp_path / "spy.log"
    log.unlink(missing_ok=True)
    child_env = {
        **env,
        "PYTHONPATH": str(SRC),
        "PKCS11SPY": module,
        "PKCS11SPY_OUTPUT": str(log),
    }
    child_env.pop("PKCS11_MODULE", None)
    command = [sys.executable, "-m", "ukeytool", "list-tokens", "--module", spy_module()]
    done = subprocess.run(
        [*command, "--at", AT, "--trace", *args],
        env=child_env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == ExitCode.OK, done.stderr
    traced = TRACED.findall(done.stderr)
    spied = SPIED.findall(log.read_text(errors="replace"))
    return traced, spied


ISOLATION = {"isolated": (), "in-process": ("--no-isolation",)}


def assert_same_calls(traced: list[str], spied: list[str]) -> None:
    assert len(traced) == len(spied)
    assert traced == spied
    # what issue 13 found missing: the calls made while loading the module
    assert traced[:2] == ["C_GetFunctionList", "C_Initialize"]
    assert traced[-1] == "C_Finalize"


@pytest.mark.softhsm
@pytest.mark.parametrize("where", sorted(ISOLATION))
def test_trace_counts_what_the_spy_counts_on_softhsm(
    where: str, bank: Bank, tmp_path: Path
) -> None:
    traced, spied = traced_and_spied(
        bank.store.subprocess_env(), str(bank.store.module_path), tmp_path, *ISOLATION[where]
    )
    assert_same_calls(traced, spied)
    assert traced.count("C_GetAttributeValue") >= 11  # the bank token's certificates


@pytest.mark.parametrize("where", sorted(ISOLATION))
def test_trace_counts_what_the_spy_counts_on_tpm2(
    where: str, tpm_token: TpmToken, tmp_path: Path
) -> None:
    traced, spied = traced_and_spied(tpm_token.env, tpm_token.module, tmp_path, *ISOLATION[where])
    assert_same_calls(traced, spied)
    assert "C_GetInterface" not in traced  # ukeytool asks for no 3.0 interface
