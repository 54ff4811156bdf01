"""--login: one login to one token, never a PIN try spent by surprise.

The token is picked from the first listing; its PIN state is checked before a PIN is
asked for; the PIN is asked for only when a login will really be tried, and goes to the
module's child process over a pipe only. A refused or failed login is reported on its
token, on standard error, and in the exit code.
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Sequence

from ..errors import UkeytoolError, UsageError
from ..i18n import _, render
from ..i18n.message import template
from ..model._value import replace
from ..model.text import escape_control
from .exits import ExitCode
from .prompts import read_pin

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

    from ..model import LoginOutcome, Report, SlotReport
    from ..pkcs11.login import Pin
    from ..pkcs11.selection import TokenSelection
    from ..pkcs11.uri import Pkcs11Uri
    from .options import Inspection

__all__ = ["login_exit", "login_note", "login_pass"]

LOGIN_LISTING_FAILED: Final = template(
    "login.listing_failed",
    "the listing with the login could not be made ({reason}); the listing without login is shown",
)
INTERNAL_REASON: Final = template("login.internal_error", "internal error {kind}: {error}")


def login_pass(
    options: Inspection,
    reports: list[Report],
    uri: Pkcs11Uri | None,
    *,
    select: TokenSelection | None = None,
    at: datetime.datetime,
    isolate: bool,
    timeout: float | None,
) -> list[Report]:
    """The listing with the selected token's module listed again after the one login
    (in a child process like the first listing), or with the refusal on its token.
    ``uri``: --uri parsed; ``select``: the selection the listings read (the second one
    reads no token the first did not)."""
    from ..pkcs11.inspect import inspect, login_target
    from ..pkcs11.isolate import inspect_in_child
    from ..pkcs11.login import Login, refusal, state_refusal
    from ..pkcs11.token_uris import token_uri
    from ..pkcs11.uri import format_uri

    selection = options.selection
    wanted = Login(None, label=selection.label, serial=selection.serial, uri=uri)
    module, slot = login_target([(r.module, s) for r in reports for s in r.slots], wanted)
    token = slot.token
    assert module is not None
    assert token is not None
    index = next(i for i, r in enumerate(reports) if r.module is module)
    refused = state_refusal(token, allow_final_try=options.allow_final_try)
    pin: Pin | None = None
    if refused is None and not token.protected_authentication_path:
        pin = read_pin(token)
        refused = refusal(token, Login(pin, allow_final_try=options.allow_final_try))
    if refused is not None:
        if pin is not None:
            pin.wipe()
        return _with_login(reports, index, slot, refused)
    if token.protected_authentication_path:
        label = repr(escape_control(token.label.value))
        line = _("enter the PIN for token {label} on the reader's PIN pad").format(label=label)
        sys.stderr.write(escape_control(f"ukeytool: {line}") + "\n")
    request = Login(
        pin,
        uri=format_uri(token_uri(token, module)),
        allow_final_try=options.allow_final_try,
    )
    try:
        if isolate:
            again = inspect_in_child(
                module.path,
                timeout=timeout,
                at=at,
                warn_days=options.warn_days,
                login=request,
                select=select,
            )
        else:
            again = inspect(
                module.path, at=at, warn_days=options.warn_days, login=request, select=select
            )
    except UsageError:
        raise
    except Exception as exc:
        # The login child crashed, hung or failed: the listing without login stays, with
        # the failure on its module (never the whole run's failure).
        again = _without_second_listing(reports[index], exc)
    finally:
        if pin is not None:
            pin.wipe()
    return [*reports[:index], _keep_first_listing(reports[index], again), *reports[index + 1 :]]


def _keep_first_listing(first: Report, again: Report) -> Report:
    """``again``, where a slot the login child lost (it crashed or hung there, and no
    token could be read) is the first listing's slot, with the problem that says why."""
    before = {s.slot.slot_id: s for s in first.slots}
    slots = []
    for read in again.slots:
        earlier = before.get(read.slot.slot_id)
        if read.token is None and earlier is not None and earlier.token is not None:
            read = replace(  # noqa: PLW2901 - the slot as it is shown
                earlier, problems=(*earlier.problems, *read.problems), complete=False
            )
        slots.append(read)
    return replace(again, slots=tuple(slots))


def _without_second_listing(report: Report, exc: Exception) -> Report:
    """The listing without login, with why the one after the login is missing."""
    from ..model import Problem

    if isinstance(exc, UkeytoolError):
        reason = exc.message
    else:
        reason = INTERNAL_REASON(kind=type(exc).__name__, error=str(exc) or type(exc).__name__)
    problem = Problem("C_Login", LOGIN_LISTING_FAILED(reason=reason))
    return replace(report, problems=(*report.problems, problem))


def _with_login(
    reports: list[Report], index: int, slot: SlotReport, outcome: LoginOutcome
) -> list[Report]:
    """The listing as it was, with the refused login recorded on its token."""
    report = reports[index]
    slots = tuple(replace(s, login=outcome) if s is slot else s for s in report.slots)
    return [*reports[:index], replace(report, slots=slots), *reports[index + 1 :]]


def login_exit(reports: Sequence[Report]) -> ExitCode | None:
    """The exit code a refused or failed login gives, if one did."""
    from ..model import LoginState

    states = {s.login.state for r in reports for s in r.slots if s.login is not None}
    if LoginState.FAILED in states:
        return ExitCode.LOGIN_FAILED
    if LoginState.REFUSED in states:
        return ExitCode.LOGIN_REFUSED
    return None


def login_note(reports: Sequence[Report]) -> None:
    """One line on standard error for a login that did not happen or failed."""
    for report in reports:
        for slot in report.slots:
            outcome = slot.login
            if outcome is not None and not outcome.logged_in:
                from ..rendering.text import LOGIN_WORDS

                word = _(LOGIN_WORDS[outcome.state])
                line = f"ukeytool: {word}: {render(outcome.message)}"
                sys.stderr.write(escape_control(line) + "\n")
