"""The statistics page: a region's key figures for a period, starts per month against the
year before as a server-drawn chart with the numbers beside it, and CSV of every table."""

import csv
import datetime

from django.db.models import Count
from django.db.models.functions import ExtractMonth
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from ikbt.accounts.decorators import staff_required
from ikbt.organisations.models import Region, StaffRole
from ikbt.reporting.kpi import MIN_CELL, PeriodError, kpi
from ikbt.treatment.models import Enrollment

VIEWER_ROLES = (StaffRole.REGION_ADMIN, StaffRole.UNIT_ADMIN, StaffRole.REGISTER_OFFICER)
CHART_WIDTH, CHART_HEIGHT, BAR_AREA = 640, 220, 180


def _regions_for(user) -> list[Region]:
    return list(
        Region.objects.filter(
            units__memberships__user=user, units__memberships__role__in=VIEWER_ROLES
        ).distinct()
    )


def _starts_by_month(region: Region, year: int) -> list[int]:
    counts = dict(
        Enrollment.objects.filter(unit__region=region, started_at__year=year)
        .annotate(month=ExtractMonth("started_at"))
        .values_list("month")
        .annotate(count=Count("pk"))
        .values_list("month", "count")
    )
    # A month with 1-4 starts is suppressed like every small cell.
    return [
        count if count == 0 or count >= MIN_CELL else None
        for count in (counts.get(month, 0) for month in range(1, 13))
    ]


def _bars(this_year: list[int], last_year: list[int]) -> list[dict]:
    this_year = [value or 0 for value in this_year]
    last_year = [value or 0 for value in last_year]
    top = max([*this_year, *last_year, 1])
    slot = CHART_WIDTH / 12
    bars = []
    for month, (now, before) in enumerate(zip(this_year, last_year, strict=True)):
        for offset, value, kind in ((0.15, before, "before"), (0.5, now, "now")):
            height = BAR_AREA * value / top
            bars.append(
                {
                    "x": round(month * slot + offset * slot, 1),
                    "y": round(BAR_AREA - height + 10, 1),
                    "width": round(slot * 0.35, 1),
                    "height": round(height, 1),
                    "kind": kind,
                }
            )
    return bars


@staff_required
def statistics(request: HttpRequest) -> HttpResponse:
    regions = _regions_for(request.user)
    if not regions:
        raise Http404
    code = request.GET.get("region") or regions[0].code
    region = next((region for region in regions if region.code == code), None)
    if region is None:
        raise Http404
    today = timezone.localdate()
    period = request.GET.get("period") or f"{today.year}H{1 if today.month <= 6 else 2}"
    try:
        figures = kpi(region.code, period)
    except PeriodError as error:
        figures, period_error = None, str(error)
    else:
        period_error = ""
    year = int(period[:4]) if period[:4].isdigit() else today.year
    this_year, last_year = _starts_by_month(region, year), _starts_by_month(region, year - 1)
    if request.GET.get("format") == "csv" and figures is not None:
        return _csv(region, period, figures, this_year, last_year)
    return render(
        request,
        "reporting/statistics.html",
        {
            "regions": regions,
            "region": region,
            "period": period,
            "period_error": period_error,
            "figures": figures,
            "months": list(zip(range(1, 13), this_year, last_year, strict=True)),
            "year": year,
            "bars": _bars(this_year, last_year),
            "chart_width": CHART_WIDTH,
            "chart_height": CHART_HEIGHT,
        },
    )


def _csv(region, period, figures, this_year, last_year) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ikbt-{region.code}-{period}.csv"'
    writer = csv.writer(response)
    writer.writerow(["figure", "value"])
    for key, value in figures.items():
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                writer.writerow([f"{key}.{inner}", inner_value])
        else:
            writer.writerow([key, value])
    writer.writerow([])
    writer.writerow(["month", "starts", "starts a year earlier"])
    for month, (now, before) in enumerate(zip(this_year, last_year, strict=True), start=1):
        writer.writerow([datetime.date(2000, month, 1).strftime("%m"), now, before])
    return response
