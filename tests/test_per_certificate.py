"""What is the same for every certificate of a token is done once, not once per
certificate (issue 12, item 3): names folded for comparing once per distinct name, one
link per issuer, one key presence and one finding of a kind shared, one advice per
bank choice copied with each certificate's dates, no masked copy of a certificate that
holds nothing to mask, a shared line written once, no language context entered per
certificate.

Proved by counting calls for n and 5n certificates, never by the clock.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import ukeytool
from ukeytool.i18n import message
from ukeytool.judging import advice_text, relation_index, relations, renewal
from ukeytool.rendering import mask
from ukeytool.rendering.text import render_text
from ukeytool.testing.bulk import mint_many
from ukeytool.testing.fake import FakeBackend, FakeCertificate, FakeToken

from .conftest import FIXED_NOW


@pytest.fixture(scope="module")
def certificates() -> list[bytes]:
    """A CA and 250 holders it issued (without key identifiers), expiring over
    two years: expired, expiring and valid ones."""
    return mint_many(
        251,
        at=FIXED_NOW,
        organization="每证书测试银行",
        ca_cn="Per Certificate CA",
        expiry_days=lambda i: i * 3 - 40,
        not_before_days=90,
        key_identifiers=False,
    )


def _report(ders: list[bytes]) -> ukeytool.Report:
    objects = [FakeCertificate(der, label=f"cert {i}") for i, der in enumerate(ders)]
    backend = FakeBackend([FakeToken(objects=objects)])
    return ukeytool.advise(ukeytool.inspect_backend(backend, at=FIXED_NOW))


def _counting(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[int]:
    """Counts the calls of ``owner.name`` (as the code under test looks it up)."""
    count = [0]
    real = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return count


@pytest.mark.parametrize("n", [50, 250])
def test_names_are_folded_once_per_distinct_name(
    certificates: list[bytes], monkeypatch: pytest.MonkeyPatch, n: int
) -> None:
    # Relating n certificates of one issuer folds each subject once and the issuer's
    # name once: not the issuer's name again for every certificate (it was 6 per
    # certificate).
    folded = _counting(monkeypatch, relation_index, "comparable_name")
    report = _report(certificates[: n + 1])
    assert len(report.certificates) == n + 1
    assert all(e.issued_by is not None for e in report.certificates[1:])
    assert folded[0] <= n + 1 + 1


@pytest.mark.parametrize("n", [50, 250])
def test_masking_copies_nothing_when_nothing_is_masked(
    certificates: list[bytes], monkeypatch: pytest.MonkeyPatch, n: int
) -> None:
    report = _report(certificates[: n + 1])
    copies = _counting(monkeypatch, dataclasses, "replace")
    masked = mask.mask_report(report)
    # The report, its module and its slot, the slot's parts: a constant, whatever n.
    assert copies[0] <= 8
    assert masked == report
    for shown, entry in zip(masked.certificates, report.certificates, strict=True):
        assert shown is entry


def test_masking_still_copies_what_it_masks(certificates: list[bytes]) -> None:
    # The evidence of a bank choice holding an ID number is masked, per issuer.
    report = _report(certificates[:3])
    entry = report.certificates[1]
    assert entry.advice is not None
    person = "051@张三@Z110105194912310021@0001"
    advice = dataclasses.replace(
        entry.advice, bank=dataclasses.replace(entry.advice.bank, evidence=person)
    )
    masked = mask._entry(dataclasses.replace(entry, advice=advice))
    assert masked.advice is not None
    assert masked.advice.bank.evidence == "051@张三@Z110***********0021@0001"
    assert advice.bank.evidence == person


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_text_listing_enters_no_language_context_per_certificate(
    certificates: list[bytes], monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    small, large = _report(certificates[:51]), _report(certificates[:251])
    render_text([small], color=False, lang=lang)  # imports what it imports once
    entered = _counting(monkeypatch, advice_text, "using")
    render_text([small], color=False, lang=lang)
    for_small = entered[0]
    entered[0] = 0
    text = render_text([large], color=False, lang=lang)
    # The token's bank and advice lines, not the 251 certificates' advice lines.
    assert entered[0] == for_small <= 4
    assert text.count("\n      renewal: " if lang == "en" else "\n      证书更新：") == 251


@pytest.mark.parametrize("n", [50, 250])
def test_what_an_issuer_or_token_shares_is_made_once(
    certificates: list[bytes], monkeypatch: pytest.MonkeyPatch, n: int
) -> None:
    # One link to the issuer, one key presence for the certificates without key
    # objects (there are none here), one "no-key-usage" finding: made once, shared.
    links = _counting(monkeypatch, relations, "_link")
    presences = _counting(monkeypatch, relations, "_key_presence")
    no_key_usage = _counting(monkeypatch, relations, "_NO_KEY_USAGE")
    report = _report(certificates[: n + 1])
    assert (links[0], presences[0], no_key_usage[0]) == (1, 1, 1)
    holders = report.certificates[1:]
    assert {e.issued_by for e in holders} == {holders[0].issued_by}
    assert all(e.key_on_token is holders[0].key_on_token for e in holders)
    assert [f.code for f in holders[-1].findings] == ["no-key-usage"]


@pytest.mark.parametrize("n", [50, 250])
def test_advice_is_made_once_per_bank_choice_and_copied_with_dates(
    certificates: list[bytes], monkeypatch: pytest.MonkeyPatch, n: int
) -> None:
    objects = [FakeCertificate(der, label=f"cert {i}") for i, der in enumerate(certificates)]
    backend = FakeBackend([FakeToken(objects=objects[: n + 1])])
    report = ukeytool.inspect_backend(backend, at=FIXED_NOW)
    chosen = _counting(monkeypatch, renewal, "choose_bank")
    made = _counting(monkeypatch, renewal, "Advice")
    windows = _counting(monkeypatch, renewal, "RenewalWindow")
    advised = ukeytool.advise(report)
    # One issuer (the CA's own name too): the bank chosen once. The generic policy (one
    # choice, one channel): one advice and one window made, the others copied with
    # their dates.
    assert (chosen[0], made[0], windows[0]) == (1, 1, 1)
    monkeypatch.undo()
    # The same advice as each certificate's own, made alone.
    for entry in advised.certificates[:: max(1, n // 10)]:
        alone = renewal.advise_certificate(entry, FIXED_NOW)
        assert entry.advice == alone


@pytest.mark.parametrize("n", [50, 250])
def test_a_shared_finding_or_relations_line_is_written_once(
    certificates: list[bytes], monkeypatch: pytest.MonkeyPatch, n: int
) -> None:
    report = _report(certificates[: n + 1])
    render_text([report], color=False)  # imports what it imports once
    said = _counting(monkeypatch, message, "_format")
    text = render_text([report], color=False)
    # The token's few messages and the one finding: not one per certificate.
    assert said[0] <= 8
    assert text.count("[info] no-key-usage: no KeyUsage extension") == n
    assert text.count('end entity, issued by "cert 0" (name); key: unknown') == n


def test_a_shared_link_is_masked_once_and_stays_masked(certificates: list[bytes]) -> None:
    person = "051@张三@Z110105194912310021@0001"
    objects = [FakeCertificate(certificates[0], label=person)]
    objects += [FakeCertificate(der, label=f"cert {i}") for i, der in enumerate(certificates[1:6])]
    report = ukeytool.advise(
        ukeytool.inspect_backend(FakeBackend([FakeToken(objects=objects)]), at=FIXED_NOW)
    )
    for _ in range(2):  # the second time from what was kept
        masked = mask.mask_report(report)
        links = {id(e.issued_by) for e in masked.certificates[1:]}
        assert len(links) == 1
        link = masked.certificates[1].issued_by
        assert link is not None
        assert link.label is not None
        assert link.label.value == "051@张三@Z110***********0021@0001"
        assert person not in render_text([report], color=False)
        assert report.certificates[1].issued_by is not None
        assert report.certificates[1].issued_by.label is not None
        assert report.certificates[1].issued_by.label.value == person
