"""Renewal advice: where a certificate stands in its bank's renewal windows and what to do
(worked out by :mod:`ukeytool.judging.renewal`).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum

__all__ = [
    "Advice",
    "BankChoice",
    "BankRule",
    "RenewalAction",
    "RenewalPhase",
    "RenewalWindow",
    "TokenAdvice",
    "WindowState",
]


@enum.unique
class RenewalPhase(str, enum.Enum):
    """Where a certificate stands in its bank's renewal windows, at the report's moment."""

    NOT_OPEN = "not_open"
    """Renewal is not open yet: no channel's window has opened."""
    ONLINE_OPEN = "online_open"
    """At least one self-service channel (online banking, the app...) is open."""
    BRANCH_ONLY = "branch_only"
    """Every self-service window has closed: only a branch counter can renew it."""
    NOT_BANK_CERTIFICATE = "not_bank_certificate"
    """A CA or self-signed certificate, which the holder does not renew."""
    NO_DATES = "no_dates"
    """The certificate's dates could not be read: no advice."""

    def __str__(self) -> str:
        return self.value


@enum.unique
class RenewalAction(str, enum.Enum):
    """What the holder should do."""

    NONE = "none"
    """Nothing to renew (not a bank certificate, or no dates)."""
    WAIT = "wait"
    """Nothing yet: renewal opens later."""
    RENEW_ONLINE = "renew_online"
    """Renew through a self-service channel while it is open."""
    RENEW = "renew"
    """Renew through the bank before expiry (the generic policy: channel unknown)."""
    VISIT_BRANCH = "visit_branch"
    """Go to a branch counter: the self-service windows have closed."""
    CONTACT_BANK = "contact_bank"
    """Contact the bank (the generic policy, after its window)."""
    UNLOCK_PIN = "unlock_pin"
    """The token's PIN is locked: the bank must unlock it first (tokens only)."""

    def __str__(self) -> str:
        return self.value


@enum.unique
class BankRule(str, enum.Enum):
    """Which rule decided a certificate's bank, strongest first."""

    EXPLICIT = "explicit"
    """The caller named it (``--bank``, the ``bank`` argument)."""
    MODULE_NAME = "module_name"
    """The PKCS#11 module's file name (a bank hint of the module catalogue)."""
    ISSUER = "issuer"
    """The certificate issuer's name (a bank's own CA)."""
    FALLBACK = "fallback"
    """Nothing said which bank: the generic advice."""

    def __str__(self) -> str:
        return self.value


@enum.unique
class WindowState(str, enum.Enum):
    """One channel's renewal window at the report's moment."""

    NOT_OPEN = "not_open"
    OPEN = "open"
    CLOSED = "closed"

    def __str__(self) -> str:
        return self.value


@dataclasses.dataclass(frozen=True)
class BankChoice:
    """Which bank a certificate belongs to, which rule said so, and how sure it is."""

    rule: BankRule
    bank: str | None
    """The bank's short code (``"ICBC"``); None for :attr:`BankRule.FALLBACK`."""
    policy: str
    """The id of the renewal policy used: the bank's (``"icbc-ushield"``), or
    ``"generic"`` when the bank is unknown or has no policy."""
    confidence: str | None
    """``"high"`` (explicit), ``"medium"`` or ``"low"`` (from the hint's data); None for
    the fallback."""
    evidence: str | None = None
    """What the rule saw: the value given, the module's file name, the issuer's name."""
    bank_name: str | None = None
    bank_name_zh: str | None = None


@dataclasses.dataclass(frozen=True)
class RenewalWindow:
    """One channel's renewal window for one certificate, in China Standard Time days."""

    channel: str
    """``"online_banking"``, ``"mobile_app"``, ``"online"`` (self-service, channel not
    known more exactly) or ``"bank"`` (the generic policy: any channel of the bank)."""
    opens: datetime.date | None
    """The first day it is open; None when it is open-ended before expiry."""
    closes: datetime.date | None
    """The last day it is open; None when it never closes."""
    state: WindowState
    key_types: tuple[str, ...] = ()
    """The key types the channel is for (``("通用U盾",)``); empty for every key type."""
    menu_zh: tuple[str, ...] = ()
    """Where to go in the channel, in the bank's own words (the policy's menu path)."""
    menu: tuple[str, ...] = ()
    """The same menu path glossed in English."""
    steps: tuple[str, ...] = ()
    """What to do there, in English."""
    steps_zh: tuple[str, ...] = ()
    """What to do there, in Chinese."""
    sources: tuple[str, ...] = ()
    """Where the menu path and the steps come from."""
    other_closes: tuple[datetime.date, ...] = ()
    """Earlier (or later) last days that other sources give: where the sources disagree,
    the window may end on any of these instead of :attr:`closes`."""
    other_sources: tuple[str, ...] = ()
    """Which sources give :attr:`other_closes`, in the same order."""


@dataclasses.dataclass(frozen=True)
class Advice:
    """What to do about one certificate's renewal at the report's moment.

    Days are calendar days in China Standard Time (UTC+8), where the banks work; window
    edges are inclusive (see ``docs/renewal.md``). The human sentences are made in the
    chosen language by :func:`~ukeytool.advice_message`.
    """

    phase: RenewalPhase
    action: RenewalAction
    needs_action: bool
    """True when something should be done now: the certificate is expiring or expired
    and a window is open, or only a branch can help."""
    bank: BankChoice
    key_name: str | None = None
    """The bank's name for the key (``"U盾"``), from the policy."""
    expires: datetime.datetime | None = None
    """The certificate's not_after (aware, UTC)."""
    expiry_date: datetime.date | None = None
    """The day it expires, in China Standard Time."""
    expired: bool = False
    """Whether it has expired at the report's moment."""
    window_opens: datetime.date | None = None
    """The first day any self-service window opens; None when one is open-ended."""
    window_closes: datetime.date | None = None
    """The last day any self-service window is open; None when one never closes."""
    windows: tuple[RenewalWindow, ...] = ()
    branch_items: tuple[str, ...] = ()
    """What to bring to a branch: ``"id_card"``, ``"bank_card"``, ``"key"``."""
    branch_note: str | None = None
    branch_note_zh: str | None = None
    validity_years: tuple[int, ...] = ()
    """How long the bank's certificates are valid, from the policy."""
    term: str | None = None
    """What the bank calls a renewal, in English (``"certificate update"``); None for the
    generic policy."""
    term_zh: str | None = None
    """What the bank calls a renewal, in its own words (``"证书更新"``, ``"U盾自助更新"``)."""
    stops_working: tuple[str, ...] = ()
    """What stops working once it has expired: ``"online_banking_login"``,
    ``"mobile_banking"``, ``"signing"`` (from the policy)."""
    branch_steps: tuple[str, ...] = ()
    """What to do at the branch, in English."""
    branch_steps_zh: tuple[str, ...] = ()
    """What to do at the branch, in Chinese."""
    branch_sources: tuple[str, ...] = ()
    """Where the branch rules come from."""
    not_yet_valid: bool = False
    """The certificate is not valid yet at the report's moment."""
    valid_from: datetime.date | None = None
    """The day it becomes valid, in China Standard Time (set when :attr:`not_yet_valid`)."""
    pair_partner: int | None = None
    """The handle of the other half of its SM2 signing + encryption pair, when that half
    expires first: then :attr:`expires` and every date here are the pair's (the pair is
    renewed together)."""
    pair_partner_label: str | None = None
    """That half's CKA_LABEL (else subject CN) as shown."""
    own_expiry_date: datetime.date | None = None
    """This certificate's own expiry day (China Standard Time), when the pair's is earlier."""


@dataclasses.dataclass(frozen=True)
class TokenAdvice:
    """A token's most urgent renewal action."""

    action: RenewalAction
    needs_action: bool
    pin_locked: bool
    """The user PIN is locked: the bank must unlock the key before anything else."""
    certificate: int | None = None
    """The handle of the most urgent certificate; None when there is none."""
    certificate_label: str | None = None
    """Its CKA_LABEL (else subject CN) as shown."""
    advice: Advice | None = None
    """Its advice."""
