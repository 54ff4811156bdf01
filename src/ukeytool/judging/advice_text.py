"""Renewal advice in words: what to do, the phase and its dates, which bank and how it
was told, and a token's most urgent action, in English or Chinese.

Made at display time, in the language asked for (``lang``, default the current one):
nothing here is stored as a sentence.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import Final

from ..i18n import N_, _, get_language, pgettext, using
from ..model import (
    Advice,
    BankChoice,
    BankRule,
    RenewalPhase,
    RenewalWindow,
    TokenAdvice,
    WindowState,
)
from ..model.text import escape_control
from .policies import GENERIC

__all__ = ["advice_message", "advice_summary", "bank_message", "token_advice_message"]

_CHANNEL_NAMES: Final = {
    "online_banking": N_("online banking"),
    "mobile_app": N_("the mobile banking app"),
    "online": N_("online banking or the bank's app"),
    "bank": N_("your bank"),
}
_CONFIDENCE_WORDS: Final = {
    "high": N_("high confidence"),
    "medium": N_("medium confidence"),
    "low": N_("low confidence"),
}


def _day(value: datetime.date | None) -> str:
    return "?" if value is None else value.isoformat()


def _join(items: Sequence[str], *, conjunction: str = "and") -> str:
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    # Translators: the separator between the items of a list ("A, B and C"); 、 in Chinese.
    head = pgettext("list", ", ").join(items[:-1])
    if conjunction == "or":
        return _("{first} or {last}").format(first=head, last=items[-1])
    return _("{first} and {last}").format(first=head, last=items[-1])


def _quote(text: str) -> str:
    return _("“{text}”").format(text=escape_control(text))


def _items(advice: Advice) -> str:
    words = []
    for item in advice.branch_items:
        if item == "id_card":
            words.append(_("your ID card"))
        elif item == "bank_card":
            words.append(_("your bank card"))
        elif advice.key_name:
            words.append(_("the {key}").format(key=advice.key_name))
        else:
            words.append(_("the key"))
    return _join(words)


def _channel_list(windows: Iterable[RenewalWindow]) -> str:
    parts = []
    for window in windows:
        name = _(_CHANNEL_NAMES.get(window.channel, window.channel))
        types = "、".join(window.key_types) if window.key_types else None
        if window.closes is not None:
            if types:
                text = _("{channel} (for {types} only, until {date})")
            else:
                text = _("{channel} (until {date})")
        elif types:
            text = _("{channel} (for {types} only)")
        else:
            text = "{channel}"
        parts.append(text.format(channel=name, types=types, date=_day(window.closes)))
    return _join(parts, conjunction="or")


def _generic(advice: Advice) -> bool:
    return bool(advice.windows) and all(w.channel == "bank" for w in advice.windows)


def advice_summary(advice: Advice, *, lang: str | None = None) -> str:
    """The phase and the dates that matter, in a few words:
    ``"online renewal open until 2035-02-09; expires 2030-03-05"``."""
    with using(lang):
        expiry = _day(advice.expiry_date)
        phase = advice.phase
        if phase is RenewalPhase.NO_DATES:
            return _("no dates: no advice")
        if phase is RenewalPhase.NOT_BANK_CERTIFICATE:
            return _("not a bank certificate")
        generic = _generic(advice)
        if phase is RenewalPhase.NOT_OPEN:
            return _("not open yet: opens {opens}; expires {expiry}").format(
                opens=_day(advice.window_opens), expiry=expiry
            )
        if phase is RenewalPhase.BRANCH_ONLY:
            if generic:
                return _("window closed on {closes}: contact your bank").format(
                    closes=_day(advice.window_closes)
                )
            return _("online renewal closed on {closes}: branch only").format(
                closes=_day(advice.window_closes)
            )
        closes = max(
            (w.closes for w in advice.windows if w.state is WindowState.OPEN and w.closes),
            default=None,
        )
        open_ended = any(w.state is WindowState.OPEN and w.closes is None for w in advice.windows)
        if closes is not None and closes == advice.expiry_date and not open_ended:
            if generic:
                text = _("open until it expires on {expiry}")
            else:
                text = _("online renewal open until it expires on {expiry}")
        elif generic:
            text = _("open until {closes}; expires {expiry}")
        elif open_ended or closes is None:
            text = _("online renewal open; expires {expiry}")
        else:
            text = _("online renewal open until {closes}; expires {expiry}")
        return text.format(closes=_day(closes), expiry=expiry)


def advice_message(advice: Advice, *, lang: str | None = None) -> str:
    """What to do, in one to three sentences, in ``lang`` (default: the current
    language)."""
    with using(lang):
        phase = advice.phase
        if phase is RenewalPhase.NO_DATES:
            return _("No renewal advice: the certificate's dates could not be read.")
        if phase is RenewalPhase.NOT_BANK_CERTIFICATE:
            return _("A CA or self-signed certificate: nothing for the key's holder to renew.")
        expiry = _day(advice.expiry_date)
        if _generic(advice):
            if phase is RenewalPhase.BRANCH_ONLY or advice.expired:
                return _(
                    "It expired on {expiry}: contact your bank (or whoever issued it) to renew it."
                ).format(expiry=expiry)
            return _(
                "Renew it through your bank (or whoever issued it) before it expires on {expiry}."
            ).format(expiry=expiry)
        closes = advice.window_closes
        items = _items(advice)
        sentences: list[str] = []
        if phase is RenewalPhase.ONLINE_OPEN:
            open_windows = [w for w in advice.windows if w.state is WindowState.OPEN]
            channels = _channel_list(open_windows)
            if advice.expired:
                sentences.append(
                    _(
                        "It expired on {expiry}, but can still be renewed online: {channels}."
                    ).format(expiry=expiry, channels=channels)
                )
            else:
                sentences.append(_("Renew it online now: {channels}.").format(channels=channels))
        elif phase is RenewalPhase.NOT_OPEN:
            waiting = [w.opens for w in advice.windows if w.state is WindowState.NOT_OPEN]
            sentences.append(
                _("Nothing to do yet: online renewal opens on {opens}.").format(
                    opens=_day(min((d for d in waiting if d), default=None))
                )
            )
        else:
            sentences.append(
                _(
                    "The online renewal window closed on {closes}: renew it at a branch counter."
                ).format(closes=_day(closes))
            )
        if phase is RenewalPhase.BRANCH_ONLY:
            if items:
                sentences.append(_("Bring {items}.").format(items=items))
            note = _note(advice)
            if note:
                sentences.append(note)
        elif closes is not None:
            if items:
                sentences.append(
                    _("After {closes}, only at a branch counter, with {items}.").format(
                        closes=_day(closes), items=items
                    )
                )
            else:
                sentences.append(
                    _("After {closes}, only at a branch counter.").format(closes=_day(closes))
                )
        text = sentences[0]
        for sentence in sentences[1:]:
            # Translators: one sentence after another; Chinese needs no blank between them.
            text = _("{sentence} {next}").format(sentence=text, next=sentence)
        return text


def _note(advice: Advice) -> str | None:
    note = advice.branch_note_zh if get_language() == "zh" else advice.branch_note
    note = note or advice.branch_note
    if not note:
        return None
    note = escape_control(note.strip())
    if get_language() == "zh":
        return note if note.endswith("。") else note + "。"
    note = note[:1].upper() + note[1:]
    return note if note.endswith(".") else note + "."


def bank_message(choice: BankChoice, *, lang: str | None = None) -> str:
    """Which bank, which rule said so and how sure it is, e.g. ``"ICBC (Industrial and
    Commercial Bank of China), from the issuer name “ICBC Sub CA” (medium confidence)"``."""
    with using(lang):
        evidence = _quote(choice.evidence) if choice.evidence else ""
        if choice.bank is None:
            if evidence:
                return _("not recognised from the issuer {issuer}: general advice").format(
                    issuer=evidence
                )
            return _("not recognised: general advice")
        name = choice.bank_name_zh if get_language() == "zh" else choice.bank_name
        name = name or choice.bank_name or choice.bank_name_zh
        bank = f"{escape_control(choice.bank)} ({escape_control(name)})" if name else choice.bank
        if choice.rule is BankRule.EXPLICIT:
            how = _("as given {value}").format(value=evidence)
        elif choice.rule is BankRule.MODULE_NAME:
            how = _("from the module file name {name}").format(name=evidence)
        else:
            how = _("from the issuer name {issuer}").format(issuer=evidence)
        confidence = _(_CONFIDENCE_WORDS.get(choice.confidence or "low", "low confidence"))
        text = _("{bank}, {how} ({confidence})").format(bank=bank, how=how, confidence=confidence)
        if choice.policy == GENERIC:
            text += _("; no renewal rules known for this bank: general advice")
        return text


def token_advice_message(advice: TokenAdvice, *, lang: str | None = None) -> str:
    """The token's most urgent action, in one to three sentences."""
    with using(lang):
        if advice.pin_locked:
            return _(
                "The PIN is locked: the bank must unlock the key (at a branch counter) "
                "before it can be used or renewed."
            )
        cert = advice.advice
        if cert is None:
            return _("No bank certificate to renew.")
        label = _quote(advice.certificate_label or "?")
        if advice.needs_action:
            return _("Most urgent: {label}: {advice}").format(
                label=label, advice=advice_message(cert)
            )
        if cert.phase is RenewalPhase.NOT_OPEN:
            return _("Nothing to do now: renewal of {label} opens on {opens}.").format(
                label=label, opens=_day(cert.window_opens)
            )
        return _("Nothing urgent: {label} expires on {expiry}.").format(
            label=label, expiry=_day(cert.expiry_date)
        )
