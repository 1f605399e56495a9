"""``ikbt generate``: synthetic national data that is repeatable, consistent with the
platform's own scoring, and that the export, ``kpi`` and the national comparison agree on."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from ikbt.measurement.models import Response
from ikbt.measurement.scoring import score
from ikbt.organisations.models import Region
from ikbt.reporting.kpi import kpi, national
from ikbt.reporting.register import records
from ikbt.treatment.models import Enrollment

UNTIL = "2026-11-01"


def generate(count: int = 120, seed: int = 7) -> str:
    out = io.StringIO()
    call_command(
        "generate",
        "--treatments",
        str(count),
        "--seed",
        str(seed),
        "--until",
        UNTIL,
        "--years",
        "2",
        "--batch",
        "50",
        "--synthetic-database",
        stdout=out,
    )
    return out.getvalue()


def signature() -> list[tuple]:
    return list(
        Enrollment.objects.order_by("patient__personal_number").values_list(
            "patient__personal_number",
            "unit__name",
            "program_version__program__slug",
            "started_at",
            "ended_at",
            "end_reason",
        )
    )


@pytest.mark.django_db(transaction=False)
def test_the_same_seed_gives_the_same_data():
    with transaction.atomic():
        generate(40, seed=3)
        first = signature()
        scores = sorted(Response.objects.values_list("occasion", "total", "submitted_at"))
        transaction.set_rollback(True)
    with transaction.atomic():
        generate(40, seed=3)
        assert signature() == first
        assert sorted(Response.objects.values_list("occasion", "total", "submitted_at")) == scores
        transaction.set_rollback(True)
    with transaction.atomic():
        generate(40, seed=4)
        assert signature() != first


def test_every_region_and_consistent_scores(db):
    output = generate()
    assert "treatment.Enrollment" in output and "Generated in" in output
    assert Enrollment.objects.count() == 120
    assert Region.objects.filter(units__isnull=False).distinct().count() == 21
    for response in Response.objects.select_related("instrument_version")[:200]:
        result = score(response.instrument_version.parsed, response.answers)
        assert response.total == result.total and not response.critical
    ended = Enrollment.objects.filter(status="ended")
    reasons = set(ended.values_list("end_reason", flat=True))
    assert {"completed", "dropped_out"} <= reasons


def test_export_kpi_and_national_agree_on_generated_data(db):
    generate(300, seed=11)
    period = "2026H1"
    rows = [row for _ids, row in records(datetime.date(2026, 1, 1), datetime.date(2026, 6, 30))]
    by_region: dict[str, int] = {}
    for row in rows:
        by_region[row["region"]] = by_region.get(row["region"], 0) + 1
    comparison = {row["region"].code: row for row in national(period)}
    for code, count in by_region.items():
        expected = count if count >= 5 else None
        assert kpi(code, period)["ended"] == expected == comparison[code]["ended"]
        assert kpi(code, period)["cohens_d"] == comparison[code]["cohens_d"]


def test_refuses_a_production_database(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="production database") as error:
        call_command("generate", "--treatments", "5")
    assert error.value.returncode == 2
