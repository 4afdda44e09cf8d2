from datetime import date

import pytest

from renewals.schedule import MONTHLY, QUARTERLY, YEARLY, Plan, next_renewal, parse_start, renewal_dates


def test_monthly_renewals_keep_the_day_of_the_month():
    assert renewal_dates(date(2024, 3, 15), MONTHLY, 3) == [date(2024, 4, 15), date(2024, 5, 15), date(2024, 6, 15)]


def test_quarterly_and_yearly_plans():
    assert renewal_dates(date(2024, 2, 10), QUARTERLY, 2) == [date(2024, 5, 10), date(2024, 8, 10)]
    assert renewal_dates(date(2023, 6, 1), YEARLY, 2) == [date(2024, 6, 1), date(2025, 6, 1)]


def test_a_short_month_renews_on_its_last_day():
    assert renewal_dates(date(2023, 1, 31), MONTHLY, 1) == [date(2023, 2, 28)]
    assert renewal_dates(date(2024, 1, 31), MONTHLY, 1) == [date(2024, 2, 29)]


def test_month_end_subscription_renews_on_its_day_after_february():
    assert renewal_dates(date(2024, 1, 31), MONTHLY, 3) == [date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)]


def test_next_renewal_is_after_today():
    assert next_renewal(date(2024, 3, 15), MONTHLY, date(2024, 5, 15)) == date(2024, 6, 15)
    assert next_renewal(date(2024, 3, 15), MONTHLY, date(2024, 3, 20)) == date(2024, 4, 15)


def test_start_dates_from_the_billing_provider():
    assert parse_start("2024-01-31T09:30:00+01:00") == date(2024, 1, 31)


def test_a_plan_renews_at_least_monthly():
    with pytest.raises(ValueError):
        Plan("broken", 0)
