"""Validity at a moment: statuses, boundaries (inclusive, as in RFC 5280), days left."""

from __future__ import annotations

import datetime

import pytest

from ukeytool import Certificate, Status, UsageError, judge

UTC = datetime.timezone.utc
NOW = datetime.datetime(2030, 1, 1, tzinfo=UTC)
DAY = datetime.timedelta(days=1)
SECOND = datetime.timedelta(seconds=1)


def cert(not_before: datetime.datetime | None, not_after: datetime.datetime | None) -> Certificate:
    return Certificate(der=b"", sha256="", sha1="", not_before=not_before, not_after=not_after)


@pytest.mark.parametrize(
    ("not_before", "not_after", "status", "days_left"),
    [
        (NOW - 365 * DAY, NOW + 365 * DAY, Status.VALID, 365),
        (NOW - DAY, NOW + 31 * DAY, Status.VALID, 31),
        (NOW - DAY, NOW + 30 * DAY + SECOND, Status.VALID, 30),
        (NOW - DAY, NOW + 30 * DAY, Status.EXPIRING, 30),
        (NOW - DAY, NOW + 20 * DAY, Status.EXPIRING, 20),
        (NOW - DAY, NOW + 12 * 3600 * SECOND, Status.EXPIRING, 0),
        (NOW - DAY, NOW, Status.EXPIRING, 0),
        (NOW - DAY, NOW - SECOND, Status.EXPIRED, -1),
        (NOW - 60 * DAY, NOW - 30 * DAY, Status.EXPIRED, -30),
        (NOW, NOW + 365 * DAY, Status.VALID, 365),
        (NOW + SECOND, NOW + 365 * DAY, Status.NOT_YET_VALID, 365),
        (NOW + 10 * DAY, NOW + 20 * DAY, Status.NOT_YET_VALID, 20),
    ],
)
def test_status_and_days_left(
    not_before: datetime.datetime, not_after: datetime.datetime, status: Status, days_left: int
) -> None:
    validity = judge(cert(not_before, not_after), NOW, warn_days=30)
    assert validity.status is status
    assert validity.days_left == days_left


def test_both_bounds_are_inclusive() -> None:
    c = cert(NOW, NOW + 100 * DAY)
    assert judge(c, NOW, warn_days=0).status is Status.VALID
    assert judge(c, NOW + 100 * DAY, warn_days=0).status is Status.EXPIRING
    assert judge(c, NOW + 100 * DAY + SECOND, warn_days=0).status is Status.EXPIRED
    assert judge(c, NOW - SECOND, warn_days=0).status is Status.NOT_YET_VALID


def test_warn_days_zero_means_only_the_last_moment() -> None:
    c = cert(NOW - DAY, NOW + SECOND)
    assert judge(c, NOW, warn_days=0).status is Status.VALID


@pytest.mark.parametrize(("nb", "na"), [(None, NOW), (NOW, None), (None, None)])
def test_missing_dates_are_unreadable(
    nb: datetime.datetime | None, na: datetime.datetime | None
) -> None:
    validity = judge(cert(nb, na), NOW)
    assert validity.status is Status.UNREADABLE
    assert validity.days_left is None
    assert judge(None, NOW).status is Status.UNREADABLE


def test_other_time_zones_are_the_same_moment() -> None:
    beijing = datetime.timezone(datetime.timedelta(hours=8))
    c = cert(NOW - DAY, NOW)
    assert judge(c, NOW.astimezone(beijing), warn_days=0).status is Status.EXPIRING
    assert judge(c, (NOW + SECOND).astimezone(beijing)).status is Status.EXPIRED


def test_naive_moment_is_refused() -> None:
    with pytest.raises(UsageError, match="no time zone"):
        judge(cert(NOW, NOW), datetime.datetime(2030, 1, 1))


@pytest.mark.parametrize("bad", [-1, 1.5, True, "30"])
def test_bad_warn_days_is_refused(bad: object) -> None:
    with pytest.raises(UsageError, match="warn_days"):
        judge(cert(NOW, NOW), NOW, warn_days=bad)  # type: ignore[arg-type]


def test_an_overlong_warning_window_is_refused_not_overflowed() -> None:
    at = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    judge(None, at, warn_days=36500)
    with pytest.raises(UsageError) as caught:
        judge(None, at, warn_days=10**9)
    assert caught.value.message.code == "validity.warn_days_too_long"
    assert str(caught.value) == "warn_days must be at most 36500 days, not 1000000000"
