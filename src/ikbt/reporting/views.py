"""The statistics pages: a region's key figures for a period with registrations and starts
against the year before (server-drawn charts with the numbers beside them), the same figures
per unit, program and therapist where the viewer may see them, the national comparison, and
the register officer's download of the register file. Every table has a CSV download."""

import datetime

from django import forms
from django.conf import settings
from django.db.models import Count
from django.db.models.functions import ExtractMonth, ExtractYear
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy

from ikbt.accounts.decorators import staff_required
from ikbt.accounts.models import User
from ikbt.core.downloads import csv_download
from ikbt.intake.models import Registration
from ikbt.organisations.models import CareUnit, Region, StaffMembership, StaffRole
from ikbt.programs.models import Condition, Program, program_titles
from ikbt.reporting.kpi import (
    MIN_CELL,
    PeriodError,
    figures_for,
    hide_complements,
    kpi,
    national,
    period_bounds,
)
from ikbt.reporting.register import DICTIONARY, ICD10, export_stream, start_of_day, treatments
from ikbt.treatment.models import Enrollment

VIEWER_ROLES = (StaffRole.REGION_ADMIN, StaffRole.UNIT_ADMIN, StaffRole.REGISTER_OFFICER)
# Who sees the whole region's units and therapists; a unit head sees their own units.
REGION_ROLES = (StaffRole.REGION_ADMIN, StaffRole.REGISTER_OFFICER)
CHART_WIDTH, CHART_HEIGHT, BAR_AREA = 640, 220, 180
HIDDEN_BAR = 6  # the height of a hidden figure's outline
GRANULARITIES = {
    "month": (12, gettext_lazy("Month")),
    "quarter": (4, gettext_lazy("Quarter")),
    "half": (2, gettext_lazy("Half-year")),
}
FIGURE_COLUMNS = [
    ("starts", pgettext_lazy("treatments", "Starts")),
    ("starts_a_year_earlier", gettext_lazy("A year earlier")),
    ("registrations", gettext_lazy("Registrations")),
    ("waiting_median", gettext_lazy("Median days to start")),
    ("waiting_within_target", gettext_lazy("Started within the target")),
    ("ended", gettext_lazy("Ended")),
    ("completed_share", gettext_lazy("Completed")),
    ("dropped_out_share", gettext_lazy("Dropped out")),
    ("cohens_d", gettext_lazy("Cohen's d")),
    ("reliably_improved_share", gettext_lazy("Reliably improved")),
    ("recovered_share", gettext_lazy("Recovered")),
    ("deteriorated_share", gettext_lazy("Deteriorated")),
    ("therapist_minutes_per_patient_week", gettext_lazy("Minutes per patient-week")),
]

# The key figures' names in the file a spreadsheet opens (``kpi``'s keys; a test holds them
# together). Shares are fractions of 1; days and minutes as the page shows them.
FIGURE_NAMES = {
    "region": gettext_lazy("Region"),
    "period": gettext_lazy("Period"),
    "from": gettext_lazy("From"),
    "to": gettext_lazy("To"),
    "registrations": gettext_lazy("Registrations"),
    "starts": pgettext_lazy("treatments", "Starts"),
    "starts_a_year_earlier": gettext_lazy("Starts a year earlier"),
    "waiting_registration_to_start.n": gettext_lazy("Registration to start: treatments"),
    "waiting_registration_to_start.mean": gettext_lazy("Registration to start: mean days"),
    "waiting_registration_to_start.median": gettext_lazy("Registration to start: median days"),
    "waiting_registration_to_start.p90": gettext_lazy(
        "Registration to start: 90th percentile, days"
    ),
    "waiting_registration_to_start.within_target": gettext_lazy(
        "Registration to start: share within %(days)s days"
    ),
    "ended": gettext_lazy("Ended treatments"),
    "completed_share": gettext_lazy("Completed (share of ended)"),
    "dropped_out_share": gettext_lazy("Dropped out (share of ended)"),
    "outcome_n": gettext_lazy("Ended treatments with scores before and after"),
    "cohens_d": gettext_lazy("Cohen's d"),
    "reliably_improved_share": gettext_lazy("Reliably improved (share of those with scores)"),
    "recovered_share": gettext_lazy("Recovered (share of those with scores)"),
    "deteriorated_share": gettext_lazy("Deteriorated (share of those with scores)"),
    "therapist_minutes_per_patient_week": gettext_lazy("Therapist minutes per patient-week"),
    "cumulative_starts": gettext_lazy("Starts since go-live"),
}


def _memberships(user: User):
    return StaffMembership.objects.filter(user=user, role__in=VIEWER_ROLES).select_related(
        "unit__region"
    )


def _period_asked(request: HttpRequest) -> str:
    """The period in the address, as the page reads it (2026h1 is 2026H1), else the
    half-year going on."""
    return request.GET.get("period", "").strip().upper() or _default_period()


def _default_period() -> str:
    today = timezone.localdate()
    return f"{today.year}H{1 if today.month <= 6 else 2}"


def _counts_per_period(query, field: str, years: tuple[int, int], parts: int) -> dict:
    """{year: [count per month, quarter or half-year]} in one query, small cells suppressed."""
    first_year = min(years)
    by_month = (
        query.filter(
            **{
                f"{field}__gte": start_of_day(datetime.date(first_year, 1, 1)),
                f"{field}__lt": start_of_day(datetime.date(max(years) + 1, 1, 1)),
            }
        )
        .annotate(year=ExtractYear(field), month=ExtractMonth(field))
        .order_by()
        .values_list("year", "month")
        .annotate(count=Count("pk"))
    )
    counts = {year: [0] * parts for year in years}
    for year, month, count in by_month:
        counts[year][(month - 1) * parts // 12] += count
    # A period with 1-4 is suppressed like every small cell, and so is the next smallest
    # where the year, a half-year or a quarter (each a period the page totals) would give it.
    groups = [
        [index for index in range(parts) if index * size // parts == whole]
        for size in (4, 2, 1)  # quarters, half-years, the year: finest first
        if size <= parts
        for whole in range(size)
    ]
    suppressed = {}
    for year, values in counts.items():
        shown = {
            index: value if value == 0 or value >= MIN_CELL else None
            for index, value in enumerate(values)
        }
        hide_complements(shown, dict(enumerate(values)), groups)
        suppressed[year] = [shown[index] for index in range(parts)]
    return suppressed


def _bars(now: list, before: list) -> list[dict]:
    """The chart's bars, two per period. A figure hidden to protect a few patients (None) is
    not drawn as 0 but as a low dashed outline, ``hidden``, so that no one reads it as none."""
    top = max([value or 0 for value in (*now, *before)] + [1])
    slot = CHART_WIDTH / len(now)
    bars = []
    for index, (this, earlier) in enumerate(zip(now, before, strict=True)):
        for offset, value, kind in ((0.15, earlier, "before"), (0.5, this, "now")):
            height = HIDDEN_BAR if value is None else BAR_AREA * value / top
            bars.append(
                {
                    "x": round(index * slot + offset * slot, 1),
                    "y": round(BAR_AREA - height + 10, 1),
                    "width": round(slot * 0.35, 1),
                    "height": round(height, 1),
                    "kind": kind,
                    "hidden": value is None,
                }
            )
    return bars


def _label(granularity: str, index: int) -> str:
    if granularity == "quarter":
        return f"Q{index + 1}"
    if granularity == "half":
        return f"H{index + 1}"
    return f"{index + 1:02d}"


def _series(region: Region, units, year: int, granularity: str) -> list[dict]:
    parts = GRANULARITIES[granularity][0]
    years = (year, year - 1)
    in_region = CareUnit.objects.filter(region=region).values("pk")
    enrollments = Enrollment.objects.started().filter(unit_id__in=in_region)
    registrations = Registration.objects.filter(offering__unit_id__in=in_region)
    if units is not None:
        enrollments = enrollments.filter(unit_id__in=units)
        registrations = registrations.filter(offering__unit_id__in=units)
    series = []
    for key, name, counts in (
        ("registrations", _("Registrations"), _counts_per_period(
            registrations, "registered_at", years, parts)),
        ("starts", pgettext("treatments", "Starts"), _counts_per_period(
            enrollments, "started_at", years, parts)),
    ):  # fmt: skip
        series.append(
            {
                "key": key,
                "name": name,
                "rows": [
                    (_label(granularity, index), now, before)
                    for index, (now, before) in enumerate(
                        zip(counts[year], counts[year - 1], strict=True)
                    )
                ],
                "bars": _bars(counts[year], counts[year - 1]),
            }
        )
    return series


def _share_positions(columns: list) -> list[int]:
    """Which of a table's columns hold shares of 1, shown as percentages on the page."""
    return [
        index
        for index, (key, _label) in enumerate(columns)
        if key.endswith("_share") or key == "waiting_within_target"
    ]


def _column(values: dict, column: str):
    """One column of a table of figures: the waiting-time ones are inside their own dict."""
    waiting = {"waiting_median": "median", "waiting_within_target": "within_target"}
    if column in waiting:
        return values["waiting_registration_to_start"][waiting[column]]
    return values.get(column)


def _breakdown_rows(figures: dict, names: dict, columns: list) -> list[dict]:
    rows = []
    for key, values in figures.items():
        rows.append(
            {
                "name": names.get(key, "–"),
                "values": [_column(values, column) for column, _label in columns],
            }
        )
    return sorted(rows, key=lambda row: str(row["name"]))


# A therapist has no registrations and no wait of her own: those columns would always be "–".
NOT_PER_THERAPIST = {"registrations", "waiting_median", "waiting_within_target"}


def _breakdowns(figures: dict) -> list[dict]:
    """Tables per unit, program and (for those who lead therapists) therapist."""
    titles = {"unit": _("Per unit"), "program": _("Per program"), "therapist": _("Per therapist")}
    # What the first column holds, as its heading (and the file's).
    columns = {"unit": _("Unit"), "program": _("Program"), "therapist": _("Therapist")}
    programs = list(Program.objects.filter(slug__in=figures["program"]).only("slug"))
    program_names = program_titles(programs)
    names = {
        "unit": dict(CareUnit.objects.filter(pk__in=figures["unit"]).values_list("pk", "name")),
        "program": {program.slug: program_names[program.pk] for program in programs},
    }
    if "therapist" in figures:
        names["therapist"] = {
            user.pk: user.get_full_name() or user.username
            for user in User.objects.filter(pk__in=figures["therapist"])
        }
    tables = []
    for key in ("unit", "program", "therapist"):
        if key not in figures:
            continue
        shown = [
            (column, label)
            for column, label in FIGURE_COLUMNS
            if key != "therapist" or column not in NOT_PER_THERAPIST
        ]
        tables.append(
            {
                "key": key,
                "title": titles[key],
                "column": columns[key],
                "columns": [label for _column, label in shown],
                "share_positions": _share_positions(shown),
                "rows": _breakdown_rows(figures[key], names[key], shown),
            }
        )
    return tables


def _figure_rows(figures: dict) -> list[list]:
    """Name, value and key of each figure; the key stays the same in every language."""
    flat = []
    for key, value in figures.items():
        if isinstance(value, dict):
            flat += [(f"{key}.{inner}", inner_value) for inner, inner_value in value.items()]
        else:
            flat.append((key, value))
    days = {"days": settings.WAITING_TARGET_DAYS}
    return [[str(FIGURE_NAMES[key]) % days, value, key] for key, value in flat]


@staff_required
def statistics(request: HttpRequest) -> HttpResponse:
    memberships = list(_memberships(request.user))
    regions = sorted({membership.unit.region for membership in memberships}, key=lambda r: r.code)
    if not regions:
        raise Http404
    code = request.GET.get("region") or regions[0].code
    region = next((region for region in regions if region.code == code), None)
    if region is None:
        raise Http404
    here = [membership for membership in memberships if membership.unit.region_id == region.pk]
    whole_region = any(membership.role in REGION_ROLES for membership in here)
    # A unit head sees the region's totals, and the breakdowns of their own units only.
    units = None if whole_region else sorted({membership.unit_id for membership in here})
    see_therapists = any(
        membership.role in (StaffRole.REGION_ADMIN, StaffRole.UNIT_ADMIN) for membership in here
    )
    period = _period_asked(request)
    granularity = request.GET.get("by") if request.GET.get("by") in GRANULARITIES else "month"
    try:
        first, _last = period_bounds(period)
        if first > timezone.localdate():
            raise PeriodError(
                _("%(period)s has not begun yet: choose a period up to today.")
                % {"period": period}
            )
    except PeriodError as error:
        period_error, figures, breakdowns = str(error), None, []
    else:
        period_error = ""
        groupings = ("region", "unit", "program", *(("therapist",) if see_therapists else ()))
        # The regional totals are for the whole region; a unit head's breakdowns their units.
        if units is None:
            parts = whole = figures_for(period, groupings, region=region.code)
        else:
            whole = figures_for(period, ("region",), region=region.code)
            parts = figures_for(period, groupings[1:], region=region.code, units=units)
        figures = kpi(region.code, period, whole["region"])
        breakdowns = _breakdowns(parts)
    # The charts: the period's year, and this year's where the period was refused.
    year = timezone.localdate().year if period_error else first.year
    series = _series(region, units, year, granularity)
    table = request.GET.get("table")
    if request.GET.get("format") == "csv":
        # A refused period is not written into the file's name: the year the charts show is.
        name = f"ikbt-{region.code}-{year if period_error else period}"
        if table in ("registrations", "starts"):
            chosen = next(item for item in series if item["key"] == table)
            return csv_download(
                f"{name}-{table}-{granularity}.csv",
                [GRANULARITIES[granularity][1], year, year - 1],
                [list(row) for row in chosen["rows"]],
                for_spreadsheet=True,
            )
        chosen = next((item for item in breakdowns if item["key"] == table), None)
        if chosen is not None:
            return csv_download(
                f"{name}-{table}.csv",
                [chosen["column"], *chosen["columns"]],
                [[row["name"], *row["values"]] for row in chosen["rows"]],
                for_spreadsheet=True,
            )
        if figures is not None:
            return csv_download(
                f"{name}.csv",
                [_("Figure"), _("Value"), _("Key")],
                _figure_rows(figures),
                for_spreadsheet=True,
            )
    return render(
        request,
        "reporting/statistics.html",
        {
            "regions": regions,
            "region": region,
            "period": period,
            "period_error": period_error,
            "figures": figures,
            "year": year,
            "waiting_target": settings.WAITING_TARGET_DAYS,
            "granularity": granularity,
            "granularities": [(key, label) for key, (_parts, label) in GRANULARITIES.items()],
            "series": series,
            "breakdowns": breakdowns,
            "unit_limited": units is not None,
            "is_register_officer": any(
                membership.role == StaffRole.REGISTER_OFFICER for membership in memberships
            ),
            "chart_width": CHART_WIDTH,
            "chart_height": CHART_HEIGHT,
        },
    )


NATIONAL_COLUMNS = [
    ("population", gettext_lazy("Inhabitants")),
    ("starts", pgettext_lazy("treatments", "Starts")),
    ("starts_per_100000", gettext_lazy("Starts per 100,000")),
    ("starts_a_year_earlier", gettext_lazy("Starts a year earlier")),
    ("waiting_median", gettext_lazy("Median days to start")),
    ("waiting_within_target", gettext_lazy("Started within the target")),
    ("completed_share", gettext_lazy("Completed")),
    ("cohens_d", gettext_lazy("Cohen's d")),
    ("reliably_improved_share", gettext_lazy("Reliably improved")),
    ("recovered_share", gettext_lazy("Recovered")),
]


@staff_required
def national_comparison(request: HttpRequest) -> HttpResponse:
    """Every region side by side, aggregated only, small cells suppressed."""
    if not _memberships(request.user).exists():
        raise Http404
    period = _period_asked(request)
    try:
        period_bounds(period)
    except PeriodError as error:
        rows, period_error = [], str(error)
    else:
        rows, period_error = national(period), ""
    table = [
        [
            row["region"].name,
            *[_column(row, key) for key, _label in NATIONAL_COLUMNS],
        ]
        for row in rows
    ]
    if request.GET.get("format") == "csv" and not period_error:
        return csv_download(
            f"ikbt-national-{period}.csv",
            [_("Region"), *[label for _key, label in NATIONAL_COLUMNS]],
            table,
            for_spreadsheet=True,
        )
    top = max([row["starts_per_100000"] or 0 for row in rows] + [1])
    bars = [
        {
            "name": row["region"].name,
            "y": 22 * index,
            "width": round(400 * (row["starts_per_100000"] or 0) / top, 1),
            "value": row["starts_per_100000"],
        }
        for index, row in enumerate(rows)
    ]
    return render(
        request,
        "reporting/national.html",
        {
            "period": period,
            "period_error": period_error,
            "table": table,
            "waiting_target": settings.WAITING_TARGET_DAYS,
            "columns": [label for _key, label in NATIONAL_COLUMNS],
            "share_positions": _share_positions(NATIONAL_COLUMNS),
            "bars": bars,
            "chart_height": 22 * len(bars) + 4,
        },
    )


class RegisterExportForm(forms.Form):
    date_from = forms.DateField(
        label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"), widget=forms.DateInput(attrs={"type": "date"})
    )
    format = forms.ChoiceField(
        label=gettext_lazy("Format"), choices=[("csv", "CSV"), ("json", "JSON")]
    )
    include_running = forms.BooleanField(
        label=gettext_lazy("Include treatments still running"), required=False
    )
    identify = forms.BooleanField(
        label=gettext_lazy("Personal identity numbers (only for the register's own delivery)"),
        required=False,
    )

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("date_from"), cleaned.get("date_to")
        if first and last and last < first:
            raise forms.ValidationError(_("The end date is before the start date."))
        return cleaned


def _anything_to_export(form, region: Region) -> bool:
    data = form.cleaned_data
    return treatments(
        data["date_from"],
        data["date_to"],
        region=region.code,
        include_running=data["include_running"],
    ).exists()


@staff_required
def register_export(request: HttpRequest) -> HttpResponse:
    """The register file in the browser, for register officers of their own regions."""
    regions = sorted(
        {
            membership.unit.region
            for membership in _memberships(request.user)
            if membership.role == StaffRole.REGISTER_OFFICER
        },
        key=lambda region: region.code,
    )
    if not regions:
        raise Http404
    today = timezone.localdate()
    # Sent, never fetched: each download writes every treatment in it to the access log, so a
    # link or a browser's prefetch must not start one.
    sent = request.POST if request.method == "POST" else None
    form = RegisterExportForm(
        sent,
        initial={"date_from": today.replace(month=1, day=1), "date_to": today, "format": "csv"},
    )
    chosen = (sent or request.GET).get("region")
    region = next((region for region in regions if region.code == chosen), regions[0])
    if form.is_bound and form.is_valid() and not _anything_to_export(form, region):
        form.add_error(
            None,
            _(
                "No treatment in %(region)s ended in the period, so there is nothing to "
                "download. Choose a longer period, or include treatments still running."
            )
            % {"region": region.name},
        )
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        pieces = export_stream(
            request.user,
            data["date_from"],
            data["date_to"],
            format=data["format"],
            region=region.code,
            include_running=data["include_running"],
            identify=data["identify"],
        )
        kind = "identified" if data["identify"] else "pseudonymised"
        response = StreamingHttpResponse(
            pieces,
            content_type="text/csv; charset=utf-8"
            if data["format"] == "csv"
            else "application/json",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="siber-{region.code}-{data["date_from"]}-{data["date_to"]}-'
            f'{kind}.{data["format"]}"'
        )
        return response
    return render(
        request,
        "reporting/register_export.html",
        {"form": form, "regions": regions, "region": region},
    )


@staff_required
def register_dictionary(request: HttpRequest) -> HttpResponse:
    """What each field of the register file means, in the reader's language."""
    return render(
        request,
        "reporting/register_dictionary.html",
        {
            "dictionary": DICTIONARY,
            "is_register_officer": StaffMembership.objects.filter(
                user=request.user, role=StaffRole.REGISTER_OFFICER
            ).exists(),
            "conditions": [
                (Condition(condition).label, code) for condition, code in ICD10.items()
            ],
        },
    )
