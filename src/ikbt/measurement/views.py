"""Answering questionnaires (patients, or staff on a patient's behalf), risk flags and the
measurement overview on the patient's record."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ikbt.accounts.decorators import patient_required, staff_required
from ikbt.audit.actions import Action
from ikbt.measurement import actions, fhir
from ikbt.measurement.access import (
    get_response_for_patient,
    get_response_for_staff,
    get_risk_flag_for_staff,
    get_screening_for_triage,
)
from ikbt.measurement.chart import charts_for
from ikbt.measurement.definitions import in_language
from ikbt.measurement.forms import AcknowledgeRiskFlagForm, ChooseInstrumentForm, QuestionnaireForm
from ikbt.measurement.models import InstrumentVersion, Response, RiskFlag, options_in
from ikbt.measurement.scoring import ScoringError
from ikbt.patients.access import get_patient_for_staff
from ikbt.patients.models import CareRelationship
from ikbt.programs.models import MeasurementPoint


def _answer(request: HttpRequest, response: Response, template: str, done_url: str):
    """The questionnaire page: save as the patient goes (htmx), or submit when complete."""
    version = response.instrument_version
    language = translation.get_language()
    submitting = request.method == "POST" and "submit" in request.POST
    form = QuestionnaireForm(
        version,
        language,
        request.POST if request.method == "POST" else None,
        complete=submitting,
        initial=QuestionnaireForm.initial_from(response.answers),
    )
    if response.is_submitted:
        return redirect(done_url)
    if request.method == "POST" and form.is_valid():
        try:
            if submitting:
                actions.response_submit(response, form.answers(), request=request)
                return redirect(done_url)
            actions.response_save_answers(response, form.answers())
        except ScoringError:
            form.add_error(None, _("An answer was not one of the choices. Choose again."))
        else:
            if request.htmx:
                return render(request, "measurement/_saved.html", {"saved_at": timezone.now()})
            messages.success(request, _("Your answers are saved. You can go on later."))
    context = {
        "response": response,
        "version": version,
        "definition": version.parsed,
        "form": form,
        "instructions": version.parsed.instructions.get(language, ""),
        "name": version.name_in(language),
    }
    return render(request, template, context)


@patient_required
def answer(request: HttpRequest, key) -> HttpResponse:
    try:
        response = get_response_for_patient(request, key)
    except Http404:
        # Taken away (a registration answered before she sent it) or mistyped: said so, with
        # the way to what there is to do, rather than a bare "page not found".
        return render(request, "measurement/not_asked.html", status=404)
    return _answer(
        request,
        response,
        "measurement/answer.html",
        done_url=reverse("measurement:answered", kwargs={"key": response.key}),
    )


# The page a questionnaire was opened from, by the response's key: where "back" goes once it
# is answered (a module page: ikbt.treatment.views.module_questionnaire).
ANSWER_BACK = "ikbt_answer_back"


AFTER_TREATMENT = {
    MeasurementPoint.When.POST,
    MeasurementPoint.When.FOLLOW_UP_3,
    MeasurementPoint.When.FOLLOW_UP_6,
    MeasurementPoint.When.FOLLOW_UP_12,
}


@patient_required
def answered(request: HttpRequest, key) -> HttpResponse:
    response = get_response_for_patient(request, key)
    if not response.is_submitted:
        return redirect("measurement:answer", key=response.key)
    has_therapist = (
        CareRelationship.objects.active()
        .filter(patient=response.patient, role=CareRelationship.Role.RESPONSIBLE_THERAPIST)
        .exists()
    )
    back = request.session.get(ANSWER_BACK, {}).get(str(response.key), "")
    return render(
        request,
        "measurement/answered.html",
        {
            "response": response,
            "has_therapist": has_therapist,
            # At the end or a follow-up: no talk to come in the treatment.
            "after_treatment": response.occasion in AFTER_TREATMENT,
            "back": back,
        },
    )


@patient_required
def my_scores(request: HttpRequest) -> HttpResponse:
    """The patient's own scores over time, as the therapist sees them (those a score is
    shown to her for)."""
    patient = request.user.patient
    responses = list(
        Response.objects.filter(patient=patient, status=Response.Status.SUBMITTED)
        .select_related("instrument_version__instrument", "filled_in_by")
        .order_by("submitted_at")
    )
    language = translation.get_language()
    return render(
        request,
        "measurement/my_scores.html",
        {"charts": charts_for(responses, language, _treatment_start(patient), for_patient=True)},
    )


def _treatment_start(patient):
    """The start of the latest treatment, marked on the chart; none before treatment."""
    return patient.enrollments.order_by("-started_at").values_list("started_at", flat=True).first()


@staff_required
def staff_answer(request: HttpRequest, response_id: int) -> HttpResponse:
    """A submitted questionnaire to read, answer by answer; one the staff member fills in for
    the patient, to fill in. A screening answer is also read at triage, before anyone has
    the patient in their care (``get_screening_for_triage``)."""
    triage = get_screening_for_triage(request, response_id) if request.method == "GET" else None
    if triage is not None:
        response, registration = triage
        return _response_detail(request, response, registration=registration)
    response, access = get_response_for_staff(request, response_id)
    if response.is_submitted and request.method == "GET":
        return _response_detail(request, response)
    if response.filled_in_by_id != request.user.pk:
        return redirect("measurement:patient_measurements", patient_id=access.patient.pk)
    return _answer(
        request,
        response,
        "measurement/staff_answer.html",
        done_url=reverse("measurement:patient_measurements", args=[access.patient.pk]),
    )


def _response_detail(
    request: HttpRequest, response: Response, *, registration=None
) -> HttpResponse:
    """The answers question by question; ``registration``: read at triage, back to it (the
    patient's measurements are for those who have her in their care)."""
    return render(
        request,
        "measurement/response_detail.html",
        {
            "response": response,
            "rows": response.answers_to_read(translation.get_language()),
            "registration": registration,
        },
    )


@staff_required
@require_POST
def start_questionnaire(request: HttpRequest, patient_id: int) -> HttpResponse:
    """Ask the patient to fill in a questionnaire, or fill it in with them (on the phone)."""
    access = get_patient_for_staff(
        request, patient_id, action=Action.CREATE, detail="questionnaire"
    )
    form = ChooseInstrumentForm(request.POST)
    if not form.is_valid():
        return redirect("measurement:patient_measurements", patient_id=patient_id)
    version = actions.current_version(form.cleaned_data["instrument"].code)
    on_behalf = request.POST.get("who") == "staff"
    response = actions.response_start(
        access.patient, version, filled_in_by=request.user if on_behalf else None
    )
    if on_behalf:
        return redirect("measurement:staff_answer", response_id=response.pk)
    messages.success(request, _("The questionnaire is on the patient's home page."))
    return redirect("measurement:patient_measurements", patient_id=patient_id)


@staff_required
def patient_measurements(request: HttpRequest, patient_id: int) -> HttpResponse:
    access = get_patient_for_staff(request, patient_id, detail="measurements")
    patient = access.patient
    responses = list(
        Response.objects.filter(patient=patient)
        .select_related("instrument_version__instrument", "filled_in_by")
        .order_by("-started_at")
    )
    start = _treatment_start(patient)
    flags = list(
        RiskFlag.objects.filter(patient=patient)
        .select_related("acknowledged_by", "response__instrument_version__instrument")
        .order_by("-raised_at")
    )
    language = translation.get_language()
    for flag in flags:
        # What raised it: the question and her answer, beside the total.
        flag.raised_by = flag.critical_answers(language)
    return render(
        request,
        "measurement/patient_measurements.html",
        {
            "access": access,
            "patient": patient,
            "responses": responses,
            "flags": flags,
            "waiting": sorted(
                (r for r in responses if not r.is_submitted), key=lambda r: r.due_at
            ),
            "charts": charts_for(
                [r for r in responses if r.is_submitted], translation.get_language(), start
            ),
            "choose_form": ChooseInstrumentForm(),
            "acknowledge_form": AcknowledgeRiskFlagForm(),
        },
    )


@staff_required
@require_POST
def acknowledge_risk_flag(request: HttpRequest, flag_id: int) -> HttpResponse:
    flag, access = get_risk_flag_for_staff(request, flag_id)
    form = AcknowledgeRiskFlagForm(request.POST)
    if form.is_valid():
        actions.risk_flag_acknowledge(
            flag, request.user, form.cleaned_data["action_taken"], request=request
        )
        messages.success(request, _("The risk flag is acknowledged."))
    else:
        messages.error(request, _("Write what was done before you acknowledge the flag."))
    return redirect("measurement:patient_measurements", patient_id=access.patient.pk)


@staff_required
def instrument_list(request: HttpRequest) -> HttpResponse:
    """Every instrument, its current version, licence and whether its text is in place."""
    latest: dict[str, InstrumentVersion] = {}
    for version in InstrumentVersion.objects.select_related("instrument").order_by(
        "instrument__code", "-loaded_at"
    ):
        latest.setdefault(version.instrument.code, version)
    versions = list(latest.values())
    language = translation.get_language()
    rows = [
        {
            "version": version,
            "definition": version.parsed,
            "name": version.name_in(language),
            "licence_note": version.parsed.licence_note.get(language, ""),
        }
        for version in versions
    ]
    return render(request, "measurement/instrument_list.html", {"rows": rows})


@staff_required
def instrument_detail(request: HttpRequest, code: str) -> HttpResponse:
    """One questionnaire as the clinic reads it: its questions and answer choices, and how it
    is scored, banded and flagged, each rule with the source it comes from."""
    try:
        version = actions.current_version(code)
    except InstrumentVersion.DoesNotExist:
        raise Http404 from None
    definition = version.parsed
    language = translation.get_language()

    def text(texts: dict[str, str]) -> str:
        return in_language(texts, language)

    questions = [
        {
            "number": item.number,
            "text": version.item_text(item.number, language),
            "item": item,
            "critical": item.number in definition.critical_items,
            # An item with two ratings (LSAS-SR, BBQ) names each; most have one, unnamed.
            "ratings": [
                {
                    "label": text(part.text) if len(item.parts) > 1 else "",
                    "options": options_in(part, language),
                }
                for part in item.parts
            ],
        }
        for item in definition.items
    ]
    every_item = tuple(item.number for item in definition.items)
    part_names = {part.key: text(part.text) for part in definition.items[0].parts}
    subscales = [
        {
            "name": text(subscale.name),
            "items": "" if subscale.items == every_item else ", ".join(map(str, subscale.items)),
            "part": part_names.get(subscale.part, "") if subscale.part else "",
        }
        for subscale in definition.subscales
    ]
    threshold = next(
        (
            option_text
            for question in questions
            if question["critical"]
            for value, option_text in question["ratings"][0]["options"]
            if value == definition.critical_threshold
        ),
        "",
    )
    return render(
        request,
        "measurement/instrument_detail.html",
        {
            "version": version,
            "definition": definition,
            "name": version.name_in(language),
            "instructions": text(definition.instructions),
            "licence_note": text(definition.licence_note),
            "questions": questions,
            "text_missing": definition.text_is_licensed and not version.has_item_text,
            "bands": [(band, text(band.label)) for band in definition.bands],
            "subscales": subscales,
            "critical_items": ", ".join(map(str, definition.critical_items)),
            "critical_threshold_text": threshold,
        },
    )


@staff_required
def fhir_questionnaire(request: HttpRequest, code: str) -> HttpResponse:
    try:
        version = actions.current_version(code)
    except InstrumentVersion.DoesNotExist:
        raise Http404 from None
    return _fhir_json(fhir.questionnaire(version))


@staff_required
def fhir_questionnaire_response(request: HttpRequest, response_id: int) -> HttpResponse:
    response, _ = get_response_for_staff(request, response_id, action=Action.EXPORT)
    return _fhir_json(fhir.questionnaire_response(response))


@staff_required
def fhir_observation(request: HttpRequest, response_id: int) -> HttpResponse:
    response, _ = get_response_for_staff(request, response_id, action=Action.EXPORT)
    if response.total is None:
        raise Http404
    return _fhir_json(fhir.observation(response))


def _fhir_json(resource) -> HttpResponse:
    return HttpResponse(
        resource.model_dump_json(exclude_none=True, indent=2),
        content_type="application/fhir+json; charset=utf-8",
    )
