"""monthsUntilExpiration for an X.509 grant: the grant's length rounded UP to calendar months, 1 to 24."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from access.database_roles import auth_database, certificate_months

START = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("length", "months"), [
    (timedelta(seconds=1), 1),
    (timedelta(hours=1), 1),
    (timedelta(days=7), 1),  # the longest cluster grant
    (timedelta(days=28), 1),  # to Feb 28: within a month of Jan 31 (Feb's last day)
    (timedelta(days=28, seconds=1), 2),
    (timedelta(days=59), 2),  # to Mar 31 12:00: exactly two months
    (timedelta(days=59, seconds=1), 3),
    (timedelta(days=365), 12),  # 2026 is no leap year: Jan 31 2027, exactly 12 months
    (timedelta(days=730), 24),
])
def test_the_grant_is_rounded_up_to_whole_months(length: timedelta, months: int) -> None:
    assert certificate_months(START, START + length) == months


def test_a_zero_length_grant_still_gets_one_month() -> None:
    assert certificate_months(START, START) == 1


def test_atlas_gives_no_more_than_24_months() -> None:
    with pytest.raises(ValueError, match="24 months"):
        certificate_months(START, START + timedelta(days=731))


def test_the_month_end_is_clamped_not_overflowed() -> None:
    leap = datetime(2028, 1, 31, tzinfo=UTC)  # 2028 is a leap year: Jan 31 + 1 month = Feb 29
    assert certificate_months(leap, datetime(2028, 2, 29, tzinfo=UTC)) == 1
    assert certificate_months(leap, datetime(2028, 3, 1, tzinfo=UTC)) == 2


def test_x509_users_sign_in_on_external() -> None:
    assert auth_database("x509") == "$external"
    assert auth_database(None) == auth_database("password") == "admin"
