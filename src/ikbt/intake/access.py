"""Who sees a registration. Triage is the unit's shared work, so every therapist and
administrator of the unit sees its registrations while they wait for a decision. Once decided,
a registration is seen only by the unit's administrators, the therapist who decided it and the
responsible therapist; everyone else gets 404 (logged)."""

from typing import NoReturn

from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest

from ikbt.audit.actions import Action, log_access
from ikbt.intake.models import Registration
from ikbt.organisations.models import StaffMembership, StaffRole
from ikbt.organisations.roles import INTAKE_ROLES
from ikbt.patients.access import admin_unit_ids
from ikbt.patients.models import Patient
from ikbt.treatment.models import Enrollment


def intake_unit_ids(user) -> list[int]:
    return list(
        StaffMembership.objects.filter(user=user, role__in=INTAKE_ROLES).values_list(
            "unit_id", flat=True
        )
    )


def registrations_for_staff(user) -> QuerySet[Registration]:
    """The registrations ``user`` may see (the module's rule)."""
    memberships = StaffMembership.objects.filter(user=user)
    admin_units = memberships.filter(role=StaffRole.UNIT_ADMIN).values("unit_id")
    intake_units = memberships.filter(role__in=INTAKE_ROLES).values("unit_id")
    waiting = Q(status__in=[Registration.Status.SUBMITTED, Registration.Status.BOOKED])
    own = Q(decided_by=user) | Q(responsible_therapist=user)
    # Subqueries, so that a page asks no more queries for the rule.
    return Registration.objects.filter(
        Q(offering__unit_id__in=admin_units)
        | Q(offering__unit_id__in=intake_units) & (waiting | own)
    )


def get_registration_for_staff(
    request: HttpRequest, registration_id: int, *, action: str = Action.READ
) -> Registration:
    registration = (
        registrations_for_staff(request.user)
        .select_related(
            "patient", "offering__unit__region", "offering__program", "responsible_therapist"
        )
        .filter(pk=registration_id)
        .first()
    )
    if registration is None:
        _refuse(request, Registration, registration_id, f"registration {registration_id}")
    log_access(
        request.user,
        action,
        request=request,
        patient=registration.patient,
        unit=registration.offering.unit,
        obj=registration,
        detail="registration",
    )
    return registration


def get_enrollment_for_unit_admin(request: HttpRequest, enrollment_id: int) -> Enrollment:
    """A treatment at one of the user's units as their unit administrator; otherwise 404,
    and the refusal is logged against the patient, like every denied patient read."""
    enrollment = (
        Enrollment.objects.select_related("patient", "unit__region", "program_version__program")
        .filter(pk=enrollment_id, unit_id__in=admin_unit_ids(request.user))
        .first()
    )
    if enrollment is None:
        _refuse(request, Enrollment, enrollment_id, f"treatment transfer {enrollment_id}")
    return enrollment


def _refuse(request: HttpRequest, model, pk: int, detail: str) -> NoReturn:
    """Log the denied read against the patient the object belongs to (if it exists at all)
    and answer 404, the same as for an object that does not exist."""
    log_access(
        request.user,
        Action.DENIED,
        request=request,
        patient=Patient.objects.filter(
            pk__in=model.objects.filter(pk=pk).values("patient_id")
        ).first(),
        detail=detail,
    )
    raise Http404
