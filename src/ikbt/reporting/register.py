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
from django.db.models import Count, OuterRef, Q, Subquery, Sum
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
        ended_at__gte=start_of_day(date_from),
        ended_at__lt=start_of_day(date_to + datetime.timedelta(days=1)),
    )
    running = Q(status__in=[Enrollment.Status.ACTIVE, Enrollment.Status.PAUSED])
    opted_out = Registration.objects.filter(register_opt_out=True).values("patient_id")
    query = Enrollment.objects.filter(ended | running if include_running else ended).exclude(
        patient_id__in=opted_out
    )
    if region:
        query = query.filter(unit__region__code=region)
    return query


FIELDS_FOR_FIGURES = [
    "pk", "patient_id", "unit_id", "unit__region__code", "program_version_id",
    "program_version__program__slug", "program_version__program__condition",
    "program_version__primary_instrument", "started_at", "ended_at", "end_reason",
]  # fmt: skip
FIELDS_FOR_EXPORT = [
    "patient__personal_number", "unit__hsa_id", "program_version__number",
    "program_version__program_id",
]  # fmt: skip
PRE, POST = ("pre", "screening"), "post"
FOLLOW_UPS = ("follow_up_3", "follow_up_6", "follow_up_12")


def rows(query, *, detail: bool = True, chunk: int = 2000) -> Iterator[dict]:
    """Each treatment of ``query`` as a dictionary with what the register needs, a chunk at a
    time: a fixed number of queries per chunk (no query per treatment, no correlated
    subqueries whose plans change with the data), and memory that stays flat.

    ``detail=False`` leaves out what only the export needs (follow-ups, messages, modules,
    registration dates), for the statistics pages."""
    fields = FIELDS_FOR_FIGURES + (FIELDS_FOR_EXPORT if detail else [])
    primary_codes: dict[int, str] = {}
    last = 0
    while True:
        batch = list(query.filter(pk__gt=last).order_by("pk").values(*fields)[:chunk])
        if not batch:
            return
        last = batch[-1]["pk"]
        _complete(batch, primary_codes, detail)
        yield from batch


def _primary_codes(version_ids: set[int], known: dict[int, str]) -> None:
    """The primary questionnaire of each version; without one named, the first
    (alphabetically) of its pre-treatment plan."""
    missing = version_ids - set(known)
    if not missing:
        return
    for version_id, code in (
        MeasurementPoint.objects.filter(version_id__in=missing, when=MeasurementPoint.When.PRE)
        .order_by("-instrument_code")
        .values_list("version_id", "instrument_code")
    ):
        known[version_id] = code
    for version_id in missing:
        known.setdefault(version_id, "")


def _complete(batch: list[dict], primary_codes: dict[int, str], detail: bool) -> None:
    enrollment_ids = [row["pk"] for row in batch]
    patient_ids = {row["patient_id"] for row in batch}
    _primary_codes({row["program_version_id"] for row in batch}, primary_codes)
    occasions = [*PRE, POST, *(FOLLOW_UPS if detail else ())]
    latest: dict[tuple, tuple] = {}  # (patient, code, occasion) -> (submitted, total)
    for patient_id, code, occasion, total, submitted in Response.objects.filter(
        patient_id__in=patient_ids,
        status=Response.Status.SUBMITTED,
        total__isnull=False,
        occasion__in=occasions,
    ).values_list("patient_id", "instrument_version__instrument__code", "occasion", "total",
                  "submitted_at"):  # fmt: skip
        key = (patient_id, code, occasion)
        if key not in latest or latest[key][0] < submitted:
            latest[key] = (submitted, total)
    minutes = dict(
        TimeEntry.objects.filter(enrollment_id__in=enrollment_ids)
        .order_by()
        .values_list("enrollment_id")
        .annotate(total=Sum("minutes"))
        .values_list("enrollment_id", "total")
    )
    therapists: dict[tuple, tuple] = {}  # (patient, unit) -> (started, staff)
    for patient_id, unit_id, staff_id, started in CareRelationship.objects.filter(
        patient_id__in=patient_ids, role=CareRelationship.Role.RESPONSIBLE_THERAPIST
    ).values_list("patient_id", "unit_id", "staff_id", "started_at"):
        key = (patient_id, unit_id)
        if key not in therapists or therapists[key][0] < started:
            therapists[key] = (started, staff_id)
    for row in batch:
        code = (
            row["program_version__primary_instrument"] or primary_codes[row["program_version_id"]]
        )
        patient = row["patient_id"]

        def score(occasion: str, patient=patient, code=code) -> int | None:
            found = latest.get((patient, code, occasion))
            return found[1] if found else None

        pre = score("pre")
        row["primary_code"] = code
        row["score_pre"] = pre if pre is not None else score("screening")
        row["score_post"] = score(POST)
        row["minutes"] = minutes.get(row["pk"])
        row["therapist_id"] = therapists.get((patient, row["unit_id"]), (None, None))[1]
        if detail:
            for occasion in FOLLOW_UPS:
                row[f"score_{occasion}"] = score(occasion)
    if detail:
        _complete_for_export(batch, enrollment_ids, patient_ids)


def _complete_for_export(batch: list[dict], enrollment_ids: list[int], patient_ids) -> None:
    modules_total = dict(
        Module.objects.filter(version_id__in={row["program_version_id"] for row in batch})
        .order_by()
        .values_list("version_id")
        .annotate(n=Count("pk"))
        .values_list("version_id", "n")
    )
    completed = dict(
        ModuleProgress.objects.filter(enrollment_id__in=enrollment_ids, completed_at__isnull=False)
        .order_by()
        .values_list("enrollment_id")
        .annotate(n=Count("pk"))
        .values_list("enrollment_id", "n")
    )
    messages = {
        patient_id: (from_patient, from_staff)
        for patient_id, from_patient, from_staff in Message.objects.filter(
            thread__patient_id__in=patient_ids, held_for_review=False
        )
        .order_by()
        .values_list("thread__patient_id")
        .annotate(
            from_patient=Count("pk", filter=Q(sender__kind="patient")),
            from_staff=Count("pk", filter=~Q(sender__kind="patient")),
        )
        .values_list("thread__patient_id", "from_patient", "from_staff")
    }
    registrations: dict[tuple, tuple] = {}  # (patient, program) -> (registered, assessed)
    for patient_id, program_id, registered, assessed in Registration.objects.filter(
        patient_id__in=patient_ids
    ).values_list("patient_id", "offering__program_id", "registered_at", "assessed_at"):
        key = (patient_id, program_id)
        if key not in registrations or registrations[key][0] < registered:
            registrations[key] = (registered, assessed)
    for row in batch:
        registered, assessed = registrations.get(
            (row["patient_id"], row["program_version__program_id"]), (None, None)
        )
        row["registered_at"], row["assessed_at"] = registered, assessed
        row["modules_total"] = modules_total.get(row["program_version_id"], 0)
        row["modules_completed"] = completed.get(row["pk"], 0)
        row["messages_from_patient"], row["messages_from_staff"] = messages.get(
            row["patient_id"], (0, 0)
        )


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
    for row in rows(query):
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
