"""The catalogue of known vendor modules: where each vendor's PKCS#11 (or SKF) library
is usually installed, and the module file names that hint at a bank.

Read from ``$UKEYTOOL_CATALOGUE``, then ``$XDG_CONFIG_HOME/ukeytool/modules.json``, then
the one shipped in ``ukeytool/data/modules.json`` (highest priority first); a user entry
with the same id replaces a shipped one. Each file is validated as it is read: a
:class:`CatalogueError` names the file, the entry and the reason. Discovery
(:mod:`ukeytool.config.discovery`) looks for the files the entries name.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence

from ..errors import UsageError
from ..i18n.message import Message, Param, Template, template
from .jsonfile import (
    BAD_CONFIDENCE,
    DUPLICATE_ID,
    NOT_LIST,
    NOT_TEXT,
    NOT_TEXT_LIST,
    UNKNOWN_KEY,
    JsonFileProblem,
    read_json_file,
)
from .paths import join_path, path_text

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    import pathlib
    from typing import Any, Final, NoReturn

    SHIPPED_CATALOGUE: pathlib.Path
    log: logging.Logger
    """The catalogue shipped with ukeytool."""

__all__ = [
    "BankHint",
    "Catalogue",
    "CatalogueEntry",
    "CatalogueError",
    "default_catalogue_paths",
    "home_directory",
    "load_catalogue",
    "user_catalogue_path",
]


#: The catalogue format this ukeytool reads.
CATALOGUE_VERSION: Final = 1
#: The catalogue shipped with ukeytool (:data:`SHIPPED_CATALOGUE`, a Path made on first
#: use: the listing reads the file without importing pathlib).
_SHIPPED_FILE: Final = join_path(os.path.dirname(os.path.dirname(__file__)), "data", "modules.json")
#: Larger catalogue (or p11-kit registry) files are refused rather than read.
MAX_CONFIG_BYTES: Final = 1 << 20

_CONFIDENCE: Final = ("high", "medium", "low")
_INTERFACES: Final = ("pkcs11", "skf")
_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_PLACEHOLDER: Final = re.compile(r"\{[^{}]*\}")


class CatalogueError(UsageError):
    """A catalogue file cannot be read or breaks the format; the message names the file
    and, for an entry, its index (``modules[2]``).

    The message is data (``catalogue.file``: the file, the entry, the reason nested in
    it), shown in any language with ``.message.render(lang)``."""

    def __init__(self, message: Message, *, path: str, index: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        """The catalogue file."""
        self.index = index
        """The entry's index in its list, or None for a problem with the whole file."""


@dataclasses.dataclass(frozen=True)
class CatalogueEntry:
    """A known module: a vendor, a product, and where its file is usually installed."""

    id: str
    """Unique within the merged catalogue; a user entry with the same id replaces a
    shipped one."""
    vendor: str
    paths: tuple[str, ...]
    """Path patterns: absolute, ``~/...`` or ``{libdir}/...``; globs allowed."""
    vendor_zh: str | None = None
    product: str | None = None
    interface: str = "pkcs11"
    """``"pkcs11"``, or ``"skf"`` for a GM/T 0016 library ukeytool cannot use (listed so
    that it can say so)."""
    source: str | None = None
    """Where the facts come from."""
    confidence: str | None = None
    """``"high"``, ``"medium"`` or ``"low"``."""
    notes: str | None = None
    origin: str = ""
    """The catalogue file the entry was read from."""

    @property
    def vendor_label(self) -> str:
        """``"Feitian (飞天诚信)"``, or the vendor alone when there is no Chinese name."""
        return f"{self.vendor} ({self.vendor_zh})" if self.vendor_zh else self.vendor


@dataclasses.dataclass(frozen=True)
class BankHint:
    """A module file name that hints at a bank (rebranded builds such as ``*_spdb``).

    A hint only: an explicit user choice beats it, and it beats the issuer's name.
    """

    names: tuple[str, ...]
    """Glob patterns matched case-insensitively against the module's file name."""
    bank: str
    """A short code, e.g. ``"SPDB"``."""
    bank_name: str | None = None
    bank_name_zh: str | None = None
    source: str | None = None
    confidence: str | None = None
    origin: str = ""

    def matches(self, module_path: str) -> bool:
        """Whether the module file's name matches one of :attr:`names`."""
        base = os.path.basename(module_path).lower()
        return any(fnmatch.fnmatchcase(base, pattern.lower()) for pattern in self.names)


@dataclasses.dataclass(frozen=True)
class Catalogue:
    """The merged catalogue: entries and bank hints, highest-priority file first."""

    entries: tuple[CatalogueEntry, ...] = ()
    bank_hints: tuple[BankHint, ...] = ()
    files: tuple[str, ...] = ()
    """The files read, highest priority first."""

    def bank_hint(self, module_path: str) -> BankHint | None:
        """The first bank hint whose file-name pattern matches ``module_path``."""
        return next((h for h in self.bank_hints if h.matches(module_path)), None)


def __getattr__(name: str) -> Any:
    if name == "log":  # discovery's logger (imports logging, as discovery does anyway)
        import logging

        return logging.getLogger("ukeytool.discovery")
    if name == "SHIPPED_CATALOGUE":
        from pathlib import Path

        value = Path(_SHIPPED_FILE)
        globals()[name] = value  # (and a test may replace it)
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _debug(message: str, *args: object) -> None:
    # Without logging imported nobody asked for debug records: they are dropped.
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.getLogger("ukeytool.discovery").debug(message, *args)


def _shipped_file() -> str:
    replaced = globals().get("SHIPPED_CATALOGUE")
    return _SHIPPED_FILE if replaced is None else path_text(replaced)


def user_catalogue_path(env: Mapping[str, str] | None = None) -> pathlib.Path | None:
    """``$XDG_CONFIG_HOME/ukeytool/modules.json`` (default ``~/.config/...``), whether or
    not it exists; None when there is no home directory to put it in."""
    from pathlib import Path

    user = _user_catalogue_file(env)
    return None if user is None else Path(user)


def _user_catalogue_file(env: Mapping[str, str] | None) -> str | None:
    environ = os.environ if env is None else env
    config = environ.get("XDG_CONFIG_HOME", "")
    if os.path.isabs(config):
        return join_path(config, "ukeytool", "modules.json")
    home = home_directory(env)
    return None if home is None else join_path(home, ".config", "ukeytool", "modules.json")


def default_catalogue_paths(env: Mapping[str, str] | None = None) -> list[pathlib.Path]:
    """The catalogue files to read, highest priority first: each path in
    ``$UKEYTOOL_CATALOGUE`` (``:``-separated), the user catalogue when it exists, and
    the shipped one."""
    from pathlib import Path

    return [Path(p) for p in _default_catalogue_files(env)]


def _default_catalogue_files(env: Mapping[str, str] | None) -> list[str]:
    """:func:`default_catalogue_paths` as text."""
    environ = os.environ if env is None else env
    paths = [path_text(p) for p in environ.get("UKEYTOOL_CATALOGUE", "").split(os.pathsep) if p]
    user = _user_catalogue_file(env)
    if user is not None and os.path.exists(user):
        paths.append(user)
    paths.append(_shipped_file())
    return paths


def load_catalogue(
    paths: Sequence[pathlib.Path] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    on_broken: Callable[[CatalogueError], None] | None = None,
) -> Catalogue:
    """Read and merge catalogue files, highest priority first (default:
    :func:`default_catalogue_paths`).

    An entry whose id appeared in an earlier file is dropped (the earlier one replaces
    it); bank hints are kept in order. Every file given must exist and be valid:
    :class:`CatalogueError` names the file and the entry otherwise; with ``on_broken``,
    that error is handed to it instead (it may raise it) and the file is skipped.
    """
    files: list[str | os.PathLike[str]] = [
        *(_default_catalogue_files(env) if paths is None else paths)
    ]
    entries: list[CatalogueEntry] = []
    hints: list[BankHint] = []
    seen: dict[str, str] = {}
    for path in files:
        try:
            file_entries, file_hints = _read_catalogue_file(path_text(path))
        except CatalogueError as exc:
            if on_broken is None:
                raise
            on_broken(exc)
            continue
        for entry in file_entries:
            if entry.id in seen:
                _debug("catalogue %s: entry %r replaced by %s", path, entry.id, seen[entry.id])
                continue
            seen[entry.id] = entry.origin
            entries.append(entry)
        hints.extend(file_hints)
    return Catalogue(tuple(entries), tuple(hints), tuple(str(p) for p in files))


# The error messages, in English and marked for translation: the file, then the entry


def home_directory(env: Mapping[str, str] | None) -> str | None:
    """``$HOME`` of ``env`` when it is absolute; for the real environment (``env`` None),
    the user's home as Python finds it."""
    environ = os.environ if env is None else env
    home = environ.get("HOME", "")
    if os.path.isabs(home):
        return home
    if env is None:
        guess = os.path.expanduser("~")
        return guess if os.path.isabs(guess) else None
    return None


# The file, then the entry (its place a template of its own, the reason nested in
# {detail}), then the reason.
CATALOGUE_FILE: Final = template("catalogue.file", "catalogue {path}: {detail}")
_MODULE_AT: Final = template("catalogue.at_module", "modules[{index}]: {detail}")
_MODULE_ID_AT: Final = template("catalogue.at_module_id", "modules[{index}] (id {id}): {detail}")
_HINT_AT: Final = template("catalogue.at_bank_hint", "bank_hints[{index}]: {detail}")
_TOP_AT: Final = template("catalogue.at_top", "the top level: {detail}")

_TOP_NOT_OBJECT: Final = template(
    "catalogue.top_not_object", 'the top level must be an object with "version" and "modules"'
)
_BAD_VERSION: Final = template(
    "catalogue.bad_version",
    '"version" must be {version} (the catalogue format this ukeytool reads), found {found}',
)
_MODULE_NOT_OBJECT: Final = template(
    "catalogue.module_not_object", "modules[{index}] must be an object"
)
_HINT_NOT_OBJECT: Final = template(
    "catalogue.bank_hint_not_object", "bank_hints[{index}] must be an object"
)
_BAD_ID: Final = template(
    "catalogue.bad_id", '"id" {value} must be letters, digits, ".", "_" or "-", starting alnum'
)
_BAD_INTERFACE: Final = template(
    "catalogue.bad_interface", '"interface" must be one of {choices}, not {value}'
)
_BAD_PATH: Final = template("catalogue.bad_path", "path {pattern}: {detail}")
_NO_NAMES: Final = template(
    "catalogue.no_names", '"names" must list at least one file-name pattern'
)
# The braces in these are meant literally: they have no parameters, so nothing fills them.
_PATH_NUL: Final = template("catalogue.path_nul", "contains a NUL byte")
_PATH_PLACEHOLDER: Final = template(
    "catalogue.path_placeholder", 'the only placeholder is "{libdir}", once, at the start'
)
_PATH_NOT_ABSOLUTE: Final = template(
    "catalogue.path_not_absolute", 'must be absolute, or start with "~/" or "{libdir}/"'
)


def _catalogue_error(where: str, reason: Message, index: int | None = None) -> CatalogueError:
    return CatalogueError(CATALOGUE_FILE(path=where, detail=reason), path=where, index=index)


def _read_catalogue_file(path: str) -> tuple[list[CatalogueEntry], list[BankHint]]:
    where = path
    try:
        data = read_json_file(path, limit=MAX_CONFIG_BYTES)
    except JsonFileProblem as exc:
        raise _catalogue_error(where, exc.message) from None
    if not isinstance(data, dict):
        raise _catalogue_error(where, _TOP_NOT_OBJECT())
    _no_unknown_keys(data, {"version", "modules", "bank_hints"}, where, None, _TOP_AT, params={})
    version = data.get("version")
    if version != CATALOGUE_VERSION or isinstance(version, bool):
        raise _catalogue_error(
            where, _BAD_VERSION(version=CATALOGUE_VERSION, found=json.dumps(version))
        )
    modules = data.get("modules", [])
    hints = data.get("bank_hints", [])
    for key, value in (("modules", modules), ("bank_hints", hints)):
        if not isinstance(value, list):
            raise _catalogue_error(where, NOT_LIST(key=key))
    entries: list[CatalogueEntry] = []
    ids: set[str] = set()
    for index, item in enumerate(modules):
        entry = _entry(item, where, index)
        if entry.id in ids:
            reason = _MODULE_AT(index=index, detail=DUPLICATE_ID(id=repr(entry.id)))
            raise _catalogue_error(where, reason, index=index)
        ids.add(entry.id)
        entries.append(entry)
    return entries, [_hint(item, where, index) for index, item in enumerate(hints)]


def _entry(item: object, where: str, index: int) -> CatalogueEntry:
    if not isinstance(item, dict):
        raise _catalogue_error(where, _MODULE_NOT_OBJECT(index=index), index=index)
    ident = item.get("id")
    if isinstance(ident, str) and _ID.match(ident):
        fields = _Fields(item, where, index, _MODULE_ID_AT, {"id": repr(ident)})
    else:
        fields = _Fields(item, where, index, _MODULE_AT)
    fields.no_unknown(
        {
            "id",
            "vendor",
            "vendor_zh",
            "product",
            "interface",
            "paths",
            "source",
            "confidence",
            "notes",
        }
    )
    ident = fields.text("id", required=True)
    if not _ID.match(ident):
        fields.fail(_BAD_ID(value=repr(ident)))
    interface = fields.text("interface") or "pkcs11"
    if interface not in _INTERFACES:
        fields.fail(_BAD_INTERFACE(choices=", ".join(_INTERFACES), value=repr(interface)))
    paths = fields.text_list("paths", required=True)
    for pattern in paths:
        why = _pattern_problem(pattern)
        if why is not None:
            fields.fail(_BAD_PATH(pattern=repr(pattern), detail=why))
    return CatalogueEntry(
        id=ident,
        vendor=fields.text("vendor", required=True),
        paths=tuple(paths),
        vendor_zh=fields.text("vendor_zh") or None,
        product=fields.text("product") or None,
        interface=interface,
        source=fields.text("source") or None,
        confidence=fields.confidence(),
        notes=fields.text("notes") or None,
        origin=where,
    )


def _hint(item: object, where: str, index: int) -> BankHint:
    if not isinstance(item, dict):
        raise _catalogue_error(where, _HINT_NOT_OBJECT(index=index), index=index)
    fields = _Fields(item, where, index, _HINT_AT)
    fields.no_unknown({"names", "bank", "bank_name", "bank_name_zh", "source", "confidence"})
    names = fields.text_list("names", required=True)
    if not names:
        fields.fail(_NO_NAMES())
    return BankHint(
        names=tuple(names),
        bank=fields.text("bank", required=True),
        bank_name=fields.text("bank_name") or None,
        bank_name_zh=fields.text("bank_name_zh") or None,
        source=fields.text("source") or None,
        confidence=fields.confidence(),
        origin=where,
    )


class _Fields:
    """Typed access to one catalogue object, with errors that name file and entry (the
    entry's place, a template with ``{detail}`` for the reason, and its parameters)."""

    def __init__(
        self,
        item: dict[str, Any],
        where: str,
        index: int,
        place: Template,
        params: dict[str, Param] | None = None,
    ) -> None:
        self.item = item
        self.where = where
        self.index = index
        self.place = place
        self.params: dict[str, Param] = {"index": index, **(params or {})}

    def fail(self, reason: Message) -> NoReturn:
        raise _catalogue_error(
            self.where, self.place(**self.params, detail=reason), index=self.index
        )

    def no_unknown(self, known: set[str]) -> None:
        _no_unknown_keys(self.item, known, self.where, self.index, self.place, params=self.params)

    def text(self, key: str, *, required: bool = False) -> str:
        value = self.item.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.fail(NOT_TEXT(key=key))
        return str(value)

    def text_list(self, key: str, *, required: bool = False) -> list[str]:
        value = self.item.get(key)
        if value is None and not required:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(NOT_TEXT_LIST(key=key))
        return [str(v) for v in value]

    def confidence(self) -> str | None:
        value = self.text("confidence")
        if value and value not in _CONFIDENCE:
            self.fail(BAD_CONFIDENCE(choices=", ".join(_CONFIDENCE), value=repr(value)))
        return value or None


def _no_unknown_keys(
    item: dict[str, Any],
    known: set[str],
    where: str,
    index: int | None,
    place: Template,
    *,
    params: dict[str, Param],
) -> None:
    for key in item:
        if not isinstance(key, str) or (key not in known and not key.startswith("$")):
            reason = UNKNOWN_KEY(key=repr(key), known=", ".join(sorted(known)))
            raise _catalogue_error(where, place(**params, detail=reason), index=index)


def _pattern_problem(pattern: str) -> Message | None:
    if "\x00" in pattern:
        return _PATH_NUL()
    placeholders = _PLACEHOLDER.findall(pattern)
    if placeholders and (placeholders != ["{libdir}"] or not pattern.startswith("{libdir}/")):
        return _PATH_PLACEHOLDER()
    if not pattern.startswith(("/", "~/", "{libdir}/")):
        return _PATH_NOT_ABSOLUTE()
    return None
