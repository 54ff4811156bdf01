"""A path's text as :class:`pathlib.Path` writes it, without importing :mod:`pathlib`.

``list-tokens`` reads its configuration files (the renewal policies, the module
catalogue) on every run; :mod:`pathlib` would bring :mod:`urllib.parse` and
:mod:`ipaddress` with it at each start. The public functions that return paths still
return :class:`~pathlib.Path` values (made on demand); the reading itself works on text,
spelt as ``str(Path(...))`` spells it, so that every message names a file as before."""

from __future__ import annotations

import os
from collections.abc import Mapping

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import pathlib
    from typing import Any

__all__ = [
    "home_directory",
    "join_path",
    "path_text",
    "shipped_file",
    "shipped_path",
    "user_config_file",
    "user_config_path",
]


def path_text(path: str | os.PathLike[str]) -> str:
    """``str(pathlib.Path(path))``: on POSIX, repeated slashes and ``.`` components
    dropped (a leading ``//`` kept, as POSIX allows), no trailing slash, ``"."`` for
    nothing; elsewhere pathlib itself."""
    text = os.fspath(path)
    if os.sep != "/" or os.altsep is not None:  # pragma: no cover - not POSIX
        import pathlib

        return str(pathlib.Path(text))
    if text.startswith("//") and not text.startswith("///"):
        root = "//"
    elif text.startswith("/"):
        root = "/"
    else:
        root = ""
    parts = [part for part in text.split("/") if part and part != "."]
    return root + "/".join(parts) or "."


def user_config_path(name: str, env: Mapping[str, str] | None) -> pathlib.Path | None:
    """:func:`user_config_file` as a :class:`~pathlib.Path` (the public functions'
    form), whether or not it exists; None when there is no home directory."""
    from pathlib import Path

    user = user_config_file(name, env)
    return None if user is None else Path(user)


def shipped_path(namespace: dict[str, Any], name: str, file: str) -> pathlib.Path:
    """A module's ``name`` (``SHIPPED_CATALOGUE``, ``SHIPPED_POLICIES``): the
    :class:`~pathlib.Path` of ``file``, a file shipped with ukeytool, made on first use
    (from the module's ``__getattr__``) and kept in its ``namespace``, where a test may
    replace it; the listing reads the file by :func:`shipped_file` without
    :mod:`pathlib`."""
    from pathlib import Path

    value = namespace[name] = Path(file)
    return value


def shipped_file(namespace: dict[str, Any], name: str, file: str) -> str:
    """The text of the shipped file's path: ``file``, or the path that replaced the
    module's ``name`` in its ``namespace``."""
    replaced = namespace.get(name)
    return file if replaced is None else path_text(replaced)


def join_path(first: str | os.PathLike[str], *more: str) -> str:
    """``str(pathlib.Path(first, *more))`` for relative ``more`` parts."""
    base = path_text(first)
    separator = "" if base.endswith("/") else "/"  # the roots "/" and "//" end in one
    return path_text(base + separator + "/".join(more))


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


def user_config_file(name: str, env: Mapping[str, str] | None) -> str | None:
    """``$XDG_CONFIG_HOME/ukeytool/<name>`` (default ``~/.config/ukeytool/<name>``),
    whether or not it exists; None when there is no home directory to put it in."""
    environ = os.environ if env is None else env
    config = environ.get("XDG_CONFIG_HOME", "")
    if os.path.isabs(config):
        return join_path(config, "ukeytool", name)
    home = home_directory(env)
    return None if home is None else join_path(home, ".config", "ukeytool", name)
