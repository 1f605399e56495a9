"""The figures a region is judged by, for one period: the same numbers as the register export.

Periods are written ``2026H1`` (half-year), ``2026Q3`` (quarter) or ``2026-05`` (month).
Any figure that rests on fewer than ``MIN_CELL`` patients is suppressed (None), so that no
one can be recognised from a small unit's numbers.
"""

import calendar
import datetime
import re
import statistics

from django.db.models import Q

from ikbt.intake.models import Registration
from ikbt.intake.waiting import summarise
from ikbt.reporting.register import records
from ikbt.treatment.models import Enrollment

MIN_CELL = 5
PERIOD = re.compile(r"^(?P<year>\d{4})(?:H(?P<half>[12])|Q(?P<quarter>[1-4])|-(?P<month>\d{2}))$")


class PeriodError(ValueError):
    pass


def period_bounds(text: str) -> tuple[datetime.date, datetime.date]:
    """First and last day of the period (inclusive)."""
    match = PERIOD.match(text)
    if match is None:
        raise PeriodError(f"'{text}' is not a period: write 2026H1, 2026Q3 or 2026-05.")
    year = int(match["year"])
    if match["half"]:
        first_month, months = (1, 6) if match["half"] == "1" else (7, 6)
    elif match["quarter"]:
        first_month, months = 3 * int(match["quarter"]) - 2, 3
    else:
        first_month, months = int(match["month"]), 1
        if not 1 <= first_month <= 12:
            raise PeriodError(f"'{text}' has no month {first_month}.")
    last_month = first_month + months - 1
    return (
        datetime.date(year, first_month, 1),
        datetime.date(year, last_month, calendar.monthrange(year, last_month)[1]),
    )


def _year_earlier(day: datetime.date) -> datetime.date:
    return day.replace(year=day.year - 1, day=min(day.day, 28) if day.month == 2 else day.day)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole >= MIN_CELL else None


def _cell(value, n: int):
    return value if n >= MIN_CELL else None


def kpi(region: str, period: str) -> dict:
    first, last = period_bounds(period)
    in_region = Q(unit__region__code=region)
    starts = Enrollment.objects.filter(
        in_region, started_at__date__gte=first, started_at__date__lte=last
    )
    earlier = Enrollment.objects.filter(
        in_region,
        started_at__date__gte=_year_earlier(first),
        started_at__date__lte=_year_earlier(last),
    )
    registrations = Registration.objects.filter(
        offering__unit__region__code=region,
        registered_at__date__gte=first,
        registered_at__date__lte=last,
    )
    waits = [
        (registration.start_date - registration.registered_at.date()).days
        for registration in registrations.filter(status=Registration.Status.ACCEPTED).exclude(
            start_date=None
        )
    ]
    wait = summarise(waits)
    ended = [row for _, row in records(first, last, region=region)]
    completed = sum(1 for row in ended if row["end_reason"] == "completed")
    dropped = sum(1 for row in ended if row["end_reason"] == "dropped_out")
    with_outcome = [
        row for row in ended if row["score_pre"] is not None and row["score_post"] is not None
    ]
    n = len(with_outcome)
    pre = [row["score_pre"] for row in with_outcome]
    post = [row["score_post"] for row in with_outcome]
    cohens_d = None
    if n >= MIN_CELL and statistics.stdev(pre) > 0:
        # Within-group effect: mean improvement divided by the pre-treatment SD.
        cohens_d = round(
            (statistics.fmean(pre) - statistics.fmean(post)) / statistics.stdev(pre), 2
        )
    minutes = sum(row["therapist_minutes"] or 0 for row in ended)
    patient_weeks = sum(
        (row["therapist_minutes"] or 0) / row["therapist_minutes_per_week"]
        for row in ended
        if row["therapist_minutes_per_week"]
    )
    return {
        "region": region,
        "period": period,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "registrations": _cell(registrations.count(), registrations.count()),
        "starts": _cell(starts.count(), starts.count()),
        "starts_a_year_earlier": _cell(earlier.count(), earlier.count()),
        "cumulative_starts": Enrollment.objects.filter(
            in_region, started_at__date__lte=last
        ).count(),
        "waiting_registration_to_start": {
            "n": wait.count,
            "mean": _cell(wait.mean, wait.count),
            "median": _cell(wait.median, wait.count),
            "p90": _cell(wait.p90, wait.count),
        },
        "ended": len(ended),
        "completed_share": _share(completed, len(ended)),
        "dropped_out_share": _share(dropped, len(ended)),
        "outcome_n": n,
        "cohens_d": cohens_d,
        "reliably_improved_share": _share(
            sum(1 for row in with_outcome if row["reliable_improvement"]), n
        ),
        "recovered_share": _share(sum(1 for row in with_outcome if row["remission"]), n),
        "deteriorated_share": _share(
            sum(1 for row in with_outcome if row["reliable_deterioration"]), n
        ),
        "therapist_minutes_per_patient_week": (
            round(minutes / patient_weeks, 1) if len(ended) >= MIN_CELL and patient_weeks else None
        ),
    }
