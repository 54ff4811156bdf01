"""A second independent module: tpm2-pkcs11 on a software TPM (issue 13, item 2).

swtpm, tpm2-abrmd on a private D-Bus and a tpm2-pkcs11 store built at test time
(tests/stands/tpm2.py, fixture ``tpm_token``): a token holding certificates imported with
``tpm2_ptool import``/``addcert``, listed and checked like the others, its NUL-padded
fields included. tpm2-pkcs11 pads the token's ``model`` ("SW   TPM") with NUL bytes, not
spaces, and also shows a second, uninitialised token.
"""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest
from cryptography import x509

from ukeytool.cli.exits import ExitCode

from .conftest import Cli, CliResult, TpmToken
from .test_smartcard import schema_validator

AT = ("--at", "2030-01-01T00:00:00Z")  # conftest.FIXED_NOW
LABEL = "ukeytool TPM"
#: CK_TOKEN_INFO.model as tpm2-pkcs11 fills it: "SW   TPM" and eight NUL bytes.
RAW_MODEL = b"SW   TPM" + b"\x00" * 8


def run(cli: Cli, token: TpmToken, *args: str, env: dict[str, str] | None = None) -> CliResult:
    command, *rest = args
    environment: dict[str, str | None] = {**token.env, "PKCS11_MODULE": None, **(env or {})}
    return cli(command, "--module", token.module, *AT, *rest, env=environment)


def tokens(doc: dict[str, Any]) -> list[dict[str, Any]]:
    (module,) = doc["modules"]
    return [slot["token"] for slot in module["slots"] if slot["token"] is not None]


def the_token(doc: dict[str, Any]) -> dict[str, Any]:
    (token,) = [t for t in tokens(doc) if t["label"] == LABEL]
    return token


def test_list_tokens_text(cli: Cli, tpm_token: TpmToken) -> None:
    code, out, err = run(cli, tpm_token, "list-tokens")
    assert code == ExitCode.OK, err
    assert f"Token {LABEL}  serial " in out
    assert "IBM / SW   TPM" in out
    rows = {line.split()[0]: line for line in out.splitlines() if "TPM Test CA  " in line}
    assert set(rows) == set(tpm_token.certs)
    assert rows["valid-rsa"].split()[-1] == "valid"
    assert "RSA-2048" in rows["valid-rsa"]
    assert rows["expiring-ec"].split()[-1] == "expiring"
    assert "EC-256" in rows["expiring-ec"]
    assert rows["expired-rsa"].split()[-1] == "expired"
    assert "3 certificates: 1 valid, 1 expiring, 1 expired" in out
    # tpm2-pkcs11's second slot holds a token that was never initialised.
    assert "PIN: token not initialised" in out


def test_list_tokens_json(cli: Cli, tpm_token: TpmToken) -> None:
    code, out, err = run(cli, tpm_token, "list-tokens", "--json")
    assert code == ExitCode.OK, err
    doc = json.loads(out)
    schema_validator().validate(doc)
    assert doc["complete"] is True
    token = the_token(doc)
    assert token["manufacturer"] == "IBM"
    assert token["model"].rstrip("\x00 ") == "SW   TPM"
    certs = {cert["label"]: cert for cert in token["certificates"]}
    assert set(certs) == set(tpm_token.certs)
    for label, minted in tpm_token.certs.items():
        parsed = x509.load_der_x509_certificate(minted.der)
        cert = certs[label]
        assert cert["serial"] == format(parsed.serial_number, "x")
        assert cert["not_after"] == parsed.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert cert["subject_cn"] == minted.subject_cn
        assert cert["issuer_cn"] == "TPM Test CA"
        # tpm2_ptool gives the certificate its key's CKA_ID: the key is found.
        assert cert["key_on_token"]["state"] == "yes"
    assert certs["valid-rsa"]["status"] == "valid"
    assert certs["expiring-ec"]["status"] == "expiring"
    assert certs["expiring-ec"]["key_algorithm"] == "EC"
    assert certs["expired-rsa"]["status"] == "expired"
    # The uninitialised token is listed, not mistaken for a problem.
    others = [t for t in tokens(doc) if t["label"] != LABEL]
    assert len(others) == 1
    assert others[0]["initialized"] is False
    assert others[0]["certificates"] == []


def test_check(cli: Cli, tpm_token: TpmToken) -> None:
    code, out, err = run(cli, tpm_token, "check")
    assert code == 2, err  # CRITICAL: the expired certificate
    first = out.splitlines()[0]
    assert first.startswith("UKEYTOOL CRITICAL - 1 expired, 1 expiring within 30 days, 1 ok |")
    assert f"'expiring-ec@{LABEL}'=20;31:;8:" in first
    assert f"[CRITICAL] certificate expired-rsa@{LABEL}" in out
    # Selected by label, the same verdict.
    code, out, _ = run(cli, tpm_token, "check", "--token-label", LABEL)
    assert code == 2
    assert out.startswith("UKEYTOOL CRITICAL - 1 expired, 1 expiring within 30 days, 1 ok")


def test_login(cli: Cli, tpm_token: TpmToken) -> None:
    from .stands.tpm2 import USER_PIN

    code, out, err = run(
        cli,
        tpm_token,
        "list-tokens",
        "--json",
        "--login",
        "--token-label",
        LABEL,
        env={"UKEYTOOL_PIN": USER_PIN},
    )
    assert code == ExitCode.OK, err
    assert USER_PIN not in out + err
    doc = json.loads(out)
    (slot,) = [s for s in doc["modules"][0]["slots"] if s["token"] and s["token"]["label"] == LABEL]
    assert slot["login"]["state"] == "logged_in"
    assert {c["key_on_token"]["private_key"] for c in slot["token"]["certificates"]} == {"yes"}


def test_model_nul_padding_in_text(cli: Cli, tpm_token: TpmToken) -> None:
    # What the text shows: the model without its padding, never raw NUL bytes.
    code, out, _ = run(cli, tpm_token, "list-tokens")
    assert code == ExitCode.OK
    assert "\x00" not in out


def test_model_hex_is_raw(cli: Cli, tpm_token: TpmToken) -> None:
    code, out, _ = run(cli, tpm_token, "list-tokens", "--json")
    assert code == ExitCode.OK
    assert the_token(json.loads(out))["model_hex"] == RAW_MODEL.hex()


def _p11tool_token_url(tpm_token: TpmToken) -> str:
    import os
    import shutil

    if shutil.which("p11tool") is None:
        pytest.skip("p11tool not found (apt-get install gnutls-bin)")
    done = subprocess.run(
        ["p11tool", f"--provider={tpm_token.module}", "--list-tokens"],
        env={**os.environ, **tpm_token.env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    urls = re.findall(r"URL: (pkcs11:\S+)", done.stdout)
    (url,) = [u for u in urls if u.endswith("token=" + LABEL.replace(" ", "%20"))]
    return url


def test_p11tool_keeps_the_nul_padding(tpm_token: TpmToken) -> None:
    # The independent reading: p11tool's URI keeps the eight NUL bytes of the model.
    assert "model=SW%20%20%20TPM%00%00%00%00%00%00%00%00;" in _p11tool_token_url(tpm_token)


def test_token_uri_is_p11tools(cli: Cli, tpm_token: TpmToken) -> None:
    code, out, _ = run(cli, tpm_token, "list-tokens", "--json")
    assert code == ExitCode.OK
    assert the_token(json.loads(out))["uri"] == _p11tool_token_url(tpm_token)


def test_stand_processes(tpm_token: TpmToken) -> None:
    # The stand's own swtpm, D-Bus and resource manager, on a bus of its own.
    from pathlib import Path

    names = [
        Path(f"/proc/{pid}/comm").read_text(encoding="ascii").strip()
        for pid in tpm_token.stand.pids
    ]
    assert names == ["swtpm", "dbus-daemon", "tpm2-abrmd"]
    assert tpm_token.env["DBUS_SESSION_BUS_ADDRESS"] == f"unix:path={tpm_token.stand.bus}"
