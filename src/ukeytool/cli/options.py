"""The state of one run: what the command line asked for, read once from argparse's
namespace into frozen values that the command then passes along (nothing is written
back into the namespace)."""

from __future__ import annotations

import argparse
import dataclasses
import datetime

from ..errors import UsageError
from ..i18n.message import template

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

__all__ = ["DEFAULT_TIMEOUT", "Inspection", "Selection"]

#: --timeout's default, in seconds: far above what a sound module needs even for
#: hundreds of certificates, and well below what monitoring systems allow a check.
DEFAULT_TIMEOUT: Final = 60.0

TIMEOUT_NEEDS_ISOLATION: Final = template(
    "cli.timeout_needs_isolation",
    "--timeout needs isolation: a module inside ukeytool's process cannot be stopped; "
    "drop --no-isolation or --timeout",
)


@dataclasses.dataclass(frozen=True)
class Selection:
    """--uri, --token-label and --serial: which tokens to show."""

    uri: str | None = None
    """An RFC 7512 ``pkcs11:`` URI, as given (parsed when the run starts)."""
    label: str | None = None
    """The token's label, as shown."""
    serial: str | None = None
    """The token's serial number, as shown."""

    @property
    def given(self) -> bool:
        """Whether any of the three was given."""
        return self.uri is not None or self.label is not None or self.serial is not None


@dataclasses.dataclass(frozen=True)
class Inspection:
    """The options list-tokens and check share: which modules, judged when, which
    tokens, whether to log in, how to isolate, which renewal rules."""

    modules: tuple[str, ...]
    """--module paths (empty: $PKCS11_MODULE, else discovery)."""
    warn_days: int
    """--warn-days."""
    at: datetime.datetime | None
    """--at: the moment to judge at; None for the moment of the run."""
    selection: Selection
    output: str | None
    """--output: a file to write atomically instead of standard output."""
    login: bool
    """--login."""
    allow_final_try: bool
    """--allow-final-try."""
    trace: bool
    """--trace: every PKCS#11 call logged to standard error."""
    show_personal_data: bool
    """--show-personal-data."""
    no_isolation: bool
    """--no-isolation."""
    timeout: float | None
    """--timeout as given (None: not given; see :meth:`isolation`)."""
    bank: str | None
    """--bank."""
    renewal_policies: str | None
    """--renewal-policies."""

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Inspection:
        return cls(
            modules=tuple(args.module or ()),
            warn_days=args.warn_days,
            at=args.at,
            selection=Selection(uri=args.uri, label=args.token_label, serial=args.serial),
            # Commands without --output or --login (watch) write to standard output and
            # never log in.
            output=getattr(args, "output", None),
            login=getattr(args, "login", False),
            allow_final_try=getattr(args, "allow_final_try", False),
            trace=args.trace,
            show_personal_data=args.show_personal_data,
            no_isolation=args.no_isolation,
            timeout=args.timeout,
            bank=args.bank,
            renewal_policies=args.renewal_policies,
        )

    def isolation(self) -> tuple[bool, float | None]:
        """--no-isolation and --timeout as inspect_modules' ``isolate`` and ``timeout``;
        raises :class:`UsageError` for a time limit on a module that cannot be stopped."""
        if self.no_isolation:
            if self.timeout is not None:
                raise UsageError(TIMEOUT_NEEDS_ISOLATION())
            return False, None
        timeout = DEFAULT_TIMEOUT if self.timeout is None else self.timeout
        return True, timeout or None
