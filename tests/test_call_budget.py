"""The PKCS#11 calls `ukeytool list-tokens` makes, counted by OpenSC's pkcs11-spy.

Every call is a USB round trip on a real key, and every call outside inspection is a
risk to it: the spy's log proves both the budget and the read-only promise.
"""

from __future__ import annotations

import collections
import datetime
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ukeytool.testing.certs import mint
from ukeytool.testing.softhsm import CertObject, SoftHSMStore, TokenSpec

from .conftest import required_file

pytestmark = [pytest.mark.softhsm, pytest.mark.spy]

SPY_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so",
    "/usr/lib/x86_64-linux-gnu/pkcs11-spy.so",
    "/usr/lib/aarch64-linux-gnu/pkcs11/pkcs11-spy.so",
    "/usr/lib/pkcs11/pkcs11-spy.so",
)
CERTIFICATES = 300
FIXED_NOW = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)

INSPECTION = {
    "C_GetInterface",  # the spy's own entry point, called by the loader side
    "C_GetFunctionList",
    "C_Initialize",
    "C_Finalize",
    "C_GetInfo",
    "C_GetSlotList",
    "C_GetSlotInfo",
    "C_GetTokenInfo",
    "C_OpenSession",
    "C_CloseSession",
    "C_GetSessionInfo",  # is the session still alive at the end of the read (issue 13)
    "C_FindObjectsInit",
    "C_FindObjects",
    "C_FindObjectsFinal",
    "C_GetAttributeValue",
}


def spy_module() -> str:
    return required_file(SPY_CANDIDATES, "pkcs11-spy.so", "opensc-pkcs11")


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> SoftHSMStore:
    store = SoftHSMStore(tmp_path_factory.mktemp("big"))
    # A few distinct certificates, stored many times: minting 300 keys would be slow.
    samples = [
        mint(
            subject_cn=f"cert {i}",
            not_before=FIXED_NOW - datetime.timedelta(days=1),
            not_after=FIXED_NOW.replace(year=2031 + i),
            key="ec-p256",
        )
        for i in range(3)
    ]
    objects = [
        CertObject(samples[i % 3].der, label=f"cert-{i:03d}", id=i.to_bytes(2, "big"))
        for i in range(CERTIFICATES)
    ]
    store.add_tokens([TokenSpec(label="many", objects=objects)])
    return store


def run_spied(store: SoftHSMStore, tmp_path: Path, *args: str) -> tuple[str, list[str]]:
    log = tmp_path / "spy.log"
    env = {
        **store.subprocess_env(),
        "PKCS11SPY": str(store.module_path),
        "PKCS11SPY_OUTPUT": str(log),
    }
    done = subprocess.run(
        [sys.executable, "-m", "ukeytool", "list-tokens", "--module", spy_module(), *args],
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    text = log.read_text(errors="replace")
    calls = re.findall(r"^\d+: (C_\w+)$", text, flags=re.MULTILINE)
    return text, calls


def test_list_tokens_call_budget(big_store: SoftHSMStore, tmp_path: Path) -> None:
    _log, calls = run_spied(big_store, tmp_path, "--json", "--at", FIXED_NOW.isoformat())
    counts = collections.Counter(calls)
    # at most 2 C_GetAttributeValue per certificate; 1 when every value fits
    assert counts["C_GetAttributeValue"] == CERTIFICATES
    # one search per object class: certificates, private keys, public keys
    assert counts["C_FindObjectsInit"] == 3
    assert counts["C_FindObjectsFinal"] == 3
    assert counts["C_FindObjects"] <= CERTIFICATES // 64 + 2 + 2
    assert counts["C_OpenSession"] == counts["C_CloseSession"] == 1
    # is the token still there, and the same one? (issue 13): one C_GetSessionInfo before
    # the close, one C_GetSlotInfo and one C_GetTokenInfo more for the token read
    assert counts["C_GetSessionInfo"] == 1
    assert counts["C_Initialize"] == counts["C_Finalize"] == 1
    assert "C_GetMechanismList" not in counts
    assert "C_Login" not in counts
    assert set(counts) <= INSPECTION, set(counts) - INSPECTION


def test_sessions_are_read_only_and_search_by_class_alone(
    big_store: SoftHSMStore, tmp_path: Path
) -> None:
    text, _calls = run_spied(big_store, tmp_path)
    sessions = re.findall(
        r"^\d+: C_OpenSession\n.*?\n\[in\] slotID = \S+\n\[in\] flags = (0x[0-9a-f]+)",
        text,
        flags=re.MULTILINE,
    )
    assert sessions
    assert all(int(flags, 16) == 0x4 for flags in sessions)  # CKF_SERIAL_SESSION, never RW
    searches = re.findall(
        r"^\d+: C_FindObjectsInit\n.*?\n\[in\] hSession = \S+\n"
        r"\[in\] pTemplate\[(\d+)\]: \n\s+(\w+)",
        text,
        flags=re.MULTILINE,
    )
    assert searches == [("1", "CKA_CLASS")] * 3
    classes = re.findall(r"CKA_CLASS\s+(CKO_\w+)", text)
    assert classes[:3] == ["CKO_CERTIFICATE", "CKO_PRIVATE_KEY", "CKO_PUBLIC_KEY"], classes
