"""The forms of the therapist's treatment record and of the therapist's own reply templates.

A form that does not validate is shown again with what was typed and the reason beside the
field; nothing the therapist wrote is lost to a redirect."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ikbt.organisations.forms import TherapistChoiceField
from ikbt.treatment.models import EndReason, ReplyTemplate, TimeEntry


class FeedbackForm(forms.Form):
    """Feedback on one module's homework; the module is a hidden field of each module's form."""

    module = forms.ChoiceField(
        widget=forms.HiddenInput,
        error_messages={
            "required": _("There is no such module in this program."),
            "invalid_choice": _("There is no such module in this program."),
        },
    )
    feedback = forms.CharField(
        label=_("Feedback"),
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Write the feedback before you send it.")},
    )

    def __init__(self, *args, modules, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["module"].choices = [(module.key, module.title) for module in modules]


class NoteForm(forms.Form):
    note = forms.CharField(
        label=_("New note"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write the note before you save it.")},
    )


MINUTES_MESSAGE = _("Write the minutes as a whole number from 1 to 600.")


class TimeEntryForm(forms.Form):
    minutes = forms.IntegerField(
        label=_("Minutes"),
        min_value=1,
        max_value=600,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "required": MINUTES_MESSAGE,
            "invalid": MINUTES_MESSAGE,
            "min_value": MINUTES_MESSAGE,
            "max_value": MINUTES_MESSAGE,
        },
    )
    what = forms.CharField(
        label=_("On what"), max_length=TimeEntry._meta.get_field("what").max_length, required=False
    )


class EndForm(forms.Form):
    # No reason is chosen beforehand: ending a treatment is a decision, not a default.
    reason = forms.ChoiceField(
        label=_("End the treatment"),
        choices=[("", _("How did it end?")), *EndReason.choices],
        error_messages={
            "required": _("Say how the treatment ended."),
            "invalid_choice": _("Say how the treatment ended."),
        },
    )
    end_note = forms.CharField(
        label=_("Reason or comment"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class ReplyTemplateForm(forms.ModelForm):
    class Meta:
        model = ReplyTemplate
        fields = ["title", "text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 4})}
        error_messages = {
            "title": {"required": _("Give the template a title.")},
            "text": {"required": _("Write the template's text.")},
        }


def _named_with_units(colleague) -> str:
    """A colleague who can cover, with the units she is a therapist at (``therapist_at``)."""
    units = ", ".join(membership.unit.name for membership in colleague.therapist_at)
    return f"{colleague.get_full_name()} ({units})" if units else colleague.get_full_name()


class AbsenceForm(forms.Form):
    starts_on = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = forms.DateField(
        label=_("To and including"), widget=forms.DateInput(attrs={"type": "date"})
    )
    cover = forms.ModelChoiceField(
        label=_("Covered by"),
        queryset=None,
        required=False,
        empty_label=_("The unit's administrators"),
    )

    staff = TherapistChoiceField(
        label=_("Who is away"), queryset=None, required=False, empty_label=_("I am")
    )

    field_order = ["staff", "starts_on", "ends_on", "cover"]

    def __init__(self, *args, colleagues, absentees=None, **kwargs) -> None:
        """``absentees``: the therapists a unit administrator may mark away (else only
        oneself)."""
        super().__init__(*args, **kwargs)
        self.fields["cover"].queryset = colleagues
        self.fields["cover"].label_from_instance = _named_with_units
        if absentees is None:
            del self.fields["staff"]
        else:
            self.fields["staff"].queryset = absentees
