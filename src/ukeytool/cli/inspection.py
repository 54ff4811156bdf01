"""Inspecting tokens for list-tokens and check: which modules, the renewal rules, the
inspection itself (isolated, traced, with the one --login), the token selection, and the
renewal advice. The command modules only render what this returns."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import sys
from collections.abc import Iterator, Sequence

from ..errors import UsageError
from ..i18n import _, render
from ..i18n.message import Message, template
from ..model.text import escape_control

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

    from ..config.catalogue import Catalogue
    from ..judging.renewal import RenewalPolicies
    from ..model import ModuleFailure, Report
    from .options import Inspection, Selection

__all__ = [
    "NO_TOKEN_MATCHES",
    "Renewal",
    "early_child",
    "inspect_all",
    "load_renewal",
    "no_match",
]

NO_TOKEN_MATCHES: Final = template(
    "cli.no_token_matches",
    "no token matches {wanted}; run 'ukeytool list-tokens' to see them all",
)
# What --uri asked for, in {wanted}; a label, a serial, and "and" between them are said
# as the library's selection says them (ukeytool.pkcs11.selection).
WANTED_URI: Final = template("cli.wanted.uri", "URI {value}")


@dataclasses.dataclass(frozen=True)
class Renewal:
    """The renewal rules of the run, read before any module is loaded."""

    policies: RenewalPolicies
    """The shipped policies, the user's file and --renewal-policies, merged."""
    catalogue: Catalogue
    """The module catalogue, for bank hints from module file names (empty when it cannot
    be read: the hints are only hints)."""


@contextlib.contextmanager
def early_child(options: Inspection, *, warm: Sequence[str] = ()) -> Iterator[None]:
    """Around a command's set-up and inspection: with isolation (the default), the
    child that will read the first module is started at once, so that its interpreter
    starts while this process reads the renewal rules; once it has its request, this
    process imports ``warm`` (the renderer) and the certificate parser while the child
    loads the module. No module is loaded before the inspection itself: a usage
    mistake found in between still fails with none loaded."""
    from ..pkcs11.isolate import prestarted

    isolate, _timeout = options.isolation()
    with prestarted(isolate, warm=warm):
        yield


def load_renewal(options: Inspection) -> Renewal:
    """Read the renewal policies (shipped, user file, --renewal-policies) and check
    --bank, so that a bad file or an unknown bank fails before any module is loaded."""
    from ..config.catalogue import Catalogue, CatalogueError, load_catalogue
    from ..judging.renewal import check_bank, load_policies

    policies = load_policies(extra=options.renewal_policies)
    try:
        catalogue = load_catalogue()
    except CatalogueError as exc:
        # The module catalogue only adds bank hints here: say so, and go on without them.
        warning = _("ukeytool: warning: {message}; module file names are not used to tell the bank")
        sys.stderr.write(escape_control(warning.format(message=render(exc.message))) + "\n")
        catalogue = Catalogue()
    if options.bank is not None:
        check_bank(options.bank, policies=policies, catalogue=catalogue)
    return Renewal(policies, catalogue)


def resolve_modules(given: tuple[str, ...]) -> list[str]:
    """--module, else $PKCS11_MODULE, else every usable module discovery finds (named on
    standard error, so that a listing never hides where it came from)."""
    if given:
        return list(given)
    from_env = os.environ.get("PKCS11_MODULE")
    if from_env:
        return [from_env]
    from ..config.discovery import discover, no_module

    # A broken catalogue file is a warning here, as in load_renewal: the others are used.
    found = [m for m in discover(broken_catalogues_warn=True) if m.usable]
    if not found:
        raise UsageError(no_module())
    names = ", ".join(f"{m.path} ({m.source})" for m in found)
    line = _("ukeytool: no module given; using {n} found by discovery: {names}")
    sys.stderr.write(escape_control(line.format(n=len(found), names=names)) + "\n")
    return [m.path for m in found]


@contextlib.contextmanager
def warnings_shown() -> Iterator[None]:
    """During one command: the library's warnings go to standard error through
    :class:`~ukeytool.cli.log_handlers.OnceHandler` instead of Python's last-resort
    handler, which writes them raw. Put in place when :mod:`logging` is imported (now if
    it is; a run that logs nothing never imports it: :mod:`ukeytool.pkcs11.logs`)."""
    from ..pkcs11.logs import when_imported

    installed: list[Any] = []

    def install() -> None:
        from .log_handlers import OnceHandler, ukeytool_logger

        handler = OnceHandler()
        ukeytool_logger().addHandler(handler)
        installed.append(handler)

    cancel = when_imported(install)
    try:
        yield
    finally:
        cancel()
        if installed:
            from .log_handlers import ukeytool_logger

            ukeytool_logger().removeHandler(installed[0])


@contextlib.contextmanager
def tracing(enabled: bool) -> Iterator[None]:
    """With --trace, every PKCS#11 call is logged to standard error for the command's run."""
    if not enabled:
        yield
        return
    import logging

    from .log_handlers import EscapingFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(EscapingFormatter("ukeytool trace: %(message)s"))
    trace = logging.getLogger("ukeytool.pkcs11")
    level = trace.level
    trace.addHandler(handler)
    trace.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        trace.removeHandler(handler)
        trace.setLevel(level)


def inspect_all(
    options: Inspection, renewal: Renewal, *, progress: bool = False
) -> tuple[list[Report], list[ModuleFailure], datetime.datetime]:
    """Inspect the modules, log in if asked, apply the token selection and advise on
    renewal; also returns the clock reading (the moment of the run). With ``progress``
    (text output), a slow first reading says so on a terminal's standard error."""
    from ..judging.renewal import advise
    from ..pkcs11.inspect import inspect_modules
    from ..pkcs11.selection import filter_report
    from ..pkcs11.uri import parse_uri, refuse_pin_attributes
    from .login import login_pass
    from .progress import progress_line

    selection = options.selection
    # Fails before any loading; a URI with a PIN in it is refused, never echoed.
    uri = refuse_pin_attributes(parse_uri(selection.uri)) if selection.uri else None
    isolate, timeout = options.isolation()
    now = datetime.datetime.now(datetime.timezone.utc)
    at = options.at or now
    paths = resolve_modules(options.modules)
    from . import start_up_done

    start_up_done()  # the garbage collector on again: the work per certificate starts
    with tracing(options.trace):
        # Not around the login pass: the line must not land in the PIN prompt.
        with progress_line(progress):
            reports, failures = inspect_modules(
                paths, at=at, warn_days=options.warn_days, isolate=isolate, timeout=timeout
            )
        if options.login and reports:
            reports = login_pass(options, reports, uri, at=at, isolate=isolate, timeout=timeout)
    if selection.given:
        reports = [
            filter_report(r, uri=uri, label=selection.label, serial=selection.serial)
            for r in reports
        ]
        if reports and not any(r.tokens for r in reports):
            raise UsageError(NO_TOKEN_MATCHES(wanted=no_match(selection)))
    reports = [
        advise(r, bank=options.bank, policies=renewal.policies, catalogue=renewal.catalogue)
        for r in reports
    ]
    return reports, failures, now


def no_match(selection: Selection) -> Message:
    """What the selection asked for: ``label 'x' and serial 'y'``."""
    from ..pkcs11.selection import BOTH, BY_LABEL, BY_SERIAL

    wanted = [
        made(value=repr(value))
        for made, value in (
            (WANTED_URI, selection.uri),
            (BY_LABEL, selection.label),
            (BY_SERIAL, selection.serial),
        )
        if value is not None
    ]
    joined = wanted[-1]
    for earlier in reversed(wanted[:-1]):
        joined = BOTH(first=earlier, second=joined)
    return joined
