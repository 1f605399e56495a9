"""The figures a region is judged by, for one period: the same numbers as the register export.

Periods are written ``2026H1`` (half-year), ``2026Q3`` (quarter) or ``2026-05`` (month).
Any figure that rests on fewer than ``MIN_CELL`` patients is suppressed (None), so that no
one can be recognised from a small unit's numbers.
"""

import calendar
import datetime
import math
import re

from django.conf import settings
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import Greatest, TruncDate
from django.utils.translation import gettext as _

from ikbt.intake.models import Registration
from ikbt.intake.waiting import summarise
from ikbt.measurement.definitions import shipped_definitions
from ikbt.organisations.models import CareUnit, Region
from ikbt.reporting.register import local_days, start_of_day, treatments
from ikbt.treatment.models import Enrollment

MIN_CELL = 5
PERIOD = re.compile(r"^(?P<year>\d{4})(?:H(?P<half>[12])|Q(?P<quarter>[1-4])|-(?P<month>\d{2}))?$")


class PeriodError(ValueError):
    pass


def period_bounds(text: str) -> tuple[datetime.date, datetime.date]:
    """First and last day of the period (inclusive)."""
    match = PERIOD.match(text)
    if match is None:
        raise PeriodError(
            _("'%(text)s' is not a period: write 2026, 2026H1, 2026Q3 or 2026-05.")
            % {"text": text}
        )
    year = int(match["year"])
    if match["half"] is None and match["quarter"] is None and match["month"] is None:
        first_month, months = 1, 12  # the whole year, for a year's report
    elif match["half"]:
        first_month, months = (1, 6) if match["half"] == "1" else (7, 6)
    elif match["quarter"]:
        first_month, months = 3 * int(match["quarter"]) - 2, 3
    else:
        first_month, months = int(match["month"]), 1
        if not 1 <= first_month <= 12:
            raise PeriodError(
                _("'%(text)s' has no month %(month)s.") % {"text": text, "month": first_month}
            )
    last_month = first_month + months - 1
    return (
        datetime.date(year, first_month, 1),
        datetime.date(year, last_month, calendar.monthrange(year, last_month)[1]),
    )


def _year_earlier(day: datetime.date) -> datetime.date:
    return day.replace(year=day.year - 1, day=min(day.day, 28) if day.month == 2 else day.day)


def _share(part: int, whole: int) -> float | None:
    """``part`` of ``whole``, hidden where either resting on fewer than ``MIN_CELL`` patients
    would show: 0.8 of 5 is 4 who did and 1 who did not."""
    if whole < MIN_CELL or 0 < part < MIN_CELL or 0 < whole - part < MIN_CELL:
        return None
    return round(part / whole, 3)


def _cell(value, n: int):
    return value if n >= MIN_CELL else None


def hide_complements(shown: dict, counts: dict, groups) -> None:
    """Secondary suppression, in place: a small count hidden in ``shown`` (None) must not be
    found by subtracting the counts shown from a total that is shown. In each group of keys
    (the cells that add up to a published total) where the hidden cells could be worked out
    (one hidden cell, or every hidden cell at its smallest or largest possible value), the
    smallest count still shown is hidden too, until they cannot; a group whose hidden cells
    are all large (hidden for another group's sake) has nothing to protect. Give the groups
    finest first, so that the cell hidden beside a small one is its near neighbour.
    ``counts`` are the true counts; zero is shown as it is, and hidden only where nothing
    else is left to hide (two hidden 4s beside zeros under a total of 8): a hidden zero
    makes the hidden cells' values many possible ones again."""
    changed = True
    while changed:
        changed = False
        for group in groups:
            hidden = [key for key in group if shown[key] is None]
            small = [key for key in hidden if 0 < counts.get(key, 0) < MIN_CELL]
            if not small or sum(counts.get(key, 0) for key in group) < MIN_CELL:
                continue  # nothing small to protect, or the total is itself hidden
            hidden_sum = sum(counts.get(key, 0) for key in hidden)
            found = len(hidden) == 1 or (
                len(small) == len(hidden)
                and hidden_sum in (len(hidden), (MIN_CELL - 1) * len(hidden))
            )
            visible = [key for key in group if shown[key]] or [
                key for key in group if shown[key] == 0
            ]
            if found and visible:
                shown[min(visible, key=lambda key: (shown[key], str(key)))] = None
                changed = True


WEEK = datetime.timedelta(weeks=1)
# The finest groups every figure is counted in, in the database; each grouping the pages
# show (region, unit, program, therapist) is a sum of these in Python, so a page costs the
# same handful of queries however many groupings and treatments it shows.
# What each grouping needs from a treatment and from a registration (a region is its units').
TREATMENT_FIELD = {
    "region": "unit_id",
    "unit": "unit_id",
    "program": "program_version__program__slug",
    "therapist": "responsible_therapist_id",
}
REGISTRATION_FIELD = {
    "region": "offering__unit_id",
    "unit": "offering__unit_id",
    "program": "offering__program__slug",
}
SUMMED = ("ended", "completed", "dropped", "outcome_n", "improved", "recovered", "deteriorated",
          "change_judged", "remission_judged", "minutes", "duration")  # fmt: skip
# Summed per primary questionnaire: an effect size is worked out on one scale at a time.
SUMMED_PER_SCALE = ("outcome_n", "pre_sum", "post_sum", "pre_squares")


def _grouped(query, fields: tuple[str, ...], **aggregates) -> list[dict]:
    return list(query.order_by().values(*fields).annotate(**aggregates))


def _outcome_sums(query, fields: tuple[str, ...]) -> list[dict]:
    """Ended treatments, how they ended, and the sums the effect figures need, from each
    treatment's stored register summary, per finest group."""
    both = Q(score_pre__isnull=False, score_post__isnull=False)
    # A treatment counts at least one patient-week, like the register's minutes per week.
    weeks = Greatest(
        ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField()),
        Value(WEEK, output_field=DurationField()),
    )
    return _grouped(
        query,
        (*fields, "primary_instrument"),
        ended=Count("pk"),
        completed=Count("pk", filter=Q(end_reason="completed")),
        dropped=Count("pk", filter=Q(end_reason="dropped_out")),
        outcome_n=Count("pk", filter=both),
        pre_sum=Sum("score_pre", filter=both),
        post_sum=Sum("score_post", filter=both),
        # Squares for the SD: SQLite's STDDEV_SAMP fails on a group of one.
        pre_squares=Sum(F("score_pre") * F("score_pre"), filter=both),
        improved=Count("pk", filter=both & Q(reliable_improvement=True)),
        recovered=Count("pk", filter=both & Q(remission=True)),
        deteriorated=Count("pk", filter=both & Q(reliable_deterioration=True)),
        # The shares are of those their questionnaire can judge: one without a
        # reliable-change figure or a remission cut-off leaves them empty.
        change_judged=Count("pk", filter=both & Q(reliable_improvement__isnull=False)),
        remission_judged=Count("pk", filter=both & Q(remission__isnull=False)),
        minutes=Sum("therapist_minutes"),
        duration=Sum(weeks),
    )


def _add(total: dict, row: dict) -> None:
    for name in SUMMED:
        value = row.get(name)
        if value is not None:
            total[name] = total[name] + value if total.get(name) is not None else value
    if row.get("outcome_n"):
        scale = total.setdefault("per_scale", {}).setdefault(row["primary_instrument"], {})
        for name in SUMMED_PER_SCALE:
            scale[name] = scale.get(name, 0) + (row.get(name) or 0)


def _cohens_d(per_scale: dict) -> float | None:
    """The within-group effect (mean improvement over the pre-treatment SD) worked out on each
    primary questionnaire's own scale with at least ``MIN_CELL`` treatments, then averaged,
    weighted by their numbers: a sum of MADRS-S and GAD-7 totals has no SD of its own."""
    effects = []
    shipped = shipped_definitions()
    for code, sums in per_scale.items():
        n = sums["outcome_n"]
        if n < MIN_CELL:
            continue
        pre_mean, post_mean = sums["pre_sum"] / n, sums["post_sum"] / n
        # The sample SD before treatment, from the sum of squares.
        variance = (sums["pre_squares"] - n * pre_mean**2) / (n - 1)
        if variance > 1e-9:
            # Improvement is a fall, except on a scale where higher is better (BBQ).
            definition = shipped.get(code)
            better = -1 if definition is not None and not definition.higher_is_worse else 1
            effects.append((better * (pre_mean - post_mean) / math.sqrt(variance), n))
    if not effects:
        return None
    return round(sum(d * n for d, n in effects) / sum(n for _d, n in effects), 2)


def outcome_figures(sums: dict | None) -> dict:
    """Completion, effect and therapist time of ended treatments, small cells suppressed."""
    sums = sums or {}
    ended, n = sums.get("ended", 0), sums.get("outcome_n", 0)
    cohens_d = _cohens_d(sums.get("per_scale", {})) if n >= MIN_CELL else None
    judged, remission_judged = sums.get("change_judged", 0), sums.get("remission_judged", 0)
    minutes_per_week = None
    if ended >= MIN_CELL and sums.get("duration"):
        minutes_per_week = round((sums.get("minutes") or 0) / (sums["duration"] / WEEK), 1)
    return {
        "ended": _cell(ended, ended),
        "completed_share": _share(sums.get("completed", 0), ended),
        "dropped_out_share": _share(sums.get("dropped", 0), ended),
        "outcome_n": _cell(n, n),
        "cohens_d": cohens_d,
        "reliably_improved_share": _share(sums.get("improved", 0), judged),
        "recovered_share": _share(sums.get("recovered", 0), remission_judged),
        "deteriorated_share": _share(sums.get("deteriorated", 0), judged),
        "therapist_minutes_per_patient_week": minutes_per_week,
    }


def _key(by: str, row: dict, fields: dict, unit_regions: dict):
    value = row[fields[by]]
    return unit_regions.get(value) if by == "region" else value


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
    prints and the register export's records give, with small cells suppressed. One query
    reads the units, five count and sum in the database over the treatments' stored register
    summaries;
    the time does not grow with the number of treatments the way a row-by-row pass would."""
    first, last = period_bounds(period)
    unit_regions = dict(CareUnit.objects.values_list("pk", "region__code"))
    chosen = [pk for pk, code in unit_regions.items() if not region or code == region]
    if units is not None:
        allowed = set(units)
        chosen = [pk for pk in chosen if pk in allowed]
    enrollments = Enrollment.objects.started().filter(unit_id__in=chosen)
    in_period = Registration.objects.filter(
        local_days("registered_at", first, last), offering__unit_id__in=chosen
    )
    counted = Count("pk")
    treatment_fields = tuple(dict.fromkeys(TREATMENT_FIELD[by] for by in groupings))
    registration_fields = tuple(
        dict.fromkeys(REGISTRATION_FIELD[by] for by in groupings if by in REGISTRATION_FIELD)
    )
    starts = _grouped(enrollments.filter(local_days("started_at", first, last)), treatment_fields,
                      n=counted)  # fmt: skip
    earlier = _grouped(
        enrollments.filter(local_days("started_at", _year_earlier(first), _year_earlier(last))),
        treatment_fields,
        n=counted,
    )
    registered, waits = [], []
    if registration_fields:
        registered = _grouped(in_period, registration_fields, n=counted)
        days = ExpressionWrapper(
            F("start_date") - TruncDate("registered_at"), output_field=DurationField()
        )
        waits = list(
            in_period.filter(status=Registration.Status.ACCEPTED, start_date__isnull=False)
            .annotate(wait=days)
            .values(*registration_fields, "wait")
        )
    ended_query = treatments(first, last).filter(unit_id__in=chosen)
    ended = _outcome_sums(ended_query, treatment_fields)
    return {
        by: _figures(by, unit_regions, starts, earlier, registered, waits, ended)
        for by in groupings
    }


def _figures(by, unit_regions, starts, earlier, registered, waits, ended) -> dict:
    """One grouping's figures from the finer groups' counts and sums."""
    start_counts: dict = {}
    earlier_counts: dict = {}
    for rows, counts in ((starts, start_counts), (earlier, earlier_counts)):
        for row in rows:
            key = _key(by, row, TREATMENT_FIELD, unit_regions)
            counts[key] = counts.get(key, 0) + row["n"]
    registered_counts: dict = {}
    wait_days: dict = {}
    if by in REGISTRATION_FIELD:  # registrations have no therapist
        for row in registered:
            key = _key(by, row, REGISTRATION_FIELD, unit_regions)
            registered_counts[key] = registered_counts.get(key, 0) + row["n"]
        for row in waits:
            key = _key(by, row, REGISTRATION_FIELD, unit_regions)
            wait_days.setdefault(key, []).append(row["wait"].days)
    sums: dict = {}
    for row in ended:
        _add(sums.setdefault(_key(by, row, TREATMENT_FIELD, unit_regions), {}), row)
    figures = {}
    keys = {*start_counts, *earlier_counts, *registered_counts, *wait_days, *sums} - {None}
    target = settings.WAITING_TARGET_DAYS
    for key in keys:
        wait = summarise(wait_days.get(key, []))
        in_time = sum(1 for days in wait_days.get(key, []) if days <= target)
        registrations = registered_counts.get(key, 0)
        figures[key] = {
            "registrations": (
                _cell(registrations, registrations) if by in REGISTRATION_FIELD else None
            ),
            "starts": _cell(start_counts.get(key, 0), start_counts.get(key, 0)),
            "starts_a_year_earlier": _cell(earlier_counts.get(key, 0), earlier_counts.get(key, 0)),
            "waiting_registration_to_start": {
                "n": _cell(wait.count, wait.count),
                "mean": _cell(wait.mean, wait.count),
                "median": _cell(wait.median, wait.count),
                "p90": _cell(wait.p90, wait.count),
                "within_target": _share(in_time, wait.count),
            },
            **outcome_figures(sums.get(key)),
        }
    if by != "region":  # a region's units, programs and therapists add up to its totals
        for name, counts, resting_on_it in (
            ("registrations", registered_counts, ()),
            ("starts", start_counts, ()),
            ("starts_a_year_earlier", earlier_counts, ()),
            ("ended", _sum_of(sums, "ended"), ENDED_FIGURES),
            ("outcome_n", _sum_of(sums, "outcome_n"), OUTCOME_FIGURES),
        ):
            if name == "registrations" and by not in REGISTRATION_FIELD:
                continue
            column = {key: figures[key][name] for key in figures}
            # Treatments no row shows (those without a responsible therapist) are in the
            # total too: a cell that is never shown, protected like a hidden one.
            if counts.get(None):
                column[None] = None
            hide_complements(column, counts, [list(column)])
            for key, value in column.items():
                if key is not None and value is None and figures[key][name] is not None:
                    # A share gives away what it was divided by: it goes with its count.
                    for figure in (name, *resting_on_it):
                        figures[key][figure] = None
    return figures


# The figures worked out from the count of ended treatments, and from those with scores.
ENDED_FIGURES = ("completed_share", "dropped_out_share", "therapist_minutes_per_patient_week")
OUTCOME_FIGURES = (
    "cohens_d",
    "reliably_improved_share",
    "recovered_share",
    "deteriorated_share",
)


def _sum_of(sums: dict, name: str) -> dict:
    return {key: value.get(name, 0) for key, value in sums.items()}


EMPTY = {
    "registrations": None,
    "starts": None,
    "starts_a_year_earlier": None,
    "waiting_registration_to_start": {
        "n": None,
        "mean": None,
        "median": None,
        "p90": None,
        "within_target": None,
    },
    **outcome_figures(None),
}


def kpi(region: str, period: str, by_region: dict | None = None) -> dict:
    """A region's key figures for a period (``ikbt kpi``, the statistics page), from
    ``figures_for``'s regional figures when the caller has them already."""
    first, last = period_bounds(period)
    if by_region is None:
        by_region = figures_by(period, "region", region=region)
    figures = by_region.get(region, EMPTY)
    cumulative = (
        Enrollment.objects.started()
        .filter(
            unit_id__in=CareUnit.objects.filter(region__code=region).values("pk"),
            started_at__lt=start_of_day(last + datetime.timedelta(1)),
        )
        .count()
    )
    return {
        "region": region,
        "period": period,
        "from": first.isoformat(),
        "to": last.isoformat(),
        **figures,
        "cumulative_starts": _cell(cumulative, cumulative),
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
