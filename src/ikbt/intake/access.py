"""Intake staff see the registrations of their own units; everyone else gets 404 (logged)."""

from typing import NoReturn

from django.http import Http404, HttpRequest

from ikbt.audit.actions import Action, log_access
from ikbt.intake.models import Registration
from ikbt.organisations.models import StaffMembership, StaffRole
from ikbt.patients.models import Patient
from ikbt.treatment.models import Enrollment

INTAKE_ROLES = (StaffRole.THERAPIST, StaffRole.UNIT_ADMIN)


def intake_unit_ids(user) -> list[int]:
    return list(
        StaffMembership.objects.filter(user=user, role__in=INTAKE_ROLES).values_list(
            "unit_id", flat=True
        )
    )


def admin_unit_ids(user) -> list[int]:
    return list(
        StaffMembership.objects.filter(user=user, role=StaffRole.UNIT_ADMIN).values_list(
            "unit_id", flat=True
        )
    )


def get_registration_for_staff(
    request: HttpRequest, registration_id: int, *, action: str = Action.READ
) -> Registration:
    registration = (
        Registration.objects.select_related(
            "patient", "offering__unit__region", "offering__program", "responsible_therapist"
        )
        .filter(pk=registration_id, offering__unit_id__in=intake_unit_ids(request.user))
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
