"""Every change to a study, its participants, their consent and their allocation, each in one
function that runs in a transaction and writes the access log."""

import calendar
import datetime
import time
from collections.abc import Callable
from functools import wraps

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from ikbt.accounts.models import User
from ikbt.audit.actions import Action, log_access
from ikbt.intake.eligibility import ADULT_AGE
from ikbt.measurement.actions import current_version, response_start
from ikbt.measurement.models import Instrument, Response
from ikbt.organisations.models import CareUnit, StaffRole
from ikbt.patients.models import Patient
from ikbt.programs.actions import latest_published
from ikbt.research import randomisation
from ikbt.research.access import including_relationship
from ikbt.research.eligibility import age_refusal, refusals_for
from ikbt.research.models import (
    Allocation,
    AllocationSequence,
    AllocationSlot,
    Arm,
    Participant,
    ResearchConsent,
    ScreeningCriterion,
    Study,
    StudyMeasurement,
    StudyMember,
    StudyResponse,
    StudyUnit,
)
from ikbt.research.signatures import (
    BOTH_GUARDIANS_AGE,
    guardian_signature_refusal,
    signature_refusal,
    sole_custody_refusal,
)

FOLLOW_UPS = {"follow_up_3": 3, "follow_up_6": 6, "follow_up_12": 12}


class ResearchError(ValueError):
    """A step that cannot be taken; the message says why."""


LOCK_RETRIES = 20


def retry_when_locked(function: Callable) -> Callable:
    """Run the transaction again when SQLite says "database (table) is locked".

    PostgreSQL makes the second of two concurrent transactions wait for the row lock; SQLite
    may instead refuse at once (always so for the shared in-memory database of tests). The
    refused transaction has been rolled back whole, so it is simply tried again after a short
    pause, and then sees what the first one committed. Inside an outer transaction nothing is
    retried: the error goes to the caller who owns the transaction.
    """

    @wraps(function)
    def wrapper(*args, **kwargs):
        for attempt in range(LOCK_RETRIES):
            try:
                return function(*args, **kwargs)
            except OperationalError as error:
                if connection.in_atomic_block or "locked" not in str(error):
                    raise
                if attempt == LOCK_RETRIES - 1:
                    raise
                time.sleep(0.02 * (attempt + 1))
        return None  # not reached

    return wrapper


def _log_study(by: User, action: str, obj, detail: str, request, unit=None) -> None:
    log_access(by, action, request=request, unit=unit, obj=obj, detail=detail)


def _locked(study: Study) -> Study:
    return Study.objects.select_for_update().get(pk=study.pk)


def _locked_planned(study: Study) -> Study:
    study = _locked(study)
    if not study.is_planned:
        raise ResearchError(_("The setup can change only while the study is planned."))
    return study


# --- Setting up a study ---------------------------------------------------------------------


@transaction.atomic
def study_create(*, by: User, request: HttpRequest | None = None, **fields) -> Study:
    """A planned study; ``fields`` are the model's (title, region, principal investigator …).
    A researcher who sets up a study for someone else joins it as a member."""
    study = Study.objects.create(**fields)
    is_researcher = by.memberships.filter(role=StaffRole.RESEARCHER).exists()
    if by.pk != study.principal_investigator_id and is_researcher:
        StudyMember.objects.create(study=study, user=by)
    _log_study(by, Action.CREATE, study, "study created", request)
    return study


@transaction.atomic
def study_update(
    study: Study, fields: dict, *, by: User, request: HttpRequest | None = None
) -> Study:
    study = _locked_planned(study)
    for name, value in fields.items():
        setattr(study, name, value)
    study.save(update_fields=list(fields))
    _log_study(by, Action.CHANGE, study, "study changed: " + ", ".join(sorted(fields)), request)
    return study


@transaction.atomic
def study_unit_add(
    study: Study, unit: CareUnit, *, by: User, request: HttpRequest | None = None
) -> StudyUnit:
    """A unit joins; while recruiting its strata's sequences are generated at once."""
    study = _locked(study)
    if study.status == Study.Status.CLOSED:
        raise ResearchError(_("The study is closed."))
    if study.units.filter(unit=unit).exists():
        raise ResearchError(_("The unit already takes part."))
    study_unit = StudyUnit.objects.create(
        study=study, unit=unit, code=f"U{study.units.count() + 1}"
    )
    if study.is_recruiting:
        for strata in randomisation.strata_combinations(study.stratification_factors):
            _sequence_generate(study, unit, strata)
    _log_study(by, Action.CREATE, study_unit, "unit joined the study", request, unit=unit)
    return study_unit


@transaction.atomic
def arm_add(study: Study, *, name: str, program, ratio: int = 1, by: User, request=None) -> Arm:
    study = _locked_planned(study)
    if study.arms.filter(name=name).exists():
        raise ResearchError(_("The study already has an arm with that name."))
    if program is not None and latest_published(program) is None:
        raise ResearchError(_("The program has no published version."))
    arm = Arm.objects.create(study=study, name=name, program=program, ratio=ratio)
    _log_study(by, Action.CREATE, arm, "arm added", request)
    return arm


def _instrument_exists(code: str) -> None:
    if not Instrument.objects.filter(code=code).exists():
        raise ResearchError(_("There is no questionnaire %(code)s.") % {"code": code})


@transaction.atomic
def study_measurement_add(
    study: Study,
    *,
    when: str,
    instrument_code: str,
    arm: Arm | None = None,
    by: User,
    request=None,
) -> StudyMeasurement:
    study = _locked_planned(study)
    _instrument_exists(instrument_code)
    if arm is not None and arm.study_id != study.pk:
        raise ResearchError(_("The arm belongs to another study."))
    measurement, created = StudyMeasurement.objects.get_or_create(
        study=study, arm=arm, when=when, instrument_code=instrument_code
    )
    if not created:
        raise ResearchError(_("The study already asks for that questionnaire then."))
    _log_study(by, Action.CREATE, measurement, "study questionnaire added", request)
    return measurement


@transaction.atomic
def screening_criterion_add(
    study: Study,
    *,
    instrument_code: str,
    min_total: int | None,
    max_total: int | None,
    by: User,
    request=None,
) -> ScreeningCriterion:
    study = _locked_planned(study)
    _instrument_exists(instrument_code)
    if min_total is None and max_total is None:
        raise ResearchError(_("Give a lowest or a highest total."))
    if study.screening.filter(instrument_code=instrument_code).exists():
        raise ResearchError(_("The study already screens by that questionnaire."))
    criterion = ScreeningCriterion.objects.create(
        study=study, instrument_code=instrument_code, min_total=min_total, max_total=max_total
    )
    _log_study(by, Action.CREATE, criterion, "screening criterion added", request)
    return criterion


@transaction.atomic
def study_member_add(study: Study, user: User, *, by: User, request=None) -> StudyMember:
    if not user.memberships.filter(role=StaffRole.RESEARCHER).exists():
        raise ResearchError(_("Only staff with the researcher role can join a study."))
    member, created = StudyMember.objects.get_or_create(study=study, user=user)
    if not created:
        raise ResearchError(_("The researcher is already a member."))
    _log_study(by, Action.CREATE, member, f"researcher {user.pk} joined", request)
    return member


@transaction.atomic
def setup_remove(study: Study, obj, *, by: User, request=None) -> None:
    """Take away an arm, unit, questionnaire or criterion (while planned) or a researcher."""
    study = _locked(study) if isinstance(obj, StudyMember) else _locked_planned(study)
    if obj.study_id != study.pk:
        raise ResearchError(_("That belongs to another study."))
    _log_study(by, Action.CHANGE, study, f"removed {obj._meta.model_name} {obj.pk}", request)
    obj.delete()


# --- Recruitment ----------------------------------------------------------------------------


def _arm_weights(study: Study) -> list[tuple[int, int]]:
    return list(study.arms.order_by("pk").values_list("pk", "ratio"))


def _factors_problem(factors) -> str | None:
    if not isinstance(factors, list):
        return _("Stratification factors must be a list.")
    for factor in factors:
        if not (
            isinstance(factor, dict)
            and isinstance(factor.get("name"), str)
            and factor["name"]
            and isinstance(factor.get("choices"), list)
            and len(factor["choices"]) >= 2
            and all(isinstance(choice, str) and choice for choice in factor["choices"])
        ):
            return _("Each stratification factor needs a name and at least two choices.")
    return None


def _append_blocks(sequence: AllocationSequence, study: Study, needed: int) -> int:
    """Add complete permuted blocks after the sequence's last place; returns places added."""
    last = sequence.slots.order_by("-position").values_list("position", "block").first()
    position, block_number = last or (0, 0)
    blocks = randomisation.make_blocks(needed, study.block_sizes, _arm_weights(study))
    slots = []
    for block in blocks:
        block_number += 1
        for arm_id in block.arms:
            position += 1
            slots.append(
                AllocationSlot(
                    sequence=sequence,
                    position=position,
                    block=block_number,
                    block_size=block.size,
                    arm_id=arm_id,
                )
            )
    AllocationSlot.objects.bulk_create(slots)
    return len(slots)


def _sequence_generate(study: Study, unit: CareUnit, strata: dict) -> AllocationSequence:
    sequence = AllocationSequence.objects.create(
        study=study, unit=unit, strata=strata, key=randomisation.stratum_key(unit.pk, strata)
    )
    _append_blocks(sequence, study, study.planned_size)
    return sequence


@transaction.atomic
def study_open_recruitment(study: Study, *, by: User, request=None) -> Study:
    """Check the setup, generate every stratum's concealed sequence (enough complete blocks
    for the planned size in each) and start recruiting."""
    study = _locked_planned(study)
    weights = _arm_weights(study)
    if len(weights) < 2:
        raise ResearchError(_("A randomised study needs at least two arms."))
    units = [study_unit.unit for study_unit in study.units.select_related("unit")]
    if not units:
        raise ResearchError(_("Add the participating units first."))
    problem = _factors_problem(study.stratification_factors)
    if problem:
        raise ResearchError(problem)
    if randomisation.block_sizes_problem(study.block_sizes, [ratio for _, ratio in weights]):
        raise ResearchError(
            _("Each block size must be a multiple of %(total)s, the sum of the arms' ratios.")
            % {"total": sum(ratio for _, ratio in weights)}
        )
    for unit in units:
        for strata in randomisation.strata_combinations(study.stratification_factors):
            _sequence_generate(study, unit, strata)
    study.status = Study.Status.RECRUITING
    study.opened_at = timezone.now()
    study.save(update_fields=["status", "opened_at"])
    _log_study(by, Action.CHANGE, study, "recruitment opened; allocation sequences made", request)
    return study


@transaction.atomic
def study_close(study: Study, *, by: User, request=None) -> Study:
    study = _locked(study)
    if study.status == Study.Status.CLOSED:
        raise ResearchError(_("The study is already closed."))
    study.status = Study.Status.CLOSED
    study.closed_at = timezone.now()
    study.save(update_fields=["status", "closed_at"])
    _log_study(by, Action.CHANGE, study, "study closed", request)
    return study


def _clean_strata(study: Study, strata: dict) -> dict[str, str]:
    cleaned = {}
    for factor in study.stratification_factors:
        value = strata.get(factor["name"])
        if value not in factor["choices"]:
            raise ResearchError(_("Choose a value for %(factor)s.") % {"factor": factor["name"]})
        cleaned[factor["name"]] = value
    return cleaned


@retry_when_locked
@transaction.atomic
def participant_include(
    study: Study,
    patient: Patient,
    *,
    unit: CareUnit,
    by: User,
    strata: dict,
    exclusion_checked: bool,
    request: HttpRequest | None = None,
) -> Participant:
    """Include a patient who meets the criteria: they get a study id and are asked for their
    consent on their own pages. Only their responsible therapist or assessor includes."""
    study = _locked(study)  # serialises inclusions, so study ids are handed out once
    if not study.is_recruiting:
        raise ResearchError(_("The study is not recruiting."))
    if not study.units.filter(unit=unit).exists():
        raise ResearchError(_("The unit does not take part in the study."))
    if including_relationship(by, patient, unit.pk) is None:
        raise ResearchError(
            _("Only the patient's responsible therapist or assessor at the unit can include.")
        )
    if study.participants.filter(patient=patient).exists():
        raise ResearchError(_("The patient is already included in the study."))
    if study.exclusion_criteria.strip() and not exclusion_checked:
        raise ResearchError(_("Confirm that none of the exclusion criteria applies."))
    cleaned_strata = _clean_strata(study, strata)
    today = timezone.localdate()
    refusals, screening = refusals_for(study, patient, today)
    if refusals:
        raise ResearchError(" ".join(refusals))
    participant = Participant.objects.create(
        study=study,
        patient=patient,
        unit=unit,
        pseudonym=f"{study.code}-{study.next_number:04d}",
        strata=cleaned_strata,
        age_at_inclusion=patient.age_on(today),
        included_by=by,
        exclusion_checked=exclusion_checked,
    )
    participant.screening_responses.set(screening)
    study.next_number += 1
    study.save(update_fields=["next_number"])
    log_access(
        by,
        Action.CREATE,
        request=request,
        patient=patient,
        unit=unit,
        obj=participant,
        detail=f"included in study {study.code}",
    )
    return participant


# --- Consent --------------------------------------------------------------------------------


def _signature_refusal(
    patient: Patient,
    signed_name: str,
    age: int,
    guardians: list[tuple[str, str]],
    sole_guardian: bool,
) -> str | None:
    refusal = signature_refusal(patient, signed_name)
    if refusal or age >= ADULT_AGE:
        return refusal
    if not guardians or not (guardians[0][0].strip() and guardians[0][1]):
        return _("A guardian must also sign for a person under 18.")
    if age < BOTH_GUARDIANS_AGE and sole_guardian:
        refusal = sole_custody_refusal(patient)
        if refusal:
            return refusal
    if age < BOTH_GUARDIANS_AGE and not sole_guardian:
        if len(guardians) < 2 or not (guardians[1][0].strip() and guardians[1][1]):
            return _("Under 15 both guardians sign, unless the one who signed has sole custody.")
        if guardians[1][1] == guardians[0][1]:
            return _("The second guardian is someone other than the first.")
    for name, number in guardians:
        refusal = guardian_signature_refusal(patient, name, number)
        if refusal:
            return refusal
    return None


@transaction.atomic
def consent_sign(
    participant: Participant,
    *,
    signed_name: str,
    guardian_name: str = "",
    guardian_personal_number: str = "",
    second_guardian_name: str = "",
    second_guardian_personal_number: str = "",
    sole_guardian: bool = False,
) -> ResearchConsent:
    """The patient signs the study's consent on her own pages, with her name as her records
    have it: a guardian too under 18, and under 15 both guardians, unless the one who signs
    has sole custody (Lag 2003:460 om etikprövning, 18 §). Age is checked again on the day
    of consent."""
    participant = (
        Participant.objects.select_for_update()
        .select_related("study", "patient")
        .get(pk=participant.pk)
    )
    study = participant.study
    if ResearchConsent.objects.filter(participant=participant).exists():
        raise ResearchError(_("You have already answered about this study."))
    if not study.is_recruiting:
        raise ResearchError(_("The study is not recruiting any more."))
    now = timezone.now()
    age = participant.patient.age_on(timezone.localdate(now))
    refusal = age_refusal(study, age)
    if refusal:
        raise ResearchError(refusal)
    minor, both = age < ADULT_AGE, age < BOTH_GUARDIANS_AGE and not sole_guardian
    guardians = [(guardian_name, guardian_personal_number)] if minor else []
    if both:
        guardians.append((second_guardian_name, second_guardian_personal_number))
    refusal = _signature_refusal(participant.patient, signed_name, age, guardians, sole_guardian)
    if refusal:
        raise ResearchError(refusal)
    consent = ResearchConsent.objects.create(
        participant=participant,
        signed_at=now,
        signed_name=signed_name.strip(),
        information_text=study.information_text,
        guardian_name=guardian_name.strip() if minor else "",
        guardian_personal_number=guardian_personal_number if minor else "",
        second_guardian_name=second_guardian_name.strip() if both else "",
        second_guardian_personal_number=second_guardian_personal_number if both else "",
        sole_guardian=minor and age < BOTH_GUARDIANS_AGE and sole_guardian,
    )
    participant.consented_at = now
    participant.age_at_consent = age
    participant.save(update_fields=["consented_at", "age_at_consent"])
    return consent


@transaction.atomic
def consent_withdraw(participant: Participant, *, keep_data: bool) -> ResearchConsent:
    """Withdraw from the study, at any time and without giving a reason. From now on the study
    collects nothing: its questionnaires not yet submitted are taken away, and exports leave
    out everything after this moment (and the participant entirely if ``keep_data`` is false).
    Treatment goes on as before."""
    consent = ResearchConsent.objects.select_for_update().get(participant=participant)
    if consent.is_withdrawn:
        raise ResearchError(_("You have already left the study."))
    consent.withdrawn_at = timezone.now()
    consent.keep_data_after_withdrawal = keep_data
    consent.save(update_fields=["withdrawn_at", "keep_data_after_withdrawal"])
    # The study's own questionnaires are the study's to take back; the program's stay.
    pending = StudyResponse.objects.filter(
        participant=participant, response__status=Response.Status.IN_PROGRESS
    ).values("response_id")
    Response.objects.filter(pk__in=pending).delete()
    return consent


# --- Randomisation --------------------------------------------------------------------------


def _next_slot(sequence: AllocationSequence) -> AllocationSlot | None:
    return (
        AllocationSlot.objects.select_for_update()
        .filter(sequence=sequence, used_by__isnull=True)
        .order_by("position")
        .first()
    )


def _sequence_for(participant: Participant, by: User, request) -> AllocationSequence:
    study = participant.study
    key = randomisation.stratum_key(participant.unit_id, participant.strata)
    # Locking the stratum's sequence serialises allocations within it: the next free place is
    # read only after the previous allocation has committed.
    sequences = AllocationSequence.objects.select_for_update().filter(study=study, key=key)
    sequence = sequences.first()
    if sequence is None:
        try:
            with transaction.atomic():
                sequence = _sequence_generate(study, participant.unit, participant.strata)
        except IntegrityError:  # made by someone else a moment ago
            return sequences.get()
        _log_study(by, Action.CREATE, sequence, "allocation sequence made", request)
    return sequence


@retry_when_locked
@transaction.atomic
def participant_randomise(
    participant: Participant, *, by: User, request: HttpRequest | None = None
) -> Allocation:
    """Allocate the participant to the next place of their stratum's concealed sequence.

    Exactly once: the participant's row is locked first, so of two people pressing at once
    the second waits, then finds the allocation and is refused; the unique constraints on
    the allocation's participant and slot hold even if the locks did not.
    """
    participant = (
        Participant.objects.select_for_update()
        .select_related("study", "unit", "patient")
        .get(pk=participant.pk)
    )
    if Allocation.objects.filter(participant=participant).exists():
        raise ResearchError(_("The participant has already been randomised."))
    _check_may_randomise(participant, by)
    sequence = _sequence_for(participant, by, request)
    slot = _next_slot(sequence)
    if slot is None:
        added = _append_blocks(sequence, participant.study, participant.study.planned_size)
        _log_study(
            by, Action.CHANGE, sequence, f"allocation sequence extended by {added}", request
        )
        slot = _next_slot(sequence)
    try:
        with transaction.atomic():
            won = AllocationSlot.objects.filter(pk=slot.pk, used_by__isnull=True).update(
                used_by=participant
            )
            if not won:
                raise IntegrityError("slot taken")
            allocation = Allocation.objects.create(
                participant=participant, arm_id=slot.arm_id, slot=slot, allocated_by=by
            )
    except IntegrityError:
        raise ResearchError(_("Someone randomised at the same moment. Try again.")) from None
    log_access(
        by,
        Action.CREATE,
        request=request,
        patient=participant.patient,
        unit=participant.unit,
        obj=allocation,
        detail=f"randomised in study {participant.study.code}",
    )
    study_questionnaires_schedule(participant, allocation)
    return allocation


def _check_may_randomise(participant: Participant, by: User) -> None:
    if not participant.study.is_recruiting:
        raise ResearchError(_("The study is not recruiting."))
    if including_relationship(by, participant.patient, participant.unit_id) is None:
        raise ResearchError(
            _("Only the patient's responsible therapist or assessor at the unit can randomise.")
        )
    consent = ResearchConsent.objects.filter(participant=participant).first()
    if consent is None:
        raise ResearchError(_("The patient has not consented to the study yet."))
    if consent.is_withdrawn:
        raise ResearchError(_("The patient has withdrawn from the study."))


# --- The study's questionnaires -------------------------------------------------------------


def _months_later(moment: datetime.datetime, months: int) -> datetime.datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    return moment.replace(
        year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1])
    )


def due_times(when: str, start: datetime.datetime, weeks: int) -> list[datetime.datetime]:
    """When the study asks at time point ``when``, counted from allocation."""
    end = start + datetime.timedelta(weeks=weeks)
    if when == "pre":
        return [start]
    if when == "weekly":
        return [start + datetime.timedelta(weeks=week) for week in range(1, weeks)]
    if when == "post":
        return [end]
    if when in FOLLOW_UPS:
        return [_months_later(end, FOLLOW_UPS[when])]
    return []


def _program_plan(arm: Arm) -> set[tuple[str, str]]:
    version = latest_published(arm.program) if arm.program_id else None
    if version is None:
        return set()
    return set(version.measurement_plan.values_list("when", "instrument_code"))


def study_questionnaires_schedule(participant: Participant, allocation: Allocation) -> int:
    """Ask for the study's own questionnaires of the participant's arm, each at its time from
    allocation; those the arm's program already asks for then are not asked twice."""
    arm = allocation.arm
    in_plan = _program_plan(arm)
    measurements = participant.study.measurements.filter(Q(arm__isnull=True) | Q(arm=arm))
    created = 0
    for measurement in measurements:
        if (measurement.when, measurement.instrument_code) in in_plan:
            continue
        version = current_version(measurement.instrument_code)
        for due in due_times(
            measurement.when, allocation.allocated_at, participant.study.treatment_weeks
        ):
            response = response_start(
                participant.patient,
                version,
                unit=participant.unit,
                occasion=measurement.when,
                due_at=due,
            )
            StudyResponse.objects.create(
                participant=participant, measurement=measurement, response=response
            )
            created += 1
    return created
