"""Forms fed what people (and attackers) type: very long texts, null bytes, mixed scripts,
right-to-left marks, emoji and HTML. No answer may be a server error, and nothing typed may
come back as live HTML."""

import json
from urllib.parse import quote

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ikbt.messaging import actions as messaging
from ikbt.treatment.models import ModuleProgress

PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
]
# Latin, Swedish, Arabic (right to left), Cyrillic, CJK, emoji, control and null characters.
ALPHABET = st.characters(
    codec="utf-8",
    categories=("L", "M", "N", "P", "S", "Z", "Cc"),
)
TYPED = st.one_of(
    st.text(ALPHABET, max_size=200),
    # Very long: a short random text repeated to 20,000 characters.
    st.text(ALPHABET, min_size=1, max_size=40).map(lambda text: (text * 20_000)[:20_000]),
    st.sampled_from(PAYLOADS).flatmap(
        lambda payload: st.text(ALPHABET, max_size=50).map(lambda text: text + payload + text)
    ),
    st.just("åäö ÅÄÖ مرحبا Привет 你好 🙂\u202e\u200b\x00"),
)
FUZZ = settings(
    max_examples=25,
    deadline=None,
    # Each example posts to the same patient's pages: state carried between examples is fine.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


def assert_safe(response) -> None:
    assert response.status_code < 500
    text = response.content.decode()
    for payload in PAYLOADS[:3]:
        assert payload not in text, "typed HTML came back unescaped"


@FUZZ
@given(subject=TYPED, body=TYPED)
def test_a_patients_new_message(patient_client, patient, subject, body):
    answer = patient_client.post(reverse("messaging:inbox"), {"subject": subject, "body": body})
    assert_safe(answer)
    if answer.status_code == 302:
        assert_safe(patient_client.get(answer["Location"]))


@FUZZ
@given(body=TYPED)
def test_a_therapists_reply(therapist_client, patient, body):
    thread = messaging.thread_start(patient, patient.user, "Fråga", "Hej")
    url = reverse("messaging:staff_thread", args=[thread.pk])
    assert_safe(therapist_client.post(url, {"body": body}))
    assert_safe(therapist_client.get(url))


@FUZZ
@given(text=TYPED, row=TYPED)
def test_worksheet_answers(patient_client, enrollment, text, row):
    for module in enrollment.program_version.modules.all():
        ModuleProgress.objects.get_or_create(
            enrollment=enrollment,
            module_key=module.key,
            defaults={"unlocked_by_hand_at": enrollment.started_at},
        )
    sheet = enrollment.program_version.worksheets.get(key="exponeringstrappa")
    url = reverse("treatment:worksheet_save", args=[enrollment.pk, sheet.key])
    answer = enrollment.worksheet_answers.filter(worksheet_key=sheet.key).first()
    revision = str(answer.revision if answer else 0)
    assert_safe(patient_client.post(url, {"revision": revision, "trappa__0__0": row,
                                          "trappa__0__1": text, "trappa__0__2": ""}))  # fmt: skip
    reflection = enrollment.program_version.worksheets.get(key="veckoreflektion")
    answer = enrollment.worksheet_answers.filter(worksheet_key=reflection.key).first()
    revision = str(answer.revision if answer else 0)
    saved = patient_client.post(
        reverse("treatment:worksheet_save", args=[enrollment.pk, reflection.key]),
        {"revision": revision, "lart": text, "formaga": row[:3]},
    )
    assert_safe(saved)
    for key in ("exponering", "halvvags"):
        page = patient_client.get(reverse("treatment:module_page", args=[enrollment.pk, key, 1]))
        assert page.status_code == 200
        assert_safe(page)


@FUZZ
@given(report=TYPED)
def test_homework_report_draft(patient_client, enrollment, report):
    url = reverse("treatment:module_page", args=[enrollment.pk, "valkommen", 1])
    saved = patient_client.post(url, {"homework_report": report}, headers={"HX-Request": "true"})
    assert_safe(saved)
    assert_safe(patient_client.get(url))


@FUZZ
@given(number=TYPED)
def test_patient_sign_in_with_anything_typed(client, db, number):
    assert_safe(client.post(reverse("accounts:patient_sign_in"), {"personal_number": number}))


@FUZZ
@given(
    code=st.one_of(
        st.sampled_from(["PHQ-9", "GAD-7", "phq-9", "åäö مرحبا 你好 🙂\u202e\x00"]),
        st.text(ALPHABET, min_size=1, max_size=60),
    )
)
def test_the_fhir_questionnaire_endpoint_with_any_code(therapist_client, code):
    """The JSON endpoint: a known code gives a FHIR Questionnaire, anything else 404 (400 for
    a null character, which no address may hold)."""
    prefix = reverse("measurement:fhir_questionnaire", args=["X"]).removesuffix("X/")
    answer = therapist_client.get(prefix + quote(code, safe="") + "/")
    assert answer.status_code in (200, 400, 404)
    assert answer.status_code == 400 or "\x00" not in code
    if answer.status_code == 200:
        assert json.loads(answer.content)["resourceType"] == "Questionnaire"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_html_in_a_message_is_shown_as_text(therapist_client, patient, payload):
    thread = messaging.thread_start(patient, patient.user, payload, payload)
    page = therapist_client.get(reverse("messaging:staff_thread", args=[thread.pk]))
    assert page.status_code == 200
    assert payload not in page.content.decode() or payload == "javascript:alert(1)"


@FUZZ
@given(text=TYPED, other=TYPED)
def test_the_treatment_records_own_forms(therapist_client, enrollment, text, other):
    """The record's forms that are written by hand (feedback, notes, time, ending, marking a
    worksheet read) and the reply templates, fed anything."""
    url = reverse("treatment:record", args=[enrollment.pk])
    for data in (
        {"feedback": text, "module": other},
        {"note": text},
        {"minutes": "5", "what": text},
        {"minutes": other},
        {"extend": other},
        {"read_worksheet": other},
        {"end": "1", "reason": other, "end_note": text},
    ):
        assert_safe(therapist_client.post(url, data))
    assert_safe(therapist_client.get(url))
    templates = reverse("treatment:reply_templates")
    assert_safe(therapist_client.post(templates, {"title": other, "text": text}))
    assert_safe(therapist_client.post(templates, {"delete": other}))
    assert_safe(therapist_client.get(templates))
