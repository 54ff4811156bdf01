"""ukeytool's ``pkcs11:`` URIs given back to p11tool (issue 13, item 5).

On two modules that are not SoftHSM, tpm2-pkcs11 (whose token model is NUL-padded) and
OpenSC over pcscd with the virtual PIV card, every URI ``list-tokens --json`` prints is
handed to GnuTLS's ``p11tool``: the token URI must find exactly that token's
certificates, and each certificate URI exactly that certificate (exported byte for byte).

p11tool runs with ``--provider MODULE``: GnuTLS then loads that module alone, never the
modules registered with p11-kit on this machine (each test checks that the tokens p11tool
sees are exactly the ones ukeytool lists for the module).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from ukeytool.cli.exits import ExitCode

from .conftest import Cli, PivCard, TpmToken

AT = ("--at", "2030-01-01T00:00:00Z")  # conftest.FIXED_NOW


def p11tool(module: str, env: dict[str, str], *args: str) -> str:
    found = shutil.which("p11tool")
    if found is None:
        message = "p11tool is missing (Debian package gnutls-bin)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must install it")
        pytest.skip(message)
    done = subprocess.run(
        [found, "--provider", module, *args],
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.decode("utf-8", "replace")


def urls(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("pkcs11:")]


def listed(cli: Cli, module: str, env: dict[str, str]) -> list[dict[str, Any]]:
    """The tokens ``list-tokens --json`` lists for ``module``."""
    code, out, err = cli(
        "list-tokens", "--module", module, *AT, "--json", env={**env, "PKCS11_MODULE": None}
    )
    assert code == ExitCode.OK, err
    (report,) = json.loads(out)["modules"]
    return [slot["token"] for slot in report["slots"] if slot["token"] is not None]


def assert_p11tool_finds_them(
    module: str, env: dict[str, str], tokens: list[dict[str, Any]]
) -> None:
    # p11tool sees this module's tokens only: nothing from the machine's p11-kit registry.
    assert sorted(urls(p11tool(module, env, "--list-token-urls"))) == sorted(
        t["uri"] for t in tokens
    )
    checked = 0
    for token in tokens:
        certificates = token["certificates"]
        if not certificates:
            continue
        # The token URI finds that token's certificates, and nothing else.
        found = urls(p11tool(module, env, "--list-all-certs", "--only-urls", token["uri"]))
        assert len(found) == len(certificates), (token["uri"], found)
        for certificate in certificates:
            # Each certificate URI finds exactly one certificate: this one.
            uri = certificate["uri"]
            (one,) = urls(p11tool(module, env, "--list-all-certs", "--only-urls", uri))
            assert one.startswith(token["uri"] + ";"), (one, token["uri"])
            pem = p11tool(module, env, "--export", uri)
            exported = x509.load_pem_x509_certificate(pem.encode("ascii"))
            assert exported.fingerprint(hashes.SHA256()).hex() == certificate["sha256"], uri
            checked += 1
    assert checked >= 3


def test_tpm2_uris_are_accepted_by_p11tool(cli: Cli, tpm_token: TpmToken) -> None:
    tokens = listed(cli, tpm_token.module, tpm_token.env)
    # the NUL padding of tpm2-pkcs11's model is in the URI, as p11tool builds it
    assert any("model=SW%20%20%20TPM%00%00%00%00%00%00%00%00;" in t["uri"] for t in tokens)
    assert_p11tool_finds_them(tpm_token.module, tpm_token.env, tokens)


def test_piv_card_uris_are_accepted_by_p11tool(cli: Cli, piv_card: PivCard) -> None:
    tokens = listed(cli, piv_card.module, piv_card.env)
    assert [t["serial"] for t in tokens] == [piv_card.serial]
    assert_p11tool_finds_them(piv_card.module, piv_card.env, tokens)
