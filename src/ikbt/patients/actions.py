"""Changes to a patient's own settings."""

from django.db import transaction

from ikbt.notifications.tasks import send_notice_later
from ikbt.patients.models import Patient

CONTACT_FIELDS = ("mobile", "email", "notify_by_sms", "notify_by_email")


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
