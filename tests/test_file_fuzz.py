"""The file reader against damaged files (issue 14), beside the certificate reader's own
property test (tests/test_certificate.py): PEM, DER, PKCS#7 and PKCS#12 files, each
changed at random (bytes overwritten, inserted, deleted, repeated; the file cut short),
are read without an exception, within a bounded time per file, into a report whose text
and JSON can be written and hold nothing raw.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ukeytool
from ukeytool import FileReport
from ukeytool.certificates.files.found import MAX_PARTS
from ukeytool.i18n.message import Message
from ukeytool.model.text import needs_escape
from ukeytool.rendering.json import render_files_json
from ukeytool.rendering.text import render_files_text
from ukeytool.testing.certs import Minted, mint_ca, to_pem, to_pkcs7, to_pkcs12

from .conftest import FIXED_NOW

DAY = datetime.timedelta(days=1)
PASSWORD = "fuzz-密码"


@dataclasses.dataclass(frozen=True)
class Corpus:
    files: dict[str, bytes]


@pytest.fixture(scope="module")
def corpus(mint_cached: Callable[..., Minted]) -> Corpus:
    ca = mint_cached(mint_ca, "Fuzz CA", at=FIXED_NOW)
    leaf = mint_cached(
        subject_cn="051@模糊@Z000000000000000000@0001",
        not_before=FIXED_NOW - 10 * DAY,
        not_after=FIXED_NOW + 300 * DAY,
        issuer=ca,
    )
    files = {
        "pem": to_pem(leaf.der) + to_pem(ca.der),
        "der": leaf.der,
        "der-chain": leaf.der + ca.der,
        "p7b": to_pkcs7([leaf.der, ca.der]),
        "p7b-pem": to_pkcs7([leaf.der, ca.der], pem=True),
        "p12": to_pkcs12(leaf, password=PASSWORD, extra=[ca.der], name="签名证书"),
        "p12-no-password": to_pkcs12(leaf, extra=[ca.der]),
        "p12-3des": to_pkcs12(leaf, password=PASSWORD, cert_pbe="PBE-SHA1-3DES"),
    }
    return Corpus(files)


def damage(data: bytes, draw: st.DataObject) -> bytes:
    damaged = bytearray(data)
    for _ in range(draw.draw(st.integers(1, 4), label="changes")):
        kind = draw.draw(st.sampled_from(["byte", "insert", "delete", "repeat", "cut"]))
        position = draw.draw(st.integers(0, max(0, len(damaged) - 1)), label="position")
        if kind == "byte" and damaged:
            damaged[position] = draw.draw(st.integers(0, 255), label="value")
        elif kind == "insert":
            damaged[position:position] = draw.draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            size = draw.draw(st.integers(1, 64), label="size")
            del damaged[position : position + size]
        elif kind == "repeat":
            size = draw.draw(st.integers(1, 256), label="size")
            times = draw.draw(st.integers(2, 200), label="times")
            damaged[position:position] = bytes(damaged[position : position + size]) * times
        else:
            damaged = damaged[:position]
    return bytes(damaged)


def check(report: FileReport) -> None:
    assert isinstance(report, FileReport)
    assert len(report.certificates) <= MAX_PARTS
    for problem in report.problems:
        assert isinstance(problem.message, Message)
        assert isinstance(problem.where, Message | str)
    text = render_files_text([report], color=False)
    assert [ch for ch in text if ch != "\n" and needs_escape(ch)] == []
    document = render_files_json([report], generated_at=FIXED_NOW)
    document.encode("utf-8")  # strict: no lone surrogate
    (file,) = json.loads(document)["files"]
    assert len(file["certificates"]) == len(report.certificates)


@settings(
    max_examples=300,
    # Bounded per file: a damaged iteration count may ask for up to the cap (10 million
    # rounds, a few seconds per password tried); nothing takes longer.
    deadline=datetime.timedelta(seconds=60),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_damaged_files_are_read_without_an_exception(corpus: Corpus, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(corpus.files)), label="file")
    damaged = damage(corpus.files[name], data)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "damaged"
        path.write_bytes(damaged)
        check(ukeytool.inspect_file(path, at=FIXED_NOW, password=PASSWORD))


@settings(
    max_examples=60,
    deadline=datetime.timedelta(seconds=60),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.binary(max_size=2048), head=st.sampled_from([b"", b"\x30", b"-----BEGIN "]))
def test_random_bytes_are_read_without_an_exception(data: bytes, head: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "random"
        path.write_bytes(head + data)
        check(ukeytool.inspect_file(path, at=FIXED_NOW, password=PASSWORD))
