"""Changes to people and places."""

import datetime

from django.utils.translation import gettext as _

from ikbt.accounts.models import User
from ikbt.organisations.models import StaffAbsence, StaffMembership, StaffRole


class AbsenceError(ValueError):
    pass


def absence_register(
    staff: User,
    *,
    starts_on: datetime.date,
    ends_on: datetime.date,
    cover: User | None,
    by: User | None = None,
) -> StaffAbsence:
    """Mark ``staff`` away; from the first day their patients are covered (see
    ``ikbt.patients.access.care_relationships_for_staff``) and their notices go to the cover."""
    if ends_on < starts_on:
        raise AbsenceError(_("The absence ends before it starts."))
    if cover is not None:
        if cover == staff:
            raise AbsenceError(_("The one who is away cannot cover. Choose a colleague."))
        units = StaffMembership.objects.filter(user=staff).values("unit_id")
        if not StaffMembership.objects.filter(
            user=cover, unit_id__in=units, role=StaffRole.THERAPIST
        ).exists():
            raise AbsenceError(
                _("The colleague covering must be a therapist at one of your units.")
            )
    return StaffAbsence.objects.create(
        staff=staff, starts_on=starts_on, ends_on=ends_on, cover=cover, registered_by=by or staff
    )
