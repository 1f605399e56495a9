from django import forms
from django.utils.translation import gettext_lazy as _

from ikbt.accounts.models import User
from ikbt.organisations.models import CareUnit


def therapist_label(user: User) -> str:
    return f"{user.get_full_name()} ({user.get_profession_display()})"


class TherapistChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user: User) -> str:
        return therapist_label(user)


class UnitContactForm(forms.ModelForm):
    class Meta:
        model = CareUnit
        fields = ["phone", "phone_hours", "visiting_address"]
        labels = {
            "phone": _("Phone for patients"),
            "phone_hours": _("Telephone hours"),
            "visiting_address": _("Visiting address"),
        }


class SupervisionForm(forms.Form):
    supervisee = TherapistChoiceField(label=_("Supervised therapist"), queryset=None)
    supervisor = TherapistChoiceField(label=_("Supervisor"), queryset=None)
    review_messages = forms.BooleanField(
        label=_("The supervisor reads the therapist's messages before they are sent"),
        required=False,
        help_text=_("For a psychologist in training (PTP) or a new internet therapist."),
    )

    def __init__(self, *args, therapists, supervisors, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["supervisee"].queryset = therapists
        self.fields["supervisor"].queryset = supervisors
