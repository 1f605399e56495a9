"""Records for the national quality register for internet treatment (SibeR), one per
treatment, streamed: memory stays flat however many treatments there are.

Every field is defined in ``docs/register.md``. Personal identity numbers appear only in the
register's own delivery (``identify=True``); every other export carries a stable pseudonym
per patient and region (an HMAC of the number, keyed by the secret key and the region).
"""

import csv
import datetime
import functools
import hashlib
import hmac
import json
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from ikbt.accounts.models import User
from ikbt.audit.models import AccessLogEntry
from ikbt.intake.models import Registration
from ikbt.measurement.actions import current_version
from ikbt.measurement.models import Response
from ikbt.messaging.models import Message
from ikbt.organisations.models import StaffRole
from ikbt.patients.models import CareRelationship, Patient
from ikbt.programs.models import Condition, MeasurementPoint, Module
from ikbt.treatment.models import Enrollment, ModuleProgress, TimeEntry
from ikbt.treatment.outcome import judge

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
LOG_BATCH = 500


def pseudonym(personal_number: str, region_code: str) -> str:
    key = f"{settings.SECRET_KEY}:register:{region_code}".encode()
    return hmac.new(key, personal_number.encode(), hashlib.sha256).hexdigest()[:20]


def sex_from_personal_number(number: str) -> str:
    """The second-to-last digit: odd for men, even for women (Skatteverket)."""
    return "M" if int(number[-2]) % 2 else "F"


def start_of_day(day: datetime.date) -> datetime.datetime:
    """Midnight in Stockholm: periods are local days, compared without a function on the
    column so that its index is used."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def _date(moment) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime.datetime):
        moment = timezone.localdate(moment)
    return moment.isoformat()


def responsible_therapist():
    """The treatment's responsible therapist: the latest in the unit where it runs."""
    return Subquery(
        CareRelationship.objects.filter(
            patient=OuterRef("patient"),
            unit=OuterRef("unit"),
            role=CareRelationship.Role.RESPONSIBLE_THERAPIST,
        )
        .order_by("-started_at")
        .values("staff")[:1]
    )


def _count(query, group: str):
    """A correlated count: summing across joins would count each row many times."""
    return Coalesce(
        Subquery(query.order_by().values(group).annotate(n=Count("pk")).values("n")), 0
    )


def _score(occasion: str):
    """The patient's latest submitted total of the primary questionnaire on an occasion."""
    return Subquery(
        Response.objects.filter(
            patient=OuterRef("patient"),
            status=Response.Status.SUBMITTED,
            total__isnull=False,
            instrument_version__instrument__code=OuterRef("primary_code"),
            occasion=occasion,
        )
        .order_by("-submitted_at")
        .values("total")[:1]
    )


def _registration(field: str):
    return Subquery(
        Registration.objects.filter(
            patient=OuterRef("patient"), offering__program=OuterRef("program_version__program")
        )
        .order_by("-registered_at")
        .values(field)[:1]
    )


def treatments(
    date_from: datetime.date,
    date_to: datetime.date,
    *,
    region: str | None = None,
    include_running: bool = False,
    detail: bool = True,
):
    """Treatments ended in the period (and, on request, those still running), excluding
    patients who opted out of the register, as dictionaries: one query however many.

    ``detail=False`` leaves out what only the export needs (follow-ups, messages, modules,
    registration dates), for the statistics pages."""
    ended = Q(
        status=Enrollment.Status.ENDED,
        ended_at__gte=start_of_day(date_from),
        ended_at__lt=start_of_day(date_to + datetime.timedelta(days=1)),
    )
    running = Q(status__in=[Enrollment.Status.ACTIVE, Enrollment.Status.PAUSED])
    opted_out = Registration.objects.filter(register_opt_out=True).values("patient_id")
    query = (
        Enrollment.objects.filter(ended | running if include_running else ended)
        .exclude(patient_id__in=opted_out)
        .annotate(
            primary_code=Coalesce(
                NullIf(F("program_version__primary_instrument"), Value("")),
                Subquery(
                    MeasurementPoint.objects.filter(
                        version=OuterRef("program_version"), when=MeasurementPoint.When.PRE
                    )
                    .order_by("instrument_code")
                    .values("instrument_code")[:1]
                ),
            ),
        )
        .annotate(
            score_pre=Coalesce(_score("pre"), _score("screening")),
            score_post=_score("post"),
            minutes=Subquery(
                TimeEntry.objects.filter(enrollment=OuterRef("pk"))
                .order_by()
                .values("enrollment")
                .annotate(total=Sum("minutes"))
                .values("total")
            ),
            therapist_id=responsible_therapist(),
        )
        .order_by("pk")
    )
    fields = [
        "pk", "patient_id", "unit_id", "unit__region__code", "program_version__program__slug",
        "program_version__program__condition", "started_at", "ended_at", "end_reason",
        "primary_code", "score_pre", "score_post", "minutes", "therapist_id",
    ]  # fmt: skip
    if detail:
        query = query.annotate(
            score_follow_up_3=_score("follow_up_3"),
            score_follow_up_6=_score("follow_up_6"),
            score_follow_up_12=_score("follow_up_12"),
            modules_total=_count(
                Module.objects.filter(version=OuterRef("program_version")), "version"
            ),
            modules_completed=_count(
                ModuleProgress.objects.filter(
                    enrollment=OuterRef("pk"), completed_at__isnull=False
                ),
                "enrollment",
            ),
            messages_from_patient=_count(
                Message.objects.filter(
                    thread__patient=OuterRef("patient"),
                    held_for_review=False,
                    sender__kind="patient",
                ),
                "thread__patient",
            ),
            messages_from_staff=_count(
                Message.objects.filter(
                    thread__patient=OuterRef("patient"), held_for_review=False
                ).exclude(sender__kind="patient"),
                "thread__patient",
            ),
            registered_at=_registration("registered_at"),
            assessed_at=_registration("assessed_at"),
        )
        fields += [
            "patient__personal_number", "unit__hsa_id",
            "program_version__number", "score_follow_up_3", "score_follow_up_6",
            "score_follow_up_12", "modules_total", "modules_completed",
            "messages_from_patient", "messages_from_staff", "registered_at", "assessed_at",
        ]  # fmt: skip
    if region:
        query = query.filter(unit__region__code=region)
    return query.values(*fields)


@functools.cache
def _definition(code: str):
    return current_version(code).parsed


def outcome_of(row: dict) -> dict:
    """Change, reliable change, response and remission of the primary questionnaire."""
    code, pre, post = row["primary_code"], row["score_pre"], row["score_post"]
    if not code or pre is None or post is None:
        return {}
    return judge(_definition(code), pre, post)


def record(row: dict, *, identify: bool) -> dict:
    """One register record from a row of ``treatments``."""
    region = row["unit__region__code"]
    number = row["patient__personal_number"]
    started = row["started_at"]
    end = row["ended_at"] or timezone.now()
    weeks = max(1, (end - started).days / 7)
    minutes = row["minutes"] or 0
    outcome = outcome_of(row)
    return {
        "patient": number if identify else pseudonym(number, region),
        "region": region,
        "unit_hsa_id": row["unit__hsa_id"],
        "program": row["program_version__program__slug"],
        "program_version": row["program_version__number"],
        "condition_icd10": ICD10.get(row["program_version__program__condition"], ""),
        "sex": sex_from_personal_number(number),
        "age_at_start": Patient(personal_number=number).age_on(timezone.localdate(started)),
        "registered_on": _date(row["registered_at"]),
        "assessed_on": _date(row["assessed_at"]),
        "started_on": _date(started),
        "ended_on": _date(row["ended_at"]),
        "end_reason": row["end_reason"],
        "modules_completed": row["modules_completed"],
        "modules_total": row["modules_total"],
        "primary_instrument": row["primary_code"] or "",
        "score_pre": row["score_pre"],
        "score_post": row["score_post"],
        "score_follow_up_3": row["score_follow_up_3"],
        "score_follow_up_6": row["score_follow_up_6"],
        "score_follow_up_12": row["score_follow_up_12"],
        "change": outcome.get("change"),
        "reliable_improvement": outcome.get("reliable_improvement"),
        "reliable_deterioration": outcome.get("reliable_deterioration"),
        "response": outcome.get("response"),
        "remission": outcome.get("remission"),
        "therapist_minutes": minutes,
        "therapist_minutes_per_week": round(minutes / weeks, 1),
        "messages_from_patient": row["messages_from_patient"],
        "messages_from_staff": row["messages_from_staff"],
    }


def records(
    date_from, date_to, *, region=None, include_running=False, identify=False
) -> Iterator[tuple[tuple[int, int], dict]]:
    """((patient id, unit id), record) for each treatment; the ids are for the access log."""
    query = treatments(date_from, date_to, region=region, include_running=include_running)
    for row in query.iterator(chunk_size=2000):
        yield (row["patient_id"], row["unit_id"]), record(row, identify=identify)


class _Line:
    """A file-like target for ``csv.writer`` that hands back each line it is given."""

    def write(self, text: str) -> str:
        return text


def log_export(officer: User, exported: list[tuple[int, int]], detail: str) -> None:
    AccessLogEntry.objects.bulk_create(
        AccessLogEntry(
            actor=officer,
            actor_name=officer.get_full_name() or officer.username,
            actor_role=str(StaffRole.REGISTER_OFFICER.label),
            patient_id=patient_id,
            unit_id=unit_id,
            action=AccessLogEntry.Action.EXPORT,
            object_type="treatment",
            detail=detail,
        )
        for patient_id, unit_id in exported
    )


def export_stream(
    officer: User,
    date_from: datetime.date,
    date_to: datetime.date,
    *,
    format: str = "csv",
    region: str | None = None,
    include_running: bool = False,
    identify: bool = False,
    progress=None,
) -> Iterator[str]:
    """The register file, piece by piece, for a terminal or a browser download. Each
    treatment written is logged as an export by ``officer``, in batches as the file goes."""
    detail = (
        f"register export {date_from}..{date_to}"
        f"{f', region {region}' if region else ''}, "
        f"{'identified' if identify else 'pseudonymised'}"
    )
    writer = csv.DictWriter(_Line(), fieldnames=FIELDS)
    yield writer.writeheader() if format == "csv" else "[\n"
    pending: list[tuple[int, int]] = []
    rows = records(
        date_from, date_to, region=region, include_running=include_running, identify=identify
    )
    for count, (ids, row) in enumerate(rows, start=1):
        if format == "csv":
            yield writer.writerow(row)
        else:
            yield (",\n" if count > 1 else "") + json.dumps(row, ensure_ascii=False)
        pending.append(ids)
        if len(pending) >= LOG_BATCH:
            log_export(officer, pending, detail)
            pending = []
        if progress:
            progress(count)
    log_export(officer, pending, detail)
    if format != "csv":
        yield "\n]\n"
