"""Renewal advice: which bank a certificate belongs to, where it stands in that bank's
renewal windows at the report's moment, and what its holder should do.

Three parts, all pure functions of their inputs (no clock; the moment is the report's):

1. **Policies as data.** :func:`load_policies` reads ``data/renewal.json`` (shipped),
   the user's ``$XDG_CONFIG_HOME/ukeytool/renewal.json`` when it exists, and a file
   given with ``--renewal-policies`` (highest priority first); an entry of a
   higher-priority file replaces the entry with the same id, new ids extend the set.
   Every file is validated as it is read; :class:`RenewalPolicyError` names the file and
   the entry. The format is ``schema/renewal.schema.json``.
2. **Which bank.** :func:`choose_bank`: an explicit choice beats the module's file name
   (the module catalogue's ``bank_hints``) beats the issuer's name (``issuer_hints``)
   beats the generic fallback; the :class:`~ukeytool.model.BankChoice` says which rule
   decided, what it saw, and how sure it is.
3. **Advice.** :func:`advise` gives every certificate of a report an
   :class:`~ukeytool.model.Advice` and every token a
   :class:`~ukeytool.model.TokenAdvice`; :func:`advice_message` and friends say it in
   English or Chinese.

Days: the banks work in China Standard Time (UTC+8, no daylight saving time), so every
day here is a calendar day in UTC+8. The expiry day is the UTC+8 date of not_after. A
window that opens N days (or months) before expiry opens at the start of the expiry day
minus N; one that closes N days (or months) after expiry is open through the end of the
expiry day plus N; both edges are inclusive, and ``{"days": 0}`` as the close means
"through the expiry day". Months are calendar months, with the day clamped to the
month's end (31 May minus 3 months is 28 or 29 February).
"""

from __future__ import annotations

import dataclasses
import datetime
import fnmatch
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn

from ..config.jsonfile import JsonFileProblem, read_json_file
from ..errors import UsageError
from ..i18n import N_, _, get_language, pgettext, using
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
from ..model.text import escape_control

if TYPE_CHECKING:
    from ..config.discovery import Catalogue

__all__ = [
    "CHINA_STANDARD_TIME",
    "SHIPPED_POLICIES",
    "IssuerHint",
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

CHINA_STANDARD_TIME: Final = datetime.timezone(datetime.timedelta(hours=8), "CST")
"""UTC+8, the time zone every renewal day is counted in."""
SHIPPED_POLICIES: Final = Path(__file__).parent.parent / "data" / "renewal.json"
POLICY_VERSION: Final = 1
"""The renewal policy format this ukeytool reads."""
MAX_POLICY_BYTES: Final = 1 << 20
GENERIC: Final = "generic"
"""The id of the fallback policy."""

_CONFIDENCE: Final = ("high", "medium", "low")
_CHANNELS: Final = ("online_banking", "mobile_app", "online", "bank")
_ITEMS: Final = ("id_card", "bank_card", "key")
_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")


# --- the policies -------------------------------------------------------------------


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
            raise UsageError(
                N_("the renewal policies ({files}) lack 'generic'").format(
                    files=", ".join(self.files)
                )
            )
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

    The message is English (templates marked for translation: ``renewal policies {path}:
    {detail}``, the entry's, the reason's); the command line shows it in the user's
    language."""

    def __init__(self, message: str, *, path: str, entry: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        """The file."""
        self.entry = entry
        """The entry, e.g. ``"policies[2]"``; None for a problem with the whole file."""


def user_policies_path(env: Mapping[str, str] | None = None) -> Path | None:
    """``$XDG_CONFIG_HOME/ukeytool/renewal.json`` (default ``~/.config/ukeytool/...``),
    whether or not it exists; None when there is no home directory."""
    environ = os.environ if env is None else env
    config = environ.get("XDG_CONFIG_HOME", "")
    if os.path.isabs(config):
        return Path(config) / "ukeytool" / "renewal.json"
    home = environ.get("HOME", "")
    if not os.path.isabs(home) and env is None:
        home = os.path.expanduser("~")
    if not os.path.isabs(home):
        return None
    return Path(home) / ".config" / "ukeytool" / "renewal.json"


def default_policy_paths(
    extra: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] | None = None
) -> list[Path]:
    """The policy files to read, highest priority first: ``extra`` (the
    ``--renewal-policies`` file), the user file when it exists, the shipped one."""
    paths = [] if extra is None else [Path(extra)]
    user = user_policies_path(env)
    if user is not None and user.exists():
        paths.append(user)
    paths.append(SHIPPED_POLICIES)
    return paths


def load_policies(
    paths: Sequence[str | os.PathLike[str]] | None = None,
    *,
    extra: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> RenewalPolicies:
    """Read, validate and merge policy files, highest priority first (default:
    :func:`default_policy_paths` with ``extra``).

    A policy whose id appeared in an earlier (higher-priority) file is dropped; issuer
    hints are all kept, earlier files' first. The merged set must have a ``generic``
    policy (the shipped file has one). Every file given must exist and be valid:
    :class:`RenewalPolicyError` otherwise.
    """
    files = [Path(p) for p in (default_policy_paths(extra, env=env) if paths is None else paths)]
    policies: list[RenewalPolicy] = []
    hints: list[IssuerHint] = []
    seen: set[str] = set()
    for path in files:
        file_policies, file_hints = _read_policy_file(path)
        for policy in file_policies:
            if policy.id not in seen:
                seen.add(policy.id)
                policies.append(policy)
        hints.extend(file_hints)
    if GENERIC not in seen:
        names = ", ".join(str(p) for p in files)
        reason = N_(
            "no policy with id 'generic', the fallback for unknown banks; keep the shipped "
            "file in the list or add one"
        )
        raise RenewalPolicyError(
            _POLICY_FILE.format(path=names, detail=reason),
            path=str(files[0]) if files else "",
        )
    return RenewalPolicies(tuple(policies), tuple(hints), tuple(str(p) for p in files))


# The error messages, in English and marked for translation: the file, then where in it
# (each step of the entry's label its own template, the reason nested in {detail}), then
# the reason. RenewalPolicyError.entry keeps the English label ("policies[2] (id 'x')").
_POLICY_FILE: Final = N_("renewal policies {path}: {detail}")
_POLICY_AT: Final = N_("policies[{index}]: {detail}")
_POLICY_ID_AT: Final = N_("policies[{index}] (id {id}): {detail}")
_HINT_AT: Final = N_("issuer_hints[{index}]: {detail}")
_CHANNEL_AT: Final = N_("channels[{index}]: {detail}")
_MATCH_AT: Final = N_("match: {detail}")
_BRANCH_AT: Final = N_("branch: {detail}")
_DAYS: Final = '{"days": N}'
_MONTHS: Final = '{"months": N}'


@dataclasses.dataclass(frozen=True)
class _Place:
    """Where in a policy file: the entry's English label, and the templates that put a
    reason there (outermost first)."""

    label: str | None = None
    steps: tuple[tuple[str, dict[str, object]], ...] = ()

    def then(self, label: str, template: str, **values: object) -> _Place:
        """A place inside this one (``label`` is appended to this place's label)."""
        full = label if self.label is None else f"{self.label}: {label}"
        return _Place(full, (*self.steps, (template, values)))

    def say(self, reason: str) -> str:
        """``reason`` (an English sentence) at this place."""
        for template, values in reversed(self.steps):
            reason = template.format(detail=reason, **values)
        return reason

    def error(self, where: str, reason: str) -> RenewalPolicyError:
        return RenewalPolicyError(
            _POLICY_FILE.format(path=where, detail=self.say(reason)), path=where, entry=self.label
        )


def _read_policy_file(path: Path) -> tuple[list[RenewalPolicy], list[IssuerHint]]:
    where = str(path)

    def fail(reason: str) -> NoReturn:
        raise _Place().error(where, reason)

    try:
        data = read_json_file(path, limit=MAX_POLICY_BYTES)
    except JsonFileProblem as exc:
        fail(str(exc))
    if not isinstance(data, dict):
        fail(N_('the top level must be an object with "version" and "policies"'))
    top = _Fields(data, where, _Place())
    top.no_unknown({"version", "policies", "issuer_hints"})
    version = data.get("version")
    if version != POLICY_VERSION or isinstance(version, bool):
        template = N_('"version" must be {version} (the format this ukeytool reads), found {found}')
        fail(template.format(version=POLICY_VERSION, found=json.dumps(version)))
    items = data.get("policies", [])
    hint_items = data.get("issuer_hints", [])
    for key, value in (("policies", items), ("issuer_hints", hint_items)):
        if not isinstance(value, list):
            fail(N_('"{key}" must be a list').format(key=key))
    policies: list[RenewalPolicy] = []
    ids: set[str] = set()
    for index, item in enumerate(items):
        policy = _policy(item, where, index)
        if policy.id in ids:
            place = _Place().then(f"policies[{index}]", _POLICY_AT, index=index)
            raise place.error(
                where,
                N_("id {id} is used by an earlier entry of the same file").format(
                    id=repr(policy.id)
                ),
            )
        ids.add(policy.id)
        policies.append(policy)
    hints = [_issuer_hint(item, where, index) for index, item in enumerate(hint_items)]
    return policies, hints


class _Fields:
    """Typed access to one object of a policy file, with errors naming file and entry."""

    def __init__(self, item: dict[str, Any], where: str, place: _Place) -> None:
        self.item = item
        self.where = where
        self.place = place

    @property
    def entry(self) -> str | None:
        return self.place.label

    def fail(self, reason: str) -> NoReturn:
        raise self.place.error(self.where, reason)

    def inside(self, item: dict[str, Any], label: str, template: str, **values: object) -> _Fields:
        """The fields of an object inside this one."""
        return _Fields(item, self.where, self.place.then(label, template, **values))

    def no_unknown(self, known: set[str]) -> None:
        for key in self.item:
            if not isinstance(key, str) or (key not in known and not key.startswith("$")):
                allowed = ", ".join(sorted(known))
                self.fail(
                    N_(
                        'unknown key {key} (known: {known}; keys starting with "$" are comments)'
                    ).format(key=repr(key), known=allowed)
                )

    def text(self, key: str, *, required: bool = False) -> str | None:
        value = self.item.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(N_('"{key}" must be a non-empty string').format(key=key))
        return value

    def texts(self, key: str, *, required: bool = False, non_empty: bool = False) -> list[str]:
        value = self.item.get(key)
        if value is None and not required:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(N_('"{key}" must be a list of non-empty strings').format(key=key))
        if non_empty and not value:
            self.fail(N_('"{key}" must not be empty').format(key=key))
        return [str(v) for v in value]

    def code(self, key: str, *, bank: bool = False) -> str:
        """An id (``bank``: a bank code): letters, digits, ".", "_" or "-"."""
        value = self.text(key, required=True)
        assert value is not None
        if not _ID.match(value):
            if bank:
                template = N_(
                    '"{key}" {value} must be a bank code: letters, digits, ".", "_" or "-"'
                )
            else:
                template = N_('"{key}" {value} must be an id: letters, digits, ".", "_" or "-"')
            self.fail(template.format(key=key, value=repr(value)))
        return value

    def confidence(self) -> str | None:
        value = self.text("confidence")
        if value is not None and value not in _CONFIDENCE:
            self.fail(
                N_('"confidence" must be one of {choices}, not {value}').format(
                    choices=", ".join(_CONFIDENCE), value=repr(value)
                )
            )
        return value

    def obj(self, key: str, *, required: bool = False) -> dict[str, Any] | None:
        value = self.item.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, dict):
            self.fail(N_('"{key}" must be an object').format(key=key))
        return value


def _policy(item: object, where: str, index: int) -> RenewalPolicy:
    entry = f"policies[{index}]"
    if not isinstance(item, dict):
        raise RenewalPolicyError(
            _POLICY_FILE.format(
                path=where, detail=N_("policies[{index}] must be an object").format(index=index)
            ),
            path=where,
            entry=entry,
        )
    ident = item.get("id")
    if isinstance(ident, str) and _ID.match(ident):
        place = _Place().then(f"{entry} (id {ident!r})", _POLICY_ID_AT, index=index, id=repr(ident))
    else:
        place = _Place().then(entry, _POLICY_AT, index=index)
    fields = _Fields(item, where, place)
    fields.no_unknown(
        {
            "id",
            "bank",
            "bank_name",
            "bank_name_zh",
            "aliases",
            "key_name",
            "match",
            "validity_years",
            "channels",
            "branch",
            "sources",
            "confidence",
            "notes",
        }
    )
    ident = fields.code("id")
    if "bank" not in item:
        fields.fail(N_('"bank" is required (null only for the generic policy)'))
    bank = None if item["bank"] is None else fields.code("bank", bank=True)
    if (bank is None) != (ident == GENERIC):
        fields.fail(
            N_('"bank" must be null for the generic policy and a bank code for every other')
        )
    manufacturer: list[str] = []
    model: list[str] = []
    match = fields.obj("match")
    if match is not None:
        sub = fields.inside(match, "match", _MATCH_AT)
        sub.no_unknown({"token_manufacturer", "token_model"})
        manufacturer = sub.texts("token_manufacturer")
        model = sub.texts("token_model")
        if not manufacturer and not model:
            sub.fail(N_('give "token_manufacturer" or "token_model" patterns (or drop "match")'))
        if bank is None:
            fields.fail(N_('the generic policy cannot have "match"'))
    years = item.get("validity_years", [])
    if not isinstance(years, list) or not all(
        isinstance(y, int) and not isinstance(y, bool) and 1 <= y <= 100 for y in years
    ):
        fields.fail(N_('"validity_years" must be a list of whole numbers of years (1 to 100)'))
    channel_items = item.get("channels")
    if not isinstance(channel_items, list) or not channel_items:
        fields.fail(N_('"channels" must be a non-empty list'))
    channels = tuple(
        _channel(value, fields, n, policy=(index, ident)) for n, value in enumerate(channel_items)
    )
    branch = fields.obj("branch", required=True)
    assert branch is not None
    branch_fields = fields.inside(branch, "branch", _BRANCH_AT)
    branch_fields.no_unknown({"bring", "note", "note_zh"})
    bring = branch_fields.texts("bring", required=True)
    for thing in bring:
        if thing not in _ITEMS:
            branch_fields.fail(
                N_('"bring" lists {item}; known: {known}').format(
                    item=repr(thing), known=", ".join(_ITEMS)
                )
            )
    if len(set(bring)) != len(bring):
        branch_fields.fail(N_('"bring" lists something twice'))
    return RenewalPolicy(
        id=ident,
        bank=bank,
        channels=channels,
        sources=tuple(fields.texts("sources", required=True, non_empty=True)),
        bank_name=fields.text("bank_name"),
        bank_name_zh=fields.text("bank_name_zh"),
        aliases=tuple(fields.texts("aliases")),
        key_name=fields.text("key_name"),
        token_manufacturer=tuple(manufacturer),
        token_model=tuple(model),
        validity_years=tuple(years),
        bring=tuple(bring),
        branch_note=branch_fields.text("note"),
        branch_note_zh=branch_fields.text("note_zh"),
        confidence=fields.confidence(),
        notes=fields.text("notes"),
        origin=where,
    )


def _channel(item: object, entry: _Fields, index: int, *, policy: tuple[int, str]) -> PolicyChannel:
    label = f"channels[{index}]"
    if not isinstance(item, dict):
        # One template for the whole: "policies[{index}] must be an object" would match
        # "policies[0] (id 'x'): channels[1] must be an object" too.
        reason = N_("policies[{index}] (id {id}): channels[{channel}] must be an object")
        raise RenewalPolicyError(
            _POLICY_FILE.format(
                path=entry.where,
                detail=reason.format(index=policy[0], id=repr(policy[1]), channel=index),
            ),
            path=entry.where,
            entry=f"{entry.entry}: {label}",
        )
    fields = entry.inside(item, label, _CHANNEL_AT, index=index)
    fields.no_unknown({"channel", "opens_before", "closes_after", "key_types", "note"})
    name = fields.text("channel", required=True)
    if name not in _CHANNELS:
        fields.fail(
            N_('"channel" must be one of {choices}, not {value}').format(
                choices=", ".join(_CHANNELS), value=repr(name)
            )
        )
    assert name is not None
    edges = []
    for key in ("opens_before", "closes_after"):
        if key not in item:
            fields.fail(
                N_('"{key}" is required: {days}, {months} or null (open-ended)').format(
                    key=key, days=_DAYS, months=_MONTHS
                )
            )
        edges.append(_edge(item[key], fields, key))
    if edges[0] is None and edges[1] is None:
        fields.fail(N_('"opens_before" and "closes_after" cannot both be null'))
    return PolicyChannel(
        channel=name,
        opens_before=edges[0],
        closes_after=edges[1],
        key_types=tuple(fields.texts("key_types")),
        note=fields.text("note"),
    )


def _edge(value: object, fields: _Fields, key: str) -> WindowEdge | None:
    if value is None:
        return None
    limits = {"days": 36500, "months": 1200}
    if isinstance(value, dict) and len(value) == 1:
        ((unit, amount),) = value.items()
        if (
            unit in limits
            and isinstance(amount, int)
            and not isinstance(amount, bool)
            and 0 <= amount <= limits[unit]
        ):
            return WindowEdge(amount, unit)
    fields.fail(
        N_('"{key}" must be {days} (0 to 36500), {months} (0 to 1200) or null, not {value}').format(
            key=key, days=_DAYS, months=_MONTHS, value=json.dumps(value, ensure_ascii=False)
        )
    )
    return None  # not reached: fail() raises


def _issuer_hint(item: object, where: str, index: int) -> IssuerHint:
    entry = f"issuer_hints[{index}]"
    if not isinstance(item, dict):
        raise RenewalPolicyError(
            _POLICY_FILE.format(
                path=where,
                detail=N_("issuer_hints[{index}] must be an object").format(index=index),
            ),
            path=where,
            entry=entry,
        )
    fields = _Fields(item, where, _Place().then(entry, _HINT_AT, index=index))
    fields.no_unknown({"issuer", "bank", "bank_name", "bank_name_zh", "source", "confidence"})
    return IssuerHint(
        issuer=tuple(fields.texts("issuer", required=True, non_empty=True)),
        bank=fields.code("bank", bank=True),
        bank_name=fields.text("bank_name"),
        bank_name_zh=fields.text("bank_name_zh"),
        source=fields.text("source"),
        confidence=fields.confidence(),
        origin=where,
    )


def _glob_any(patterns: Iterable[str], value: str) -> bool:
    text = value.strip().lower()
    return any(fnmatch.fnmatchcase(text, pattern.lower()) for pattern in patterns)


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
    raise UsageError(
        N_(
            "unknown bank {bank}; known banks: {banks}; policies: {policies} "
            "(add your bank to ~/.config/ukeytool/renewal.json, see docs/renewal.md)"
        ).format(bank=repr(value), banks=", ".join(known), policies=ids)
    )


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
) -> tuple[BankChoice, RenewalPolicy]:
    """Which bank ``entry`` belongs to, and the policy to advise with.

    ``bank`` (an explicit choice: a bank code such as ``"ICBC"``, an alias such as
    ``"工行"``, or a policy id such as ``"ccb-wangyindun-gd"``) beats a bank hint of
    ``catalogue`` matching the module's file name (``module_path``, else ``real_path``)
    beats an issuer hint matching the certificate's issuer beats the generic fallback.
    A bank without a policy of its own gets the generic policy. Raises
    :class:`~ukeytool.errors.UsageError` for an unknown ``bank``.
    """
    cert = entry.certificate
    issuer = None
    if cert is not None:
        issuer = cert.issuer_cn if cert.issuer_cn else cert.issuer
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


def add_months(day: datetime.date, months: int) -> datetime.date:
    """``day`` moved by ``months`` calendar months, clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    following = datetime.date(year + (month == 12), month % 12 + 1, 1)
    last = (following - datetime.timedelta(days=1)).day
    return datetime.date(year, month, min(day.day, last))


def _cst_day(moment: datetime.datetime) -> datetime.date:
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(CHINA_STANDARD_TIME).date()


def _window(channel: PolicyChannel, expiry: datetime.date, today: datetime.date) -> RenewalWindow:
    opens = None if channel.opens_before is None else channel.opens_before.before(expiry)
    closes = None if channel.closes_after is None else channel.closes_after.after(expiry)
    if opens is not None and today < opens:
        state = WindowState.NOT_OPEN
    elif closes is not None and today > closes:
        state = WindowState.CLOSED
    else:
        state = WindowState.OPEN
    return RenewalWindow(channel.channel, opens, closes, state, channel.key_types)


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
) -> Advice:
    """The renewal advice for one certificate object at ``at`` (see the module
    documentation for how days and window edges are counted)."""
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
    )
    cert = entry.certificate
    common: dict[str, Any] = {
        "bank": choice,
        "key_name": policy.key_name,
        "branch_items": policy.bring,
        "branch_note": policy.branch_note,
        "branch_note_zh": policy.branch_note_zh,
        "validity_years": policy.validity_years,
    }
    if cert is None or cert.not_after is None or entry.status is Status.UNREADABLE:
        return Advice(RenewalPhase.NO_DATES, RenewalAction.NONE, False, **common)
    expiry = _cst_day(cert.not_after)
    dates: dict[str, Any] = {
        "expires": cert.not_after,
        "expiry_date": expiry,
        "expired": entry.status is Status.EXPIRED,
    }
    if cert.is_ca or cert.self_signed:
        return Advice(
            RenewalPhase.NOT_BANK_CERTIFICATE, RenewalAction.NONE, False, **common, **dates
        )
    today = _cst_day(at)
    windows = tuple(_window(c, expiry, today) for c in policy.channels)
    opens = [w.opens for w in windows]
    closes = [w.closes for w in windows]
    dates["window_opens"] = None if None in opens else min(d for d in opens if d is not None)
    dates["window_closes"] = None if None in closes else max(d for d in closes if d is not None)
    generic = all(w.channel == "bank" for w in windows)
    states = {w.state for w in windows}
    if WindowState.OPEN in states:
        phase = RenewalPhase.ONLINE_OPEN
        action = RenewalAction.RENEW if generic else RenewalAction.RENEW_ONLINE
        needs = entry.status in (Status.EXPIRING, Status.EXPIRED)
    elif WindowState.NOT_OPEN in states:
        phase, action, needs = RenewalPhase.NOT_OPEN, RenewalAction.WAIT, False
    else:
        phase = RenewalPhase.BRANCH_ONLY
        action = RenewalAction.CONTACT_BANK if generic else RenewalAction.VISIT_BRANCH
        needs = True
    return Advice(phase, action, needs, **common, **dates, windows=windows)


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
        from ..config.discovery import load_catalogue

        catalogue = load_catalogue()
    if bank is not None:
        check_bank(bank, policies=policies, catalogue=catalogue)  # fails even without certificates
    slots = []
    for slot in report.slots:
        entries = tuple(
            dataclasses.replace(
                entry,
                advice=advise_certificate(
                    entry,
                    report.at,
                    token=slot.token,
                    module_path=report.module.path,
                    real_path=report.module.real_path,
                    policies=policies,
                    bank=bank,
                    catalogue=catalogue,
                ),
            )
            for entry in slot.certificates
        )
        advised = dataclasses.replace(slot, certificates=entries)
        slots.append(dataclasses.replace(advised, advice=token_advice(advised)))
    return dataclasses.replace(report, slots=tuple(slots))


# --- saying it ----------------------------------------------------------------------

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
