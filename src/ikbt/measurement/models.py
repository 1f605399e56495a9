import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ikbt.measurement.definitions import Definition, in_language, parse_definition
from ikbt.measurement.scoring import is_critical
from ikbt.organisations.models import CareUnit
from ikbt.patients.models import Patient
from ikbt.programs.models import MeasurementPoint


class Instrument(models.Model):
    """A rating scale (PHQ-9, GAD-7 …). What it asks and how it scores lives in its versions."""

    code = models.CharField(_("code"), max_length=20, unique=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("instrument")
        verbose_name_plural = _("instruments")

    def __str__(self) -> str:
        return self.code


def options_in(part, language: str) -> list[tuple[int, str]]:
    """A rating's choices as (value, text) in ``language``."""
    return [(option.value, in_language(option.text, language)) for option in part.scale.options]


class InstrumentVersion(models.Model):
    """One version of an instrument's definition, frozen once loaded.

    A response stays tied to the version it was answered on, so a later change of wording or
    scoring never changes an old score. ``licensed_text`` holds item text a region has added
    under its own licence (ISI, PDSS-SR, LSAS-SR ship without it).
    """

    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="versions", verbose_name=_("instrument")
    )
    version = models.CharField(_("version"), max_length=30)
    definition = models.JSONField(_("definition"))
    licensed_text = models.JSONField(_("licensed item text"), default=dict, blank=True)
    loaded_at = models.DateTimeField(_("loaded"), default=timezone.now)

    class Meta:
        ordering = ["instrument__code", "-loaded_at"]
        verbose_name = _("instrument version")
        verbose_name_plural = _("instrument versions")
        constraints = [
            models.UniqueConstraint(fields=["instrument", "version"], name="one_row_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.instrument.code} {self.version}"

    @cached_property
    def parsed(self) -> Definition:
        return parse_definition(self.definition, str(self))

    @property
    def has_item_text(self) -> bool:
        return not self.parsed.text_is_licensed or bool(self.licensed_text.get("items"))

    def item_text(self, number: int, language: str) -> str:
        item = self.parsed.items[number - 1]
        if self.parsed.text_is_licensed:
            texts = self.licensed_text.get("items", [])
            text = texts[number - 1] if number <= len(texts) else {}
        else:
            text = item.text
        return in_language(text, language)

    def name_in(self, language: str) -> str:
        """The questionnaire's name in ``language``, Swedish where not translated."""
        return in_language(self.parsed.name, language) or self.parsed.code

    def ratings(self, language: str):
        """Each rating the questionnaire asks for, in order (most items one, some two): its
        item's number, its label and its options as (value, text), in ``language``. A rating
        of an item with two is labelled by the item and the rating ("… – Avoidance"), by the
        rating alone where the item's licensed text is missing."""
        for item in self.parsed.items:
            item_text = self.item_text(item.number, language)
            for part in item.parts:
                label = item_text
                if len(item.parts) > 1:
                    part_text = in_language(part.text, language) or part.key
                    label = " – ".join(filter(None, [item_text, part_text]))
                yield item.number, label, options_in(part, language)


# Questionnaires of low mood and worry whose highest band means she feels bad right now (not
# AUDIT's or ISI's, which say something else).
SUPPORT_IN_HIGHEST_BAND = {"PHQ-9", "MADRS-S", "GAD-7", "SMFQ"}


class ResponseQuerySet(models.QuerySet):
    def askable(self) -> "ResponseQuerySet":
        """Those whose questions can be shown to the patient: not a questionnaire of licensed
        text (ISI, PDSS-SR, LSAS-SR) whose text the region has not added, which she could not
        fill in (once it is added, they can be answered). Kept, not left unasked, so that
        the plan's questionnaires are there when the text comes."""
        return self.exclude(
            Q(instrument_version__definition__licence="licensed-text")
            & ~Q(instrument_version__licensed_text__has_key="items")
        )


class Response(models.Model):
    """A patient's answers to one instrument, from the first answer to submission.

    ``answers`` holds the values as ticked, in item order (``None`` for unanswered), so the
    score can always be computed again from them. ``key`` makes submitting twice store once.
    """

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        SUBMITTED = "submitted", _("Submitted")

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="responses", verbose_name=_("patient")
    )
    instrument_version = models.ForeignKey(
        InstrumentVersion,
        on_delete=models.PROTECT,
        related_name="responses",
        verbose_name=_("instrument version"),
    )
    answers = models.JSONField(_("answers"), default=list)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.IN_PROGRESS
    )
    unit = models.ForeignKey(
        CareUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("unit"),
        help_text=_("The unit that asked for the answers (intake or treatment)."),
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    due_at = models.DateTimeField(
        _("due"), default=timezone.now, help_text=_("Shown to the patient from this time.")
    )
    occasion = models.CharField(_("occasion"), max_length=20, blank=True)
    reminded_at = models.DateTimeField(_("reminder sent"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    filled_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("filled in by staff"),
        help_text=_("Set when a staff member filled in the answers for the patient."),
    )
    total = models.IntegerField(_("total"), null=True, blank=True)
    band_labels = models.JSONField(
        _("severity"),
        default=dict,
        blank=True,
        help_text=_("The severity band's name as scored, by language code."),
    )
    subscales = models.JSONField(_("subscales"), default=dict, blank=True)
    critical = models.BooleanField(_("critical answer"), default=False)

    objects = ResponseQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at", "-started_at"]
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        indexes = [models.Index(fields=["patient", "status", "-submitted_at"])]

    def __str__(self) -> str:
        return f"{self.instrument_version} – {self.patient}"

    def answers_to_read(self, language: str) -> list[dict]:
        """Each rating with the option chosen, and whether its item is a critical answer
        (by the same rule scoring raises a risk flag by)."""
        version = self.instrument_version
        skipped = version.parsed.skipped_items(self.answers)
        rows = []
        for position, (number, label, options) in enumerate(version.ratings(language)):
            value = self.answers[position] if position < len(self.answers) else None
            critical = is_critical(version.parsed, self.answers, number)
            rows.append(
                {
                    "number": number,
                    "text": label,
                    "answer": dict(options).get(value, ""),
                    "value": value,
                    "critical": critical,
                    "acute": critical and number in version.parsed.acute_items,
                    "skipped": number in skipped,  # left out by an earlier answer
                }
            )
        return rows

    @property
    def is_acute(self) -> bool:
        """An answer that calls for an assessment at once (ASQ's question 5: thoughts of
        taking her life right now)."""
        definition = self.instrument_version.parsed
        return any(is_critical(definition, self.answers, n) for n in definition.acute_items)

    @property
    def is_started(self) -> bool:
        return any(answer is not None for answer in self.answers)

    @property
    def is_submitted(self) -> bool:
        return self.status == self.Status.SUBMITTED

    @property
    def severity(self) -> str:
        """The severity band's name in the page's language (Swedish if it has no other), as it
        was when scored."""
        return in_language(self.band_labels, get_language())

    @property
    def calls_for_support(self) -> bool:
        """Whether the total falls in the highest band of a questionnaire of low mood or
        worry: her result says she feels bad now, and the page says where to turn."""
        definition = self.instrument_version.parsed
        return (
            definition.code in SUPPORT_IN_HIGHEST_BAND
            and self.total is not None
            and definition.band_for(self.total) == definition.bands[-1]
        )

    @property
    def name(self) -> str:
        """The questionnaire's name in the page's language, as the patient is asked it."""
        return self.instrument_version.name_in(get_language())

    @property
    def occasion_label(self) -> str:
        """When in the treatment it is asked ("Weekly", "Before start"), or "" if not planned."""
        if self.occasion not in MeasurementPoint.When.values:
            return ""
        return MeasurementPoint.When(self.occasion).label


class RiskFlagQuerySet(models.QuerySet):
    def open(self) -> "RiskFlagQuerySet":
        return self.filter(acknowledged_at__isnull=True)


class RiskFlag(models.Model):
    """A critical answer that a human must see. Stays open until a staff member acknowledges
    it and writes what was done; an open flag older than a working day escalates to the unit's
    administrators."""

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="risk_flags", verbose_name=_("patient")
    )
    response = models.OneToOneField(
        Response, on_delete=models.PROTECT, related_name="risk_flag", verbose_name=_("response")
    )
    unit = models.ForeignKey(
        CareUnit,
        on_delete=models.PROTECT,
        null=True,
        related_name="risk_flags",
        verbose_name=_("unit"),
    )
    raised_at = models.DateTimeField(_("raised"), default=timezone.now)
    notified_at = models.DateTimeField(_("therapists told"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("acknowledged by"),
    )
    action_taken = models.TextField(_("what was done"), blank=True)

    objects = RiskFlagQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_at"]
        verbose_name = _("risk flag")
        verbose_name_plural = _("risk flags")

    def __str__(self) -> str:
        return f"{self.patient} {self.raised_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None

    @property
    def is_acute(self) -> bool:
        """Raised by an answer that calls for an assessment at once (ASQ's question 5)."""
        return self.response.is_acute

    def critical_answers(self, language: str) -> list[dict]:
        """What raised it: each critical question and her answer (``Response.answers_to_read``)."""
        return [row for row in self.response.answers_to_read(language) if row["critical"]]
