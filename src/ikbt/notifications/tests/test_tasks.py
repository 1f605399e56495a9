import datetime

import pytest
from django.core import mail
from django.utils import timezone

from ikbt import factories
from ikbt.accounts.models import PatientCodeDevice
from ikbt.notifications import sms
from ikbt.notifications.tasks import request_sign_in_code, send_sign_in_code


@pytest.fixture(autouse=True)
def empty_outbox():
    sms.outbox.clear()


def code_device(patient) -> PatientCodeDevice:
    device = PatientCodeDevice.objects.create(user=patient.user, name="sign-in code")
    device.generate_token(valid_secs=PatientCodeDevice.VALID_SECONDS)
    return device


def test_code_is_sent_once_by_sms_in_swedish(db, django_capture_on_commit_callbacks):
    patient = factories.PatientFactory(mobile="+46709876543")  # Swedish is the default
    device = code_device(patient)

    with django_capture_on_commit_callbacks(execute=True):
        request_sign_in_code(device)
    send_sign_in_code.call(device.pk)  # run twice: still one message

    (message,) = sms.outbox
    assert message.to == "+46709876543"
    assert message.body == (
        f"Din inloggningskod är {device.token}. Den gäller i 10 minuter. "
        "Ge den aldrig till någon annan."
    )


def test_code_in_english_for_an_english_speaker(db):
    patient = factories.PatientFactory()
    patient.user.language = "en"
    patient.user.save()
    device = code_device(patient)
    send_sign_in_code.call(device.pk)
    assert sms.outbox[0].body == (
        f"Your sign-in code is {device.token}. It is valid for 10 minutes. "
        "Never give it to anyone."
    )


def test_code_by_email_without_a_mobile_number(db):
    patient = factories.PatientFactory(mobile="", email="karin@example.se")
    device = code_device(patient)
    send_sign_in_code.call(device.pk)
    assert sms.outbox == []
    (message,) = mail.outbox
    assert message.to == ["karin@example.se"]
    assert message.subject == "Din inloggningskod"
    assert message.body == (
        f"Din inloggningskod är {device.token}. Den gäller i 10 minuter. "
        "Ge den aldrig till någon annan."
    )


def test_expired_code_is_not_sent(db):
    device = code_device(factories.PatientFactory())
    device.valid_until = timezone.now() - datetime.timedelta(seconds=1)
    device.save()
    assert send_sign_in_code.call(device.pk) is False
    assert sms.outbox == []


def test_a_new_code_is_sent_again(db):
    device = code_device(factories.PatientFactory())
    send_sign_in_code.call(device.pk)
    device.refresh_from_db()
    device.generate_token(valid_secs=PatientCodeDevice.VALID_SECONDS)
    send_sign_in_code.call(device.pk)
    assert len(sms.outbox) == 2
    assert device.token in sms.outbox[1].body


def test_a_used_code_is_not_sent(db):
    device = code_device(factories.PatientFactory())
    device.token = None
    device.save()
    assert send_sign_in_code.call(device.pk) is False
    assert sms.outbox == []
