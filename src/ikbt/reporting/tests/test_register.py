import csv
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from ikbt import factories
from ikbt.audit.models import AccessLogEntry
from ikbt.intake.models import Offering, Registration
from ikbt.measurement.actions import current_version, response_start, response_submit
from ikbt.messaging import actions as messaging
from ikbt.organisations.models import StaffRole
from ikbt.reporting.register import pseudonym
from ikbt.treatment import actions as treatment
from ikbt.treatment.models import TimeEntry


@pytest.fixture
def officer(unit):
    return factories.staff_member(unit, StaffRole.REGISTER_OFFICER, username="register")


@pytest.fixture
def ended(enrollment, patient, therapist):
    response_submit(response_start(patient, current_version("GAD-7"), occasion="pre"), [3] * 7)
    TimeEntry.objects.create(enrollment=enrollment, staff=therapist, minutes=90)
    thread = messaging.thread_start(patient, patient.user, "Fråga", "Hej")
    messaging.message_send(thread, therapist, "Svar")
    treatment.enrollment_end(enrollment, reason="completed", note="", by=therapist)
    post = patient.responses.get(occasion="post", instrument_version__instrument__code="GAD-7")
    response_submit(post, [1] * 7)
    return enrollment


def export(*args) -> str:
    out = io.StringIO()
    today = timezone.localdate().isoformat()
    call_command(
        "register",
        "export",
        "--from",
        today,
        "--to",
        today,
        *args,
        stdout=out,
        stderr=io.StringIO(),
    )
    return out.getvalue()


def test_csv_record_with_pseudonym_and_outcome(ended, officer, patient, unit):
    (row,) = csv.DictReader(io.StringIO(export("--by", "register")))
    assert row["patient"] == pseudonym(patient.personal_number, "05") != patient.personal_number
    assert (row["region"], row["unit_hsa_id"], row["program"], row["condition_icd10"]) == (
        "05",
        unit.hsa_id,
        "exempel-angest",
        "F41.9",
    )
    assert (row["primary_instrument"], row["score_pre"], row["score_post"], row["change"]) == (
        "GAD-7",
        "21",
        "7",
        "-14",
    )
    assert (row["reliable_improvement"], row["response"], row["remission"]) == (
        "True",
        "True",
        "True",
    )
    assert (row["end_reason"], row["modules_total"], row["therapist_minutes"]) == (
        "completed",
        "4",
        "90",
    )
    assert (row["messages_from_patient"], row["messages_from_staff"]) == ("1", "1")
    entry = AccessLogEntry.objects.get(action="export")
    assert (entry.actor, entry.patient, entry.actor_role) == (officer, patient, "Register officer")


def test_the_programs_primary_questionnaire_is_the_one_reported(ended, officer):
    version = ended.program_version
    version.primary_instrument = "PHQ-9"
    version.save(update_fields=["primary_instrument"])
    call_command("register", "refresh", stdout=io.StringIO())
    (row,) = csv.DictReader(io.StringIO(export("--by", "register")))
    assert (row["primary_instrument"], row["score_pre"]) == ("PHQ-9", "")


def test_identified_delivery_and_json(ended, officer, patient):
    rows = json.loads(export("--by", "register", "--format", "json", "--identify"))
    assert [row["patient"] for row in rows] == [patient.personal_number]
    # A day not there is null, as a missing number is, not an empty text.
    assert rows[0]["registered_on"] is None and rows[0]["ended_on"]


def test_pseudonyms_are_stable_and_differ_between_regions(patient):
    assert pseudonym(patient.personal_number, "05") == pseudonym(patient.personal_number, "05")
    assert pseudonym(patient.personal_number, "05") != pseudonym(patient.personal_number, "18")


def test_patients_who_opted_out_are_left_out(ended, officer, patient, unit):
    offering = Offering.objects.create(unit=unit, program=ended.program_version.program)
    Registration.objects.create(patient=patient, offering=offering, register_opt_out=True)
    assert list(csv.DictReader(io.StringIO(export("--by", "register")))) == []


def test_running_treatments_only_on_request(enrollment, officer):
    assert list(csv.DictReader(io.StringIO(export("--by", "register")))) == []
    assert (
        len(list(csv.DictReader(io.StringIO(export("--by", "register", "--include-running")))))
        == 1
    )


@pytest.mark.parametrize(
    "args",
    [("--by", "therapist"), ("--by", "register", "--from", "2026-13-01"), ("--by", "nobody")],
)
def test_bad_input_exits_2(officer, therapist, args):
    with pytest.raises(CommandError) as error:
        call_command("register", "export", "--from", "2026-01-01", "--to", "2026-12-31", *args)
    assert error.value.returncode == 2
