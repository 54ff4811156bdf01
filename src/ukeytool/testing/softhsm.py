"""Throw-away SoftHSM2 stores for tests and the demo: the only code allowed to write tokens.

ukeytool itself never writes to a token. Tests and the demo need tokens with chosen
labels, certificates and keys, so this module builds them in a private SoftHSM token
directory and never in the system one (``/var/lib/softhsm/tokens``)::

    store = SoftHSMStore(tmp_path)
    token = store.add_token(
        TokenSpec(label=b"\\xb9\\xa4\\xd0\\xd0U\\xb6\\xdc", objects=[CertObject(der, label="sign")])
    )
    monkeypatch.setenv("SOFTHSM2_CONF", store.env["SOFTHSM2_CONF"])  # before the first load
    ...  # inspect store.module_path in-process, select the token by token.serial

The writing happens in a child process (``python -m ukeytool.testing._writer``) because
SoftHSM reads ``SOFTHSM2_CONF`` once, at ``C_Initialize``, and python-pkcs11 keeps one
initialised module per path for the life of the process: the caller (a test) must be
free to load SoftHSM itself, with the store's configuration, to inspect what was built.

Two SoftHSM facts callers must design around (measured with SoftHSM 2.6.1):

- A process that has already initialised SoftHSM does not see tokens added or deleted
  afterwards by another process until it finalises and initialises the module again
  (python-pkcs11: ``lib.reinitialize()``). Build the tokens first, then load.
- SoftHSM always shows one extra slot with an uninitialised token after the initialised
  ones. It is kept on purpose: real modules show empty slots too.

Everything here is pure Python in the caller; the objects and the parsing of keys and
certificates into PKCS#11 attribute templates are in :mod:`ukeytool.testing.objects`
(and importable from here), so the child only replays raw ``C_CreateObject`` templates.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

# The object specs are importable from here too (docs/development.md); the attribute
# constants and template builders are ukeytool.testing.objects' own.
from .objects import (
    CertObject,
    PrivateKeyObject,
    PublicKeyObject,
    RawAttributes,
    RawObject,
    TokenObject,
    TokenSpec,
    _label_bytes,
    object_template,
)

__all__ = [
    "MODULE_ENV",
    "CertObject",
    "CreatedToken",
    "PrivateKeyObject",
    "PublicKeyObject",
    "RawAttributes",
    "RawObject",
    "SoftHSMError",
    "SoftHSMNotFound",
    "SoftHSMStore",
    "TokenObject",
    "TokenSpec",
    "find_softhsm_module",
    "find_softhsm_util",
]

_INSTALL_HINT = "install it with: sudo apt-get install softhsm2"

MODULE_ENV = "UKEYTOOL_SOFTHSM_MODULE"
"""Environment variable naming the SoftHSM module explicitly (wins over the search)."""

_MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/*-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib64/pkcs11/libsofthsm2.so",
    "/usr/lib64/softhsm/libsofthsm2.so",
    "/usr/lib/pkcs11/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
    "/opt/homebrew/lib/softhsm/libsofthsm2.so",
)

_UTIL_CANDIDATES = ("/usr/bin/softhsm2-util", "/usr/local/bin/softhsm2-util")

# First line of every softhsm2.conf written here: proves a directory is a test store.
_CONF_MARKER = "# Written by ukeytool.testing.softhsm"


class SoftHSMNotFound(RuntimeError):
    """SoftHSM2 (its module or ``softhsm2-util``) is not installed."""


class SoftHSMError(RuntimeError):
    """Building or changing a SoftHSM store failed."""


def find_softhsm_module() -> Path:
    """Return the SoftHSM2 PKCS#11 module, or raise :class:`SoftHSMNotFound`.

    ``$UKEYTOOL_SOFTHSM_MODULE`` wins; otherwise the usual distribution paths are tried.
    The path is returned as found, not resolved: python-pkcs11 caches modules by the
    path string, so callers should use this one spelling everywhere in a process.
    """
    explicit = os.environ.get(MODULE_ENV)
    if explicit:
        if Path(explicit).is_file():
            return Path(explicit)
        raise SoftHSMNotFound(f"${MODULE_ENV} names {explicit!r}, which is not a file")
    for pattern in _MODULE_CANDIDATES:
        for match in sorted(glob.glob(pattern)):
            if Path(match).is_file():
                return Path(match)
    raise SoftHSMNotFound(
        f"SoftHSM2 module libsofthsm2.so not found (looked at {', '.join(_MODULE_CANDIDATES)}); "
        f"{_INSTALL_HINT}, or set ${MODULE_ENV}"
    )


def find_softhsm_util() -> Path:
    """Return the ``softhsm2-util`` program, or raise :class:`SoftHSMNotFound`."""
    found = shutil.which("softhsm2-util")
    if found:
        return Path(found)
    for candidate in _UTIL_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    raise SoftHSMNotFound(f"softhsm2-util not found on PATH; {_INSTALL_HINT}")


@dataclasses.dataclass(frozen=True)
class CreatedToken:
    """A token the writer initialised and filled."""

    serial: str
    """CK_TOKEN_INFO.serialNumber as SoftHSM assigned it (16 hex digits): select by this."""
    label: bytes
    """The label bytes as written, trailing blanks removed."""
    slot_id: int
    """SoftHSM's slot id for it (derived from the serial, so stable for SoftHSM only;
    for ``pkcs11-tool --slot``, never for selecting tokens in ukeytool's tests)."""


# -------------------------------------------------------------------- store


class SoftHSMStore:
    """A SoftHSM2 configuration and token directory of its own under ``directory``.

    Creating the store writes ``softhsm2.conf`` (overwriting one left by an earlier run)
    and the ``tokens`` directory; existing tokens there are kept (see :meth:`reset`).
    """

    def __init__(
        self,
        directory: Path,
        *,
        module_path: Path | None = None,
        util_path: Path | None = None,
    ) -> None:
        self._module_path = module_path if module_path is not None else find_softhsm_module()
        self._util_path = util_path if util_path is not None else find_softhsm_util()
        self._directory = Path(directory).absolute()
        self._tokens_dir = self._directory / "tokens"
        if "\n" in str(self._directory):
            raise ValueError(f"store directory {self._directory!r} cannot go in softhsm2.conf")
        self._conf_path = self._directory / "softhsm2.conf"
        self._refuse_foreign_directory()
        self._tokens_dir.mkdir(parents=True, exist_ok=True)
        self._conf_path.write_text(
            f"{_CONF_MARKER}: a private store for tests and the demo.\n"
            f"directories.tokendir = {self._tokens_dir}\n"
            "objectstore.backend = file\n"
            "log.level = ERROR\n"
            "slots.removable = false\n",
            encoding="utf-8",
        )

    def _refuse_foreign_directory(self) -> None:
        # A mistyped directory (/var/lib/softhsm, /etc/softhsm) must not get its
        # configuration overwritten or, through reset(), its tokens deleted.
        if self._conf_path.exists():
            with self._conf_path.open("rb") as conf:
                if not conf.readline().startswith(_CONF_MARKER.encode()):
                    raise SoftHSMError(
                        f"{self._conf_path} was not written by ukeytool.testing; "
                        "refusing to use that directory as a test store"
                    )
        elif self._tokens_dir.is_dir() and any(self._tokens_dir.iterdir()):
            raise SoftHSMError(
                f"{self._tokens_dir} holds tokens of another SoftHSM setup; "
                "refusing to use that directory as a test store"
            )

    @property
    def directory(self) -> Path:
        """The store's directory."""
        return self._directory

    @property
    def conf_path(self) -> Path:
        """The ``softhsm2.conf`` to point ``SOFTHSM2_CONF`` at."""
        return self._conf_path

    @property
    def tokens_dir(self) -> Path:
        """SoftHSM's token directory for this store (one subdirectory per token)."""
        return self._tokens_dir

    @property
    def module_path(self) -> Path:
        """The SoftHSM2 PKCS#11 module."""
        return self._module_path

    @property
    def util_path(self) -> Path:
        """The ``softhsm2-util`` program."""
        return self._util_path

    @property
    def env(self) -> dict[str, str]:
        """Variables to merge into ``os.environ`` or a child's environment to use this store."""
        return {"SOFTHSM2_CONF": str(self._conf_path)}

    def subprocess_env(self) -> dict[str, str]:
        """A complete environment for a child process (pkcs11-tool, the CLI) using this store."""
        return {**os.environ, **self.env}

    def add_token(self, spec: TokenSpec, *, timeout: float = 300) -> CreatedToken:
        """Initialise one token in a free slot and create its objects."""
        return self.add_tokens([spec], timeout=timeout)[0]

    def add_tokens(self, specs: Iterable[TokenSpec], *, timeout: float = 300) -> list[CreatedToken]:
        """Initialise and fill several tokens in one child process; results in spec order.

        On failure the tokens this call initialised are deleted again and
        :class:`SoftHSMError` carries the child's error output.
        """
        specs = list(specs)
        request = {
            "conf": str(self._conf_path),
            "tokens_dir": str(self._tokens_dir),
            "module": str(self._module_path),
            "util": str(self._util_path),
            "tokens": [_spec_json(spec) for spec in specs],
        }
        env = self.subprocess_env()
        # The child imports ukeytool from wherever this copy lives, installed or not.
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p
        )
        try:
            done = subprocess.run(
                [sys.executable, "-m", "ukeytool.testing._writer"],
                input=json.dumps(request).encode("utf-8"),
                env=env,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise SoftHSMError(f"the SoftHSM writer did not finish within {timeout} s") from exc
        if done.returncode != 0:
            raise SoftHSMError(
                f"the SoftHSM writer failed (exit status {done.returncode}):\n"
                + done.stderr.decode("utf-8", "replace")
            )
        try:
            reply = json.loads(done.stdout)
            return [
                CreatedToken(
                    serial=str(t["serial"]),
                    label=bytes.fromhex(t["label_hex"]),
                    slot_id=int(t["slot_id"]),
                )
                for t in reply["tokens"]
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise SoftHSMError(
                f"unreadable reply from the SoftHSM writer: {done.stdout!r}"
            ) from exc

    def delete_token(self, serial: str) -> None:
        """Delete the token with this serial (``softhsm2-util --delete-token``)."""
        self._util("--delete-token", "--serial", serial)

    def reset(self) -> None:
        """Delete every token of this store (only its own ``tokens`` directory)."""
        shutil.rmtree(self._tokens_dir, ignore_errors=True)
        self._tokens_dir.mkdir(parents=True)

    def show_slots(self) -> bytes:
        """``softhsm2-util --show-slots`` output, raw bytes (labels may be GBK)."""
        return self._util("--show-slots")

    def _util(self, *args: str) -> bytes:
        done = subprocess.run(
            [str(self._util_path), *args],
            env=self.subprocess_env(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            output = (done.stdout + done.stderr).decode("utf-8", "replace").strip()
            raise SoftHSMError(f"softhsm2-util {' '.join(args)} failed: {output}")
        return done.stdout

    def __repr__(self) -> str:
        return f"SoftHSMStore({str(self._directory)!r})"


def _spec_json(spec: TokenSpec) -> Mapping[str, Any]:
    objects = []
    for obj in spec.objects:
        description, template = object_template(obj)
        objects.append(
            {"what": description, "attributes": [[t, v.hex()] for t, v in template]},
        )
    return {
        "label_hex": _label_bytes(spec.label).hex(),
        "so_pin": spec.so_pin,
        "user_pin": spec.user_pin,
        "objects": objects,
    }
