"""Fixtures shared by the test suite.

Time: ``now`` is :data:`FIXED_NOW`. Certificates are minted at fixed offsets from it and
judged at it, never at the clock, so no test starts failing on some future day.

SoftHSM: tests that use ``softhsm``, ``fresh_softhsm``, ``softhsm_env`` or
``softhsm_module`` must carry ``@pytest.mark.softhsm``. Without SoftHSM2 installed they
skip, except under CI (``$CI`` set), where they fail: CI must install it.

Loading SoftHSM in the test process: SoftHSM reads ``SOFTHSM2_CONF`` at
``C_Initialize``. Request ``softhsm_env`` (it points ``SOFTHSM2_CONF`` at the session
store for the test) before opening ``softhsm.module_path`` in-process; without it SoftHSM
falls back to the system configuration and token directory. A module initialised before a
token was added does not see that token until it is finalised and initialised again.

Stores: ``softhsm`` is one store for the whole session, so tokens accumulate in it:
select tokens by the serial :meth:`~ukeytool.testing.softhsm.SoftHSMStore.add_token`
returns (never by slot index or count). ``fresh_softhsm`` is an empty store for one test,
for tests that count slots or tokens.

The command line: ``cli`` runs ``ukeytool.cli.main(argv)`` in the test process and
returns ``(code, stdout, stderr)``, with environment variables and standard input set for
that one call (see :class:`Cli`). Tests that must see a separate process (isolation, a
terminal, what gets imported) start ``python -m ukeytool`` themselves.
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

import pytest

from ukeytool.testing.certs import Minted, mint, mint_ca, to_pem
from ukeytool.testing.softhsm import (
    CertObject,
    PrivateKeyObject,
    SoftHSMNotFound,
    SoftHSMStore,
    TokenSpec,
    find_softhsm_module,
)

FIXED_NOW = datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)
"""The moment every test judges validity at."""


@pytest.fixture
def now() -> datetime.datetime:
    """:data:`FIXED_NOW`: the moment to mint certificates around and judge them at."""
    return FIXED_NOW


def required_file(candidates: Sequence[str], what: str, package: str) -> str:
    """The first of ``candidates`` that exists; else fail under CI (it must install
    ``package``) or skip elsewhere."""
    for candidate in candidates:
        if os.path.exists(candidate):
            return candidate
    message = f"{what} not found (apt-get install {package})"
    if os.environ.get("CI"):
        pytest.fail(f"required under CI: {message}")
    pytest.skip(message)


def _softhsm_missing(exc: SoftHSMNotFound) -> NoReturn:
    # A CI run that silently skipped every token test would prove nothing.
    if os.environ.get("CI"):
        pytest.fail(f"SoftHSM2 is required under CI: {exc}")
    pytest.skip(str(exc))


def _new_store(directory: Path) -> SoftHSMStore:
    try:
        return SoftHSMStore(directory)
    except SoftHSMNotFound as exc:
        _softhsm_missing(exc)


@pytest.fixture(scope="session")
def softhsm_module() -> str:
    """Path of the SoftHSM2 PKCS#11 module, as the one spelling to use in this process."""
    try:
        return str(find_softhsm_module())
    except SoftHSMNotFound as exc:
        _softhsm_missing(exc)


@pytest.fixture(scope="session")
def shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``libmisbehave.so``, the misbehaving module of ``tests/shim``, built once per
    session (skips without cc, fails under CI; mark: softhsm)."""
    from .shim_module import ShimUnavailable, build_shim

    try:
        return build_shim(tmp_path_factory.mktemp("shim"))
    except ShimUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the misbehaving module must be built under CI: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHSMStore:
    """A SoftHSM store for the whole session, in a temporary directory (mark: softhsm)."""
    return _new_store(tmp_path_factory.mktemp("softhsm"))


@pytest.fixture
def fresh_softhsm(tmp_path: Path) -> SoftHSMStore:
    """An empty SoftHSM store for this test only (mark: softhsm)."""
    return _new_store(tmp_path / "softhsm")


@pytest.fixture
def softhsm_env(softhsm: SoftHSMStore, monkeypatch: pytest.MonkeyPatch) -> SoftHSMStore:
    """The session store, with ``SOFTHSM2_CONF`` pointing at it for this test.

    Needed by any test that loads SoftHSM in its own process; children started with
    :meth:`~ukeytool.testing.softhsm.SoftHSMStore.subprocess_env` do not need it.
    """
    for name, value in softhsm.env.items():
        monkeypatch.setenv(name, value)
    return softhsm


@pytest.fixture(scope="session")
def mint_cached() -> Callable[..., Minted]:
    """:func:`~ukeytool.testing.certs.mint` (or another minting function given first, such
    as :func:`~ukeytool.testing.certs.mint_ca`) remembered for the session, by its
    arguments.

    Key generation (RSA, and SM2 through the openssl command) dominates minting time;
    tests that only need *a* certificate of some shape share one. The result is frozen,
    so sharing is safe; tests that need distinct keys call ``mint`` itself.
    """
    cache: dict[tuple[Any, ...], Minted] = {}

    def cached(make: Callable[..., Minted] = mint, /, *args: Any, **kwargs: Any) -> Minted:
        key = (make, args, tuple(sorted(kwargs.items())))
        if key not in cache:
            cache[key] = make(*args, **kwargs)
        return cache[key]

    return cached


# --- the command line, in-process


class CliResult(NamedTuple):
    """What one run of the command line gave; unpacks as ``code, out, err``."""

    code: int
    out: str
    err: str


@dataclasses.dataclass(frozen=True)
class Cli:
    """Runs ``ukeytool ARGV`` in-process through :func:`ukeytool.cli.main`.

    ``cli("list-tokens", "--json")`` returns a :class:`CliResult`. ``env`` sets (or, with
    None, removes) environment variables and ``stdin`` gives standard input (text, not a
    terminal), both for that call only; output is read through pytest's ``capsys``.
    """

    capsys: pytest.CaptureFixture[str]
    monkeypatch: pytest.MonkeyPatch

    def __call__(
        self,
        *argv: str,
        env: Mapping[str, str | None] | None = None,
        stdin: str | None = None,
    ) -> CliResult:
        from ukeytool.cli import main

        with self.monkeypatch.context() as patch:
            for name, value in (env or {}).items():
                if value is None:
                    patch.delenv(name, raising=False)
                else:
                    patch.setenv(name, value)
            if stdin is not None:
                patch.setattr("sys.stdin", io.StringIO(stdin))
            code = main(list(argv))
        out, err = self.capsys.readouterr()
        return CliResult(code, out, err)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """The command line in-process: ``code, out, err = cli("list-tokens", ...)``."""
    return Cli(capsys, monkeypatch)


# --- the bank token: every status and every broken value on one GBK-labelled token

DAY = datetime.timedelta(days=1)
GBK_TOKEN = "工行U盾".encode("gbk")
GBK_CERT_LABEL = "签名证书".encode("gbk")


@dataclasses.dataclass(frozen=True)
class Bank:
    store: SoftHSMStore
    serial: str
    second_serial: str
    certs: dict[str, Minted]


def _certs() -> dict[str, Minted]:
    ca = mint_ca("Demo Root CA", at=FIXED_NOW)
    sm2_ca = mint_ca("Demo SM2 CA", at=FIXED_NOW, key="sm2")
    return {
        "ca": ca,
        "valid": mint(
            subject_cn="张三",
            not_before=FIXED_NOW - 100 * DAY,
            not_after=FIXED_NOW + 365 * DAY,
            issuer=ca,
        ),
        "expiring": mint(
            subject_cn="expiring",
            not_before=FIXED_NOW - 100 * DAY,
            not_after=FIXED_NOW + 20 * DAY,
            issuer=ca,
        ),
        "edge": mint(
            subject_cn="edge", not_before=FIXED_NOW - 100 * DAY, not_after=FIXED_NOW, issuer=ca
        ),
        "expired": mint(
            subject_cn="old",
            not_before=FIXED_NOW - 800 * DAY,
            not_after=FIXED_NOW - 30 * DAY,
            key="rsa1024",
            hash="sha1",
            issuer=ca,
        ),
        "future": mint(
            subject_cn="future",
            not_before=FIXED_NOW + 10 * DAY,
            not_after=FIXED_NOW + 400 * DAY,
            issuer=ca,
        ),
        "sm2_sign": mint(
            subject_cn="李四",
            not_before=FIXED_NOW - 10 * DAY,
            not_after=FIXED_NOW + 20 * DAY,
            key="sm2",
            hash="sm3",
            issuer=sm2_ca,
            key_usage=("digitalSignature", "nonRepudiation"),
        ),
        "sm2_enc": mint(
            subject_cn="李四",
            not_before=FIXED_NOW - 10 * DAY,
            not_after=FIXED_NOW + 20 * DAY,
            key="sm2",
            hash="sm3",
            issuer=sm2_ca,
            key_usage=("keyEncipherment", "dataEncipherment", "keyAgreement"),
        ),
    }


@pytest.fixture(scope="session")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Bank:
    """A bank-like token (GBK label) with a certificate in every state and every broken
    CKA_VALUE, plus a second token, in a store of its own (mark: softhsm)."""
    certs = _certs()
    store = _new_store(tmp_path_factory.mktemp("bank"))
    objects = [
        CertObject(certs["ca"].der, label="Demo Root CA"),
        CertObject(certs["valid"].der, label="sign", id=b"\x01"),
        PrivateKeyObject(certs["valid"].key_pkcs8_der, label="sign", id=b"\x01"),
        CertObject(certs["expiring"].der, label="expiring", id=b"\x02"),
        CertObject(certs["edge"].der, label="edge", id=b"\x03"),
        CertObject(certs["expired"].der, label="expired", id=b"\x04"),
        CertObject(certs["future"].der, label="future", id=b"\x05"),
        CertObject(certs["sm2_sign"].der, label=GBK_CERT_LABEL, id=b"\x06"),
        CertObject(certs["sm2_enc"].der, label="sm2-enc", id=b"\x07"),
        CertObject(b"", label="empty", id=b"\x08"),
        CertObject(certs["valid"].der[:200], label="truncated", id=b"\x09"),
        CertObject(to_pem(certs["expiring"].der), label="pem", id=b"\x0a"),
        CertObject(certs["valid"].der, label="private", id=b"\x0b", private=True),
    ]
    first, second = store.add_tokens(
        [
            TokenSpec(label=GBK_TOKEN, objects=objects),
            TokenSpec(label="second", objects=[CertObject(certs["valid"].der, label="copy")]),
        ]
    )
    return Bank(store, first.serial, second.serial, certs)


# --- the stands of issue 13: a virtual PIV card through pcscd and OpenSC
# (tests/stands/pcsc.py) and tpm2-pkcs11 on a software TPM (tests/stands/tpm2.py). Each
# starts once per session; without its tools it skips, or fails under CI.


def _stand_missing(exc: Exception) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"required under CI: {exc}")
    pytest.skip(str(exc))


@dataclasses.dataclass(frozen=True)
class PivCard:
    """The running smart-card stand and what its card holds."""

    stand: Any
    """The :class:`tests.stands.pcsc.PcscStand`."""
    certs: dict[str, Minted]
    """The certificates on the card, by PIV key reference (``9A``, ``9C``, ``9D``)."""
    serial: str
    """The token serial OpenSC makes of the card's CHUID."""
    label: str
    """The token label OpenSC makes of the PIV authentication certificate's CN."""

    @property
    def env(self) -> dict[str, str]:
        return dict(self.stand.env)

    @property
    def module(self) -> str:
        return str(self.stand.module)


@pytest.fixture
def bank_env(bank: Bank, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Bank:
    """The bank-like token as the only thing the command line can find: its SoftHSM
    configuration, no user configuration, no catalogue or module from the environment."""
    monkeypatch.setenv("SOFTHSM2_CONF", str(bank.store.conf_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("UKEYTOOL_CATALOGUE", raising=False)
    monkeypatch.delenv("PKCS11_MODULE", raising=False)
    return bank


def _stand_certificates(ca_name: str, names: tuple[str, str, str]) -> tuple[Minted, ...]:
    """What a stand's token holds, minted for :data:`FIXED_NOW` by one CA: a valid RSA
    certificate, an EC P-256 one expiring in 20 days and an expired RSA one."""
    ca = mint_ca(ca_name, at=FIXED_NOW)
    valid, expiring, expired = names
    return (
        mint(
            subject_cn=valid,
            not_before=FIXED_NOW - 100 * DAY,
            not_after=FIXED_NOW + 365 * DAY,
            issuer=ca,
        ),
        mint(
            subject_cn=expiring,
            not_before=FIXED_NOW - 100 * DAY,
            not_after=FIXED_NOW + 20 * DAY,
            key="ec-p256",
            issuer=ca,
        ),
        mint(
            subject_cn=expired,
            not_before=FIXED_NOW - 800 * DAY,
            not_after=FIXED_NOW - 30 * DAY,
            issuer=ca,
        ),
    )


@pytest.fixture(scope="session")
def piv_card(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PivCard]:
    """pcscd (its own socket, reader configuration and network), vpcd and a virtual PIV
    card holding a valid RSA certificate (9A), an EC P-256 one expiring in 20 days (9C)
    and an expired RSA one (9D), minted for :data:`FIXED_NOW`; stopped at the end."""
    from .stands.pcsc import PcscStand, StandUnavailable

    certs = dict(
        zip(
            ("9A", "9C", "9D"),
            _stand_certificates("Stand Test CA", ("PIV Holder", "expiring EC", "expired RSA")),
            strict=True,
        )
    )
    guid = bytes.fromhex("75 6b 65 79 74 6f 6f 6c 20 13 00 01 02 03 04 05".replace(" ", ""))
    stand = PcscStand(
        tmp_path_factory.mktemp("pcsc"), {k: v.der for k, v in certs.items()}, guid=guid
    )
    try:
        stand.start()
    except StandUnavailable as exc:
        _stand_missing(exc)
    try:
        yield PivCard(stand, certs, serial=guid[8:].hex(), label="PIV Holder")
    finally:
        stand.stop()


@dataclasses.dataclass(frozen=True)
class TpmToken:
    """The running TPM stand and what its token holds."""

    stand: Any
    """The :class:`tests.stands.tpm2.Tpm2Stand`."""
    certs: dict[str, Minted]
    """The certificates on the token, by label (each imported with its private key)."""

    @property
    def env(self) -> dict[str, str]:
        return dict(self.stand.env)

    @property
    def module(self) -> str:
        return str(self.stand.module)


@pytest.fixture(scope="session")
def tpm_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TpmToken]:
    """swtpm, a private D-Bus and tpm2-abrmd, and a tpm2-pkcs11 token holding a valid RSA
    certificate, an EC P-256 one expiring in 20 days and an expired RSA one, each with
    its private key, minted for :data:`FIXED_NOW`; stopped at the end."""
    from .stands.tpm2 import StandUnavailable, Tpm2Stand, TpmCert

    names = ("TPM Holder", "TPM expiring EC", "TPM expired RSA")
    certs = dict(
        zip(
            ("valid-rsa", "expiring-ec", "expired-rsa"),
            _stand_certificates("TPM Test CA", names),
            strict=True,
        )
    )
    stand = Tpm2Stand(
        tmp_path_factory.mktemp("tpm2"),
        [TpmCert(label, m.der, m.key_pkcs8_der, m.key_type) for label, m in certs.items()],
    )
    try:
        stand.start()
    except StandUnavailable as exc:
        _stand_missing(exc)
    try:
        yield TpmToken(stand, certs)
    finally:
        stand.stop()
