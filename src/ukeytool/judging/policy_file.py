"""Reading renewal policy files: the shipped ``data/renewal.json``, the user's
``$XDG_CONFIG_HOME/ukeytool/renewal.json`` and a ``--renewal-policies`` file, each
validated as it is read and merged (highest priority first: an entry of a higher-priority
file replaces the entry with the same id, new ids extend the set).

A broken file is a :class:`~ukeytool.judging.policies.RenewalPolicyError` whose message
names the file, the entry (each step of the entry's place a template of its own, the
reason nested in ``{detail}``) and the reason. The format is
``schema/renewal.schema.json``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence

from ..config.jsonfile import (
    BAD_CONFIDENCE,
    DUPLICATE_ID,
    NOT_LIST,
    NOT_TEXT,
    NOT_TEXT_LIST,
    UNKNOWN_KEY,
    JsonFileProblem,
    read_json_file,
)
from ..config.paths import (
    join_path,
    path_text,
    shipped_file,
    shipped_path,
    user_config_file,
    user_config_path,
)
from ..i18n.message import Message, Param, Template, template
from ..model import _value
from .policies import (
    GENERIC,
    IssuerHint,
    OtherClose,
    PolicyChannel,
    RenewalPolicies,
    RenewalPolicy,
    RenewalPolicyError,
    WindowEdge,
)

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import pathlib
    from typing import Any, Final, NoReturn

    SHIPPED_POLICIES: pathlib.Path
    """The renewal policies shipped with ukeytool."""

__all__ = [
    "SHIPPED_POLICIES",
    "default_policy_paths",
    "load_policies",
    "user_policies_path",
]

#: The policies shipped with ukeytool (:data:`SHIPPED_POLICIES`, a Path made on first
#: use: the listing reads the file without importing pathlib).
_SHIPPED_FILE: Final = join_path(os.path.dirname(os.path.dirname(__file__)), "data", "renewal.json")
POLICY_VERSION: Final = 1
"""The renewal policy format this ukeytool reads."""
MAX_POLICY_BYTES: Final = 1 << 20

_CONFIDENCE: Final = ("high", "medium", "low")
_CHANNELS: Final = ("online_banking", "mobile_app", "online", "bank")
_ITEMS: Final = ("id_card", "bank_card", "key")
_STOPS: Final = ("online_banking_login", "mobile_banking", "signing")
_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")


def __getattr__(name: str) -> Any:
    if name == "SHIPPED_POLICIES":
        return shipped_path(globals(), name, _SHIPPED_FILE)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def user_policies_path(env: Mapping[str, str] | None = None) -> pathlib.Path | None:
    """``$XDG_CONFIG_HOME/ukeytool/renewal.json`` (default ``~/.config/ukeytool/...``),
    whether or not it exists; None when there is no home directory."""
    return user_config_path("renewal.json", env)


def default_policy_paths(
    extra: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] | None = None
) -> list[pathlib.Path]:
    """The policy files to read, highest priority first: ``extra`` (the
    ``--renewal-policies`` file), the user file when it exists, the shipped one."""
    from pathlib import Path

    return [Path(p) for p in _default_policy_files(extra, env)]


def _default_policy_files(
    extra: str | os.PathLike[str] | None, env: Mapping[str, str] | None
) -> list[str]:
    """:func:`default_policy_paths` as text."""
    paths = [] if extra is None else [path_text(extra)]
    user = user_config_file("renewal.json", env)
    if user is not None and os.path.exists(user):
        paths.append(user)
    paths.append(shipped_file(globals(), "SHIPPED_POLICIES", _SHIPPED_FILE))
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
    files = _default_policy_files(extra, env) if paths is None else [path_text(p) for p in paths]
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
        raise RenewalPolicyError(
            POLICY_FILE(path=tuple(str(p) for p in files), detail=NO_GENERIC()),
            path=str(files[0]) if files else "",
        )
    return RenewalPolicies(tuple(policies), tuple(hints), tuple(str(p) for p in files))


# The file, then where in it (each step of the entry's place its own template, the
# reason nested in {detail}), then the reason. RenewalPolicyError.entry keeps the
# entry's label as the file spells it ("policies[2] (id 'x')").
POLICY_FILE: Final = template("policy.file", "renewal policies {path}: {detail}")
_POLICY_AT: Final = template("policy.at_policy", "policies[{index}]: {detail}")
_POLICY_ID_AT: Final = template("policy.at_policy_id", "policies[{index}] (id {id}): {detail}")
_HINT_AT: Final = template("policy.at_issuer_hint", "issuer_hints[{index}]: {detail}")
_CHANNEL_AT: Final = template("policy.at_channel", "channels[{index}]: {detail}")
_MATCH_AT: Final = template("policy.at_match", "match: {detail}")
_BRANCH_AT: Final = template("policy.at_branch", "branch: {detail}")
_OTHER_AT: Final = template("policy.at_other_close", "other_closes[{index}]: {detail}")
_DAYS: Final = '{"days": N}'
_MONTHS: Final = '{"months": N}'

# The reasons.
NO_GENERIC: Final = template(
    "policy.no_generic",
    "no policy with id 'generic', the fallback for unknown banks; keep the shipped "
    "file in the list or add one",
)
_TOP_NOT_OBJECT: Final = template(
    "policy.top_not_object", 'the top level must be an object with "version" and "policies"'
)
_BAD_VERSION: Final = template(
    "policy.bad_version",
    '"version" must be {version} (the format this ukeytool reads), found {found}',
)
_NOT_OBJECT: Final = template("policy.not_object", '"{key}" must be an object')
_EMPTY_LIST: Final = template("policy.empty_list", '"{key}" must not be empty')
_NOT_BANK_CODE: Final = template(
    "policy.not_bank_code", '"{key}" {value} must be a bank code: letters, digits, ".", "_" or "-"'
)
_NOT_ID: Final = template(
    "policy.not_id", '"{key}" {value} must be an id: letters, digits, ".", "_" or "-"'
)
_POLICY_NOT_OBJECT: Final = template(
    "policy.policy_not_object", "policies[{index}] must be an object"
)
_HINT_NOT_OBJECT: Final = template(
    "policy.issuer_hint_not_object", "issuer_hints[{index}] must be an object"
)
_CHANNEL_NOT_OBJECT: Final = template(
    "policy.channel_not_object",
    "policies[{index}] (id {id}): channels[{channel}] must be an object",
)
_NO_BANK: Final = template(
    "policy.bank_required", '"bank" is required (null only for the generic policy)'
)
_BANK_NULL: Final = template(
    "policy.bank_null_for_generic_only",
    '"bank" must be null for the generic policy and a bank code for every other',
)
_EMPTY_MATCH: Final = template(
    "policy.empty_match", 'give "token_manufacturer" or "token_model" patterns (or drop "match")'
)
_GENERIC_MATCH: Final = template("policy.generic_match", 'the generic policy cannot have "match"')
_BAD_YEARS: Final = template(
    "policy.bad_validity_years",
    '"validity_years" must be a list of whole numbers of years (1 to 100)',
)
_NO_CHANNELS: Final = template("policy.no_channels", '"channels" must be a non-empty list')
_UNKNOWN_ITEM: Final = template("policy.unknown_bring", '"bring" lists {item}; known: {known}')
_ITEM_TWICE: Final = template("policy.bring_twice", '"bring" lists something twice')
_UNKNOWN_STOP: Final = template(
    "policy.unknown_stops_working", '"stops_working" lists {item}; known: {known}'
)
_STOP_TWICE: Final = template("policy.stops_working_twice", '"stops_working" lists something twice')
_OTHER_NOT_OBJECT: Final = template(
    "policy.other_close_not_object", "other_closes[{index}] must be an object"
)
_OTHER_NO_EDGE: Final = template(
    "policy.other_close_edge_required",
    '"closes_after" is required and cannot be null: {days} or {months}',
)
_BAD_CHANNEL: Final = template(
    "policy.bad_channel", '"channel" must be one of {choices}, not {value}'
)
_NO_EDGE: Final = template(
    "policy.edge_required", '"{key}" is required: {days}, {months} or null (open-ended)'
)
_BOTH_OPEN: Final = template(
    "policy.both_edges_null", '"opens_before" and "closes_after" cannot both be null'
)
_BAD_EDGE: Final = template(
    "policy.bad_edge",
    '"{key}" must be {days} (0 to 36500), {months} (0 to 1200) or null, not {value}',
)


@_value.value
class _Place:
    """Where in a policy file: the entry's label, and the templates (with their other
    parameters) that put a reason there, outermost first."""

    label: str | None = None
    steps: tuple[tuple[Template, dict[str, Param]], ...] = ()

    def then(self, label: str, step: Template, **params: Param) -> _Place:
        """A place inside this one (``label`` is appended to this place's label)."""
        full = label if self.label is None else f"{self.label}: {label}"
        return _Place(full, (*self.steps, (step, params)))

    def say(self, reason: Message) -> Message:
        """``reason`` at this place."""
        for step, params in reversed(self.steps):
            reason = step(**params, detail=reason)
        return reason

    def error(self, where: str, reason: Message) -> RenewalPolicyError:
        return RenewalPolicyError(
            POLICY_FILE(path=where, detail=self.say(reason)), path=where, entry=self.label
        )

    # --- generated by scripts/values.py from the fields above: do not edit ---
    def __init__(
        self,
        label: str | None = None,
        steps: tuple[tuple[Template, dict[str, Param]], ...] = (),
    ) -> None:
        _fields = self.__dict__
        _fields["label"] = label
        _fields["steps"] = steps

    # --- end of generated code ---


def _read_policy_file(path: str) -> tuple[list[RenewalPolicy], list[IssuerHint]]:
    where = str(path)

    def fail(reason: Message) -> NoReturn:
        raise _Place().error(where, reason)

    try:
        data = read_json_file(path, limit=MAX_POLICY_BYTES)
    except JsonFileProblem as exc:
        fail(exc.message)
    if not isinstance(data, dict):
        fail(_TOP_NOT_OBJECT())
    top = _Fields(data, where, _Place())
    top.no_unknown({"version", "policies", "issuer_hints"})
    version = data.get("version")
    if version != POLICY_VERSION or isinstance(version, bool):
        fail(_BAD_VERSION(version=POLICY_VERSION, found=json.dumps(version)))
    items = data.get("policies", [])
    hint_items = data.get("issuer_hints", [])
    for key, value in (("policies", items), ("issuer_hints", hint_items)):
        if not isinstance(value, list):
            fail(NOT_LIST(key=key))
    policies: list[RenewalPolicy] = []
    ids: set[str] = set()
    for index, item in enumerate(items):
        policy = _policy(item, where, index)
        if policy.id in ids:
            place = _Place().then(f"policies[{index}]", _POLICY_AT, index=index)
            raise place.error(where, DUPLICATE_ID(id=repr(policy.id)))
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

    def fail(self, reason: Message) -> NoReturn:
        raise self.place.error(self.where, reason)

    def inside(self, item: dict[str, Any], label: str, step: Template, **params: Param) -> _Fields:
        """The fields of an object inside this one."""
        return _Fields(item, self.where, self.place.then(label, step, **params))

    def no_unknown(self, known: set[str]) -> None:
        for key in self.item:
            if not isinstance(key, str) or (key not in known and not key.startswith("$")):
                self.fail(UNKNOWN_KEY(key=repr(key), known=", ".join(sorted(known))))

    def text(self, key: str, *, required: bool = False) -> str | None:
        value = self.item.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(NOT_TEXT(key=key))
        return value

    def texts(self, key: str, *, required: bool = False, non_empty: bool = False) -> list[str]:
        value = self.item.get(key)
        if value is None and not required:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(NOT_TEXT_LIST(key=key))
        if non_empty and not value:
            self.fail(_EMPTY_LIST(key=key))
        return [str(v) for v in value]

    def code(self, key: str, *, bank: bool = False) -> str:
        """An id (``bank``: a bank code): letters, digits, ".", "_" or "-"."""
        value = self.text(key, required=True)
        assert value is not None
        if not _ID.match(value):
            self.fail((_NOT_BANK_CODE if bank else _NOT_ID)(key=key, value=repr(value)))
        return value

    def confidence(self) -> str | None:
        value = self.text("confidence")
        if value is not None and value not in _CONFIDENCE:
            self.fail(BAD_CONFIDENCE(choices=", ".join(_CONFIDENCE), value=repr(value)))
        return value

    def obj(self, key: str, *, required: bool = False) -> dict[str, Any] | None:
        value = self.item.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, dict):
            self.fail(_NOT_OBJECT(key=key))
        return value


def _policy(item: object, where: str, index: int) -> RenewalPolicy:
    entry = f"policies[{index}]"
    if not isinstance(item, dict):
        raise RenewalPolicyError(
            POLICY_FILE(path=where, detail=_POLICY_NOT_OBJECT(index=index)),
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
            "term",
            "term_zh",
            "stops_working",
        }
    )
    ident = fields.code("id")
    if "bank" not in item:
        fields.fail(_NO_BANK())
    bank = None if item["bank"] is None else fields.code("bank", bank=True)
    if (bank is None) != (ident == GENERIC):
        fields.fail(_BANK_NULL())
    manufacturer: list[str] = []
    model: list[str] = []
    match = fields.obj("match")
    if match is not None:
        sub = fields.inside(match, "match", _MATCH_AT)
        sub.no_unknown({"token_manufacturer", "token_model"})
        manufacturer = sub.texts("token_manufacturer")
        model = sub.texts("token_model")
        if not manufacturer and not model:
            sub.fail(_EMPTY_MATCH())
        if bank is None:
            fields.fail(_GENERIC_MATCH())
    years = item.get("validity_years", [])
    if not isinstance(years, list) or not all(
        isinstance(y, int) and not isinstance(y, bool) and 1 <= y <= 100 for y in years
    ):
        fields.fail(_BAD_YEARS())
    channel_items = item.get("channels")
    if not isinstance(channel_items, list) or not channel_items:
        fields.fail(_NO_CHANNELS())
    channels = tuple(
        _channel(value, fields, n, policy=(index, ident)) for n, value in enumerate(channel_items)
    )
    branch = fields.obj("branch", required=True)
    assert branch is not None
    branch_fields = fields.inside(branch, "branch", _BRANCH_AT)
    branch_fields.no_unknown({"bring", "note", "note_zh", "steps", "steps_zh", "sources"})
    bring = branch_fields.texts("bring", required=True)
    for thing in bring:
        if thing not in _ITEMS:
            branch_fields.fail(_UNKNOWN_ITEM(item=repr(thing), known=", ".join(_ITEMS)))
    if len(set(bring)) != len(bring):
        branch_fields.fail(_ITEM_TWICE())
    stops = fields.texts("stops_working")
    for thing in stops:
        if thing not in _STOPS:
            fields.fail(_UNKNOWN_STOP(item=repr(thing), known=", ".join(_STOPS)))
    if len(set(stops)) != len(stops):
        fields.fail(_STOP_TWICE())
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
        branch_steps=tuple(branch_fields.texts("steps")),
        branch_steps_zh=tuple(branch_fields.texts("steps_zh")),
        branch_sources=tuple(branch_fields.texts("sources")),
        term=fields.text("term"),
        term_zh=fields.text("term_zh"),
        stops_working=tuple(stops),
        confidence=fields.confidence(),
        notes=fields.text("notes"),
        origin=where,
    )


def _channel(item: object, entry: _Fields, index: int, *, policy: tuple[int, str]) -> PolicyChannel:
    label = f"channels[{index}]"
    if not isinstance(item, dict):
        reason = _CHANNEL_NOT_OBJECT(index=policy[0], id=repr(policy[1]), channel=index)
        raise RenewalPolicyError(
            POLICY_FILE(path=entry.where, detail=reason),
            path=entry.where,
            entry=f"{entry.entry}: {label}",
        )
    fields = entry.inside(item, label, _CHANNEL_AT, index=index)
    fields.no_unknown(
        {
            "channel",
            "opens_before",
            "closes_after",
            "key_types",
            "note",
            "menu",
            "menu_zh",
            "steps",
            "steps_zh",
            "sources",
            "other_closes",
        }
    )
    name = fields.text("channel", required=True)
    if name not in _CHANNELS:
        fields.fail(_BAD_CHANNEL(choices=", ".join(_CHANNELS), value=repr(name)))
    assert name is not None
    edges = []
    for key in ("opens_before", "closes_after"):
        if key not in item:
            fields.fail(_NO_EDGE(key=key, days=_DAYS, months=_MONTHS))
        edges.append(_edge(item[key], fields, key))
    if edges[0] is None and edges[1] is None:
        fields.fail(_BOTH_OPEN())
    return PolicyChannel(
        channel=name,
        opens_before=edges[0],
        closes_after=edges[1],
        key_types=tuple(fields.texts("key_types")),
        note=fields.text("note"),
        menu_zh=tuple(fields.texts("menu_zh")),
        menu=tuple(fields.texts("menu")),
        steps=tuple(fields.texts("steps")),
        steps_zh=tuple(fields.texts("steps_zh")),
        sources=tuple(fields.texts("sources")),
        other_closes=_other_closes(item.get("other_closes"), fields),
    )


def _other_closes(value: object, fields: _Fields) -> tuple[OtherClose, ...]:
    """The other ends of a channel's window that some sources give."""
    if value is None:
        return ()
    if not isinstance(value, list):
        fields.fail(NOT_LIST(key="other_closes"))
    others = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            fields.fail(_OTHER_NOT_OBJECT(index=index))
        sub = fields.inside(item, f"other_closes[{index}]", _OTHER_AT, index=index)
        sub.no_unknown({"closes_after", "source"})
        edge = _edge(item.get("closes_after"), sub, "closes_after")
        if edge is None:
            sub.fail(_OTHER_NO_EDGE(days=_DAYS, months=_MONTHS))
        source = sub.text("source", required=True)
        assert source is not None
        others.append(OtherClose(edge, source))
    return tuple(others)


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
        _BAD_EDGE(key=key, days=_DAYS, months=_MONTHS, value=json.dumps(value, ensure_ascii=False))
    )
    return None  # not reached: fail() raises


def _issuer_hint(item: object, where: str, index: int) -> IssuerHint:
    entry = f"issuer_hints[{index}]"
    if not isinstance(item, dict):
        raise RenewalPolicyError(
            POLICY_FILE(path=where, detail=_HINT_NOT_OBJECT(index=index)),
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
