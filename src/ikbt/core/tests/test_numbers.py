"""Numbers that arrive as text from a browser (core.numbers) and the views that read them."""

import pytest
from django.urls import reverse

from ikbt.core.numbers import whole_number
from ikbt.messaging import actions as messaging
from ikbt.treatment.models import ModuleProgress

AWKWARD = ["", "x", "²", "١٢", "1.5", " 7", "-3", "9" * 19, "0" * 20_000, "1\x00"]


def test_whole_numbers_are_read_only_from_the_digits_0_to_9():
    assert whole_number("42") == 42
    assert whole_number("007") == 7
    assert whole_number("-1", signed=True) == -1
    assert whole_number("9" * 18) == 10**18 - 1
    for text in [*AWKWARD, None]:
        assert whole_number(text) is None
    assert whole_number("--1", signed=True) is None


@pytest.mark.parametrize("text", AWKWARD)
def test_a_thread_refuses_an_awkward_message_id(therapist_client, patient, text):
    thread = messaging.thread_start(patient, patient.user, "Fråga", "Hej")
    url = reverse("messaging:staff_thread", args=[thread.pk])
    assert therapist_client.post(url, {"release": text}).status_code == 404


@pytest.mark.parametrize("text", AWKWARD)
def test_a_worksheet_takes_no_awkward_revision_or_scale_answer(patient_client, enrollment, text):
    ModuleProgress.objects.create(
        enrollment=enrollment, module_key="halvvags", unlocked_by_hand_at=enrollment.started_at
    )
    url = reverse("treatment:worksheet_save", args=[enrollment.pk, "veckoreflektion"])
    assert patient_client.post(url, {"revision": text, "lart": "Att andas"}).status_code == 404
    saved = patient_client.post(url, {"revision": "0", "lart": "Att andas", "formaga": text})
    assert saved.status_code == 302
    answer = enrollment.worksheet_answers.get(worksheet_key="veckoreflektion")
    assert answer.data["formaga"] is None
    assert answer.data["lart"] == "Att andas"
