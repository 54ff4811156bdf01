"""Renewal policies as data: each bank's (and key type's) renewal windows, the issuer
names that tell a bank, and the merged set :func:`~ukeytool.judging.policy_file.load_policies`
reads from the policy files (format: ``schema/renewal.schema.json``; how they are used:
:mod:`ukeytool.judging.renewal`)."""

from __future__ import annotations

import dataclasses
import datetime
import fnmatch
from collections.abc import Iterable

from ..errors import UsageError
from ..i18n.message import Message, template
from ..model import TokenInfo

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

__all__ = [
    "CHINA_STANDARD_TIME",
    "GENERIC",
    "IssuerHint",
    "OtherClose",
    "PolicyChannel",
    "RenewalPolicies",
    "RenewalPolicy",
    "RenewalPolicyError",
    "WindowEdge",
    "add_months",
]

CHINA_STANDARD_TIME: Final = datetime.timezone(datetime.timedelta(hours=8), "CST")
"""UTC+8, the time zone every renewal day is counted in."""
GENERIC: Final = "generic"
"""The id of the fallback policy."""

NO_GENERIC: Final = template(
    "policy.no_generic_in_set", "the renewal policies ({files}) lack 'generic'"
)


@dataclasses.dataclass(frozen=True)
class WindowEdge:
    """How far a window edge is from the expiry day: whole days or calendar months."""

    amount: int
    unit: str
    """``"days"`` or ``"months"``."""

    def before(self, day: datetime.date) -> datetime.date:
        """The day this far before ``day``."""
        if self.unit == "months":
            return add_months(day, -self.amount)
        return day - datetime.timedelta(days=self.amount)

    def after(self, day: datetime.date) -> datetime.date:
        """The day this far after ``day``."""
        if self.unit == "months":
            return add_months(day, self.amount)
        return day + datetime.timedelta(days=self.amount)


@dataclasses.dataclass(frozen=True)
class OtherClose:
    """A different end of a channel's window that some sources give (sources disagree)."""

    closes_after: WindowEdge
    source: str
    """Which sources say so."""


@dataclasses.dataclass(frozen=True)
class PolicyChannel:
    """One way to renew, and its window around the expiry day."""

    channel: str
    """``"online_banking"``, ``"mobile_app"``, ``"online"`` or ``"bank"``."""
    opens_before: WindowEdge | None
    """None: open any time before expiry."""
    closes_after: WindowEdge | None
    """None: never closes."""
    key_types: tuple[str, ...] = ()
    note: str | None = None
    menu_zh: tuple[str, ...] = ()
    """The menu path in the bank's own words (``("客户服务", "U盾管理", "U盾自助更新")``)."""
    menu: tuple[str, ...] = ()
    """The same path glossed in English."""
    steps: tuple[str, ...] = ()
    """What to do there, in English."""
    steps_zh: tuple[str, ...] = ()
    """What to do there, in Chinese."""
    sources: tuple[str, ...] = ()
    """Where the menu path, the steps and the window come from."""
    other_closes: tuple[OtherClose, ...] = ()
    """Other ends of the window that some sources give."""


@dataclasses.dataclass(frozen=True)
class RenewalPolicy:
    """One bank's (and key type's) renewal rules, as a policy file gives them."""

    id: str
    bank: str | None
    """The bank's short code; None for the generic policy."""
    channels: tuple[PolicyChannel, ...]
    sources: tuple[str, ...]
    bank_name: str | None = None
    bank_name_zh: str | None = None
    aliases: tuple[str, ...] = ()
    key_name: str | None = None
    token_manufacturer: tuple[str, ...] = ()
    """Glob patterns: this entry is for tokens whose manufacturer matches one."""
    token_model: tuple[str, ...] = ()
    validity_years: tuple[int, ...] = ()
    bring: tuple[str, ...] = ()
    branch_note: str | None = None
    branch_note_zh: str | None = None
    branch_steps: tuple[str, ...] = ()
    branch_steps_zh: tuple[str, ...] = ()
    branch_sources: tuple[str, ...] = ()
    term: str | None = None
    """What the bank calls a renewal, in English (``"certificate update"``)."""
    term_zh: str | None = None
    """What the bank calls a renewal, in its own words (``"证书更新"``, ``"U盾自助更新"``)."""
    stops_working: tuple[str, ...] = ()
    """What stops working when the certificate expires: ``"online_banking_login"``,
    ``"mobile_banking"``, ``"signing"``."""
    confidence: str | None = None
    notes: str | None = None
    origin: str = ""
    """The file the entry was read from."""

    @property
    def conditional(self) -> bool:
        """Whether the entry is only for some tokens (a key type), not the bank's default."""
        return bool(self.token_manufacturer or self.token_model)

    def matches_token(self, token: TokenInfo | None) -> bool:
        """Whether the entry is for ``token`` (always, for a bank's default entry)."""
        if not self.conditional:
            return True
        if token is None:
            return False
        return all(
            _glob_any(patterns, value)
            for patterns, value in (
                (self.token_manufacturer, token.manufacturer.value),
                (self.token_model, token.model.value),
            )
            if patterns
        )


@dataclasses.dataclass(frozen=True)
class IssuerHint:
    """An issuer name that says which bank issued the certificate (a bank's own CA)."""

    issuer: tuple[str, ...]
    """Glob patterns, matched case-insensitively against the issuer's CN (else its
    whole name)."""
    bank: str
    bank_name: str | None = None
    bank_name_zh: str | None = None
    source: str | None = None
    confidence: str | None = None
    origin: str = ""

    def matches(self, issuer: str) -> bool:
        return _glob_any(self.issuer, issuer)


@dataclasses.dataclass(frozen=True)
class RenewalPolicies:
    """The merged policies, highest-priority file first."""

    policies: tuple[RenewalPolicy, ...]
    issuer_hints: tuple[IssuerHint, ...] = ()
    files: tuple[str, ...] = ()

    def get(self, policy_id: str) -> RenewalPolicy | None:
        return next((p for p in self.policies if p.id == policy_id), None)

    @property
    def generic(self) -> RenewalPolicy:
        """The fallback policy (id ``"generic"``; :func:`load_policies` makes sure it exists)."""
        policy = self.get(GENERIC)
        if policy is None:
            raise UsageError(NO_GENERIC(files=self.files))
        return policy

    def for_bank(self, bank: str, token: TokenInfo | None) -> RenewalPolicy | None:
        """The bank's entry for ``token``: the first key-type entry that matches it, else
        the bank's default entry; None when the bank has none."""
        mine = [p for p in self.policies if p.bank is not None and p.bank.lower() == bank.lower()]
        ordered = [p for p in mine if p.conditional] + [p for p in mine if not p.conditional]
        return next((p for p in ordered if p.matches_token(token)), None)

    def bank_names(self, bank: str) -> tuple[str | None, str | None]:
        """The bank's English and Chinese names, from its policies or issuer hints."""
        named = [(p.bank, p.bank_name, p.bank_name_zh) for p in self.policies]
        named.extend((h.bank, h.bank_name, h.bank_name_zh) for h in self.issuer_hints)
        for code, name, name_zh in named:
            if code is not None and code.lower() == bank.lower() and name:
                return name, name_zh
        return None, None


class RenewalPolicyError(UsageError):
    """A renewal policy file cannot be read or breaks the format; the message names the
    file and, for an entry, which one (``policies[2] (id 'abc-kbao')``).

    The message is data (``policy.file``: the file, the entry's place, the reason nested
    in it), shown in any language with ``.message.render(lang)``."""

    def __init__(self, message: Message, *, path: str, entry: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        """The file."""
        self.entry = entry
        """The entry, e.g. ``"policies[2]"``; None for a problem with the whole file."""


def _glob_any(patterns: Iterable[str], value: str) -> bool:
    text = value.strip().lower()
    return any(fnmatch.fnmatchcase(text, pattern.lower()) for pattern in patterns)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """``day`` moved by ``months`` calendar months, clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    following = datetime.date(year + (month == 12), month % 12 + 1, 1)
    last = (following - datetime.timedelta(days=1)).day
    return datetime.date(year, month, min(day.day, last))
