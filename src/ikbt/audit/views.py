"""The access log, read by the patient it is about and reviewed by unit administrators."""

import datetime
import random
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Count, Max, Min
from django.db.models.functions import TruncDate
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from ikbt.accounts.decorators import patient_required, staff_required
from ikbt.accounts.models import User
from ikbt.audit.actions import Action, log_access, role_shown
from ikbt.audit.forms import ReviewFilterForm
from ikbt.audit.models import AccessLogEntry
from ikbt.organisations.access import units_administered
from ikbt.organisations.models import CareUnit

ENTRIES_PER_PAGE = 50


@patient_required
def my_access_log(request: HttpRequest) -> HttpResponse:
    """Who among staff has read or changed the patient's data: when, where, in which role.
    One person doing the same thing on the same day is one row, with how many times and
    from when to when (a list of patients writes a row each time it is opened)."""
    entries = (
        AccessLogEntry.objects.for_patient(request.user.patient)
        .exclude(actor=request.user)
        .exclude(action=Action.DENIED)
        .annotate(day=TruncDate("at", tzinfo=ZoneInfo(settings.TIME_ZONE)))
        .values("day", "actor_name", "actor_role", "unit__name", "action", "detail", "object_type")
        .annotate(times=Count("id"), first=Min("at"), last=Max("at"))
        .order_by("-last")
    )
    page = Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {
            **row,
            "actor_role": role_shown(row["actor_role"]),
            # For the action's and the record's names in the reader's language.
            "entry": AccessLogEntry(
                action=row["action"], detail=row["detail"], object_type=row["object_type"]
            ),
        }
        for row in page.object_list
    ]
    # "Contact your unit": the units where she is or has been in care, with their phone.
    units = CareUnit.objects.filter(care_relationships__patient=request.user.patient).distinct()
    return render(
        request,
        "audit/my_access_log.html",
        {"page": page, "rows": rows, "units": list(units.order_by("name"))},
    )


def _day_start(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def _filtered(entries, data: dict):
    if data.get("staff"):
        entries = entries.filter(actor=data["staff"])
    if data.get("personal_number"):
        entries = entries.filter(
            patient__personal_number=data["personal_number"], patient_is_theirs=True
        )
    if data.get("action"):
        entries = entries.filter(action=data["action"])
    if data.get("date_from"):
        entries = entries.filter(at__gte=_day_start(data["date_from"]))
    if data.get("date_to"):
        next_day = data["date_to"] + datetime.timedelta(days=1)
        entries = entries.filter(at__lt=_day_start(next_day))
    return entries


def _random_sample(entries, size: int) -> list[AccessLogEntry]:
    ids = list(entries.values_list("pk", flat=True))
    chosen = random.SystemRandom().sample(ids, min(size, len(ids)))
    return list(entries.filter(pk__in=chosen))


def _review_detail(form: ReviewFilterForm) -> str:
    """What the review row records: the filters by name and value, never health content."""
    if not form.is_bound:
        return "no filters"
    if not form.is_valid():
        return "invalid filters: " + ", ".join(sorted(form.errors))
    return form.used_filters()


@staff_required
def review(request: HttpRequest) -> HttpResponse:
    """The unit administrator's review of the log (HSLF-FS 2016:40 4 kap. 9 §): filters and a
    random sample for the systematic follow-up. The review itself is logged."""
    units = list(units_administered(request.user).order_by("name"))
    if not units:
        raise Http404
    staff = (
        User.objects.filter(memberships__unit__in=units)
        .distinct()
        .order_by("last_name", "first_name")
    )
    form = ReviewFilterForm(request.GET or None, staff_queryset=staff)
    entries = AccessLogEntry.objects.for_units(units).select_related("unit", "patient")
    page = sample = None
    if form.is_bound and not form.is_valid():
        entries = entries.none()
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    entries = _filtered(entries, data)
    if data.get("sample"):
        sample = _random_sample(entries, data["sample"])
    else:
        page = Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
        page.object_list = list(page.object_list)  # as it stood before this review is logged
    log_access(
        request.user,
        Action.LOG_REVIEW,
        request=request,
        unit=units[0],
        detail=_review_detail(form),
    )
    return render(
        request,
        "audit/review.html",
        {"form": form, "page": page, "sample": sample, "units": units},
    )
