from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from ikbt.intake.models import SLOT_MOST_MINUTES, Offering, Slot
from ikbt.organisations.access import with_training
from ikbt.organisations.forms import TherapistChoiceField, therapist_label, untrained_note
from ikbt.organisations.models import PHONE_NUMBER
from ikbt.patients.forms import MobileNumberField
from ikbt.patients.personal_number import PersonalNumberField, age_on
from ikbt.programs.models import program_titles

YES_NO = [("no", _("No")), ("yes", _("Yes"))]


class RegistrationForm(forms.Form):
    """The intake questions and the consents the unit asks for."""

    situation = forms.CharField(
        label=_("What would you like help with, and how does it affect your everyday life?"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=3000,
    )
    previous_treatment = forms.CharField(
        label=_("Have you had psychological treatment before? What kind, and when?"),
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        required=False,
    )
    medication = forms.CharField(
        label=_("Do you take any medication for mental health? Which?"),
        max_length=500,
        required=False,
    )
    substance_use = forms.ChoiceField(
        label=_("Do you use alcohol or drugs in a way that worries you or others?"),
        choices=YES_NO,
        widget=forms.RadioSelect,
    )
    psychiatry_contact = forms.ChoiceField(
        label=_("Are you in contact with psychiatric care now?"),
        choices=YES_NO,
        widget=forms.RadioSelect,
    )
    listed_here = forms.BooleanField(label=_("I am listed at this unit."), required=False)
    lives_here = forms.BooleanField(required=False)
    mobile = MobileNumberField(
        help_text=_(
            "Your sign-in code comes here, and a text when something is waiting for you (never "
            "what it is)."
        ),
        error_messages={"required": _("Write your mobile number, so that we can reach you.")},
    )
    email = forms.EmailField(label=_("E-mail"), required=False)
    consent_treatment = forms.BooleanField(
        label=_("I want treatment at the unit, and I consent to it."),
        help_text=_(
            "Like all health care, the treatment is written down in your medical record, as "
            "the law requires (Patientdatalagen); that does not depend on your consent."
        ),
        error_messages={"required": _("Treatment needs your consent.")},
    )
    register_opt_out = forms.BooleanField(
        label=_("I do not want my treatment reported to the national quality register (SibeR)."),
        required=False,
    )
    guardian_name = forms.CharField(label=_("Guardian's name"), max_length=200, required=False)
    guardian_personal_number = PersonalNumberField(
        label=_("Guardian's personal identity number"), required=False
    )
    guardian_phone = forms.CharField(
        label=_("Guardian's phone"),
        help_text=_("The unit calls your guardian to confirm the consent."),
        max_length=30,
        required=False,
        validators=[PHONE_NUMBER],
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "inputmode": "tel"}),
    )
    guardian_consent = forms.BooleanField(
        label=_("My guardian knows about this registration and consents to the treatment."),
        help_text=_("The unit confirms it with your guardian before the treatment starts."),
        required=False,
    )

    ANSWER_FIELDS = (
        "situation",
        "previous_treatment",
        "medication",
        "substance_use",
        "psychiatry_contact",
    )

    def __init__(
        self,
        *args,
        offering: Offering,
        youth: bool,
        home_known: bool = True,
        own_number: str = "",
        **kwargs,
    ) -> None:
        """``own_number``: the young person's own personal identity number, which is not her
        guardian's."""
        super().__init__(*args, **kwargs)
        self.youth = youth
        self.own_number = own_number
        if offering.intake != Offering.Intake.LISTED:
            del self.fields["listed_here"]
        if offering.intake == Offering.Intake.RESIDENTS and not home_known:
            self.fields["lives_here"].label = _(
                "I live in %(region)s (I am registered as resident there)."
            ) % {"region": offering.unit.region.name}
        else:
            del self.fields["lives_here"]
        if not youth:
            for name in (
                "guardian_name",
                "guardian_personal_number",
                "guardian_phone",
                "guardian_consent",
            ):
                del self.fields[name]

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.youth:
            for name, message in (
                ("guardian_name", _("Write your guardian's name.")),
                ("guardian_personal_number", _("Write your guardian's personal identity number.")),
                ("guardian_phone", _("Write the phone number of your guardian.")),
                ("guardian_consent", _("A guardian must give their consent for a young person.")),
            ):
                if not cleaned.get(name) and name not in self.errors:
                    self.add_error(name, message)
            number = cleaned.get("guardian_personal_number")
            if number and number == self.own_number:
                self.add_error(
                    "guardian_personal_number",
                    _("This is your own number. Write your guardian's."),
                )
            elif number and age_on(number, timezone.localdate()) < 18:
                self.add_error(
                    "guardian_personal_number",
                    _("A guardian is an adult: check the number."),
                )
        return cleaned

    def answers(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.ANSWER_FIELDS}


class LocalTimeField(forms.DateTimeField):
    """A time on Stockholm's clocks; an hour they skip or pass twice (summer time begins or
    ends) is refused in plain words, not Django's technical ones."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError as error:
            if error.code != "ambiguous_timezone":
                raise
            raise ValidationError(
                _("The clocks change at that hour (summer time): choose another time."),
                code="ambiguous_timezone",
            ) from None


class SlotForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=None, empty_label=None)
    starts_at = LocalTimeField(
        label=_("Starts"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    minutes = forms.IntegerField(
        label=_("Length in minutes"), min_value=15, max_value=SLOT_MOST_MINUTES, initial=45
    )
    mode = forms.ChoiceField(label=_("How"), choices=Slot.Mode.choices)
    video_link = forms.URLField(label=_("Video link"), required=False, assume_scheme="https")

    def __init__(self, *args, units, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class GuardianConsentForm(forms.Form):
    note = forms.CharField(
        label=_("How and with whom the consent was confirmed"),
        help_text=_("For example: by phone with both guardians."),
        max_length=500,
        error_messages={"required": _("Write how and with whom it was confirmed.")},
    )


class AcceptForm(forms.Form):
    therapist = TherapistChoiceField(
        label=_("Responsible therapist"), queryset=None, empty_label=None
    )
    start_date = forms.DateField(
        label=_("Start date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    problem = forms.CharField(
        label=_("The problem as assessed"), widget=forms.Textarea(attrs={"rows": 3})
    )
    risk = forms.CharField(
        label=_("Suicide risk and other risks"), widget=forms.Textarea(attrs={"rows": 2})
    )
    suitability = forms.CharField(
        label=_("Why internet treatment suits"), widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, therapists, program_id: int | None = None, **kwargs) -> None:
        """With ``program_id``, the choice says who has no introduction to the program
        recorded (``with_training``)."""
        super().__init__(*args, **kwargs)
        if program_id is not None:
            therapists = with_training(therapists, program_id)
            self.fields["therapist"].help_text = untrained_note(
                therapist for therapist in therapists if therapist.trained_on is None
            )
        self.fields["therapist"].queryset = therapists

    def note(self) -> dict:
        return {name: self.cleaned_data[name] for name in ("problem", "risk", "suitability")}


class DeclineForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("not_suitable", _("Not suitable: refer elsewhere")),
            ("no_show", _("Did not come")),
        ],
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))
    referred_to = forms.CharField(label=_("Referred to"), max_length=200, required=False)

    def __init__(self, *args, booked: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not booked:  # nobody can miss an assessment that was never booked
            self.fields["decision"].choices = [
                choice for choice in self.fields["decision"].choices if choice[0] != "no_show"
            ]

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("decision") == "not_suitable" and not cleaned.get("referred_to"):
            self.add_error("referred_to", _("Say where the patient was referred."))
        return cleaned


class UnitOfOfferingField(forms.ModelChoiceField):
    """Offerings of one program, known by their units."""

    def label_from_instance(self, obj) -> str:
        return obj.unit.name


class TransferForm(forms.Form):
    """Move a registration to the same program at another unit of the region."""

    offering = UnitOfOfferingField(label=_("Move to"), queryset=None, empty_label=None)

    def __init__(self, *args, offerings, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["offering"].queryset = offerings


class TreatmentTransferForm(forms.Form):
    """The new unit and responsible therapist in one choice: the region's therapists listed
    under their units, so a therapist can only be chosen at a unit she works at."""

    placement = forms.ChoiceField(label=_("Unit and responsible therapist"))

    def __init__(self, *args, memberships, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.placements = {
            f"{membership.unit_id}:{membership.user_id}": membership for membership in memberships
        }
        units: dict[int, tuple[str, list]] = {}
        for key, membership in self.placements.items():
            units.setdefault(membership.unit_id, (membership.unit.name, []))[1].append(
                (key, therapist_label(membership.user, membership.trained_on))
            )
        choices = list(units.values())
        self.fields["placement"].help_text = untrained_note(
            membership.user
            for membership in self.placements.values()
            if membership.trained_on is None
        )
        # No present placement to keep (no responsible therapist, or she has left the unit):
        # nothing is chosen until the administrator chooses.
        if self.initial.get("placement") not in self.placements:
            choices.insert(0, ("", _("Choose…")))
        self.fields["placement"].choices = choices

    def clean_placement(self):
        key = self.cleaned_data["placement"]
        if key == self.initial.get("placement"):
            raise forms.ValidationError(
                _("The treatment is there already. Choose another unit or therapist.")
            )
        membership = self.placements[key]
        return membership.unit, membership.user


def _waiting_limit_field() -> forms.IntegerField:
    """The longest acceptable wait: a day to a year."""
    field = Offering._meta.get_field("waiting_limit_days")
    return forms.IntegerField(
        label=capfirst(field.verbose_name), help_text=field.help_text, min_value=1, max_value=365
    )


class OfferingForm(forms.ModelForm):
    """How a unit offers a program: who may register, whether it is open, the longest wait."""

    class Meta:
        model = Offering
        fields = ["intake", "is_open", "waiting_limit_days"]

    waiting_limit_days = _waiting_limit_field()


class OfferingAddForm(forms.ModelForm):
    class Meta:
        model = Offering
        fields = ["program", "intake", "waiting_limit_days"]

    waiting_limit_days = _waiting_limit_field()

    def __init__(self, *args, programs, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = programs
        titles = program_titles(programs)
        self.fields["program"].label_from_instance = lambda program: titles[program.pk]
        self.has_programs = bool(titles)  # read from the titles' query, not asked again
