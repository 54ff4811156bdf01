"""Renewal advice: which bank a certificate belongs to, where it stands in that bank's
renewal windows at the report's moment, and what its holder should do.

Three parts, all pure functions of their inputs (no clock; the moment is the report's):

1. **Policies as data** (:mod:`ukeytool.judging.policies`), read from the policy files
   by :func:`load_policies` (:mod:`ukeytool.judging.policy_file`): ``data/renewal.json``
   (shipped), the user's ``$XDG_CONFIG_HOME/ukeytool/renewal.json`` when it exists, and
   a file given with ``--renewal-policies`` (highest priority first).
2. **Which bank.** :func:`choose_bank`: an explicit choice beats the module's file name
   (the module catalogue's ``bank_hints``) beats the issuer's name (``issuer_hints``)
   beats the generic fallback; the :class:`~ukeytool.model.BankChoice` says which rule
   decided, what it saw, and how sure it is.
3. **Advice.** :func:`advise` gives every certificate of a report an
   :class:`~ukeytool.model.Advice` and every token a
   :class:`~ukeytool.model.TokenAdvice`; :func:`advice_message` and friends
   (:mod:`ukeytool.judging.advice_text`) say it in English or Chinese.

Days: the banks work in China Standard Time (UTC+8, no daylight saving time), so every
day here is a calendar day in UTC+8. The expiry day is the UTC+8 date of not_after. A
window that opens N days (or months) before expiry opens at the start of the expiry day
minus N; one that closes N days (or months) after expiry is open through the end of the
expiry day plus N; both edges are inclusive, and ``{"days": 0}`` as the close means
"through the expiry day". Months are calendar months, with the day clamped to the
month's end (31 May minus 3 months is 28 or 29 February).
"""

from __future__ import annotations

import datetime
import os

from .. import _lazy_getattr
from ..errors import UsageError
from ..i18n.message import template
from ..model import (
    Advice,
    BankChoice,
    BankRule,
    CertificateEntry,
    PinState,
    RenewalAction,
    RenewalPhase,
    RenewalWindow,
    Report,
    SlotReport,
    Status,
    TokenAdvice,
    TokenInfo,
    WindowState,
)
from ..model._value import replace
from .advice_text import advice_message, advice_summary, bank_message, token_advice_message
from .policies import (
    CHINA_STANDARD_TIME,
    IssuerHint,
    OtherClose,
    PolicyChannel,
    RenewalPolicies,
    RenewalPolicy,
    RenewalPolicyError,
    WindowEdge,
    add_months,
)
from .policy_file import (
    default_policy_paths,
    load_policies,
    user_policies_path,
)

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

    from ..config.catalogue import Catalogue
    from .policy_file import SHIPPED_POLICIES

__all__ = [
    "CHINA_STANDARD_TIME",
    "SHIPPED_POLICIES",
    "IssuerHint",
    "OtherClose",
    "PolicyChannel",
    "RenewalPolicies",
    "RenewalPolicy",
    "RenewalPolicyError",
    "WindowEdge",
    "add_months",
    "advice_message",
    "advice_summary",
    "advise",
    "advise_certificate",
    "bank_message",
    "check_bank",
    "choose_bank",
    "default_policy_paths",
    "load_policies",
    "token_advice_message",
    "user_policies_path",
]


# A Path, made on first use (policy_file): the listing does without pathlib.
__getattr__ = _lazy_getattr(
    "ukeytool.judging", globals(), {"SHIPPED_POLICIES": "policy_file"}, module_name=__name__
)


UNKNOWN_BANK: Final = template(
    "renewal.unknown_bank",
    "unknown bank {bank}; known banks: {banks}; policies: {policies} "
    "(add your bank to ~/.config/ukeytool/renewal.json, see docs/renewal.md)",
)


# --- which bank ---------------------------------------------------------------------


def _explicit(
    value: str, policies: RenewalPolicies, catalogue: Catalogue | None
) -> tuple[str | None, RenewalPolicy | None]:
    """The bank code and, when ``value`` names a policy, the policy for ``--bank value``."""
    wanted = value.strip().casefold()
    for policy in policies.policies:
        if policy.id.casefold() == wanted:
            return policy.bank, policy
    for policy in policies.policies:
        names = (
            policy.bank or "",
            *policy.aliases,
            policy.bank_name or "",
            policy.bank_name_zh or "",
        )
        if policy.bank is not None and any(n.casefold() == wanted for n in names if n):
            return policy.bank, None
    others = [(h.bank, h.bank_name, h.bank_name_zh) for h in policies.issuer_hints]
    if catalogue is not None:
        others.extend((h.bank, h.bank_name, h.bank_name_zh) for h in catalogue.bank_hints)
    for code, name, name_zh in others:
        if any(n.casefold() == wanted for n in (code, name, name_zh) if n):
            return code, None
    known = sorted({p.bank for p in policies.policies if p.bank} | {c for c, _n, _z in others})
    ids = ", ".join(p.id for p in policies.policies)
    raise UsageError(UNKNOWN_BANK(bank=repr(value), banks=", ".join(known), policies=ids))


def check_bank(
    bank: str, *, policies: RenewalPolicies, catalogue: Catalogue | None = None
) -> str | None:
    """The bank code an explicit choice names (None for ``"generic"``); raises
    :class:`~ukeytool.errors.UsageError`, listing the known banks, for an unknown one."""
    return _explicit(bank, policies, catalogue)[0]


def choose_bank(
    entry: CertificateEntry,
    *,
    token: TokenInfo | None = None,
    module_path: str | None = None,
    real_path: str | None = None,
    policies: RenewalPolicies,
    bank: str | None = None,
    catalogue: Catalogue | None = None,
    memo: dict[Any, tuple[BankChoice, RenewalPolicy]] | None = None,
) -> tuple[BankChoice, RenewalPolicy]:
    """Which bank ``entry`` belongs to, and the policy to advise with.

    ``bank`` (an explicit choice: a bank code such as ``"ICBC"``, an alias such as
    ``"工行"``, or a policy id such as ``"ccb-wangyindun-gd"``) beats a bank hint of
    ``catalogue`` matching the module's file name (``module_path``, else ``real_path``)
    beats an issuer hint matching the certificate's issuer beats the generic fallback.
    A bank without a policy of its own gets the generic policy. Raises
    :class:`~ukeytool.errors.UsageError` for an unknown ``bank``.

    ``memo``: a dict to keep the choices in, keyed by the issuer and the other
    arguments: the certificates of one issuer on one token get the same choice, made
    once (the issuer hints and the bank catalogue are walked once per issuer, not once
    per certificate). Keep it no longer than ``policies`` and ``catalogue`` live.
    """
    cert = entry.certificate
    issuer = None
    if cert is not None:
        issuer = cert.issuer_cn if cert.issuer_cn else cert.issuer
    if memo is not None:
        # The objects are alive as long as the memo is (see above), so their ids are theirs.
        key = (issuer, id(token), module_path, real_path, id(policies), bank, id(catalogue))
        found = memo.get(key)
        if found is not None:
            return found
    found = _choose(
        issuer,
        token=token,
        module_path=module_path,
        real_path=real_path,
        policies=policies,
        bank=bank,
        catalogue=catalogue,
    )
    if memo is not None:
        memo[key] = found
    return found


def _choose(
    issuer: str | None,
    *,
    token: TokenInfo | None,
    module_path: str | None,
    real_path: str | None,
    policies: RenewalPolicies,
    bank: str | None,
    catalogue: Catalogue | None,
) -> tuple[BankChoice, RenewalPolicy]:
    code: str | None = None
    forced: RenewalPolicy | None = None
    rule = BankRule.FALLBACK
    confidence: str | None = None
    evidence: str | None = issuer
    names: tuple[str | None, str | None] = (None, None)
    if bank is not None:
        code, forced = _explicit(bank, policies, catalogue)
        rule, confidence, evidence = BankRule.EXPLICIT, "high", bank
    if rule is BankRule.FALLBACK and catalogue is not None:
        for path in dict.fromkeys(p for p in (module_path, real_path) if p):
            hint = catalogue.bank_hint(path)
            if hint is not None:
                code, rule = hint.bank, BankRule.MODULE_NAME
                confidence, evidence = hint.confidence or "low", os.path.basename(path)
                names = (hint.bank_name, hint.bank_name_zh)
                break
    if rule is BankRule.FALLBACK and issuer:
        issuer_hint = next((h for h in policies.issuer_hints if h.matches(issuer)), None)
        if issuer_hint is not None:
            code, rule = issuer_hint.bank, BankRule.ISSUER
            confidence, evidence = issuer_hint.confidence or "low", issuer
            names = (issuer_hint.bank_name, issuer_hint.bank_name_zh)
    if forced is not None:
        policy = forced
    elif code is not None:
        policy = policies.for_bank(code, token) or policies.generic
    else:
        policy = policies.generic
    if code is not None:
        known = policies.bank_names(code)
        names = (known[0] or names[0], known[1] or names[1])
    choice = BankChoice(
        rule=rule,
        bank=code,
        policy=policy.id,
        confidence=confidence,
        evidence=evidence,
        bank_name=names[0],
        bank_name_zh=names[1],
    )
    return choice, policy


# --- advice -------------------------------------------------------------------------


def _cst_day(moment: datetime.datetime) -> datetime.date:
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(CHINA_STANDARD_TIME).date()


def _window(
    channel: PolicyChannel,
    expiry: datetime.date,
    today: datetime.date,
    made: dict[int, tuple[PolicyChannel, RenewalWindow]] | None = None,
) -> RenewalWindow:
    """``channel``'s window for a certificate expiring on ``expiry``. ``made``: per run of
    :func:`advise`, a window of each channel already made, copied with this one's dates
    (a copy costs less than making every field again)."""
    opens = None if channel.opens_before is None else channel.opens_before.before(expiry)
    closes = None if channel.closes_after is None else channel.closes_after.after(expiry)
    if opens is not None and today < opens:
        state = WindowState.NOT_OPEN
    elif closes is not None and today > closes:
        state = WindowState.CLOSED
    else:
        state = WindowState.OPEN
    known = None if made is None else made.get(id(channel))
    if known is not None and known[0] is channel:
        if channel.other_closes:
            other_closes = tuple(o.closes_after.after(expiry) for o in channel.other_closes)
            return replace(
                known[1], opens=opens, closes=closes, state=state, other_closes=other_closes
            )
        return replace(known[1], opens=opens, closes=closes, state=state)
    window = RenewalWindow(
        channel.channel,
        opens,
        closes,
        state,
        channel.key_types,
        menu_zh=channel.menu_zh,
        menu=channel.menu,
        steps=channel.steps,
        steps_zh=channel.steps_zh,
        sources=channel.sources,
        other_closes=tuple(o.closes_after.after(expiry) for o in channel.other_closes),
        other_sources=tuple(o.source for o in channel.other_closes),
    )
    if made is not None:
        made[id(channel)] = (channel, window)
    return window


def advise_certificate(
    entry: CertificateEntry,
    at: datetime.datetime,
    *,
    token: TokenInfo | None = None,
    module_path: str | None = None,
    real_path: str | None = None,
    policies: RenewalPolicies | None = None,
    bank: str | None = None,
    catalogue: Catalogue | None = None,
    partner: CertificateEntry | None = None,
    memo: dict[Any, tuple[BankChoice, RenewalPolicy]] | None = None,
) -> Advice:
    """The renewal advice for one certificate object at ``at`` (see the module
    documentation for how days and window edges are counted).

    ``partner``: the other half of the certificate's SM2 signing + encryption pair
    (:attr:`CertificateEntry.pair`); when that half expires first, the advice is the
    pair's, for the pair's earlier expiry (:attr:`PairLink.not_after
    <ukeytool.PairLink.not_after>`), since the pair is renewed together.
    ``memo``: see :func:`choose_bank`."""
    if policies is None:
        policies = load_policies()
    choice, policy = choose_bank(
        entry,
        token=token,
        module_path=module_path,
        real_path=real_path,
        policies=policies,
        bank=bank,
        catalogue=catalogue,
        memo=memo,
    )
    return _advice(entry, at, choice, policy, partner)


_Made = dict[tuple[int, int], tuple[BankChoice, RenewalPolicy, Advice]]
"""Per run of :func:`advise`: for each bank choice and policy, the advice without dates
(what every certificate of that choice shares), by the ids of the two."""


def _advice(  # noqa: PLR0917 - the parts of advise_certificate, and what a run shares
    entry: CertificateEntry,
    at: datetime.datetime,
    choice: BankChoice,
    policy: RenewalPolicy,
    partner: CertificateEntry | None,
    made: _Made | None = None,
    today: datetime.date | None = None,
    window_made: dict[int, tuple[PolicyChannel, RenewalWindow]] | None = None,
) -> Advice:
    """:func:`advise_certificate` once the bank is chosen. ``made`` and ``today`` (the
    day of ``at``) and ``window_made`` (see :func:`_window`) are what a run of
    :func:`advise` keeps for all its certificates."""
    key = (id(choice), id(policy))
    known = None if made is None else made.get(key)
    if known is not None and known[0] is choice and known[1] is policy:
        base = known[2]
    else:
        base = Advice(
            RenewalPhase.NO_DATES,
            RenewalAction.NONE,
            False,
            bank=choice,
            key_name=policy.key_name,
            branch_items=policy.bring,
            branch_note=policy.branch_note,
            branch_note_zh=policy.branch_note_zh,
            validity_years=policy.validity_years,
            term=policy.term,
            term_zh=policy.term_zh,
            stops_working=policy.stops_working,
            branch_steps=policy.branch_steps,
            branch_steps_zh=policy.branch_steps_zh,
            branch_sources=policy.branch_sources,
        )
        if made is not None:
            made[key] = (choice, policy, base)
    cert = entry.certificate
    if cert is None or cert.not_after is None or entry.status is Status.UNREADABLE:
        return base
    # The rest differs from ``base`` in these fields only (copied with them: a copy of
    # the shared part costs less than making every field again).
    common: dict[str, Any] = {}
    status: Status = entry.status
    not_after = cert.not_after
    pair = entry.pair
    if (
        pair is not None
        and partner is not None
        and partner.handle == pair.partner.handle
        and pair.not_after is not None
        and pair.not_after < not_after
    ):
        # The pair is renewed together: its earlier expiry is what matters.
        status, not_after = partner.status, pair.not_after
        common["pair_partner"] = partner.handle
        common["pair_partner_label"] = _label(partner)
        common["own_expiry_date"] = _cst_day(cert.not_after)
    expiry = _cst_day(not_after)
    dates: dict[str, Any] = {
        "expires": not_after,
        "expiry_date": expiry,
        "expired": status is Status.EXPIRED,
    }
    if entry.status is Status.NOT_YET_VALID:
        dates["not_yet_valid"] = True
        dates["valid_from"] = None if cert.not_before is None else _cst_day(cert.not_before)
    if cert.is_ca or cert.self_signed:
        return replace(base, phase=RenewalPhase.NOT_BANK_CERTIFICATE, **common, **dates)
    if today is None:
        today = _cst_day(at)
    windows = tuple([_window(c, expiry, today, window_made) for c in policy.channels])
    if len(windows) == 1:  # the usual case (the generic policy has one): as below
        (only,) = windows
        dates["window_opens"], dates["window_closes"] = only.opens, only.closes
        generic = only.channel == "bank"
        states = {only.state}
    else:
        opens = [w.opens for w in windows]
        closes = [w.closes for w in windows]
        dates["window_opens"] = None if None in opens else min(d for d in opens if d is not None)
        dates["window_closes"] = None if None in closes else max(d for d in closes if d is not None)
        generic = all(w.channel == "bank" for w in windows)
        states = {w.state for w in windows}
    if WindowState.OPEN in states:
        phase = RenewalPhase.ONLINE_OPEN
        action = RenewalAction.RENEW if generic else RenewalAction.RENEW_ONLINE
        needs = status in (Status.EXPIRING, Status.EXPIRED)
    elif WindowState.NOT_OPEN in states:
        phase, action, needs = RenewalPhase.NOT_OPEN, RenewalAction.WAIT, False
    else:
        phase = RenewalPhase.BRANCH_ONLY
        action = RenewalAction.CONTACT_BANK if generic else RenewalAction.VISIT_BRANCH
        needs = True
    return replace(
        base, phase=phase, action=action, needs_action=needs, **common, **dates, windows=windows
    )


def _label(entry: CertificateEntry) -> str:
    if entry.label is not None and entry.label.value.strip():
        return entry.label.value
    cert = entry.certificate
    if cert is not None and cert.subject_cn:
        return cert.subject_cn
    if entry.id:
        return f"id {entry.id.hex()}"
    return f"object {entry.handle}"


_FAR: Final = datetime.date.max


def token_advice(slot: SlotReport) -> TokenAdvice | None:
    """The slot's token's most urgent action, from its certificates' advice (which
    must already be there); None when the slot holds no token."""
    token = slot.token
    if token is None:
        return None
    locked = token.pin_state is PinState.LOCKED
    candidates = [
        (entry, entry.advice)
        for entry in slot.certificates
        if entry.advice is not None
        and entry.advice.phase not in (RenewalPhase.NOT_BANK_CERTIFICATE, RenewalPhase.NO_DATES)
    ]
    best = min(
        candidates,
        key=lambda pair: (*_order(*pair), _label(pair[0]), pair[0].handle),
        default=None,
    )
    if best is None:
        action = RenewalAction.UNLOCK_PIN if locked else RenewalAction.NONE
        return TokenAdvice(action, locked, locked)
    entry, advice = best
    action = RenewalAction.UNLOCK_PIN if locked else advice.action
    return TokenAdvice(
        action=action,
        needs_action=locked or advice.needs_action,
        pin_locked=locked,
        certificate=entry.handle,
        certificate_label=_label(entry),
        advice=advice,
    )


def _order(entry: CertificateEntry, advice: Advice) -> tuple[int, datetime.date, datetime.date]:
    """Most urgent first: only a branch can help; expired but renewable online; expiring
    (both with the soonest closing window first); then the rest by the next date."""
    if advice.phase is RenewalPhase.BRANCH_ONLY:
        return (0, advice.expiry_date or _FAR, _FAR)
    closes = advice.window_closes or _FAR
    if advice.phase is RenewalPhase.ONLINE_OPEN:
        if advice.expired:
            return (1, closes, advice.expiry_date or _FAR)
        if advice.needs_action:
            return (2, advice.expiry_date or _FAR, closes)
        return (3, advice.expiry_date or _FAR, closes)
    return (4, advice.window_opens or _FAR, advice.expiry_date or _FAR)


def advise(
    report: Report,
    *,
    bank: str | None = None,
    policies: RenewalPolicies | None = None,
    catalogue: Catalogue | None = None,
) -> Report:
    """``report`` with renewal advice for every certificate
    (:attr:`CertificateEntry.advice`) and every token (:attr:`SlotReport.advice`), at
    the report's moment.

    ``bank``: an explicit choice for every certificate (see :func:`choose_bank`).
    ``policies``: default :func:`load_policies` (shipped and user file). ``catalogue``:
    the module catalogue whose ``bank_hints`` match module file names; default the
    merged catalogue of :func:`ukeytool.discover` (a broken user catalogue raises its
    :class:`~ukeytool.CatalogueError`).
    """
    if policies is None:
        policies = load_policies()
    if catalogue is None:
        from ..config.catalogue import load_catalogue

        catalogue = load_catalogue()
    if bank is not None:
        check_bank(bank, policies=policies, catalogue=catalogue)  # fails even without certificates
    slots = []
    made: _Made = {}  # one advice without dates per choice
    window_made: dict[int, tuple[PolicyChannel, RenewalWindow]] = {}  # one per channel
    today = _cst_day(report.at)
    for slot in report.slots:
        by_handle = {entry.handle: entry for entry in slot.certificates}
        entries = []
        # This slot's choices by issuer (the rest of what a choice depends on is the
        # same for the whole slot): asked of choose_bank once per issuer.
        choices: dict[str | None, tuple[BankChoice, RenewalPolicy]] = {}
        for entry in slot.certificates:
            cert = entry.certificate
            issuer = None if cert is None else (cert.issuer_cn if cert.issuer_cn else cert.issuer)
            found = choices.get(issuer)
            if found is None:
                found = choices[issuer] = choose_bank(
                    entry,
                    token=slot.token,
                    module_path=report.module.path,
                    real_path=report.module.real_path,
                    policies=policies,
                    bank=bank,
                    catalogue=catalogue,
                )
            choice, policy = found
            partner = None if entry.pair is None else by_handle.get(entry.pair.partner.handle)
            advice = _advice(entry, report.at, choice, policy, partner, made, today, window_made)
            entries.append(replace(entry, advice=advice))
        advised = replace(slot, certificates=tuple(entries))
        slots.append(replace(advised, advice=token_advice(advised)))
    return replace(report, slots=tuple(slots))
