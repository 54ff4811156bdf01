"""A real module besides SoftHSM: p11-kit's trust module, ~140 real CA certificates.

Checked against independent sources: pkcs11-tool's count of certificate objects, and
cryptography's own parse of each certificate's DER.
"""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
import warnings

import pytest
from cryptography import x509

import ukeytool
from ukeytool import Status

from .conftest import required_file

pytestmark = pytest.mark.trust

CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-trust.so",
    "/usr/lib/aarch64-linux-gnu/pkcs11/p11-kit-trust.so",
    "/usr/lib/pkcs11/p11-kit-trust.so",
)
NOW = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)


@pytest.fixture(scope="module")
def trust_module() -> str:
    return required_file(CANDIDATES, "p11-kit-trust.so", "p11-kit-modules")


@pytest.fixture(scope="module")
def report(trust_module: str) -> ukeytool.Report:
    return ukeytool.inspect(trust_module, at=NOW)


def pkcs11_tool_counts(module: str) -> dict[int, int]:
    """Certificate objects per slot id, as OpenSC's pkcs11-tool sees them."""
    tool = shutil.which("pkcs11-tool")
    if tool is None:
        pytest.fail("pkcs11-tool is required (apt-get install opensc)")
    slots = subprocess.run(
        [tool, "--module", module, "--list-token-slots"], capture_output=True, check=True
    ).stdout.decode("utf-8", "replace")
    counts = {}
    for slot in re.findall(r"^Slot \d+ \((0x[0-9a-f]+)\)", slots, flags=re.MULTILINE):
        objects = subprocess.run(
            [tool, "--module", module, "--slot", slot, "--list-objects", "--type", "cert"],
            capture_output=True,
            check=True,
        ).stdout.decode("utf-8", "replace")
        counts[int(slot, 16)] = len(re.findall(r"^Certificate Object", objects, re.MULTILINE))
    return counts


def test_every_certificate_is_listed(report: ukeytool.Report, trust_module: str) -> None:
    expected = pkcs11_tool_counts(trust_module)
    listed = {s.slot.slot_id: len(s.certificates) for s in report.slots if s.token is not None}
    assert listed == expected
    assert sum(listed.values()) >= 100
    assert report.complete


def test_dates_match_an_independent_parse(report: ukeytool.Report) -> None:
    for entry in report.certificates:
        assert entry.certificate is not None
        assert entry.certificate.error is None, entry.label
        with warnings.catch_warnings():
            # Some real CA certificates have negative serials; cryptography only warns.
            warnings.simplefilter("ignore")
            independent = x509.load_der_x509_certificate(entry.certificate.der)
        assert entry.certificate.not_before == independent.not_valid_before_utc
        assert entry.certificate.not_after == independent.not_valid_after_utc
        assert entry.certificate.subject == independent.subject.rfc4514_string()
        assert entry.status is not Status.UNREADABLE


def test_token_is_identified_by_its_strings(report: ukeytool.Report) -> None:
    tokens = [s.token for s in report.slots if s.token is not None]
    assert any(t.manufacturer.value == "PKCS#11 Kit" for t in tokens)
    assert all(t.pin_state is not ukeytool.PinState.LOCKED for t in tokens)
