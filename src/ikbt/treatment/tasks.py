"""Reminders, nudges and escalations. Each takes ids or nothing, fetches fresh, and marks
what it sent, so a worker that runs it twice sends once."""

import datetime

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from ikbt.core.workdays import add_working_days
from ikbt.measurement.models import Response
from ikbt.messaging.models import Message
from ikbt.notifications.notices import send_notice
from ikbt.organisations.models import StaffMembership, StaffRole
from ikbt.patients.models import CareRelationship
from ikbt.treatment.models import Enrollment

INACTIVE_AFTER = datetime.timedelta(days=7)


@task()
def remind_due_questionnaires() -> int:
    """One content-free reminder when a questionnaire comes due (follow-ups included): one
    notice per patient in a run, however many came due together."""
    sent = 0
    told: set[int] = set()
    candidates = (
        Response.objects.askable()
        .filter(
            status=Response.Status.IN_PROGRESS,
            filled_in_by__isnull=True,
            reminded_at__isnull=True,
            due_at__lte=timezone.now(),
        )
        .values_list("pk", flat=True)
    )
    for response_id in candidates:
        with transaction.atomic():
            response = (
                Response.objects.select_for_update(of=("self",))
                .select_related("patient__user")
                .get(pk=response_id)
            )
            if response.reminded_at is not None:
                continue
            response.reminded_at = timezone.now()
            response.save(update_fields=["reminded_at"])
            user = response.patient.user
            if user.pk in told:
                continue
            told.add(user.pk)
            transaction.on_commit(lambda user=user: send_notice(user, "questionnaire_due"))
            sent += 1
    return sent


def _last_activity(enrollment: Enrollment) -> datetime.datetime:
    moments = [
        enrollment.started_at,
        *enrollment.worksheet_answers.values_list("updated_at", flat=True),
        *enrollment.progress.exclude(completed_at=None).values_list("completed_at", flat=True),
        *Response.objects.filter(patient=enrollment.patient)
        .exclude(submitted_at=None)
        .values_list("submitted_at", flat=True),
        *Message.objects.filter(
            thread__patient=enrollment.patient, sender=enrollment.patient.user
        ).values_list("sent_at", flat=True),
    ]
    return max(moments)


@task()
def nudge_inactive_patients() -> int:
    """A gentle, content-free nudge to patients who have done nothing for seven days; once
    per quiet spell."""
    now = timezone.now()
    sent = 0
    for enrollment_id in Enrollment.objects.filter(status=Enrollment.Status.ACTIVE).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            enrollment = (
                Enrollment.objects.select_for_update(of=("self",))
                .select_related("patient__user")
                .get(pk=enrollment_id)
            )
            last = _last_activity(enrollment)
            quiet = now - last > INACTIVE_AFTER
            already = enrollment.nudged_at is not None and enrollment.nudged_at > last
            if not quiet or already:
                continue
            enrollment.nudged_at = now
            enrollment.save(update_fields=["nudged_at"])
            user = enrollment.patient.user
            transaction.on_commit(lambda user=user: send_notice(user, "inactive"))
            sent += 1
    return sent


@task()
def escalate_overdue_replies() -> int:
    """A patient's message unanswered past the unit's deadline (working days, Swedish holidays
    counted out) goes to the unit's administrators, once. Read is not answered: a message
    opened and forgotten is overdue too."""
    now = timezone.now()
    escalated = 0
    waiting = Message.objects.filter(
        sender__kind="patient", answered_at__isnull=True, escalated_at__isnull=True
    ).select_related("thread__patient")
    for message in waiting:
        units = {
            relationship.unit
            for relationship in CareRelationship.objects.active()
            .filter(patient=message.thread.patient)
            .select_related("unit")
        }
        days = min((unit.reply_within_days for unit in units), default=2)
        if add_working_days(message.sent_at, days) > now:
            continue
        with transaction.atomic():
            if not Message.objects.filter(pk=message.pk, escalated_at__isnull=True).update(
                escalated_at=now
            ):
                continue
            admins = {
                membership.user
                for membership in StaffMembership.objects.filter(
                    unit__in=units, role=StaffRole.UNIT_ADMIN
                ).select_related("user")
            }
            for admin in admins:
                transaction.on_commit(lambda user=admin: send_notice(user, "reply_overdue"))
        escalated += 1
    return escalated
