"""A path's text as :class:`pathlib.Path` writes it, without importing :mod:`pathlib`.

``list-tokens`` reads its configuration files (the renewal policies, the module
catalogue) on every run; :mod:`pathlib` would bring :mod:`urllib.parse` and
:mod:`ipaddress` with it at each start. The public functions that return paths still
return :class:`~pathlib.Path` values (made on demand); the reading itself works on text,
spelt as ``str(Path(...))`` spells it, so that every message names a file as before."""

from __future__ import annotations

import os

__all__ = ["join_path", "path_text"]


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


def join_path(first: str | os.PathLike[str], *more: str) -> str:
    """``str(pathlib.Path(first, *more))`` for relative ``more`` parts."""
    base = path_text(first)
    separator = "" if base.endswith("/") else "/"  # the roots "/" and "//" end in one
    return path_text(base + separator + "/".join(more))
