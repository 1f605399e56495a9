from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    """One of Sweden's 21 regions, keyed by its official county code (länskod)."""

    code = models.CharField(_("code"), max_length=2, unique=True)
    name = models.CharField(_("name"), max_length=100)
    population = models.PositiveIntegerField(
        _("inhabitants"),
        null=True,
        blank=True,
        help_text=_("For starts per 100,000 inhabitants (Statistics Sweden, SCB)."),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return self.name


# A phone number people call: digits, with spaces or hyphens between as one writes them.
PHONE_NUMBER = RegexValidator(
    r"^\+?[0-9][0-9 -]{4,28}$", _("Write the number with digits, for example 013-20 20 00.")
)


class CareUnit(models.Model):
    class Kind(models.TextChoices):
        PRIMARY_CARE = "primary_care", _("Primary care centre")
        YOUTH_CLINIC = "youth_clinic", _("Youth clinic")
        CHILD_HEALTH = "child_health", _("Child health care")
        CHILD_PSYCHIATRY = "child_psychiatry", _("Child and adolescent psychiatry")
        ADULT_PSYCHIATRY = "adult_psychiatry", _("Adult psychiatry")
        INTERNET_PSYCHIATRY = "internet_psychiatry", _("Internet psychiatry unit")

    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="units", verbose_name=_("region")
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("type"), max_length=30, choices=Kind.choices)
    hsa_id = models.CharField(
        _("HSA-id"),
        max_length=64,
        blank=True,
        validators=[RegexValidator(r"^SE[0-9A-Z]{10}-[0-9A-Za-z]+$", _("Not a valid HSA-id."))],
    )

    # How patients reach the unit, shown beside their care team and their access log.
    phone = models.CharField(
        _("phone"),
        max_length=30,
        blank=True,
        validators=[PHONE_NUMBER],
    )
    phone_hours = models.CharField(
        _("telephone hours"),
        max_length=200,
        blank=True,
        help_text=_("When patients can call, for example: Monday to Friday 8–10."),
    )
    visiting_address = models.CharField(_("visiting address"), max_length=200, blank=True)

    reply_within_days = models.PositiveSmallIntegerField(
        _("answer messages within (working days)"),
        default=2,
        help_text=_("A patient's message or hand-in waiting longer is overdue and escalates."),
    )

    class Meta:
        ordering = ["region__code", "name"]
        verbose_name = _("care unit")
        verbose_name_plural = _("care units")
        constraints = [
            models.UniqueConstraint(
                "region",
                Lower("name"),
                name="unit_name_unique_in_region",
                violation_error_message=_("The region has a unit of this name already."),
            ),
            models.UniqueConstraint(
                fields=["hsa_id"],
                condition=~models.Q(hsa_id=""),
                name="unit_hsa_id_unique",
                violation_error_message=_("A unit has this HSA-id already."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StaffRole(models.TextChoices):
    THERAPIST = "therapist", _("Therapist")
    SUPERVISOR = "supervisor", _("Supervisor")
    UNIT_ADMIN = "unit_admin", _("Unit administrator")
    REGION_ADMIN = "region_admin", _("Region administrator")
    PROGRAM_AUTHOR = "program_author", _("Program author")
    REGISTER_OFFICER = "register_officer", _("Register officer")
    RESEARCHER = "researcher", _("Researcher")


class StaffMembershipQuerySet(models.QuerySet):
    def for_user(self, user) -> "StaffMembershipQuerySet":
        return self.filter(user=user)


class StaffMembership(models.Model):
    """A staff member holds a role at a unit; one person can hold several."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("staff member"),
    )
    unit = models.ForeignKey(
        CareUnit, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("unit")
    )
    role = models.CharField(_("role"), max_length=20, choices=StaffRole.choices)
    # Who gave the role and when (empty for roles given before this was kept, or in the demo).
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("added by"),
    )
    added_at = models.DateTimeField(_("added"), null=True, blank=True)

    objects = StaffMembershipQuerySet.as_manager()

    class Meta:
        ordering = ["unit__name", "role"]
        verbose_name = _("staff membership")
        verbose_name_plural = _("staff memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "unit", "role"], name="membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()}, {self.unit}"


class StaffAbsenceQuerySet(models.QuerySet):
    def on(self, day) -> "StaffAbsenceQuerySet":
        return self.filter(starts_on__lte=day, ends_on__gte=day)


class StaffAbsence(models.Model):
    """A staff member away (holiday, illness, course). Their patients are covered by the named
    colleague, or by the unit's administrators when no one is named, automatically."""

    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="absences",
        verbose_name=_("staff member"),
    )
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("to and including"))
    cover = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="covering",
        verbose_name=_("covered by"),
        help_text=_("Left empty, the unit's administrators cover."),
    )
    # Who registered it: the person away, or a unit administrator (a sudden illness).
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("registered by"),
    )
    registered_at = models.DateTimeField(_("registered"), default=timezone.now)

    objects = StaffAbsenceQuerySet.as_manager()

    class Meta:
        ordering = ["starts_on"]
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="absence_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.staff} {self.starts_on}–{self.ends_on}"


class SupervisionQuerySet(models.QuerySet):
    def open_at(self, unit_id) -> "SupervisionQuerySet":
        """Supervisions going on that reach ``unit_id`` (an id or an ``OuterRef``): those
        arranged there, and those arranged without a unit, which reach every unit."""
        return self.filter(
            models.Q(unit__isnull=True) | models.Q(unit_id=unit_id), ended_on__isnull=True
        )

    def open_at_any(self, unit_ids) -> "SupervisionQuerySet":
        """Supervisions going on that reach any of ``unit_ids`` (a list; ``open_at`` takes an
        ``OuterRef`` too, which a list cannot hold)."""
        return self.filter(
            models.Q(unit__isnull=True) | models.Q(unit_id__in=unit_ids), ended_on__isnull=True
        )


class Supervision(models.Model):
    """A psychologist in training (PTP) or a new internet therapist and their supervisor, who
    sees their caseload and, where the unit requires it, reads their messages before they go."""

    supervisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="supervising",
        verbose_name=_("supervisor"),
    )
    supervisee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="supervisions",
        verbose_name=_("supervisee"),
    )
    # The supervisor sees the supervisee's patients at this unit; with no unit (set up by a
    # region in Django's admin) at every unit.
    unit = models.ForeignKey(
        CareUnit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="supervisions",
        verbose_name=_("unit"),
        help_text=_("Left empty, at every unit where the supervisee treats patients."),
    )
    review_messages = models.BooleanField(
        _("messages are read by the supervisor before they are sent"), default=False
    )
    started_on = models.DateField(_("from"), default=timezone.localdate)
    ended_on = models.DateField(_("ended"), null=True, blank=True)
    arranged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("arranged by"),
    )
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ended by"),
    )

    objects = SupervisionQuerySet.as_manager()

    class Meta:
        verbose_name = _("supervision")
        verbose_name_plural = _("supervisions")
        constraints = [
            models.UniqueConstraint(
                fields=["supervisor", "supervisee", "unit"],
                condition=models.Q(ended_on__isnull=True, unit__isnull=False),
                name="one_open_supervision_per_pair_and_unit",
            ),
            models.UniqueConstraint(
                fields=["supervisor", "supervisee"],
                condition=models.Q(ended_on__isnull=True, unit__isnull=True),
                name="one_open_supervision_per_pair_everywhere",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supervisor} → {self.supervisee}"


class Training(models.Model):
    """A course a therapist has completed: the region's course in therapist-guided internet
    CBT (no program), or the introduction to one program. Recorded again (a refresher), the
    date moves on: the latest completion is the one kept."""

    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="trainings",
        verbose_name=_("therapist"),
    )
    program = models.ForeignKey(
        "programs.Program",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="trainings",
        verbose_name=_("program"),
        help_text=_("Left empty: the course in therapist-guided internet CBT."),
    )
    completed_on = models.DateField(_("completed on"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        ordering = ["staff", "program"]
        verbose_name = _("training")
        verbose_name_plural = _("trainings")
        constraints = [
            models.UniqueConstraint(
                fields=["staff", "program"],
                condition=models.Q(program__isnull=False),
                name="one_training_per_program",
            ),
            models.UniqueConstraint(
                fields=["staff"],
                condition=models.Q(program__isnull=True),
                name="one_internet_cbt_course",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.staff} – {self.program or 'iKBT'} {self.completed_on}"
