"""Intake staff see the registrations of their own units; everyone else gets 404 (logged)."""

from django.http import Http404, HttpRequest

from ikbt.audit.actions import Action, log_access
from ikbt.intake.models import Registration
from ikbt.organisations.models import StaffMembership, StaffRole

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
        patient_id = (
            Registration.objects.filter(pk=registration_id)
            .values_list("patient_id", flat=True)
            .first()
        )
        from ikbt.patients.models import Patient

        log_access(
            request.user,
            Action.DENIED,
            request=request,
            patient=Patient.objects.filter(pk=patient_id).first(),
            detail=f"registration {registration_id}",
        )
        raise Http404
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


def get_enrollment_for_unit_admin(request: HttpRequest, enrollment_id: int):
    """A treatment at one of the user's units as their unit administrator; otherwise 404,
    and the refusal is logged against the patient, like every denied patient read."""
    from ikbt.treatment.models import Enrollment

    enrollment = (
        Enrollment.objects.select_related("patient", "unit__region", "program_version__program")
        .filter(pk=enrollment_id, unit_id__in=admin_unit_ids(request.user))
        .first()
    )
    if enrollment is None:
        patient_id = (
            Enrollment.objects.filter(pk=enrollment_id)
            .values_list("patient_id", flat=True)
            .first()
        )
        from ikbt.patients.models import Patient

        log_access(
            request.user,
            Action.DENIED,
            request=request,
            patient=Patient.objects.filter(pk=patient_id).first(),
            detail=f"treatment transfer {enrollment_id}",
        )
        raise Http404
    return enrollment
