"""Finding PKCS#11 modules: the command line, ``PKCS11_MODULE``, the p11-kit registry, a catalogue.

Nothing here loads a module: a found file is only checked with
:func:`ukeytool.pkcs11.backend.check_module_file` (a regular file, an ELF shared library for
this CPU), and a file that check would refuse is still reported, with the reason in
:attr:`FoundModule.problem`.

Where modules come from, in this order (the first source of a file wins; the others
are named in its note):

1. ``explicit`` paths (the ``--module`` option);
2. ``$PKCS11_MODULE``;
3. the p11-kit registry (:mod:`ukeytool.config.p11kit`): ``*.module`` files in
   ``~/.config/pkcs11/modules`` (user), ``/etc/pkcs11/modules`` (admin) and
   ``/usr/share/p11-kit/modules`` (packages), merged key by key as p11-kit does,
   honouring ``enable-in`` / ``disable-in`` for the program name ``ukeytool``;
4. the catalogue of known vendor modules (:mod:`ukeytool.config.catalogue`):
   ``$UKEYTOOL_CATALOGUE``, then ``$XDG_CONFIG_HOME/ukeytool/modules.json``, then the
   one shipped in ``ukeytool/data/modules.json``; an entry whose files are absent is
   skipped.

The same file reached twice (a symlink, two spellings) is reported once, by real path.
The rules are written out for users in ``docs/modules.md``.
"""

from __future__ import annotations

import functools
import glob
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

from ..errors import ModuleError, UsageError
from ..i18n.message import Message, template
from ..model._value import replace, value
from .catalogue import (
    CATALOGUE_VERSION,
    MAX_CONFIG_BYTES,
    SHIPPED_CATALOGUE,
    BankHint,
    Catalogue,
    CatalogueEntry,
    CatalogueError,
    default_catalogue_paths,
    load_catalogue,
    log,
    user_catalogue_path,
)
from .p11kit import (
    P11KIT_ADMIN_DIR,
    P11KIT_PACKAGE_DIR,
    P11KIT_SYSTEM_CONF,
    PROGRAM_NAME,
    default_p11kit_dirs,
    multiarch,
    p11kit_module_dirs,
    registered_modules,
    warn,
)
from .paths import home_directory

__all__ = [
    "CATALOGUE_VERSION",
    "MAX_CONFIG_BYTES",
    "P11KIT_ADMIN_DIR",
    "P11KIT_PACKAGE_DIR",
    "P11KIT_SYSTEM_CONF",
    "PROGRAM_NAME",
    "SHIPPED_CATALOGUE",
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
    "no_module",
    "no_module_message",
    "p11kit_module_dirs",
    "user_catalogue_path",
]

_CATALOGUE_IGNORED: Final = template(
    "discovery.catalogue_ignored", "{detail}; that catalogue file is ignored"
)
#: A catalogue pattern that matches more files than this is cut short (with a warning).
MAX_MATCHES: Final = 64

_TOO_MANY: Final = template(
    "discovery.too_many_matches",
    "catalogue pattern {pattern} matches {n} files; only the first {limit} are checked",
)
_SKF: Final = template(
    "discovery.skf_library",
    "an SKF (GM/T 0016) library, not a PKCS#11 module: ukeytool cannot read keys through it",
)
_ALSO_FOUND: Final = template("discovery.also_found", "also found via {source}")
_AND_ALSO_FOUND: Final = template("discovery.and_also_found", "{detail}; also found via {source}")
_NO_MODULE: Final = template(
    "discovery.no_module",
    "no PKCS#11 module found: pass --module PATH or set PKCS11_MODULE to the key's "
    "PKCS#11 library (a .so file from the vendor's driver package, usually under /opt "
    "or /usr/lib, e.g. libshuttle_p11v220.so, libwdpkcs_*.so, libgm3000_pkcs11.so); "
    "some keys come with no PKCS#11 module at all, only an SKF (GM/T 0016) library or "
    "a Windows CSP, and ukeytool cannot read those",
)
_NO_MODULE_USER: Final = template(
    "discovery.no_module_user_catalogue",
    "no PKCS#11 module found: pass --module PATH or set PKCS11_MODULE to the key's "
    "PKCS#11 library (a .so file from the vendor's driver package, usually under /opt "
    "or /usr/lib, e.g. libshuttle_p11v220.so, libwdpkcs_*.so, libgm3000_pkcs11.so) "
    "or add it to {path}; some keys come with no PKCS#11 module at all, only an SKF "
    "(GM/T 0016) library or a Windows CSP, and ukeytool cannot read those",
)


@value
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
    note: Message | None = None
    """Why it is not enabled, and the other sources that found the same file."""
    problem: Message | None = None
    """Why the file cannot be a module for this Python (the message of the error
    :func:`~ukeytool.pkcs11.backend.check_module_file` would raise); None when it passes."""

    @property
    def usable(self) -> bool:
        """Enabled, and the file passes the checks done before loading."""
        return self.enabled and self.problem is None

    # --- generated by scripts/values.py from the fields above: do not edit ---
    def __init__(  # noqa: PLR0917
        self,
        path: str,
        source: str,
        name: str | None = None,
        vendor: str | None = None,
        enabled: bool = True,
        note: Message | None = None,
        problem: Message | None = None,
    ) -> None:
        _fields = self.__dict__
        _fields["path"] = path
        _fields["source"] = source
        _fields["name"] = name
        _fields["vendor"] = vendor
        _fields["enabled"] = enabled
        _fields["note"] = note
        _fields["problem"] = problem

    # --- end of generated code ---


@functools.cache
def default_library_dirs() -> tuple[str, ...]:
    """What ``{libdir}`` in a catalogue path stands for, in this order."""
    arch = multiarch()
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
            warn(_TOO_MANY(pattern=base, n=len(matches), limit=MAX_MATCHES))
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
                note = _SKF() if entry.interface == "skf" else None
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
    broken_catalogues_warn: bool = False,
    required_catalogues: Sequence[Path] = (),
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
    exists. Raises :class:`CatalogueError` for a catalogue that cannot be read; with
    ``broken_catalogues_warn`` (the command line), such a file is a warning on the
    ``ukeytool.discovery`` logger instead and is skipped, the others used, unless it is
    one of ``required_catalogues`` (a file the user named with ``--catalogue``).
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
    for module in registered_modules([Path(d) for d in dirs], p11kit_module_path):
        candidates.append(
            FoundModule(
                path=module.path,
                source=f"p11-kit:{module.module_file}",
                name=module.name,
                enabled=module.enabled,
                note=module.note,
            )
        )
    if include_catalogue:
        required = {str(p) for p in required_catalogues}

        def broken(exc: CatalogueError) -> None:
            if exc.path in required:
                raise exc
            warn(_CATALOGUE_IGNORED(detail=exc.message))

        catalogue = load_catalogue(
            catalogue_paths, env=env, on_broken=broken if broken_catalogues_warn else None
        )
        libdirs = default_library_dirs() if library_dirs is None else library_dirs
        candidates.extend(_from_catalogue(catalogue, home_directory(env), libdirs))
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
        merged[index[key]] = replace(
            first,
            name=first.name or candidate.name,
            vendor=first.vendor or candidate.vendor,
            note=_also_found(first.note, candidate.source),
        )
    return merged


def _also_found(note: Message | None, source: str) -> Message:
    """``note`` and that the file was also found via ``source``."""
    if note is None:
        return _ALSO_FOUND(source=source)
    return _AND_ALSO_FOUND(detail=note, source=source)


def _checked(module: FoundModule) -> FoundModule:
    from ..pkcs11.loading import check_module_file

    try:
        check_module_file(module.path)
    except (ModuleError, UsageError) as exc:
        return replace(module, problem=exc.message)
    return module


def no_module(env: Mapping[str, str] | None = None) -> Message:
    """How to point ukeytool at the key's module when discovery found none."""
    user = user_catalogue_path(env)
    if user is None:
        return _NO_MODULE()
    return _NO_MODULE_USER(path=str(user))


def no_module_message(env: Mapping[str, str] | None = None, *, lang: str | None = None) -> str:
    """``no_module(env)`` as one line in ``lang`` (default: the current language)."""
    return no_module(env).render(lang)
