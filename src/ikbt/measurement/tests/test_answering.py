"""From a questionnaire sent to the patient, through the answers, to the therapist's
acknowledgement of a risk flag."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from ikbt import factories
from ikbt.audit.models import AccessLogEntry
from ikbt.conftest import list_rows
from ikbt.measurement import actions
from ikbt.measurement.models import Response, RiskFlag
from ikbt.measurement.tasks import escalate_risk_flags, notify_risk_flag, working_day_after

PHQ9_CALM = {f"answer_{index}": 0 for index in range(9)}
PHQ9_CRITICAL = {**PHQ9_CALM, "answer_0": 2, "answer_1": 2, "answer_8": 1}


@pytest.fixture
def phq9(db):
    actions.instruments_load()
    return actions.current_version("PHQ-9")


@pytest.fixture
def sent(phq9, patient) -> Response:
    return actions.response_start(patient, phq9)


def answer_url(response: Response) -> str:
    return reverse("measurement:answer", kwargs={"key": response.key})


def test_therapist_sends_a_questionnaire_and_it_waits_on_the_patients_home(
    therapist_client, patient_client, patient, phq9
):
    therapist_client.post(
        reverse("measurement:start_questionnaire", args=[patient.pk]),
        {"instrument": phq9.instrument.pk, "who": "patient"},
    )

    response = Response.objects.get(patient=patient)
    home = patient_client.get(reverse("patients:patient_home"))
    assert answer_url(response) in home.text


def test_every_item_is_a_labelled_radio_group(patient_client, sent):
    page = patient_client.get(answer_url(sent))
    assert page.text.count("<fieldset") == 9
    assert page.text.count('type="radio"') == 9 * 4
    assert "Little interest or pleasure in doing things" in page.text


def test_half_answered_questionnaire_is_kept_and_resumed(patient_client, sent):
    saved = patient_client.post(
        answer_url(sent), {"answer_0": "2", "answer_1": "1"}, headers={"HX-Request": "true"}
    )
    assert saved.status_code == 200
    assert "Saved" in saved.text

    sent.refresh_from_db()
    assert sent.answers == [2, 1, None, None, None, None, None, None, None]
    page = patient_client.get(answer_url(sent))
    assert page.context["form"].initial["answer_0"] == 2


def test_unanswered_items_are_named_and_answers_kept(patient_client, sent):
    page = patient_client.post(answer_url(sent), {"answer_0": "3", "submit": "1"})
    assert page.status_code == 200
    assert page.text.count("Choose one answer to this question.") == 8
    assert page.context["form"]["answer_0"].value() == "3"
    # At the top of the page, each question left out, linked to where it is.
    summary = page.text.split("Some questions are not answered yet:")[1].split("</ul>")[0]
    assert '<a href="#item-1">' not in summary
    assert [f'<a href="#item-{n}">Question {n}</a>' in summary for n in range(2, 10)] == [True] * 8
    sent.refresh_from_db()
    assert not sent.is_submitted


def test_submitting_twice_stores_one_response(patient_client, sent):
    first = patient_client.post(answer_url(sent), {**PHQ9_CALM, "answer_0": "1", "submit": "1"})
    second = patient_client.post(answer_url(sent), {**PHQ9_CALM, "submit": "1"})
    assert first.url == second.url == reverse("measurement:answered", kwargs={"key": sent.key})
    sent.refresh_from_db()
    assert (sent.status, sent.total, sent.band_labels["sv"]) == (
        "submitted",
        1,
        "Minimala eller inga symtom",
    )
    assert Response.objects.count() == 1


def test_severity_is_named_in_the_pages_language(patient_client, sent):
    answered = patient_client.post(answer_url(sent), {**PHQ9_CALM, "submit": "1"}, follow=True)
    assert "Minimal." in answered.text
    sent.refresh_from_db()
    assert sent.band_labels == {"sv": "Minimala eller inga symtom", "en": "Minimal"}
    swedish = patient_client.get(answered.request["PATH_INFO"], HTTP_ACCEPT_LANGUAGE="sv")
    assert "Minimala eller inga symtom." in swedish.text


def test_critical_answer_raises_a_flag_and_shows_help_at_once(
    patient_client, sent, therapist, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = patient_client.post(
            answer_url(sent), {**PHQ9_CRITICAL, "submit": "1"}, follow=True
        )

    assert "Självmordslinjen" in result.text
    # On a phone, each number is called with one tap.
    for number in ("112", "1177", "90101"):
        assert f'<a href="tel:{number}">{number}</a>' in result.text
    # No word of the score's band beside it ("Mild", say) reassures her.
    sent.refresh_from_db()
    assert sent.severity and f"{sent.severity}." not in result.text
    assert "The total does not tell everything" in result.text
    flag = RiskFlag.objects.get()
    assert (flag.response, flag.patient, flag.unit) == (
        sent,
        sent.patient,
        sent.patient.care_relationships.get().unit,
    )
    (notice,) = mail.outbox
    assert notice.to == [therapist.email]
    assert "Petra" not in notice.body and "PHQ" not in notice.body
    assert notify_risk_flag.call(flag.pk) == 0  # a worker running it again sends nothing
    assert len(mail.outbox) == 1


def test_flag_is_first_on_the_therapists_list_until_acknowledged(
    patient_client, therapist_client, therapist, sent
):
    patient_client.post(answer_url(sent), {**PHQ9_CRITICAL, "submit": "1"})
    flag = RiskFlag.objects.get()
    home = therapist_client.get(reverse("patients:staff_home"))
    assert home.context["risk_flags"] == [flag]

    # What raised it, and the number to call, where it is acted on.
    measurements = reverse("measurement:patient_measurements", args=[sent.patient.pk])
    page = therapist_client.get(measurements).text
    flag_part = page.split('id="flags-heading"')[1].split("</section>")[0]
    assert "Question 9, “" in flag_part and ": <strong>Several days</strong>" in flag_part
    assert "Total: 5 (" in flag_part
    mobile = sent.patient.mobile
    assert f'<a href="tel:{mobile}">{mobile}</a>' in flag_part

    url = reverse("measurement:acknowledge_risk_flag", args=[flag.pk])
    therapist_client.post(url, {"action_taken": ""})
    flag.refresh_from_db()
    assert flag.is_open

    therapist_client.post(
        url, {"action_taken": "Ringde patienten, gjorde en suicidriskbedömning."}
    )
    flag.refresh_from_db()
    assert (flag.acknowledged_by, flag.is_open) == (therapist, False)
    assert therapist_client.get(reverse("patients:staff_home")).context["risk_flags"] == []
    record = therapist_client.get(
        reverse("measurement:patient_measurements", args=[sent.patient.pk])
    )
    assert "Ringde patienten" in record.text
    assert "Tove Terapeut" in record.text


def test_open_flag_escalates_to_the_unit_after_a_working_day(
    sent, unit_admin, django_capture_on_commit_callbacks
):
    actions.response_submit(sent, [2, 2, 0, 0, 0, 0, 0, 0, 1])
    flag = RiskFlag.objects.get()
    five_days_ago = timezone.now() - datetime.timedelta(days=5)  # a working day has passed
    RiskFlag.objects.filter(pk=flag.pk).update(raised_at=five_days_ago)

    with django_capture_on_commit_callbacks(execute=True):
        assert escalate_risk_flags.call() == 1
        assert escalate_risk_flags.call() == 0  # once only

    flag.refresh_from_db()
    assert flag.escalated_at is not None
    assert [message.to for message in mail.outbox] == [[unit_admin.email]]


def test_a_unit_without_an_administrator_has_its_region_appoint_one(
    sent, unit, django_capture_on_commit_callbacks
):
    """A youth clinic with therapists only: its region's administrators, who cannot open the
    patient, are asked to appoint someone who can. A flag of no unit escalates to no one
    and stops no other."""
    from ikbt.measurement.models import Response
    from ikbt.organisations.models import StaffRole

    region_admin = factories.staff_member(unit, StaffRole.REGION_ADMIN, username="region")
    actions.response_submit(sent, [2, 2, 0, 0, 0, 0, 0, 0, 1])
    nowhere = actions.response_start(sent.patient, sent.instrument_version)
    Response.objects.filter(pk=nowhere.pk).update(unit=None)
    RiskFlag.objects.create(patient=sent.patient, unit=None, response=nowhere)
    RiskFlag.objects.update(raised_at=timezone.now() - datetime.timedelta(days=5))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert escalate_risk_flags.call() == 2
    (notice,) = mail.outbox
    assert notice.to == [region_admin.email]
    assert notice.subject == "Open iKBT: en enhet i din region saknar administratör"


def test_a_working_day_skips_the_weekend(settings):
    friday = datetime.datetime(2026, 11, 20, 15, tzinfo=timezone.get_current_timezone())
    assert working_day_after(friday).weekday() == 0
    assert working_day_after(friday).hour == 15


def test_staff_fill_in_for_the_patient_is_marked(therapist_client, therapist, patient, phq9):
    started = therapist_client.post(
        reverse("measurement:start_questionnaire", args=[patient.pk]),
        {"instrument": phq9.instrument.pk, "who": "staff"},
    )
    response = Response.objects.get()
    assert started.url == reverse("measurement:staff_answer", args=[response.pk])
    therapist_client.post(started.url, {**PHQ9_CALM, "submit": "1"})

    response.refresh_from_db()
    assert (response.filled_in_by, response.total) == (therapist, 0)
    assert AccessLogEntry.objects.filter(
        action="create", object_id=str(response.pk), actor=therapist
    ).exists()
    record = therapist_client.get(reverse("measurement:patient_measurements", args=[patient.pk]))
    assert "staff, for the patient" in record.text
    # The machine-readable copies are named for what they are for, not only by the standard.
    fhir = reverse("measurement:fhir_questionnaire_response", args=[response.pk])
    assert '<th scope="col">For the record system (FHIR)</th>' in record.text
    assert f'<a href="{fhir}">Answers (JSON)</a>' in record.text


def test_a_form_staff_fill_in_is_not_the_patients_to_answer(
    patient_client, therapist, patient, phq9
):
    response = actions.response_start(patient, phq9, filled_in_by=therapist)
    assert patient_client.get(answer_url(response)).status_code == 404
    assert patient_client.get(reverse("patients:patient_home")).context["questionnaires"] == []


def test_outsider_gets_404_and_the_denial_is_logged(outsider_client, outsider, sent, patient):
    for url in (
        reverse("measurement:patient_measurements", args=[patient.pk]),
        reverse("measurement:staff_answer", args=[sent.pk]),
    ):
        assert outsider_client.get(url).status_code == 404
    assert AccessLogEntry.objects.filter(actor=outsider, action="denied").count() == 2


def test_another_patient_cannot_open_the_questionnaire(client, sent, db):
    from ikbt import factories

    other = factories.PatientFactory()
    client.force_login(other.user)
    assert client.get(answer_url(sent)).status_code == 404


def test_the_same_questionnaire_asked_twice_says_for_which_occasion(patient_client, patient, phq9):
    actions.response_start(patient, phq9, occasion="pre")
    actions.response_start(patient, phq9, occasion="weekly")
    page = patient_client.get(reverse("patients:patient_home")).text
    assert "(before start)" in page and "(weekly)" in page


def test_a_questionnaire_asked_for_later_shows_when_it_is_due(therapist_client, patient, phq9):
    url = reverse("measurement:patient_measurements", args=[patient.pk])
    assert "Nothing waits to be answered." in therapist_client.get(url).text
    later = timezone.now() + datetime.timedelta(weeks=3)
    actions.response_start(patient, phq9, occasion="weekly", due_at=later)
    page = therapist_client.get(reverse("measurement:patient_measurements", args=[patient.pk]))
    assert f"due {timezone.localtime(later):%Y-%m-%d}" in page.text
    assert "sent" not in page.text.split("Not yet answered", 1)[1]


def test_chart_and_table_show_the_scores(therapist_client, patient, phq9):
    for answers in ([3] * 9, [1] * 9):
        actions.response_submit(actions.response_start(patient, phq9), answers)
    page = therapist_client.get(reverse("measurement:patient_measurements", args=[patient.pk]))
    assert page.text.count("<circle") == 2
    assert "<svg" in page.text and "<polyline" in page.text
    assert page.context["charts"][0]["code"] == "PHQ-9"
    assert [row.total for row in page.context["charts"][0]["rows"]] == [27, 9]
    assert reverse("measurement:instrument_detail", kwargs={"code": "PHQ-9"}) in page.text


@pytest.mark.parametrize("responses", list_rows(1, 6))
def test_measurement_page_query_count_is_fixed(
    therapist_client, patient, phq9, responses, django_assert_num_queries
):
    for _ in range(responses):
        actions.response_submit(actions.response_start(patient, phq9), [1] * 8 + [0])
    therapist_client.get(reverse("core:home"))
    with django_assert_num_queries(12):
        therapist_client.get(reverse("measurement:patient_measurements", args=[patient.pk]))


def test_patient_sees_their_own_scores_over_time(patient_client, patient, phq9):
    for answers in ([2] * 9, [1] * 9, [0] * 9):
        actions.response_submit(actions.response_start(patient, phq9), answers)
    page = patient_client.get(reverse("measurement:my_scores"))
    assert [row.total for row in page.context["charts"][0]["rows"]] == [18, 9, 0]
    assert page.text.count("<circle") == 3
    assert "fhir" not in page.text.lower()
    assert "scored and banded" not in page.text


def test_chart_marks_the_start_of_treatment_only_once_treatment_began(
    therapist_client, patient, phq9
):
    actions.response_submit(actions.response_start(patient, phq9), [1] * 9)
    url = reverse("measurement:patient_measurements", args=[patient.pk])
    assert therapist_client.get(url).context["charts"][0]["chart"].start_x is None
    from ikbt.programs.actions import program_import, version_publish
    from ikbt.programs.package import EXAMPLE_PACKAGE, read_package
    from ikbt.treatment.models import Enrollment

    data, _ = read_package(EXAMPLE_PACKAGE)
    unit = patient.care_relationships.get().unit
    version = version_publish(program_import(data, unit.region), None)
    Enrollment.objects.create(patient=patient, unit=unit, program_version=version)
    assert therapist_client.get(url).context["charts"][0]["chart"].start_x is not None


def test_the_therapist_reads_the_answers_question_by_question(
    patient_client, therapist_client, colleague_client, sent
):
    """From the risk flag and from the table of scores: each question, the option chosen, and
    the critical answer marked; the reading is logged; no care relationship, 404."""
    patient_client.post(answer_url(sent), {**PHQ9_CRITICAL, "submit": "1"})
    url = reverse("measurement:staff_answer", args=[sent.pk])
    measurements = therapist_client.get(
        reverse("measurement:patient_measurements", args=[sent.patient.pk])
    ).text
    assert measurements.count(f'href="{url}"') == 2  # the flag and the row of the table

    page = therapist_client.get(url, HTTP_ACCEPT_LANGUAGE="sv")
    rows = page.context["rows"]
    assert len(rows) == 9
    assert [row["critical"] for row in rows] == [False] * 8 + [True]
    assert (rows[8]["number"], rows[8]["answer"]) == (9, "Flera dagar")
    assert "Tankar på att det vore bättre om du vore död" in page.text
    assert "Kritiskt svar" in page.text
    assert AccessLogEntry.objects.filter(
        patient=sent.patient, detail="questionnaire", action="read"
    ).exists()
    assert colleague_client.get(url).status_code == 404


def test_only_questions_left_out_are_listed_at_the_top(phq9):
    """A form-wide error (an answer scoring refused) is not a question left out."""
    from ikbt.measurement.forms import QuestionnaireForm

    whole = QuestionnaireForm(phq9, "en", PHQ9_CALM, complete=True)
    assert whole.is_valid()
    whole.add_error(None, "An answer was not one of the choices.")
    assert whole.unanswered == []
    half = QuestionnaireForm(phq9, "en", {"answer_0": "1", "answer_3": "0"}, complete=True)
    assert not half.is_valid()
    assert [question["number"] for question in half.unanswered] == [2, 3, 5, 6, 7, 8, 9]
    assert half.unanswered[0]["position"] == 2


@pytest.mark.parametrize("youth", [False, True])
def test_a_result_in_the_highest_band_says_where_to_turn_now(youth, patient_client, patient):
    from ikbt.measurement.actions import current_version, response_start, response_submit
    from ikbt.patients.personal_number import make_personal_number

    if youth:  # 15 years old: a young person's places to turn
        patient.personal_number = make_personal_number(
            f"{timezone.localdate().year - 15}0101", 123
        )
        patient.save(update_fields=["personal_number"])
        assert patient.is_minor
    code, answers = ("SMFQ", [2] * 13) if youth else ("PHQ-9", [3] * 8 + [0])
    response = response_start(patient, current_version(code))
    response_submit(response, answers)
    response.refresh_from_db()
    assert response.calls_for_support and not response.critical
    page = patient_client.get(reverse("measurement:answered", kwargs={"key": response.key}))
    assert "It sounds as if things are hard right now" in page.text
    assert '<a href="tel:1177">1177</a>' in page.text
    assert ('<a href="tel:116111">116 111</a>' in page.text) is youth
    assert ('<a href="tel:90101">90101</a>' in page.text) is not youth
    # Nor does AUDIT's highest zone, which says something else.
    audit = response_start(patient, current_version("AUDIT"))
    response_submit(audit, [4] * 10)
    audit.refresh_from_db()
    assert audit.band_labels["en"] == "Zone IV: possible dependence"
    assert not audit.calls_for_support
    # A calm result says nothing of the kind.
    calm = response_start(patient, current_version(code))
    response_submit(calm, [0] * len(answers))
    page = patient_client.get(reverse("measurement:answered", kwargs={"key": calm.key}))
    assert "It sounds as if things are hard" not in page.text


def test_a_non_drinker_answers_audit_without_questions_two_to_eight(patient_client, patient):
    audit = actions.current_version("AUDIT")
    response = actions.response_start(patient, audit)
    page = patient_client.get(answer_url(response))
    # Each question that may be left out says when, for a page without scripts.
    assert page.text.count("Only if you did not answer “Never” to question 1.") == 7
    assert page.text.count('data-skip-if="answer_0" data-skip-values="0"') == 7
    # Someone who drinks must answer them.
    drinks = {"answer_0": "1", "answer_8": "0", "answer_9": "0", "submit": "1"}
    refused = patient_client.post(answer_url(response), drinks)
    assert [q["number"] for q in refused.context["form"].unanswered] == [2, 3, 4, 5, 6, 7, 8]
    # "Never": sent in without them; what was ticked there is not kept.
    never = {"answer_0": "0", "answer_1": "3", "answer_8": "2", "answer_9": "0", "submit": "1"}
    assert patient_client.post(answer_url(response), never).status_code == 302
    response.refresh_from_db()
    assert response.answers == [0] + [None] * 7 + [2, 0]
    assert (response.total, response.band_labels["en"]) == (2, "Zone I: low risk")
    rows = response.answers_to_read("en")
    assert [row["skipped"] for row in rows] == [False] + [True] * 7 + [False] * 2


def test_a_screening_answer_leads_back_to_her_registrations(patient_client, patient):
    """Her therapist (of a treatment earlier) is not who reads a screening: the staff who
    assess the registration are, and the way on is her registrations."""
    response = actions.response_start(
        patient, actions.current_version("GAD-7"), occasion="screening"
    )
    actions.response_submit(response, [0] * 7)
    page = patient_client.get(reverse("measurement:answered", kwargs={"key": response.key}))
    assert "The staff who assess your registration see your answers" in page.text
    assert "Your therapist sees your answers" not in page.text
    assert reverse("intake:my_registrations") in page.text
