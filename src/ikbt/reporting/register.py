"""Records for the national quality register for internet treatment (SibeR), one per
treatment, streamed: memory stays flat however many treatments there are.

Every field is defined in ``docs/register.md``. Personal identity numbers appear only in the
register's own delivery (``identify=True``); every other export carries a stable pseudonym
per patient and region (an HMAC of the number, keyed by the secret key and the region).
"""

import datetime
import hashlib
import hmac
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from ikbt.intake.models import Registration
from ikbt.measurement.models import Response
from ikbt.messaging.models import Message
from ikbt.programs.models import Condition
from ikbt.treatment.models import Enrollment, TimeEntry
from ikbt.treatment.outcome import compute_outcome

# ICD-10-SE codes for the programs' conditions (Socialstyrelsen's Swedish edition).
ICD10 = {
    Condition.DEPRESSION: "F32",
    Condition.PANIC: "F41.0",
    Condition.SOCIAL_ANXIETY: "F40.1",
    Condition.WORRY: "F41.1",
    Condition.ANXIETY: "F41.9",
    Condition.STRESS: "F43.9",
    Condition.INSOMNIA: "F51.0",
    Condition.EXHAUSTION: "F43.8A",
    Condition.YOUTH_ANXIETY: "F93.8",
}

FIELDS = [
    "patient", "region", "unit_hsa_id", "program", "program_version", "condition_icd10",
    "sex", "age_at_start", "registered_on", "assessed_on", "started_on", "ended_on",
    "end_reason", "modules_completed", "modules_total", "primary_instrument", "score_pre",
    "score_post", "score_follow_up_3", "score_follow_up_6", "score_follow_up_12", "change",
    "reliable_improvement", "reliable_deterioration", "response", "remission",
    "therapist_minutes", "therapist_minutes_per_week", "messages_from_patient",
    "messages_from_staff",
]  # fmt: skip


def pseudonym(personal_number: str, region_code: str) -> str:
    key = f"{settings.SECRET_KEY}:register:{region_code}".encode()
    return hmac.new(key, personal_number.encode(), hashlib.sha256).hexdigest()[:20]


def sex_from_personal_number(number: str) -> str:
    """The second-to-last digit: odd for men, even for women (Skatteverket)."""
    return "M" if int(number[-2]) % 2 else "F"


def _date(moment) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime.datetime):
        moment = timezone.localdate(moment)
    return moment.isoformat()


def treatments(
    date_from: datetime.date,
    date_to: datetime.date,
    *,
    region: str | None = None,
    include_running: bool = False,
):
    """Treatments ended in the period (and, on request, those still running), excluding
    patients who opted out of the register."""
    ended = Q(
        status=Enrollment.Status.ENDED,
        ended_at__date__gte=date_from,
        ended_at__date__lte=date_to,
    )
    running = Q(status__in=[Enrollment.Status.ACTIVE, Enrollment.Status.PAUSED])
    opted_out = Registration.objects.filter(register_opt_out=True).values("patient_id")
    query = (
        Enrollment.objects.filter(ended | running if include_running else ended)
        .exclude(patient_id__in=opted_out)
        .select_related("patient", "unit__region", "program_version__program")
        .annotate(
            modules_total=Count("program_version__modules", distinct=True),
            modules_completed=Count(
                "progress", filter=Q(progress__completed_at__isnull=False), distinct=True
            ),
            # A subquery: summing across the joins above would count each entry many times.
            minutes=Subquery(
                TimeEntry.objects.filter(enrollment=OuterRef("pk"))
                .values("enrollment")
                .annotate(total=Sum("minutes"))
                .values("total")
            ),
        )
        .order_by("pk")
    )
    if region:
        query = query.filter(unit__region__code=region)
    return query


def _scores(enrollment: Enrollment, code: str) -> dict[str, int | None]:
    rows = Response.objects.filter(
        patient=enrollment.patient,
        status=Response.Status.SUBMITTED,
        instrument_version__instrument__code=code,
    ).values_list("occasion", "total")
    scores: dict[str, int | None] = {}
    for occasion, total in rows:
        scores[occasion] = total
    return scores


def record(enrollment: Enrollment, *, identify: bool) -> dict:
    patient = enrollment.patient
    version = enrollment.program_version
    registration = (
        Registration.objects.filter(patient=patient, offering__program=version.program)
        .order_by("-registered_at")
        .first()
    )
    primary = (
        version.measurement_plan.filter(when="pre")
        .order_by("instrument_code")
        .values_list("instrument_code", flat=True)
        .first()
        or ""
    )
    outcome = compute_outcome(enrollment).get(primary, {})
    scores = _scores(enrollment, primary) if primary else {}
    end = enrollment.ended_at or timezone.now()
    weeks = max(1, (end - enrollment.started_at).days / 7)
    minutes = enrollment.minutes or 0
    messages = Message.objects.filter(thread__patient=patient, held_for_review=False).aggregate(
        patient=Count("pk", filter=Q(sender__kind="patient")),
        staff=Count("pk", filter=~Q(sender__kind="patient")),
    )
    region = enrollment.unit.region.code
    return {
        "patient": patient.personal_number
        if identify
        else pseudonym(patient.personal_number, region),
        "region": region,
        "unit_hsa_id": enrollment.unit.hsa_id,
        "program": version.program.slug,
        "program_version": version.number,
        "condition_icd10": ICD10.get(version.program.condition, ""),
        "sex": sex_from_personal_number(patient.personal_number),
        "age_at_start": patient.age_on(timezone.localdate(enrollment.started_at)),
        "registered_on": _date(registration.registered_at if registration else None),
        "assessed_on": _date(registration.assessed_at if registration else None),
        "started_on": _date(enrollment.started_at),
        "ended_on": _date(enrollment.ended_at),
        "end_reason": enrollment.end_reason,
        "modules_completed": enrollment.modules_completed,
        "modules_total": enrollment.modules_total,
        "primary_instrument": primary,
        "score_pre": outcome.get("pre", scores.get("pre")),
        "score_post": outcome.get("post", scores.get("post")),
        "score_follow_up_3": scores.get("follow_up_3"),
        "score_follow_up_6": scores.get("follow_up_6"),
        "score_follow_up_12": scores.get("follow_up_12"),
        "change": outcome.get("change"),
        "reliable_improvement": outcome.get("reliable_improvement"),
        "reliable_deterioration": outcome.get("reliable_deterioration"),
        "response": outcome.get("response"),
        "remission": outcome.get("remission"),
        "therapist_minutes": minutes,
        "therapist_minutes_per_week": round(minutes / weeks, 1),
        "messages_from_patient": messages["patient"],
        "messages_from_staff": messages["staff"],
    }


def records(
    date_from, date_to, *, region=None, include_running=False, identify=False
) -> Iterator[tuple[int, dict]]:
    """(patient id, record) for each treatment; the id is for the access log, not the file."""
    query = treatments(date_from, date_to, region=region, include_running=include_running)
    for enrollment in query.iterator(chunk_size=500):
        yield enrollment.patient_id, record(enrollment, identify=identify)
