"""Records for the national quality register for internet treatment (SibeR), one per
treatment, streamed: memory stays flat however many treatments there are.

Every field is defined in ``DICTIONARY`` below, which the register page shows staff in their
language, and in ``docs/register.md``. Personal identity numbers appear only in the
register's own delivery (``identify=True``); every other export carries a stable pseudonym
per patient and region (an HMAC of the number, keyed by the secret key and the region).
"""

import csv
import datetime
import hashlib
import hmac
import json
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ikbt.accounts.models import User
from ikbt.audit.actions import log_rows
from ikbt.audit.models import AccessLogEntry
from ikbt.intake.models import Registration
from ikbt.measurement.models import Response
from ikbt.messaging.models import Message
from ikbt.organisations.models import StaffRole
from ikbt.patients.models import Patient
from ikbt.programs.models import Condition, Module
from ikbt.treatment.models import Enrollment, ModuleProgress

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

# The data dictionary: (fields, type, definition), in the file's order; a test holds it to FIELDS.
DICTIONARY = [
    (
        ("patient",),
        _("text"),
        _(
            "A stable pseudonym per patient and region (HMAC-SHA256 of the personal identity "
            "number, keyed by the installation's secret and the region code, first 20 hex "
            "digits). In the register's own delivery (identified), the 12-digit personal "
            "identity number."
        ),
    ),
    (("region",), _("text"), _("County code of the unit's region.")),
    (("unit_hsa_id",), _("text"), _("The unit's HSA-id.")),
    (
        ("program", "program_version"),
        _("text, integer"),
        _("The program's short name and the version the patient was on at the end."),
    ),
    (
        ("condition_icd10",),
        _("text"),
        _("ICD-10-SE code for the program's condition (the table below)."),
    ),
    (
        ("sex",),
        _("M/F"),
        _(
            "From the second-to-last digit of the personal identity number: odd M, even F "
            "(Skatteverket)."
        ),
    ),
    (("age_at_start",), _("integer"), _("Whole years on the start date.")),
    (
        ("registered_on", "assessed_on", "started_on", "ended_on"),
        _("date"),
        _("The interest registration, the assessment, the start and the end (Swedish dates)."),
    ),
    (
        ("end_reason",),
        _("text"),
        _("completed, dropped_out or referred; empty while the treatment runs."),
    ),
    (
        ("modules_completed", "modules_total"),
        _("integer"),
        _("Modules the patient marked done, of the version's modules."),
    ),
    (
        ("primary_instrument",),
        _("text"),
        _(
            "The program version's primary outcome questionnaire, chosen by its author and "
            "measured before start and at the end. Versions without one fall back to the "
            "first questionnaire, alphabetically, of the pre-treatment plan."
        ),
    ),
    (
        ("score_pre", "score_post"),
        _("integer"),
        _("Totals before treatment (else at screening) and after treatment."),
    ),
    (
        ("score_follow_up_3", "score_follow_up_6", "score_follow_up_12"),
        _("integer"),
        _("Totals at the follow-ups 3, 6 and 12 months after the end, once answered."),
    ),
    (("change",), _("integer"), _("score_post − score_pre.")),
    (
        ("reliable_improvement", "reliable_deterioration"),
        _("True/False"),
        _(
            "The change is at least the questionnaire's reliable-change figure, towards "
            "better or worse (Jacobson NS, Truax P. J Consult Clin Psychol 1991;59:12-19). "
            "Empty where the questionnaire has no such figure."
        ),
    ),
    (
        ("response",),
        _("True/False"),
        _("At least 50% better than before treatment (for scales where higher is worse)."),
    ),
    (
        ("remission",),
        _("True/False"),
        _("score_post below the questionnaire's remission cut-off; empty where it has none."),
    ),
    (("therapist_minutes",), _("integer"), _("The treatment's time ledger in total.")),
    (
        ("therapist_minutes_per_week",),
        _("decimal"),
        _(
            "Total minutes divided by the weeks from start to end (or to today while running), "
            "counting at least one week."
        ),
    ),
    (
        ("messages_from_patient", "messages_from_staff"),
        _("integer"),
        _("Messages sent by each side (held messages not yet released are not counted)."),
    ),
]


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


def local_days(field: str, first: datetime.date, last: datetime.date) -> Q:
    """Local days ``first``..``last`` inclusive, as a range the column's index can use."""
    return Q(
        **{
            f"{field}__gte": start_of_day(first),
            f"{field}__lt": start_of_day(last + datetime.timedelta(days=1)),
        }
    )


def _date(moment) -> str | None:
    """The day in Swedish time; None (empty in CSV, null in JSON) for no day yet."""
    if moment is None:
        return None
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
    ended = Q(status=Enrollment.Status.ENDED) & local_days("ended_at", date_from, date_to)
    running = Q(status__in=[Enrollment.Status.ACTIVE, Enrollment.Status.PAUSED])
    opted_out = Registration.objects.filter(register_opt_out=True).values("patient_id")
    query = Enrollment.objects.filter(ended | running if include_running else ended).exclude(
        patient_id__in=opted_out
    )
    if region:
        query = query.filter(unit__region__code=region)
    return query


FIELDS_FOR_EXPORT = [
    "pk", "patient_id", "unit_id", "unit__region__code", "program_version_id",
    "program_version__program__slug", "program_version__program__condition",
    "patient__personal_number", "unit__hsa_id", "program_version__number",
    "program_version__program_id", "started_at", "ended_at", "end_reason",
    # The stored register summary (treatment.outcome.summary_refresh): what the statistics
    # pages sum, so that the export and the pages agree.
    "primary_instrument", "score_pre", "score_post", "reliable_improvement",
    "reliable_deterioration", "responded", "remission", "therapist_minutes",
]  # fmt: skip
FOLLOW_UPS = ("follow_up_3", "follow_up_6", "follow_up_12")


def rows(query, *, chunk: int = 2000) -> Iterator[dict]:
    """Each treatment of ``query`` as a dictionary with what the register needs, a chunk at a
    time: a fixed number of queries per chunk (none per treatment), and memory that stays
    flat however many there are."""
    last = 0
    while True:
        batch = list(query.filter(pk__gt=last).order_by("pk").values(*FIELDS_FOR_EXPORT)[:chunk])
        if not batch:
            return
        last = batch[-1]["pk"]
        _complete_for_export(batch)
        yield from batch


def _complete_for_export(batch: list[dict]) -> None:
    enrollment_ids = [row["pk"] for row in batch]
    patient_ids = {row["patient_id"] for row in batch}
    follow_ups: dict[tuple, tuple] = {}  # (patient, code, occasion) -> (submitted, total)
    for patient_id, code, occasion, total, submitted in Response.objects.filter(
        patient_id__in=patient_ids,
        status=Response.Status.SUBMITTED,
        total__isnull=False,
        occasion__in=FOLLOW_UPS,
    ).values_list("patient_id", "instrument_version__instrument__code", "occasion", "total",
                  "submitted_at"):  # fmt: skip
        key = (patient_id, code, occasion)
        if key not in follow_ups or follow_ups[key][0] < submitted:
            follow_ups[key] = (submitted, total)
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
        for occasion in FOLLOW_UPS:
            found = follow_ups.get((row["patient_id"], row["primary_instrument"], occasion))
            row[f"score_{occasion}"] = found[1] if found else None


def outcome_of(row: dict) -> dict:
    """Change, reliable change, response and remission of the primary questionnaire, as
    stored in the treatment's register summary."""
    pre, post = row["score_pre"], row["score_post"]
    if pre is None or post is None:
        return {}
    return {
        "change": post - pre,
        "reliable_improvement": row["reliable_improvement"],
        "reliable_deterioration": row["reliable_deterioration"],
        "response": row["responded"],
        "remission": row["remission"],
    }


def record(row: dict, *, identify: bool) -> dict:
    """One register record from a row of ``treatments``."""
    region = row["unit__region__code"]
    number = row["patient__personal_number"]
    started = row["started_at"]
    end = row["ended_at"] or timezone.now()
    weeks = max(1, (end - started).days / 7)
    minutes = row["therapist_minutes"] or 0
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
        "primary_instrument": row["primary_instrument"],
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
    role = StaffRole.REGISTER_OFFICER.label
    log_rows(
        officer,
        AccessLogEntry.Action.EXPORT,
        [(patient_id, unit_id, role, "") for patient_id, unit_id in exported],
        detail=detail,
        object_type=Enrollment._meta.label,
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
    exported = records(
        date_from, date_to, region=region, include_running=include_running, identify=identify
    )
    for count, (ids, row) in enumerate(exported, start=1):
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
