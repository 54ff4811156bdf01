"""A demo SoftHSM store that looks like an ICBC U盾: ``python -m ukeytool.testing.demo DIR``.

The one token is labelled 工行U盾 in GBK bytes (as Chinese vendor modules write it), user
PIN 1234, and holds, relative to the day the demo is built:

- an RSA-2048 / sha256WithRSA certificate that expires in about a year, with its private
  key (same CKA_ID ``01``);
- an RSA-1024 / sha1WithRSA certificate that expired about a month ago;
- an SM2 / SM3withSM2 signing and encryption pair for the same subject, expiring in about
  20 days, issued by an SM2 demo CA, labelled 签名证书 / 加密证书 in GBK;
- the RSA demo CA's certificate, with no key and no CKA_ID.

Every run wipes ``DIR/tokens`` first, so running it again gives a fresh store with dates
relative to the new day. The holder's ID number is an obviously fake Z000000000000000000.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import sys
from collections.abc import Sequence
from pathlib import Path

from ukeytool.testing.certs import Minted, mint, mint_ca
from ukeytool.testing.softhsm import (
    CertObject,
    CreatedToken,
    PrivateKeyObject,
    SoftHSMError,
    SoftHSMNotFound,
    SoftHSMStore,
    TokenSpec,
)

__all__ = ["DEMO_TOKEN_LABEL", "DEMO_USER_PIN", "DemoStore", "build_demo", "main"]

DEMO_TOKEN_LABEL = "工行U盾".encode("gbk")
"""The demo token's label: GBK bytes ``b9a4 d0d0 55 b6dc``, not UTF-8."""
DEMO_USER_PIN = "1234"
"""The demo token's user PIN."""
DEMO_SO_PIN = "12345678"
"""The demo token's security officer PIN."""

_DAY = datetime.timedelta(days=1)
_YEAR = 365 * _DAY
# CFCA's personal certificate subject shape; the ID number is deliberately impossible.
_HOLDER_CN = "051@张三@Z000000000000000000@{seq}"
_HOLDER_OU = ("Individual-1", "Local RA")
_HOLDER_O = "CFCA OCA1"


@dataclasses.dataclass(frozen=True)
class DemoStore:
    """What :func:`build_demo` built."""

    store: SoftHSMStore
    """The store (its ``conf_path`` is what ``SOFTHSM2_CONF`` must name)."""
    token: CreatedToken
    """The one demo token."""


def _demo_objects(now: datetime.datetime) -> list[CertObject | PrivateKeyObject]:
    """Mint the demo certificates around ``now`` and describe the token's objects."""

    def authority(name: str, key: str) -> Minted:
        return mint_ca(
            name,
            at=now,
            before=6 * _YEAR,
            after=14 * _YEAR,
            key=key,
            organization="UKEYTOOL DEMO Certification Authority",
        )

    rsa_ca = authority("UKEYTOOL DEMO OCA1", "rsa2048")
    sm2_ca = authority("UKEYTOOL DEMO SM2 OCA1", "sm2")

    def holder(
        seq: str,
        *,
        not_before: datetime.datetime,
        not_after: datetime.datetime,
        issuer: Minted,
        key: str = "rsa2048",
        hash: str = "sha256",
        key_usage: tuple[str, ...] = ("digitalSignature", "nonRepudiation"),
    ) -> Minted:
        return mint(
            subject_cn=_HOLDER_CN.format(seq=seq),
            organization=_HOLDER_O,
            organizational_units=_HOLDER_OU,
            not_before=not_before,
            not_after=not_after,
            issuer=issuer,
            key=key,
            hash=hash,
            key_usage=key_usage,
        )

    # Five-year certificates, as ICBC issues them, at different points of their life.
    current = holder("0002", not_before=now - 4 * _YEAR, not_after=now + _YEAR, issuer=rsa_ca)
    expired = holder(
        "0001",
        not_before=now - 5 * _YEAR - 30 * _DAY,
        not_after=now - 30 * _DAY,
        issuer=rsa_ca,
        key="rsa1024",
        hash="sha1",
    )
    # The SM2 pair shares one subject and one validity; only the key usage differs.
    sm2_from, sm2_until = now - 5 * _YEAR + 20 * _DAY, now + 20 * _DAY
    sm2_sign = holder(
        "0003",
        not_before=sm2_from,
        not_after=sm2_until,
        issuer=sm2_ca,
        key="sm2",
        hash="sm3",
        key_usage=("digitalSignature", "nonRepudiation"),
    )
    sm2_enc = holder(
        "0003",
        not_before=sm2_from,
        not_after=sm2_until,
        issuer=sm2_ca,
        key="sm2",
        hash="sm3",
        key_usage=("keyEncipherment", "dataEncipherment", "keyAgreement"),
    )

    return [
        CertObject(current.der, label="ICBC RSA2048", id=b"\x01"),
        PrivateKeyObject(current.key_pkcs8_der, label="ICBC RSA2048", id=b"\x01"),
        CertObject(expired.der, label="ICBC RSA1024 old", id=b"\x02"),
        CertObject(sm2_sign.der, label="签名证书".encode("gbk"), id=b"\x03"),
        CertObject(sm2_enc.der, label="加密证书".encode("gbk"), id=b"\x04"),
        CertObject(rsa_ca.der, label="UKEYTOOL DEMO OCA1"),
    ]


def build_demo(directory: Path, now: datetime.datetime) -> DemoStore:
    """Build the demo store in ``directory``, replacing any tokens a previous run left.

    ``now`` must be timezone-aware; the certificates' dates are fixed offsets from it.
    """
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    store = SoftHSMStore(directory)
    objects = _demo_objects(now)  # before reset(): a minting failure keeps the old store
    store.reset()
    token = store.add_token(
        TokenSpec(
            label=DEMO_TOKEN_LABEL,
            so_pin=DEMO_SO_PIN,
            user_pin=DEMO_USER_PIN,
            objects=objects,
        )
    )
    return DemoStore(store, token)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m ukeytool.testing.demo",
        description="Build a SoftHSM2 store holding one demo banking key (工行U盾).",
    )
    parser.add_argument("directory", type=Path, metavar="DIR", help="where to put the store")
    args = parser.parse_args(argv)
    # The only place the demo reads the clock: everything else is relative to this.
    now = datetime.datetime.now(datetime.timezone.utc)
    try:
        demo = build_demo(args.directory, now)
    except (SoftHSMNotFound, SoftHSMError, OSError) as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    store, token = demo.store, demo.token
    print(f"Demo store: {store.directory}")
    print(
        f"Token 工行U盾 (GBK label bytes {token.label.hex()}), serial {token.serial}, "
        f"user PIN {DEMO_USER_PIN}"
    )
    print("5 certificates (valid ~1 year, expired ~30 days ago, SM2 pair expiring in ~20 days,")
    print("a CA certificate) and 1 private key.")
    print()
    command = ukeytool_command()
    print("Use it with:")
    print(f"  export SOFTHSM2_CONF={store.conf_path}")
    print(f"  {command} list-tokens --module {store.module_path}")
    print(f"  pkcs11-tool --module {store.module_path} --list-slots")
    if command != "ukeytool":
        activate = Path(command).parent / "activate"
        print(f"(or '. {activate}' once, then plain 'ukeytool')")
    return 0


def ukeytool_command() -> str:
    """How to run the ukeytool installed beside the running Python: ``.venv/bin/ukeytool``
    under ``make demo`` (relative to the current directory when it is inside it, else
    absolute), or ``ukeytool`` when there is none beside it (then it is on the PATH, or
    not installed)."""
    script = Path(sys.executable).parent / "ukeytool"
    if not script.is_file():
        return "ukeytool"
    try:
        return str(script.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(script.absolute())


if __name__ == "__main__":
    sys.exit(main())
