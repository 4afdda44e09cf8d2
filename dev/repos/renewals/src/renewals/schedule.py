"""When a subscription renews.

A subscription renews every `interval_months` months on the day of the month it started on. In a
month too short for that day it renews on the month's last day (dateutil's relativedelta clamps
to the end of the month), and on the original day again afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from dateutil.parser import isoparse
from dateutil.relativedelta import relativedelta


@dataclass(frozen=True)
class Plan:
    name: str
    interval_months: int

    def __post_init__(self) -> None:
        if self.interval_months < 1:
            raise ValueError(f"interval_months must be at least 1, got {self.interval_months}")


MONTHLY = Plan("monthly", 1)
QUARTERLY = Plan("quarterly", 3)
YEARLY = Plan("yearly", 12)


def parse_start(text: str) -> date:
    """The start date of a subscription as stored by the billing provider (ISO 8601)."""
    return isoparse(text).date()


def renewal_dates(start: date, plan: Plan, count: int) -> list[date]:
    """The first `count` renewal dates of a subscription that started on `start`."""
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    step = relativedelta(months=plan.interval_months)
    dates: list[date] = []
    current = start
    for _ in range(count):
        current = current + step
        dates.append(current)
    return dates


def next_renewal(start: date, plan: Plan, today: date) -> date:
    """The first renewal strictly after `today`."""
    count = 1
    while True:
        last = renewal_dates(start, plan, count)[-1]
        if last > today:
            return last
        count += 1
