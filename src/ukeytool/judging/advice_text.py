"""Renewal advice in words: what to do, the phase and its dates, which bank and how it
was told, and a token's most urgent action, in English or Chinese.

Made at display time, in the language asked for (``lang``, default the current one):
nothing here is stored as a sentence. The advice names the renewal with the bank's own
term (``证书更新``, ``U盾自助更新``; in English the same meaning), shows the menu path
and the steps of each open channel, says what stops working when the certificate
expires, and says so plainly where the sources disagree on a window (see
``docs/renewal.md``); those sentences are :class:`~ukeytool.i18n.message.Message`
templates (codes ``advice.*``) rendered in the language asked for.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from typing import Final

from ..i18n import N_, _, get_language, pgettext, using
from ..i18n.message import Message, Param, template
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
_USES: Final = {
    "online_banking_login": template(
        "advice.use_online_banking_login", "logging in to online banking"
    ),
    "mobile_banking": template("advice.use_mobile_banking", "mobile banking"),
    "signing": template("advice.use_signing", "signing transactions such as transfers"),
}
# What the bank calls a renewal, when its policy does not say.
_TERM: Final = template("advice.term", "certificate update")
_NOT_YET_VALID: Final = template(
    "advice.not_yet_valid", "It is not valid yet (valid from {start}): nothing to renew now."
)
_PAIR: Final = template(
    "advice.sm2_pair",
    "It is renewed together with {label}, the other half of its SM2 pair, which expires "
    "first (on {expiry}; this one on {own}).",
)
_OPEN: Final = template("advice.open", "The {term} can be done now: {channels}.")
_OPEN_EXPIRED: Final = template(
    "advice.open_expired", "It expired on {expiry}, but the {term} can still be done: {channels}."
)
_NOT_OPEN: Final = template("advice.not_open", "Nothing to do yet: the {term} opens on {opens}.")
_CLOSED: Final = template(
    "advice.closed",
    "The {term} online ended on {closes}: only a branch counter can renew it now.",
)
_SUMMARY_DISPUTED: Final = template(
    "advice.summary_disputed",
    "online renewal open until {closes} (some sources: only until {others}); expires {expiry}",
)
_MENU: Final = template("advice.menu", "In {channel}, go to {menu}.")
_MENU_GLOSS: Final = template("advice.menu_gloss", "{menu} ({gloss})")
_THEN: Final = template("advice.then_steps", "Then: {steps}.")
_STEPS: Final = template("advice.steps", "In {channel}: {steps}.")
_BRANCH_STEPS: Final = template("advice.branch_steps", "At the branch: {steps}.")
_DISAGREE: Final = template(
    "advice.sources_disagree",
    "Sources disagree on how long after expiry {channel} accepts the {term}: some say "
    "until {closes}, others only until {others}.",
)
_IF_REFUSED: Final = template(
    "advice.if_refused", "If {channel} refuses it, go to a branch counter with {items}."
)
_IF_REFUSED_PLAIN: Final = template(
    "advice.if_refused_plain", "If {channel} refuses it, go to a branch counter."
)
_WILL_STOP: Final = template(
    "advice.stops_working",
    "When it expires on {expiry}, {key} can no longer be used for {uses}.",
)
_STOPPED: Final = template(
    "advice.stopped_working", "Since it expired, {key} can no longer be used for {uses}."
)
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
    if lang is not None:
        with using(lang):
            return advice_summary(advice)
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
    # The latest end of an open window, and whether an open one never ends: one pass.
    closes: datetime.date | None = None
    open_ended = False
    for window in advice.windows:
        if window.state is WindowState.OPEN:
            if window.closes is None:
                open_ended = True
            elif closes is None or window.closes > closes:
                closes = window.closes
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
        others = sorted(
            {
                day
                for w in advice.windows
                if w.state is WindowState.OPEN
                for day in w.other_closes
                if day < closes
            }
        )
        if others:
            return _say(
                _SUMMARY_DISPUTED,
                closes=_day(closes),
                others=tuple(_day(d) for d in others),
                expiry=expiry,
            )
        text = _("online renewal open until {closes}; expires {expiry}")
    return text.format(closes=_day(closes), expiry=expiry)


def advice_message(advice: Advice, *, lang: str | None = None) -> str:
    """What to do, in one to three sentences, in ``lang`` (default: the current
    language)."""
    if lang is not None:
        with using(lang):
            return advice_message(advice)
    phase = advice.phase
    if phase is RenewalPhase.NO_DATES:
        return _("No renewal advice: the certificate's dates could not be read.")
    if phase is RenewalPhase.NOT_BANK_CERTIFICATE:
        return _("A CA or self-signed certificate: nothing for the key's holder to renew.")
    expiry = _day(advice.expiry_date)
    if advice.not_yet_valid:
        return _say(_NOT_YET_VALID, start=_day(advice.valid_from))
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
    if advice.pair_partner_label is not None:
        sentences.append(
            _say(
                _PAIR,
                label=_quote(advice.pair_partner_label),
                expiry=expiry,
                own=_day(advice.own_expiry_date),
            )
        )
    term = _term(advice)
    if phase is RenewalPhase.ONLINE_OPEN:
        open_windows = [w for w in advice.windows if w.state is WindowState.OPEN]
        channels = _channel_list(open_windows)
        if advice.expired:
            sentences.append(_say(_OPEN_EXPIRED, expiry=expiry, term=term, channels=channels))
        else:
            sentences.append(_say(_OPEN, term=term, channels=channels))
        sentences.extend(_consequences(advice, expiry))
        for window in open_windows:
            sentences.extend(_how(window))
    elif phase is RenewalPhase.NOT_OPEN:
        waiting = [w.opens for w in advice.windows if w.state is WindowState.NOT_OPEN]
        opens = _day(min((d for d in waiting if d), default=None))
        sentences.append(_say(_NOT_OPEN, term=term, opens=opens))
    else:
        sentences.append(_say(_CLOSED, term=term, closes=_day(closes)))
        sentences.extend(_consequences(advice, expiry))
    for window in advice.windows:
        if window.other_closes and window.state is not WindowState.CLOSED:
            sentences.extend(_disagreement(window, term, items))
    if phase is RenewalPhase.BRANCH_ONLY:
        if items:
            sentences.append(_("Bring {items}.").format(items=items))
        note = _note(advice)
        if note:
            sentences.append(note)
        steps = _pick(advice.branch_steps, advice.branch_steps_zh)
        if steps:
            sentences.append(_say(_BRANCH_STEPS, steps=steps))
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
    return _sentences(sentences)


def _sentences(sentences: Sequence[str]) -> str:
    text = sentences[0]
    for sentence in sentences[1:]:
        # Translators: one sentence after another; Chinese needs no blank between them.
        text = _("{sentence} {next}").format(sentence=text, next=sentence)
    return text


def _say(tpl: Callable[..., Message], **params: Param) -> str:
    """A template's sentence in the current language."""
    return tpl(**params).render(get_language())


def _pick(english: tuple[str, ...], chinese: tuple[str, ...]) -> tuple[str, ...]:
    """The Chinese or English version of a policy's texts (the other when one is missing)."""
    chosen = chinese if get_language() == "zh" else english
    return tuple(escape_control(t.strip()) for t in (chosen or english or chinese))


def _term(advice: Advice) -> Param:
    """What the bank calls a renewal, in the current language."""
    term = advice.term_zh if get_language() == "zh" else advice.term
    term = term or advice.term or advice.term_zh
    return _TERM() if term is None else escape_control(term)


def _channel_name(window: RenewalWindow) -> str:
    return _(_CHANNEL_NAMES.get(window.channel, window.channel))


def _how(window: RenewalWindow) -> list[str]:
    """Where to go in the channel and what to do there."""
    sentences = []
    channel = _channel_name(window)
    steps = _pick(window.steps, window.steps_zh)
    if window.menu_zh or window.menu:
        path = " → ".join(escape_control(m) for m in window.menu_zh or window.menu)
        menu: Param = path
        if get_language() != "zh" and window.menu_zh and window.menu:
            gloss = " → ".join(escape_control(m) for m in window.menu)
            menu = _MENU_GLOSS(menu=path, gloss=gloss)
        sentences.append(_say(_MENU, channel=channel, menu=menu))
        if steps:
            sentences.append(_say(_THEN, steps=steps))
    elif steps:
        sentences.append(_say(_STEPS, channel=channel, steps=steps))
    return sentences


def _disagreement(window: RenewalWindow, term: Param, items: str) -> list[str]:
    """The sources disagree on when the window ends: say so, and what to do if refused."""
    channel = _channel_name(window)
    others = tuple(_day(d) for d in sorted(set(window.other_closes)))
    said = _say(
        _DISAGREE,
        channel=channel,
        term=term,
        closes="?" if window.closes is None else _day(window.closes),
        others=others,
    )
    if items:
        return [said, _say(_IF_REFUSED, channel=channel, items=items)]
    return [said, _say(_IF_REFUSED_PLAIN, channel=channel)]


def _consequences(advice: Advice, expiry: str) -> list[str]:
    """What stops working when it expires, for an expiring or expired certificate."""
    if not advice.stops_working or not (advice.expired or advice.needs_action):
        return []
    uses = _join([_say(_USES[u]) for u in advice.stops_working if u in _USES])
    key = _("the {key}").format(key=advice.key_name) if advice.key_name else _("the key")
    if advice.expired:
        return [_say(_STOPPED, key=key, uses=uses)]
    return [_say(_WILL_STOP, expiry=expiry, key=key, uses=uses)]


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
