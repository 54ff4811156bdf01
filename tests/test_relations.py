"""What belongs together on a token, and findings (issue #3 items 5 and 6).

The corpus is minted here, at test time, by every tool the project has: cryptography's
CertificateBuilder (RSA chains with key identifiers), asn1crypto with a separate signature
(chains without key identifiers, SHA-1 and MD5 signatures), the ``openssl`` command line
(``openssl ca``: its own encoding, MD5 and SHA-1, an RSA-1024 key) and SM2 pairs through
``openssl`` (keys and SM3withSM2 signatures). It goes onto one SoftHSM token with key
objects, and is checked through the library, the text listing, the JSON (against the
schema) and the check. Pure-function tests cover what a token cannot show easily.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import pytest

from ukeytool import read_certificate
from ukeytool.cli import ExitCode, main
from ukeytool.judging.relations import KEY_SEARCH_UNFINISHED, relate, relate_slot
from ukeytool.judging.validity import judge
from ukeytool.model import (
    CertificateEntry,
    KeyObject,
    LoginOutcome,
    LoginState,
    Report,
    Role,
    Severity,
    SlotReport,
)
from ukeytool.pkcs11.inspect import inspect
from ukeytool.rendering.check import CheckState, check_reports, check_to_dict
from ukeytool.rendering.json import render_json
from ukeytool.rendering.text import render_text
from ukeytool.testing.certs import Minted, mint, mint_ca, mint_openssl
from ukeytool.testing.softhsm import (
    CertObject,
    PrivateKeyObject,
    PublicKeyObject,
    SoftHSMStore,
    TokenObject,
    TokenSpec,
)

from .conftest import FIXED_NOW
from .factories import make_module_info, make_slot_info, make_token_info, sentence, t
from .test_cli import schema_validator

DAY = datetime.timedelta(days=1)
NOW = FIXED_NOW
AT = ["--at", "2030-01-01T00:00:00Z"]


# -- the corpus ---------------------------------------------------------------------


def _corpus() -> dict[str, Minted]:
    c: dict[str, Minted] = {}
    # An RSA chain linked by key identifiers (cryptography's builder).
    c["root"] = mint_ca("Rel Root CA", at=NOW, before=1000 * DAY)
    c["inter"] = mint_ca(
        "Rel Intermediate CA",
        at=NOW,
        before=900 * DAY,
        after=100 * DAY,  # before its children: ca-expires-before-child
        issuer=c["root"],
    )
    leaf: dict[str, Any] = {
        "not_before": NOW - 10 * DAY,
        "not_after": NOW + 365 * DAY,
        "issuer": c["inter"],
    }
    c["leaf_pub_id"] = mint(subject_cn="pub-by-id", **leaf)
    c["leaf_pub_key"] = mint(subject_cn="pub-by-key", **leaf)
    c["leaf_private"] = mint(subject_cn="private-only", **leaf)
    c["leaf_mismatch"] = mint(subject_cn="mismatch", **leaf)
    c["no_ku"] = mint(subject_cn="no-key-usage", key_usage=(), **leaf)
    c["enc_only"] = mint(
        subject_cn="encrypt-only",
        key_usage=("keyEncipherment",),
        **leaf,
    )
    # A chain without key identifiers, linked by name (asn1crypto + a separate signature).
    c["name_root"] = mint_ca(
        "Name Root CA", at=NOW, before=1000 * DAY, key_identifiers=False, hash="sha1"
    )
    c["name_leaf_md5"] = mint(
        subject_cn="md5-leaf",
        not_before=NOW - 10 * DAY,
        not_after=NOW + 365 * DAY,
        issuer=c["name_root"],
        key_identifiers=False,
        hash="md5",
    )
    # Made by the openssl command line: an MD5 self-signed root, an RSA-1024 SHA-1 leaf.
    c["ossl_root"] = mint_openssl(
        subject_cn="OpenSSL Root CA",
        not_before=NOW - 1000 * DAY,
        not_after=NOW + 3000 * DAY,
        is_ca=True,
        key_usage=("keyCertSign", "cRLSign"),
        key_identifiers=False,
        digest="md5",
    )
    c["ossl_leaf"] = mint_openssl(
        subject_cn="openssl-leaf",
        not_before=NOW - 10 * DAY,
        not_after=NOW + 365 * DAY,
        issuer=c["ossl_root"],
        key="rsa1024",
        digest="sha1",
        key_identifiers=False,
    )
    # SM2: a CA, a signing + encryption pair with distinct expiries, a lone encryption one.
    c["sm2_ca"] = mint_ca("Rel SM2 CA", at=NOW, before=1000 * DAY, key="sm2")
    sm2: dict[str, Any] = {
        "key": "sm2",
        "hash": "sm3",
        "issuer": c["sm2_ca"],
        "not_before": NOW - 10 * DAY,
    }
    c["sm2_sign"] = mint(
        subject_cn="王五",
        not_after=NOW + 300 * DAY,
        key_usage=("digitalSignature", "nonRepudiation"),
        **sm2,
    )
    c["sm2_enc"] = mint(
        subject_cn="王五",
        not_after=NOW + 200 * DAY,
        key_usage=("keyEncipherment", "dataEncipherment", "keyAgreement"),
        **sm2,
    )
    c["sm2_lone_enc"] = mint(
        subject_cn="赵六",
        not_after=NOW + 200 * DAY,
        key_usage=("keyEncipherment", "dataEncipherment"),
        **sm2,
    )
    # Self-signed, not a CA.
    c["self"] = mint(
        subject_cn="self-made",
        not_before=NOW - 10 * DAY,
        not_after=NOW + 365 * DAY,
        is_ca=False,
    )
    return c


@dataclasses.dataclass(frozen=True)
class Corpus:
    store: SoftHSMStore
    serial: str
    certs: dict[str, Minted]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    certs = _corpus()
    other = mint(subject_cn="other", not_before=NOW - DAY, not_after=NOW + DAY)
    objects: list[TokenObject] = [
        CertObject(certs["root"].der, label="root"),
        CertObject(certs["inter"].der, label="inter"),
        CertObject(certs["leaf_pub_id"].der, label="pub-by-id", id=b"\x11"),
        PublicKeyObject(certs["leaf_pub_id"].public_key_der, label="pub-by-id", id=b"\x11"),
        PrivateKeyObject(certs["leaf_pub_id"].key_pkcs8_der, label="pub-by-id", id=b"\x11"),
        CertObject(certs["leaf_pub_key"].der, label="pub-by-key", id=b"\x12"),
        PublicKeyObject(certs["leaf_pub_key"].public_key_der, label="other-id", id=b"\x99"),
        CertObject(certs["leaf_private"].der, label="private-only", id=b"\x13"),
        PrivateKeyObject(certs["leaf_private"].key_pkcs8_der, label="private-only", id=b"\x13"),
        CertObject(certs["leaf_mismatch"].der, label="mismatch", id=b"\x14"),
        PublicKeyObject(other.public_key_der, label="mismatch", id=b"\x14"),
        CertObject(certs["no_ku"].der, label="no-ku", id=b"\x15"),
        CertObject(certs["enc_only"].der, label="enc-only", id=b"\x16"),
        CertObject(certs["name_root"].der, label="name-root"),
        CertObject(certs["name_leaf_md5"].der, label="md5-leaf", id=b"\x17"),
        CertObject(certs["ossl_root"].der, label="ossl-root"),
        CertObject(certs["ossl_leaf"].der, label="ossl-leaf", id=b"\x18"),
        CertObject(certs["sm2_ca"].der, label="sm2-ca"),
        CertObject(certs["sm2_sign"].der, label="sm2-sign", id=b"\x21"),
        PublicKeyObject(certs["sm2_sign"].public_key_der, label="sm2-sign", id=b"\x21"),
        CertObject(certs["sm2_enc"].der, label="sm2-enc", id=b"\x22"),
        CertObject(certs["sm2_lone_enc"].der, label="lone-enc", id=b"\x23"),
        CertObject(certs["self"].der, label="self", id=b"\x24"),
    ]
    store = SoftHSMStore(tmp_path_factory.mktemp("relations"))
    token = store.add_token(TokenSpec(label="relations", objects=objects))
    return Corpus(store, token.serial, certs)


@pytest.fixture
def corpus_env(corpus: Corpus, monkeypatch: pytest.MonkeyPatch) -> Corpus:
    monkeypatch.setenv("SOFTHSM2_CONF", str(corpus.store.conf_path))
    monkeypatch.delenv("PKCS11_MODULE", raising=False)
    return corpus


def _slot(report: Report, serial: str) -> SlotReport:
    return next(s for s in report.slots if s.token is not None and s.token.serial.value == serial)


def _by_label(slot: SlotReport) -> dict[str, CertificateEntry]:
    return {e.label.value: e for e in slot.certificates if e.label is not None}


@pytest.fixture
def token(corpus_env: Corpus) -> dict[str, CertificateEntry]:
    report = inspect(str(corpus_env.store.module_path), at=NOW)
    return _by_label(_slot(report, corpus_env.serial))


def _findings(entry: CertificateEntry) -> list[tuple[str, Severity]]:
    return [(f.code, f.severity) for f in entry.findings]


# -- end to end through SoftHSM: the library ----------------------------------------


@pytest.mark.softhsm
def test_roles(token: dict[str, CertificateEntry]) -> None:
    roles = {label: entry.role for label, entry in token.items()}
    assert roles == {
        "root": Role.ROOT,
        "inter": Role.INTERMEDIATE,
        "pub-by-id": Role.END_ENTITY,
        "pub-by-key": Role.END_ENTITY,
        "private-only": Role.END_ENTITY,
        "mismatch": Role.END_ENTITY,
        "no-ku": Role.END_ENTITY,
        "enc-only": Role.END_ENTITY,
        "name-root": Role.ROOT,
        "md5-leaf": Role.END_ENTITY,
        "ossl-root": Role.ROOT,
        "ossl-leaf": Role.END_ENTITY,
        "sm2-ca": Role.ROOT,
        "sm2-sign": Role.END_ENTITY,
        "sm2-enc": Role.END_ENTITY,
        "lone-enc": Role.END_ENTITY,
        "self": Role.SELF_SIGNED,
    }


@pytest.mark.softhsm
def test_issuer_links(token: dict[str, CertificateEntry]) -> None:
    def issuer(label: str) -> tuple[str, str] | None:
        link = token[label].issued_by
        if link is None:
            return None
        assert link.label is not None
        target = token[link.label.value]
        assert link.handle == target.handle
        assert target.certificate is not None
        assert link.sha256 == target.certificate.sha256
        assert link.subject_cn == target.certificate.subject_cn
        return link.label.value, link.by

    for root in ("root", "name-root", "ossl-root", "sm2-ca", "self"):
        assert issuer(root) is None, root
    assert issuer("inter") == ("root", "key_identifier")
    for leaf in ("pub-by-id", "pub-by-key", "private-only", "mismatch", "no-ku", "enc-only"):
        assert issuer(leaf) == ("inter", "key_identifier"), leaf
    # no key identifiers: asn1crypto-built and openssl-built chains link by name
    assert issuer("md5-leaf") == ("name-root", "name")
    assert issuer("ossl-leaf") == ("ossl-root", "name")
    for sm2 in ("sm2-sign", "sm2-enc", "lone-enc"):
        assert issuer(sm2) == ("sm2-ca", "key_identifier"), sm2


@pytest.mark.softhsm
def test_sm2_pair_with_its_earliest_expiry(token: dict[str, CertificateEntry]) -> None:
    sign, enc = token["sm2-sign"], token["sm2-enc"]
    assert sign.pair is not None
    assert enc.pair is not None
    assert sign.pair.usage == "signing"
    assert enc.pair.usage == "encryption"
    assert sign.pair.partner.handle == enc.handle
    assert enc.pair.partner.handle == sign.handle
    assert sign.pair.partner.by == "subject_and_issuer"
    # the encryption half expires first (200 days, the signing half 300): the pair with it
    assert enc.certificate is not None
    assert sign.certificate is not None
    assert sign.pair.not_after == enc.pair.not_after == enc.certificate.not_after
    assert sign.pair.days_left == enc.pair.days_left == 200
    assert sign.days_left == 300
    # the encryption half cannot sign, and in a pair it need not: no finding
    assert enc.findings == ()
    assert sign.findings == ()
    # an encryption certificate without its signing partner is a finding
    lone = token["lone-enc"]
    assert lone.pair is None
    assert _findings(lone) == [("no-signing-key-usage", Severity.WARNING)]
    assert "signing certificate is not on this token" in str(lone.findings[0].message)
    assert lone.findings[0].message.code == "finding.no_signing_key_usage_sm2"  # type: ignore[union-attr]
    # RSA certificates are not paired
    assert all(token[x].pair is None for x in ("enc-only", "pub-by-id", "root"))


@pytest.mark.softhsm
def test_key_presence_without_login(token: dict[str, CertificateEntry]) -> None:
    def presence(label: str) -> tuple[str, str, list[tuple[str, str | None, tuple[str, ...]]]]:
        key = token[label].key_on_token
        assert key is not None
        matches = [(m.key_class, m.label.value if m.label else None, m.by) for m in key.matches]
        return key.state, key.private_key, matches

    # a public key object with the same CKA_ID and public key; its private key is hidden
    assert presence("pub-by-id") == (
        "yes",
        "unknown",
        [("public", "pub-by-id", ("id", "public_key"))],
    )
    # the same public key under another CKA_ID
    assert presence("pub-by-key") == ("yes", "unknown", [("public", "other-id", ("public_key",))])
    # the private key is on the token, but without login nobody can see it: unknown, not no
    assert presence("private-only") == ("unknown", "unknown", [])
    reason = str(token["private-only"].key_on_token.reason)  # type: ignore[union-attr]
    assert "without login" in reason
    # SM2: the EC point, DER-wrapped in CKA_EC_POINT, matches the certificate's
    assert presence("sm2-sign") == (
        "yes",
        "unknown",
        [("public", "sm2-sign", ("id", "public_key"))],
    )
    assert presence("sm2-enc") == ("unknown", "unknown", [])
    # the same CKA_ID but another key is no match, and a finding
    assert presence("mismatch") == ("unknown", "unknown", [])
    assert ("key-id-mismatch", Severity.WARNING) in _findings(token["mismatch"])


@pytest.mark.softhsm
def test_findings(token: dict[str, CertificateEntry]) -> None:
    expiry = ("ca-expires-before-child", Severity.WARNING)
    assert _findings(token["root"]) == []
    assert _findings(token["inter"]) == []
    assert _findings(token["pub-by-id"]) == [expiry]
    assert _findings(token["enc-only"]) == [("no-signing-key-usage", Severity.WARNING), expiry]
    assert _findings(token["no-ku"]) == [expiry, ("no-key-usage", Severity.INFO)]
    assert _findings(token["md5-leaf"]) == [("md5-signature", Severity.CRITICAL)]
    assert _findings(token["ossl-leaf"]) == [
        ("weak-rsa-key", Severity.WARNING),
        ("sha1-signature", Severity.WARNING),
    ]
    # a self-signed certificate's own signature protects nothing: a note only
    assert _findings(token["ossl-root"]) == [("md5-signature", Severity.INFO)]
    assert _findings(token["name-root"]) == [("sha1-signature", Severity.INFO)]
    assert _findings(token["self"]) == []
    message = str(token["pub-by-id"].findings[0].message)
    assert '"Rel Intermediate CA"' in message
    assert "2030-04-11" in message
    assert "265 days before it" in message
    # findings do not touch the validity status
    assert token["md5-leaf"].status.value == "valid"


# -- end to end: the command line ---------------------------------------------------


@pytest.mark.softhsm
def test_list_tokens_text(corpus_env: Corpus, capsys: pytest.CaptureFixture[str]) -> None:
    module = str(corpus_env.store.module_path)
    code = main(["list-tokens", "--module", module, *AT, "--serial", corpus_env.serial])
    out, err = capsys.readouterr()
    assert code == ExitCode.OK, err
    lines = out.splitlines()

    def under(label: str) -> list[str]:
        """The lines under a certificate's row, up to the next row."""
        start = next(i for i, line in enumerate(lines) if line.startswith(f"    {label} "))
        rest = []
        for line in lines[start + 1 :]:
            if not line.startswith("      ") or line.strip().startswith("renewal:"):
                break  # (renewal advice follows the relations: docs/renewal.md)
            rest.append(line.strip())
        return rest

    assert under("root") == ["root CA"]
    assert under("inter") == ['intermediate CA, issued by "root" (key identifier)']
    assert under("pub-by-id") == [
        'end entity, issued by "inter" (key identifier); key: yes (public key object, same '
        "CKA_ID and public key); private key: unknown (not logged in)",
        '[warning] ca-expires-before-child: its issuer "Rel Intermediate CA" is valid only '
        "until 2030-04-11, 265 days before it: it stops validating then, unless the issuer's "
        "CA certificate is renewed",
    ]
    assert under("pub-by-key")[0].endswith(
        "key: yes (public key object, same public key); private key: unknown (not logged in)"
    )
    assert under("private-only")[0].endswith("; key: unknown (not logged in)")
    assert under("md5-leaf") == [
        'end entity, issued by "name-root" (name); key: unknown (not logged in)',
        "[critical] md5-signature: signed with MD5 (md5WithRSAEncryption), which can be "
        "forged: ask the issuer for one signed with SHA-256 or SM3",
    ]
    assert under("sm2-sign") == [
        'end entity, issued by "sm2-ca" (key identifier); SM2 signing half, paired with '
        '"sm2-enc" (pair expires 2030-07-20, 200 days); key: yes (public key object, same '
        "CKA_ID and public key); private key: unknown (not logged in)"
    ]
    assert under("sm2-enc") == [
        'end entity, issued by "sm2-ca" (key identifier); SM2 encryption half, paired with '
        '"sm2-sign" (pair expires 2030-07-20, 200 days); key: unknown (not logged in)'
    ]
    assert under("ossl-root") == [
        "root CA",
        "[info] md5-signature: self-signed with MD5 (md5WithRSAEncryption): harmless, a "
        "self-signed certificate is trusted as it is, not for its signature",
    ]
    assert under("self") == ["self-signed; key: unknown (not logged in)"]
    assert lines[-1] == "17 certificates: 17 valid; 12 findings to act on (1 critical, 11 warnings)"


@pytest.mark.softhsm
def test_list_tokens_json(corpus_env: Corpus, capsys: pytest.CaptureFixture[str]) -> None:
    module = str(corpus_env.store.module_path)
    code = main(["list-tokens", "--module", module, *AT, "--json", "--serial", corpus_env.serial])
    out, err = capsys.readouterr()
    assert code == ExitCode.OK, err
    doc = json.loads(out)
    schema_validator().validate(doc)
    (token,) = [s["token"] for m in doc["modules"] for s in m["slots"] if s["token"]]
    certs = {c["label"]: c for c in token["certificates"]}
    inter, leaf = certs["inter"], certs["pub-by-id"]
    assert leaf["role"] == "end_entity"
    assert leaf["issued_by"]["handle"] == inter["handle"]
    assert leaf["issued_by"]["sha256"] == inter["sha256"]
    assert leaf["issued_by"]["by"] == "key_identifier"
    assert leaf["authority_key_identifier"] == inter["subject_key_identifier"]
    assert leaf["key_on_token"]["state"] == "yes"
    assert leaf["key_on_token"]["private_key"] == "unknown"
    assert leaf["key_on_token"]["matches"][0]["key_class"] == "public"
    assert leaf["key_on_token"]["matches"][0]["by"] == ["id", "public_key"]
    assert leaf["findings"][0]["code"] == "ca-expires-before-child"
    assert leaf["findings"][0]["severity"] == "warning"
    sign = certs["sm2-sign"]
    assert sign["pair"]["partner"]["handle"] == certs["sm2-enc"]["handle"]
    assert sign["pair"]["usage"] == "signing"
    assert sign["pair"]["not_after"] == certs["sm2-enc"]["not_after"]
    assert sign["pair"]["days_left"] == 200
    assert certs["md5-leaf"]["findings"] == [
        {
            "code": "md5-signature",
            "severity": "critical",
            "message": certs["md5-leaf"]["findings"][0]["message"],
            "message_code": "finding.signed_weak_hash",
        }
    ]
    assert certs["root"]["role"] == "root"
    assert certs["root"]["issued_by"] is None
    assert certs["self"]["role"] == "self_signed"


@pytest.mark.softhsm
def test_check(corpus_env: Corpus, capsys: pytest.CaptureFixture[str]) -> None:
    module = str(corpus_env.store.module_path)
    code = main(["check", "--module", module, *AT, "--serial", corpus_env.serial])
    out, err = capsys.readouterr()
    # everything is valid for months; the MD5-signed certificate makes it WARNING
    assert code == CheckState.WARNING, out + err
    first, *details = out.splitlines()
    assert first.startswith("UKEYTOOL WARNING - 1 critical finding, 17 ok | ")
    assert details[0] == (
        "[WARNING] certificate md5-leaf@relations: critical finding md5-signature: signed "
        "with MD5 (md5WithRSAEncryption), which can be forged: ask the issuer for one signed "
        "with SHA-256 or SM3"
    )
    assert (
        "[OK] certificate ossl-leaf@relations: warning finding weak-rsa-key: RSA key of 1024 "
        "bits (under 2048), which can be broken: replace the certificate with one for a "
        "longer key"
    ) in details
    # the signing half of the pair says by when the pair must be renewed
    sign = next(line for line in details if line.startswith("[OK] certificate sm2-sign@"))
    assert sign.endswith(
        "; its SM2 pair must be renewed by 2030-07-20 00:00 UTC, when its encryption half expires"
    )
    code = main(
        ["check", "--module", module, *AT, "--serial", corpus_env.serial, "--format", "json"]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == CheckState.WARNING
    codes = {(f["certificate"], f["code"], f["state"]) for f in doc["findings"]}
    assert ("md5-leaf@relations", "md5-signature", "WARNING") in codes
    assert ("ossl-leaf@relations", "sha1-signature", "OK") in codes


# -- pure functions: what a token cannot show easily ----------------------------------


def _entry(
    der: bytes, handle: int, *, ident: bytes | None = None, label: str | None = None
) -> CertificateEntry:
    cert = read_certificate(der)
    return CertificateEntry(
        handle=handle,
        label=None if label is None else t(label),
        id=ident,
        certificate_type=0,
        private=False,
        certificate=cert,
        validity=judge(cert, NOW, 30),
    )


def _key(
    handle: int,
    key_class: str = "private",
    ident: bytes | None = None,
    *,
    modulus: bytes | None = None,
    ec_point: bytes | None = None,
    spki: bytes | None = None,
) -> KeyObject:
    return KeyObject(
        handle=handle,
        key_class=key_class,
        id=ident,
        label=None,
        key_type=None,
        public_key_info=spki,
        modulus=modulus,
        ec_point=ec_point,
    )


def _key_bits(spki: bytes) -> bytes:
    """The BIT STRING's octets of a SubjectPublicKeyInfo (an EC point, or RSAPublicKey)."""
    from asn1crypto import core

    return bytes(core.load(spki)[1].contents[1:])


def _modulus(spki: bytes) -> bytes:
    from asn1crypto import keys

    n = int(keys.RSAPublicKey.load(_key_bits(spki))["modulus"].native)
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


@pytest.fixture(scope="module")
def rsa_leaf() -> Minted:
    return mint(subject_cn="leaf", not_before=NOW - DAY, not_after=NOW + 100 * DAY)


@pytest.fixture(scope="module")
def sm2_ca() -> Minted:
    return mint(
        subject_cn="SM2 CA",
        not_before=NOW - 1000 * DAY,
        not_after=NOW + 1000 * DAY,
        key="sm2",
        hash="sm3",
        is_ca=True,
        key_usage=("keyCertSign",),
    )


def _presence(entry: CertificateEntry) -> tuple[str, str, list[tuple[int, tuple[str, ...]]]]:
    key = entry.key_on_token
    assert key is not None
    return key.state, key.private_key, [(m.handle, m.by) for m in key.matches]


def test_key_presence_after_login(rsa_leaf: Minted) -> None:
    entry = _entry(rsa_leaf.der, 1, ident=b"\x01")
    modulus = _modulus(rsa_leaf.public_key_der)
    private = _key(10, "private", b"\x01", modulus=modulus)
    public = _key(11, "public", b"\x01", modulus=modulus)
    stranger = _key(12, "private", b"\x02", modulus=b"\x01" * 256)

    (found,) = relate([entry], [public, private, stranger], keys_listed=True, logged_in=True)
    # private keys first, whatever the token's order
    assert _presence(found) == (
        "yes",
        "yes",
        [(10, ("id", "public_key")), (11, ("id", "public_key"))],
    )
    assert found.key_on_token is not None
    assert (
        str(found.key_on_token.reason)
        == "its private key is on the token (same CKA_ID and same public key)"
    )

    # after login, with the search complete, no private key: "no", even with a public key
    (missing,) = relate([entry], [public, stranger], keys_listed=True, logged_in=True)
    assert _presence(missing) == ("no", "no", [(11, ("id", "public_key"))])
    # without login the same token says yes (the public key object), private unknown
    (hidden,) = relate([entry], [public, stranger], keys_listed=True, logged_in=False)
    assert _presence(hidden) == ("yes", "unknown", [(11, ("id", "public_key"))])
    # logged in, but the key search did not finish: never "no"
    (partial,) = relate([entry], [stranger], keys_listed=False, logged_in=True)
    assert _presence(partial) == ("unknown", "unknown", [])
    assert partial.key_on_token is not None
    assert str(partial.key_on_token.reason).startswith("the key search did not finish")
    assert partial.key_on_token.reason.code == KEY_SEARCH_UNFINISHED  # type: ignore[union-attr]
    # no keys at all, not logged in
    (nothing,) = relate([entry])
    assert _presence(nothing) == ("unknown", "unknown", [])


def test_key_matching_details(rsa_leaf: Minted, sm2_ca: Minted) -> None:
    sm2 = _entry(sm2_ca.der, 1, ident=b"")
    rsa = _entry(rsa_leaf.der, 2, ident=b"")
    point = _key_bits(sm2_ca.public_key_der)
    assert point[:1] == b"\x04"
    assert len(point) == 65
    keys = [
        # empty CKA_IDs on both sides say nothing
        _key(10, "private", b""),
        # a bare EC point (some modules leave out the OCTET STRING)
        _key(11, "public", None, ec_point=point),
        # CKA_PUBLIC_KEY_INFO only
        _key(12, "private", None, spki=sm2_ca.public_key_der),
        # a modulus with a leading zero octet
        _key(13, "public", None, modulus=b"\x00" + _modulus(rsa_leaf.public_key_der)),
        # garbage in every attribute matches nothing and breaks nothing
        _key(14, "public", b"", ec_point=b"\x04\x05", spki=b"\x30\x00", modulus=b""),
    ]
    found_sm2, found_rsa = relate([sm2, rsa], keys, keys_listed=True, logged_in=True)
    assert _presence(found_sm2) == ("yes", "yes", [(12, ("public_key",)), (11, ("public_key",))])
    assert _presence(found_rsa) == ("no", "no", [(13, ("public_key",))])


def test_unreadable_certificates(rsa_leaf: Minted) -> None:
    garbage = _entry(b"not a certificate", 1, ident=b"\x07", label="garbage")
    missing = dataclasses.replace(garbage, handle=2, certificate=None)
    key = _key(10, "private", b"\x07")
    out = relate(
        [garbage, missing, _entry(rsa_leaf.der, 3)], [key], keys_listed=True, logged_in=True
    )
    for entry in out[:2]:
        assert entry.role is Role.UNKNOWN
        assert entry.issued_by is None
        assert entry.pair is None
        assert entry.findings == ()
        # the key still matches by CKA_ID
        assert _presence(entry) == ("yes", "yes", [(10, ("id",))])
    assert out[2].role is Role.SELF_SIGNED


def test_renewed_ca_with_the_same_name() -> None:
    old = mint(
        subject_cn="Renewed CA",
        not_before=NOW - 3000 * DAY,
        not_after=NOW + 10 * DAY,
        is_ca=True,
        key_usage=("keyCertSign",),
    )
    new = mint(
        subject_cn="Renewed CA",
        not_before=NOW - 100 * DAY,
        not_after=NOW + 3000 * DAY,
        is_ca=True,
        key_usage=("keyCertSign",),
    )
    # the old CA key certifies the new one: self-issued, not self-signed (a rollover)
    rollover = mint(
        subject_cn="Renewed CA",
        not_before=NOW - 100 * DAY,
        not_after=NOW + 5 * DAY,
        is_ca=True,
        key_usage=("keyCertSign",),
        issuer=old,
    )
    child = mint(subject_cn="child", not_before=NOW - DAY, not_after=NOW + 365 * DAY, issuer=new)
    entries = [_entry(m.der, i) for i, m in enumerate([old, rollover, new, child])]
    old_e, rollover_e, new_e, child_e = relate(entries)
    # the old CA comes first and has the right name, but the key identifier says no
    assert child_e.issued_by is not None
    assert (child_e.issued_by.handle, child_e.issued_by.by) == (2, "key_identifier")
    assert child_e.findings == ()
    assert old_e.role is Role.ROOT
    assert new_e.role is Role.ROOT
    assert rollover_e.role is Role.INTERMEDIATE
    assert rollover_e.issued_by is not None
    assert rollover_e.issued_by.handle == 0
    assert old_e.issued_by is None
    assert rollover_e.findings == ()  # it ends before the old CA does


def test_duplicates_and_cycles() -> None:
    root = mint(
        subject_cn="Dup Root",
        not_before=NOW - DAY,
        not_after=NOW + 100 * DAY,
        is_ca=True,
        key_usage=("keyCertSign",),
    )
    leaf = mint(subject_cn="leaf", not_before=NOW - DAY, not_after=NOW + 50 * DAY, issuer=root)
    entries = [_entry(root.der, 1), _entry(root.der, 2), _entry(leaf.der, 3)]
    first, second, child = relate(entries)
    # a copy of a certificate is not its own issuer; the child links to the first copy
    assert first.role is second.role is Role.ROOT
    assert first.issued_by is None
    assert second.issued_by is None
    assert child.issued_by is not None
    assert child.issued_by.handle == 1
    # cross-certified CAs without key identifiers: A issued by B and B by A
    a = mint(
        subject_cn="A",
        not_before=NOW - DAY,
        not_after=NOW + 10 * DAY,
        is_ca=True,
        key_usage=("keyCertSign",),
        key_identifiers=False,
    )
    b = mint(
        subject_cn="B",
        not_before=NOW - DAY,
        not_after=NOW + 20 * DAY,
        is_ca=True,
        key_usage=("keyCertSign",),
        key_identifiers=False,
        issuer=a,
    )
    a_by_b = mint(
        subject_cn="A",
        not_before=NOW - DAY,
        not_after=NOW + 30 * DAY,
        is_ca=True,
        key_usage=("keyCertSign",),
        key_identifiers=False,
        issuer=b,
    )
    x, y = relate([_entry(b.der, 1), _entry(a_by_b.der, 2)])
    assert x.issued_by is not None
    assert x.issued_by.handle == 2
    assert y.issued_by is not None
    assert y.issued_by.handle == 1
    assert x.role is y.role is Role.INTERMEDIATE
    assert _findings(y) == [("ca-expires-before-child", Severity.WARNING)]
    assert _findings(x) == []
    # relating again changes nothing
    assert relate([x, y]) == (x, y)


def test_sm2_pairs_after_renewal(sm2_ca: Minted) -> None:
    def half(usage: tuple[str, ...], start: int, end: int, cn: str = "王五") -> Minted:
        return mint(
            subject_cn=cn,
            not_before=NOW + start * DAY,
            not_after=NOW + end * DAY,
            key="sm2",
            hash="sm3",
            issuer=sm2_ca,
            key_usage=usage,
        )

    sign, enc = ("digitalSignature",), ("keyEncipherment", "dataEncipherment")
    old_sign, old_enc = half(sign, -800, -70), half(enc, -800, -71)
    new_sign, new_enc = half(sign, -60, 300), half(enc, -60, 301)
    both = half(("digitalSignature", "keyEncipherment"), -60, 300)
    other_sign = half(sign, -60, 300, cn="someone else")
    entries = [
        _entry(m.der, i)
        for i, m in enumerate([new_sign, old_enc, both, old_sign, other_sign, new_enc])
    ]
    out = relate(entries)
    partners = {e.handle: e.pair.partner.handle for e in out if e.pair is not None}
    # the halves issued together pair up, whatever the token's order
    assert partners == {0: 5, 5: 0, 1: 3, 3: 1}
    assert out[0].pair is not None
    assert out[0].pair.days_left == 300
    assert out[3].pair is not None
    assert out[3].pair.days_left == -71
    # a certificate for both signing and encryption, or another subject's, is no half
    assert out[2].pair is None
    assert out[4].pair is None


@pytest.mark.parametrize(
    ("size", "severity"),
    [
        (512, Severity.CRITICAL),
        (1023, Severity.CRITICAL),
        (1024, Severity.WARNING),
        (2047, Severity.WARNING),
        (2048, None),
    ],
)
def test_rsa_key_sizes(rsa_leaf: Minted, size: int, severity: Severity | None) -> None:
    entry = _entry(rsa_leaf.der, 1)
    assert entry.certificate is not None
    entry = dataclasses.replace(
        entry, certificate=dataclasses.replace(entry.certificate, key_size=size)
    )
    (out,) = relate([entry])
    expected = [] if severity is None else [("weak-rsa-key", severity)]
    assert [(c, s) for c, s in _findings(out) if c == "weak-rsa-key"] == expected


@pytest.mark.parametrize(
    ("oid", "code", "severity"),
    [
        ("1.2.840.113549.1.1.2", "obsolete-signature-hash", Severity.CRITICAL),
        ("1.2.840.113549.1.1.3", "obsolete-signature-hash", Severity.CRITICAL),
        ("1.2.840.113549.1.1.4", "md5-signature", Severity.CRITICAL),
        ("1.2.840.113549.1.1.5", "sha1-signature", Severity.WARNING),
        ("1.3.14.3.2.29", "sha1-signature", Severity.WARNING),
        ("1.2.840.10045.4.1", "sha1-signature", Severity.WARNING),
        ("1.2.840.10040.4.3", "sha1-signature", Severity.WARNING),
        ("1.2.840.113549.1.1.11", None, None),
        ("1.2.156.10197.1.501", None, None),
    ],
)
def test_signature_algorithms(
    oid: str, code: str | None, severity: Severity | None, sm2_ca: Minted
) -> None:
    leaf = mint(
        subject_cn="sig", not_before=NOW - DAY, not_after=NOW + DAY, key="sm2", hash="sm3",
        issuer=sm2_ca,
    )  # fmt: skip
    entries = []
    for handle, der in enumerate((leaf.der, sm2_ca.der)):
        entry = _entry(der, handle)
        assert entry.certificate is not None
        cert = dataclasses.replace(entry.certificate, signature_algorithm_oid=oid)
        entries.append(dataclasses.replace(entry, certificate=cert))
    leaf_out, root_out = relate(entries)
    assert _findings(leaf_out) == ([] if code is None else [(code, severity)])
    # on a root the same signature is a note
    assert _findings(root_out) == ([] if code is None else [(code, Severity.INFO)])


def test_certificate_fields(rsa_leaf: Minted, sm2_ca: Minted) -> None:
    rsa = read_certificate(rsa_leaf.der)
    assert rsa.public_key_info == rsa_leaf.public_key_der
    assert rsa.public_key == _modulus(rsa_leaf.public_key_der)
    assert rsa.subject_key_identifier is not None
    assert len(rsa.subject_key_identifier) == 20
    assert rsa.authority_key_identifier == rsa.subject_key_identifier  # self-signed
    sm2 = read_certificate(sm2_ca.der)
    assert sm2.public_key == _key_bits(sm2_ca.public_key_der)
    bare = read_certificate(
        mint(subject_cn="x", not_before=NOW, not_after=NOW + DAY, key_identifiers=False).der
    )
    assert bare.subject_key_identifier is None
    assert bare.authority_key_identifier is None
    assert bare.problems == ()
    # a SubjectKeyIdentifier that is not an OCTET STRING: a problem, the rest still read
    ski = rsa.subject_key_identifier
    broken = rsa_leaf.der.replace(b"\x04\x14" + ski, b"\x03\x14" + ski)
    assert broken != rsa_leaf.der
    cert = read_certificate(broken)
    assert cert.error is None
    assert cert.subject_cn == "leaf"
    assert cert.subject_key_identifier is None
    assert any(p.where == "subject_key_identifier" for p in cert.problems)
    assert cert.authority_key_identifier == ski


def test_relate_slot_and_renderers_without_relations(rsa_leaf: Minted) -> None:
    entry = _entry(rsa_leaf.der, 1, ident=b"\x01", label="leaf")
    slot = SlotReport(
        make_slot_info(),
        make_token_info(),
        (entry,),
        keys=(_key(5, "private", b"\x01"),),
        keys_listed=True,
        login=LoginOutcome(LoginState.LOGGED_IN, sentence("logged in")),
    )
    related = relate_slot(slot)
    assert related.certificates[0].role is Role.SELF_SIGNED
    assert _presence(related.certificates[0]) == ("yes", "yes", [(5, ("id",))])
    report = Report(module=make_module_info(), slots=(slot,), at=NOW, warn_days=30)
    # a hand-built entry (no relations worked out) renders as before: no extra lines
    text = render_text([report], color=False)
    assert "self-signed" not in text
    assert "key:" not in text
    doc = json.loads(render_json([report], generated_at=NOW))
    schema_validator().validate(doc)
    (cert,) = doc["modules"][0]["slots"][0]["token"]["certificates"]
    assert cert["role"] is None
    assert cert["key_on_token"] is None
    assert cert["findings"] == []
    related_report = dataclasses.replace(report, slots=(related,))
    text = render_text([related_report], color=False)
    assert "      self-signed; key: yes (private key, same CKA_ID)\n" in text
    # what each state and each missing part look like
    entry = related.certificates[0]
    variants = {
        "key: no (no private key after login)": relate([entry], keys_listed=True, logged_in=True),
        "key: unknown (key search incomplete)": relate([entry], keys_listed=False, logged_in=True),
        "key: unknown (not logged in)": relate([entry], keys_listed=True),
    }
    for expected, entries in variants.items():
        one = dataclasses.replace(related, certificates=entries)
        text = render_text([dataclasses.replace(report, slots=(one,))], color=False)
        assert f"      self-signed; {expected}\n" in text


def test_check_warning_findings_stay_ok() -> None:
    weak = mint(
        subject_cn="weak", not_before=NOW - DAY, not_after=NOW + 100 * DAY, hash="sha1",
        issuer=mint(subject_cn="ca", not_before=NOW - DAY, not_after=NOW + 999 * DAY,
                    is_ca=True, key_usage=("keyCertSign",)),
    )  # fmt: skip
    slot = SlotReport(make_slot_info(), make_token_info(), relate([_entry(weak.der, 1)]))
    report = Report(module=make_module_info(), slots=(slot,), at=NOW, warn_days=30)
    result = check_reports([report])
    # a warning finding is shown, and stays OK
    assert result.state is CheckState.OK
    assert result.summary == "1 ok"
    (finding,) = result.findings
    assert (finding.code, finding.severity, finding.state) == (
        "sha1-signature", Severity.WARNING, CheckState.OK,
    )  # fmt: skip
    assert check_to_dict(result)["findings"][0]["state"] == "OK"
    assert any(line.startswith("[OK] certificate weak@") for line in result.details())


def test_check_masks_findings() -> None:
    # a finding may name the issuer; issuer names can carry ID numbers like any name
    ca = mint(
        subject_cn="051@张三@Z110101199001011234@0001", not_before=NOW - DAY,
        not_after=NOW + DAY, is_ca=True, key_usage=("keyCertSign",),
    )  # fmt: skip
    leaf = mint(subject_cn="leaf", not_before=NOW - DAY, not_after=NOW + 50 * DAY, issuer=ca)
    entries: Sequence[CertificateEntry] = relate([_entry(ca.der, 1), _entry(leaf.der, 2)])
    slot = SlotReport(make_slot_info(), make_token_info(), tuple(entries))
    report = Report(module=make_module_info(), slots=(slot,), at=NOW, warn_days=30)
    assert "110101199001011234" in str(entries[1].findings[0].message)
    masked = check_reports([report])
    assert "110101199001011234" not in masked.output()
    assert "110101199001011234" in check_reports([report], show_personal_data=True).output()


@pytest.mark.parametrize("serial", [0x1, 0xABC, 0x1234])
def test_mint_openssl(serial: int) -> None:
    # odd and even numbers of hex digits: openssl's serial file wants whole octets
    root = mint_openssl(
        subject_cn="O Root",
        not_before=NOW - DAY,
        not_after=NOW + DAY,
        is_ca=True,
        key_usage=("keyCertSign",),
        digest="md5",
        serial=serial,
    )
    leaf = mint_openssl(
        subject_cn="o-leaf",
        not_before=NOW - 2 * DAY,
        not_after=NOW + 2 * DAY,
        issuer=root,
        key="rsa1024",
        key_identifiers=False,
    )
    r, c = read_certificate(root.der), read_certificate(leaf.der)
    assert (r.serial, r.signature_algorithm, r.subject, r.self_signed) == (
        f"{serial:x}", "md5WithRSAEncryption", "CN=O Root,C=CN", True,
    )  # fmt: skip
    assert r.subject_key_identifier is not None
    assert (c.not_before, c.not_after) == (NOW - 2 * DAY, NOW + 2 * DAY)
    assert (c.key_size, c.issuer, c.key_usage) == (
        1024,
        r.subject,
        ("digitalSignature", "nonRepudiation"),
    )
    assert c.subject_key_identifier is None
    assert c.authority_key_identifier is None


@pytest.mark.softhsm
def test_key_presence_after_login_on_the_token(corpus: Corpus) -> None:
    # In a child process, as a user would run it: SoftHSM keeps a login per process.
    env = {**corpus.store.subprocess_env(), "UKEYTOOL_PIN": "1234"}
    base = [sys.executable, "-m", "ukeytool", "list-tokens", "--module"]
    base += [str(corpus.store.module_path), *AT, "--serial", corpus.serial, "--login"]
    done = subprocess.run([*base, "--json"], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == ExitCode.OK, done.stderr
    doc = json.loads(done.stdout)
    schema_validator().validate(doc)
    (slot,) = [s for m in doc["modules"] for s in m["slots"] if s["token"]]
    assert slot["login"]["state"] == "logged_in"
    certs = {c["label"]: c["key_on_token"] for c in slot["token"]["certificates"]}

    def summary(label: str) -> tuple[str, str, list[tuple[str, list[str]]]]:
        key = certs[label]
        return key["state"], key["private_key"], [(m["key_class"], m["by"]) for m in key["matches"]]

    # now the private keys are seen: yes by the private key, and "no" where there is none
    assert summary("pub-by-id") == (
        "yes", "yes", [("private", ["id", "public_key"]), ("public", ["id", "public_key"])],
    )  # fmt: skip
    assert summary("private-only") == ("yes", "yes", [("private", ["id", "public_key"])])
    assert summary("pub-by-key") == ("no", "no", [("public", ["public_key"])])
    assert summary("sm2-sign") == ("no", "no", [("public", ["id", "public_key"])])
    assert summary("sm2-enc") == ("no", "no", [])
    text = subprocess.run(base, env=env, capture_output=True, text=True, check=False).stdout
    assert '"inter" (key identifier); key: yes (private key, same CKA_ID and public key)\n' in text
    assert "; key: no (no private key after login)\n" in text


def test_relations_are_masked_and_coloured(sm2_ca: Minted) -> None:
    number = "110101199001011234"

    def half(usage: tuple[str, ...]) -> CertificateEntry:
        minted = mint(
            subject_cn=f"051@张三@Z{number}@0001",
            not_before=NOW - DAY,
            not_after=NOW + 100 * DAY,
            key="sm2",
            hash="sm3",
            issuer=sm2_ca,
            key_usage=usage,
        )
        return _entry(minted.der, len(usage), label=f"{number} {usage[0]}")

    lone = mint(subject_cn="lone", not_before=NOW, not_after=NOW + DAY, key_usage=("keyAgreement",))
    entries = relate([half(("digitalSignature",)), half(("keyEncipherment", "dataEncipherment"))])
    entries += relate([_entry(lone.der, 9)])
    slot = SlotReport(make_slot_info(), make_token_info(), entries)
    report = Report(module=make_module_info(), slots=(slot,), at=NOW, warn_days=30)
    assert entries[0].pair is not None
    assert number in (entries[0].pair.partner.subject_cn or "")
    for text in (render_text([report], color=False), render_json([report], generated_at=NOW)):
        assert "paired with" in text or '"pair"' in text
        assert number not in text
    shown = json.loads(render_json([report], generated_at=NOW, show_personal_data=True))
    first = shown["modules"][0]["slots"][0]["token"]["certificates"][0]
    assert first["pair"]["partner"]["subject_cn"] == f"051@张三@Z{number}@0001"
    coloured = render_text([report], color=True)
    assert "\x1b[33m[warning]\x1b[0m no-signing-key-usage: " in coloured
