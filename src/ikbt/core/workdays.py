"""Working days in Swedish care: Monday to Friday, except public holidays (from the
``holidays`` package) and the eves that are kept as holidays (midsommarafton, julafton,
nyårsafton)."""

import datetime
from functools import cache

import holidays
from django.utils import timezone


@cache
def _swedish_holidays(year: int) -> set[datetime.date]:
    days = set(holidays.country_holidays("SE", years=year))
    midsummer_eve = next(
        day for day in days if day.month == 6 and day.weekday() == 5 and 20 <= day.day <= 26
    ) - datetime.timedelta(days=1)
    return days | {midsummer_eve, datetime.date(year, 12, 24), datetime.date(year, 12, 31)}


def is_working_day(day: datetime.date) -> bool:
    return day.weekday() < 5 and day not in _swedish_holidays(day.year)


def add_working_days(moment: datetime.datetime, days: int) -> datetime.datetime:
    """The same time of day ``days`` working days later (Stockholm time)."""
    local = timezone.localtime(moment)
    counted = 0
    while counted < days:
        local += datetime.timedelta(days=1)
        if is_working_day(local.date()):
            counted += 1
    return local
