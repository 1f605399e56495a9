import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from ikbt.core.workdays import add_working_days, is_working_day
from ikbt.measurement.actions import current_version, response_start
from ikbt.messaging import actions as messaging
from ikbt.messaging.models import Message
from ikbt.notifications import sms
from ikbt.treatment.tasks import (
    escalate_overdue_replies,
    nudge_inactive_patients,
    remind_due_questionnaires,
)

STOCKHOLM = timezone.get_fixed_timezone(60)


@pytest.fixture(autouse=True)
def empty_outboxes():
    sms.outbox.clear()


def test_swedish_working_days():
    assert not is_working_day(datetime.date(2026, 12, 24))  # julafton
    assert not is_working_day(datetime.date(2026, 6, 19))  # midsommarafton
    assert not is_working_day(datetime.date(2026, 1, 6))  # trettondedag jul
    assert is_working_day(datetime.date(2026, 12, 23))
    wednesday = datetime.datetime(2026, 12, 23, 10, tzinfo=STOCKHOLM)
    assert add_working_days(wednesday, 2).date() == datetime.date(2026, 12, 29)


def test_a_due_questionnaire_is_reminded_once_even_if_the_task_runs_twice(
    patient, django_capture_on_commit_callbacks
):
    response_start(patient, current_version("GAD-7"))
    later = response_start(
        patient, current_version("GAD-7"), due_at=timezone.now() + datetime.timedelta(days=90)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert remind_due_questionnaires.call() == 1
        assert remind_due_questionnaires.call() == 0
    assert [message.body for message in sms.outbox] == [
        "Du har ett formulär att fylla i från vården"
    ]
    later.refresh_from_db()
    assert later.reminded_at is None  # the follow-up is not due yet


def test_inactive_patients_are_nudged_once_per_quiet_spell(
    enrollment,
    django_capture_on_commit_callbacks,
):
    enrollment.started_at = timezone.now() - datetime.timedelta(days=10)
    enrollment.save()
    with django_capture_on_commit_callbacks(execute=True):
        assert nudge_inactive_patients.call() == 1
        assert nudge_inactive_patients.call() == 0
    assert len(sms.outbox) == 1


def test_a_message_past_the_deadline_escalates_to_the_unit_once(
    patient, unit, unit_admin, therapist_client, django_capture_on_commit_callbacks
):
    thread = messaging.thread_start(patient, patient.user, "Hjälp", "Jag behöver prata")
    Message.objects.update(sent_at=timezone.now() - datetime.timedelta(days=10))
    with django_capture_on_commit_callbacks(execute=True):
        assert escalate_overdue_replies.call() == 1
        assert escalate_overdue_replies.call() == 0
    assert [message.to for message in mail.outbox] == [[unit_admin.email]]
    assert "prata" not in mail.outbox[0].body
    assert thread.messages.get().escalated_at is not None


def test_a_fresh_message_does_not_escalate(patient, unit_admin):
    messaging.thread_start(patient, patient.user, "Hej", "En fråga")
    assert escalate_overdue_replies.call() == 0


def test_caseload_marks_an_overdue_reply(
    therapist_client,
    patient,
    enrollment,
):
    messaging.thread_start(patient, patient.user, "Hjälp", "Jag behöver prata")
    Message.objects.update(sent_at=timezone.now() - datetime.timedelta(days=10))
    (row,) = therapist_client.get(reverse("treatment:caseload")).context["rows"]
    assert [kind for kind, _, _ in row["reasons"]][:2] == ["late", "message"]


def test_reminders_command_queues_every_task(db, capsys):
    from django.core.management import call_command

    call_command("reminders", "--now")
    out = capsys.readouterr().out
    for name in (
        "remind_due_questionnaires",
        "nudge_inactive_patients",
        "escalate_overdue_replies",
        "escalate_risk_flags",
        "forget_form_submissions",
    ):
        assert name in out


def test_caseload_marks_an_overdue_hand_in(therapist_client, enrollment):
    from ikbt.treatment.models import WorksheetAnswer

    WorksheetAnswer.objects.create(
        enrollment=enrollment,
        worksheet_key="andningslogg",
        data={},
        revision=1,
        handed_in_at=timezone.now() - datetime.timedelta(days=10),
    )
    (row,) = therapist_client.get(reverse("treatment:caseload")).context["rows"]
    texts = [str(text) for _, text, _ in row["reasons"]]
    assert texts[0] == "Hand-in overdue"
