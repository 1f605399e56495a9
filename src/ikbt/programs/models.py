from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ikbt.organisations.models import Region

# The longest planned treatment (the seeds' programs run 8 to 14 weeks).
MOST_WEEKS = 52

KEY_HELP = _("Lower-case letters, digits and hyphens; stays the same across versions.")


class Condition(models.TextChoices):
    DEPRESSION = "depression", _("Depression")
    PANIC = "panic", _("Panic disorder")
    SOCIAL_ANXIETY = "social_anxiety", _("Social anxiety")
    WORRY = "worry", _("Worry (generalised anxiety)")
    ANXIETY = "anxiety", _("Anxiety in general")
    STRESS = "stress", _("Stress")
    INSOMNIA = "insomnia", _("Insomnia")
    EXHAUSTION = "exhaustion", _("Exhaustion disorder")
    YOUTH_ANXIETY = "youth_anxiety", _("Anxiety and worry in young people")


class TargetGroup(models.TextChoices):
    ADULTS = "adults", _("Adults 18+")
    YOUTH = "youth", _("Young people 12–18")


class Program(models.Model):
    """A treatment program: what the patient reads, does and answers, week by week.

    The content lives in its versions; a published version never changes. A program owned by
    one region can be shared with the others, who adopt it as it is or fork it.
    """

    slug = models.SlugField(_("short name"), max_length=60, unique=True)
    owner_region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="programs", verbose_name=_("owner region")
    )
    condition = models.CharField(_("condition"), max_length=30, choices=Condition.choices)
    target_group = models.CharField(
        _("target group"), max_length=10, choices=TargetGroup.choices, default=TargetGroup.ADULTS
    )
    licence = models.CharField(
        _("licence for sharing"),
        max_length=100,
        default="CC BY-SA 4.0",
        help_text=_("The licence other regions may use the content under, e.g. CC BY-SA 4.0."),
    )
    shared = models.BooleanField(
        _("shared with other regions"),
        default=False,
        help_text=_("Other regions can see, adopt and fork the published versions."),
    )
    forked_from = models.ForeignKey(
        "ProgramVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="forks",
        verbose_name=_("forked from"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["slug"]
        verbose_name = _("program")
        verbose_name_plural = _("programs")

    def __str__(self) -> str:
        return self.slug


class ProgramVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    program = models.ForeignKey(
        Program, on_delete=models.CASCADE, related_name="versions", verbose_name=_("program")
    )
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    title_sv = models.CharField(_("title (Swedish)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200, blank=True)
    description = models.TextField(_("who it is for and what it asks of the patient"), blank=True)
    planned_weeks = models.PositiveSmallIntegerField(
        _("planned length in weeks"),
        default=12,
        validators=[
            MinValueValidator(1, _("A treatment lasts at least a week.")),
            MaxValueValidator(MOST_WEEKS, _("A treatment lasts at most a year (52 weeks).")),
        ],
    )
    primary_instrument = models.CharField(
        _("primary outcome questionnaire"),
        max_length=20,
        blank=True,
        help_text=_(
            "The questionnaire the treatment's effect is judged by (the register's primary "
            "measure). It must be answered before start and at the end."
        ),
    )
    safe_to_move_from_previous = models.BooleanField(
        _("patients on the previous version may be moved here"),
        default=False,
        help_text=_(
            "Tick when the change keeps the modules and worksheets patients have worked on. "
            "Their progress and answers move with them."
        ),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published by"),
    )

    class Meta:
        ordering = ["program__slug", "-number"]
        verbose_name = _("program version")
        verbose_name_plural = _("program versions")
        constraints = [
            models.UniqueConstraint(fields=["program", "number"], name="program_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.program.slug} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    def title(self, language: str = "sv") -> str:
        return (self.title_en if language == "en" else "") or self.title_sv

    @property
    def title_shown(self) -> str:
        """The title in the language of the page it is shown on (Swedish if not translated)."""
        return self.title(translation.get_language() or "sv")

    @property
    def title_and_number(self) -> str:
        """What staff see of a patient's program: its title and which version she follows."""
        return gettext("%(title)s (version %(number)d)") % {
            "title": self.title_shown,
            "number": self.number,
        }


def program_titles(programs) -> dict[int, str]:
    """Each program's name as its patients see it now, by its id: the newest published
    version's title in the page's language, or the short name of a program not yet published.
    One query, for staff pages that list programs."""
    language = translation.get_language() or "sv"
    titles = {program.pk: program.slug for program in programs}
    versions = (
        ProgramVersion.objects.filter(
            program_id__in=titles, status=ProgramVersion.Status.PUBLISHED
        )
        .order_by("program_id", "number")
        .only("program_id", "number", "title_sv", "title_en")
    )
    return titles | {version.program_id: version.title(language) for version in versions}


class Module(models.Model):
    class Unlock(models.TextChoices):
        AT_START = "at_start", _("At the start of treatment")
        AFTER_PREVIOUS = "after_previous", _("When the previous module is done")
        AFTER_FEEDBACK = "after_feedback", _("When the therapist has given feedback")
        ON_WEEK = "on_week", _("On a given week")

    version = models.ForeignKey(
        ProgramVersion, on_delete=models.CASCADE, related_name="modules", verbose_name=_("version")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    key = models.SlugField(_("key"), max_length=60, help_text=KEY_HELP)
    title = models.CharField(_("title"), max_length=200)
    unlock = models.CharField(
        _("unlocks"), max_length=20, choices=Unlock.choices, default=Unlock.AFTER_PREVIOUS
    )
    unlock_week = models.PositiveSmallIntegerField(_("week"), null=True, blank=True)
    homework = models.TextField(
        _("homework"), blank=True, help_text=_("Tasks the patient reports on, one per line.")
    )
    therapist_guide = models.TextField(
        _("therapist guide"),
        blank=True,
        help_text=_("What to reinforce and look for in the feedback; shown only to staff."),
    )

    class Meta:
        ordering = ["version", "position"]
        verbose_name = _("module")
        verbose_name_plural = _("modules")
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="module_key_unique"),
        ]

    def __str__(self) -> str:
        return self.title

    def homework_tasks(self) -> list[str]:
        return [line.strip() for line in self.homework.splitlines() if line.strip()]


class Page(models.Model):
    """One screen on the phone. ``source`` is Markdown with block lines (``::: worksheet
    KEY``, see ``ikbt.programs.blocks``), the same text as the page's file in a package."""

    module = models.ForeignKey(
        Module, on_delete=models.CASCADE, related_name="pages", verbose_name=_("module")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    key = models.SlugField(_("key"), max_length=60, help_text=KEY_HELP)
    title = models.CharField(_("title"), max_length=200)
    source = models.TextField(_("content"), blank=True)

    class Meta:
        ordering = ["module", "position"]
        verbose_name = _("page")
        verbose_name_plural = _("pages")
        constraints = [models.UniqueConstraint(fields=["module", "key"], name="page_key_unique")]

    def __str__(self) -> str:
        return self.title


class Worksheet(models.Model):
    """A form whose answers the patient keeps and the therapist reads. ``fields`` is a list
    of ``{"key", "label", "kind", ...}`` (see ``ikbt.programs.worksheets``)."""

    version = models.ForeignKey(
        ProgramVersion,
        on_delete=models.CASCADE,
        related_name="worksheets",
        verbose_name=_("version"),
    )
    key = models.SlugField(_("key"), max_length=60, help_text=KEY_HELP)
    title = models.CharField(_("title"), max_length=200)
    instructions = models.TextField(_("instructions"), blank=True)
    fields = models.JSONField(_("fields"), default=list, blank=True)

    class Meta:
        ordering = ["version", "key"]
        verbose_name = _("worksheet")
        verbose_name_plural = _("worksheets")
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="worksheet_key_unique")
        ]

    def __str__(self) -> str:
        return self.title


class Quiz(models.Model):
    """A short knowledge check: ``questions`` is a list of ``{"text", "options": [...],
    "correct": index, "explanation"}``."""

    version = models.ForeignKey(
        ProgramVersion, on_delete=models.CASCADE, related_name="quizzes", verbose_name=_("version")
    )
    key = models.SlugField(_("key"), max_length=60, help_text=KEY_HELP)
    title = models.CharField(_("title"), max_length=200)
    questions = models.JSONField(_("questions"), default=list, blank=True)

    class Meta:
        ordering = ["version", "key"]
        verbose_name = _("quiz")
        verbose_name_plural = _("quizzes")
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="quiz_key_unique")]

    def __str__(self) -> str:
        return self.title


def media_path(instance: "MediaFile", filename: str) -> str:
    return f"programs/{instance.version.program.slug}/v{instance.version.number}/{filename}"


class MediaFile(models.Model):
    version = models.ForeignKey(
        ProgramVersion, on_delete=models.CASCADE, related_name="media", verbose_name=_("version")
    )
    name = models.CharField(_("file name"), max_length=120)
    file = models.FileField(_("file"), upload_to=media_path)

    class Meta:
        ordering = ["version", "name"]
        verbose_name = _("media file")
        verbose_name_plural = _("media files")
        constraints = [
            models.UniqueConstraint(fields=["version", "name"], name="media_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class MeasurementPoint(models.Model):
    class When(models.TextChoices):
        SCREENING = "screening", _("Before the assessment")
        PRE = "pre", _("Before start")
        WEEKLY = "weekly", _("Weekly")
        POST = "post", _("At the end")
        FOLLOW_UP_3 = "follow_up_3", _("Follow-up after 3 months")
        FOLLOW_UP_6 = "follow_up_6", _("Follow-up after 6 months")
        FOLLOW_UP_12 = "follow_up_12", _("Follow-up after 12 months")

    version = models.ForeignKey(
        ProgramVersion,
        on_delete=models.CASCADE,
        related_name="measurement_plan",
        verbose_name=_("version"),
    )
    when = models.CharField(_("when"), max_length=20, choices=When.choices)
    instrument_code = models.CharField(_("questionnaire"), max_length=20)

    class Meta:
        ordering = ["version", "when", "instrument_code"]
        verbose_name = _("measurement point")
        verbose_name_plural = _("measurement plan")
        constraints = [
            models.UniqueConstraint(
                fields=["version", "when", "instrument_code"], name="measurement_point_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_when_display()}: {self.instrument_code}"


class Adoption(models.Model):
    """A region offering a program another region owns and shares, as it is."""

    program = models.ForeignKey(
        Program, on_delete=models.CASCADE, related_name="adoptions", verbose_name=_("program")
    )
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="adoptions", verbose_name=_("region")
    )
    adopted_at = models.DateTimeField(_("adopted"), default=timezone.now)
    adopted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("adopted by"),
    )

    class Meta:
        verbose_name = _("adoption")
        verbose_name_plural = _("adoptions")
        constraints = [
            models.UniqueConstraint(fields=["program", "region"], name="adopt_once_per_region")
        ]

    def __str__(self) -> str:
        return f"{self.program} – {self.region}"
