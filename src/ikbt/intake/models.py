from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ikbt.organisations.models import PHONE_NUMBER, CareUnit, StaffAbsence
from ikbt.patients.models import Patient
from ikbt.patients.personal_number import format_personal_number
from ikbt.programs.models import Program


class Offering(models.Model):
    """A program a unit offers on the region's e-service page, with who may register."""

    class Intake(models.TextChoices):
        OPEN = "open", _("Anyone")
        RESIDENTS = "residents", _("People living in the region")
        LISTED = "listed", _("Patients listed at the unit")

    unit = models.ForeignKey(
        CareUnit, on_delete=models.PROTECT, related_name="offerings", verbose_name=_("unit")
    )
    program = models.ForeignKey(
        Program, on_delete=models.PROTECT, related_name="offerings", verbose_name=_("program")
    )
    intake = models.CharField(
        _("who may register"), max_length=10, choices=Intake.choices, default=Intake.RESIDENTS
    )
    is_open = models.BooleanField(_("open for registration"), default=True)
    waiting_limit_days = models.PositiveSmallIntegerField(
        _("longest acceptable wait (days)"),
        default=14,
        help_text=_("Registrations waiting longer are marked in the queue and the statistics."),
    )

    class Meta:
        ordering = ["unit__name", "program__slug"]
        verbose_name = _("offering")
        verbose_name_plural = _("offerings")
        constraints = [
            models.UniqueConstraint(fields=["unit", "program"], name="one_offering_per_unit")
        ]

    def __str__(self) -> str:
        return f"{self.program} – {self.unit}"


class Registration(models.Model):
    """A patient's interest registration (intresseanmälan), from the e-service to a decision.

    Every step writes its own time, so waiting times can be measured from them.
    """

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Waiting for assessment")
        BOOKED = "booked", _("Assessment booked")
        ACCEPTED = "accepted", _("Accepted")
        NOT_SUITABLE = "not_suitable", _("Referred elsewhere")
        NO_SHOW = "no_show", _("Did not come to the assessment")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="registrations", verbose_name=_("patient")
    )
    offering = models.ForeignKey(
        Offering,
        on_delete=models.PROTECT,
        related_name="registrations",
        verbose_name=_("program and unit"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.SUBMITTED
    )
    registered_at = models.DateTimeField(_("registered"), default=timezone.now)
    answers = models.JSONField(_("intake answers"), default=dict, blank=True)
    screening = models.ManyToManyField(
        "measurement.Response",
        blank=True,
        related_name="registrations",
        verbose_name=_("screening questionnaires"),
    )
    consent_treatment_at = models.DateTimeField(_("consent to treatment"), null=True)
    register_opt_out = models.BooleanField(_("opted out of the quality register"), default=False)
    consent_research_at = models.DateTimeField(_("consent to research"), null=True, blank=True)
    guardian_name = models.CharField(_("guardian who consented"), max_length=200, blank=True)
    guardian_personal_number = models.CharField(
        _("guardian's personal identity number"), max_length=12, blank=True
    )
    # Where the unit reaches the guardian to confirm the consent.
    guardian_phone = models.CharField(
        _("guardian's phone"), max_length=30, blank=True, validators=[PHONE_NUMBER]
    )
    guardian_consent_at = models.DateTimeField(_("guardian's consent"), null=True, blank=True)
    # What the young person states at registration, the unit confirms with the guardian
    # (by phone or at the assessment) before she is accepted.
    guardian_consent_confirmed_at = models.DateTimeField(
        _("guardian's consent confirmed"), null=True, blank=True
    )
    guardian_consent_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("guardian's consent confirmed by"),
    )
    guardian_consent_note = models.CharField(
        _("how the guardian's consent was confirmed"), max_length=500, blank=True
    )
    assessed_at = models.DateTimeField(_("assessed"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    assessment_note = models.JSONField(_("assessment note"), default=dict, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)
    referred_to = models.CharField(_("referred to"), max_length=200, blank=True)
    start_date = models.DateField(_("start date"), null=True, blank=True)
    responsible_therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("responsible therapist"),
    )

    class Meta:
        ordering = ["registered_at"]
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        indexes = [
            models.Index(fields=["offering", "status", "registered_at"]),
            models.Index(fields=["registered_at"], name="registration_registered"),
            models.Index(fields=["offering", "registered_at"], name="registration_offering_date"),
            # The few who opt out of the register, looked up on every statistics page.
            models.Index(
                fields=["patient"],
                condition=models.Q(register_opt_out=True),
                name="registration_opted_out",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} – {self.offering}"

    @property
    def guardian_personal_number_display(self) -> str:
        return format_personal_number(self.guardian_personal_number)

    @property
    def is_waiting(self) -> bool:
        return self.status in (self.Status.SUBMITTED, self.Status.BOOKED)

    def waiting_days(self, now=None) -> int:
        return ((now or timezone.now()) - self.registered_at).days


class SlotQuerySet(models.QuerySet):
    def bookable(self) -> "SlotQuerySet":
        """Free times to come whose therapist is not away that day (an absence registered
        after the time was offered keeps it from being booked)."""
        away = StaffAbsence.objects.filter(
            staff=OuterRef("therapist"),
            starts_on__lte=OuterRef("day"),
            ends_on__gte=OuterRef("day"),
        )
        return (
            self.filter(registration__isnull=True, starts_at__gt=timezone.now())
            .annotate(day=TruncDate("starts_at"))
            .exclude(Exists(away))
        )


SLOT_MOST_MINUTES = 180  # the longest assessment time offered


class Slot(models.Model):
    """A time a therapist offers for assessment interviews; booked by at most one registration."""

    class Mode(models.TextChoices):
        VIDEO = "video", _("Video call")
        PHONE = "phone", _("Phone call")
        VISIT = "visit", _("Visit at the unit")

    unit = models.ForeignKey(
        CareUnit, on_delete=models.PROTECT, related_name="slots", verbose_name=_("unit")
    )
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="assessment_slots",
        verbose_name=_("therapist"),
    )
    starts_at = models.DateTimeField(_("starts"))
    minutes = models.PositiveSmallIntegerField(_("length in minutes"), default=45)
    mode = models.CharField(_("how"), max_length=10, choices=Mode.choices, default=Mode.VIDEO)
    video_link = models.URLField(_("video link"), blank=True)
    registration = models.OneToOneField(
        Registration,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="slot",
        verbose_name=_("booked by"),
    )
    booked_at = models.DateTimeField(_("booked"), null=True, blank=True)
    # The booking (its booked_at) the reminder was sent for: a task run twice sends once,
    # and a time booked again after a cancellation gets its own reminder.
    reminded_for = models.DateTimeField(_("reminder sent for booking"), null=True, blank=True)

    objects = SlotQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("assessment slot")
        verbose_name_plural = _("assessment slots")

    def __str__(self) -> str:
        return f"{self.starts_at:%Y-%m-%d %H:%M} {self.therapist}"
