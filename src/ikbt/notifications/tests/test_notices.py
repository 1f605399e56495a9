import pytest
from django.core import mail

from ikbt.notifications.notices import send_notice


def test_notices_carry_no_health_content(patient, therapist):
    assert send_notice(therapist, "risk_flag")
    (message,) = mail.outbox
    assert message.to == [therapist.email]
    assert patient.given_name not in message.body
    assert patient.personal_number not in message.body
    assert "Sign in" in message.body or "Logga in" in message.body


def test_patients_choose_their_channels(patient):
    from ikbt.notifications import sms
    from ikbt.notifications.notices import send_notice

    sms.outbox.clear()
    patient.notify_by_email = False
    patient.save()
    assert send_notice(patient.user, "new_message")
    assert mail.outbox == [] and len(sms.outbox) == 1
    patient.notify_by_sms = False
    patient.save()
    assert not send_notice(patient.user, "new_message")
    assert patient.reachable_by == []


PATIENT_NOTICES = (
    "new_message",
    "questionnaire_due",
    "inactive",
    "time_booked",
    "registration_decided",
)
# Words that would tell whoever sees a lock screen or an inbox that she is in psychological
# treatment, in both languages.
GIVE_AWAY = ("KBT", "CBT", "iKBT", "behandling", "treatment", "terapi", "therapy", "psyk")


@pytest.mark.parametrize("language", ["sv", "en"])
def test_what_reaches_a_patient_does_not_say_what_care_she_has(patient, language):
    from ikbt.notifications import sms

    patient.user.language = language
    patient.user.save(update_fields=["language"])
    sms.outbox.clear()
    for kind in PATIENT_NOTICES:
        assert send_notice(patient.user, kind)
    texts = [message.from_email + message.subject + message.body for message in mail.outbox]
    texts += [message.sender + message.body for message in sms.outbox]
    assert len(texts) == 2 * len(PATIENT_NOTICES)
    for text in texts:
        assert not [word for word in GIVE_AWAY if word.lower() in text.lower()], text


@pytest.mark.parametrize("kind", ["risk_flag", "new_message", "new_role"])
def test_a_notice_is_plain_text_with_names_as_they_are_written(therapist, kind):
    therapist.last_name = "O'Brien"
    therapist.save(update_fields=["last_name"])
    assert send_notice(therapist, kind)
    (message,) = mail.outbox
    assert "Tove O'Brien" in message.body
    assert "&#x27;" not in message.body + message.subject


def test_a_patient_is_not_told_at_night_but_at_eight(patient, therapist, settings):
    """Between 21 and 8 (Stockholm) a notice to a patient waits for 8 o'clock, where a task
    worker can send it later; staff are told at once."""
    import datetime

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from ikbt.notifications import sms
    from ikbt.notifications.notices import quiet_until

    def local(day: int, hour: int, minute: int = 0) -> datetime.datetime:
        return timezone.make_aware(datetime.datetime(2026, 12, day, hour, minute))

    assert quiet_until(local(7, 23, 30)) == local(8, 8)
    assert quiet_until(local(8, 6, 59)) == local(8, 8)
    assert quiet_until(local(8, 8)) is None and quiet_until(local(8, 20, 59)) is None
    assert quiet_until(local(8, 21)) == local(9, 8)

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    sms.outbox.clear()
    assert send_notice(patient.user, "new_message", now=local(7, 23, 30))
    assert (mail.outbox, sms.outbox) == ([], [])
    waiting = DBTaskResult.objects.get()
    assert (waiting.task_path, waiting.args_kwargs["args"]) == (
        "ikbt.notifications.tasks.send_notice_later",
        [patient.user.pk, "new_message"],
    )
    assert waiting.run_after == local(8, 8)
    # By day she is told at once, and staff at any hour.
    assert send_notice(patient.user, "new_message", now=local(8, 10))
    assert send_notice(therapist, "risk_flag", now=local(7, 23, 30))
    assert DBTaskResult.objects.count() == 1 and len(mail.outbox) == 2


def test_messages_close_together_tell_her_once_until_she_has_signed_in(patient):
    """A feedback and a reply a second apart: one e-mail and one text, not two of each. Once
    she has signed in, or after two minutes, the next message is told again."""
    import datetime

    from django.utils import timezone

    from ikbt.notifications import sms

    sms.outbox.clear()
    now = timezone.now()
    assert send_notice(patient.user, "new_message", now=now)
    assert send_notice(patient.user, "new_message", now=now + datetime.timedelta(seconds=1))
    assert (len(mail.outbox), len(sms.outbox)) == (1, 1)
    assert send_notice(patient.user, "questionnaire_due", now=now)  # another kind is told
    assert len(mail.outbox) == 2

    later = now + datetime.timedelta(minutes=3)
    assert send_notice(patient.user, "new_message", now=later)
    assert len(mail.outbox) == 3
    patient.user.last_login = later + datetime.timedelta(minutes=1)
    patient.user.save(update_fields=["last_login"])  # as signing in does
    assert send_notice(patient.user, "new_message", now=later + datetime.timedelta(minutes=2))
    assert len(mail.outbox) == 4


def test_a_notice_that_fails_to_go_does_not_keep_the_next_from_going(patient):
    from unittest.mock import patch

    from ikbt.accounts.models import User

    down = patch("ikbt.notifications.notices.send_mail", side_effect=OSError("mail is down"))
    with down, pytest.raises(OSError):
        send_notice(patient.user, "new_message")
    assert User.objects.get(pk=patient.user.pk).new_message_told_at is None
    assert send_notice(patient.user, "new_message")
    assert len(mail.outbox) == 1
