"""Renewal schedules of subscriptions."""

from renewals.schedule import Plan, next_renewal, renewal_dates

__all__ = ["Plan", "next_renewal", "renewal_dates"]
