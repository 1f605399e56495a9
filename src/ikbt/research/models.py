"""Research studies run on the platform: studies, arms, consent, randomisation."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ikbt.measurement.models import Response
from ikbt.organisations.models import CareUnit, Region
from ikbt.patients.models import Patient
from ikbt.programs.models import MeasurementPoint, Program


class Study(models.Model):
    """A research study: who runs it, its ethics approval, who may take part and how patients
    are allocated to its arms. The setup can change only while the study is planned."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        RECRUITING = "recruiting", _("Recruiting")
        CLOSED = "closed", _("Closed")

    title = models.CharField(_("title"), max_length=200)
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="studies", verbose_name=_("region")
    )
    principal_investigator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="studies_led",
        verbose_name=_("principal investigator"),
    )
    ethics_approval_number = models.CharField(_("ethics approval number"), max_length=50)
    ethics_approval_date = models.DateField(_("ethics approval date"))
    information_text = models.TextField(
        _("information for participants"),
        help_text=_("Shown to the patient with the consent form."),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.PLANNED
    )
    planned_size = models.PositiveIntegerField(_("planned number of participants"))
    min_age = models.PositiveSmallIntegerField(_("lowest age"), default=18)
    max_age = models.PositiveSmallIntegerField(_("highest age"), null=True, blank=True)
    exclusion_criteria = models.TextField(
        _("exclusion criteria"),
        blank=True,
        help_text=_("Confirmed by the therapist or assessor who includes the patient."),
    )
    relative_dates = models.BooleanField(
        _("dates relative to allocation in exports"),
        default=True,
        help_text=_("Exports give the day counted from allocation instead of the date."),
    )
    treatment_weeks = models.PositiveSmallIntegerField(
        _("weeks from allocation to the end point"),
        default=12,
        help_text=_("When the study's post-treatment questionnaires are due, in every arm."),
    )
    stratification_factors = models.JSONField(
        _("stratification factors"),
        default=list,
        blank=True,
        help_text=_('Besides the unit, e.g. [{"name": "sex", "choices": ["F", "M"]}].'),
    )
    block_sizes = models.JSONField(
        _("block sizes"),
        default=list,
        help_text=_("Permuted block sizes, multiples of the sum of the arms' ratios."),
    )
    next_number = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    opened_at = models.DateTimeField(_("recruitment opened"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("study")
        verbose_name_plural = _("studies")

    def __str__(self) -> str:
        return self.title

    @property
    def code(self) -> str:
        return f"S{self.pk}"

    @property
    def is_planned(self) -> bool:
        return self.status == self.Status.PLANNED

    @property
    def is_recruiting(self) -> bool:
        return self.status == self.Status.RECRUITING


class StudyUnit(models.Model):
    """A care unit taking part; exports name it only by its study code (U1, U2 …)."""

    study = models.ForeignKey(
        Study, on_delete=models.CASCADE, related_name="units", verbose_name=_("study")
    )
    unit = models.ForeignKey(
        CareUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    code = models.CharField(_("code in the study"), max_length=10)
    added_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        ordering = ["study", "code"]
        verbose_name = _("participating unit")
        verbose_name_plural = _("participating units")
        constraints = [
            models.UniqueConstraint(fields=["study", "unit"], name="study_unit_once"),
            models.UniqueConstraint(fields=["study", "code"], name="study_unit_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.unit}"


class Arm(models.Model):
    """An arm: a program (or a fork of one) or, without a program, a waiting list."""

    study = models.ForeignKey(
        Study, on_delete=models.CASCADE, related_name="arms", verbose_name=_("study")
    )
    name = models.CharField(_("name"), max_length=100)
    program = models.ForeignKey(
        Program,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("program"),
        help_text=_("Leave empty for a waiting list."),
    )
    ratio = models.PositiveSmallIntegerField(
        _("allocation ratio"), default=1, help_text=_("Weight in each block, e.g. 1 for 1:1.")
    )

    class Meta:
        ordering = ["study", "pk"]
        verbose_name = _("arm")
        verbose_name_plural = _("arms")
        constraints = [
            models.UniqueConstraint(fields=["study", "name"], name="arm_name_unique_in_study"),
            models.CheckConstraint(condition=models.Q(ratio__gte=1), name="arm_ratio_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_waiting_list(self) -> bool:
        return self.program_id is None


STUDY_TIME_POINTS = [
    choice for choice in MeasurementPoint.When.choices if choice[0] != "screening"
]


class StudyMeasurement(models.Model):
    """A questionnaire the study adds to the arms' measurement plans (or to one arm's)."""

    study = models.ForeignKey(
        Study, on_delete=models.CASCADE, related_name="measurements", verbose_name=_("study")
    )
    arm = models.ForeignKey(
        Arm,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="measurements",
        verbose_name=_("arm"),
        help_text=_("Leave empty for every arm."),
    )
    when = models.CharField(_("when"), max_length=20, choices=STUDY_TIME_POINTS)
    instrument_code = models.CharField(_("questionnaire"), max_length=20)

    class Meta:
        ordering = ["study", "when", "instrument_code"]
        verbose_name = _("study measurement")
        verbose_name_plural = _("study measurements")
        constraints = [
            models.UniqueConstraint(
                fields=["study", "arm", "when", "instrument_code"],
                name="study_measurement_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_when_display()}: {self.instrument_code}"


class ScreeningCriterion(models.Model):
    """An inclusion criterion read from data: the latest submitted total of a questionnaire."""

    study = models.ForeignKey(
        Study, on_delete=models.CASCADE, related_name="screening", verbose_name=_("study")
    )
    instrument_code = models.CharField(_("questionnaire"), max_length=20)
    min_total = models.IntegerField(_("lowest total"), null=True, blank=True)
    max_total = models.IntegerField(_("highest total"), null=True, blank=True)

    class Meta:
        ordering = ["study", "instrument_code"]
        verbose_name = _("screening criterion")
        verbose_name_plural = _("screening criteria")
        constraints = [
            models.UniqueConstraint(
                fields=["study", "instrument_code"], name="screening_criterion_unique"
            )
        ]

    def __str__(self) -> str:
        low = "" if self.min_total is None else self.min_total
        high = "" if self.max_total is None else self.max_total
        return f"{self.instrument_code} {low}–{high}"


class StudyMember(models.Model):
    """A researcher of the study: sees its pseudonymised data and exports."""

    study = models.ForeignKey(
        Study, on_delete=models.CASCADE, related_name="members", verbose_name=_("study")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="study_memberships",
        verbose_name=_("researcher"),
    )
    added_at = models.DateTimeField(_("added"), default=timezone.now)

    class Meta:
        ordering = ["study", "added_at"]
        verbose_name = _("study member")
        verbose_name_plural = _("study members")
        constraints = [models.UniqueConstraint(fields=["study", "user"], name="study_member_once")]

    def __str__(self) -> str:
        return f"{self.user} – {self.study}"


class Participant(models.Model):
    """A patient included in a study. Researchers know them only by their ``pseudonym``
    (the study id, e.g. S1-0007)."""

    study = models.ForeignKey(
        Study, on_delete=models.PROTECT, related_name="participants", verbose_name=_("study")
    )
    patient = models.ForeignKey(
        Patient,
        on_delete=models.PROTECT,
        related_name="study_participations",
        verbose_name=_("patient"),
    )
    unit = models.ForeignKey(
        CareUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    pseudonym = models.CharField(_("study id"), max_length=20)
    strata = models.JSONField(_("stratification values"), default=dict, blank=True)
    age_at_inclusion = models.PositiveSmallIntegerField(_("age at inclusion"))
    included_at = models.DateTimeField(_("included"), default=timezone.now)
    included_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("included by"),
    )
    exclusion_checked = models.BooleanField(
        _("no exclusion criterion applies (confirmed)"), default=False
    )
    consented_at = models.DateTimeField(_("consented"), null=True, blank=True)
    age_at_consent = models.PositiveSmallIntegerField(_("age at consent"), null=True, blank=True)
    screening_responses = models.ManyToManyField(
        Response, blank=True, related_name="+", verbose_name=_("screening answers used")
    )

    class Meta:
        ordering = ["study", "pseudonym"]
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.UniqueConstraint(fields=["study", "patient"], name="participant_once"),
            models.UniqueConstraint(fields=["study", "pseudonym"], name="study_id_unique"),
        ]

    def __str__(self) -> str:
        return self.pseudonym


class ResearchConsent(models.Model):
    """The patient's signed consent to the study (separate from consent to treatment).

    Withdrawal stops data collection from ``withdrawn_at``; the patient chooses whether data
    collected before may be kept (Lag 2003:460 om etikprövning, 19 §). A guardian signs too
    under 18, and under 15 both guardians do, or one with sole custody.
    """

    participant = models.OneToOneField(
        Participant,
        on_delete=models.PROTECT,
        related_name="consent",
        verbose_name=_("participant"),
    )
    signed_at = models.DateTimeField(_("signed"), default=timezone.now)
    signed_name = models.CharField(_("signed by"), max_length=200)
    information_text = models.TextField(_("information shown"))
    guardian_name = models.CharField(_("guardian's name"), max_length=200, blank=True)
    guardian_personal_number = models.CharField(
        _("guardian's personal identity number"), max_length=12, blank=True
    )
    # Under 15 both guardians consent (Lag 2003:460 om etikprövning, 18 §), unless one has
    # sole custody.
    second_guardian_name = models.CharField(
        _("second guardian's name"), max_length=200, blank=True
    )
    second_guardian_personal_number = models.CharField(
        _("second guardian's personal identity number"), max_length=12, blank=True
    )
    sole_guardian = models.BooleanField(
        _("the guardian who signed has sole custody"), default=False
    )
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    keep_data_after_withdrawal = models.BooleanField(
        _("data collected before withdrawal may be kept"), default=True
    )

    class Meta:
        verbose_name = _("research consent")
        verbose_name_plural = _("research consents")

    def __str__(self) -> str:
        return f"{self.participant} {self.signed_at:%Y-%m-%d}"

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None


class AllocationSequence(models.Model):
    """The concealed allocation list of one stratum (a unit and one value of each factor)."""

    study = models.ForeignKey(
        Study, on_delete=models.PROTECT, related_name="sequences", verbose_name=_("study")
    )
    unit = models.ForeignKey(
        CareUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit")
    )
    strata = models.JSONField(_("stratification values"), default=dict, blank=True)
    key = models.CharField(_("stratum"), max_length=500)
    created_at = models.DateTimeField(_("generated"), default=timezone.now)

    class Meta:
        verbose_name = _("allocation sequence")
        verbose_name_plural = _("allocation sequences")
        constraints = [
            models.UniqueConstraint(fields=["study", "key"], name="one_sequence_per_stratum")
        ]

    def __str__(self) -> str:
        return f"{self.study.code} {self.key}"


class AllocationSlot(models.Model):
    """One place in a concealed sequence. Never shown before it is used."""

    sequence = models.ForeignKey(
        AllocationSequence, on_delete=models.PROTECT, related_name="slots"
    )
    position = models.PositiveIntegerField(_("position"))
    block = models.PositiveIntegerField(_("block"))
    block_size = models.PositiveSmallIntegerField(_("block size"))
    arm = models.ForeignKey(Arm, on_delete=models.PROTECT, related_name="+")
    used_by = models.OneToOneField(
        Participant, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["sequence", "position"]
        verbose_name = _("allocation slot")
        verbose_name_plural = _("allocation slots")
        constraints = [
            models.UniqueConstraint(fields=["sequence", "position"], name="slot_position_unique")
        ]

    def __str__(self) -> str:
        return f"{self.sequence_id}:{self.position}"


class Allocation(models.Model):
    """A participant's arm: exactly one per participant, with when and by whom."""

    participant = models.OneToOneField(
        Participant,
        on_delete=models.PROTECT,
        related_name="allocation",
        verbose_name=_("participant"),
    )
    arm = models.ForeignKey(
        Arm, on_delete=models.PROTECT, related_name="allocations", verbose_name=_("arm")
    )
    slot = models.OneToOneField(
        AllocationSlot, on_delete=models.PROTECT, related_name="allocation"
    )
    allocated_at = models.DateTimeField(_("allocated"), default=timezone.now)
    allocated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("allocated by"),
    )

    class Meta:
        ordering = ["allocated_at"]
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")

    def __str__(self) -> str:
        return f"{self.participant} → {self.arm}"


class StudyResponse(models.Model):
    """A questionnaire the study asked for (beyond the program's plan)."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="study_responses"
    )
    measurement = models.ForeignKey(StudyMeasurement, on_delete=models.PROTECT, related_name="+")
    response = models.OneToOneField(Response, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("study questionnaire")
        verbose_name_plural = _("study questionnaires")

    def __str__(self) -> str:
        return f"{self.participant} {self.measurement}"
