"""The p11-kit module registry: ``*.module`` files in ``~/.config/pkcs11/modules``
(user), ``/etc/pkcs11/modules`` (admin) and ``/usr/share/p11-kit/modules`` (packages),
merged key by key as p11-kit does, honouring ``enable-in`` / ``disable-in`` for the
program name ``ukeytool`` and p11-kit's ``user-config`` setting.

A registry file p11-kit would refuse is skipped with a warning (logged in the current
language on the ``ukeytool.discovery`` logger); nothing here loads a module.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import stat
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Final

from ..i18n.message import Message, template
from ..model import _value
from .catalogue import MAX_CONFIG_BYTES
from .jsonfile import NOT_REGULAR, NotRegularFile, read_config_bytes
from .paths import home_directory

__all__ = [
    "P11KIT_ADMIN_DIR",
    "P11KIT_PACKAGE_DIR",
    "P11KIT_SYSTEM_CONF",
    "PROGRAM_NAME",
    "Registered",
    "default_p11kit_dirs",
    "multiarch",
    "p11kit_module_dirs",
    "registered_modules",
    "warn",
]

log = logging.getLogger("ukeytool.discovery")

#: The program name p11-kit's ``enable-in`` / ``disable-in`` lists are matched against.
PROGRAM_NAME: Final = "ukeytool"

# The machine's registry: read at call time, so a test can point these elsewhere.
P11KIT_PACKAGE_DIR: Final = Path("/usr/share/p11-kit/modules")
P11KIT_ADMIN_DIR: Final = Path("/etc/pkcs11/modules")
P11KIT_SYSTEM_CONF: Final = Path("/etc/pkcs11/pkcs11.conf")
#: Relative to ``$HOME``; p11-kit does not follow ``$XDG_CONFIG_HOME``.
P11KIT_USER_DIR: Final = Path(".config/pkcs11/modules")
P11KIT_USER_CONF: Final = Path(".config/pkcs11/pkcs11.conf")

_P11KIT_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.module\Z")

BAD_USER_CONFIG: Final = template(
    "discovery.bad_user_config", "{file}: invalid user-config {value}; taken as 'merge'"
)
FILE_VANISHED: Final = template(
    "discovery.file_vanished", "p11-kit file {path} vanished while it was read"
)
FILE_UNREADABLE: Final = template(
    "discovery.file_unreadable", "p11-kit file {path} ignored: {reason}"
)
FILE_TOO_LARGE: Final = template(
    "discovery.file_too_large", "p11-kit file {path} ignored: larger than {limit} bytes"
)
FILE_REFUSED: Final = template(
    "discovery.file_refused", "p11-kit file {path} ignored (p11-kit refuses it too): {detail}"
)
DIR_UNREADABLE: Final = template(
    "discovery.directory_unreadable", "p11-kit directory {path} ignored: {reason}"
)
LINE_PEM: Final = template("discovery.line_pem", "line {number}: unexpected PEM block")
LINE_SECTION: Final = template("discovery.line_section", "line {number}: unexpected section header")
LINE_NO_COLON: Final = template(
    "discovery.line_no_colon", "line {number}: no colon (expected 'name: value')"
)
NOT_ENABLED: Final = template(
    "discovery.not_enabled", "not enabled for {program}: enable-in: {value} ({file})"
)
DISABLED: Final = template(
    "discovery.disabled", "disabled for {program}: disable-in: {value} ({file})"
)
TRUST_POLICY: Final = template(
    "discovery.trust_policy",
    "a trust-policy module (the system's CA certificates, not a key); "
    "give it with --module to list it",
)


def warn(message: Message) -> None:
    """Log a warning in the current language (the CLI's, when it runs discovery)."""
    log.warning("%s", message.render())


def default_p11kit_dirs(
    env: Mapping[str, str] | None = None,
    *,
    system_conf: Path | None = None,
    user_conf: Path | None = None,
    admin_dir: Path | None = None,
    package_dir: Path | None = None,
) -> list[Path]:
    """The p11-kit module directories, highest priority first: user, admin, packages.

    Honours p11-kit's ``user-config`` setting (in ``/etc/pkcs11/pkcs11.conf``, then
    ``~/.config/pkcs11/pkcs11.conf``): ``none`` drops the user directory, ``only`` and
    ``override`` keep nothing else. ``system_conf``, ``admin_dir`` and ``package_dir``
    default to the machine's (:data:`P11KIT_SYSTEM_CONF`, :data:`P11KIT_ADMIN_DIR`,
    :data:`P11KIT_PACKAGE_DIR`).
    """
    home = home_directory(env)
    user_dir = None if home is None else Path(home) / P11KIT_USER_DIR
    if user_conf is None and home is not None:
        user_conf = Path(home) / P11KIT_USER_CONF
    mode = _user_config_mode(P11KIT_SYSTEM_CONF if system_conf is None else system_conf, "merge")
    if mode != "none" and user_conf is not None:
        mode = _user_config_mode(user_conf, mode)
    system = [
        P11KIT_ADMIN_DIR if admin_dir is None else admin_dir,
        P11KIT_PACKAGE_DIR if package_dir is None else package_dir,
    ]
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
    warn(BAD_USER_CONFIG(file=str(conf), value=repr(mode)))
    return "merge"


class _Refused(Exception):
    """What p11-kit refuses in a registry file."""

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.message = message


def _parse_p11kit(text: str) -> dict[str, str]:
    """p11-kit's ``name: value`` format; raises :class:`_Refused` on what p11-kit refuses."""
    values: dict[str, str] = {}
    for number, raw in enumerate(text.split("\n"), start=1):
        if raw.startswith("-----BEGIN "):
            raise _Refused(LINE_PEM(number=number))
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            raise _Refused(LINE_SECTION(number=number))
        name, colon, value = line.partition(":")
        if not colon:
            raise _Refused(LINE_NO_COLON(number=number))
        values[name.rstrip()] = value.lstrip()
    return values


def _read_p11kit_file(path: Path, *, missing_ok: bool = False) -> dict[str, str] | None:
    """A registry or config file's values; None (with a warning) when it cannot be used."""
    try:
        raw = read_config_bytes(path, limit=MAX_CONFIG_BYTES)
    except NotRegularFile:
        warn(FILE_UNREADABLE(path=str(path), reason=NOT_REGULAR()))
        return None
    except FileNotFoundError:
        if not missing_ok:
            warn(FILE_VANISHED(path=str(path)))
        return None
    except OSError as exc:
        warn(FILE_UNREADABLE(path=str(path), reason=exc.strerror or str(exc)))
        return None
    if len(raw) > MAX_CONFIG_BYTES:
        warn(FILE_TOO_LARGE(path=str(path), limit=MAX_CONFIG_BYTES))
        return None
    try:
        return _parse_p11kit(raw.decode("utf-8", errors="surrogateescape"))
    except _Refused as exc:
        warn(FILE_REFUSED(path=str(path), detail=exc.message))
        return None


class _Merged:
    """One module's merged ``*.module`` keys, and the file each came from."""

    __slots__ = ("name", "origin", "values")

    def __init__(self, name: str, values: dict[str, str], origin: dict[str, Path]) -> None:
        self.name = name
        self.values = values
        self.origin = origin


def _load_registry(dirs: Sequence[Path]) -> list[_Merged]:
    """Merge ``*.module`` files as p11-kit does: per module name, key by key, the
    first directory that sets a key wins. Sorted by priority (high first), then name."""
    modules: dict[str, _Merged] = {}
    for directory in dirs:
        try:
            names = sorted(os.listdir(directory))
        except FileNotFoundError:
            log.debug("p11-kit directory %s does not exist", directory)
            continue
        except OSError as exc:
            warn(DIR_UNREADABLE(path=str(directory), reason=exc.strerror or str(exc)))
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
            module = modules.setdefault(name, _Merged(name, {}, {}))
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


def _enabled_for(module: _Merged, program: str) -> tuple[bool, Message | None]:
    """p11-kit's rule: ``enable-in`` wins over ``disable-in``; neither means enabled."""
    enable_in = module.values.get("enable-in")
    disable_in = module.values.get("disable-in")
    if enable_in is not None:
        if program in _words(enable_in):
            return True, None
        where = str(module.origin["enable-in"])
        return False, NOT_ENABLED(program=program, value=enable_in, file=where)
    if disable_in is not None and program in _words(disable_in):
        where = str(module.origin["disable-in"])
        return False, DISABLED(program=program, value=disable_in, file=where)
    return True, None


@functools.cache
def multiarch() -> str:
    """This machine's multiarch tuple, e.g. ``x86_64-linux-gnu``."""
    import sysconfig

    value = sysconfig.get_config_var("MULTIARCH")
    if isinstance(value, str) and value:
        return value
    return f"{os.uname().machine}-linux-gnu"


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
    CPU. :func:`~ukeytool.config.discovery.discover` also asks ``pkg-config`` when none
    of them has the file."""
    arch = multiarch()
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


@_value.value
class Registered:
    """A module the registry names whose file is installed."""

    name: str
    """The module name (the ``.module`` file's name without the suffix)."""
    path: str
    """The module file."""
    module_file: Path
    """The ``.module`` file its ``module:`` line came from."""
    enabled: bool
    note: Message | None
    """Why it is not enabled."""

    # --- generated by scripts/values.py from the fields above: do not edit ---
    def __init__(
        self,
        name: str,
        path: str,
        module_file: Path,
        enabled: bool,
        note: Message | None,
    ) -> None:
        _fields = self.__dict__
        _fields["name"] = name
        _fields["path"] = path
        _fields["module_file"] = module_file
        _fields["enabled"] = enabled
        _fields["note"] = note

    # --- end of generated code ---


def registered_modules(
    dirs: Sequence[Path], module_dirs: Sequence[Path] | None
) -> Iterator[Registered]:
    """The installed modules of the registry in ``dirs`` (highest priority first);
    ``module_dirs``: where relative ``module:`` paths are looked up (default: the usual
    places, then ``pkg-config``)."""
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
            enabled, note = False, TRUST_POLICY()
        yield Registered(module.name, path, module.origin["module"], enabled, note)
