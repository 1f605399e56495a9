"""Who may sign a study's consent: the patient with her own name as her records have it, and
for a person under 18 a guardian, with the name the records have for one of her guardians."""

from django.utils.translation import gettext as _

from ikbt.patients.models import Patient


def same_name(written: str, recorded: str) -> bool:
    """Case and extra spaces do not matter."""
    return " ".join(written.split()).casefold() == " ".join(recorded.split()).casefold()


def signature_refusal(patient: Patient, signed_name: str) -> str | None:
    if not signed_name.strip():
        return _("Write your name to sign.")
    if not same_name(signed_name, patient.full_name):
        return _("Write your own name as it is in your records: %(name)s.") % {
            "name": patient.full_name
        }
    return None


def guardian_signature_refusal(patient: Patient, guardian_name: str) -> str | None:
    """Checked only when the records name her guardians."""
    recorded = list(patient.guardians.values_list("name", flat=True))
    if recorded and not any(same_name(guardian_name, name) for name in recorded):
        return _(
            "That is not the name of a guardian in your records. "
            "The guardian writes their own name."
        )
    return None
