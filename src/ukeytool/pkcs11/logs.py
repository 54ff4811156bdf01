"""ukeytool's logging without importing :mod:`logging` at start.

A listing's parent and the isolation child log nothing unless something goes wrong (or
``--trace`` asks): importing :mod:`logging` (with :mod:`traceback`, :mod:`string` and
:mod:`textwrap`) at every start would cost more than the records. So:

- a record of a level nobody has asked for is dropped without :mod:`logging`: when
  nothing has imported it, nothing has configured it, and the default is WARNING
  (:func:`debug`, :func:`info`, :func:`effective_level`);
- a warning imports :mod:`logging` (:func:`logger`), and whoever must handle records
  (the command line's escaping handler, the child's forwarding to its parent) says so
  with :func:`when_imported`: run now if :mod:`logging` is imported, else right after its
  import, before any record can be made.
"""

from __future__ import annotations

import sys

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

__all__ = ["debug", "effective_level", "info", "logger", "when_imported"]

#: The effective level of every logger while :mod:`logging` is not imported.
DEFAULT_LEVEL = 30  # logging.WARNING


def logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)``, importing :mod:`logging` (and running what
    :func:`when_imported` registered)."""
    import logging

    return logging.getLogger(name)


def effective_level(name: str) -> int:
    """``logging.getLogger(name).getEffectiveLevel()``, without importing it."""
    logging = sys.modules.get("logging")
    if logging is None:
        return DEFAULT_LEVEL
    return int(logging.getLogger(name).getEffectiveLevel())


def debug(name: str, message: str, *args: object, **kwargs: Any) -> None:
    """``logging.getLogger(name).debug(...)``, dropped at once when :mod:`logging` was
    never imported (nobody asked for debug records then)."""
    if "logging" in sys.modules:
        logger(name).debug(message, *args, **kwargs)


def info(name: str, message: str, *args: object) -> None:
    """``logging.getLogger(name).info(...)``, as :func:`debug`."""
    if "logging" in sys.modules:
        logger(name).info(message, *args)


def when_imported(then: Callable[[], None]) -> Callable[[], None]:
    """Run ``then`` now if :mod:`logging` is imported, else as soon as it has been
    (before the import returns); give back a function that cancels it if it has not
    run yet."""
    if "logging" in sys.modules:
        then()
        return _nothing
    hook = _AfterImport("logging", then)
    sys.meta_path.insert(0, hook)
    return hook.cancel


def _nothing() -> None:
    pass


class _AfterImport:
    """A finder that lets the other finders find ``name`` and has its loader run
    ``then`` once the module is executed (the module then has its own loader again)."""

    def __init__(self, name: str, then: Callable[[], None]) -> None:
        self.name = name
        self.then = then

    def cancel(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != self.name:
            return None
        self.cancel()
        spec: ModuleSpec | None = None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = None if find is None else find(fullname, path, target)
            if spec is not None:
                break
        if spec is None:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _ThenLoader(spec.loader, self.then)  # type: ignore[assignment]
        return spec


class _ThenLoader:
    def __init__(self, loader: Any, then: Callable[[], None]) -> None:
        self.loader = loader
        self.then = then

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        made: ModuleType | None = self.loader.create_module(spec)
        return made

    def exec_module(self, module: ModuleType) -> None:
        # The module's own loader, as if this one had never been there.
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        self.then()
