import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ikbt.organisations.models import CareUnit, Region
from ikbt.patients.personal_number import (
    age_on,
    format_personal_number,
    parse_personal_number,
    validate_stored_personal_number,
)


class Patient(models.Model):
    """A person in care, identified by a Swedish personal identity or coordination number."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="patient",
        verbose_name=_("user account"),
    )
    personal_number = models.CharField(
        _("personal identity number"),
        max_length=12,
        unique=True,
        validators=[validate_stored_personal_number],
    )
    given_name = models.CharField(_("given name"), max_length=100)
    family_name = models.CharField(_("family name"), max_length=100)
    email = models.EmailField(_("e-mail"), blank=True)
    mobile = models.CharField(_("mobile phone"), max_length=20, blank=True)
    street_address = models.CharField(_("street address"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=10, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    home_region = models.ForeignKey(
        Region,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="residents",
        verbose_name=_("home region"),
    )
    protected_identity = models.BooleanField(
        _("protected identity"),
        default=False,
        help_text=_("Hides address and contact details from everyone but unit administrators."),
    )
    notify_by_email = models.BooleanField(_("tell me by e-mail"), default=True)
    notify_by_sms = models.BooleanField(_("tell me by text message"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["family_name", "given_name"]
        verbose_name = _("patient")
        verbose_name_plural = _("patients")

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def personal_number_display(self) -> str:
        return format_personal_number(self.personal_number)

    @property
    def is_coordination_number(self) -> bool:
        return int(self.personal_number[6:8]) > 60

    @property
    def birth_date(self) -> datetime.date:
        return parse_personal_number(self.personal_number).get_date()

    def age_on(self, day: datetime.date) -> int:
        return age_on(self.personal_number, day)

    @property
    def age(self) -> int:
        return self.age_on(timezone.localdate())

    @property
    def reachable_by(self) -> list[str]:
        """The channels notices reach the patient by (for staff to see)."""
        channels = []
        if self.notify_by_email and self.email:
            channels.append("email")
        if self.notify_by_sms and self.mobile:
            channels.append("sms")
        return channels

    @property
    def is_minor(self) -> bool:
        return self.age < 18


class Guardian(models.Model):
    """A guardian (vårdnadshavare) of a patient under 18."""

    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="guardians", verbose_name=_("patient")
    )
    personal_number = models.CharField(
        _("personal identity number"),
        max_length=12,
        validators=[validate_stored_personal_number],
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail"), blank=True)
    mobile = models.CharField(_("mobile phone"), max_length=20, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("guardian")
        verbose_name_plural = _("guardians")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "personal_number"], name="guardian_unique_per_patient"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def personal_number_display(self) -> str:
        return format_personal_number(self.personal_number)


class CareRelationshipQuerySet(models.QuerySet):
    def active(self) -> "CareRelationshipQuerySet":
        return self.filter(ended_at__isnull=True)


class CareRelationship(models.Model):
    """The care relationship (vårdrelation) that lets a staff member see a patient's data.

    Patientdatalagen 4 kap. 1 §: staff may read a patient's record only where they take part
    in the patient's care. Every access check in ``ikbt.patients.access`` starts here.
    """

    class Role(models.TextChoices):
        RESPONSIBLE_THERAPIST = "responsible_therapist", _("Responsible therapist")
        THERAPIST = "therapist", _("Therapist")
        SUPERVISOR = "supervisor", _("Supervisor")
        ASSESSOR = "assessor", _("Assessor")

    patient = models.ForeignKey(
        Patient,
        on_delete=models.PROTECT,
        related_name="care_relationships",
        verbose_name=_("patient"),
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="care_relationships",
        verbose_name=_("staff member"),
    )
    unit = models.ForeignKey(
        CareUnit,
        on_delete=models.PROTECT,
        related_name="care_relationships",
        verbose_name=_("unit"),
    )
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    objects = CareRelationshipQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("care relationship")
        verbose_name_plural = _("care relationships")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "staff", "unit"],
                condition=models.Q(ended_at__isnull=True),
                name="one_active_care_relationship",
            )
        ]

    def __str__(self) -> str:
        return f"{self.staff} – {self.patient} ({self.get_role_display()})"
