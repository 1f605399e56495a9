"""The unit head's pages: how patients reach the unit, who works there, who supervises whom."""

import copy

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from ikbt.accounts.decorators import staff_required
from ikbt.core.numbers import whole_number
from ikbt.core.submissions import submitted_once
from ikbt.organisations.access import get_unit_for_admin, staff_with_role, units_administered
from ikbt.organisations.actions import (
    SupervisionError,
    supervision_end,
    supervision_start,
    unit_contact_set,
)
from ikbt.organisations.forms import SupervisionForm, UnitContactForm
from ikbt.organisations.models import (
    CareUnit,
    StaffAbsence,
    StaffMembership,
    StaffRole,
    Supervision,
)


@staff_required
def units(request: HttpRequest) -> HttpResponse:
    """The units the signed-in unit head runs."""
    mine = list(units_administered(request.user).select_related("region").order_by("name"))
    if not mine:
        raise Http404
    return render(request, "organisations/units.html", {"units": mine})


def _staff(unit: CareUnit) -> list[dict]:
    """Each person working at the unit once, with their roles there and any absence today."""
    away = {
        absence.staff_id: absence
        for absence in StaffAbsence.objects.on(timezone.localdate())
        .filter(staff__memberships__unit=unit)
        .select_related("cover")
    }
    people: dict[int, dict] = {}
    for membership in (
        StaffMembership.objects.filter(unit=unit)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "role")
    ):
        person = people.setdefault(
            membership.user_id,
            {"user": membership.user, "roles": [], "away": away.get(membership.user_id)},
        )
        person["roles"].append(membership.get_role_display())
    return list(people.values())


@staff_required
@submitted_once
def unit(request: HttpRequest, unit_id: int) -> HttpResponse:
    unit = get_unit_for_admin(request.user, unit_id)
    sent = request.POST.get("form") if request.method == "POST" else None
    # A copy, so what a refused form holds never shows as the unit's details.
    contact_form = UnitContactForm(
        request.POST if sent == "contact" else None, instance=copy.copy(unit)
    )
    supervision_form = SupervisionForm(
        request.POST if sent == "supervision" else None,
        therapists=staff_with_role(unit.pk, StaffRole.THERAPIST),
        supervisors=staff_with_role(unit.pk, StaffRole.SUPERVISOR),
    )
    if sent == "contact" and contact_form.is_valid():
        unit_contact_set(unit, **contact_form.cleaned_data)
        messages.success(request, _("The unit's contact details are saved."))
        return redirect("organisations:unit", unit.pk)
    if sent == "supervision" and supervision_form.is_valid():
        try:
            supervision_start(unit, by=request.user, **supervision_form.cleaned_data)
        except SupervisionError as error:
            supervision_form.add_error(None, str(error))
        else:
            messages.success(request, _("The supervision starts today."))
            return redirect("organisations:unit", unit.pk)
    if sent == "end":
        # Ended already (a second click) is no error: the action does nothing again.
        supervision = get_object_or_404(
            Supervision.objects.filter(unit=unit), pk=whole_number(request.POST.get("supervision"))
        )
        try:
            supervision_end(supervision, by=request.user)
        except SupervisionError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("The supervision has ended."))
        return redirect("organisations:unit", unit.pk)
    return render(
        request,
        "organisations/unit.html",
        {
            "unit": unit,
            "contact_form": contact_form,
            "supervision_form": supervision_form,
            "staff": _staff(unit),
            # With those a region arranged for every unit (in Django's admin) that reach the
            # unit's patients too: they are shown, and ended where they were arranged.
            "supervisions": list(
                Supervision.objects.filter(
                    Q(unit=unit) | Q(unit__isnull=True, supervisee__memberships__unit=unit),
                    ended_on__isnull=True,
                )
                .select_related("supervisor", "supervisee", "arranged_by")
                .distinct()
                .order_by("supervisee__last_name", "started_on")
            ),
        },
    )
