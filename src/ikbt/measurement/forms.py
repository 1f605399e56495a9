from django import forms
from django.utils.translation import gettext_lazy as _

from ikbt.measurement.models import Instrument, InstrumentVersion


class QuestionnaireForm(forms.Form):
    """One radio group per rating, labelled with the item's text, in item order.

    Bound with ``complete=False`` it accepts a half-answered form (saving as the patient goes);
    with ``complete=True`` every item must be answered, with the message next to the item.
    """

    def __init__(
        self, version: InstrumentVersion, language: str, *args, complete: bool, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.version = version
        for position, (number, label, options) in enumerate(version.ratings(language)):
            self.fields[f"answer_{position}"] = forms.TypedChoiceField(
                label=label,
                choices=options,
                coerce=int,
                empty_value=None,
                widget=forms.RadioSelect,
                required=complete,
                error_messages={"required": _("Choose one answer to this question.")},
            )
            self.fields[f"answer_{position}"].item_number = number

    @property
    def unanswered(self) -> list[dict]:
        """The questions sent back without an answer, for the list at the top of the page:
        each one's place on the page and its number (a form-wide error is not one of them)."""
        return [
            {"position": position, "number": self.fields[name].item_number}
            for position, name in enumerate(self.fields, start=1)
            if name in self.errors
        ]

    @classmethod
    def initial_from(cls, answers: list) -> dict:
        return {f"answer_{index}": value for index, value in enumerate(answers)}

    def answers(self) -> list[int | None]:
        return [self.cleaned_data.get(name) for name in self.fields]


class AcknowledgeRiskFlagForm(forms.Form):
    action_taken = forms.CharField(
        label=_("What was done"),
        help_text=_("For example: called the patient, assessed the suicide risk, made a plan."),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
    )


class ChooseInstrumentForm(forms.Form):
    instrument = forms.ModelChoiceField(
        label=_("Questionnaire"), queryset=Instrument.objects.all(), empty_label=None
    )
