"""The types of option values: argparse calls them, and reports what they refuse as a
usage error (``argument --at: ...``), in the language main() chose."""

from __future__ import annotations

import argparse
import datetime

from ..i18n import _

__all__ = ["days", "moment", "seconds"]


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
    return when


def days(text: str) -> int:
    """--warn-days, --crit-days: a whole number of days, 0 or more."""
    try:
        count = int(text)
    except ValueError:
        count = -1
    if count < 0:
        raise argparse.ArgumentTypeError(
            _("{value} is not a whole number of days >= 0").format(value=repr(text))
        )
    return count


def seconds(text: str) -> float:
    """--timeout: a finite number of seconds, 0 or more."""
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not number >= 0 or number == float("inf"):
        raise argparse.ArgumentTypeError(
            _("{value} is not a number of seconds >= 0").format(value=repr(text))
        )
    return number
