"""A virtual smart card through the real stack (issue 13, item 1).

pcscd (its own socket, reader configuration and network namespace), vsmartcard's vpcd
reader driver and a virtual PIV card (tests/stands/piv_card.py) holding certificates
minted at test time, read by ukeytool through OpenSC's ``opensc-pkcs11.so``: the
listing, the JSON, the check and ``--login`` on the card; an empty reader (vpcd's second
slot); no reader service at all; the card removed between runs; the card frozen (it stops
answering: the hang is stopped by ``--timeout``). The stand starts once per session
(fixture ``piv_card`` in conftest.py). ukeytool runs in-process through the ``cli``
fixture; the module itself runs in ukeytool's isolation child, which inherits the
stand's environment (``PCSCLITE_CSOCK_NAME``, ``OPENSC_CONF``).
"""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from jsonschema import Draft202012Validator

from ukeytool.cli.exits import ExitCode

from .conftest import Cli, CliResult, PivCard

AT = ("--at", "2030-01-01T00:00:00Z")  # conftest.FIXED_NOW
CARD_READER = "ukeytool test PCD 00 00"
EMPTY_READER = "ukeytool test PCD 00 01"
CERT_LABELS = {
    "9A": "Certificate for PIV Authentication",
    "9C": "Certificate for Digital Signature",
    "9D": "Certificate for Key Management",
}


def run(cli: Cli, card: PivCard, *args: str, env: dict[str, str | None] | None = None) -> CliResult:
    """``ukeytool COMMAND --module opensc-pkcs11.so --at FIXED_NOW ...`` on the stand."""
    command, *rest = args
    environment: dict[str, str | None] = {**card.env, "PKCS11_MODULE": None}
    environment.update(env or {})
    return cli(command, "--module", card.module, *AT, *rest, env=environment)


def slots_by_reader(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (module,) = doc["modules"]
    return {slot["description"]: slot for slot in module["slots"]}


def schema_validator() -> Draft202012Validator:
    text = (resources.files("ukeytool") / "schema" / "report.schema.json").read_text("utf-8")
    return Draft202012Validator(json.loads(text))


def test_list_tokens_text(cli: Cli, piv_card: PivCard) -> None:
    pins = piv_card.stand.pins_presented()
    code, out, err = run(cli, piv_card, "list-tokens")
    assert code == ExitCode.OK, err
    assert err == ""
    assert f"Slot 0x0  {CARD_READER}" in out
    assert f"Token {piv_card.label}  serial {piv_card.serial}  piv_II" in out
    rows = {  # the certificate rows: LABEL  ID  SUBJECT CN  ISSUER CN ...
        line.strip().split("  ")[0]: line for line in out.splitlines() if "Stand Test CA  " in line
    }
    assert set(rows) == set(CERT_LABELS.values())
    assert rows[CERT_LABELS["9A"]].split()[-1] == "valid"
    assert "RSA-2048" in rows[CERT_LABELS["9A"]]
    assert "2031-01-01" in rows[CERT_LABELS["9A"]]
    assert rows[CERT_LABELS["9C"]].split()[-1] == "expiring"
    assert "EC-256" in rows[CERT_LABELS["9C"]]
    assert rows[CERT_LABELS["9D"]].split()[-1] == "expired"
    assert "3 certificates: 1 valid, 1 expiring, 1 expired" in out
    # vpcd's second slot: an empty reader, listed as such.
    assert f"{EMPTY_READER}\n  (no token)" in out
    # Listing never presents a PIN to the card.
    assert piv_card.stand.pins_presented() == pins


def test_list_tokens_json(cli: Cli, piv_card: PivCard) -> None:
    code, out, err = run(cli, piv_card, "list-tokens", "--json")
    assert code == ExitCode.OK, err
    doc = json.loads(out)
    schema_validator().validate(doc)
    assert doc["complete"] is True
    assert doc["summary"]["certificates"] == 3
    slots = slots_by_reader(doc)
    assert set(slots) == {CARD_READER, EMPTY_READER}
    token = slots[CARD_READER]["token"]
    assert slots[CARD_READER]["token_present"] is True
    assert token["serial"] == piv_card.serial
    assert token["label"] == piv_card.label
    assert token["manufacturer"] == "piv_II"
    certs = {cert["label"]: cert for cert in token["certificates"]}
    assert set(certs) == set(CERT_LABELS.values())
    for key, label in CERT_LABELS.items():
        minted = x509.load_der_x509_certificate(piv_card.certs[key].der)
        cert = certs[label]
        assert cert["serial"] == format(minted.serial_number, "x")
        assert cert["not_after"] == minted.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert cert["subject_cn"] == piv_card.certs[key].subject_cn
        assert cert["issuer_cn"] == "Stand Test CA"
        assert cert["id"] == {"9A": "01", "9C": "02", "9D": "03"}[key]
    assert certs[CERT_LABELS["9A"]]["status"] == "valid"
    assert certs[CERT_LABELS["9A"]]["key_algorithm"] == "RSA"
    assert certs[CERT_LABELS["9C"]]["status"] == "expiring"
    assert certs[CERT_LABELS["9C"]]["key_algorithm"] == "EC"
    assert certs[CERT_LABELS["9C"]]["days_left"] == 20
    assert certs[CERT_LABELS["9D"]]["status"] == "expired"


def test_empty_reader(cli: Cli, piv_card: PivCard) -> None:
    code, out, _ = run(cli, piv_card, "list-tokens", "--json")
    assert code == ExitCode.OK
    empty = slots_by_reader(json.loads(out))[EMPTY_READER]
    assert empty["token_present"] is False
    assert empty["token"] is None
    assert empty["problems"] == []
    assert empty["complete"] is True


def test_check(cli: Cli, piv_card: PivCard) -> None:
    code, out, err = run(cli, piv_card, "check")
    assert code == 2, err  # CRITICAL: the expired certificate
    lines = out.splitlines()
    assert lines[0].startswith("UKEYTOOL CRITICAL - 1 expired, 1 expiring within 30 days, 1 ok |")
    assert f"'{CERT_LABELS['9C']}@{piv_card.label}'=20;31:;8:" in lines[0]
    assert any(line.startswith("[CRITICAL] certificate " + CERT_LABELS["9D"]) for line in lines)
    assert any(line.startswith("[WARNING] certificate " + CERT_LABELS["9C"]) for line in lines)


def test_login(cli: Cli, piv_card: PivCard) -> None:
    from .stands.pcsc import PIN

    pins = piv_card.stand.pins_presented()
    code, out, err = run(
        cli, piv_card, "list-tokens", "--json", "--login", env={"UKEYTOOL_PIN": PIN}
    )
    assert code == ExitCode.OK, err
    assert PIN not in out
    assert PIN not in err
    slot = slots_by_reader(json.loads(out))[CARD_READER]
    assert slot["login"]["state"] == "logged_in"
    assert slot["private_objects_visible"] is True
    certs = slot["token"]["certificates"]
    assert len(certs) == 3
    # With the PIN, OpenSC shows the private keys: each certificate has its own.
    assert {cert["key_on_token"]["private_key"] for cert in certs} == {"yes"}
    # One VERIFY with the PIN: the one C_Login.
    assert piv_card.stand.pins_presented() == pins + 1


def test_login_wrong_pin(cli: Cli, piv_card: PivCard) -> None:
    from .stands.pcsc import PIN

    pins = piv_card.stand.pins_presented()
    code, out, err = run(cli, piv_card, "list-tokens", "--login", env={"UKEYTOOL_PIN": "999999"})
    assert code == ExitCode.LOGIN_FAILED
    assert "999999" not in out + err
    assert err.count("\n") == 1
    assert "CKR_PIN_INCORRECT" in err
    assert "Traceback" not in err
    # Listed all the same, and the PIN tried once, never again.
    assert "3 certificates: 1 valid, 1 expiring, 1 expired" in out
    assert piv_card.stand.pins_presented() == pins + 1
    # The right PIN resets the card's counter for the tests after this one.
    code, _, _ = run(cli, piv_card, "list-tokens", "--login", env={"UKEYTOOL_PIN": PIN})
    assert code == ExitCode.OK


def test_login_said_once(cli: Cli, piv_card: PivCard) -> None:
    from .stands.pcsc import PIN

    code, out, _ = run(cli, piv_card, "list-tokens", "--login", env={"UKEYTOOL_PIN": PIN})
    assert code == ExitCode.OK
    (line,) = [line for line in out.splitlines() if "logged in" in line]
    assert line.count("logged in") == 1, line


def _no_service_env(tmp_path: Path) -> dict[str, str | None]:
    # libpcsclite finds no pcscd at this socket: no reader service at all.
    return {"PCSCLITE_CSOCK_NAME": str(tmp_path / "no-pcscd" / "pcscd.comm")}


def test_no_reader_service(cli: Cli, piv_card: PivCard, tmp_path: Path) -> None:
    env = _no_service_env(tmp_path)
    code, out, err = run(cli, piv_card, "list-tokens", "--json", env=env)
    assert code == ExitCode.OK, err
    assert "Traceback" not in err
    doc = json.loads(out)
    (module,) = doc["modules"]
    assert module["slots"] == []  # OpenSC without pcscd offers no slot
    code, out, err = run(cli, piv_card, "check", env=env)
    assert code == 3  # UNKNOWN: nothing to judge
    assert out.startswith("UKEYTOOL UNKNOWN - ")
    assert "Traceback" not in err


def test_no_reader_service_words(cli: Cli, piv_card: PivCard, tmp_path: Path) -> None:
    code, out, _ = run(cli, piv_card, "check", env=_no_service_env(tmp_path))
    assert code == 3
    assert "no token present" not in out
    assert "the module lists no slot (no reader, or no reader service" in out


def test_card_removed_between_runs(cli: Cli, piv_card: PivCard) -> None:
    code, out, _ = run(cli, piv_card, "list-tokens", "--serial", piv_card.serial)
    assert code == ExitCode.OK
    assert piv_card.serial in out
    with piv_card.stand.removed():
        code, out, err = run(cli, piv_card, "list-tokens", "--json")
        assert code == ExitCode.OK, err
        doc = json.loads(out)
        slots = slots_by_reader(doc)
        assert set(slots) == {CARD_READER, EMPTY_READER}
        assert all(slot["token"] is None for slot in slots.values())
        assert doc["summary"]["certificates"] == 0
        code, out, err = run(cli, piv_card, "check")
        assert code == 3
        assert out.startswith("UKEYTOOL UNKNOWN - no certificates: no token present")
        # Asked for the card that is gone: no certificate, never a false OK.
        code, out, err = run(cli, piv_card, "check", "--serial", piv_card.serial)
        assert code == 3
        assert "Traceback" not in err
    # Back in the reader: read as before.
    code, out, _ = run(cli, piv_card, "check", "--serial", piv_card.serial)
    assert code == 2
    assert out.startswith("UKEYTOOL CRITICAL - 1 expired, 1 expiring within 30 days, 1 ok")


def test_card_frozen(cli: Cli, piv_card: PivCard) -> None:
    with piv_card.stand.frozen():
        code, out, err = run(cli, piv_card, "list-tokens", "--timeout", "2")
        assert code == ExitCode.MODULE_TIMED_OUT
        assert out == ""
        assert err.count("\n") == 1
        assert "did not answer within 2 s and was stopped" in err
        code, out, err = run(cli, piv_card, "check", "--timeout", "2")
        assert code == 3
        assert out.startswith("UKEYTOOL UNKNOWN - ")
        assert "did not answer within 2 s" in out
    # Pulled and put back, the card answers again.
    code, out, _ = run(cli, piv_card, "list-tokens")
    assert code == ExitCode.OK
    assert "3 certificates: 1 valid, 1 expiring, 1 expired" in out


def _command_name(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text(encoding="ascii").strip()


def test_stand_processes(piv_card: PivCard) -> None:
    # The stand's own processes, and pcscd in a network namespace of its own (vpcd's
    # port, open on every interface there, is reachable from nowhere else).
    pcscd, card = piv_card.stand.pids
    assert _command_name(pcscd) == "pcscd"
    assert _command_name(card).startswith("python")
    network = os.readlink(f"/proc/{pcscd}/ns/net")
    assert network != os.readlink("/proc/self/ns/net")
    assert os.readlink(f"/proc/{card}/ns/net") == network
    assert piv_card.env["PCSCLITE_CSOCK_NAME"] != "/run/pcscd/pcscd.comm"


def test_stand_stops_what_it_started(piv_card: PivCard, tmp_path: Path) -> None:
    # A second stand beside the session's: it starts, and stopping it ends its own two
    # processes and no other (the session's stand still answers).
    from .stands.pcsc import PcscStand

    second = PcscStand(tmp_path, {"9A": piv_card.certs["9A"].der}, guid=bytes(16))
    second.start()
    try:
        assert second.readers() == {CARD_READER: True, EMPTY_READER: False}
        pids = list(second.pids)
        assert len(pids) == 2
        assert not set(pids) & set(piv_card.stand.pids)
    finally:
        second.stop()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists()  # ended and reaped
    assert piv_card.stand.readers()[CARD_READER] is True


def test_stand_refuses_without_namespaces(
    piv_card: PivCard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without a namespace the stand would have to use pcscd's fixed socket path (beside
    # whatever pcscd the system runs) and open vpcd's port on every interface: it
    # refuses, and starts nothing.
    from .stands import pcsc

    monkeypatch.setattr(pcsc, "_namespace_prefix", lambda: None)
    stand = pcsc.PcscStand(tmp_path, {}, guid=bytes(16))
    with pytest.raises(pcsc.StandUnavailable, match="fixed"):
        stand.start()
    assert stand.pids == []
