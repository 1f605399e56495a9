"""Changes to a patient's own settings."""

from django.db import transaction
from django.utils import timezone

from ikbt.accounts.models import NewMobileCodeDevice
from ikbt.notifications.tasks import request_new_mobile_code, send_notice_later
from ikbt.patients.models import Patient

CONTACT_FIELDS = ("mobile", "email", "notify_by_sms", "notify_by_email")


@transaction.atomic
def contact_change(patient: Patient, **details) -> bool:
    """The contact details the patient sent (``CONTACT_FIELDS``): saved now, unless the mobile
    number is new. Then a code goes to the new number, and all of them are saved when she
    writes it back (``new_mobile_confirm``): a mistyped number must not take the place of the
    one her sign-in codes reach. Returns True where they wait for the code."""
    stored = Patient.objects.filter(pk=patient.pk).values_list("mobile", flat=True).get()
    number = details.get("mobile", stored)
    device = NewMobileCodeDevice.objects.filter(user_id=patient.user_id).first()
    if not number or number == stored:
        if device is not None and device.number:
            new_mobile_forget(patient)
        contact_details_set(patient, **details)
        return False
    if device is None:
        device = NewMobileCodeDevice(user_id=patient.user_id, name="new mobile")
    another_number = device.number != number
    device.number, device.details = number, details
    if another_number:
        device.last_generated_timestamp = None  # a number corrected: its code goes at once
    if not device.new_code():
        device.save(update_fields=["number", "details"])
        return True
    request_new_mobile_code(device)
    return True


def new_mobile_waiting(patient: Patient) -> NewMobileCodeDevice | None:
    """The new mobile number waiting for its code, if any."""
    return NewMobileCodeDevice.objects.filter(user_id=patient.user_id).exclude(number="").first()


def new_mobile_code_again(patient: Patient) -> bool:
    """Another code to the number waiting; False while the last is under a minute old."""
    device = new_mobile_waiting(patient)
    if device is None or not device.new_code():
        return False
    request_new_mobile_code(device)
    return True


@transaction.atomic
def new_mobile_confirm(patient: Patient, code: str) -> bool:
    """The code she wrote back: where it is right, the number and the details sent with it
    are hers from now."""
    device = new_mobile_waiting(patient)
    if device is None or not device.verify_token(code):
        return False
    contact_details_set(patient, **{**device.details, "mobile": device.number})
    new_mobile_forget(patient)
    return True


def new_mobile_forget(patient: Patient) -> None:
    """No new number waits any more: she keeps the one she had."""
    NewMobileCodeDevice.objects.filter(user_id=patient.user_id).update(
        number="", details={}, token=None, valid_until=timezone.now()
    )


def contact_details_set(patient: Patient, **details) -> None:
    """The patient's mobile, e-mail and how she is told that something waits (never what):
    any of ``CONTACT_FIELDS``. A number or an address replaced is told so, in case it was
    not she who changed it (the sign-in codes go to the new one)."""
    unknown = set(details) - set(CONTACT_FIELDS)
    if unknown:
        raise TypeError(f"Not a contact detail: {', '.join(sorted(unknown))}")
    # As stored: a form may have put the new values on ``patient`` already.
    before = Patient.objects.filter(pk=patient.pk).values("mobile", "email").get()
    for name, value in details.items():
        setattr(patient, name, value)
    patient.save(update_fields=list(details))
    replaced = [
        before[name] if before[name] and before[name] != getattr(patient, name) else ""
        for name in ("email", "mobile")
    ]
    if any(replaced):
        user_id = patient.user_id
        transaction.on_commit(
            lambda: send_notice_later.enqueue(user_id, "contact_changed", replaced)
        )
