"""After randomisation the program arm's treatment starts through intake's own acceptance;
the waiting list starts nothing. The study's questionnaires are scheduled from allocation."""

import datetime

from django.urls import reverse
from django.utils import timezone

from ikbt.intake.actions import registration_submit
from ikbt.intake.models import Offering, Registration
from ikbt.research import actions
from ikbt.research.models import StudyResponse
from ikbt.research.tests.conftest import enrol, make_study
from ikbt.treatment.models import Enrollment

ANSWERS = {"situation": "Helt slut.", "substance_use": "no", "psychiatry_contact": "no"}


def test_the_program_arm_starts_treatment_and_the_waiting_list_does_not(
    researcher, unit, therapist, program, therapist_client
):
    study = make_study(researcher, [unit], program, block_sizes=[2])
    waiting = study.arms.get(program__isnull=True)
    actions.study_measurement_add(
        study, when="post", instrument_code="KEDS", arm=waiting, by=researcher
    )
    actions.study_measurement_add(study, when="pre", instrument_code="KEDS", by=researcher)
    study = actions.study_open_recruitment(study, by=researcher)
    offering = Offering.objects.create(unit=unit, program=program)
    allocations = {}
    for _ in range(2):  # one block of two: one in each arm
        participant = enrol(study, unit, therapist)
        registration_submit(participant.patient, offering, answers=ANSWERS, register_opt_out=False)
        allocation = actions.participant_randomise(participant, by=therapist)
        allocations[allocation.arm.is_waiting_list] = participant
    treated, waiting_participant = allocations[False], allocations[True]

    url = reverse("research:patient", args=[treated.patient_id])
    page = therapist_client.get(url).content.decode()
    assert "Accept and start" in page
    assert "(Exhaustion: recovery step by step)" in page  # the program as patients know it
    prefix = f"start{treated.pk}"
    therapist_client.post(
        url,
        {"start": treated.pk, f"{prefix}-therapist": therapist.pk,
         f"{prefix}-start_date": "2026-06-01", f"{prefix}-problem": "Utmattning",
         f"{prefix}-risk": "Låg", f"{prefix}-suitability": "Motiverad"},
    )  # fmt: skip
    enrollment = Enrollment.objects.get(patient=treated.patient)
    assert enrollment.program_version.program == program
    assert timezone.localdate(enrollment.started_at) == datetime.date(2026, 6, 1)
    assert Registration.objects.get(patient=treated.patient).status == "accepted"

    other = therapist_client.get(
        reverse("research:patient", args=[waiting_participant.patient_id])
    )
    assert "Waiting list: no treatment starts now." in other.content.decode()
    assert not Enrollment.objects.filter(patient=waiting_participant.patient).exists()

    # KEDS before start is the program's own for the treated arm: not asked twice. The
    # waiting list gets it from the study, and KEDS at the end point, 12 weeks on.
    asked = {
        (row.participant_id, row.response.occasion)
        for row in StudyResponse.objects.select_related("response")
    }
    assert asked == {(waiting_participant.pk, "pre"), (waiting_participant.pk, "post")}
    post = StudyResponse.objects.get(response__occasion="post").response
    assert post.due_at - waiting_participant.allocation.allocated_at == datetime.timedelta(
        weeks=12
    )
