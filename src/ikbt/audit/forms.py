import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from ikbt.accounts.models import User
from ikbt.audit.models import AccessLogEntry
from ikbt.patients.models import Patient
from ikbt.patients.personal_number import PersonalNumberField

MAX_SAMPLE = 500


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user: User) -> str:
        return user.get_full_name() or user.username


class ReviewFilterForm(forms.Form):
    """What a unit administrator narrows the access log to, for follow-up or a sample."""

    staff = StaffChoiceField(
        label=_("Staff member"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("All staff"),
    )
    personal_number = PersonalNumberField(
        label=_("Patient (personal identity number)"), required=False
    )
    action = forms.ChoiceField(
        label=_("Action"),
        choices=[("", _("All actions")), *AccessLogEntry.Action.choices],
        required=False,
    )
    date_from = forms.DateField(
        label=_("From date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    sample = forms.IntegerField(
        label=_("Random sample of"),
        help_text=_("Number of accesses to pick at random for the systematic review."),
        min_value=1,
        max_value=MAX_SAMPLE,
        required=False,
    )

    def __init__(self, *args, staff_queryset, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = staff_queryset

    def clean(self) -> dict:
        cleaned = super().clean()
        date_from: datetime.date | None = cleaned.get("date_from")
        date_to: datetime.date | None = cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned

    def used_filters(self) -> str:
        """Which filters were used, for the log row.

        The patient is named by database id, not by personal number, so the number is not
        copied into free text that every administrator of the unit can read.
        """
        used = []
        for name, value in self.cleaned_data.items():
            if value in (None, ""):
                continue
            if name == "staff":
                value = value.pk
            if name == "personal_number":
                name, value = "patient", _patient_id(value)
            used.append(f"{name}={value}")
        return ", ".join(used) or "no filters"


def _patient_id(personal_number: str) -> str:
    patient_id = (
        Patient.objects.filter(personal_number=personal_number)
        .values_list("pk", flat=True)
        .first()
    )
    return str(patient_id) if patient_id is not None else "no match"
