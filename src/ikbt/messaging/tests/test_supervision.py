"""A PTP psychologist's messages wait for the supervisor when the unit requires it."""

import pytest
from django.core import mail
from django.urls import reverse

from ikbt import factories
from ikbt.audit.models import AccessLogEntry
from ikbt.conftest import verified_client
from ikbt.messaging import actions
from ikbt.messaging.models import Message
from ikbt.organisations.models import StaffRole, Supervision


@pytest.fixture
def supervisor(unit, therapist):
    person = factories.staff_member(
        unit,
        StaffRole.SUPERVISOR,
        username="handledare",
        first_name="Hanna",
        last_name="Handledare",
    )
    Supervision.objects.create(supervisor=person, supervisee=therapist, review_messages=True)
    return person


def test_held_message_reaches_the_patient_only_when_released(
    therapist_client, supervisor, patient, patient_client, django_capture_on_commit_callbacks
):
    thread = actions.thread_start(patient, patient.user, "Fråga", "Hur gör jag?")
    staff_url = reverse("messaging:staff_thread", args=[thread.pk])
    with django_capture_on_commit_callbacks(execute=True):
        saved = therapist_client.post(staff_url, {"body": "Börja med fem minuter."}, follow=True)
    assert "Your supervisor reads it before the patient does." in saved.text
    held = Message.objects.get(held_for_review=True)
    assert mail.outbox == []  # the patient is not told yet
    assert (
        "Börja med fem minuter"
        not in patient_client.get(reverse("messaging:thread", args=[thread.pk])).text
    )

    # The supervisee cannot release it; the supervisor can.
    assert therapist_client.post(staff_url, {"release": held.pk}).status_code == 404
    boss = verified_client(supervisor)
    page = boss.get(staff_url)
    assert "Waiting for the supervisor" in page.text
    with django_capture_on_commit_callbacks(execute=True):
        boss.post(staff_url, {"release": held.pk})
    held.refresh_from_db()
    assert (held.held_for_review, held.reviewed_by) == (False, supervisor)
    assert len(mail.outbox) == 1
    assert (
        "Börja med fem minuter"
        in patient_client.get(reverse("messaging:thread", args=[thread.pk])).text
    )


def test_supervisor_sees_the_supervisees_caseload_and_it_is_logged(
    supervisor, patient, enrollment
):
    boss = verified_client(supervisor)
    rows = boss.get(reverse("treatment:caseload")).context["rows"]
    assert [row["enrollment"].patient for row in rows] == [patient]
    assert boss.get(reverse("treatment:record", args=[enrollment.pk])).status_code == 200
    entry = AccessLogEntry.objects.get(actor=supervisor, detail="treatment record")
    assert entry.actor_role == "Supervisor of Tove Terapeut"
