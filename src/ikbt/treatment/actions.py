"""Changes to a treatment, each in one function."""

import calendar
import datetime

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from ikbt.accounts.models import User
from ikbt.audit.actions import Action, log_access
from ikbt.measurement.actions import current_version, response_start
from ikbt.messaging.models import Message
from ikbt.notifications.notices import send_notice
from ikbt.notifications.tasks import send_notice_later
from ikbt.organisations.models import CareUnit, StaffRole
from ikbt.patients.models import CareRelationship
from ikbt.treatment.models import (
    ClinicalNote,
    EndReason,
    Enrollment,
    ModuleProgress,
    ReplyTemplate,
    TimeEntry,
    WorksheetAnswer,
)
from ikbt.treatment.outcome import summary_refresh


class TreatmentError(ValueError):
    pass


def _log(enrollment: Enrollment, by: User, action: str, obj, detail: str, request) -> None:
    """Write a staff member's change to the treatment into the access log."""
    log_access(
        by,
        action,
        request=request,
        patient=enrollment.patient,
        unit=enrollment.unit,
        obj=obj,
        detail=detail,
    )


@transaction.atomic
def enrollment_transfer(
    enrollment: Enrollment,
    *,
    unit: CareUnit,
    therapist: User,
    by: User,
    request: HttpRequest | None = None,
) -> Enrollment:
    """Move a treatment to another unit or responsible therapist. The care relationship
    follows: the old responsible therapist's ends, the new one's begins; both are logged."""
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    if enrollment.status == Enrollment.Status.ENDED:
        raise TreatmentError(_("An ended treatment cannot be moved."))
    if not therapist.is_active:
        raise TreatmentError(_("The therapist's account is closed. Choose another therapist."))
    if not therapist.memberships.filter(unit=unit, role=StaffRole.THERAPIST).exists():
        raise TreatmentError(_("The therapist does not work at that unit."))
    old_unit = enrollment.unit
    leaving = (
        CareRelationship.objects.active()
        .filter(
            patient=enrollment.patient,
            unit=old_unit,
            role=CareRelationship.Role.RESPONSIBLE_THERAPIST,
        )
        .exclude(staff=therapist, unit=unit)
    )
    if Message.objects.filter(
        Q(unit=old_unit) | Q(unit__isnull=True),
        thread__patient=enrollment.patient,
        held_for_review=True,
        sender_id__in=leaving.values("staff_id"),
    ).exists():
        # Once her care ends, the supervisor could no longer open the patient to read it.
        raise TreatmentError(
            _(
                "A reply by the responsible therapist waits for the supervisor. It must be "
                "read and sent before the treatment moves."
            )
        )
    left = set(leaving.values_list("staff_id", flat=True))
    leaving.update(ended_at=timezone.now())
    relationship, _created = CareRelationship.objects.get_or_create(
        patient=enrollment.patient,
        staff=therapist,
        unit=unit,
        ended_at=None,
        defaults={"role": CareRelationship.Role.RESPONSIBLE_THERAPIST},
    )
    if relationship.role != CareRelationship.Role.RESPONSIBLE_THERAPIST:
        relationship.role = CareRelationship.Role.RESPONSIBLE_THERAPIST
        relationship.save(update_fields=["role"])
    enrollment.unit = unit
    enrollment.save(update_fields=["unit"])
    summary_refresh(enrollment)
    # Someone new answers her (not her therapist moving to another unit with her): she is
    # told so, without who or why.
    if therapist.pk not in left and (left or _created):
        patient_user_id = enrollment.patient.user_id
        transaction.on_commit(
            lambda: send_notice_later.enqueue(patient_user_id, "care_team_changed")
        )
    log_access(
        by,
        Action.CHANGE,
        request=request,
        patient=enrollment.patient,
        unit=old_unit,
        obj=enrollment,
        detail=f"treatment moved to unit {unit.pk}, therapist {therapist.pk}",
    )
    return enrollment


class WorksheetConflict(TreatmentError):
    """The worksheet was saved from another device since this one loaded it."""

    def __init__(self, current: WorksheetAnswer) -> None:
        super().__init__("The worksheet was changed on another device.")
        self.current = current


@transaction.atomic
def worksheet_save(
    enrollment: Enrollment, worksheet_key: str, data: dict, *, revision: int
) -> WorksheetAnswer:
    """Save what the patient wrote, unless another device saved since ``revision`` was loaded;
    then nothing is overwritten and the caller shows both (no text is lost).

    A save of exactly the text already saved is no conflict: pressing "Save" or "Hand in"
    right after typing sends the same text twice, once by the autosave that leaving the field
    starts and once by the button, and whichever arrives second holds the older revision.
    """
    answer, _created = WorksheetAnswer.objects.select_for_update().get_or_create(
        enrollment=enrollment, worksheet_key=worksheet_key
    )
    if answer.revision != revision and answer.data == data:
        return answer
    if answer.revision != revision:
        raise WorksheetConflict(answer)
    answer.data = data
    answer.revision += 1
    answer.updated_at = timezone.now()
    answer.save(update_fields=["data", "revision", "updated_at"])
    return answer


def worksheet_hand_in(answer: WorksheetAnswer) -> None:
    answer.handed_in_at = timezone.now()
    answer.reviewed_at = None
    answer.save(update_fields=["handed_in_at", "reviewed_at"])


def worksheet_mark_read(answer: WorksheetAnswer, by: User, *, request=None) -> None:
    answer.reviewed_at = timezone.now()
    answer.save(update_fields=["reviewed_at"])
    _log(answer.enrollment, by, Action.CHANGE, answer, "worksheet reviewed", request)


def _progress(enrollment: Enrollment, module_key: str) -> ModuleProgress:
    progress, _created = ModuleProgress.objects.select_for_update().get_or_create(
        enrollment=enrollment, module_key=module_key
    )
    return progress


@transaction.atomic
def module_complete(enrollment: Enrollment, module_key: str, homework_report: str) -> bool:
    """The module is done, and the homework report (if she wrote one) goes to the therapist.
    A report once sent stays as the therapist read it: what she adds, she writes in a
    message. Whether what she sent now is the report (False: another was sent before, from
    another tab or device)."""
    progress = _progress(enrollment, module_key)
    now = timezone.now()
    progress.completed_at = progress.completed_at or now
    text = homework_report.strip()
    sent_before = progress.reported_at is not None
    if text and not sent_before:
        progress.homework_report = text
        progress.reported_at = now
    progress.save(update_fields=["completed_at", "homework_report", "reported_at"])
    return not (text and sent_before and text != progress.homework_report)


@transaction.atomic
def homework_draft_save(enrollment: Enrollment, module_key: str, text: str) -> bool:
    """Keep the homework report as the patient types; it is reported when the module is done.
    Whether it was kept: not once it has been sent."""
    progress = _progress(enrollment, module_key)
    if progress.reported_at is not None:
        return False
    progress.homework_report = text
    progress.save(update_fields=["homework_report"])
    return True


@transaction.atomic
def feedback_give(
    enrollment: Enrollment, module_key: str, text: str, *, by: User, request=None
) -> None:
    """The therapist's feedback on a module's homework; it may unlock the next module."""
    progress = _progress(enrollment, module_key)
    progress.feedback = text
    progress.feedback_at = timezone.now()
    progress.feedback_by = by
    progress.save(update_fields=["feedback", "feedback_at", "feedback_by"])
    _log(enrollment, by, Action.CREATE, progress, "feedback", request)
    user = enrollment.patient.user
    transaction.on_commit(lambda: send_notice(user, "new_message"))


@transaction.atomic
def module_unlock_by_hand(
    enrollment: Enrollment, module_key: str, *, unlock: bool, by: User, request=None
) -> None:
    progress = _progress(enrollment, module_key)
    progress.unlocked_by_hand_at = timezone.now() if unlock else None
    progress.save(update_fields=["unlocked_by_hand_at"])
    _log(
        enrollment,
        by,
        Action.CHANGE,
        progress,
        "module unlocked" if unlock else "module locked",
        request,
    )


FOLLOW_UPS = {"follow_up_3": 3, "follow_up_6": 6, "follow_up_12": 12}


def weekly_questionnaires_schedule(enrollment: Enrollment) -> int:
    """Ask for the plan's weekly questionnaires, each due on the same weekday as the start,
    weeks 2 to the planned last week (week 1 has the pre-treatment ones)."""
    codes = enrollment.program_version.measurement_plan.filter(when="weekly").values_list(
        "instrument_code", flat=True
    )
    versions = [current_version(code) for code in codes]
    weeks = enrollment.program_version.planned_weeks
    created = 0
    for week in range(1, weeks):
        due = enrollment.started_at + datetime.timedelta(weeks=week)
        for version in versions:
            response_start(
                enrollment.patient,
                version,
                unit=enrollment.unit,
                occasion="weekly",
                due_at=due,
            )
            created += 1
    return created


def _months_later(moment, months: int):
    """The same day ``months`` later (the month's last day when it is shorter)."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@transaction.atomic
def enrollment_end(
    enrollment: Enrollment, *, reason: str, note: str, by: User, request=None
) -> Enrollment:
    """End the treatment: ask for the post-treatment questionnaires now and the follow-ups at
    3, 6 and 12 months (they reach the patient though the treatment has ended)."""
    if reason not in EndReason.values:
        raise TreatmentError(_("Say how the treatment ended."))
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    if enrollment.status == Enrollment.Status.ENDED:
        raise TreatmentError(_("The treatment has already ended."))
    now = timezone.now()
    enrollment.status = Enrollment.Status.ENDED
    enrollment.ended_at = now
    enrollment.end_reason = reason
    enrollment.end_note = note
    enrollment.save(update_fields=["status", "ended_at", "end_reason", "end_note"])
    summary_refresh(enrollment)
    plan = enrollment.program_version.measurement_plan.all()
    for point in plan:
        if point.when == "post":
            due = now
        elif point.when in FOLLOW_UPS:
            due = _months_later(now, FOLLOW_UPS[point.when])
        else:
            continue
        response_start(
            enrollment.patient,
            current_version(point.instrument_code),
            unit=enrollment.unit,
            occasion=point.when,
            due_at=due,
        )
    _log(enrollment, by, Action.CHANGE, enrollment, f"treatment ended: {reason}", request)
    return enrollment


@transaction.atomic
def enrollment_pause(enrollment: Enrollment, *, paused: bool, by: User, request=None) -> None:
    enrollment.status = Enrollment.Status.PAUSED if paused else Enrollment.Status.ACTIVE
    enrollment.save(update_fields=["status"])
    _log(enrollment, by, Action.CHANGE, enrollment, "paused" if paused else "resumed", request)


@transaction.atomic
def enrollment_extend(enrollment: Enrollment, *, weeks: int, by: User, request=None) -> None:
    start = enrollment.planned_end or timezone.localdate(enrollment.started_at)
    enrollment.planned_end = start + datetime.timedelta(weeks=weeks)
    enrollment.save(update_fields=["planned_end"])
    _log(enrollment, by, Action.CHANGE, enrollment, f"extended {weeks} weeks", request)


def note_add(enrollment: Enrollment, text: str, *, by: User, request=None) -> None:
    note = ClinicalNote.objects.create(enrollment=enrollment, author=by, text=text)
    _log(enrollment, by, Action.CREATE, note, "clinical note", request)


@transaction.atomic
def time_add(
    enrollment: Enrollment, minutes: int, what: str, *, by: User, request=None
) -> TimeEntry:
    """Time spent on the patient (a call, reading her answers): a change to her record."""
    entry = TimeEntry.objects.create(
        enrollment=enrollment, staff=by, minutes=minutes, what=what[:200]
    )
    summary_refresh(enrollment)
    _log(enrollment, by, Action.CREATE, entry, "time recorded", request)
    return entry


def reply_template_save(owner: User, title: str, text: str) -> ReplyTemplate:
    return ReplyTemplate.objects.create(owner=owner, title=title[:100], text=text)


def reply_template_change(template: ReplyTemplate, title: str, text: str) -> ReplyTemplate:
    template.title, template.text = title[:100], text
    template.save(update_fields=["title", "text"])
    return template


def reply_template_delete(owner: User, template_id: int) -> None:
    ReplyTemplate.objects.filter(owner=owner, pk=template_id).delete()
