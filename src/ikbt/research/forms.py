from django import forms
from django.utils.translation import gettext_lazy as _

from ikbt.accounts.models import User
from ikbt.intake.eligibility import ADULT_AGE
from ikbt.measurement.models import Instrument
from ikbt.patients.models import Patient
from ikbt.patients.personal_number import PersonalNumberField
from ikbt.programs.models import Program
from ikbt.research.models import STUDY_TIME_POINTS, Study
from ikbt.research.signatures import (
    BOTH_GUARDIANS_AGE,
    guardian_signature_refusal,
    signature_refusal,
    sole_custody_refusal,
)


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user: User) -> str:
        return user.get_full_name() or user.username


class StudyForm(forms.ModelForm):
    """The study's description and randomisation settings (while it is planned)."""

    block_sizes = forms.CharField(
        label=_("Block sizes"),
        initial="2, 4, 6",
        help_text=_("Comma-separated; each a multiple of the sum of the arms' ratios."),
    )
    stratification_factors = forms.CharField(
        label=_("Stratification factors besides the unit"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line: name: choice, choice (e.g. 'sick leave: yes, no')."),
    )

    class Meta:
        model = Study
        fields = [
            "title",
            "region",
            "principal_investigator",
            "ethics_approval_number",
            "ethics_approval_date",
            "information_text",
            "planned_size",
            "min_age",
            "max_age",
            "exclusion_criteria",
            "relative_dates",
            "treatment_weeks",
        ]
        field_classes = {"principal_investigator": StaffChoiceField}
        widgets = {
            "ethics_approval_date": forms.DateInput(attrs={"type": "date"}),
            "information_text": forms.Textarea(attrs={"rows": 8}),
            "exclusion_criteria": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, regions, investigators, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions
        self.fields["principal_investigator"].queryset = investigators
        if self.instance.pk:
            self.initial["block_sizes"] = ", ".join(map(str, self.instance.block_sizes))
            self.initial["stratification_factors"] = "\n".join(
                f"{factor['name']}: {', '.join(factor['choices'])}"
                for factor in self.instance.stratification_factors
            )

    def clean_block_sizes(self) -> list[int]:
        try:
            sizes = [
                int(part) for part in self.cleaned_data["block_sizes"].split(",") if part.strip()
            ]
        except ValueError:
            raise forms.ValidationError(_("Write whole numbers separated by commas.")) from None
        if not sizes or any(size < 2 for size in sizes):
            raise forms.ValidationError(_("Each block size must be at least 2."))
        return sorted(set(sizes))

    def clean_stratification_factors(self) -> list[dict]:
        factors = []
        for line in self.cleaned_data["stratification_factors"].splitlines():
            if not line.strip():
                continue
            name, _sep, choices = line.partition(":")
            values = [choice.strip() for choice in choices.split(",") if choice.strip()]
            if not name.strip() or len(values) < 2:
                raise forms.ValidationError(
                    _("Write each factor as 'name: choice, choice' with at least two choices.")
                )
            factors.append({"name": name.strip(), "choices": values})
        if len({factor["name"] for factor in factors}) != len(factors):
            raise forms.ValidationError(_("Each factor needs its own name."))
        return factors

    def clean(self) -> dict:
        cleaned = super().clean()
        low, high = cleaned.get("min_age"), cleaned.get("max_age")
        if low is not None and high is not None and high < low:
            self.add_error("max_age", _("The highest age is below the lowest."))
        return cleaned

    def study_fields(self) -> dict:
        data = dict(self.cleaned_data)
        return {
            name: data[name]
            for name in [*self.Meta.fields, "block_sizes", "stratification_factors"]
        }


class UnitForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=None)

    def __init__(self, *args, units, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class ArmForm(forms.Form):
    name = forms.CharField(label=_("Name of the arm"), max_length=100)
    program = forms.ModelChoiceField(
        label=_("Program"),
        queryset=Program.objects.order_by("slug"),
        required=False,
        empty_label=_("Waiting list (no program)"),
    )
    ratio = forms.IntegerField(label=_("Allocation ratio"), min_value=1, max_value=9, initial=1)


def instrument_choices() -> list[tuple[str, str]]:
    return [(code, code) for code in Instrument.objects.values_list("code", flat=True)]


class MeasurementForm(forms.Form):
    instrument_code = forms.ChoiceField(label=_("Questionnaire"), choices=instrument_choices)
    when = forms.ChoiceField(label=_("When"), choices=STUDY_TIME_POINTS)
    arm = forms.ModelChoiceField(
        label=_("Arm"), queryset=None, required=False, empty_label=_("Every arm")
    )

    def __init__(self, *args, arms, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["arm"].queryset = arms


class ScreeningForm(forms.Form):
    instrument_code = forms.ChoiceField(label=_("Questionnaire"), choices=instrument_choices)
    min_total = forms.IntegerField(label=_("Lowest total"), required=False)
    max_total = forms.IntegerField(label=_("Highest total"), required=False)

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("min_total") is None and cleaned.get("max_total") is None:
            raise forms.ValidationError(_("Give a lowest or a highest total."))
        return cleaned


class MemberForm(forms.Form):
    user = StaffChoiceField(label=_("Researcher"), queryset=None)

    def __init__(self, *args, researchers, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = researchers


class InclusionForm(forms.Form):
    """Include a patient: the unit, the stratification values and the exclusion criteria."""

    unit = forms.ModelChoiceField(label=_("Unit"), queryset=None, empty_label=None)
    exclusion_checked = forms.BooleanField(
        label=_("I have assessed the patient and none of the exclusion criteria applies."),
        required=False,
    )

    def __init__(self, *args, study: Study, units, **kwargs) -> None:
        super().__init__(*args, prefix=f"study{study.pk}", **kwargs)
        self.study = study
        self.fields["unit"].queryset = units
        for index, factor in enumerate(study.stratification_factors):
            self.fields[f"factor_{index}"] = forms.ChoiceField(
                label=factor["name"], choices=[(value, value) for value in factor["choices"]]
            )
        if study.exclusion_criteria.strip():
            self.fields["exclusion_checked"].required = True
            self.fields["exclusion_checked"].error_messages["required"] = _(
                "Confirm that none of the exclusion criteria applies."
            )
        else:
            del self.fields["exclusion_checked"]

    def strata(self) -> dict[str, str]:
        return {
            factor["name"]: self.cleaned_data[f"factor_{index}"]
            for index, factor in enumerate(self.study.stratification_factors)
        }


class ConsentForm(forms.Form):
    """The patient signs with her name as her records have it; under 18 a guardian signs too,
    and under 15 both guardians, or one with sole custody. A guardian on record signs with
    their own name and number."""

    agree = forms.BooleanField(
        label=_("I have read the information and I agree to take part in the study."),
        error_messages={"required": _("Tick the box to take part.")},
    )
    signed_name = forms.CharField(
        label=_("Your name (signature)"),
        max_length=200,
        error_messages={"required": _("Write your name to sign.")},
    )
    guardian_name = forms.CharField(label=_("Guardian's name"), max_length=200)
    guardian_personal_number = PersonalNumberField(label=_("Guardian's personal identity number"))
    guardian_agree = forms.BooleanField(
        label=_("I am the guardian and I agree that my child takes part."),
        error_messages={"required": _("A guardian must agree for a person under 18.")},
    )
    sole_guardian = forms.BooleanField(
        label=_("I am the child's only guardian (sole custody)."), required=False
    )
    second_guardian_name = forms.CharField(
        label=_("Second guardian's name"), max_length=200, required=False
    )
    second_guardian_personal_number = PersonalNumberField(
        label=_("Second guardian's personal identity number"), required=False
    )
    second_guardian_agree = forms.BooleanField(
        label=_("I am the second guardian and I agree that my child takes part."),
        required=False,
    )
    GUARDIAN_FIELDS = ("guardian_name", "guardian_personal_number", "guardian_agree")
    SECOND_GUARDIAN_FIELDS = (
        "second_guardian_name",
        "second_guardian_personal_number",
        "second_guardian_agree",
    )

    def __init__(self, *args, patient: Patient, age: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.patient = patient
        if age >= ADULT_AGE:
            for name in self.GUARDIAN_FIELDS:
                del self.fields[name]
        if age >= BOTH_GUARDIANS_AGE:
            for name in ("sole_guardian", *self.SECOND_GUARDIAN_FIELDS):
                del self.fields[name]

    @property
    def guardian_fields(self) -> list:
        return [self[name] for name in self.GUARDIAN_FIELDS if name in self.fields]

    @property
    def second_guardian_fields(self) -> list:
        names = ("sole_guardian", *self.SECOND_GUARDIAN_FIELDS)
        return [self[name] for name in names if name in self.fields]

    def clean_signed_name(self) -> str:
        name = self.cleaned_data["signed_name"]
        refusal = signature_refusal(self.patient, name)
        if refusal:
            raise forms.ValidationError(refusal)
        return name

    def clean(self) -> dict:
        data = super().clean()
        if data.get("guardian_name") and data.get("guardian_personal_number"):
            refusal = guardian_signature_refusal(
                self.patient, data["guardian_name"], data["guardian_personal_number"]
            )
            if refusal:
                self.add_error("guardian_name", refusal)
        if "sole_guardian" in self.fields:
            if not data.get("sole_guardian"):
                self._clean_second_guardian(data)
            else:
                refusal = sole_custody_refusal(self.patient)
                if refusal:
                    self.add_error("sole_guardian", refusal)
        return data

    def _clean_second_guardian(self, data: dict) -> None:
        missing = {
            "second_guardian_name": _("Write the second guardian's name."),
            "second_guardian_personal_number": _(
                "Write the second guardian's personal identity number."
            ),
            "second_guardian_agree": _(
                "Under 15 both guardians agree, unless one has sole custody: then tick that box."
            ),
        }
        for name, message in missing.items():
            if not data.get(name) and name not in self.errors:
                self.add_error(name, message)
        name, number = (
            data.get("second_guardian_name"),
            data.get("second_guardian_personal_number"),
        )
        if not (name and number):
            return
        if number == data.get("guardian_personal_number"):
            self.add_error(
                "second_guardian_personal_number",
                _("The second guardian is someone other than the first."),
            )
            return
        refusal = guardian_signature_refusal(self.patient, name, number)
        if refusal:
            self.add_error("second_guardian_name", refusal)


class WithdrawalForm(forms.Form):
    keep_data = forms.TypedChoiceField(
        label=_("What may happen to what you have already answered?"),
        choices=[
            ("yes", _("The researchers may keep and use what I answered before I left.")),
            ("no", _("Remove what I answered from the study's data.")),
        ],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose whether the researchers may keep what you answered before.")
        },
    )
