# Hidden acceptance test: never part of the repository the agent gets. The eval harness copies it
# to <checkout>/hidden_acceptance/ on the host (outside the project's testpaths) and runs it with
# the checkout's .venv; the project's pytest settings put src/ on the import path.
import calendar
from datetime import date

from renewals.schedule import MONTHLY, QUARTERLY, YEARLY, next_renewal, renewal_dates


def last_day(year, month):
    return calendar.monthrange(year, month)[1]


def test_a_month_end_start_renews_at_each_month_end_for_a_year():
    got = renewal_dates(date(2023, 1, 31), MONTHLY, 12)
    want = [date(2023 + (m // 12), m % 12 + 1, last_day(2023 + (m // 12), m % 12 + 1)) for m in range(1, 13)]
    assert got == want


def test_the_30th_survives_february_on_a_quarterly_plan():
    assert renewal_dates(date(2023, 8, 30), QUARTERLY, 4) == [date(2023, 11, 30), date(2024, 2, 29), date(2024, 5, 30), date(2024, 8, 30)]


def test_a_leap_day_start_renews_on_the_leap_day_again():
    assert renewal_dates(date(2024, 2, 29), YEARLY, 4) == [date(2025, 2, 28), date(2026, 2, 28), date(2027, 2, 28), date(2028, 2, 29)]


def test_next_renewal_after_a_clamped_month():
    assert next_renewal(date(2024, 1, 31), MONTHLY, date(2024, 3, 15)) == date(2024, 3, 31)
    assert next_renewal(date(2024, 1, 31), MONTHLY, date(2024, 3, 31)) == date(2024, 4, 30)


def test_ordinary_days_are_unchanged():
    assert renewal_dates(date(2024, 3, 15), MONTHLY, 12)[-1] == date(2025, 3, 15)
    assert renewal_dates(date(2024, 3, 15), MONTHLY, 0) == []
