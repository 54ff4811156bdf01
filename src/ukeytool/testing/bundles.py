"""Certificates in the files bank software keeps on disk: PEM, PKCS#7 and PKCS#12.

:func:`to_pkcs7` builds a certs-only PKCS#7 bundle itself (so it can hold broken
certificates as they are); :func:`to_pkcs12` has ``openssl pkcs12 -export`` make the
real thing (legacy RC2 and SM2/SM4 included when the local OpenSSL has them).
"""

from __future__ import annotations

import base64
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ._openssl import in_temp_dir, openssl
from .der import oid_tlv, tlv

if TYPE_CHECKING:
    from .certs import Minted

__all__ = ["to_pem", "to_pkcs7", "to_pkcs12"]


def to_pem(der: bytes) -> bytes:
    """The certificate as PEM text (``-----BEGIN CERTIFICATE-----``), lines of 64."""
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode("ascii"), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n".encode("ascii")


def to_pkcs7(ders: Sequence[bytes], *, pem: bool = False) -> bytes:
    """A certs-only PKCS#7 SignedData holding ``ders`` as they are (broken ones too), DER
    or, with ``pem``, PEM text (``-----BEGIN PKCS7-----``), as ``openssl crl2pkcs7
    -nocrl`` writes it."""
    certificates = b"".join(ders)
    signed_data = tlv(
        0x30,
        tlv(0x02, b"\x01")  # version 1
        + tlv(0x31, b"")  # no digest algorithms
        + tlv(0x30, oid_tlv("1.2.840.113549.1.7.1"))  # no content
        + tlv(0xA0, certificates)
        + tlv(0x31, b""),  # no signer infos
    )
    der = tlv(0x30, oid_tlv("1.2.840.113549.1.7.2") + tlv(0xA0, signed_data))
    if not pem:
        return der
    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode("ascii"), 64))
    return f"-----BEGIN PKCS7-----\n{body}\n-----END PKCS7-----\n".encode("ascii")


def to_pkcs12(
    certificate: Minted,
    *,
    password: str = "",
    with_key: bool = True,
    extra: Sequence[bytes] = (),
    name: str | None = None,
    legacy: bool = False,
    key_pbe: str | None = None,
    cert_pbe: str | None = None,
    mac: str | None = None,
) -> bytes:
    """A PKCS#12 file made by ``openssl pkcs12 -export``: ``certificate`` (with its private
    key unless ``with_key`` is false) and the ``extra`` certificates (DER).

    ``password`` goes to openssl through its environment, never its arguments. ``name``
    is the friendlyName; ``legacy`` asks for OpenSSL's ``-legacy`` encryption (40-bit
    RC2 for the certificates, 3DES for the key; needs the legacy provider); ``key_pbe``,
    ``cert_pbe`` and ``mac`` are openssl's ``-keypbe``, ``-certpbe`` and ``-macalg``
    (``"NONE"`` for no encryption; ``mac="NONE"`` for no MAC). Raises RuntimeError when
    openssl cannot make it (the message is openssl's).
    """

    def run(work: Path) -> bytes:
        (work / "cert.pem").write_bytes(to_pem(certificate.der))
        args = ["pkcs12", "-export", "-in", "cert.pem", "-out", "out.p12"]
        args += ["-passout", "env:UKEYTOOL_TEST_PKCS12_PASSWORD"]
        if with_key:
            key = base64.b64encode(certificate.key_pkcs8_der).decode("ascii")
            body = "\n".join(textwrap.wrap(key, 64))
            (work / "key.pem").write_text(
                f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n"
            )
            args += ["-inkey", "key.pem"]
        else:
            args.append("-nokeys")
        if extra:
            (work / "extra.pem").write_bytes(b"".join(to_pem(der) for der in extra))
            args += ["-certfile", "extra.pem"]
        if name is not None:
            args += ["-name", name]
        if legacy:
            args.append("-legacy")
        for option, value in (("-keypbe", key_pbe), ("-certpbe", cert_pbe)):
            if value is not None:
                args += [option, value]
        if mac == "NONE":
            args.append("-nomac")
        elif mac is not None:
            args += ["-macalg", mac]
        openssl(work, *args, env={"UKEYTOOL_TEST_PKCS12_PASSWORD": password})
        return (work / "out.p12").read_bytes()

    return in_temp_dir(run)
