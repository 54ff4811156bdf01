"""Every input costs bounded time and memory (issue 14): hostile files, certificate values
and tokens that once took minutes, gigabytes or hundreds of megabytes of output.

Speed is shown by growth (the time at 4n against n: about 4 for linear work, 16 for
quadratic) or by counted work, memory by tracemalloc's peak or the size of the output;
never by racing a tight wall clock. Each bound is generous: several times what the code
needs on a slow machine, and far below what the old code took.
"""

from __future__ import annotations

import dataclasses
import datetime
import gc
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms as asn1_cms
from asn1crypto import core as asn1_core
from asn1crypto import pkcs12 as asn1_pkcs12

import ukeytool
from ukeytool import CertificateEntry, FileReport, KeyObject, read_certificate
from ukeytool.certificates.asn1 import octets
from ukeytool.certificates.files import decrypt
from ukeytool.certificates.files.decrypt import MAX_ITERATIONS
from ukeytool.certificates.files.found import MAX_DEPTH, MAX_PARTS, MAX_UNREADABLE_IN_A_ROW
from ukeytool.cli import ExitCode
from ukeytool.judging.relations import relate
from ukeytool.judging.validity import judge
from ukeytool.rendering.json import render_files_json
from ukeytool.rendering.text import render_files_text
from ukeytool.testing.certs import Minted, to_pem, to_pkcs7, to_pkcs12

from .conftest import FIXED_NOW

DAY = datetime.timedelta(days=1)
PASSWORD = "s3cret-密码"
ENV = "UKEYTOOL_PKCS12_PASSWORD"


# --- helpers --------------------------------------------------------------------------


def best_time(work: Callable[[], object], repeat: int = 3) -> float:
    """The shortest of ``repeat`` runs: the least disturbed by other processes. The
    garbage collector is held off while each runs: its full passes grow with every
    object alive, which is the interpreter's cost, not the code's."""
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            work()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return min(times)


def growth(make: Callable[[int], Callable[[], object]], n: int) -> float:
    """Time at 4n over time at n (taken as at least 10 ms, so that noise does not rule):
    about 4 for linear work, 16 for quadratic; the tests ask for less than 8. A ratio
    above 6 is measured again, twice at most, and the least kept: a busy machine can
    slow one size's runs, but quadratic work is about 16 every time."""
    ratios: list[float] = []
    while len(ratios) < 3 and (not ratios or min(ratios) > 6):
        small = best_time(make(n))
        large = best_time(make(4 * n))
        ratios.append(large / max(small, 0.01))
    return min(ratios)


def peak_memory(work: Callable[[], object]) -> int:
    """The most memory Python held at once while ``work`` ran, in bytes."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def codes(report: FileReport) -> list[str | None]:
    return [getattr(p.message, "code", None) for p in report.problems]


def read(path: Path, **options: Any) -> FileReport:
    return ukeytool.inspect_file(path, at=FIXED_NOW, **options)


def everything(path: Path, **options: Any) -> tuple[FileReport, str, str]:
    """The report, its text listing and its JSON document."""
    report = read(path, **options)
    text = render_files_text([report], color=False)
    document = render_files_json([report], generated_at=FIXED_NOW)
    return report, text, document


@pytest.fixture(scope="module")
def leaf(mint_cached: Callable[..., Minted]) -> Minted:
    return mint_cached(
        subject_cn="bounded", not_before=FIXED_NOW - 10 * DAY, not_after=FIXED_NOW + 300 * DAY
    )


# --- PKCS#12 iteration counts ----------------------------------------------------------


def _with_mac_iterations(data: bytes, count: int) -> bytes:
    pfx = asn1_pkcs12.Pfx.load(data)
    pfx["mac_data"]["iterations"] = count
    return bytes(pfx.dump(force=True))


def _with_content_iterations(data: bytes, count: int) -> bytes:
    """``data`` without its MAC, and with every encrypted content's iteration count set
    to ``count``."""
    pfx = asn1_pkcs12.Pfx.load(data)
    contents = asn1_pkcs12.AuthenticatedSafe.load(octets(pfx["auth_safe"]["content"]))
    changed = []
    for info in contents:
        if info["content_type"].native == "encrypted_data":
            algorithm = info["content"]["encrypted_content_info"]["content_encryption_algorithm"]
            parameters = algorithm["parameters"]
            if algorithm["algorithm"].dotted == "1.2.840.113549.1.5.13":  # PBES2
                parameters["key_derivation_func"]["parameters"]["iteration_count"] = count
            else:
                parameters["iterations"] = count
            changed.append(info)
    assert changed, "no encrypted content to change"
    return _pfx(contents.dump(force=True))


def _pfx(authenticated_safe: bytes) -> bytes:
    """A PKCS#12 file of the AuthenticatedSafe ``authenticated_safe``, without a MAC."""
    content = asn1_core.OctetString(authenticated_safe)
    auth_safe = asn1_cms.ContentInfo({"content_type": "data", "content": content})
    return bytes(asn1_pkcs12.Pfx({"version": 3, "auth_safe": auth_safe}).dump())


@pytest.fixture
def no_kdf(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Records every key derivation ukeytool starts (there must be none)."""
    started: list[str] = []

    def pkcs12_kdf(*args: Any, **kwargs: Any) -> bytes:
        started.append("pkcs12")
        raise AssertionError("the PKCS#12 KDF ran")

    class Pbkdf2:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            started.append("pbkdf2")
            raise AssertionError("PBKDF2 ran")

    monkeypatch.setattr(decrypt, "_pkcs12_kdf", pkcs12_kdf)
    monkeypatch.setattr(decrypt, "PBKDF2HMAC", Pbkdf2)
    yield started
    assert started == []


@pytest.mark.parametrize("count", [MAX_ITERATIONS + 1, 2**31 - 1, 10**30])
def test_mac_iterations_beyond_the_cap_are_a_problem_and_no_kdf_runs(
    leaf: Minted, tmp_path: Path, no_kdf: list[str], count: int
) -> None:
    path = tmp_path / "mac.p12"
    path.write_bytes(_with_mac_iterations(to_pkcs12(leaf, password=PASSWORD), count))
    report = read(path, password=PASSWORD)
    (problem,) = [p for p in report.problems if p.where == "content"]
    assert problem.message.code == "file.pkcs12_too_many_iterations"  # type: ignore[union-attr]
    assert str(problem.message) == (
        f"the file asks for {count} iterations of its key derivation, more than ukeytool "
        f"runs (at most {MAX_ITERATIONS}); it was not decrypted"
    )
    assert not report.complete
    assert not any(p.where == "password" for p in report.problems)  # not a password's fault


@pytest.mark.parametrize(
    ("options", "what"),
    [
        ({}, "PBES2 (AES-256-CBC, OpenSSL's default)"),
        ({"cert_pbe": "PBE-SHA1-3DES"}, "legacy PKCS#12 PBE"),
    ],
)
def test_content_iterations_beyond_the_cap_without_a_mac(
    leaf: Minted, tmp_path: Path, no_kdf: list[str], options: dict[str, str], what: str
) -> None:
    path = tmp_path / "content.p12"
    data = to_pkcs12(leaf, password=PASSWORD, **options)
    path.write_bytes(_with_content_iterations(data, 2**31 - 1))
    report = read(path, password=PASSWORD)
    assert "file.pkcs12_too_many_iterations" in codes(report), (what, report.problems)
    assert not report.complete


def test_iterations_beyond_the_cap_are_not_handed_to_openssl(
    leaf: Minted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A scheme ukeytool does not decrypt itself goes to OpenSSL (cryptography's
    # load_pkcs12), which would run the file's count: it is checked before.
    from cryptography.hazmat.primitives.serialization import pkcs12 as openssl_pkcs12

    try:
        data = to_pkcs12(leaf, password=PASSWORD, legacy=True, cert_pbe="PBE-MD5-DES")
    except RuntimeError as exc:
        pytest.skip(f"this OpenSSL cannot make it: {exc}")

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("handed to OpenSSL")

    monkeypatch.setattr(openssl_pkcs12, "load_pkcs12", refuse)
    path = tmp_path / "md5-des.p12"
    path.write_bytes(_with_content_iterations(data, 2**31 - 1))
    report = read(path, password=PASSWORD)
    assert "file.pkcs12_too_many_iterations" in codes(report), report.problems


def test_the_cap_itself_is_run() -> None:
    # Only a count over the cap is refused (files under it open as before: the other
    # PKCS#12 tests).
    decrypt.check_iterations(MAX_ITERATIONS)
    with pytest.raises(decrypt.TooManyIterations):
        decrypt.check_iterations(MAX_ITERATIONS + 1)


def test_iteration_cap_from_the_command_line(leaf: Minted, tmp_path: Path, cli: Any) -> None:
    # Once 80 minutes (2^31 - 1 iterations of the pure-Python KDF); now no KDF runs at all.
    path = tmp_path / "mac.p12"
    path.write_bytes(_with_mac_iterations(to_pkcs12(leaf, password=PASSWORD), 2**31 - 1))
    code, out, err = cli("inspect-file", str(path), env={ENV: PASSWORD})
    assert code == ExitCode.INCOMPLETE, err
    assert "2147483647 iterations of its key derivation, more than ukeytool runs" in out


# --- entries per file ------------------------------------------------------------------


def test_a_megabyte_of_empty_sequences(tmp_path: Path) -> None:
    # Once 178 s, 2.8 GB and 109 MB of output.
    path = tmp_path / "zeros.der"
    path.write_bytes(b"\x30\x00" * (512 * 1024))
    report, text, document = everything(path)
    assert len(report.certificates) == MAX_UNREADABLE_IN_A_ROW
    assert codes(report) == ["file.too_many_parts", "file.unreadable_in_a_row"]
    assert str(report.problems[0].message) == (
        f"the file holds more than {MAX_PARTS} parts; only the first {MAX_PARTS} were read"
    )
    assert (
        str(report.problems[1].where) == f"DER certificate {MAX_UNREADABLE_IN_A_ROW + 1} (byte 200)"
    )
    assert not report.complete
    assert len(text) < 100_000
    assert len(document) < 1_000_000
    assert peak_memory(lambda: everything(path)) < 64 * 1024 * 1024


def test_a_pkcs7_of_a_hundred_thousand_entries(tmp_path: Path) -> None:
    # Once 26 s and 577 MB.
    path = tmp_path / "many.p7b"
    path.write_bytes(to_pkcs7([b"\x30\x00"] * 100_000))
    assert path.stat().st_size < 250_000
    report, text, document = everything(path)
    assert len(report.certificates) == MAX_UNREADABLE_IN_A_ROW
    assert codes(report) == ["file.too_many_parts", "file.unreadable_in_a_row"]
    assert len(text) + len(document) < 1_000_000
    assert peak_memory(lambda: everything(path)) < 64 * 1024 * 1024


def test_the_parts_cap_counts_real_certificates_too(leaf: Minted, tmp_path: Path) -> None:
    # 20,000 real certificates in PEM once took 232 s: the first MAX_PARTS are read.
    path = tmp_path / "many.pem"
    path.write_bytes(to_pem(leaf.der) * (MAX_PARTS + 10))
    report = read(path)
    assert len(report.certificates) == MAX_PARTS
    assert codes(report) == ["file.too_many_parts"]
    assert (
        report.certificates[-1].location
        == f"PEM block {MAX_PARTS} (line {1 + (MAX_PARTS - 1) * lines_per(leaf)})"
    )


def lines_per(minted: Minted) -> int:
    return to_pem(minted.der).count(b"\n")


def test_unreadable_certificates_in_a_row(leaf: Minted, tmp_path: Path) -> None:
    # A good certificate after a run shorter than the limit is still read.
    garbage = b"\x30\x03\x30\x01\x00"
    path = tmp_path / "mixed.der"
    path.write_bytes(garbage * MAX_UNREADABLE_IN_A_ROW + leaf.der + garbage * 1000 + leaf.der)
    report = read(path)
    statuses = [entry.status for entry in report.certificates]
    assert statuses[MAX_UNREADABLE_IN_A_ROW] is ukeytool.Status.VALID
    assert len(statuses) == 2 * MAX_UNREADABLE_IN_A_ROW + 1
    assert codes(report) == ["file.unreadable_in_a_row"]
    assert str(report.problems[0].message) == (
        f"after {MAX_UNREADABLE_IN_A_ROW} certificates in a row that could not be read, "
        "the rest of the file was not read"
    )


def _bag_of_bags(depth: int, certificate: bytes) -> bytes:
    """A PKCS#12 file (no password, no MAC) whose certificate is ``depth`` bags deep."""
    value = asn1_core.ParsableOctetString(certificate)
    bag = asn1_pkcs12.SafeBag(
        {
            "bag_id": "cert_bag",
            "bag_value": asn1_pkcs12.CertBag({"cert_id": "x509", "cert_value": value}),
        }
    )
    for _ in range(depth - 1):
        bag = asn1_pkcs12.SafeBag(
            {"bag_id": "safe_contents", "bag_value": asn1_pkcs12.SafeContents([bag])}
        )
    data = asn1_cms.ContentInfo(
        {"content_type": "data", "content": asn1_pkcs12.SafeContents([bag]).dump()}
    )
    return _pfx(asn1_pkcs12.AuthenticatedSafe([data]).dump())


def test_nesting_depth(leaf: Minted, tmp_path: Path) -> None:
    path = tmp_path / "deep.p12"
    path.write_bytes(_bag_of_bags(MAX_DEPTH, leaf.der))
    report = read(path)
    assert report.complete, report.problems
    assert len(report.certificates) == 1
    path.write_bytes(_bag_of_bags(MAX_DEPTH + 1, leaf.der))
    report = read(path)
    assert report.certificates == ()
    assert codes(report) == ["file.too_deep"]
    assert str(report.problems[0].message) == (
        f"containers nested more than {MAX_DEPTH} deep; the innermost were not read"
    )


def test_a_pkcs12_of_a_million_empty_bags_is_cut_at_the_cap(tmp_path: Path) -> None:
    safe = b"\x30\x84" + (2 * 500_000).to_bytes(4, "big") + b"\x30\x00" * 500_000
    data = asn1_cms.ContentInfo({"content_type": "data", "content": safe})
    pfx = _pfx(asn1_pkcs12.AuthenticatedSafe([data]).dump())
    path = tmp_path / "bags.p12"
    path.write_bytes(pfx)
    report, text, document = everything(path)
    assert "file.too_many_parts" in codes(report)
    assert len(text) + len(document) < 20_000_000
    assert peak_memory(lambda: read(path)) < 200 * 1024 * 1024


# --- scanning is linear ----------------------------------------------------------------

_EMPTY_BLOCK = b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"


def test_pem_blocks_are_scanned_linearly(tmp_path: Path) -> None:
    # 1 MB of empty blocks once took 15.7 s, 2 MB 48.8 s: newlines were counted from the
    # start of the file for every block. Under the cap, four times the blocks take
    # about four times as long.
    def make(n: int) -> Callable[[], object]:
        path = tmp_path / f"empty-{n}.pem"
        path.write_bytes(_EMPTY_BLOCK * n)
        return lambda: read(path)

    assert growth(make, MAX_PARTS // 4) < 8
    report = read(tmp_path / f"empty-{MAX_PARTS}.pem")
    assert str(report.problems[-1].where) == f"PEM block {MAX_PARTS} (line {2 * MAX_PARTS - 1})"


def test_a_megabyte_of_empty_pem_blocks_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "empty.pem"
    path.write_bytes(_EMPTY_BLOCK * (1024 * 1024 // len(_EMPTY_BLOCK)))
    report, text, _ = everything(path)
    assert codes(report)[-1] == "file.too_many_parts"
    assert len(text) < 100 * MAX_PARTS
    assert peak_memory(lambda: read(path)) < 64 * 1024 * 1024


@pytest.mark.parametrize(
    "unit",
    [
        b"-----BEGIN CERTIFICATE-----",
        b"-----BEGIN CERTIFICATE-----\n",
        b"-----BEGIN X509 CERTIFICATE-----xx-----END CERTIFICATE",
    ],
)
def test_a_certificate_value_of_pem_begin_lines_is_linear(unit: bytes) -> None:
    # One such CKA_VALUE of 1 MB once took the module past its 60 s timeout (a lazy
    # BEGIN(.*?)END pattern, quadratic): every token of the module was hidden.
    def make(n: int) -> Callable[[], object]:
        value = b" " + unit * (n // len(unit))
        return lambda: read_certificate(value)

    assert growth(make, 256 * 1024) < 8
    cert = read_certificate(b" " + unit * (1024 * 1024 // len(unit)))
    assert cert.error is not None


def test_indefinite_lengths_are_walked_linearly(tmp_path: Path) -> None:
    # BER's indefinite lengths once copied the rest of the file for every element.
    def make(n: int) -> Callable[[], object]:
        path = tmp_path / f"ber-{n}.der"
        path.write_bytes(b"\x30\x80\x30\x80\x00\x00\x00\x00" * n)
        return lambda: read(path)

    assert growth(make, 16 * 1024) < 8


# --- key matching and relations --------------------------------------------------------


def _token(
    template: Minted, n: int, *, same_names: bool = False
) -> tuple[list[CertificateEntry], list[KeyObject]]:
    """``n`` certificates, each with its private and public key object (CKA_ID and
    public key its own), made from one real certificate."""
    base = read_certificate(template.der)
    entries = []
    keys = []
    for i in range(n):
        public_key = b"\x01" + i.to_bytes(4, "big")
        ident = i.to_bytes(4, "big")
        cert = dataclasses.replace(
            base,
            sha256=f"{i:064x}",
            public_key=public_key,
            subject="CN=same" if same_names else f"CN=holder {i}",
            subject_cn="same" if same_names else f"holder {i}",
            issuer="CN=same" if same_names else f"CN=issuer {i}",
            subject_key_identifier=ident + b"s",
            authority_key_identifier=None if same_names else ident + b"a",
            self_signed=False,
        )
        entries.append(
            CertificateEntry(
                handle=i,
                label=None,
                id=ident,
                certificate_type=0,
                private=False,
                certificate=cert,
                validity=judge(cert, FIXED_NOW, 30),
            )
        )
        for handle, key_class in ((n + 2 * i, "private"), (n + 2 * i + 1, "public")):
            keys.append(
                KeyObject(
                    handle=handle,
                    key_class=key_class,
                    id=ident,
                    label=None,
                    key_type=None,
                    public_key_info=None,
                    modulus=public_key,
                    ec_point=None,
                )
            )
    return entries, keys


def test_key_matching_is_linear(leaf: Minted) -> None:
    # 10k certificates with 10k private and 10k public keys once took 22 s, twice that
    # 103 s (past the default timeout, and the message blamed the device).
    def make(n: int) -> Callable[[], object]:
        entries, keys = _token(leaf, n)
        return lambda: relate(entries, keys, keys_listed=True, logged_in=True)

    assert growth(make, 2500) < 8
    entries, keys = _token(leaf, 10_000)
    related = relate(entries, keys, keys_listed=True, logged_in=True)
    for entry in related[::997]:
        presence = entry.key_on_token
        assert presence is not None
        assert presence.state == "yes"
        assert [m.handle for m in presence.matches] == [
            10_000 + 2 * entry.handle,
            10_001 + 2 * entry.handle,
        ]
        assert presence.matches[0].by == ("id", "public_key")


def test_relations_of_many_certificates_of_one_name_are_linear(leaf: Minted) -> None:
    # Every certificate names the same issuer: the issuer of each is looked up once.
    def make(n: int) -> Callable[[], object]:
        entries, _ = _token(leaf, n, same_names=True)
        return lambda: relate(entries)

    assert growth(make, 2500) < 8


def test_sm2_halves_of_one_holder_are_paired_in_linear_time(leaf: Minted) -> None:
    base = read_certificate(leaf.der)

    def make(n: int) -> Callable[[], object]:
        entries = []
        for i in range(2 * n):
            cert = dataclasses.replace(
                base,
                sha256=f"{i:064x}",
                key_algorithm="SM2",
                key_usage=("digitalSignature",) if i % 2 else ("keyEncipherment",),
                subject="CN=holder",
                issuer="CN=sm2 ca",
                is_ca=False,
                self_signed=False,
                not_before=FIXED_NOW - (i // 2) * DAY,
            )
            entries.append(_entry(i, cert))
        made.append(entries)
        return lambda: relate(entries)

    made: list[list[CertificateEntry]] = []
    assert growth(make, 1000) < 8
    related = relate(made[-1])
    assert all(entry.pair is not None for entry in related)


def _entry(handle: int, cert: ukeytool.Certificate) -> CertificateEntry:
    return CertificateEntry(
        handle=handle,
        label=None,
        id=None,
        certificate_type=0,
        private=False,
        certificate=cert,
        validity=judge(cert, FIXED_NOW, 30),
    )


# --- output ----------------------------------------------------------------------------


def _trusted(der: bytes, alias: str) -> bytes:
    """An OpenSSL TRUSTED CERTIFICATE in PEM: the certificate, then X509_AUX with an
    alias."""
    import base64
    import textwrap

    aux = asn1_core.Sequence()
    aux.contents = asn1_core.UTF8String(alias).dump()
    body = base64.b64encode(der + aux.dump()).decode("ascii")
    text = "\n".join(textwrap.wrap(body, 64))
    return (
        f"-----BEGIN TRUSTED CERTIFICATE-----\n{text}\n-----END TRUSTED CERTIFICATE-----\n".encode()
    )


def test_one_long_cell_does_not_pad_every_row(leaf: Minted, tmp_path: Path) -> None:
    # A 1.3 MB PEM file once gave 100 MB of text: every row was padded to its longest
    # cell. Columns are padded to 64 at most; the long cell sticks out of its own row.
    path = tmp_path / "wide.pem"
    path.write_bytes(_trusted(leaf.der, "L" * 200_000) + to_pem(leaf.der) * 1000)
    size = path.stat().st_size
    assert size > 1_000_000
    report, text, _ = everything(path)
    assert report.certificates[0].label is not None
    assert len(text) < size
    rows = [line for line in text.splitlines() if line.startswith("    ") and "valid" in line]
    assert len(rows) == 1001
    assert max(len(row) for row in rows[1:]) < 300
    assert peak_memory(lambda: render_files_text([report], color=False)) < 64 * 1024 * 1024


def test_a_token_of_many_certificates_and_keys_is_listed_in_linear_time(leaf: Minted) -> None:
    # The whole way, as a module gives them: inspection, relations, text and JSON.
    from ukeytool.rendering.json import render_json
    from ukeytool.rendering.text import render_text
    from ukeytool.testing.fake import FakeBackend, FakeCertificate, FakeKey, FakeToken

    def make(n: int) -> Callable[[], object]:
        objects: list[FakeCertificate | FakeKey] = []
        for i in range(n):
            ident = i.to_bytes(4, "big")
            objects.append(FakeCertificate(leaf.der, label=f"cert {i}", id=ident))
            objects.append(FakeKey(key_class=3, id=ident, modulus=b"\x01" + ident))
            objects.append(FakeKey(key_class=2, id=ident, modulus=b"\x01" + ident))
        backend = FakeBackend([FakeToken(objects=objects)])

        def work() -> object:
            report = ukeytool.inspect_backend(backend, at=FIXED_NOW)
            render_text([report], color=False)
            return render_json([report], generated_at=FIXED_NOW)

        return work

    assert growth(make, 250) < 8
