"""Changes to a patient's own settings."""

from django.db import transaction
from django.utils import timezone

from ikbt.accounts.models import NewMobileCodeDevice
from ikbt.notifications.tasks import request_new_mobile_code, send_notice_later
from ikbt.patients.models import Patient

CONTACT_FIELDS = ("mobile", "email", "notify_by_sms", "notify_by_email")


# What ``contact_change`` did with the details she sent.
SAVED = "saved"  # saved now: the mobile number was not new
CODE_SENT = "code sent"  # a code went to the new number; saved when she writes it back
CODE_WAITS = "code waits"  # as above, but the last code is under a minute old: none went


@transaction.atomic
def contact_change(patient: Patient, **details) -> str:
    """The contact details the patient sent (``CONTACT_FIELDS``): saved now, unless the mobile
    number is new. Then a code goes to the new number, and all of them are saved when she
    writes it back (``new_mobile_confirm``): a mistyped number must not take the place of the
    one her sign-in codes reach. A code goes at most once a minute, whatever the number, so
    the form cannot be used to send texts to strangers. Returns ``SAVED``, ``CODE_SENT`` or
    ``CODE_WAITS``."""
    # Her row locked: two saves at once make one device and one code.
    stored = (
        Patient.objects.select_for_update()
        .filter(pk=patient.pk)
        .values_list("mobile", flat=True)
        .get()
    )
    number = details.get("mobile", stored)
    if not number or number == stored:
        new_mobile_forget(patient)
        contact_details_set(patient, **details)
        return SAVED
    device, _ = NewMobileCodeDevice.objects.get_or_create(
        user_id=patient.user_id, defaults={"name": "new mobile"}
    )
    if device.number and device.number != number:
        device.token = None  # the code sent to the number she corrected confirms nothing
    device.number, device.details = number, details
    if not device.new_code():
        device.save(update_fields=["number", "details", "token"])
        return CODE_WAITS
    request_new_mobile_code(device)
    return CODE_SENT


def new_mobile_waiting(
    patient: Patient, *, for_update: bool = False
) -> NewMobileCodeDevice | None:
    """The new mobile number waiting for its code, if any (locked, ``for_update``)."""
    devices = NewMobileCodeDevice.objects.filter(user_id=patient.user_id).exclude(number="")
    return (devices.select_for_update() if for_update else devices).first()


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
    are hers from now. The device locked, so tries at once count one by one."""
    device = new_mobile_waiting(patient, for_update=True)
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
