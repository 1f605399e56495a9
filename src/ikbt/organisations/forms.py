import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ikbt.accounts.models import User
from ikbt.organisations.models import CareUnit

# The program's training was not looked up (``with_training`` gives a date or None).
NOT_LOOKED_UP = object()


def therapist_label(user: User, trained_on=NOT_LOOKED_UP) -> str:
    """Name and profession, and where no introduction to the program is recorded
    (``trained_on`` None, from ``ikbt.organisations.access.with_training``), that."""
    label = f"{user.get_full_name()}, {user.get_profession_display()}"
    if trained_on is None:
        label += " – " + gettext("no introduction to the program recorded")
    return label


def untrained_note(therapists) -> str:
    """Under a choice of responsible therapist: whom no introduction to the program is
    recorded for (a phone cuts the end off a long choice), or nothing."""
    names = sorted({therapist.get_full_name() for therapist in therapists})
    if not names:
        return ""
    return gettext("No introduction to the program is recorded for: %(names)s.") % {
        "names": ", ".join(names)
    }


class TherapistChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user: User) -> str:
        return therapist_label(user, getattr(user, "trained_on", NOT_LOOKED_UP))


class UnitContactForm(forms.ModelForm):
    class Meta:
        model = CareUnit
        fields = ["phone", "phone_hours", "visiting_address"]
        labels = {
            "phone": _("Phone for patients"),
            "phone_hours": _("Telephone hours"),
            "visiting_address": _("Visiting address"),
        }


class UnitReplyTimeForm(forms.ModelForm):
    class Meta:
        model = CareUnit
        fields = ["reply_within_days"]

    reply_within_days = forms.IntegerField(
        label=_("Answer messages within (working days)"),
        help_text=_("A patient's message or hand-in waiting longer is overdue and escalates."),
        min_value=1,
        max_value=20,
    )


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


class TrainingForm(forms.Form):
    """A course a therapist of the unit has completed: the course in therapist-guided internet
    CBT, or the introduction to a program the unit offers."""

    staff = TherapistChoiceField(label=_("Therapist"), queryset=None)
    course = forms.TypedChoiceField(
        label=_("Course"), coerce=int, empty_value=None, required=False
    )
    # Internet CBT courses for therapists began in the 2000s; an earlier year is a slip.
    FIRST_DAY = datetime.date(2000, 1, 1)
    completed_on = forms.DateField(
        label=_("Completed on"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, therapists, programs: list[tuple[int, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["staff"].queryset = therapists
        self.fields["course"].choices = [
            ("", _("Therapist-guided internet CBT (the region's course)")),
            *(
                (pk, _("Introduction to %(program)s") % {"program": title})
                for pk, title in programs
            ),
        ]

    def clean_completed_on(self):
        day = self.cleaned_data["completed_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(
                _("Write the day the course was completed, not a later one.")
            )
        if day < self.FIRST_DAY:
            raise forms.ValidationError(_("Write a day from the year 2000 on."))
        return day


class StaffAddForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail at work"),
        max_length=150,  # it becomes the user name of someone new
        help_text=_("A colleague who has an account already is found by it."),
    )
    role = forms.ChoiceField(label=_("Role at the unit"))
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    profession = forms.ChoiceField(
        label=_("Profession"),
        choices=[("", "---------"), *User.Profession.choices],
        required=False,
        help_text=_("Name and profession are needed only for someone new to Open iKBT."),
    )

    def __init__(self, *args, roles, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(role.value, role.label) for role in roles]


class UnitDetailsForm(forms.ModelForm):
    """What the region's administrators say a unit is: its name, type and HSA-id."""

    class Meta:
        model = CareUnit
        fields = ["name", "kind", "hsa_id"]
        help_texts = {"hsa_id": _("For example SE2321000032-VC0001. It can be added later.")}

    def clean_hsa_id(self) -> str:
        """In capitals, however it was typed, as the HSA catalogue writes them."""
        return self.cleaned_data["hsa_id"].strip().upper()

    def clean_name(self) -> str:
        """A unit renamed keeps a name of its own in its region. (The region is not a field
        here, so the form does not check the model's constraint on the two; a unit being
        added has its region chosen, and the constraint is checked.)"""
        name = self.cleaned_data["name"].strip()
        if self.instance.pk and (
            CareUnit.objects.filter(region_id=self.instance.region_id, name__iexact=name)
            .exclude(pk=self.instance.pk)
            .exists()
        ):
            raise forms.ValidationError(_("The region has a unit of this name already."))
        return name


class UnitForm(UnitDetailsForm):
    """A new unit of one of the regions the person administers."""

    class Meta(UnitDetailsForm.Meta):
        fields = ["region", "name", "kind", "hsa_id"]

    def __init__(self, *args, regions, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions
        self.fields["region"].empty_label = None


class StaffEmailForm(forms.Form):
    """A colleague's new e-mail address at work; one per row of the staff table."""

    id = forms.IntegerField(widget=forms.HiddenInput)
    email = forms.EmailField(label=_("E-mail at work"), max_length=150)

    def __init__(self, *args, person_id: int | None, **kwargs) -> None:
        # Each row's form has ids of its own: one page holds a form for each colleague.
        super().__init__(*args, auto_id=f"id_person_{person_id}_%s", **kwargs)
        self.person_id = person_id
