"""The load run's scenario: signed-in patients in treatment and their therapists.

    python bench/scenario.py OUT.json PATIENTS_PER_THERAPIST   (run by bench/server.py)

On top of the demo, every demo therapist who has a patient in treatment gets a caseload of
PATIENTS_PER_THERAPIST patients in the same program, each with a message thread and a weekly
questionnaire open. Sessions are made the way the test suite makes them (``verified_client``:
signed in, second factor verified), and the URLs and form fields each simulated person uses
are written to OUT.json for bench/locustfile.py.
"""

import json
import sys

import django

django.setup()

from django.test import Client  # noqa: E402
from django.utils.crypto import get_random_string  # noqa: E402

from ikbt import factories  # noqa: E402
from ikbt.conftest import verified_client  # noqa: E402
from ikbt.measurement import actions as measurement  # noqa: E402
from ikbt.measurement.forms import QuestionnaireForm  # noqa: E402
from ikbt.messaging import actions as messaging  # noqa: E402
from ikbt.patients.models import CareRelationship  # noqa: E402
from ikbt.programs.blocks import parse_page  # noqa: E402
from ikbt.treatment.models import Enrollment  # noqa: E402

QUESTIONNAIRE = "GAD-7"


def session_of(client: Client) -> str:
    return client.cookies["sessionid"].value


def patient_entry(enrollment: Enrollment, therapist) -> dict:
    patient = enrollment.patient
    version = enrollment.program_version
    module = version.modules.order_by("position").first()
    # The module page the patient reads is the first one with a worksheet on it, if any, so
    # the simulated patient loads the worksheet's revision the way a browser does.
    number, sheet_key = next(
        (
            (number, block.argument)
            for number, page in enumerate(module.pages.order_by("position"), start=1)
            for block in parse_page(page.source)
            if block.kind == "worksheet"
        ),
        (1, version.worksheets.order_by("key").values_list("key", flat=True).first()),
    )
    sheet = version.worksheets.get(key=sheet_key)
    thread = messaging.thread_start(patient, therapist, "Välkommen", "Hej! Välkommen.")
    response = measurement.response_start(patient, measurement.current_version(QUESTIONNAIRE))
    form = QuestionnaireForm(response.instrument_version, "sv", None, complete=False)
    first, second = list(form.fields)[:2]
    client = Client()
    client.force_login(patient.user)
    return {
        "session": session_of(client),
        "home": "/behandling/",
        "module": f"/behandling/{enrollment.pk}/modul/{module.key}/{number}/",
        "worksheet": f"/behandling/{enrollment.pk}/arbetsblad/{sheet.key}/",
        "worksheet_fields": {
            field["key"]: "Jag tänkte att det skulle gå dåligt, men det gick bra."
            for field in sheet.fields
            if field["kind"] in ("text", "list")
        },
        "questionnaire": f"/skattningar/{response.key}/",
        "questionnaire_fields": {first: "1", second: "2"},
        "inbox": "/meddelanden/",
        "thread": f"/meddelanden/{thread.pk}/",
        "thread_id": thread.pk,
        "enrollment_id": enrollment.pk,
    }


def main(out: str, per_therapist: int) -> None:
    first_of_caseload = {}
    for relationship in (
        CareRelationship.objects.active()
        .filter(role=CareRelationship.Role.RESPONSIBLE_THERAPIST)
        .select_related("staff", "unit")
    ):
        enrollment = (
            Enrollment.objects.filter(
                patient=relationship.patient_id,
                unit=relationship.unit,
                status=Enrollment.Status.ACTIVE,
            )
            .select_related("program_version")
            .first()
        )
        if enrollment is not None:
            first_of_caseload.setdefault(relationship.staff, enrollment)
    patients, therapists = [], []
    for therapist, model in first_of_caseload.items():
        entries = []
        for _ in range(per_therapist):
            patient = factories.PatientFactory()
            factories.care_relationship(patient, therapist, model.unit)
            enrollment = Enrollment.objects.create(
                patient=patient, unit=model.unit, program_version=model.program_version
            )
            entries.append(patient_entry(enrollment, therapist))
        patients += entries
        therapists.append(
            {
                "session": session_of(verified_client(therapist)),
                "caseload": "/behandling/caseload/",
                "records": [f"/behandling/journal/{entry['enrollment_id']}/" for entry in entries],
                "threads": [f"/meddelanden/personal/{entry['thread_id']}/" for entry in entries],
            }
        )
    scenario = {
        "csrf": get_random_string(32),
        "patients": patients,
        "therapists": therapists,
    }
    with open(out, "w") as file:
        json.dump(scenario, file, indent=1)
    print(f"scenario: {len(patients)} patients, {len(therapists)} therapists")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
