"""The figures a region is judged by, for one period: the same numbers as the register export.

Periods are written ``2026H1`` (half-year), ``2026Q3`` (quarter) or ``2026-05`` (month).
Any figure that rests on fewer than ``MIN_CELL`` patients is suppressed (None), so that no
one can be recognised from a small unit's numbers.
"""

import calendar
import datetime
import re
import statistics

from django.db.models import Count, Q
from django.utils import timezone

from ikbt.intake.models import Registration
from ikbt.intake.waiting import summarise
from ikbt.organisations.models import Region
from ikbt.reporting.register import (
    outcome_of,
    responsible_therapist,
    rows,
    start_of_day,
    treatments,
)
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


def _between(field: str, first: datetime.date, last: datetime.date) -> Q:
    """Local days ``first``..``last`` inclusive, as a range the column's index can use."""
    return Q(
        **{
            f"{field}__gte": start_of_day(first),
            f"{field}__lt": start_of_day(last + datetime.timedelta(days=1)),
        }
    )


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole >= MIN_CELL else None


def _cell(value, n: int):
    return value if n >= MIN_CELL else None


# How each breakdown finds its key in starts, registrations and register rows.
GROUPS = {
    "region": ("unit__region__code", "offering__unit__region__code", "unit__region__code"),
    "unit": ("unit_id", "offering__unit_id", "unit_id"),
    "program": (
        "program_version__program__slug",
        "offering__program__slug",
        "program_version__program__slug",
    ),
    # Registrations have no therapist: that breakdown counts starts and outcomes only.
    "therapist": ("therapist_id", None, "therapist_id"),
}


def outcome_figures(rows: list[dict]) -> dict:
    """Completion, effect and therapist time of ended treatments (rows of ``treatments``)."""
    completed = sum(1 for row in rows if row["end_reason"] == "completed")
    dropped = sum(1 for row in rows if row["end_reason"] == "dropped_out")
    outcomes = [outcome for outcome in map(outcome_of, rows) if outcome]
    n = len(outcomes)
    pre = [outcome["pre"] for outcome in outcomes]
    post = [outcome["post"] for outcome in outcomes]
    cohens_d = None
    if n >= MIN_CELL and statistics.stdev(pre) > 0:
        # Within-group effect: mean improvement divided by the pre-treatment SD.
        cohens_d = round(
            (statistics.fmean(pre) - statistics.fmean(post)) / statistics.stdev(pre), 2
        )
    minutes = sum(row["minutes"] or 0 for row in rows)
    patient_weeks = sum(max(1, (row["ended_at"] - row["started_at"]).days / 7) for row in rows)
    return {
        "ended": _cell(len(rows), len(rows)),
        "completed_share": _share(completed, len(rows)),
        "dropped_out_share": _share(dropped, len(rows)),
        "outcome_n": _cell(n, n),
        "cohens_d": cohens_d,
        "reliably_improved_share": _share(
            sum(1 for outcome in outcomes if outcome["reliable_improvement"]), n
        ),
        "recovered_share": _share(sum(1 for outcome in outcomes if outcome["remission"]), n),
        "deteriorated_share": _share(
            sum(1 for outcome in outcomes if outcome["reliable_deterioration"]), n
        ),
        "therapist_minutes_per_patient_week": (
            round(minutes / patient_weeks, 1) if len(rows) >= MIN_CELL else None
        ),
    }


def _counted(query, key: str) -> dict:
    return dict(query.order_by().values_list(key).annotate(n=Count("pk")).values_list(key, "n"))


def figures_by(
    period: str, by: str, *, region: str | None = None, units: list[int] | None = None
) -> dict:
    """The key figures of ``period`` for each region, unit, program or therapist (``by``)."""
    return figures_for(period, (by,), region=region, units=units)[by]


def figures_for(
    period: str,
    groupings: tuple[str, ...],
    *,
    region: str | None = None,
    units: list[int] | None = None,
) -> dict[str, dict]:
    """The key figures of ``period`` per region, unit, program and/or therapist, in one
    region or the whole country, and only for ``units`` when given: the figures ``kpi``
    prints and the register export's records give, with small cells suppressed. The ended
    treatments are read once, whatever the number of groupings."""
    first, last = period_bounds(period)
    enrollments = Enrollment.objects.annotate(therapist_id=responsible_therapist())
    registrations = Registration.objects.all()
    if region:
        enrollments = enrollments.filter(unit__region__code=region)
        registrations = registrations.filter(offering__unit__region__code=region)
    if units is not None:
        enrollments = enrollments.filter(unit_id__in=units)
        registrations = registrations.filter(offering__unit_id__in=units)
    query = treatments(first, last, region=region)
    if units is not None:
        query = query.filter(unit_id__in=units)
    ended_rows = list(rows(query, detail=False, chunk=5000))
    result = {}
    for by in groupings:
        start_key, registration_key, row_key = GROUPS[by]
        starts = _counted(enrollments.filter(_between("started_at", first, last)), start_key)
        earlier = _counted(
            enrollments.filter(_between("started_at", _year_earlier(first), _year_earlier(last))),
            start_key,
        )
        registered, waits = {}, {}
        if registration_key:
            in_period = registrations.filter(_between("registered_at", first, last))
            registered = _counted(in_period, registration_key)
            for key, registered_at, start_date in in_period.filter(
                status=Registration.Status.ACCEPTED, start_date__isnull=False
            ).values_list(registration_key, "registered_at", "start_date"):
                waits.setdefault(key, []).append(
                    (start_date - timezone.localdate(registered_at)).days
                )
        ended: dict = {}
        for row in ended_rows:
            ended.setdefault(row[row_key], []).append(row)
        figures = {}
        for key in {*starts, *earlier, *registered, *waits, *ended} - {None}:
            wait = summarise(waits.get(key, []))
            figures[key] = {
                "registrations": (
                    _cell(registered.get(key, 0), registered.get(key, 0))
                    if registration_key
                    else None
                ),
                "starts": _cell(starts.get(key, 0), starts.get(key, 0)),
                "starts_a_year_earlier": _cell(earlier.get(key, 0), earlier.get(key, 0)),
                "waiting_registration_to_start": {
                    "n": _cell(wait.count, wait.count),
                    "mean": _cell(wait.mean, wait.count),
                    "median": _cell(wait.median, wait.count),
                    "p90": _cell(wait.p90, wait.count),
                },
                **outcome_figures(ended.get(key, [])),
            }
        result[by] = figures
    return result


EMPTY = {
    "registrations": None,
    "starts": None,
    "starts_a_year_earlier": None,
    "waiting_registration_to_start": {"n": None, "mean": None, "median": None, "p90": None},
    **outcome_figures([]),
}


def kpi(region: str, period: str, by_region: dict | None = None) -> dict:
    """A region's key figures for a period (``ikbt kpi``, the statistics page), from
    ``figures_for``'s regional figures when the caller has them already."""
    first, last = period_bounds(period)
    if by_region is None:
        by_region = figures_by(period, "region", region=region)
    figures = by_region.get(region, EMPTY)
    return {
        "region": region,
        "period": period,
        "from": first.isoformat(),
        "to": last.isoformat(),
        **figures,
        "cumulative_starts": Enrollment.objects.filter(
            unit__region__code=region, started_at__lt=start_of_day(last + datetime.timedelta(1))
        ).count(),
    }


def national(period: str) -> list[dict]:
    """Every region side by side: starts per 100,000 inhabitants and the key figures."""
    figures = figures_by(period, "region")
    rows = []
    for region in Region.objects.order_by("code"):
        row = figures.get(region.code, EMPTY)
        starts = row["starts"]
        rows.append(
            {
                "region": region,
                "population": region.population,
                "starts_per_100000": (
                    round(100_000 * starts / region.population, 1)
                    if starts is not None and region.population
                    else None
                ),
                **row,
            }
        )
    return rows
