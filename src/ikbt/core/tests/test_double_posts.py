"""The same form sent twice, one after the other and twice at once, makes one row."""

import datetime
import threading
import time
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ikbt import factories
from ikbt.conftest import verified_client
from ikbt.core.models import FormSubmission
from ikbt.core.submissions import FIELD, submissions_forget
from ikbt.intake.models import Offering, Registration
from ikbt.intake.tests.test_intake import FORM as REGISTRATION
from ikbt.messaging import actions as messaging
from ikbt.messaging.models import Message, Thread
from ikbt.treatment.models import TimeEntry


@pytest.fixture
def thread(patient, therapist):
    return messaging.thread_start(patient, therapist, "Välkommen", "Hej!")


@pytest.fixture
def offering(enrollment, unit):
    return Offering.objects.create(unit=unit, program=enrollment.program_version.program)


@pytest.fixture
def people(patient, therapist):
    """Who sends: the patient in treatment, the therapist, and a new patient applying."""
    return {"patient": patient, "therapist": therapist, "applicant": factories.PatientFactory()}


def forms(patient, thread, enrollment, offering):
    """(who sends, URL, fields, the rows it makes) for every form that is sent once."""
    return {
        "patient's new message": (
            "patient",
            reverse("messaging:inbox"),
            {"subject": "Fråga", "body": "Hur gör jag övningen?"},
            Thread.objects.filter(subject="Fråga"),
        ),
        "patient's reply": (
            "patient",
            reverse("messaging:thread", args=[thread.pk]),
            {"body": "Tack, det gick bra."},
            Message.objects.filter(body="Tack, det gick bra."),
        ),
        "therapist's reply": (
            "therapist",
            reverse("messaging:staff_thread", args=[thread.pk]),
            {"body": "Bra jobbat!"},
            Message.objects.filter(body="Bra jobbat!"),
        ),
        "therapist's new message": (
            "therapist",
            reverse("messaging:patient_threads", args=[patient.pk]),
            {"subject": "Vecka 2", "body": "Nu öppnas modul 2."},
            Thread.objects.filter(subject="Vecka 2"),
        ),
        "time in the record": (
            "therapist",
            reverse("treatment:record", args=[enrollment.pk]),
            {"minutes": "15", "what": "Återkoppling"},
            TimeEntry.objects.filter(what="Återkoppling"),
        ),
        "interest registration": (
            "applicant",
            reverse("intake:register", args=[offering.pk]),
            REGISTRATION,
            Registration.objects.filter(offering=offering),
        ),
    }


FORMS = [
    "patient's new message",
    "patient's reply",
    "therapist's reply",
    "therapist's new message",
    "time in the record",
    "interest registration",
]


def client_for(who: str, people: dict) -> Client:
    if who == "therapist":
        return verified_client(people["therapist"])
    client = Client()
    client.force_login(people[who].user)
    return client


@pytest.mark.parametrize("name", FORMS)
def test_the_same_form_sent_twice_makes_one_row(
    name, patient, people, thread, enrollment, offering
):
    who, url, fields, rows = forms(patient, thread, enrollment, offering)[name]
    client = client_for(who, people)
    assert f'name="{FIELD}"' in client.get(url).text  # each showing of the form has a new id
    data = {**fields, FIELD: str(uuid.uuid4())}

    first = client.post(url, data)
    second = client.post(url, data)

    assert first.status_code == 302
    assert (second.status_code, second["Location"]) == (302, first["Location"])
    assert rows.count() == 1


def test_a_form_with_errors_keeps_no_id_so_it_can_be_corrected(patient_client, thread):
    url = reverse("messaging:thread", args=[thread.pk])
    token = str(uuid.uuid4())

    refused = patient_client.post(url, {"body": "", FIELD: token})
    sent = patient_client.post(url, {"body": "Nu med text.", FIELD: token})

    assert refused.status_code == 200
    assert sent.status_code == 302
    assert Message.objects.filter(body="Nu med text.").count() == 1


def test_another_persons_id_is_not_taken_for_a_repeat(people, therapist, thread):
    token = str(uuid.uuid4())
    verified_client(therapist).post(
        reverse("messaging:staff_thread", args=[thread.pk]),
        {"body": "Från terapeuten", FIELD: token},
    )
    patient_client = client_for("patient", people)
    patient_client.post(
        reverse("messaging:thread", args=[thread.pk]), {"body": "Från patienten", FIELD: token}
    )
    assert Message.objects.filter(body="Från patienten").count() == 1


def test_submission_ids_are_forgotten_after_two_days(patient_client, patient, thread):
    url = reverse("messaging:thread", args=[thread.pk])
    patient_client.post(url, {"body": "Hej", FIELD: str(uuid.uuid4())})
    assert FormSubmission.objects.count() == 1
    assert submissions_forget(timezone.now() + datetime.timedelta(days=1)) == 0
    assert submissions_forget(timezone.now() + datetime.timedelta(days=3)) == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="two writers at once need PostgreSQL (SQLite takes one writer at a time)",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_form_sent_twice_at_once_makes_one_row(
    patient, people, thread, enrollment, offering, monkeypatch
):
    # The work is slowed down so the second post arrives while the first is still working.
    create = FormSubmission.objects.create

    def slow_create(**kwargs):
        submission = create(**kwargs)
        time.sleep(0.3)
        return submission

    monkeypatch.setattr(FormSubmission.objects, "create", slow_create)
    for name in FORMS:
        who, url, fields, rows = forms(patient, thread, enrollment, offering)[name]
        data = {**fields, FIELD: str(uuid.uuid4())}
        answers = []
        start = threading.Barrier(2)

        def send(client, data=data, url=url, answers=answers, start=start):
            start.wait()
            try:
                answers.append(client.post(url, data))
            finally:
                connection.close()

        senders = [
            threading.Thread(target=send, args=(client_for(who, people),)) for _ in range(2)
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()

        assert [answer.status_code for answer in answers] == [302, 302], name
        assert answers[0]["Location"] == answers[1]["Location"], name
        assert rows.count() == 1, name
