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
        # Questions an earlier answer leaves out (AUDIT's 2-8 for someone who never drinks)
        # say so, need no answer, and what is ticked there is not sent in.
        definition = version.parsed
        names = list(self.fields)
        for field in self.fields.values():
            item = definition.items[field.item_number - 1]
            field.skip_if = field.skip_values = ""
            if item.skip_when is not None:
                earlier, values = item.skip_when
                field.skip_if = names[definition.first_position(earlier)]
                field.skip_values = " ".join(str(value) for value in sorted(values))
                options = dict(self.fields[field.skip_if].choices)
                field.help_text = _(
                    "Only if you did not answer “%(answer)s” to question %(number)s."
                ) % {
                    "answer": " / ".join(str(options[value]) for value in sorted(values)),
                    "number": earlier,
                }
        self.complete = complete
        self.skipped = definition.skipped_items(self._answers_sent()) if self.is_bound else set()
        for field in self.fields.values():
            if field.item_number in self.skipped:
                field.required = False

    def _answers_sent(self) -> list[int | None]:
        sent = []
        for name in self.fields:
            value = str(self.data.get(self.add_prefix(name), ""))
            sent.append(int(value) if value.isdigit() else None)
        return sent

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
        """The answers; sent in complete, none to a question left out (while answering they
        are kept, should she change the answer that leaves it out)."""
        return [
            None
            if self.complete and field.item_number in self.skipped
            else self.cleaned_data.get(name)
            for name, field in self.fields.items()
        ]


class AcknowledgeRiskFlagForm(forms.Form):
    action_taken = forms.CharField(
        label=_("What was done"),
        help_text=_("For example: called the patient, assessed the suicide risk, made a plan."),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        error_messages={"required": _("Write what was done before you acknowledge the flag.")},
    )


class ChooseInstrumentForm(forms.Form):
    instrument = forms.ModelChoiceField(
        label=_("Questionnaire"), queryset=Instrument.objects.all(), empty_label=None
    )
