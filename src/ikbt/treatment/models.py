from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ikbt.organisations.models import CareUnit
from ikbt.patients.models import Patient
from ikbt.programs.models import ProgramVersion


class EndReason(models.TextChoices):
    COMPLETED = "completed", _("Completed")
    DROPPED_OUT = "dropped_out", _("Dropped out")
    REFERRED = "referred", _("Referred elsewhere")


class EnrollmentQuerySet(models.QuerySet):
    def started(self) -> "EnrollmentQuerySet":
        """Treatments whose first day has come: one accepted to start next week is not a
        start yet (the statistics count starts)."""
        return self.filter(started_at__lte=timezone.now())

    def last_ended_for(self, patient) -> "Enrollment | None":
        """The patient's treatment that ended last, with its program version and unit."""
        return (
            self.filter(patient=patient, ended_at__isnull=False)
            .select_related("program_version__program", "unit")
            .order_by("-ended_at")
            .first()
        )

    def going_on_for(self, patient) -> "Enrollment | None":
        """The patient's treatment going on (her latest, should there be two), with its
        program version, program and unit."""
        return (
            self.filter(patient=patient, status=Enrollment.Status.ACTIVE)
            .select_related("program_version__program", "unit")
            .order_by("-started_at")
            .first()
        )


class Enrollment(models.Model):
    """A patient's treatment on one version of a program at a unit.

    Progress and worksheet answers are keyed by the module's and worksheet's ``key``, which a
    program keeps across versions, so moving a patient to a new version moves them along.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("In treatment")
        PAUSED = "paused", _("Paused")
        ENDED = "ended", _("Ended")

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="enrollments", verbose_name=_("patient")
    )
    unit = models.ForeignKey(
        CareUnit, on_delete=models.PROTECT, related_name="enrollments", verbose_name=_("unit")
    )
    program_version = models.ForeignKey(
        ProgramVersion,
        on_delete=models.PROTECT,
        related_name="enrollments",
        verbose_name=_("program version"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    planned_end = models.DateField(_("planned end"), null=True, blank=True)
    nudged_at = models.DateTimeField(_("last nudged"), null=True, blank=True)
    end_reason = models.CharField(
        _("how it ended"), max_length=20, choices=EndReason.choices, blank=True
    )
    end_note = models.TextField(_("note on the ending"), blank=True)
    # The register summary: the primary questionnaire's outcome, the therapist's time and the
    # responsible therapist, kept current by ``outcome.summary_refresh`` whenever what they rest
    # on changes, so that statistics over half a million treatments are sums in the database.
    primary_instrument = models.CharField(_("primary questionnaire"), max_length=20, blank=True)
    score_pre = models.IntegerField(_("score before"), null=True, blank=True)
    score_post = models.IntegerField(_("score after"), null=True, blank=True)
    reliable_improvement = models.BooleanField(_("reliably improved"), null=True)
    reliable_deterioration = models.BooleanField(_("reliably deteriorated"), null=True)
    responded = models.BooleanField(_("responded (50% better)"), null=True)
    remission = models.BooleanField(_("in remission"), null=True)
    therapist_minutes = models.PositiveIntegerField(_("therapist minutes"), default=0)
    responsible_therapist = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("responsible therapist"),
    )

    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("enrollment")
        verbose_name_plural = _("enrollments")
        # Statistics and the register select treatments by when they started and ended.
        indexes = [
            models.Index(fields=["started_at"], name="enrollment_started"),
            models.Index(fields=["unit", "started_at"], name="enrollment_unit_started"),
            models.Index(fields=["status", "ended_at"], name="enrollment_ended"),
        ]

    def __str__(self) -> str:
        return f"{self.patient} – {self.program_version}"

    def week(self, now=None) -> int:
        """The week of treatment, from 1 on the first day."""
        elapsed = (now or timezone.now()) - self.started_at
        return max(1, elapsed.days // 7 + 1)

    def has_started(self, now=None) -> bool:
        """Accepted to start on a day to come, the treatment has not begun until then."""
        return self.started_at <= (now or timezone.now())

    def week_shown(self, now=None) -> str:
        """ "week 3", or "starts 2026-12-14" before the first day (staff pages)."""
        if not self.has_started(now):
            return gettext("starts %(date)s") % {
                "date": timezone.localdate(self.started_at).isoformat()
            }
        return gettext("week %(week)s") % {"week": self.week(now)}


class ModuleProgress(models.Model):
    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="progress", verbose_name=_("enrollment")
    )
    module_key = models.SlugField(_("module"), max_length=60)
    unlocked_by_hand_at = models.DateTimeField(
        _("unlocked by the therapist"), null=True, blank=True
    )
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    homework_report = models.TextField(_("homework report"), blank=True)
    reported_at = models.DateTimeField(_("homework reported"), null=True, blank=True)
    feedback = models.TextField(_("feedback"), blank=True)
    feedback_at = models.DateTimeField(_("feedback given"), null=True, blank=True)
    feedback_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("feedback by"),
    )

    class Meta:
        verbose_name = _("module progress")
        verbose_name_plural = _("module progress")
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "module_key"], name="one_progress_row_per_module"
            )
        ]

    def __str__(self) -> str:
        return f"{self.enrollment} {self.module_key}"


class WorksheetAnswer(models.Model):
    """What the patient wrote in a worksheet, kept across program versions."""

    enrollment = models.ForeignKey(
        Enrollment,
        on_delete=models.CASCADE,
        related_name="worksheet_answers",
        verbose_name=_("enrollment"),
    )
    worksheet_key = models.SlugField(_("worksheet"), max_length=60)
    data = models.JSONField(_("answers"), default=dict, blank=True)
    revision = models.PositiveIntegerField(
        _("revision"), default=0, help_text=_("Counts saves, so a stale device cannot overwrite.")
    )
    updated_at = models.DateTimeField(_("saved"), default=timezone.now)
    handed_in_at = models.DateTimeField(_("handed in"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("read by the therapist"), null=True, blank=True)

    class Meta:
        verbose_name = _("worksheet answer")
        verbose_name_plural = _("worksheet answers")
        constraints = [
            models.UniqueConstraint(
                fields=["enrollment", "worksheet_key"], name="one_answer_per_worksheet"
            )
        ]

    def __str__(self) -> str:
        return f"{self.enrollment} {self.worksheet_key}"


class ClinicalNote(models.Model):
    """A private note in the treatment record, seen by staff only."""

    enrollment = models.ForeignKey(
        Enrollment, on_delete=models.CASCADE, related_name="notes", verbose_name=_("enrollment")
    )
    author = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    text = models.TextField(_("note"))
    written_at = models.DateTimeField(_("written"), default=timezone.now)

    class Meta:
        ordering = ["-written_at"]
        verbose_name = _("clinical note")
        verbose_name_plural = _("clinical notes")

    def __str__(self) -> str:
        return f"{self.enrollment} {self.written_at:%Y-%m-%d}"


class TimeEntry(models.Model):
    """Minutes a therapist spent on a patient's treatment (reading, feedback, messages)."""

    enrollment = models.ForeignKey(
        Enrollment,
        on_delete=models.CASCADE,
        related_name="time_entries",
        verbose_name=_("enrollment"),
    )
    staff = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="+", verbose_name=_("staff member")
    )
    day = models.DateField(_("day"), default=timezone.localdate)
    minutes = models.PositiveSmallIntegerField(_("minutes"))
    what = models.CharField(_("what"), max_length=200, blank=True)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("time entry")
        verbose_name_plural = _("time ledger")

    def __str__(self) -> str:
        return f"{self.enrollment} {self.day} {self.minutes} min"


class ReplyTemplate(models.Model):
    """A therapist's own text for common feedback, to start a reply from."""

    owner = models.ForeignKey(
        "accounts.User",
        on_delete=models.CASCADE,
        related_name="reply_templates",
        verbose_name=_("owner"),
    )
    title = models.CharField(_("title"), max_length=100)
    text = models.TextField(_("text"))

    class Meta:
        ordering = ["title"]
        verbose_name = _("reply template")
        verbose_name_plural = _("reply templates")

    def __str__(self) -> str:
        return self.title
