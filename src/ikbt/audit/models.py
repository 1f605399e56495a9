import re

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ikbt.organisations.models import CareUnit, StaffRole
from ikbt.patients.models import Patient

# The details the code writes (in English, the code's language), as people read them. A
# detail with an identifier in it (a study's code, a unit's id) is shown as it was written.
DETAIL_NAMES = {
    # A colleague's account, changed by an administrator (organisations.actions._record).
    "account closed": pgettext_lazy("access log detail", "account closed"),
    "account opened again": pgettext_lazy("access log detail", "account opened again"),
    "sign-in started over": pgettext_lazy("access log detail", "sign-in started over"),
    "e-mail address changed": pgettext_lazy("access log detail", "e-mail address changed"),
    "supervision started": pgettext_lazy(
        "access log detail", "began to supervise a therapist at the unit"
    ),
    "supervision ended": pgettext_lazy(
        "access log detail", "stopped supervising a therapist at the unit"
    ),
    "accepted for treatment": pgettext_lazy("access log detail", "accepted for treatment"),
    "acknowledged risk flag": pgettext_lazy("access log detail", "acknowledged risk flag"),
    "caseload": pgettext_lazy("access log detail", "caseload"),
    "assessment booked": pgettext_lazy("access log detail", "assessment booked"),
    "guardian's consent confirmed": pgettext_lazy(
        "access log detail", "guardian's consent confirmed"
    ),
    "assessment times": pgettext_lazy("access log detail", "assessment times"),
    "changed": pgettext_lazy("access log detail", "changed"),
    "clinical note": pgettext_lazy("access log detail", "clinical note"),
    "dictionary": pgettext_lazy("access log detail", "data dictionary"),
    "feedback": pgettext_lazy("access log detail", "feedback"),
    "filled in for the patient": pgettext_lazy("access log detail", "filled in for the patient"),
    "intake queue": pgettext_lazy("access log detail", "intake queue"),
    "measurements": pgettext_lazy("access log detail", "measurements"),
    "message": pgettext_lazy("access log detail", "message"),
    "message read and sent": pgettext_lazy("access log detail", "message read and sent"),
    "message sent back to the writer": pgettext_lazy(
        "access log detail", "message sent back to the writer"
    ),
    "message changed for the supervisor": pgettext_lazy(
        "access log detail", "message changed for the supervisor"
    ),
    "message waiting for the supervisor": pgettext_lazy(
        "access log detail", "message waiting for the supervisor"
    ),
    "message thread": pgettext_lazy("access log detail", "message thread"),
    "messages marked as needing no reply": pgettext_lazy(
        "access log detail", "messages marked as needing no reply"
    ),
    "messages": pgettext_lazy("access log detail", "messages"),
    "module locked": pgettext_lazy("access log detail", "module locked"),
    "module unlocked": pgettext_lazy("access log detail", "module unlocked"),
    "one-time code": pgettext_lazy("access log detail", "one-time code"),
    "patient details": pgettext_lazy("access log detail", "patient details"),
    "patient list": pgettext_lazy("access log detail", "patient list"),
    "paused": pgettext_lazy("access log detail", "treatment paused"),
    "questionnaire": pgettext_lazy("access log detail", "questionnaire"),
    "recruitment": pgettext_lazy("access log detail", "recruitment"),
    "registration": pgettext_lazy("access log detail", "registration"),
    "research": pgettext_lazy("access log detail", "research"),
    "resumed": pgettext_lazy("access log detail", "treatment resumed"),
    "risk flag": pgettext_lazy("access log detail", "risk flag"),
    "treatment record": pgettext_lazy("access log detail", "treatment record"),
    "treatment transfer": pgettext_lazy("access log detail", "treatment transfer"),
    "two-factor": pgettext_lazy("access log detail", "two-factor sign-in"),
    "worksheet reviewed": pgettext_lazy("access log detail", "worksheet marked as read"),
    # A study's own changes (research.actions).
    "allocation sequence made": pgettext_lazy("access log detail", "allocation sequence made"),
    "arm added": pgettext_lazy("access log detail", "study arm added"),
    "recruitment opened; allocation sequences made": pgettext_lazy(
        "access log detail", "recruitment opened, allocation sequences made"
    ),
    "screening criterion added": pgettext_lazy("access log detail", "screening criterion added"),
    "study closed": pgettext_lazy("access log detail", "study closed"),
    "study created": pgettext_lazy("access log detail", "study created"),
    "study questionnaire added": pgettext_lazy("access log detail", "study questionnaire added"),
    "unit joined the study": pgettext_lazy("access log detail", "unit joined the study"),
    "time recorded": pgettext_lazy("access log detail", "time spent recorded"),
}
# Details the code writes with a part of their own (a study's code, a number of weeks).
DETAIL_PATTERNS = [
    (re.compile(pattern), name)
    for pattern, name in [
        (
            r"decision: not_suitable",
            pgettext_lazy("access log detail", "registration answered: referred to other care"),
        ),
        (
            r"decision: no_show",
            pgettext_lazy("access log detail", "recorded that the patient did not come"),
        ),
        (r"moved to unit \d+", pgettext_lazy("access log detail", "registration moved")),
        (
            r"role given: (?P<role>\w+)",
            pgettext_lazy("access log detail", "given the role %(role)s"),
        ),
        (
            r"role taken away: (?P<role>\w+)",
            pgettext_lazy("access log detail", "the role %(role)s taken away"),
        ),
        (
            r"moved to program version \d+",
            pgettext_lazy("access log detail", "treatment moved to a new version of its program"),
        ),
        (
            r"treatment moved to unit \d+, therapist \d+",
            pgettext_lazy("access log detail", "treatment moved"),
        ),
        (r"treatment ended: \w+", pgettext_lazy("access log detail", "treatment ended")),
        (
            r"extended (?P<weeks>\d+) weeks",
            pgettext_lazy("access log detail", "treatment extended (%(weeks)s wk)"),
        ),
        (
            r"included in study (?P<study>\S+)",
            pgettext_lazy("access log detail", "included in study %(study)s"),
        ),
        (
            r"randomised in study (?P<study>\S+)",
            pgettext_lazy("access log detail", "randomised in study %(study)s"),
        ),
        (
            r"study (?P<study>\S+) participants \(pseudonymised\)",
            pgettext_lazy("access log detail", "participants of study %(study)s, without names"),
        ),
        (
            r"study (?P<study>\S+) (long|wide) export \(pseudonymised\)",
            pgettext_lazy("access log detail", "export of study %(study)s, without names"),
        ),
    ]
]


def detail_named(detail: str) -> str:
    """A detail the code writes, in the reader's language; "" for one it does not know."""
    if detail in DETAIL_NAMES:
        return str(DETAIL_NAMES[detail])
    for pattern, name in DETAIL_PATTERNS:
        found = pattern.fullmatch(detail)
        if found:
            parts = found.groupdict()
            if "role" in parts and parts["role"] in StaffRole.values:
                parts["role"] = str(StaffRole(parts["role"]).label).lower()
            return str(name) % parts
    return ""


class AppendOnlyError(Exception):
    """The access log is append-only: rows are never updated or deleted."""


class AccessLogQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("The access log is append-only.")

    def delete(self):
        raise AppendOnlyError("The access log is append-only.")

    def for_patient(self, patient: Patient) -> "AccessLogQuerySet":
        return self.filter(patient=patient)

    def for_units(self, units) -> "AccessLogQuerySet":
        """The entries at these units, and the refused attempts (which belong to no unit) by
        their staff or on their patients, for the units' review. ``patient_is_theirs``: a
        refused attempt's patient may be named only where she is in the units' care (that a
        patient elsewhere exists is not theirs to learn)."""
        from ikbt.organisations.models import StaffMembership
        from ikbt.patients.models import CareRelationship

        by_their_staff = StaffMembership.objects.filter(
            unit__in=units, user_id=OuterRef("actor_id")
        )
        on_their_patient = CareRelationship.objects.filter(
            unit__in=units, patient_id=OuterRef("patient_id")
        )
        refused = Q(unit__isnull=True, action=AccessLogEntry.Action.DENIED) & (
            Exists(by_their_staff) | Exists(on_their_patient)
        )
        return self.filter(Q(unit__in=units) | refused).annotate(
            patient_is_theirs=Q(unit__isnull=False) | Exists(on_their_patient)
        )


class AccessLogEntry(models.Model):
    """One read or change of patient data, or a sign-in, by a person (Patientdatalagen 4 kap.
    3 §, HSLF-FS 2016:40 4 kap. 9 §). Written only through ``ikbt.audit.actions.log_access``.

    Who and in which role are copied into the row, so the log still says what was true at the
    time after a person changes role or unit. On PostgreSQL a trigger refuses UPDATE and
    DELETE (migration 0002).
    """

    class Action(models.TextChoices):
        READ = "read", _("Read")
        CREATE = "create", _("Created")
        CHANGE = "change", _("Changed")
        EXPORT = "export", _("Printed or exported")
        SIGN_IN = "sign_in", _("Signed in")
        DENIED = "denied", _("Access denied")
        LOG_REVIEW = "log_review", _("Reviewed the access log")

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("who"),
    )
    actor_name = models.CharField(_("name"), max_length=200)
    actor_role = models.CharField(_("role"), max_length=100, blank=True)
    patient = models.ForeignKey(
        Patient,
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        verbose_name=_("patient"),
    )
    unit = models.ForeignKey(
        CareUnit, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("unit")
    )
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    object_type = models.CharField(_("what"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True)

    objects = AccessLogQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log entries")
        indexes = [
            models.Index(fields=["patient", "-at"], name="accesslog_patient_at"),
            models.Index(fields=["unit", "-at"], name="accesslog_unit_at"),
            models.Index(fields=["actor", "-at"], name="accesslog_actor_at"),
            # The few changes to staff roles and accounts among a unit's many reads (the
            # unit's page lists the latest): found without walking the unit's whole log.
            models.Index(
                fields=["unit", "-at"],
                condition=models.Q(object_type="accounts.User"),
                name="accesslog_unit_staff_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise AppendOnlyError("The access log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("The access log is append-only.")

    @property
    def detail_shown(self) -> str:
        """The detail in the reader's language where the code wrote a known one."""
        return detail_named(self.detail) or self.detail

    @property
    def actor_role_shown(self) -> str:
        """The role as recorded (in Swedish), in the reader's language."""
        from ikbt.audit.actions import role_shown  # actions reads this module's models

        return role_shown(self.actor_role)

    @property
    def what_for_patient(self) -> str:
        """What was looked at, in the patient's words: the part of the record where the code
        names it ("treatment record"), otherwise the kind of record ("message thread")."""
        return detail_named(self.detail) or self.record_kind.lower()

    @property
    def record_kind(self) -> str:
        """What kind of record was read or changed, in the page's language ("Message"); the
        stored label ("messaging.Message") for a kind the code no longer has."""
        if not self.object_type:
            return ""
        try:
            return capfirst(apps.get_model(self.object_type)._meta.verbose_name)
        except (LookupError, ValueError):
            return self.object_type
