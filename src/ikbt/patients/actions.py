"""Changes to a patient's own settings."""

from ikbt.patients.models import Patient

CONTACT_FIELDS = ("mobile", "email", "notify_by_sms", "notify_by_email")


def contact_details_set(patient: Patient, **details) -> None:
    """The patient's mobile, e-mail and how she is told that something waits (never what):
    any of ``CONTACT_FIELDS``."""
    unknown = set(details) - set(CONTACT_FIELDS)
    if unknown:
        raise TypeError(f"Not a contact detail: {', '.join(sorted(unknown))}")
    for name, value in details.items():
        setattr(patient, name, value)
    patient.save(update_fields=list(details))
