"""The certificate reader's quick ways give what the general ways give (issue 12).

A certificate cryptography takes is taken apart by offsets (``certificates.parts``), a
plain Name by offsets (``names._plain_attributes``) and plain TLVs without asn1crypto's
parser (``asn1.definite``); anything they do not expect goes the general way. Each
certificate below is read both ways, and the two readings must be equal in every field
and problem.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable

import pytest

from ukeytool.certificates import asn1, fields, names, parts, x509
from ukeytool.certificates.x509 import read_certificate
from ukeytool.model import Certificate
from ukeytool.testing.certs import (
    BMP_STRING,
    identity_code,
    mint,
    with_extension,
    with_gbk_subject_cn,
    with_long_form_length,
    with_subject_value,
)
from ukeytool.testing.der import (
    with_key_algorithm,
    with_negative_serial,
    with_nonminimal_serial,
    with_signature_algorithm,
)

UTC = datetime.timezone.utc
NOT_BEFORE = datetime.datetime(2029, 1, 1, tzinfo=UTC)
NOT_AFTER = datetime.datetime(2031, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def samples() -> dict[str, bytes]:
    ec = mint(
        subject_cn="051@张三@Z11010519491231002X@0001",
        key="ec-p256",
        organization="CFCA OCA1",
        organizational_units=("Individual-1", "Local RA"),
        not_before=NOT_BEFORE,
        not_after=NOT_AFTER,
    )
    ca = mint(
        subject_cn="Fast CA",
        key="rsa1024",
        is_ca=True,
        key_usage=("keyCertSign", "cRLSign"),
        not_before=NOT_BEFORE,
        not_after=NOT_AFTER,
    )
    leaf = mint(
        subject_cn="leaf",
        key="ec-p256",
        issuer=ca,
        hash="sha1",
        country=None,
        key_identifiers=False,
        not_before=NOT_BEFORE,
        not_after=NOT_AFTER,
    )
    sm2 = mint(
        subject_cn="sm2 holder",
        key="sm2",
        hash="sm3",
        key_usage=("keyEncipherment",),
        not_before=NOT_BEFORE,
        not_after=NOT_AFTER,
    )
    with_number = with_extension(ec.der, "1.2.156.10260.4.1.1", identity_code("11010519491231002X"))
    return {
        "ec": ec.der,
        "ca": ca.der,
        "leaf": leaf.der,
        "sm2": sm2.der,
        "identity number": with_number,
        "critical identity number": with_extension(
            ec.der, "1.2.86.11.7.1", b"\x13\x03abc", critical=True
        ),
        "gbk cn": with_gbk_subject_cn(ec.der, "张三"),
        "bmp cn": with_subject_value(ec.der, "李四".encode("utf-16-be"), tag=BMP_STRING),
        "integer cn": with_subject_value(ec.der, b"\x05", tag=0x02),
        "long form": with_long_form_length(ec.der),
        "negative serial": with_negative_serial(ec.der),
        "nonminimal serial": with_nonminimal_serial(ec.der),
        "signature mismatch": with_signature_algorithm(ec.der, "1.2.840.10045.4.3.3"),
        "unknown key": with_key_algorithm(ec.der, "1.2.3.4.5"),
        "trailing byte": ec.der + b"\x00",
        "truncated": ec.der[:200],
    }


def _general(monkeypatch: pytest.MonkeyPatch) -> None:
    never: Callable[..., None] = lambda *args, **kwargs: None  # noqa: E731
    monkeypatch.setattr(x509, "split", never)
    monkeypatch.setattr(names, "_plain_attributes", never)
    monkeypatch.setattr(asn1, "definite", never)


def test_both_ways_read_the_same(
    samples: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    quick: dict[str, Certificate] = {name: read_certificate(der) for name, der in samples.items()}
    assert parts.split(samples["ec"]) is not None  # the quick way is taken
    _general(monkeypatch)
    assert parts.split(samples["ec"]) is not None
    for name, der in samples.items():
        assert read_certificate(der) == quick[name], name


def test_an_issuer_read_once_is_read_the_same_again(
    samples: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The issuer name of a clean certificate is kept by its DER (certificates.fields
    # ._ISSUERS): the next certificate of that issuer, and the same one read again, must
    # read as they read without it, in every field and problem.
    dates = {"not_before": NOT_BEFORE, "not_after": NOT_AFTER}
    ca = mint(subject_cn="Issuer CA", key="ec-p256", is_ca=True, **dates)
    leaves = {
        f"leaf {i}": mint(subject_cn=f"holder {i}", key="ec-p256", issuer=ca, **dates).der
        for i in range(3)
    }
    everything = {**samples, **leaves}
    fields._ISSUERS.clear()
    first = {name: read_certificate(der) for name, der in everything.items()}
    assert parts.split(leaves["leaf 0"]).issuer in fields._ISSUERS  # type: ignore[union-attr]
    again = {name: read_certificate(der) for name, der in everything.items()}
    monkeypatch.setattr(fields, "_remember_issuer", lambda *args: None)
    fields._ISSUERS.clear()
    alone = {name: read_certificate(der) for name, der in everything.items()}
    assert not fields._ISSUERS
    for name in everything:
        assert first[name] == again[name] == alone[name], name
    assert alone["leaf 1"].issuer == "CN=Issuer CA,C=CN"
