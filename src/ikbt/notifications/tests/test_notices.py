from django.core import mail

from ikbt.notifications.notices import send_notice


def test_notices_carry_no_health_content(patient, therapist):
    assert send_notice(therapist, "risk_flag")
    (message,) = mail.outbox
    assert message.to == [therapist.email]
    assert patient.given_name not in message.body
    assert patient.personal_number not in message.body
    assert "Sign in" in message.body or "Logga in" in message.body
