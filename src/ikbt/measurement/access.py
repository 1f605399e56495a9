"""Who may see a response or a risk flag: the patient it belongs to, or staff with a care
relationship with that patient; a submitted screening answer also the staff who may see a
registration it belongs to (triage, ``ikbt.intake.access``). Everything else answers 404 (and
staff denials are logged)."""

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from ikbt.audit.actions import Action, log_access
from ikbt.intake.access import registrations_for_staff
from ikbt.intake.models import Registration
from ikbt.measurement.models import Response, RiskFlag
from ikbt.patients.access import (
    PatientAccess,
    acting_relationship,
    get_patient_for_staff,
    patients_for_staff,
)
from ikbt.programs.models import MeasurementPoint


def get_response_for_patient(request: HttpRequest, key) -> Response:
    return get_object_or_404(
        Response.objects.select_related("instrument_version__instrument"),
        key=key,
        patient__user=request.user,
        filled_in_by__isnull=True,
    )


def get_response_for_staff(
    request: HttpRequest, response_id: int, *, action: str = "read"
) -> tuple[Response, PatientAccess]:
    patient_id = (
        Response.objects.filter(pk=response_id).values_list("patient_id", flat=True).first()
    )
    if patient_id is None:
        raise Http404
    access = get_patient_for_staff(request, patient_id, action=action, detail="questionnaire")
    response = Response.objects.select_related(
        "instrument_version__instrument", "patient", "filled_in_by"
    ).get(pk=response_id)
    return response, access


def get_screening_for_triage(
    request: HttpRequest, response_id: int
) -> tuple[Response, Registration] | None:
    """A submitted screening answer read at triage, with the registration it was read
    through: for staff who may see a registration it is a screening of but have no care
    relationship with the patient (those read it through ``get_response_for_staff``, in
    their role). The read is written to the access log. None otherwise: the caller goes on
    to ``get_response_for_staff``, which refuses (404) and logs the denial."""
    response = (
        Response.objects.select_related(
            "instrument_version__instrument", "patient", "filled_in_by"
        )
        # Asked at screening, still: one left unanswered became the treatment's
        # pre-treatment questionnaire when she was accepted, hers to share with her care only.
        .filter(
            pk=response_id,
            status=Response.Status.SUBMITTED,
            occasion=MeasurementPoint.When.SCREENING,
        )
        .first()
    )
    if response is None or acting_relationship(request.user, response.patient_id) is not None:
        return None
    registration = (
        registrations_for_staff(request.user)
        .filter(screening=response)
        .select_related("offering__unit")
        .order_by("-registered_at")
        .first()
    )
    if registration is None:
        return None
    log_access(
        request.user,
        Action.READ,
        request=request,
        patient=response.patient,
        unit=registration.offering.unit,
        obj=response,
        detail="questionnaire",  # the role: the reader's own at the unit, as in the queue
    )
    return response, registration


def get_risk_flag_for_staff(request: HttpRequest, flag_id: int) -> tuple[RiskFlag, PatientAccess]:
    patient_id = RiskFlag.objects.filter(pk=flag_id).values_list("patient_id", flat=True).first()
    if patient_id is None:
        raise Http404
    # Read here; the acknowledgement that follows is the change.
    access = get_patient_for_staff(request, patient_id, detail="risk flag")
    return RiskFlag.objects.get(pk=flag_id), access


def open_risk_flags_for_staff(user):
    """Open risk flags of every patient the staff member may see, oldest first."""
    return (
        RiskFlag.objects.open()
        .filter(patient__in=patients_for_staff(user))
        .select_related("patient", "unit", "response__instrument_version__instrument")
        .order_by("raised_at")
    )
