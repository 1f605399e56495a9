"""Who may be included: age and screening scores as data, exclusion criteria confirmed, and
only by the patient's responsible therapist or assessor at a participating unit."""

import pytest
from django.urls import reverse
from django.utils import timezone

from ikbt import factories
from ikbt.research import actions
from ikbt.research.models import Participant
from ikbt.research.tests.conftest import enrol, make_study, open_study, submit


@pytest.fixture
def screened_study(researcher, unit, program):
    study = make_study(researcher, [unit], program, exclusion_criteria="Akut suicidrisk.")
    actions.screening_criterion_add(
        study, instrument_code="KEDS", min_total=19, max_total=None, by=researcher
    )
    return actions.study_open_recruitment(study, by=researcher)


def include(study, patient, unit, by, **kwargs):
    return actions.participant_include(
        study, patient, unit=unit, by=by, strata={}, exclusion_checked=True, **kwargs
    )


def refusal(study, patient, unit, by, **kwargs) -> str:
    with pytest.raises(actions.ResearchError) as error:
        include(study, patient, unit, by, **kwargs)
    return str(error.value)


def test_a_patient_who_meets_the_criteria_is_included_with_a_study_id(
    screened_study, unit, therapist, patient
):
    keds = submit(patient, "KEDS", 3)  # 27, above the cut-off of 19
    participant = include(screened_study, patient, unit, therapist)
    assert participant.pseudonym == f"S{screened_study.pk}-0001"
    assert list(participant.screening_responses.all()) == [keds]
    assert participant.age_at_inclusion == patient.age


def test_refused_without_a_screening_score(screened_study, unit, therapist, patient):
    assert refusal(screened_study, patient, unit, therapist) == (
        "There is no submitted KEDS to screen by."
    )


def test_refused_below_the_cut_off(screened_study, unit, therapist, patient):
    submit(patient, "KEDS", 2)
    assert refusal(screened_study, patient, unit, therapist) == (
        "KEDS is 18; the study includes from 19."
    )


def test_the_latest_score_counts(screened_study, unit, therapist, patient):
    submit(patient, "KEDS", 4)
    submit(patient, "KEDS", 1)
    assert refusal(screened_study, patient, unit, therapist) == (
        "KEDS is 9; the study includes from 19."
    )


def test_refused_outside_the_age_range(researcher, unit, therapist, program):
    study = open_study(researcher, [unit], program, min_age=18, max_age=30)
    older = factories.PatientFactory()  # born 1985
    factories.care_relationship(older, therapist, unit)
    assert (
        refusal(study, older, unit, therapist) == "The study includes people up to the age of 30."
    )
    born = timezone.localdate().replace(year=timezone.localdate().year - 17)
    young = factories.PatientFactory(
        personal_number=factories.personal_number(born.strftime("%Y%m%d"), 444)
    )
    factories.care_relationship(young, therapist, unit)
    assert (
        refusal(study, young, unit, therapist) == "The study includes people from the age of 18."
    )


def test_exclusion_criteria_must_be_confirmed(screened_study, unit, therapist, patient):
    submit(patient, "KEDS", 4)
    with pytest.raises(actions.ResearchError) as error:
        actions.participant_include(
            screened_study, patient, unit=unit, by=therapist, strata={}, exclusion_checked=False
        )
    assert str(error.value) == "Confirm that none of the exclusion criteria applies."


def test_only_the_responsible_therapist_or_assessor_includes(
    screened_study, unit, therapist, colleague, patient, unit_admin
):
    submit(patient, "KEDS", 4)
    message = "Only the patient's responsible therapist or assessor at the unit can include."
    assert refusal(screened_study, patient, unit, colleague) == message
    assert refusal(screened_study, patient, unit, unit_admin) == message


def test_refused_at_a_unit_outside_the_study(
    researcher, unit, other_region_unit, therapist, patient, program
):
    study = open_study(researcher, [unit], program)
    factories.care_relationship(patient, therapist, other_region_unit)
    assert refusal(study, patient, other_region_unit, therapist) == (
        "The unit does not take part in the study."
    )


def test_refused_before_recruitment_opens_and_after_it_closes(
    researcher, unit, therapist, patient, program
):
    study = make_study(researcher, [unit], program)
    assert refusal(study, patient, unit, therapist) == "The study is not recruiting."
    study = actions.study_open_recruitment(study, by=researcher)
    actions.study_close(study, by=researcher)
    assert refusal(study, patient, unit, therapist) == "The study is not recruiting."


def test_included_once_and_randomised_only_after_consent(
    researcher, unit, therapist, patient, program
):
    study = open_study(researcher, [unit], program)
    participant = enrol(study, unit, therapist, patient=patient, consent=False)
    assert (
        refusal(study, patient, unit, therapist) == "The patient is already included in the study."
    )
    with pytest.raises(actions.ResearchError) as error:
        actions.participant_randomise(participant, by=therapist)
    assert str(error.value) == "The patient has not consented to the study yet."


def test_a_stratification_value_is_required(researcher, unit, therapist, patient, program):
    factors = [{"name": "sjukskriven", "choices": ["ja", "nej"]}]
    study = open_study(researcher, [unit], program, stratification_factors=factors)
    assert refusal(study, patient, unit, therapist) == "Choose a value for sjukskriven."
    participant = actions.participant_include(
        study, patient, unit=unit, by=therapist, strata={"sjukskriven": "ja"},
        exclusion_checked=False,
    )  # fmt: skip
    assert participant.strata == {"sjukskriven": "ja"}


def test_the_therapist_includes_and_randomises_from_the_patients_page(
    researcher, unit, therapist, patient, program, therapist_client, patient_client
):
    study = open_study(researcher, [unit], program, exclusion_criteria="Akut suicidrisk.")
    url = reverse("research:patient", args=[patient.pk])
    refused = therapist_client.post(url, {"include": study.pk, f"study{study.pk}-unit": unit.pk})
    assert refused.status_code == 200
    assert not Participant.objects.exists()
    therapist_client.post(
        url,
        {"include": study.pk, f"study{study.pk}-unit": unit.pk,
         f"study{study.pk}-exclusion_checked": "on"},
    )  # fmt: skip
    participant = Participant.objects.get()
    patient_client.post(
        reverse("research:consent", args=[participant.pk]),
        {"agree": "on", "signed_name": "Petra Patient"},
    )
    therapist_client.post(url, {"randomise": participant.pk})
    participant.refresh_from_db()
    page = therapist_client.get(url).content.decode()
    assert participant.allocation.arm.name in page
    assert "Randomise</button>" not in page
