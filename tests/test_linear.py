"""The work that grows with the certificates is linear, and each certificate is parsed
once (issue 12, item 3).

Proved by counting, never by the clock: the calls to each parser, and every Python and
built-in function call the whole way (inspection, relations, advice, text, JSON, the
check and the Prometheus metrics) for n and 5n certificates. A loop over all
certificates for each certificate would multiply the count by 25, not 5.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509

import ukeytool
from ukeytool.rendering.check import check_reports
from ukeytool.rendering.json import render_json
from ukeytool.rendering.prometheus import render_prometheus
from ukeytool.rendering.text import render_text
from ukeytool.testing.bulk import mint_many
from ukeytool.testing.fake import FakeBackend, FakeCertificate, FakeKey, FakeToken

from .conftest import FIXED_NOW


@pytest.fixture(scope="module")
def certificates() -> list[bytes]:
    """A CA and 1199 holders it issued, with SM2-less EC keys (quick to make), expiring
    over four years: expired, expiring and valid ones, each distinct."""
    return mint_many(
        1200,
        at=FIXED_NOW,
        organization="线性测试银行",
        ca_cn="Linear CA",
        expiry_days=lambda i: i % 1460 - 20,
    )


def _backend(ders: list[bytes]) -> FakeBackend:
    objects: list[FakeCertificate | FakeKey] = []
    for i, der in enumerate(ders):
        ident = i.to_bytes(4, "big")
        objects.append(FakeCertificate(der, label=f"cert {i}", id=ident))
        objects.append(FakeKey(key_class=3, id=ident, modulus=b"\x01" + ident))
    return FakeBackend([FakeToken(objects=objects)])


def _everything(backend: FakeBackend) -> None:
    report = ukeytool.inspect_backend(backend, at=FIXED_NOW)
    render_text([report], color=False)
    render_json([report], generated_at=FIXED_NOW)
    check_reports([report])
    render_prometheus([report])


@pytest.fixture
def parser_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many times each parser was asked to parse a certificate."""
    counts = {"cryptography": 0, "asn1crypto": 0}
    strict = x509.load_der_x509_certificate
    lenient = asn1_x509.Certificate.load

    def count_strict(data: bytes, *args: Any, **kwargs: Any) -> x509.Certificate:
        counts["cryptography"] += 1
        return strict(data, *args, **kwargs)

    def count_lenient(cls: type, data: bytes, *args: Any, **kwargs: Any) -> Any:
        counts["asn1crypto"] += 1
        return lenient(data, *args, **kwargs)

    monkeypatch.setattr(x509, "load_der_x509_certificate", count_strict)
    monkeypatch.setattr(asn1_x509.Certificate, "load", classmethod(count_lenient))
    return counts


def test_each_certificate_is_parsed_once_by_each_parser(
    certificates: list[bytes], parser_calls: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = _backend(certificates[:300])
    _everything(backend)
    # Clean certificates are read in one walk, without either parser (.plain) ...
    assert parser_calls == {"cryptography": 0, "asn1crypto": 0}
    # ... and when that reader declines, each parser parses each certificate once.
    monkeypatch.setattr("ukeytool.certificates.x509.read_plain", lambda *args: None)
    _everything(_backend(certificates[:300]))
    assert parser_calls == {"cryptography": 300, "asn1crypto": 300}


def _calls(work: Callable[[], object]) -> int:
    """Every Python and built-in function call ``work`` makes."""
    count = 0

    def profile(_frame: Any, event: str, _arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
    return count


def test_the_work_grows_linearly_with_the_certificates(certificates: list[bytes]) -> None:
    small, large = _backend(certificates[:200]), _backend(certificates[:1000])
    _everything(small)  # the first run imports and fills the caches
    ratio = _calls(lambda: _everything(large)) / _calls(lambda: _everything(small))
    # 5 for linear work plus a constant per token; 25 for quadratic. The issue allows
    # 5.5 times the time of n for 5n.
    assert ratio < 5.5, ratio
