"""Judging a certificate's validity at a moment: pure functions, no clock.

The moment is always passed in as an aware datetime; only the CLI reads the clock.
Both bounds are inclusive, as in RFC 5280 section 4.1.2.5: a certificate is valid at
exactly not_before and at exactly not_after.
"""

from __future__ import annotations

import datetime
import math

from ..errors import UsageError
from ..i18n.message import Message, template
from ..model import Certificate, Status, Validity

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

__all__ = ["check_moment", "judge"]

_DAY = datetime.timedelta(days=1)

THE_MOMENT: Final = template("validity.the_moment", "the moment")
NOT_A_DATETIME: Final = template("validity.not_datetime", "{what} must be a datetime, not {type}")
NAIVE_DATETIME: Final = template(
    "validity.naive_datetime",
    "{what} {moment} has no time zone; give an aware datetime, e.g. datetime.now(timezone.utc)",
)
WARN_DAYS_TOO_LONG: Final = template(
    "validity.warn_days_too_long", "warn_days must be at most {limit} days, not {value}"
)
BAD_WARN_DAYS: Final = template(
    "validity.bad_warn_days", "warn_days must be a whole number of days >= 0, not {value}"
)


def check_moment(at: datetime.datetime, *, what: Message | str | None = None) -> datetime.datetime:
    """Return ``at`` in UTC, refusing a naive datetime (its time zone would be a guess).

    ``what``: the parameter's name (``"at"``) in the message; default "the moment"."""
    if not isinstance(at, datetime.datetime):
        name = THE_MOMENT() if what is None else what
        raise UsageError(NOT_A_DATETIME(what=name, type=type(at).__name__))
    if at.tzinfo is datetime.timezone.utc:
        return at  # the usual case (a report's moment), once per certificate
    if at.tzinfo is None or at.utcoffset() is None:
        name = THE_MOMENT() if what is None else what
        raise UsageError(NAIVE_DATETIME(what=name, moment=at.isoformat()))
    return at.astimezone(datetime.timezone.utc)


MAX_WARN_DAYS: Final = 36500
"""The longest warning window, a hundred years (as ``--warn-days`` allows): a larger one
would overflow the date arithmetic."""


def check_warn_days(warn_days: int) -> int:
    """Refuse a negative, non-integer or overlong (over :data:`MAX_WARN_DAYS`) window."""
    if isinstance(warn_days, bool) or not isinstance(warn_days, int) or warn_days < 0:
        raise UsageError(BAD_WARN_DAYS(value=repr(warn_days)))
    if warn_days > MAX_WARN_DAYS:
        raise UsageError(WARN_DAYS_TOO_LONG(value=repr(warn_days), limit=MAX_WARN_DAYS))
    return warn_days


def judge(certificate: Certificate | None, at: datetime.datetime, warn_days: int = 30) -> Validity:
    """The status and days left of ``certificate`` at ``at``.

    ``days_left`` is the whole number of days from ``at`` to not_after, rounded down:
    0 on the last day, -1 from the first moment after not_after. A certificate is
    :attr:`Status.EXPIRING` when not_after is at most ``warn_days`` days after ``at``.
    """
    if type(at) is not datetime.datetime or at.tzinfo is not datetime.timezone.utc:
        at = check_moment(at)
    if type(warn_days) is not int or not 0 <= warn_days <= MAX_WARN_DAYS:
        check_warn_days(warn_days)
    if certificate is None or certificate.not_before is None or certificate.not_after is None:
        return Validity(Status.UNREADABLE, None)
    not_before, not_after = certificate.not_before, certificate.not_after
    days_left = math.floor((not_after - at) / _DAY)
    if at > not_after:
        status = Status.EXPIRED
    elif at < not_before:
        status = Status.NOT_YET_VALID
    elif not_after - at <= warn_days * _DAY:
        status = Status.EXPIRING
    else:
        status = Status.VALID
    return Validity(status, days_left)
