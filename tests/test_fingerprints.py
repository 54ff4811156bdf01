"""The SM3 fingerprint: there when the interpreter's OpenSSL has SM3, None when it has not.

Both cases are real: this machine's OpenSSL, and the same OpenSSL in a child process
configured to load only its base provider (which has no digests, so SM3 is gone while
hashlib's built-in SHA-256 and SHA-1 keep working).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ukeytool.certificates.x509 import read_certificate
from ukeytool.testing.certs import mint

UTC = datetime.timezone.utc
NOT_BEFORE = datetime.datetime(2029, 1, 1, tzinfo=UTC)
NOT_AFTER = datetime.datetime(2031, 1, 1, tzinfo=UTC)
HAS_SM3 = "sm3" in hashlib.algorithms_available


@pytest.fixture(scope="module")
def der() -> bytes:
    return mint(subject_cn="SM3 fingerprint", key="ec-p256", not_before=NOT_BEFORE,
                not_after=NOT_AFTER).der  # fmt: skip


def openssl_sm3(data: bytes, tmp_path: Path) -> str | None:
    """``openssl dgst -sm3`` of ``data``, or None when the command or its SM3 is missing."""
    command = shutil.which("openssl")
    if command is None:
        return None
    path = tmp_path / "cert.der"
    path.write_bytes(data)
    done = subprocess.run(
        [command, "dgst", "-sm3", "-r", str(path)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return None
    return done.stdout.split()[0]


def test_sm3_fingerprint_where_available(der: bytes, tmp_path: Path) -> None:
    cert = read_certificate(der)
    if not HAS_SM3:
        assert cert.sm3 is None
        return
    assert cert.sm3 is not None
    assert len(cert.sm3) == 64
    expected = openssl_sm3(der, tmp_path)
    if expected is None:
        from cryptography.hazmat.primitives import hashes

        digest = hashes.Hash(hashes.SM3())
        digest.update(der)
        expected = digest.finalize().hex()
    assert cert.sm3 == expected


def test_sm3_of_unreadable_bytes_too() -> None:
    cert = read_certificate(b"\x30\x03\x02\x01\x01")
    assert cert.error is not None
    assert cert.sm3 == (hashlib.new("sm3", cert.der).hexdigest() if HAS_SM3 else None)


BASE_PROVIDER_ONLY = """\
openssl_conf = openssl_init
[openssl_init]
providers = provider_sect
[provider_sect]
base = base_sect
[base_sect]
activate = 1
"""

CHILD = textwrap.dedent(
    """\
    import datetime, hashlib, json, sys
    from ukeytool.certificates.x509 import read_certificate
    from ukeytool.model import CertificateEntry, Status, Validity
    from ukeytool.rendering.json import _certificate
    from ukeytool.rendering.text import render_certificate_details
    der = sys.stdin.buffer.read()
    cert = read_certificate(der)
    entry = CertificateEntry(1, None, None, 0, False, cert, Validity(Status.VALID, 1))
    print(json.dumps({
        "has_sm3": "sm3" in hashlib.algorithms_available,
        "sm3": cert.sm3,
        "sha256": cert.sha256,
        "json": _certificate(None, entry),
        "details": render_certificate_details(cert),
    }))
    """
)


def test_no_sm3_without_it(der: bytes, tmp_path: Path) -> None:
    conf = tmp_path / "openssl.cnf"
    conf.write_text(BASE_PROVIDER_ONLY, encoding="ascii")
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        input=der,
        capture_output=True,
        check=False,
        timeout=120,
        env={"OPENSSL_CONF": str(conf), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    result = json.loads(done.stdout)
    if result["has_sm3"]:
        pytest.skip("this Python's hashlib keeps SM3 even without OpenSSL's default provider")
    assert result["sm3"] is None
    assert result["json"]["sm3"] is None
    assert result["sha256"] == hashlib.sha256(der).hexdigest()
    assert "SHA-256" in result["details"]
    assert "\nSM3 " not in result["details"]
