"""The patient's own contact details: where the one-time sign-in code and the notices go."""

import re

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ikbt.patients.models import Patient

# Swedish mobile numbers begin 07 (070, 072, 073, 076, 079); written with +46 in place of 0.
SWEDISH_MOBILE = re.compile(r"(?:\+46|0046|0)(7\d{8})")
INTERNATIONAL = re.compile(r"\+[1-9]\d{7,14}")


def normalise_mobile(text: str) -> str:
    """A mobile number as the SMS gateway takes it (+46701234567), from the ways people
    write one: 070-123 45 67, 0701234567, +46 70 123 45 67, 0046701234567; a foreign
    number with its country code as it is. Raises ValidationError for anything else."""
    compact = re.sub(r"[\s\-()/.]", "", text)
    swedish = SWEDISH_MOBILE.fullmatch(compact)
    if swedish:
        return f"+46{swedish.group(1)}"
    if INTERNATIONAL.fullmatch(compact) and not compact.startswith("+46"):
        return compact
    raise ValidationError(
        _("Write a mobile number, for example 070-123 45 67."), code="invalid_mobile"
    )


class MobileNumberField(forms.CharField):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("label", _("Mobile phone"))
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)
        self.widget.attrs.update({"type": "tel", "autocomplete": "tel", "inputmode": "tel"})

    def clean(self, value):
        value = super().clean(value)
        return normalise_mobile(value) if value else value


class ContactForm(forms.ModelForm):
    mobile = MobileNumberField(required=False)

    class Meta:
        model = Patient
        fields = ["mobile", "email", "notify_by_sms", "notify_by_email"]
        labels = {
            "email": _("E-mail"),
            "notify_by_sms": _("By text message"),
            "notify_by_email": _("By e-mail"),
        }
        widgets = {"email": forms.EmailInput(attrs={"autocomplete": "email"})}

    # A channel chosen needs its address.
    CHANNELS = (
        ("notify_by_sms", "mobile", _("Write your mobile number, or untick text messages.")),
        ("notify_by_email", "email", _("Write your e-mail address, or untick e-mail.")),
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        # Without e-identification the sign-in code goes to the mobile, else to the e-mail
        # address: with neither she could never sign in again, nor be reached after a risk
        # answer.
        if (
            not settings.PATIENT_OIDC_ENABLED
            and not cleaned.get("mobile")
            and not cleaned.get("email")
            and not {"mobile", "email"} & set(self.errors)
        ):
            self.add_error(
                "mobile",
                _(
                    "Keep a mobile number or an e-mail address: your sign-in code is sent there, "
                    "and without either you cannot sign in."
                ),
            )
        for channel, address, message in self.CHANNELS:
            if cleaned.get(channel) and not cleaned.get(address) and address not in self.errors:
                self.add_error(address, message)
        return cleaned
