"""Research consent on the patient's own pages, and withdrawal at any time."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ikbt import factories
from ikbt.measurement.models import Response
from ikbt.research import actions, export
from ikbt.research.models import ResearchConsent, StudyResponse
from ikbt.research.tests.conftest import enrol, make_study, open_study, submit


def factories_client(patient) -> Client:
    client = Client()
    client.force_login(patient.user)
    return client


def test_the_patient_reads_the_information_and_signs(
    researcher, unit, therapist, patient, program, patient_client
):
    study = open_study(researcher, [unit], program)
    participant = enrol(study, unit, therapist, patient=patient, consent=False)
    listing = patient_client.get(reverse("research:my_studies")).content.decode()
    assert "Read about the study and answer" in listing
    url = reverse("research:consent", args=[participant.pk])
    page = patient_client.get(url).content.decode()
    assert study.information_text in page
    assert study.ethics_approval_number in page
    refused = patient_client.post(url, {"signed_name": "Petra Patient"})
    assert refused.context["form"].errors == {"agree": ["Tick the box to take part."]}
    response = patient_client.post(url, {"agree": "on", "signed_name": "Petra Patient"})
    assert response.url == reverse("research:my_studies")
    consent = ResearchConsent.objects.get(participant=participant)
    assert (consent.signed_name, consent.information_text) == (
        "Petra Patient",
        study.information_text,
    )
    participant.refresh_from_db()
    assert participant.consented_at == consent.signed_at
    assert participant.age_at_consent == patient.age


def test_a_minor_needs_a_guardian_to_sign(researcher, unit, therapist, program):
    study = open_study(researcher, [unit], program, min_age=15, max_age=25)
    fifteen = timezone.localdate().replace(year=timezone.localdate().year - 16)
    youth = factories.PatientFactory(
        personal_number=factories.personal_number(fifteen.strftime("%Y%m%d"), 555)
    )
    factories.care_relationship(youth, therapist, unit)
    participant = enrol(study, unit, therapist, patient=youth, consent=False)
    client = factories_client(youth)
    url = reverse("research:consent", args=[participant.pk])
    refused = client.post(url, {"agree": "on", "signed_name": "Unga Person"})
    assert set(refused.context["form"].errors) == {
        "guardian_name",
        "guardian_personal_number",
        "guardian_agree",
    }
    guardian_number = factories.personal_number("19800101", 321)
    client.post(
        url,
        {
            "agree": "on",
            "signed_name": "Unga Person",
            "guardian_name": "Lena Förälder",
            "guardian_personal_number": guardian_number,
            "guardian_agree": "on",
        },
    )
    consent = ResearchConsent.objects.get(participant=participant)
    assert (consent.guardian_name, consent.guardian_personal_number) == (
        "Lena Förälder",
        guardian_number,
    )


def test_another_patient_cannot_reach_the_consent(researcher, unit, therapist, program):
    study = open_study(researcher, [unit], program)
    participant = enrol(study, unit, therapist, consent=False)
    stranger = factories.PatientFactory()
    client = factories_client(stranger)
    assert client.get(reverse("research:consent", args=[participant.pk])).status_code == 404
    assert client.get(reverse("research:withdraw", args=[participant.pk])).status_code == 404


def test_withdrawal_stops_collection_and_keeps_earlier_data_when_chosen(
    researcher, unit, therapist, patient, program, patient_client
):
    study = make_study(researcher, [unit], program)
    actions.study_measurement_add(
        study, when="follow_up_12", instrument_code="MADRS-S", by=researcher
    )
    study = actions.study_open_recruitment(study, by=researcher)
    participant = enrol(study, unit, therapist, patient=patient)
    actions.participant_randomise(participant, by=therapist)
    scheduled = StudyResponse.objects.filter(participant=participant)
    assert [row.measurement.instrument_code for row in scheduled] == ["MADRS-S"]
    before = submit(patient, "KEDS", 4)
    Response.objects.filter(pk=before.pk).update(occasion="post")
    url = reverse("research:withdraw", args=[participant.pk])
    assert "Leave the study" in patient_client.get(reverse("research:my_studies")).content.decode()
    form_page = patient_client.get(url).content.decode()
    assert "What may happen to what you have already answered?" in form_page
    response = patient_client.post(url, {"keep_data": "yes"})
    assert response.url == reverse("research:my_studies")
    consent = ResearchConsent.objects.get(participant=participant)
    assert consent.is_withdrawn and consent.keep_data_after_withdrawal
    # The study's questionnaire not yet answered is taken back; nothing new is asked.
    assert not StudyResponse.objects.filter(participant=participant).exists()
    assert not Response.objects.filter(
        patient=patient, instrument_version__instrument__code="MADRS-S"
    ).exists()
    after = submit(patient, "KEDS", 6)
    Response.objects.filter(pk=after.pk).update(
        occasion="follow_up_3", submitted_at=timezone.now() + datetime.timedelta(minutes=1)
    )
    rows = export.collect(study)
    assert [row.study_id for row in rows] == [participant.pseudonym]
    assert [(a.instrument, a.time_point, a.total) for a in rows[0].answered] == [
        ("KEDS", "post", 36)
    ]
    listing = patient_client.get(reverse("research:my_studies")).content.decode()
    assert "You left the study on" in listing


def test_withdrawal_without_keeping_data_removes_the_participant_from_exports(
    researcher, unit, therapist, patient, program, patient_client
):
    study = open_study(researcher, [unit], program)
    participant = enrol(study, unit, therapist, patient=patient)
    actions.participant_randomise(participant, by=therapist)
    kept = enrol(study, unit, therapist)
    patient_client.post(reverse("research:withdraw", args=[participant.pk]), {"keep_data": "no"})
    assert [row.study_id for row in export.collect(study)] == [kept.pseudonym]
    _header, lines = export.wide_rows(study, export.collect(study))
    assert participant.pseudonym not in str(lines)
    # The figures still count the withdrawal (numbers, not data).
    assert export.recruitment(study).total["withdrawn"] == 1


def test_a_withdrawn_participant_is_not_randomised(researcher, unit, therapist, program):
    study = open_study(researcher, [unit], program)
    participant = enrol(study, unit, therapist)
    actions.consent_withdraw(participant, keep_data=True)
    with pytest.raises(actions.ResearchError) as error:
        actions.participant_randomise(participant, by=therapist)
    assert str(error.value) == "The patient has withdrawn from the study."
    with pytest.raises(actions.ResearchError):
        actions.consent_withdraw(participant, keep_data=False)
