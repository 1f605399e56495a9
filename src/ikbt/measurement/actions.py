"""Every change to instruments, responses and risk flags, each in one function."""

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from ikbt.accounts.models import User
from ikbt.audit.actions import Action, log_access
from ikbt.measurement.definitions import DefinitionError, parse_definition, shipped_definitions
from ikbt.measurement.models import Instrument, InstrumentVersion, Response, RiskFlag
from ikbt.measurement.scoring import check_answers, score
from ikbt.organisations.models import CareUnit
from ikbt.patients.models import CareRelationship, Patient
from ikbt.treatment.outcome import SUMMARY_OCCASIONS, summaries_refresh_for_patient


@transaction.atomic
def instruments_load() -> list[InstrumentVersion]:
    """Store every shipped definition whose version is not in the database yet.

    A version already loaded is never changed: to change an instrument, give its file a new
    version. Returns the versions added.
    """
    added = []
    for code, definition in shipped_definitions().items():
        instrument, _ = Instrument.objects.get_or_create(code=code)
        version, created = InstrumentVersion.objects.get_or_create(
            instrument=instrument,
            version=definition.version,
            defaults={"definition": definition.raw},
        )
        if created:
            added.append(version)
    return added


@transaction.atomic
def instrument_import_fhir(data: dict) -> InstrumentVersion:
    """A new instrument (or a new version of one) from a FHIR Questionnaire of choice items."""
    from ikbt.measurement.fhir import FhirImportError, definition_from_questionnaire

    definition = definition_from_questionnaire(data)
    try:
        parse_definition(definition, "FHIR Questionnaire")
    except DefinitionError as error:
        raise FhirImportError(str(error)) from None
    instrument, _ = Instrument.objects.get_or_create(code=definition["code"])
    if instrument.versions.filter(version=definition["version"]).exists():
        raise FhirImportError(
            f"{instrument.code} version {definition['version']} is already loaded."
        )
    return InstrumentVersion.objects.create(
        instrument=instrument, version=definition["version"], definition=definition
    )


def current_version(code: str) -> InstrumentVersion:
    return (
        InstrumentVersion.objects.select_related("instrument")
        .filter(instrument__code=code)
        .latest("loaded_at")
    )


@transaction.atomic
def licensed_text_import(version: InstrumentVersion, items: list[dict[str, str]]) -> None:
    """Add the item text a region holds a licence for. One ``{"sv": …, "en": …}`` per item."""
    expected = len(version.parsed.items)
    if len(items) != expected:
        raise ValueError(f"{version} has {expected} items; the file has {len(items)}.")
    for number, text in enumerate(items, start=1):
        if not text.get("sv"):
            raise ValueError(f"Item {number} has no Swedish text (sv).")
    version.licensed_text = {"items": items}
    version.save(update_fields=["licensed_text"])


def response_start(
    patient: Patient,
    version: InstrumentVersion,
    *,
    filled_in_by: User | None = None,
    unit: CareUnit | None = None,
    occasion: str = "",
    due_at=None,
) -> Response:
    """Ask for a questionnaire. ``occasion`` names the plan's time point (pre, weekly, post,
    follow_up_3 …); ``due_at`` is when the patient sees it (now, unless later)."""
    return Response.objects.create(
        patient=patient,
        instrument_version=version,
        answers=[None] * version.parsed.answer_count,
        filled_in_by=filled_in_by,
        unit=unit,
        occasion=occasion,
        due_at=due_at or timezone.now(),
    )


def response_save_answers(response: Response, answers: list[int | None]) -> None:
    """Keep what the patient has answered so far (autosave); raises ``ScoringError`` for a
    value the form cannot give."""
    check_answers(response.instrument_version.parsed, answers)
    response.answers = answers
    response.save(update_fields=["answers"])


@transaction.atomic
def response_submit(
    response: Response, answers: list[int | None], *, request: HttpRequest | None = None
) -> Response:
    """Score and submit. A critical answer raises a risk flag in the same transaction.

    Submitting a response already submitted changes nothing (a double click stores once).
    """
    response = Response.objects.select_for_update().get(pk=response.pk)
    if response.is_submitted:
        return response
    result = score(response.instrument_version.parsed, answers)
    response.answers = answers
    response.status = Response.Status.SUBMITTED
    response.submitted_at = timezone.now()
    response.total = result.total
    response.band_labels = dict(result.band.label) if result.band else {}
    response.subscales = result.subscales
    response.critical = result.critical
    response.save(
        update_fields=[
            "answers",
            "status",
            "submitted_at",
            "total",
            "band_labels",
            "subscales",
            "critical",
        ]
    )
    if response.filled_in_by is not None:
        log_access(
            response.filled_in_by,
            Action.CREATE,
            request=request,
            patient=response.patient,
            unit=responsible_unit(response.patient),
            obj=response,
            detail="filled in for the patient",
        )
    if result.critical:
        risk_flag_raise(response)
    if response.occasion in SUMMARY_OCCASIONS:
        # A score before or after treatment changes the treatment's register summary.
        summaries_refresh_for_patient(response.patient_id)
    return response


def responsible_unit(patient: Patient) -> CareUnit | None:
    """The unit of the patient's responsible therapist (else of any active care)."""
    relationships = (
        CareRelationship.objects.active().filter(patient=patient).select_related("unit")
    )
    relationship = (
        relationships.filter(role=CareRelationship.Role.RESPONSIBLE_THERAPIST).first()
        or relationships.first()
    )
    return relationship.unit if relationship else None


def risk_flag_raise(response: Response) -> RiskFlag:
    from ikbt.measurement.tasks import notify_risk_flag

    flag = RiskFlag.objects.create(
        patient=response.patient,
        response=response,
        unit=response.unit or responsible_unit(response.patient),
    )
    transaction.on_commit(lambda: notify_risk_flag.enqueue(flag.pk))
    return flag


@transaction.atomic
def risk_flag_acknowledge(
    flag: RiskFlag, staff: User, action_taken: str, *, request: HttpRequest | None = None
) -> RiskFlag:
    flag = RiskFlag.objects.select_for_update().get(pk=flag.pk)
    if not flag.is_open:
        return flag
    flag.acknowledged_at = timezone.now()
    flag.acknowledged_by = staff
    flag.action_taken = action_taken
    flag.save(update_fields=["acknowledged_at", "acknowledged_by", "action_taken"])
    log_access(
        staff,
        Action.CHANGE,
        request=request,
        patient=flag.patient,
        unit=flag.unit,
        obj=flag,
        detail="acknowledged risk flag",
    )
    return flag
