"""Every step of intake, each in one function that records its time."""

import datetime

from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from ikbt.accounts.models import User
from ikbt.audit.actions import Action, log_access
from ikbt.intake.eligibility import needs_guardian, refusal_for
from ikbt.intake.models import SLOT_MOST_MINUTES, Offering, Registration, Slot
from ikbt.measurement.actions import current_version, response_start
from ikbt.measurement.models import Response
from ikbt.notifications.tasks import send_notice_later
from ikbt.organisations.models import CareUnit, StaffAbsence
from ikbt.patients.models import CareRelationship, Guardian, Patient
from ikbt.programs.models import MeasurementPoint, Program, ProgramVersion
from ikbt.treatment.actions import weekly_questionnaires_schedule
from ikbt.treatment.models import Enrollment
from ikbt.treatment.outcome import summary_refresh


class IntakeError(ValueError):
    """A step that cannot be taken; the message says why. ``field``: the form field whose
    answer it turned on (the box she left unticked), where a form shows it."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def _log(registration: Registration, by: User, action: str, obj, detail: str, request) -> None:
    """Write a staff member's change to a registration into the access log, at its unit."""
    log_access(
        by,
        action,
        request=request,
        patient=registration.patient,
        unit=registration.offering.unit,
        obj=obj,
        detail=detail,
    )


def published_version(offering: Offering) -> ProgramVersion:
    version = (
        offering.program.versions.filter(status=ProgramVersion.Status.PUBLISHED)
        .order_by("-number")
        .first()
    )
    if version is None:
        raise IntakeError(_("The program has no published version."))
    return version


# A screening questionnaire answered at most this long before the start is her score before
# treatment: she is not asked the same questions again on being accepted (the outcome takes
# the screening score where there is no pre-treatment one: treatment.outcome).
SCREENING_COUNTS_AS_PRE = datetime.timedelta(days=14)


def _questionnaires(
    patient, version: ProgramVersion, when: str, unit, unanswered=(), answered_codes=()
):
    """Asks the program's questionnaires for ``when``. One of them among ``unanswered`` (the
    screening she has not filled in) is that one, asked for ``when`` now, not a second; one
    of ``answered_codes`` (answered at screening just now) is not asked again."""
    codes = version.measurement_plan.filter(when=when).values_list("instrument_code", flat=True)
    waiting = {response.instrument_version.instrument.code: response for response in unanswered}
    asked = []
    for code in codes:
        if code in answered_codes:
            continue
        response = waiting.get(code)
        if response is None:
            response = response_start(patient, current_version(code), unit=unit, occasion=when)
        else:
            response.occasion = when
            response.save(update_fields=["occasion"])
        asked.append(response)
    return asked


@transaction.atomic
def registration_submit(
    patient: Patient,
    offering: Offering,
    *,
    answers: dict,
    register_opt_out: bool,
    research_consent: bool = False,
    listed_here: bool = True,
    lives_here: bool | None = None,
    guardian_name: str = "",
    guardian_personal_number: str = "",
    guardian_phone: str = "",
) -> Registration:
    """File the interest registration and ask for the program's screening questionnaires.
    A patient whose home region was not known, registering where only residents may, has it
    from her own word (``lives_here``; None where she was not asked)."""
    today = timezone.localdate()
    refusal = refusal_for(patient, offering, today, listed_here=listed_here, lives_here=lives_here)
    if refusal is not None:
        raise IntakeError(f"{refusal.reason} {refusal.where_to}", field=refusal.field)
    if (
        patient.home_region_id is None
        and lives_here is True
        and offering.intake == Offering.Intake.RESIDENTS
    ):
        patient.home_region = offering.unit.region
        patient.save(update_fields=["home_region"])
    now = timezone.now()
    youth = needs_guardian(patient, offering, today)
    if youth and not (guardian_name and guardian_personal_number):
        raise IntakeError(_("A guardian must consent for a young person."))
    registration = Registration.objects.create(
        patient=patient,
        offering=offering,
        answers=answers,
        consent_treatment_at=now,
        register_opt_out=register_opt_out,
        consent_research_at=now if research_consent else None,
        guardian_name=guardian_name if youth else "",
        guardian_personal_number=guardian_personal_number if youth else "",
        guardian_phone=guardian_phone if youth else "",
        guardian_consent_at=now if youth else None,
    )
    version = published_version(offering)
    registration.screening.set(
        _questionnaires(patient, version, MeasurementPoint.When.SCREENING, offering.unit)
    )
    return registration


def slot_publish(
    therapist: User, *, unit, starts_at, minutes: int, mode: str, video_link: str
) -> Slot:
    """A therapist offers a time for an assessment interview, not overlapping another of
    hers (at any unit)."""
    if starts_at <= timezone.now():
        raise IntakeError(_("Choose a time in the future."))
    ends_at = starts_at + datetime.timedelta(minutes=minutes)
    near = Slot.objects.filter(
        therapist=therapist,
        starts_at__lt=ends_at,
        starts_at__gt=starts_at - datetime.timedelta(minutes=SLOT_MOST_MINUTES),
    )
    for other in near:
        if other.starts_at + datetime.timedelta(minutes=other.minutes) > starts_at:
            raise IntakeError(
                _("You already have a time then: %(start)s–%(end)s.")
                % {
                    "start": timezone.localtime(other.starts_at).strftime("%Y-%m-%d %H:%M"),
                    "end": timezone.localtime(
                        other.starts_at + datetime.timedelta(minutes=other.minutes)
                    ).strftime("%H:%M"),
                }
            )
    return Slot.objects.create(
        therapist=therapist,
        unit=unit,
        starts_at=starts_at,
        minutes=minutes,
        mode=mode,
        video_link=video_link,
    )


def slot_remove(slot_id: int, therapist: User) -> None:
    """A therapist takes back a free time of hers. One booked meanwhile stays booked."""
    mine = Slot.objects.filter(pk=slot_id, therapist=therapist)
    removed, _kinds = mine.filter(registration__isnull=True).delete()
    if not removed and mine.exists():
        raise IntakeError(_("The time is booked: it stays. Call the patient to move it."))


@transaction.atomic
def slot_book(
    slot: Slot, registration: Registration, *, by: User, request: HttpRequest | None = None
) -> Slot:
    """Book ``slot`` for ``registration``. Of two people pressing at once, exactly one wins:
    the row is updated only while it is still free. Booked by staff, it is in the access
    log."""
    if not registration.is_waiting:
        raise IntakeError(_("The registration is not waiting for an assessment."))
    if slot.unit_id != registration.offering.unit_id:
        raise IntakeError(_("The time belongs to another unit."))
    if Slot.objects.filter(registration=registration).exists():
        raise IntakeError(_("The registration already has a booked time."))
    now = timezone.now()
    away = StaffAbsence.objects.on(timezone.localdate(slot.starts_at))
    if away.filter(staff_id=slot.therapist_id).exists():
        raise IntakeError(_("The therapist is away that day. Choose another time."))
    won = Slot.objects.filter(pk=slot.pk, registration__isnull=True, starts_at__gt=now).update(
        registration=registration, booked_at=now
    )
    if not won:
        raise IntakeError(_("Someone else booked that time just now. Choose another."))
    registration.status = Registration.Status.BOOKED
    registration.save(update_fields=["status"])
    CareRelationship.objects.get_or_create(
        patient=registration.patient,
        staff=slot.therapist,
        unit=slot.unit,
        ended_at=None,
        defaults={"role": CareRelationship.Role.ASSESSOR},
    )
    _schedule_reminder(slot, now)
    if by.is_staff_member:
        _log(registration, by, Action.CHANGE, registration, "assessment booked", request)
    if by.pk != registration.patient.user_id and slot.starts_at - CANCEL_BEFORE > now:
        # Booked by the unit: she is told now, not only by the reminder a day before (when
        # cancelling here has closed). Less than a day away, the reminder goes at once.
        user_id = registration.patient.user_id
        transaction.on_commit(lambda: send_notice_later.enqueue(user_id, "time_booked"))
    slot.refresh_from_db()
    return slot


# A booked time is cancelled here up to a day before; later, the patient calls the unit (a
# time missed without a word is a no-show, for the unit to decide).
CANCEL_BEFORE = datetime.timedelta(hours=24)


@transaction.atomic
def booking_cancel(registration: Registration, *, by: User) -> None:
    """The patient cannot come at her booked time: it is free for others to book again, her
    registration waits for a time once more (she books another), the therapist who was to
    assess her no longer sees her (unless another booking of hers is with him), and he is told
    that a time is free (not whose)."""
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    slot = Slot.objects.filter(registration=registration).first()
    if registration.status != Registration.Status.BOOKED or slot is None:
        raise IntakeError(_("There is no booked time to cancel."))
    if slot.starts_at - CANCEL_BEFORE <= timezone.now():
        raise IntakeError(_("The time is less than a day away: call the unit to cancel it."))
    _release_slot(registration)
    if not Slot.objects.filter(
        therapist=slot.therapist, registration__patient=registration.patient
    ).exists():
        _end_assessor(registration, only=slot.therapist)
    registration.status = Registration.Status.SUBMITTED
    registration.save(update_fields=["status"])
    therapist_id = slot.therapist_id
    transaction.on_commit(lambda: send_notice_later.enqueue(therapist_id, "booking_cancelled"))


def _release_slot(
    registration: Registration,
    *,
    after: datetime.datetime | None = None,
    by: User | None = None,
) -> None:
    """The registration's booked time, if any, free for others to book (only one starting
    ``after`` a moment: a time already held stays as the record of the assessment). Its
    therapist, if it is not ``by`` who frees it, is told that a time is free (not whose)."""
    booked = Slot.objects.filter(registration=registration)
    if after is not None:
        booked = booked.filter(starts_at__gt=after)
    therapists = {slot.therapist_id for slot in booked} - {by.pk if by else None}
    booked.update(registration=None, booked_at=None)
    if by is None:
        return  # the patient cancelled: booking_cancel tells the therapist
    for therapist_id in therapists:
        transaction.on_commit(
            lambda therapist_id=therapist_id: send_notice_later.enqueue(
                therapist_id, "booking_cancelled"
            )
        )


def _tell_decided(registration: Registration) -> None:
    """She is told that her registration is answered (not how): accepted, referred or
    recorded as not come, her pages say what comes next."""
    user_id = registration.patient.user_id
    transaction.on_commit(lambda: send_notice_later.enqueue(user_id, "registration_decided"))


def _schedule_reminder(slot: Slot, now: datetime.datetime) -> None:
    """The day before, or at once for a time less than a day away. A backend that cannot
    run tasks later (the ``immediate`` one of tests and demos without a worker) skips it."""
    from django_tasks import default_task_backend

    from ikbt.intake.tasks import remind_assessment

    if not default_task_backend.supports_defer:
        return
    reminder_at = max(slot.starts_at - datetime.timedelta(hours=24), now)
    transaction.on_commit(lambda: remind_assessment.using(run_after=reminder_at).enqueue(slot.pk))


def _end_assessor(
    registration: Registration, keep: User | None = None, only: User | None = None
) -> None:
    """The patient's assessors at the registration's unit no longer see her: all but
    ``keep``, or ``only`` that one."""
    relationships = CareRelationship.objects.active().filter(
        patient=registration.patient,
        unit=registration.offering.unit,
        role=CareRelationship.Role.ASSESSOR,
    )
    if keep is not None:
        relationships = relationships.exclude(staff=keep)
    if only is not None:
        relationships = relationships.filter(staff=only)
    relationships.update(ended_at=timezone.now())


@transaction.atomic
def guardian_consent_confirm(
    registration: Registration, *, by: User, note: str, request: HttpRequest | None = None
) -> None:
    """The unit has confirmed with the guardian the consent the young person stated."""
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    if registration.guardian_consent_at is None:
        raise IntakeError(_("This registration needs no guardian's consent."))
    registration.guardian_consent_confirmed_at = timezone.now()
    registration.guardian_consent_confirmed_by = by
    registration.guardian_consent_note = note
    registration.save(
        update_fields=[
            "guardian_consent_confirmed_at",
            "guardian_consent_confirmed_by",
            "guardian_consent_note",
        ]
    )
    # Confirmed, the guardian is on her record: staff in her care reach them from there.
    if registration.guardian_personal_number:
        guardian, _created = Guardian.objects.get_or_create(
            patient=registration.patient,
            personal_number=registration.guardian_personal_number,
            defaults={"name": registration.guardian_name},
        )
        # As short as the record keeps it, without spaces if need be; a number there stays.
        longest = Guardian._meta.get_field("mobile").max_length
        phone = registration.guardian_phone
        if len(phone) > longest:
            phone = phone.replace(" ", "").replace("-", "")
        if phone and not guardian.mobile and len(phone) <= longest:
            guardian.mobile = phone
            guardian.save(update_fields=["mobile"])
    _log(registration, by, Action.CHANGE, registration, "guardian's consent confirmed", request)


@transaction.atomic
def registration_accept(
    registration: Registration,
    *,
    by: User,
    therapist: User,
    start_date: datetime.date,
    note: dict,
    request: HttpRequest | None = None,
) -> Enrollment:
    """Accept: the treatment starts on ``start_date`` with its responsible therapist, planned
    to end after the program's planned weeks, and the pre-treatment questionnaires are asked."""
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    if not registration.is_waiting:
        raise IntakeError(_("The registration has already been decided."))
    if registration.guardian_consent_at and not registration.guardian_consent_confirmed_at:
        raise IntakeError(
            _("Confirm the guardian's consent with the guardian before accepting a young person.")
        )
    now = timezone.now()
    offering = registration.offering
    version = published_version(offering)
    registration.status = Registration.Status.ACCEPTED
    registration.assessed_at = registration.assessed_at or now
    registration.decided_at = now
    registration.decided_by = by
    registration.assessment_note = note
    registration.start_date = start_date
    registration.responsible_therapist = therapist
    registration.save()
    _release_slot(registration, after=now, by=by)  # decided before its time: not needed
    _tell_decided(registration)
    started = timezone.make_aware(datetime.datetime.combine(start_date, datetime.time.min))
    enrollment = Enrollment.objects.create(
        patient=registration.patient,
        unit=offering.unit,
        program_version=version,
        started_at=started,
        planned_end=start_date + datetime.timedelta(weeks=version.planned_weeks),
    )
    CareRelationship.objects.get_or_create(
        patient=registration.patient,
        staff=therapist,
        unit=offering.unit,
        ended_at=None,
        defaults={"role": CareRelationship.Role.RESPONSIBLE_THERAPIST},
    )
    CareRelationship.objects.active().filter(
        patient=registration.patient, staff=therapist, unit=offering.unit
    ).update(role=CareRelationship.Role.RESPONSIBLE_THERAPIST)
    summary_refresh(enrollment)  # scores given before the start count as "before"
    _end_assessor(registration, keep=therapist)
    screening = list(registration.screening.select_related("instrument_version__instrument"))
    _questionnaires(
        registration.patient,
        version,
        MeasurementPoint.When.PRE,
        offering.unit,
        unanswered=[response for response in screening if not response.is_submitted],
        answered_codes={
            response.instrument_version.instrument.code
            for response in screening
            if response.is_submitted and response.submitted_at >= started - SCREENING_COUNTS_AS_PRE
        },
    )
    weekly_questionnaires_schedule(enrollment)
    _log(registration, by, Action.CREATE, enrollment, "accepted for treatment", request)
    return enrollment


@transaction.atomic
def registration_decline(
    registration: Registration,
    *,
    by: User,
    status: str,
    reason: str,
    referred_to: str = "",
    note: dict | None = None,
    request: HttpRequest | None = None,
) -> Registration:
    """Not suitable (with the reason and where the patient was referred) or no-show."""
    if status not in (Registration.Status.NOT_SUITABLE, Registration.Status.NO_SHOW):
        raise IntakeError(_("Unknown decision."))
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    if not registration.is_waiting:
        raise IntakeError(_("The registration has already been decided."))
    now = timezone.now()
    slot = Slot.objects.filter(registration=registration).first()
    if status == Registration.Status.NO_SHOW and (slot is None or slot.starts_at > now):
        raise IntakeError(
            _("The assessment time has not begun: record that the patient did not come after it.")
        )
    _release_slot(registration, after=now, by=by)  # referred before the assessment time
    _tell_decided(registration)
    registration.status = status
    registration.assessed_at = now if status == Registration.Status.NOT_SUITABLE else None
    registration.decided_at = now
    registration.decided_by = by
    registration.decision_reason = reason
    registration.referred_to = referred_to
    registration.assessment_note = note or {}
    registration.save()
    # Her screening questionnaires not sent are asked no more (what she sent stays).
    registration.screening.filter(status=Response.Status.IN_PROGRESS).delete()
    _end_assessor(registration)
    _log(registration, by, Action.CHANGE, registration, f"decision: {status}", request)
    return registration


@transaction.atomic
def registration_transfer(
    registration: Registration, offering: Offering, *, by: User, request: HttpRequest | None = None
) -> Registration:
    """A unit administrator moves a waiting registration to another unit's offering."""
    registration = Registration.objects.select_for_update().get(pk=registration.pk)
    if not registration.is_waiting:
        raise IntakeError(_("Only a registration still waiting can be moved."))
    if offering.program_id != registration.offering.program_id:
        raise IntakeError(_("The other unit must offer the same program."))
    # Logged at the unit it leaves, where the change was made.
    _log(
        registration, by, Action.CHANGE, registration, f"moved to unit {offering.unit_id}", request
    )
    _release_slot(registration, by=by)
    _end_assessor(registration)
    registration.offering = offering
    registration.status = Registration.Status.SUBMITTED
    registration.save(update_fields=["offering", "status"])
    registration.screening.filter(status="in_progress").update(unit=offering.unit)
    return registration


def programs_to_offer(unit: CareUnit):
    """The programs ``unit`` may offer: its region's own and those it adopted, published."""
    return (
        Program.objects.filter(
            # An adoption counts while the owner still shares the program.
            Q(owner_region_id=unit.region_id)
            | Q(adoptions__region_id=unit.region_id, shared=True),
            versions__status=ProgramVersion.Status.PUBLISHED,
        )
        .distinct()
        .order_by("slug")
    )


@transaction.atomic
def offering_add(
    unit: CareUnit, program: Program, *, intake: str, waiting_limit_days: int
) -> Offering:
    """``unit`` offers ``program`` on the region's e-service page from now."""
    if not programs_to_offer(unit).filter(pk=program.pk).exists():
        raise IntakeError(_("The region neither owns nor has adopted a published version of it."))
    offering, created = Offering.objects.get_or_create(
        unit=unit,
        program=program,
        defaults={"intake": intake, "waiting_limit_days": waiting_limit_days},
    )
    if not created:
        raise IntakeError(_("The unit offers this program already."))
    return offering


@transaction.atomic
def offering_change(
    offering: Offering, *, intake: str, is_open: bool, waiting_limit_days: int
) -> Offering:
    """Who may register, whether registration is open, and the longest acceptable wait.
    Closing stops new registrations; those already made stay in the queue."""
    offering.intake, offering.is_open = intake, is_open
    offering.waiting_limit_days = waiting_limit_days
    offering.save(update_fields=["intake", "is_open", "waiting_limit_days"])
    return offering
