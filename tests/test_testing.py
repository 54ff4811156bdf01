"""The SoftHSM token builder and the demo, checked with independent tools.

What the builder wrote is read back with OpenSC's ``pkcs11-tool`` and ``softhsm2-util``
in child processes, never with ukeytool's own reader, so a bug in one cannot hide a bug
in the other.
"""

from __future__ import annotations

import datetime
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ukeytool.testing import demo, softhsm
from ukeytool.testing.certs import Minted, to_pem
from ukeytool.testing.objects import (
    CKA_CLASS,
    CKA_EC_PARAMS,
    CKA_ISSUER,
    CKA_SERIAL_NUMBER,
    CKA_SUBJECT,
    CKA_TOKEN,
    CKO_CERTIFICATE,
    certificate_template,
    ck_bool,
    ck_ulong,
    private_key_template,
    public_key_template,
)
from ukeytool.testing.softhsm import (
    CertObject,
    PrivateKeyObject,
    PublicKeyObject,
    RawObject,
    SoftHSMError,
    SoftHSMStore,
    TokenObject,
    TokenSpec,
    find_softhsm_module,
)

GBK_ICBC = "工行U盾".encode("gbk")
GBK_SIGN = "签名证书".encode("gbk")
DAY = datetime.timedelta(days=1)


def pkcs11_tool(store: SoftHSMStore, *args: str) -> bytes:
    """Run pkcs11-tool on the store's SoftHSM; stdout as raw bytes (labels may be GBK)."""
    tool = shutil.which("pkcs11-tool")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("pkcs11-tool (Debian package opensc) is required under CI")
        pytest.skip("pkcs11-tool not found: sudo apt-get install opensc")
    done = subprocess.run(
        [tool, "--module", str(store.module_path), *args],
        env=store.subprocess_env(),
        capture_output=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def slot_blocks(listing: bytes) -> list[bytes]:
    """``pkcs11-tool --list-slots`` output cut into one block per slot."""
    return re.split(rb"\n(?=Slot \d+ )", listing.split(b"Available slots:\n", 1)[1])


@pytest.fixture
def rsa_cert(mint_cached: Callable[..., Minted], now: datetime.datetime) -> Minted:
    return mint_cached(subject_cn="rsa holder", not_before=now - DAY, not_after=now + 30 * DAY)


@pytest.mark.softhsm
def test_store_layout(fresh_softhsm: SoftHSMStore) -> None:
    conf = fresh_softhsm.conf_path.read_text(encoding="utf-8")
    assert f"directories.tokendir = {fresh_softhsm.tokens_dir}\n" in conf
    assert "objectstore.backend = file\n" in conf
    assert "slots.removable = false\n" in conf
    assert fresh_softhsm.tokens_dir.is_dir()
    assert fresh_softhsm.tokens_dir.parent == fresh_softhsm.conf_path.parent
    assert fresh_softhsm.env == {"SOFTHSM2_CONF": str(fresh_softhsm.conf_path)}


@pytest.mark.softhsm
def test_two_tokens_read_back_by_pkcs11_tool(fresh_softhsm: SoftHSMStore, rsa_cert: Minted) -> None:
    gbk, odd = fresh_softhsm.add_tokens(
        [
            TokenSpec(
                label=GBK_ICBC,
                objects=[
                    CertObject(rsa_cert.der, label=GBK_SIGN, id=b"\x01"),
                    PrivateKeyObject(rsa_cert.key_pkcs8_der, label="key", id=b"\x01"),
                ],
            ),
            TokenSpec(
                label="odd objects",
                objects=[
                    CertObject(b"", label="empty value"),
                    CertObject(to_pem(rsa_cert.der), label="pem text"),
                ],
            ),
        ]
    )
    assert gbk.label == GBK_ICBC
    assert odd.label == b"odd objects"
    assert re.fullmatch("[0-9a-f]{16}", gbk.serial)
    assert gbk.serial != odd.serial

    slots = slot_blocks(pkcs11_tool(fresh_softhsm, "--list-slots"))
    # Two tokens and SoftHSM's spare uninitialised slot, which stays visible.
    assert len(slots) == 3
    assert b"token label        : " + GBK_ICBC + b"\n" in slots[0] + slots[1]
    assert b"token label        : odd objects\n" in slots[0] + slots[1]
    assert b"token state:   uninitialized" in slots[2]
    listing = b"".join(slots)
    assert gbk.serial.encode() in listing
    assert odd.serial.encode() in listing

    certs = pkcs11_tool(
        fresh_softhsm, "--slot", str(gbk.slot_id), "--list-objects", "--type", "cert"
    )
    assert certs.count(b"Certificate Object; type = X.509 cert") == 1
    assert b"  label:      " + GBK_SIGN + b"\n" in certs
    assert b"holder" in certs  # the subject was derived from the DER into CKA_SUBJECT
    keys = pkcs11_tool(
        fresh_softhsm, "--slot", str(gbk.slot_id), "--login", "--pin", "1234",
        "--list-objects", "--type", "privkey",
    )  # fmt: skip
    assert keys.count(b"Private Key Object; RSA") == 1
    assert b"  ID:         01\n" in keys

    certs = pkcs11_tool(
        fresh_softhsm, "--slot", str(odd.slot_id), "--list-objects", "--type", "cert"
    )
    assert certs.count(b"Certificate Object; type = X.509 cert") == 2
    assert b"  label:      empty value\n" in certs
    assert b"  label:      pem text\n" in certs


@pytest.mark.softhsm
def test_cka_value_is_stored_verbatim(fresh_softhsm: SoftHSMStore, rsa_cert: Minted) -> None:
    values = {
        "empty": b"",
        "pem": to_pem(rsa_cert.der),
        "cut": rsa_cert.der[:40],
        "der": rsa_cert.der,
    }
    token = fresh_softhsm.add_token(
        TokenSpec(label="values", objects=[CertObject(v, label=k) for k, v in values.items()])
    )
    for label, value in values.items():
        out = fresh_softhsm.directory / f"{label}.bin"
        pkcs11_tool(
            fresh_softhsm, "--slot", str(token.slot_id), "--read-object", "--type", "cert",
            "--label", label, "--output-file", str(out),
        )  # fmt: skip
        assert out.read_bytes() == value, label


@pytest.mark.softhsm
def test_private_certificate_needs_login(fresh_softhsm: SoftHSMStore, rsa_cert: Minted) -> None:
    token = fresh_softhsm.add_token(
        TokenSpec(label="private", objects=[CertObject(rsa_cert.der, label="hidden", private=True)])
    )
    slot = ("--slot", str(token.slot_id), "--list-objects", "--type", "cert")
    assert b"hidden" not in pkcs11_tool(fresh_softhsm, *slot)
    assert b"hidden" in pkcs11_tool(fresh_softhsm, "--login", "--pin", "1234", *slot)


@pytest.mark.softhsm
def test_ec_sm2_and_public_keys(
    fresh_softhsm: SoftHSMStore, mint_cached: Callable[..., Minted], now: datetime.datetime
) -> None:
    window = {"not_before": now - DAY, "not_after": now + DAY}
    ec = mint_cached(subject_cn="ec", key="ec-p256", **window)
    sm2 = mint_cached(subject_cn="sm2", key="sm2", hash="sm3", **window)
    objects: list[TokenObject] = []
    for n, minted in enumerate((ec, sm2)):
        objects += [
            CertObject(minted.der, label=minted.subject_cn, id=bytes([n])),
            PrivateKeyObject(minted.key_pkcs8_der, label=minted.subject_cn, id=bytes([n])),
            PublicKeyObject(minted.public_key_der, label=minted.subject_cn, id=bytes([n])),
        ]
    token = fresh_softhsm.add_token(TokenSpec(label="ec", objects=objects))
    listing = pkcs11_tool(
        fresh_softhsm, "--slot", str(token.slot_id), "--login", "--pin", "1234", "--list-objects"
    )
    assert listing.count(b"Private Key Object; EC") == 2
    assert listing.count(b"Public Key Object; EC") == 2
    assert b"EC_PARAMS:  06082a8648ce3d030107" in listing  # P-256
    assert b"EC_PARAMS:  06082a811ccf5501822d" in listing  # SM2, 1.2.156.10197.1.301


@pytest.mark.softhsm
def test_delete_token(fresh_softhsm: SoftHSMStore) -> None:
    keep = fresh_softhsm.add_token(TokenSpec(label="keep"))
    drop = fresh_softhsm.add_token(TokenSpec(label="drop"))
    fresh_softhsm.delete_token(drop.serial)
    listing = pkcs11_tool(fresh_softhsm, "--list-slots")
    assert keep.serial.encode() in listing
    assert drop.serial.encode() not in listing


@pytest.mark.softhsm
def test_failed_build_leaves_no_token(fresh_softhsm: SoftHSMStore) -> None:
    before = sorted(fresh_softhsm.tokens_dir.iterdir())
    incomplete = RawObject(
        ((CKA_CLASS, ck_ulong(CKO_CERTIFICATE)), (CKA_TOKEN, ck_bool(True))),
        description="certificate without a value",
    )
    with pytest.raises(SoftHSMError, match="certificate without a value"):
        fresh_softhsm.add_tokens(
            [TokenSpec(label="fine"), TokenSpec(label="bad", objects=[incomplete])]
        )
    assert sorted(fresh_softhsm.tokens_dir.iterdir()) == before


@pytest.mark.softhsm
def test_writer_refuses_without_the_store_configuration(fresh_softhsm: SoftHSMStore) -> None:
    env = {k: v for k, v in fresh_softhsm.subprocess_env().items() if k != "SOFTHSM2_CONF"}
    request = f'{{"conf": "{fresh_softhsm.conf_path}", "tokens": []}}'
    done = subprocess.run(
        [sys.executable, "-m", "ukeytool.testing._writer"],
        input=request.encode(),
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert b"SOFTHSM2_CONF" in done.stderr


@pytest.mark.softhsm
def test_foreign_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "softhsm2.conf").write_text("directories.tokendir = /var/lib/softhsm/tokens\n")
    with pytest.raises(SoftHSMError, match="not written by ukeytool"):
        SoftHSMStore(tmp_path)
    other = tmp_path / "other"
    (other / "tokens" / "some-token").mkdir(parents=True)
    with pytest.raises(SoftHSMError, match="tokens of another SoftHSM setup"):
        SoftHSMStore(other)


@pytest.mark.softhsm
def test_300_certificates_on_one_token(fresh_softhsm: SoftHSMStore, rsa_cert: Minted) -> None:
    # How long building takes is the benchmark's to show (make bench builds up to 5000),
    # not a timed test's.
    objects = [
        CertObject(rsa_cert.der, label=f"cert {i}", id=i.to_bytes(2, "big")) for i in range(300)
    ]
    token = fresh_softhsm.add_token(TokenSpec(label="many", objects=objects))
    certs = pkcs11_tool(
        fresh_softhsm, "--slot", str(token.slot_id), "--list-objects", "--type", "cert"
    )
    assert certs.count(b"Certificate Object") == 300


@pytest.mark.parametrize(
    ("label", "message"),
    [(b"x" * 33, "32"), ("七个汉字超长了吗十一个字", "32"), (b"a\x00b", "NUL")],
)
def test_token_label_limits(label: bytes | str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TokenSpec(label=label)


def test_short_pin_refused() -> None:
    with pytest.raises(ValueError, match="user_pin"):
        TokenSpec(label="x", user_pin="12")


def test_pins_not_in_repr() -> None:
    assert "9876" not in repr(TokenSpec(label="x", so_pin="98765432", user_pin="9876"))


def test_certificate_template_names(rsa_cert: Minted) -> None:
    derived = dict(certificate_template(CertObject(rsa_cert.der)))
    assert rsa_cert.subject_cn.encode() in derived[CKA_SUBJECT]
    assert derived[CKA_ISSUER] == derived[CKA_SUBJECT]  # self-signed
    assert derived[CKA_SERIAL_NUMBER][0] == 0x02  # a DER INTEGER
    garbage = dict(certificate_template(CertObject(b"\x30\x03junk")))
    assert garbage[CKA_SUBJECT] == b""  # SoftHSM needs the attribute; empty says unknown
    assert CKA_ISSUER not in garbage
    given = dict(certificate_template(CertObject(rsa_cert.der, subject=b"\x30\x00")))
    assert given[CKA_SUBJECT] == b"\x30\x00"


def test_sm2_oid_as_key_algorithm(
    mint_cached: Callable[..., Minted], now: datetime.datetime
) -> None:
    sm2 = mint_cached(subject_cn="sm2", key="sm2", hash="sm3", not_before=now, not_after=now + DAY)
    # id-ecPublicKey with the SM2 curve as parameter -> the SM2 OID alone as the algorithm.
    usual = bytes.fromhex("301306072a8648ce3d020106082a811ccf5501822d")
    bare = bytes.fromhex("300a06082a811ccf5501822d")

    def rewrap(der: bytes) -> bytes:  # new outer SEQUENCE length, 9 octets shorter
        header = 3 if der[1] == 0x81 else 2
        inner = der[header:].replace(usual, bare)
        assert len(inner) == len(der) - header - 9
        return b"\x30" + (b"\x81" if len(inner) > 127 else b"") + bytes([len(inner)]) + inner

    key = dict(private_key_template(PrivateKeyObject(sm2.key_pkcs8_der)))
    assert key[CKA_EC_PARAMS] == bytes.fromhex("06082a811ccf5501822d")
    assert dict(private_key_template(PrivateKeyObject(rewrap(sm2.key_pkcs8_der)))) == key
    public = dict(public_key_template(PublicKeyObject(sm2.public_key_der)))
    assert dict(public_key_template(PublicKeyObject(rewrap(sm2.public_key_der)))) == public


def test_missing_softhsm_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(softhsm.MODULE_ENV, raising=False)
    monkeypatch.setattr(softhsm, "_MODULE_CANDIDATES", ("/nonexistent/libsofthsm2.so",))
    with pytest.raises(softhsm.SoftHSMNotFound, match="apt-get install softhsm2"):
        find_softhsm_module()


@pytest.mark.softhsm
def test_demo_store(tmp_path: Path, now: datetime.datetime) -> None:
    built = demo.build_demo(tmp_path, now)
    assert built.token.label == GBK_ICBC
    listing = pkcs11_tool(built.store, "--list-slots")
    assert b"token label        : " + GBK_ICBC + b"\n" in listing
    assert b"token state:   uninitialized" in listing
    objects = pkcs11_tool(built.store, "--login", "--pin", demo.DEMO_USER_PIN, "--list-objects")
    assert objects.count(b"Certificate Object") == 5
    assert objects.count(b"Private Key Object") == 1
    assert b"  label:      " + GBK_SIGN + b"\n" in objects
    assert b"Z000000000000000000" in objects


@pytest.mark.softhsm
def test_demo_command_is_repeatable(tmp_path: Path) -> None:
    def run() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "ukeytool.testing.demo", str(tmp_path)],
            capture_output=True,
            timeout=120,
            check=True,
        )
        return done.stdout.decode("utf-8")

    run()
    out = run()
    assert f"SOFTHSM2_CONF={tmp_path / 'softhsm2.conf'}" in out
    # The second run replaced the first run's token instead of adding one.
    assert len(list((tmp_path / "tokens").iterdir())) == 1
