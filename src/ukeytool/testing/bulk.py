"""Many certificates at once, for tests and benchmarks of large tokens: a CA and
thousands of holders it issued, made with cryptography's CertificateBuilder on EC P-256
keys (quick to make by the thousand). The dates are the caller's, as in
:mod:`ukeytool.testing.certs`."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = ["mint_many"]


def mint_many(
    count: int,
    *,
    at: datetime.datetime,
    organization: str,
    ca_cn: str,
    expiry_days: Callable[[int], int],
    holder_cn: Callable[[int], str] = "持有人 {}".format,
    not_before_days: int = 30,
    ca_not_before_days: int | None = None,
    key_identifiers: bool = True,
    key_per_holder: bool = False,
) -> list[bytes]:
    """The DER of a CA (first, serial 1, valid ten years after ``at``) and ``count - 1``
    holders it issued (serial ``1000 + i``), by the thousand: EC P-256 and SHA-256,
    names ``C=CN, O=organization, CN=...``, BasicConstraints (critical) and, with
    ``key_identifiers``, the subject's and the authority's key identifiers. Holder ``i``
    (from 1) is called ``holder_cn(i)`` and expires ``expiry_days(i)`` days after
    ``at``; everything was valid from ``not_before_days`` days before ``at`` (the CA from
    ``ca_not_before_days``, when given). The holders share one key unless
    ``key_per_holder`` (a key each is slower to make)."""

    def name(cn: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                x509.NameAttribute(NameOID.COMMON_NAME, cn),
            ]
        )

    day = datetime.timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name(ca_cn)
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski)

    def build(subject: x509.Name, key: Any, serial: int, days: int, before: int) -> bytes:
        ca = serial == 1
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(key)
            .serial_number(serial)
            .not_valid_before(at - before * day)
            .not_valid_after(at + days * day)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if key_identifiers:
            ski = x509.SubjectKeyIdentifier.from_public_key(key)
            builder = builder.add_extension(ski, critical=False)
            if not ca:
                builder = builder.add_extension(aki, critical=False)
        certificate = builder.sign(ca_key, hashes.SHA256())
        return certificate.public_bytes(serialization.Encoding.DER)

    ca_before = not_before_days if ca_not_before_days is None else ca_not_before_days
    ders = [build(ca_name, ca_key.public_key(), 1, 3650, ca_before)]
    shared_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    for i in range(1, count):
        key = ec.generate_private_key(ec.SECP256R1()).public_key() if key_per_holder else shared_key
        ders.append(build(name(holder_cn(i)), key, 1000 + i, expiry_days(i), not_before_days))
    return ders
