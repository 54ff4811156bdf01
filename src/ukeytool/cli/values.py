"""The types of option values: argparse calls them, and reports what they refuse as a
usage error (``argument --at: ...``: the option is named), in the language main() chose.

Every numeric value has a range, and a value outside it is a usage error that says the
range (exit 2; 3 for ``check``), never an overflow further on:

=====================================  ===================================================
option                                 range
=====================================  ===================================================
``--at``                               :data:`EARLIEST` to :data:`LATEST` (1900-01-01 to
                                       9000-12-31T23:59:59, UTC, after its offset)
``--warn-days``, ``--crit-days``       0 to ``MAX_DAYS`` (36500, about 100 years:
                                       what :func:`ukeytool.judge` accepts)
``--timeout``                          0 (no limit) to :data:`MAX_SECONDS` (86400, a day)
=====================================  ===================================================
"""

from __future__ import annotations

import argparse
import datetime
import math

from ..i18n import _

# typing.TYPE_CHECKING without importing typing at start-up (mypy reads the name).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

    from ..judging.validity import MAX_WARN_DAYS as MAX_DAYS

__all__ = ["EARLIEST", "LATEST", "MAX_DAYS", "MAX_SECONDS", "days", "moment", "seconds"]

EARLIEST: Final = datetime.datetime(1900, 1, 1, tzinfo=datetime.timezone.utc)
"""The earliest --at."""
LATEST: Final = datetime.datetime(9000, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)
"""The latest --at (so that --at plus --warn-days days is still a date)."""
MAX_SECONDS: Final = 86400
"""The most --timeout can be."""


def __getattr__(name: str) -> int:
    # MAX_DAYS, the most --warn-days and --crit-days can be, is what ukeytool.judge()
    # accepts: judging.validity.MAX_WARN_DAYS, imported when a number of days is given
    # (the judging module and the model it imports are not needed to parse the others).
    if name == "MAX_DAYS":
        from ..judging.validity import MAX_WARN_DAYS

        return MAX_WARN_DAYS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def moment(text: str) -> datetime.datetime:
    """--at: an ISO 8601 moment; a date or a time without zone is taken as UTC."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        when = datetime.datetime.fromisoformat(value)
    except ValueError:
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                _(
                    "{value} is not an ISO 8601 date or moment, e.g. 2027-06-30 or "
                    "2027-06-30T12:00:00+08:00"
                ).format(value=repr(text))
            ) from None
        when = datetime.datetime(day.year, day.month, day.day)
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    try:
        in_range = EARLIEST <= when.astimezone(datetime.timezone.utc) <= LATEST
    except OverflowError:  # 0001-01-01T00:00:00+14:00 is before the year 1 in UTC
        in_range = False
    if not in_range:
        raise argparse.ArgumentTypeError(
            _("{value} is outside the range {earliest} to {latest} (UTC)").format(
                value=repr(text), earliest="1900-01-01", latest="9000-12-31T23:59:59"
            )
        )
    return when


def days(text: str) -> int:
    """--warn-days, --crit-days: a whole number of days, 0 to ``MAX_DAYS``."""
    try:
        count = int(text)
    except ValueError:
        count = -1
    if count < 0:
        raise argparse.ArgumentTypeError(
            _("{value} is not a whole number of days >= 0").format(value=repr(text))
        )
    from ..judging.validity import MAX_WARN_DAYS

    if count > MAX_WARN_DAYS:
        raise argparse.ArgumentTypeError(
            _("{value} is outside the range 0 to {most} days").format(
                value=repr(text), most=MAX_WARN_DAYS
            )
        )
    return count


def seconds(text: str) -> float:
    """--timeout: a number of seconds, 0 (no limit) to :data:`MAX_SECONDS`."""
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not number >= 0:
        raise argparse.ArgumentTypeError(
            _("{value} is not a number of seconds >= 0").format(value=repr(text))
        )
    if not math.isfinite(number) or number > MAX_SECONDS:
        raise argparse.ArgumentTypeError(
            _("{value} is outside the range 0 to {most} seconds").format(
                value=repr(text), most=MAX_SECONDS
            )
        )
    return number
