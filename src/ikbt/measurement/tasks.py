"""Background work for risk flags. Tasks take ids, fetch fresh and are safe to run twice."""

import datetime

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from ikbt.core.workdays import add_working_days
from ikbt.intake.models import Registration
from ikbt.measurement.models import RiskFlag
from ikbt.notifications.notices import send_notice
from ikbt.organisations.models import StaffAbsence, StaffMembership, StaffRole
from ikbt.organisations.roles import INTAKE_ROLES
from ikbt.patients.access import at_work_in_place_of
from ikbt.patients.models import CareRelationship


def working_day_after(moment: datetime.datetime) -> datetime.datetime:
    """The same time one working day later (Swedish working days, Stockholm time)."""
    return add_working_days(moment, 1)


@task()
@transaction.atomic
def notify_risk_flag(flag_id: int) -> int:
    """Tell those in the patient's care at the flag's unit, without saying what it is about
    (one away today: the colleague covering, else the unit's administrators); once, however
    often the task runs. The notices go out before the mark is committed, so a
    worker dying in between sends them again rather than not at all."""
    flag = (
        RiskFlag.objects.select_for_update(of=("self",))
        .select_related("patient", "response__instrument_version")
        .get(pk=flag_id)
    )
    if flag.notified_at is not None:
        return 0
    flag.notified_at = timezone.now()
    # Thoughts of taking her life right now: the unit's heads are told at once too.
    if flag.is_acute:
        flag.escalated_at = flag.notified_at
    flag.save(update_fields=["notified_at", "escalated_at"])
    relationships = CareRelationship.objects.active().filter(patient=flag.patient, unit=flag.unit)
    told = at_work_in_place_of(relationships) or triage_at_work(flag)
    sent = sum(send_notice(staff, "risk_flag") for staff in told)
    if flag.is_acute:
        sent += _tell_heads(flag, "risk_flag_acute", already=told)
    return sent


def _unit_admins(flag: RiskFlag) -> list:
    """The active administrators of the flag's unit (none for a flag without a unit)."""
    if flag.unit_id is None:
        return []
    return [
        membership.user
        for membership in StaffMembership.objects.filter(
            unit=flag.unit_id, role=StaffRole.UNIT_ADMIN, user__is_active=True
        ).select_related("user")
    ]


def _tell_heads(flag: RiskFlag, kind: str, already=()) -> int:
    """The unit's administrators get ``kind`` (those not told already). A unit without one:
    its region's administrators, who cannot open the patient, are asked to appoint one."""
    admins = _unit_admins(flag)
    if admins:
        return sum(send_notice(admin, kind) for admin in admins if admin not in already)
    if flag.unit_id is None:
        return 0
    region_admins = {
        membership.user_id: membership.user
        for membership in StaffMembership.objects.filter(
            unit__region=flag.unit.region_id, role=StaffRole.REGION_ADMIN, user__is_active=True
        ).select_related("user")
    }
    return sum(send_notice(admin, "unit_without_head") for admin in region_admins.values())


def triage_at_work(flag: RiskFlag) -> list:
    """No one is in the patient's care at the flag's unit. Before treatment (a critical
    answer at a registration waiting for a decision) the unit's therapists and administrators,
    who see its registrations, are told, those away today apart (all of them, should everyone
    be away); otherwise (a registration decided) its administrators, who still see it."""
    waiting = flag.response.registrations.filter(
        status__in=[Registration.Status.SUBMITTED, Registration.Status.BOOKED]
    ).exists()
    if not waiting:
        return _unit_admins(flag)
    triage = {
        membership.user_id: membership.user
        for membership in StaffMembership.objects.filter(
            unit_id=flag.unit_id, role__in=INTAKE_ROLES, user__is_active=True
        ).select_related("user")
    }
    away = set(
        StaffAbsence.objects.on(timezone.localdate())
        .filter(staff_id__in=triage)
        .values_list("staff_id", flat=True)
    )
    return [user for pk, user in triage.items() if pk not in away] or list(triage.values())


@task()
def escalate_risk_flags() -> int:
    """Flags still open a working day after they were raised go to the unit's administrators.

    Run every few minutes (``ikbt escalate_risk_flags`` from cron, or this task); each flag
    escalates once.
    """
    now = timezone.now()
    escalated = 0
    candidates = RiskFlag.objects.open().filter(
        escalated_at__isnull=True, raised_at__lte=now - datetime.timedelta(days=1)
    )
    for flag_id, raised_at in candidates.values_list("pk", "raised_at"):
        if working_day_after(raised_at) > now:
            continue
        with transaction.atomic():
            flag = RiskFlag.objects.select_for_update().get(pk=flag_id)
            if flag.escalated_at is not None or not flag.is_open:
                continue
            flag.escalated_at = now
            flag.save(update_fields=["escalated_at"])
            transaction.on_commit(lambda flag=flag: _tell_heads(flag, "risk_flag_escalated"))
        escalated += 1
    return escalated
