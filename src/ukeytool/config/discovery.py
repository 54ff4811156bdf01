"""Finding PKCS#11 modules: the command line, ``PKCS11_MODULE``, the p11-kit registry, a catalogue.

Nothing here loads a module: a found file is only checked with
:func:`ukeytool.pkcs11.backend.check_module_file` (a regular file, an ELF shared library for
this CPU), and a file that check would refuse is still reported, with the reason in
:attr:`FoundModule.problem`.

Where modules come from, in this order (the first source of a file wins; the others
are named in its note):

1. ``explicit`` paths (the ``--module`` option);
2. ``$PKCS11_MODULE``;
3. the p11-kit registry: ``*.module`` files in ``~/.config/pkcs11/modules`` (user),
   ``/etc/pkcs11/modules`` (admin) and ``/usr/share/p11-kit/modules`` (packages), merged
   key by key as p11-kit does, honouring ``enable-in`` / ``disable-in`` for the program
   name ``ukeytool``;
4. the catalogue of known vendor modules: ``$UKEYTOOL_CATALOGUE``, then
   ``$XDG_CONFIG_HOME/ukeytool/modules.json``, then the one shipped in
   ``ukeytool/data/modules.json``; an entry whose files are absent is skipped.

The same file reached twice (a symlink, two spellings) is reported once, by real path.
The rules are written out for users in ``docs/modules.md``.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import functools
import glob
import json
import logging
import os
import re
import stat
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, NoReturn

from ..errors import ModuleError, UsageError
from ..i18n import N_
from .jsonfile import JsonFileProblem, read_json_file

__all__ = [
    "BankHint",
    "Catalogue",
    "CatalogueEntry",
    "CatalogueError",
    "FoundModule",
    "default_catalogue_paths",
    "default_library_dirs",
    "default_p11kit_dirs",
    "discover",
    "load_catalogue",
    "no_module_message",
    "p11kit_module_dirs",
    "user_catalogue_path",
]

log = logging.getLogger("ukeytool.discovery")

#: The program name p11-kit's ``enable-in`` / ``disable-in`` lists are matched against.
PROGRAM_NAME: Final = "ukeytool"
#: The catalogue format this ukeytool reads.
CATALOGUE_VERSION: Final = 1
#: The catalogue shipped with ukeytool.
SHIPPED_CATALOGUE: Final = Path(__file__).parent.parent / "data" / "modules.json"

P11KIT_PACKAGE_DIR: Final = Path("/usr/share/p11-kit/modules")
P11KIT_ADMIN_DIR: Final = Path("/etc/pkcs11/modules")
P11KIT_SYSTEM_CONF: Final = Path("/etc/pkcs11/pkcs11.conf")
#: Relative to ``$HOME``; p11-kit does not follow ``$XDG_CONFIG_HOME``.
P11KIT_USER_DIR: Final = Path(".config/pkcs11/modules")
P11KIT_USER_CONF: Final = Path(".config/pkcs11/pkcs11.conf")

#: A catalogue pattern that matches more files than this is cut short (with a warning).
MAX_MATCHES: Final = 64
#: Larger registry or catalogue files are refused rather than read.
MAX_CONFIG_BYTES: Final = 1 << 20

_CONFIDENCE: Final = ("high", "medium", "low")
_INTERFACES: Final = ("pkcs11", "skf")
_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_P11KIT_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.module\Z")
_PLACEHOLDER: Final = re.compile(r"\{[^{}]*\}")


# --- what discovery returns -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FoundModule:
    """A module file that discovery found, and where from. Nothing was loaded."""

    path: str
    """The file's path, absolute (symlinks kept as found)."""
    source: str
    """Where it was found first: ``"option"``, ``"env:PKCS11_MODULE"``,
    ``"p11-kit:<.module file>"`` or ``"catalogue:<vendor>"``."""
    name: str | None = None
    """The p11-kit module name or the catalogue entry's id."""
    vendor: str | None = None
    """The vendor, from the catalogue, e.g. ``"Feitian (飞天诚信)"``."""
    enabled: bool = True
    """Whether ukeytool uses it when no module is given. False when the p11-kit registry
    disables it for ukeytool, for a p11-kit trust-policy module (the system's CA
    certificates, not a key) and for a catalogue entry that is not PKCS#11 (SKF)."""
    note: str | None = None
    """Why it is not enabled, and the other sources that found the same file."""
    problem: str | None = None
    """Why the file cannot be a module for this Python (the message of the error
    :func:`~ukeytool.pkcs11.backend.check_module_file` would raise); None when it passes."""

    @property
    def usable(self) -> bool:
        """Enabled, and the file passes the checks done before loading."""
        return self.enabled and self.problem is None


class CatalogueError(UsageError):
    """A catalogue file cannot be read or breaks the format; the message names the file
    and, for an entry, its index (``modules[2]``).

    The message is English (templates marked for translation: ``catalogue {path}:
    {detail}``, the entry's, the reason's); the command line shows it in the user's
    language."""

    def __init__(self, message: str, *, path: str, index: int | None = None) -> None:
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


# --- the catalogue --------------------------------------------------------------------


def user_catalogue_path(env: Mapping[str, str] | None = None) -> Path | None:
    """``$XDG_CONFIG_HOME/ukeytool/modules.json`` (default ``~/.config/...``), whether or
    not it exists; None when there is no home directory to put it in."""
    environ = os.environ if env is None else env
    config = environ.get("XDG_CONFIG_HOME", "")
    if os.path.isabs(config):
        return Path(config) / "ukeytool" / "modules.json"
    home = _home(env)
    return None if home is None else Path(home) / ".config" / "ukeytool" / "modules.json"


def default_catalogue_paths(env: Mapping[str, str] | None = None) -> list[Path]:
    """The catalogue files to read, highest priority first: each path in
    ``$UKEYTOOL_CATALOGUE`` (``:``-separated), the user catalogue when it exists, and
    the shipped one."""
    environ = os.environ if env is None else env
    paths = [Path(p) for p in environ.get("UKEYTOOL_CATALOGUE", "").split(os.pathsep) if p]
    user = user_catalogue_path(env)
    if user is not None and user.exists():
        paths.append(user)
    paths.append(SHIPPED_CATALOGUE)
    return paths


def load_catalogue(
    paths: Sequence[Path] | None = None, *, env: Mapping[str, str] | None = None
) -> Catalogue:
    """Read and merge catalogue files, highest priority first (default:
    :func:`default_catalogue_paths`).

    An entry whose id appeared in an earlier file is dropped (the earlier one replaces
    it); bank hints are kept in order. Every file given must exist and be valid:
    :class:`CatalogueError` names the file and the entry otherwise.
    """
    files = list(default_catalogue_paths(env) if paths is None else paths)
    entries: list[CatalogueEntry] = []
    hints: list[BankHint] = []
    seen: dict[str, str] = {}
    for path in files:
        file_entries, file_hints = _read_catalogue_file(Path(path))
        for entry in file_entries:
            if entry.id in seen:
                log.debug("catalogue %s: entry %r replaced by %s", path, entry.id, seen[entry.id])
                continue
            seen[entry.id] = entry.origin
            entries.append(entry)
        hints.extend(file_hints)
    return Catalogue(tuple(entries), tuple(hints), tuple(str(p) for p in files))


# The error messages, in English and marked for translation: the file, then the entry
# (its label a template of its own, the reason nested in {detail}), then the reason.
_CATALOGUE_FILE: Final = N_("catalogue {path}: {detail}")
_MODULE_AT: Final = N_("modules[{index}]: {detail}")
_MODULE_ID_AT: Final = N_("modules[{index}] (id {id}): {detail}")
_HINT_AT: Final = N_("bank_hints[{index}]: {detail}")
_TOP_AT: Final = N_("the top level: {detail}")


def _catalogue_error(where: str, reason: str, index: int | None = None) -> CatalogueError:
    return CatalogueError(
        _CATALOGUE_FILE.format(path=where, detail=reason), path=where, index=index
    )


def _read_catalogue_file(path: Path) -> tuple[list[CatalogueEntry], list[BankHint]]:
    where = str(path)
    try:
        data = read_json_file(path, limit=MAX_CONFIG_BYTES)
    except JsonFileProblem as exc:
        raise _catalogue_error(where, str(exc)) from None
    if not isinstance(data, dict):
        raise _catalogue_error(
            where, N_('the top level must be an object with "version" and "modules"')
        )
    _no_unknown_keys(data, {"version", "modules", "bank_hints"}, where, None, _TOP_AT, values={})
    version = data.get("version")
    if version != CATALOGUE_VERSION or isinstance(version, bool):
        template = N_(
            '"version" must be {version} (the catalogue format this ukeytool reads), found {found}'
        )
        raise _catalogue_error(
            where, template.format(version=CATALOGUE_VERSION, found=json.dumps(version))
        )
    modules = data.get("modules", [])
    hints = data.get("bank_hints", [])
    for key, value in (("modules", modules), ("bank_hints", hints)):
        if not isinstance(value, list):
            raise _catalogue_error(where, N_('"{key}" must be a list').format(key=key))
    entries: list[CatalogueEntry] = []
    ids: set[str] = set()
    for index, item in enumerate(modules):
        entry = _entry(item, where, index)
        if entry.id in ids:
            reason = N_("id {id} is used by an earlier entry of the same file").format(
                id=repr(entry.id)
            )
            raise _catalogue_error(
                where, _MODULE_AT.format(index=index, detail=reason), index=index
            )
        ids.add(entry.id)
        entries.append(entry)
    return entries, [_hint(item, where, index) for index, item in enumerate(hints)]


def _entry(item: object, where: str, index: int) -> CatalogueEntry:
    if not isinstance(item, dict):
        reason = N_("modules[{index}] must be an object").format(index=index)
        raise _catalogue_error(where, reason, index=index)
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
        fields.fail(
            N_('"id" {value} must be letters, digits, ".", "_" or "-", starting alnum').format(
                value=repr(ident)
            )
        )
    interface = fields.text("interface") or "pkcs11"
    if interface not in _INTERFACES:
        fields.fail(
            N_('"interface" must be one of {choices}, not {value}').format(
                choices=", ".join(_INTERFACES), value=repr(interface)
            )
        )
    paths = fields.text_list("paths", required=True)
    for pattern in paths:
        why = _pattern_problem(pattern)
        if why:
            fields.fail(N_("path {pattern}: {detail}").format(pattern=repr(pattern), detail=why))
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
        reason = N_("bank_hints[{index}] must be an object").format(index=index)
        raise _catalogue_error(where, reason, index=index)
    fields = _Fields(item, where, index, _HINT_AT)
    fields.no_unknown({"names", "bank", "bank_name", "bank_name_zh", "source", "confidence"})
    names = fields.text_list("names", required=True)
    if not names:
        fields.fail(N_('"names" must list at least one file-name pattern'))
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
    entry's ``label``, a template with ``{detail}`` for the reason, and its values)."""

    def __init__(
        self,
        item: dict[str, Any],
        where: str,
        index: int,
        label: str,
        values: dict[str, object] | None = None,
    ) -> None:
        self.item = item
        self.where = where
        self.index = index
        self.label = label
        self.values = {"index": index, **(values or {})}

    def fail(self, reason: str) -> NoReturn:
        detail = self.label.format(detail=reason, **self.values)
        raise _catalogue_error(self.where, detail, index=self.index)

    def no_unknown(self, known: set[str]) -> None:
        _no_unknown_keys(self.item, known, self.where, self.index, self.label, values=self.values)

    def text(self, key: str, *, required: bool = False) -> str:
        value = self.item.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value.strip():
            self.fail(N_('"{key}" must be a non-empty string').format(key=key))
        return str(value)

    def text_list(self, key: str, *, required: bool = False) -> list[str]:
        value = self.item.get(key)
        if value is None and not required:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.fail(N_('"{key}" must be a list of non-empty strings').format(key=key))
        return [str(v) for v in value]

    def confidence(self) -> str | None:
        value = self.text("confidence")
        if value and value not in _CONFIDENCE:
            self.fail(
                N_('"confidence" must be one of {choices}, not {value}').format(
                    choices=", ".join(_CONFIDENCE), value=repr(value)
                )
            )
        return value or None


def _no_unknown_keys(
    item: dict[str, Any],
    known: set[str],
    where: str,
    index: int | None,
    label: str,
    *,
    values: dict[str, object],
) -> None:
    for key in item:
        if not isinstance(key, str) or (key not in known and not key.startswith("$")):
            allowed = ", ".join(sorted(known))
            reason = N_(
                'unknown key {key} (known: {known}; keys starting with "$" are comments)'
            ).format(key=repr(key), known=allowed)
            raise _catalogue_error(where, label.format(detail=reason, **values), index=index)


def _pattern_problem(pattern: str) -> str | None:
    # Not templates: "{libdir}" is meant literally (these are never formatted).
    if "\x00" in pattern:
        return N_("contains a NUL byte")
    placeholders = _PLACEHOLDER.findall(pattern)
    if placeholders and (placeholders != ["{libdir}"] or not pattern.startswith("{libdir}/")):
        return N_('the only placeholder is "{libdir}", once, at the start')
    if not pattern.startswith(("/", "~/", "{libdir}/")):
        return N_('must be absolute, or start with "~/" or "{libdir}/"')
    return None


@functools.cache
def _multiarch() -> str:
    import sysconfig

    value = sysconfig.get_config_var("MULTIARCH")
    if isinstance(value, str) and value:
        return value
    return f"{os.uname().machine}-linux-gnu"


@functools.cache
def default_library_dirs() -> tuple[str, ...]:
    """What ``{libdir}`` in a catalogue path stands for, in this order."""
    arch = _multiarch()
    return (
        f"/usr/lib/{arch}",
        "/usr/lib64",
        "/usr/lib",
        f"/usr/local/lib/{arch}",
        "/usr/local/lib64",
        "/usr/local/lib",
        f"/lib/{arch}",
        "/lib64",
        "/lib",
    )


def _expand(pattern: str, home: str | None, libdirs: Sequence[str]) -> Iterator[str]:
    """The existing files a catalogue pattern names."""
    if pattern.startswith("~/"):
        if home is None:
            return
        bases = [home + pattern[1:]]
    elif pattern.startswith("{libdir}/"):
        bases = [d.rstrip("/") + pattern[len("{libdir}") :] for d in libdirs]
    else:
        bases = [pattern]
    for base in bases:
        if not glob.has_magic(base):
            if os.path.exists(base):
                yield base
            continue
        matches = sorted(glob.glob(base))
        if len(matches) > MAX_MATCHES:
            _warn(
                N_(
                    "catalogue pattern {pattern} matches {n} files; "
                    "only the first {limit} are checked"
                ),
                pattern=base,
                n=len(matches),
                limit=MAX_MATCHES,
            )
            matches = matches[:MAX_MATCHES]
        for match in matches:
            if os.path.exists(match):
                yield match


def _from_catalogue(
    catalogue: Catalogue, home: str | None, libdirs: Sequence[str]
) -> Iterator[FoundModule]:
    for entry in catalogue.entries:
        found = False
        for pattern in entry.paths:
            for path in _expand(pattern, home, libdirs):
                found = True
                note = None
                if entry.interface == "skf":
                    note = N_(
                        "an SKF (GM/T 0016) library, not a PKCS#11 module: ukeytool cannot "
                        "read keys through it"
                    )
                yield FoundModule(
                    path=path,
                    source=f"catalogue:{entry.vendor}",
                    name=entry.id,
                    vendor=entry.vendor_label,
                    enabled=entry.interface == "pkcs11",
                    note=note,
                )
        if not found:
            log.debug("catalogue entry %s (%s): no file present", entry.id, entry.origin)


# --- the p11-kit registry -------------------------------------------------------------


def default_p11kit_dirs(
    env: Mapping[str, str] | None = None,
    *,
    system_conf: Path = P11KIT_SYSTEM_CONF,
    user_conf: Path | None = None,
) -> list[Path]:
    """The p11-kit module directories, highest priority first: user, admin, packages.

    Honours p11-kit's ``user-config`` setting (in ``/etc/pkcs11/pkcs11.conf``, then
    ``~/.config/pkcs11/pkcs11.conf``): ``none`` drops the user directory, ``only`` and
    ``override`` keep nothing else.
    """
    home = _home(env)
    user_dir = None if home is None else Path(home) / P11KIT_USER_DIR
    if user_conf is None and home is not None:
        user_conf = Path(home) / P11KIT_USER_CONF
    mode = _user_config_mode(system_conf, "merge")
    if mode != "none" and user_conf is not None:
        mode = _user_config_mode(user_conf, mode)
    system = [P11KIT_ADMIN_DIR, P11KIT_PACKAGE_DIR]
    if user_dir is None or mode == "none":
        return system
    if mode == "only":
        return [user_dir]
    return [user_dir, *system]


def _user_config_mode(conf: Path, default: str) -> str:
    values = _read_p11kit_file(conf, missing_ok=True)
    mode = (values or {}).get("user-config")
    if mode is None:
        return default
    if mode in ("none", "merge", "only"):
        return mode
    if mode == "override":
        return "only"
    _warn(N_("{file}: invalid user-config {value}; taken as 'merge'"), file=conf, value=repr(mode))
    return "merge"


def _warn(template: str, **values: object) -> None:
    """Log a warning in the current language (the CLI's, when it runs discovery):
    ``template`` is English, marked with N_; a ``{detail}`` value is an English sentence
    translated in turn."""
    from ..i18n import _, localize

    if "detail" in values:
        values["detail"] = localize(str(values["detail"]))
    log.warning("%s", _(template).format(**values))


def _parse_p11kit(text: str) -> dict[str, str]:
    """p11-kit's ``name: value`` format; raises ValueError on what p11-kit refuses."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.split("\n"), start=1):
        if raw.startswith("-----BEGIN "):
            raise ValueError(N_("line {number}: unexpected PEM block").format(number=number))
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            raise ValueError(N_("line {number}: unexpected section header").format(number=number))
        name, colon, value = line.partition(":")
        if not colon:
            raise ValueError(
                N_("line {number}: no colon (expected 'name: value')").format(number=number)
            )
        values[name.rstrip()] = value.lstrip()
    return values


def _read_p11kit_file(path: Path, *, missing_ok: bool = False) -> dict[str, str] | None:
    """A registry or config file's values; None (with a warning) when it cannot be used."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        if not missing_ok:
            _warn(N_("p11-kit file {path} vanished while it was read"), path=path)
        return None
    except OSError as exc:
        _warn(N_("p11-kit file {path} ignored: {reason}"), path=path, reason=exc.strerror or exc)
        return None
    if len(raw) > MAX_CONFIG_BYTES:
        _warn(
            N_("p11-kit file {path} ignored: larger than {limit} bytes"),
            path=path,
            limit=MAX_CONFIG_BYTES,
        )
        return None
    try:
        return _parse_p11kit(raw.decode("utf-8", errors="surrogateescape"))
    except ValueError as exc:
        _warn(
            N_("p11-kit file {path} ignored (p11-kit refuses it too): {detail}"),
            path=path,
            detail=str(exc),
        )
        return None


@dataclasses.dataclass
class _Registered:
    name: str
    values: dict[str, str]
    origin: dict[str, Path]


def _load_registry(dirs: Sequence[Path]) -> list[_Registered]:
    """Merge ``*.module`` files as p11-kit does: per module name, key by key, the
    first directory that sets a key wins. Sorted by priority (high first), then name."""
    modules: dict[str, _Registered] = {}
    for directory in dirs:
        try:
            names = sorted(os.listdir(directory))
        except FileNotFoundError:
            log.debug("p11-kit directory %s does not exist", directory)
            continue
        except OSError as exc:
            _warn(
                N_("p11-kit directory {path} ignored: {reason}"),
                path=directory,
                reason=exc.strerror or exc,
            )
            continue
        for filename in names:
            path = Path(directory) / filename
            if not _P11KIT_NAME.match(filename):
                log.debug("p11-kit: %s skipped (not a NAME.module file)", path)
                continue
            try:
                if not stat.S_ISREG(os.stat(path).st_mode):
                    continue
            except OSError:
                continue
            values = _read_p11kit_file(path)
            if values is None:
                continue
            name = filename[: -len(".module")]
            module = modules.setdefault(name, _Registered(name, {}, {}))
            for key, value in values.items():
                if key not in module.values:
                    module.values[key] = value
                    module.origin[key] = path
    return sorted(modules.values(), key=lambda m: (-_priority(m.values), m.name))


def _priority(values: Mapping[str, str]) -> int:
    match = re.match(r"\s*[-+]?\d+", values.get("priority", ""))
    return int(match.group()) if match else 0


def _words(listing: str) -> list[str]:
    return [w for w in re.split(r"[,\s]+", listing) if w]


def _enabled_for(module: _Registered, program: str) -> tuple[bool, str | None]:
    """p11-kit's rule: ``enable-in`` wins over ``disable-in``; neither means enabled."""
    enable_in = module.values.get("enable-in")
    disable_in = module.values.get("disable-in")
    if enable_in is not None:
        if program in _words(enable_in):
            return True, None
        where = module.origin["enable-in"]
        note = N_("not enabled for {program}: enable-in: {value} ({file})")
        return False, note.format(program=program, value=enable_in, file=where)
    if disable_in is not None and program in _words(disable_in):
        where = module.origin["disable-in"]
        note = N_("disabled for {program}: disable-in: {value} ({file})")
        return False, note.format(program=program, value=disable_in, file=where)
    return True, None


@functools.cache
def _pkg_config_module_dir() -> str | None:
    """p11-kit's module directory as its pkg-config file says (needs the -dev package)."""
    import shutil
    import subprocess

    exe = shutil.which("pkg-config") or shutil.which("pkgconf")
    if exe is None:
        return None
    try:
        done = subprocess.run(
            [exe, "--variable=p11_module_path", "p11-kit-1"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    value = done.stdout.strip()
    return value if done.returncode == 0 and os.path.isabs(value) else None


def p11kit_module_dirs() -> tuple[str, ...]:
    """Where p11-kit looks for a relative ``module:`` path: the usual places for this
    CPU. :func:`discover` also asks ``pkg-config`` when none of them has the file."""
    arch = _multiarch()
    return (
        f"/usr/lib/{arch}/pkcs11",
        "/usr/lib64/pkcs11",
        "/usr/lib/pkcs11",
        "/usr/local/lib/pkcs11",
    )


def _resolve_module(value: str, module_dirs: Sequence[Path] | None) -> str | None:
    """The file a ``module:`` value names, or None when it is not installed."""
    if os.path.isabs(value):
        return value if os.path.exists(value) else None
    dirs = list(p11kit_module_dirs()) if module_dirs is None else [str(d) for d in module_dirs]
    for directory in dirs:
        candidate = os.path.join(directory, value)
        if os.path.exists(candidate):
            return candidate
    if module_dirs is None:
        extra = _pkg_config_module_dir()
        if extra is not None and extra not in dirs:
            candidate = os.path.join(extra, value)
            if os.path.exists(candidate):
                return candidate
    return None


def _from_registry(
    dirs: Sequence[Path], module_dirs: Sequence[Path] | None
) -> Iterator[FoundModule]:
    for module in _load_registry(dirs):
        value = module.values.get("module", "")
        if not value:
            kind = "a remote module" if "remote" in module.values else "no module: line"
            log.debug("p11-kit module %s skipped: %s", module.name, kind)
            continue
        path = _resolve_module(value, module_dirs)
        if path is None:
            log.debug("p11-kit module %s: %s is not installed", module.name, value)
            continue
        enabled, note = _enabled_for(module, PROGRAM_NAME)
        if enabled and module.values.get("trust-policy") == "yes":
            enabled = False
            note = N_(
                "a trust-policy module (the system's CA certificates, not a key); "
                "give it with --module to list it"
            )
        yield FoundModule(
            path=path,
            source=f"p11-kit:{module.origin['module']}",
            name=module.name,
            enabled=enabled,
            note=note,
        )


# --- putting it together --------------------------------------------------------------


def discover(
    *,
    explicit: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    p11kit_dirs: Sequence[Path] | None = None,
    catalogue_paths: Sequence[Path] | None = None,
    include_catalogue: bool = True,
    p11kit_module_path: Sequence[Path] | None = None,
    library_dirs: Sequence[str] | None = None,
) -> list[FoundModule]:
    """Every module ukeytool can find, first source first; nothing is loaded.

    ``explicit``: paths given on the command line. ``env``: the environment
    (``PKCS11_MODULE``, ``UKEYTOOL_CATALOGUE``, ``XDG_CONFIG_HOME``, ``HOME``); default
    :data:`os.environ`. ``p11kit_dirs``: registry directories, highest priority first
    (default :func:`default_p11kit_dirs`; ``()`` skips the registry).
    ``catalogue_paths``: catalogue files, highest priority first (default
    :func:`default_catalogue_paths`). ``p11kit_module_path``: where relative ``module:``
    paths are looked up (default: the usual places, then ``pkg-config``).
    ``library_dirs``: what ``{libdir}`` stands for (default :func:`default_library_dirs`).

    Explicit and ``PKCS11_MODULE`` paths are always listed, even when absent (then with a
    :attr:`~FoundModule.problem`); registry and catalogue entries only when their file
    exists. Raises :class:`CatalogueError` for a catalogue that cannot be read.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    candidates: list[FoundModule] = []
    for path in explicit:
        if path:
            candidates.append(FoundModule(path=_absolute(path), source="option"))
    from_env = environ.get("PKCS11_MODULE", "")
    if from_env:
        candidates.append(FoundModule(path=_absolute(from_env), source="env:PKCS11_MODULE"))
    dirs = default_p11kit_dirs(env) if p11kit_dirs is None else p11kit_dirs
    candidates.extend(_from_registry([Path(d) for d in dirs], p11kit_module_path))
    if include_catalogue:
        catalogue = load_catalogue(catalogue_paths, env=env)
        libdirs = default_library_dirs() if library_dirs is None else library_dirs
        candidates.extend(_from_catalogue(catalogue, _home(env), libdirs))
    return [_checked(m) for m in _merge(candidates)]


def _absolute(path: str) -> str:
    return path if "\x00" in path else os.path.abspath(path)


def _merge(candidates: Sequence[FoundModule]) -> list[FoundModule]:
    """One entry per real path: the first keeps its place; each other source is named
    once in its note and fills in a missing name or vendor."""
    merged: list[FoundModule] = []
    index: dict[str, int] = {}
    sources: dict[str, set[str]] = {}
    for candidate in candidates:
        key = candidate.path if "\x00" in candidate.path else os.path.realpath(candidate.path)
        if key not in index:
            index[key] = len(merged)
            sources[key] = {candidate.source}
            merged.append(candidate)
            continue
        first = merged[index[key]]
        if candidate.source in sources[key]:
            log.debug("%s: %s is %s again", candidate.source, candidate.path, first.path)
            continue
        sources[key].add(candidate.source)
        merged[index[key]] = dataclasses.replace(
            first,
            name=first.name or candidate.name,
            vendor=first.vendor or candidate.vendor,
            note=_also_found(first.note, candidate.source),
        )
    return merged


def _also_found(note: str | None, source: str) -> str:
    """``note`` and that the file was also found via ``source``. In the template for two,
    the later sources are a {detail} of their own, so that every one is translated."""
    if not note:
        return N_("also found via {source}").format(source=source)
    return N_("{detail}; also found via {detail_source}").format(detail=note, detail_source=source)


def _checked(module: FoundModule) -> FoundModule:
    from ..pkcs11.backend import check_module_file

    try:
        check_module_file(module.path)
    except (ModuleError, UsageError) as exc:
        return dataclasses.replace(module, problem=str(exc))
    return module


def _home(env: Mapping[str, str] | None) -> str | None:
    environ = os.environ if env is None else env
    home = environ.get("HOME", "")
    if os.path.isabs(home):
        return home
    if env is None:
        guess = os.path.expanduser("~")
        return guess if os.path.isabs(guess) else None
    return None


def no_module_message(env: Mapping[str, str] | None = None, *, lang: str | None = None) -> str:
    """One line: how to point ukeytool at the key's module when discovery found none, in
    ``lang`` (default: the current language). The English sentence is also translated
    when it is shown later, as every error message of the command line is."""
    from ..i18n import _, using

    user = user_catalogue_path(env)
    if user is None:
        template = N_(
            "no PKCS#11 module found: pass --module PATH or set PKCS11_MODULE to the key's "
            "PKCS#11 library (a .so file from the vendor's driver package, usually under /opt "
            "or /usr/lib, e.g. libshuttle_p11v220.so, libwdpkcs_*.so, libgm3000_pkcs11.so); "
            "some keys come with no PKCS#11 module at all, only an SKF (GM/T 0016) library or "
            "a Windows CSP, and ukeytool cannot read those"
        )
    else:
        template = N_(
            "no PKCS#11 module found: pass --module PATH or set PKCS11_MODULE to the key's "
            "PKCS#11 library (a .so file from the vendor's driver package, usually under /opt "
            "or /usr/lib, e.g. libshuttle_p11v220.so, libwdpkcs_*.so, libgm3000_pkcs11.so) "
            "or add it to {path}; some keys come with no PKCS#11 module at all, only an SKF "
            "(GM/T 0016) library or a Windows CSP, and ukeytool cannot read those"
        )
    with using(lang):
        return _(template).format(path=user)
