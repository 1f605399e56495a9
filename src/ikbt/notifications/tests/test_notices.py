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
