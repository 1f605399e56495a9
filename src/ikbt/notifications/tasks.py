"""Sending a patient's one-time sign-in code (the code is the only content: no health data),
and notices that need not go out within the request."""

from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django_tasks import task

from ikbt.accounts.models import NewMobileCodeDevice, PatientCodeDevice, User
from ikbt.notifications.notices import send_notice
from ikbt.notifications.sms import send_sms


def request_sign_in_code(device: PatientCodeDevice) -> None:
    """Send the device's new code once the transaction that made it has committed."""
    transaction.on_commit(lambda: send_sign_in_code.enqueue(device.pk))


@task()
def send_sign_in_code(device_id: int) -> bool:
    """Send the current code by SMS (or e-mail when there is no mobile number), once.

    Safe to run twice: ``sent_until`` remembers which code was handed to the gateway.
    """
    with transaction.atomic():
        device = _code_to_send(PatientCodeDevice, device_id)
        if device is None:
            return False
        patient = device.user.patient
        body = _code_text(device, "notifications/sign_in_code.txt")
        if patient.mobile:
            send_sms(patient.mobile, body)
        elif patient.email:
            with translation.override(device.user.language):
                subject = render_to_string(
                    "notifications/sign_in_code_subject.txt", using="text"
                ).strip()
            send_mail(subject, body, None, [patient.email])
        else:
            return False
    return True


def request_new_mobile_code(device: NewMobileCodeDevice) -> None:
    """Send the code confirming a new mobile number once its transaction has committed."""
    transaction.on_commit(lambda: send_new_mobile_code.enqueue(device.pk))


@task()
def send_new_mobile_code(device_id: int) -> bool:
    """Send the code to the new number waiting to be confirmed, once (as a sign-in code)."""
    with transaction.atomic():
        device = _code_to_send(NewMobileCodeDevice, device_id)
        if device is None:
            return False
        send_sms(device.number, _code_text(device, "notifications/new_mobile_code.txt"))
    return True


def _code_to_send(model, device_id: int):
    """The device, locked and marked sent, if its code is current and not sent yet."""
    device = (
        model.objects.select_for_update(of=("self",))
        .select_related("user__patient")
        .filter(pk=device_id)
        .first()
    )
    if device is None or not device.token or device.valid_until <= timezone.now():
        return None
    if device.sent_until == device.valid_until:
        return None
    device.sent_until = device.valid_until
    device.save(update_fields=["sent_until"])
    return device


def _code_text(device, template: str) -> str:
    """The text carrying ``device``'s code (nothing else), in the patient's language."""
    context = {"code": device.token, "minutes": device.VALID_SECONDS // 60}
    with translation.override(device.user.language):
        return render_to_string(template, context, using="text").strip()


@task()
def send_notice_later(user_id: int, kind: str, to: list[str] | None = None) -> bool:
    """``send_notice`` from a worker, so a mail server that fails does not fail the request.
    Running twice sends the notice twice: harmless, it says only that something waits."""
    user = User.objects.filter(pk=user_id).first()
    return user is not None and send_notice(user, kind, to=tuple(to) if to else None)
