"""A study's pseudonymised data: recruitment figures, long and wide files, a data dictionary.

Nothing here reads a patient's row: participants are read with ``values()`` of the research
tables, and responses by ``patient_id`` only. What leaves is the study id, the arm, the
unit's study code, the age in whole years, the stratification values, dates (or days from
allocation) and questionnaire answers; never names, numbers, contact details or free text.

Only consented participants are exported. After a withdrawal nothing later is exported; if
the participant chose that earlier data may not be kept, the participant is left out.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ikbt.measurement.models import Response
from ikbt.programs.actions import latest_published
from ikbt.research.models import Allocation, Participant, Study

PLAN_POINTS = ("pre", "weekly", "post", "follow_up_3", "follow_up_6", "follow_up_12")
POINT_ORDER = ("screening", "pre", "week", "post", "follow_up_3", "follow_up_6", "follow_up_12")


@dataclass
class Answered:
    instrument: str
    time_point: str
    answers: list
    total: int | None
    submitted_at: datetime.datetime


@dataclass
class Row:
    pk: int
    patient_id: int
    unit_id: int
    study_id: str
    arm: str
    unit_code: str
    age: int | None
    strata: dict
    consented_at: datetime.datetime
    allocated_at: datetime.datetime | None
    withdrawn_at: datetime.datetime | None
    answered: list[Answered] = field(default_factory=list)

    @property
    def reference(self) -> datetime.datetime:
        """Day 0: allocation, or consent for a participant not yet randomised."""
        return self.allocated_at or self.consented_at


def unit_codes(study: Study) -> dict[int, str]:
    return dict(study.units.values_list("unit_id", "code"))


def study_instruments(study: Study) -> set[str]:
    """Every questionnaire in the study's plan: the arms' programs', its own and screening."""
    codes = set(study.measurements.values_list("instrument_code", flat=True))
    codes |= set(study.screening.values_list("instrument_code", flat=True))
    for arm in study.arms.select_related("program"):
        version = latest_published(arm.program) if arm.program_id else None
        if version is not None:
            codes |= set(version.measurement_plan.values_list("instrument_code", flat=True))
    return codes


def exported_participants(study: Study):
    return (
        Participant.objects.filter(study=study, consent__isnull=False)
        .exclude(consent__withdrawn_at__isnull=False, consent__keep_data_after_withdrawal=False)
        .order_by("pseudonym")
    )


def exported_counts(study: Study) -> dict[str, int]:
    """How many participants the files hold, and how many of them have withdrawn and let
    what they answered before be kept."""
    return exported_participants(study).aggregate(
        count=Count("pk"), withdrawn=Count("pk", filter=Q(consent__withdrawn_at__isnull=False))
    )


def collect(study: Study) -> list[Row]:
    codes = unit_codes(study)
    rows = [
        Row(
            pk=values["pk"],
            patient_id=values["patient_id"],
            unit_id=values["unit_id"],
            study_id=values["pseudonym"],
            arm=values["allocation__arm__name"] or "",
            unit_code=codes.get(values["unit_id"], ""),
            age=values["age_at_consent"],
            strata=values["strata"],
            consented_at=values["consented_at"],
            allocated_at=values["allocation__allocated_at"],
            withdrawn_at=values["consent__withdrawn_at"],
        )
        for values in exported_participants(study).values(
            "pk",
            "patient_id",
            "pseudonym",
            "unit_id",
            "age_at_consent",
            "strata",
            "consented_at",
            "allocation__allocated_at",
            "allocation__arm__name",
            "consent__withdrawn_at",
        )
    ]
    _attach_answers(study, rows)
    return rows


def _attach_answers(study: Study, rows: list[Row]) -> None:
    screening = defaultdict(set)
    through = Participant.screening_responses.through.objects.filter(
        participant_id__in=[row.pk for row in rows]
    )
    for participant_id, response_id in through.values_list("participant_id", "response_id"):
        screening[participant_id].add(response_id)
    by_patient = defaultdict(list)
    responses = Response.objects.filter(
        patient_id__in=[row.patient_id for row in rows],
        status=Response.Status.SUBMITTED,
        instrument_version__instrument__code__in=study_instruments(study),
    ).order_by("submitted_at", "pk")
    for values in responses.values(
        "pk",
        "patient_id",
        "instrument_version__instrument__code",
        "answers",
        "total",
        "occasion",
        "due_at",
        "submitted_at",
    ):
        by_patient[values["patient_id"]].append(values)
    for row in rows:
        for values in by_patient[row.patient_id]:
            point = _time_point(row, values, screening[row.pk])
            if point is not None:
                row.answered.append(
                    Answered(
                        values["instrument_version__instrument__code"],
                        point,
                        values["answers"],
                        values["total"],
                        values["submitted_at"],
                    )
                )


def _time_point(row: Row, values: dict, screening_ids: set[int]) -> str | None:
    """The answer's time point, or None when it is not study data for this participant."""
    if values["pk"] in screening_ids:
        return "screening"
    submitted = values["submitted_at"]
    if values["occasion"] not in PLAN_POINTS or submitted < row.consented_at:
        return None
    if row.withdrawn_at is not None and submitted >= row.withdrawn_at:
        return None  # collected after withdrawal: never study data
    if values["occasion"] == "weekly":
        week = round((values["due_at"] - row.reference) / datetime.timedelta(weeks=1))
        return f"week_{max(week, 1)}"
    return values["occasion"]


def _point_sort(point: str) -> tuple:
    base, _sep, number = point.partition("_") if point.startswith("week_") else (point, "", "")
    return (POINT_ORDER.index(base), int(number or 0))


def when(study: Study, row: Row, moment: datetime.datetime | None):
    """A day counted from allocation, or the date, as the study says."""
    if moment is None:
        return ""
    if study.relative_dates:
        return (timezone.localdate(moment) - timezone.localdate(row.reference)).days
    return timezone.localdate(moment).isoformat()


def _day_column(study: Study) -> str:
    return "day" if study.relative_dates else "date"


def long_rows(study: Study, rows: list[Row]) -> tuple[list[str], list[list]]:
    header = [
        "study_id",
        "arm",
        "unit",
        "time_point",
        "instrument",
        "item",
        "value",
        _day_column(study),
    ]
    out = []
    for row in rows:
        for answered in row.answered:
            moment = when(study, row, answered.submitted_at)
            prefix = [row.study_id, row.arm, row.unit_code, answered.time_point]
            for number, value in enumerate(answered.answers, start=1):
                out.append([*prefix, answered.instrument, number, value, moment])
            out.append([*prefix, answered.instrument, "total", answered.total, moment])
    return header, out


def factor_names(study: Study) -> list[str]:
    return [factor["name"] for factor in study.stratification_factors]


def wide_columns(rows: list[Row]) -> list[str]:
    pairs = {
        (answered.time_point, answered.instrument) for row in rows for answered in row.answered
    }
    ordered = sorted(pairs, key=lambda pair: (_point_sort(pair[0]), pair[1]))
    return [f"{instrument}_{point}" for point, instrument in ordered]


def wide_rows(study: Study, rows: list[Row]) -> tuple[list[str], list[list]]:
    suffix = _day_column(study)
    columns = wide_columns(rows)
    header = [
        "study_id",
        "arm",
        "unit",
        "age_years",
        *[f"stratum_{name}" for name in factor_names(study)],
        f"consent_{suffix}",
        f"allocation_{suffix}",
        f"withdrawal_{suffix}",
        *columns,
    ]
    out = []
    for row in rows:
        totals = {
            f"{answered.instrument}_{answered.time_point}": answered.total
            for answered in row.answered  # in submission order: the latest wins
        }
        out.append(
            [
                row.study_id,
                row.arm,
                row.unit_code,
                row.age,
                *[row.strata.get(name, "") for name in factor_names(study)],
                when(study, row, row.consented_at),
                when(study, row, row.allocated_at),
                when(study, row, row.withdrawn_at),
                *[totals.get(column, "") for column in columns],
            ]
        )
    return header, out


def dictionary_rows(study: Study, rows: list[Row]) -> tuple[list[str], list[list]]:
    """Every column of every file, with what it holds."""
    day = _day_column(study)
    day_text = (
        _("Days from allocation (day 0; consent for participants not yet randomised).")
        if study.relative_dates
        else _("Date (YYYY-MM-DD).")
    )
    units = "; ".join(
        f"{code} = {name}" for code, name in study.units.values_list("code", "unit__name")
    )
    arms = "; ".join(study.arms.values_list("name", flat=True))
    common = [
        ["study_id", _("Pseudonymous participant id in this study."), ""],
        ["arm", _("The arm the participant was randomised to (empty: not yet)."), arms],
        ["unit", _("The participating unit's code in the study."), units],
    ]
    points = _("screening, pre, week_N (weeks from allocation), post, follow_up_3/6/12")
    out = [["long", *entry] for entry in common]
    out += [
        ["long", "time_point", _("When the questionnaire was answered."), points],
        ["long", "instrument", _("Questionnaire code."), ""],
        ["long", "item", _("Item number, or 'total' for the questionnaire's score."), ""],
        ["long", "value", _("The answer's value as ticked (empty: not answered)."), ""],
        ["long", day, _("When it was submitted.") + " " + day_text, ""],
    ]
    out += [["wide", *entry] for entry in common]
    out.append(["wide", "age_years", _("Age in whole years at consent."), ""])
    for factor in study.stratification_factors:
        out.append(
            [
                "wide",
                f"stratum_{factor['name']}",
                _("Stratification factor."),
                ", ".join(factor["choices"]),
            ]
        )
    for name, text in (
        ("consent", _("When the participant consented.")),
        ("allocation", _("When the participant was randomised.")),
        ("withdrawal", _("When the participant withdrew (empty: has not).")),
    ):
        out.append(["wide", f"{name}_{day}", f"{text} {day_text}", ""])
    for column in wide_columns(rows):
        instrument, _sep, point = column.partition("_")
        out.append(
            [
                "wide",
                column,
                _("Total of %(instrument)s at %(point)s (the latest if answered twice).")
                % {"instrument": instrument, "point": point},
                "",
            ]
        )
    return ["file", "column", "description", "values"], out


@dataclass
class Figures:
    arms: list[str]
    rows: list[dict]
    total: dict
    planned: int


def recruitment(study: Study) -> Figures:
    """Included, consented, randomised per arm and withdrawn, per unit (three queries)."""
    arms = list(study.arms.order_by("pk").values_list("pk", "name"))
    per_unit = {
        values["unit_id"]: values
        for values in Participant.objects.filter(study=study)
        .values("unit_id")
        .annotate(
            included=Count("pk"),
            consented=Count("pk", filter=Q(consented_at__isnull=False)),
            withdrawn=Count("pk", filter=Q(consent__withdrawn_at__isnull=False)),
        )
    }
    allocated = defaultdict(int)
    for values in (
        Allocation.objects.filter(participant__study=study)
        .values("participant__unit_id", "arm_id")
        .annotate(count=Count("pk"))
    ):
        allocated[(values["participant__unit_id"], values["arm_id"])] = values["count"]
    rows = []
    for unit_id, code, name in study.units.values_list("unit_id", "code", "unit__name"):
        counts = per_unit.get(unit_id, {})
        by_arm = [allocated[(unit_id, arm_id)] for arm_id, _name in arms]
        rows.append(
            {
                "code": code,
                "name": name,
                "included": counts.get("included", 0),
                "consented": counts.get("consented", 0),
                "by_arm": by_arm,
                "randomised": sum(by_arm),
                "withdrawn": counts.get("withdrawn", 0),
            }
        )
    total = {
        key: sum(row[key] for row in rows)
        for key in ("included", "consented", "randomised", "withdrawn")
    }
    total["by_arm"] = [sum(row["by_arm"][index] for row in rows) for index in range(len(arms))]
    return Figures([name for _pk, name in arms], rows, total, study.planned_size)


def recruitment_rows(figures: Figures) -> tuple[list[str], list[list]]:
    header = [
        "unit",
        "unit_name",
        "included",
        "consented",
        *[f"randomised_{arm}" for arm in figures.arms],
        "withdrawn",
    ]
    out = [
        [
            row["code"],
            row["name"],
            row["included"],
            row["consented"],
            *row["by_arm"],
            row["withdrawn"],
        ]
        for row in figures.rows
    ]
    total = figures.total
    out.append(
        ["total", "", total["included"], total["consented"], *total["by_arm"], total["withdrawn"]]
    )
    return header, out
