"""Changes to a patient's own settings."""

from ikbt.patients.models import Patient


def notice_channels_set(patient: Patient, *, email: bool, sms: bool) -> None:
    """How the patient is told that something waits (never what): e-mail and/or SMS."""
    patient.notify_by_email = email
    patient.notify_by_sms = sms
    patient.save(update_fields=["notify_by_email", "notify_by_sms"])
