import zipfile

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from ikbt.measurement.models import Instrument
from ikbt.programs.blocks import KINDS
from ikbt.programs.models import (
    Condition,
    MeasurementPoint,
    Module,
    Page,
    ProgramVersion,
    TargetGroup,
)
from ikbt.programs.worksheets import FIELD_KINDS

KEY_FIELD = {
    "max_length": 60,
    "help_text": _("Lower-case letters, digits and hyphens."),
    "error_messages": {
        "invalid": _("Use only letters, digits and hyphens, without spaces, like sleep-diary.")
    },
}
# What an author chooses from, in words; the page source keeps the keywords (::: image …).
BLOCK_NAMES = {
    "image": _("Image"),
    "audio": _("Audio"),
    "video": _("Video"),
    "worksheet": _("Worksheet"),
    "quiz": _("Quiz"),
    "questionnaire": _("Questionnaire"),
}
FIELD_KIND_NAMES = {
    "text": _("Text"),
    "scale": _("Scale"),
    "list": _("List of lines"),
    "table": _("Table"),
}


def read_only_once_published(form: forms.BaseForm, version: ProgramVersion) -> forms.BaseForm:
    """A published version never changes: its forms show what it says, not fields to type in."""
    if version.is_published:
        for field in form.fields.values():
            field.disabled = True
    return form


class ProgramCreateForm(forms.Form):
    slug = forms.SlugField(label=_("Short name"), **KEY_FIELD)
    title_sv = forms.CharField(label=_("Title (Swedish)"), max_length=200)
    condition = forms.ChoiceField(label=_("Condition"), choices=Condition.choices)
    target_group = forms.ChoiceField(label=_("Target group"), choices=TargetGroup.choices)


def _primary_choices() -> list[tuple[str, str]]:
    """The questionnaires there are, as the publish check knows them."""
    codes = Instrument.objects.values_list("code", flat=True)
    return [("", _("None chosen")), *((code, code) for code in codes)]


class VersionForm(forms.ModelForm):
    # Chosen among the questionnaires there are, so no unknown code is saved.
    primary_instrument = forms.ChoiceField(
        label=capfirst(ProgramVersion._meta.get_field("primary_instrument").verbose_name),
        help_text=ProgramVersion._meta.get_field("primary_instrument").help_text,
        choices=_primary_choices,
        required=False,
    )

    class Meta:
        model = ProgramVersion
        fields = [
            "title_sv",
            "title_en",
            "description",
            "planned_weeks",
            "primary_instrument",
            "safe_to_move_from_previous",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}


class ModuleForm(forms.ModelForm):
    class Meta:
        model = Module
        fields = ["title", "unlock", "unlock_week", "homework", "therapist_guide"]
        widgets = {
            "homework": forms.Textarea(attrs={"rows": 3}),
            "therapist_guide": forms.Textarea(attrs={"rows": 3}),
        }

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("unlock") == Module.Unlock.ON_WEEK and not cleaned.get("unlock_week"):
            self.add_error("unlock_week", _("Say which week the module opens."))
        return cleaned


class NewModuleForm(forms.Form):
    key = forms.SlugField(label=_("Key"), **KEY_FIELD)
    title = forms.CharField(label=_("Title"), max_length=200)


class PageForm(forms.ModelForm):
    class Meta:
        model = Page
        fields = ["title", "source"]
        widgets = {"source": forms.Textarea(attrs={"rows": 18, "class": "source"})}
        help_texts = {
            "source": _(
                "Markdown. Put a block on a line of its own: ::: image file.png | description, "
                "::: audio file.mp3 | transcript.txt, ::: video file.mp4 | transcript.txt, "
                "::: worksheet key, ::: quiz key, ::: questionnaire CODE."
            )
        }


class InsertBlockForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Block"), choices=[(kind, BLOCK_NAMES[kind]) for kind in KINDS]
    )
    argument = forms.CharField(label=_("File, key or questionnaire code"), max_length=120)
    extra = forms.CharField(
        label=_("Description (image) or transcript file (audio, video)"),
        max_length=300,
        required=False,
    )

    def added_to(self, source: str) -> str:
        """``source`` with the block's line at its end, a paragraph of its own."""
        data = self.cleaned_data
        extra = f" | {data['extra']}" if data.get("extra") else ""
        return f"{source.rstrip()}\n\n::: {data['kind']} {data['argument']}{extra}\n".lstrip()


class NewKeyForm(forms.Form):
    key = forms.SlugField(label=_("Key"), **KEY_FIELD)
    title = forms.CharField(label=_("Title"), max_length=200)


class WorksheetForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    instructions = forms.CharField(
        label=_("Instructions"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )


class WorksheetFieldForm(forms.Form):
    # The patient's answers are kept by it, as by a module's or a worksheet's key.
    key = forms.SlugField(label=_("Key"), **KEY_FIELD)
    label = forms.CharField(label=_("Question"), max_length=300)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[(kind, FIELD_KIND_NAMES[kind]) for kind in FIELD_KINDS]
    )
    columns = forms.CharField(
        label=_("Columns (table), comma-separated"), max_length=500, required=False
    )
    min = forms.IntegerField(label=_("Lowest (scale)"), required=False)
    max = forms.IntegerField(label=_("Highest (scale)"), required=False)
    min_label = forms.CharField(label=_("Label at the lowest"), max_length=100, required=False)
    max_label = forms.CharField(label=_("Label at the highest"), max_length=100, required=False)

    def has_changed(self) -> bool:
        """A row with neither key nor question is blank, whatever kind it shows (the browser
        sends the first), and a blank extra row is skipped, not refused."""
        written = any(self[name].value() for name in ("key", "label"))
        return written and super().has_changed()

    def clean(self) -> dict:
        """A table names its columns, and a scale goes up (an empty end is 0 or 10)."""
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == "table" and not self._columns(cleaned.get("columns", "")):
            self.add_error(
                "columns", _("A table needs columns: write their names, separated by commas.")
            )
        if kind == "scale" and "min" in cleaned and "max" in cleaned:
            low = 0 if cleaned["min"] is None else cleaned["min"]
            high = 10 if cleaned["max"] is None else cleaned["max"]
            if low >= high:
                self.add_error("max", _("The highest must be above the lowest."))
        return cleaned

    @staticmethod
    def _columns(text: str) -> list[str]:
        return [column.strip() for column in text.split(",") if column.strip()]

    def as_field(self) -> dict:
        data = self.cleaned_data
        field = {"key": data["key"], "label": data["label"], "kind": data["kind"]}
        if data["kind"] == "table":
            field["columns"] = self._columns(data["columns"])
        if data["kind"] == "scale":
            field |= {
                "min": data["min"] if data["min"] is not None else 0,
                "max": data["max"] if data["max"] is not None else 10,
                "min_label": data["min_label"],
                "max_label": data["max_label"],
            }
        return field

    @classmethod
    def initial_for(cls, field: dict) -> dict:
        return {**field, "columns": ", ".join(field.get("columns", []))}


class BaseWorksheetFieldFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        """Each field has a key of its own: the patient's answers are kept by it."""
        kept = [
            form
            for form in self.forms
            if form.cleaned_data.get("key") and not form.cleaned_data.get("DELETE")
        ]
        keys = [form.cleaned_data["key"] for form in kept]
        for form in kept:
            if keys.count(form.cleaned_data["key"]) > 1:
                form.add_error("key", _("Another field has this key: give each its own."))


WorksheetFieldFormSet = forms.formset_factory(
    WorksheetFieldForm, formset=BaseWorksheetFieldFormSet, extra=2, can_delete=True
)


class QuizQuestionForm(forms.Form):
    text = forms.CharField(label=_("Question"), max_length=300)
    options = forms.CharField(
        label=_("Options, one per line"), widget=forms.Textarea(attrs={"rows": 3})
    )
    correct = forms.IntegerField(label=_("Number of the right option"), min_value=1)
    explanation = forms.CharField(label=_("Explanation"), max_length=500, required=False)

    def clean(self) -> dict:
        cleaned = super().clean()
        options = [
            line.strip() for line in cleaned.get("options", "").splitlines() if line.strip()
        ]
        if len(options) < 2:
            self.add_error("options", _("Give at least two options."))
        elif cleaned.get("correct") and cleaned["correct"] > len(options):
            self.add_error("correct", _("There is no option with that number."))
        cleaned["option_list"] = options
        return cleaned

    def as_question(self) -> dict:
        data = self.cleaned_data
        return {
            "text": data["text"],
            "options": data["option_list"],
            "correct": data["correct"] - 1,
            "explanation": data["explanation"],
        }

    @classmethod
    def initial_for(cls, question: dict) -> dict:
        return {
            "text": question.get("text", ""),
            "options": "\n".join(question.get("options", [])),
            "correct": int(question.get("correct", 0)) + 1,
            "explanation": question.get("explanation", ""),
        }


QuizQuestionFormSet = forms.formset_factory(QuizQuestionForm, extra=1, can_delete=True)


class PackageUploadForm(forms.Form):
    package = forms.FileField(
        label=_("Program package (zip)"),
        help_text=_(
            "A package downloaded from a version's page, or written by hand: it becomes a new "
            "draft of your region's program with its short name, or a new program."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )

    def clean_package(self):
        package = self.cleaned_data["package"]
        if not zipfile.is_zipfile(package):
            raise forms.ValidationError(_("That is not a zip file. Choose the package's .zip."))
        package.seek(0)
        return package


class MediaUploadForm(forms.Form):
    file = forms.FileField(label=_("File (image, audio, video or transcript .txt)"))


class ForkForm(forms.Form):
    slug = forms.SlugField(label=_("Short name of your variant"), **KEY_FIELD)


WHEN_CHOICES = MeasurementPoint.When.choices
