"""Who may sign a study's consent: the patient with her own name as her records have it, and
for a person under 18 a guardian, with the name the records have for one of her guardians
(under 15 both guardians, or one with sole custody)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ikbt.patients.models import Patient
from ikbt.patients.personal_number import normalise_personal_number

# Under this age both guardians consent (Lag 2003:460 om etikprövning, 18 §).
BOTH_GUARDIANS_AGE = 15


def _words(name: str) -> list[str]:
    return name.replace("-", " ").casefold().split()


def same_name(written: str, recorded: str) -> bool:
    """Case, hyphens and extra spaces do not matter, and her given names may be fewer than the
    records hold ("Maria Svensson" for "Anna Maria Svensson"): the family name in full and at
    least one given name, in their order."""
    written_words, recorded_words = _words(written), _words(recorded)
    if written_words == recorded_words:
        return True
    if len(written_words) < 2 or len(recorded_words) < 2:
        return False
    *given, family = recorded_words
    *written_given, written_family = written_words
    if written_family != family:
        return False
    remaining = iter(given)
    return all(name in remaining for name in written_given)


def signature_refusal(patient: Patient, signed_name: str) -> str | None:
    if not signed_name.strip():
        return _("Write your name to sign.")
    if not same_name(signed_name, patient.full_name):
        return _("Write your own name as it is in your records: %(name)s.") % {
            "name": patient.full_name
        }
    return None


def guardian_signature_refusal(
    patient: Patient, guardian_name: str, guardian_personal_number: str
) -> str | None:
    """A guardian on her record signs with the name and personal identity number the record
    has; a guardian the record does not hold (a second parent) signs as the young person's
    registration does, on their word, unless the record holds two: then it is one of them."""
    try:
        number = normalise_personal_number(guardian_personal_number)
    except ValidationError:
        return None  # the form says what is wrong with the number
    recorded = list(patient.guardians.values_list("name", "personal_number"))
    by_number = [name for name, recorded_number in recorded if recorded_number == number]
    by_name = [name for name, _number in recorded if same_name(guardian_name, name)]
    if (
        (by_number and not same_name(guardian_name, by_number[0]))
        or (by_name and not by_number)
        or (len(recorded) >= 2 and not by_number)
    ):
        return _(
            "That is not the name and personal identity number of a guardian in your "
            "records. The guardian writes their own name and number."
        )
    return None


def sole_custody_refusal(patient: Patient) -> str | None:
    """Sole custody is on the signer's word, unless her records name two guardians."""
    if patient.guardians.count() >= 2:
        return _("Your records name two guardians: both sign.")
    return None
