"""Research consent on the patient's own pages, and withdrawal at any time."""

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ikbt import factories
from ikbt.conftest import verified_client
from ikbt.measurement.models import Response
from ikbt.research import actions, export
from ikbt.research.models import ResearchConsent, StudyResponse
from ikbt.research.tests.conftest import enrol, make_study, open_study, submit


def factories_client(patient) -> Client:
    client = Client()
    client.force_login(patient.user)
    return client


def young_patient(years: int, serial: int, therapist, unit, guardians=()):
    """A patient ``years`` old today, in ``therapist``'s care at ``unit``, with guardians of
    these names on her record."""
    today = timezone.localdate()
    born = today.replace(year=today.year - years)
    patient = factories.PatientFactory(
        personal_number=factories.personal_number(born.strftime("%Y%m%d"), serial)
    )
    for name in guardians:
        factories.GuardianFactory(patient=patient, name=name)
    factories.care_relationship(patient, therapist, unit)
    return patient


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
    youth = young_patient(16, 555, therapist, unit)
    participant = enrol(study, unit, therapist, patient=youth, consent=False)
    client = factories_client(youth)
    url = reverse("research:consent", args=[participant.pk])
    refused = client.post(url, {"agree": "on", "signed_name": youth.full_name})
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
            "signed_name": youth.full_name,
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


def test_under_15_both_guardians_sign_or_one_with_sole_custody(
    researcher, unit, therapist, program
):
    study = open_study(researcher, [unit], program, min_age=12, max_age=25)
    child = young_patient(13, 558, therapist, unit, guardians=["Lena Förälder"])
    participant = enrol(study, unit, therapist, patient=child, consent=False)
    client = factories_client(child)
    url = reverse("research:consent", args=[participant.pk])
    page = client.get(url).content.decode()
    assert "You are under 15, so both your guardians sign too" in page
    assert "Second guardian" in page
    lena = child.guardians.get().personal_number
    per = factories.personal_number("19780101", 323)
    answer = {
        "agree": "on",
        "signed_name": child.full_name,
        "guardian_name": "Lena Förälder",
        "guardian_personal_number": lena,
        "guardian_agree": "on",
    }
    refused = client.post(url, answer)
    assert refused.context["form"].errors == {
        "second_guardian_name": ["Write the second guardian's name."],
        "second_guardian_personal_number": [
            "Write the second guardian's personal identity number."
        ],
        "second_guardian_agree": [
            "Under 15 both guardians agree, unless one has sole custody: then tick that box."
        ],
    }
    assert 'value="Lena Förälder"' in refused.content.decode()  # what was typed stays
    # The same guardian twice is not two.
    twice = answer | {
        "second_guardian_name": "Lena Förälder",
        "second_guardian_personal_number": lena,
        "second_guardian_agree": "on",
    }
    refused = client.post(url, twice)
    assert refused.context["form"].errors == {
        "second_guardian_personal_number": ["The second guardian is someone other than the first."]
    }
    assert not ResearchConsent.objects.filter(participant=participant).exists()
    client.post(
        url,
        answer
        | {
            "second_guardian_name": "Per Förälder",
            "second_guardian_personal_number": per,
            "second_guardian_agree": "on",
        },
    )
    consent = ResearchConsent.objects.get(participant=participant)
    assert (
        consent.guardian_name,
        consent.second_guardian_name,
        consent.second_guardian_personal_number,
        consent.sole_guardian,
    ) == ("Lena Förälder", "Per Förälder", per, False)


def test_under_15_a_guardian_with_sole_custody_signs_alone(researcher, unit, therapist, program):
    study = open_study(researcher, [unit], program, min_age=12, max_age=25)
    child = young_patient(13, 559, therapist, unit)
    participant = enrol(study, unit, therapist, patient=child, consent=False)
    lena = factories.personal_number("19800101", 321)
    # The action holds to it too, whoever calls it.
    with pytest.raises(actions.ResearchError, match="Under 15 both guardians sign"):
        actions.consent_sign(
            participant,
            signed_name=child.full_name,
            guardian_name="Lena Förälder",
            guardian_personal_number=lena,
        )
    client = factories_client(child)
    client.post(
        reverse("research:consent", args=[participant.pk]),
        {
            "agree": "on",
            "signed_name": child.full_name,
            "guardian_name": "Lena Förälder",
            "guardian_personal_number": lena,
            "guardian_agree": "on",
            "sole_guardian": "on",
        },
    )
    consent = ResearchConsent.objects.get(participant=participant)
    assert (consent.guardian_name, consent.second_guardian_name, consent.sole_guardian) == (
        "Lena Förälder",
        "",
        True,
    )


def test_under_15_with_two_guardians_on_record_both_of_them_sign(
    researcher, unit, therapist, program
):
    """Her records name two guardians: sole custody is not taken on a word, and the second
    to sign is the other one on record, not anyone."""
    study = open_study(researcher, [unit], program, min_age=12, max_age=25)
    child = young_patient(13, 561, therapist, unit, guardians=["Lena Förälder", "Per Förälder"])
    lena = child.guardians.get(name="Lena Förälder")
    per = child.guardians.get(name="Per Förälder")
    participant = enrol(study, unit, therapist, patient=child, consent=False)
    client = factories_client(child)
    url = reverse("research:consent", args=[participant.pk])
    answer = {
        "agree": "on",
        "signed_name": child.full_name,
        "guardian_name": "Lena Förälder",
        "guardian_personal_number": lena.personal_number,
        "guardian_agree": "on",
    }
    refused = client.post(url, answer | {"sole_guardian": "on"})
    assert refused.context["form"].errors == {
        "sole_guardian": ["Your records name two guardians: both sign."]
    }
    stranger = answer | {
        "second_guardian_name": "Kalle Anka",
        "second_guardian_personal_number": factories.personal_number("19700101", 329),
        "second_guardian_agree": "on",
    }
    refused = client.post(url, stranger)
    assert list(refused.context["form"].errors) == ["second_guardian_name"]
    with pytest.raises(actions.ResearchError, match="both sign"):
        actions.consent_sign(
            participant,
            signed_name=child.full_name,
            guardian_name="Lena Förälder",
            guardian_personal_number=lena.personal_number,
            sole_guardian=True,
        )
    assert not ResearchConsent.objects.filter(participant=participant).exists()
    client.post(
        url,
        answer
        | {
            "second_guardian_name": "Per Förälder",
            "second_guardian_personal_number": per.personal_number,
            "second_guardian_agree": "on",
        },
    )
    assert ResearchConsent.objects.get(participant=participant).second_guardian_name == (
        "Per Förälder"
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


def test_the_signature_must_be_the_patients_own_name(
    researcher, unit, therapist, patient, program, patient_client
):
    study = open_study(researcher, [unit], program)
    participant = enrol(study, unit, therapist, patient=patient, consent=False)
    url = reverse("research:consent", args=[participant.pk])
    refused = patient_client.post(url, {"agree": "on", "signed_name": "Kalle Anka"})
    assert refused.context["form"].errors == {
        "signed_name": ["Write your own name as it is in your records: Petra Patient."]
    }
    assert not ResearchConsent.objects.filter(participant=participant).exists()
    page = refused.content.decode()
    # Beside the field, and what she ticked and typed is still there.
    assert page.index("Write your own name") < page.index('id="id_signed_name"')
    assert 'value="Kalle Anka"' in page
    assert re.search(r'<input type="checkbox" name="agree"[^>]* checked', page)
    with pytest.raises(actions.ResearchError):
        actions.consent_sign(participant, signed_name="Kalle Anka")
    # Case and extra spaces do not matter.
    response = patient_client.post(url, {"agree": "on", "signed_name": "  petra   PATIENT "})
    assert response.url == reverse("research:my_studies")
    assert ResearchConsent.objects.get(participant=participant).signed_name == "petra   PATIENT"


def test_a_guardian_on_record_signs_with_their_own_name(researcher, unit, therapist, program):
    study = open_study(researcher, [unit], program, min_age=15, max_age=25)
    youth = young_patient(16, 556, therapist, unit, guardians=["Lena Förälder"])
    guardian = youth.guardians.get(name="Lena Förälder")
    participant = enrol(study, unit, therapist, patient=youth, consent=False)
    client = factories_client(youth)
    url = reverse("research:consent", args=[participant.pk])
    answer = {
        "agree": "on",
        "signed_name": youth.full_name,
        "guardian_name": "Kalle Anka",
        "guardian_personal_number": guardian.personal_number,
        "guardian_agree": "on",
    }
    not_theirs = [
        "That is not the name and personal identity number of a guardian in your records. "
        "The guardian writes their own name and number."
    ]
    refused = client.post(url, answer)
    assert refused.context["form"].errors == {"guardian_name": not_theirs}
    # The guardian's name with another person's number is not the guardian either.
    other_number = factories.personal_number("19800101", 322)
    refused = client.post(
        url,
        answer | {"guardian_name": "Lena Förälder", "guardian_personal_number": other_number},
    )
    assert refused.context["form"].errors == {"guardian_name": not_theirs}
    assert not ResearchConsent.objects.filter(participant=participant).exists()
    client.post(url, answer | {"guardian_name": "LENA förälder"})
    assert ResearchConsent.objects.get(participant=participant).guardian_name == "LENA förälder"


def test_a_second_guardian_not_on_record_signs_on_their_word(researcher, unit, therapist, program):
    """Only the guardian the young person named at intake is on her record: the other
    parent signs, as at registration, without being refused."""
    study = open_study(researcher, [unit], program, min_age=15, max_age=25)
    youth = young_patient(16, 557, therapist, unit, guardians=["Lena Förälder"])
    participant = enrol(study, unit, therapist, patient=youth, consent=False)
    client = factories_client(youth)
    client.post(
        reverse("research:consent", args=[participant.pk]),
        {
            "agree": "on",
            "signed_name": youth.full_name,
            "guardian_name": "Per Förälder",
            "guardian_personal_number": factories.personal_number("19780101", 323),
            "guardian_agree": "on",
        },
    )
    assert ResearchConsent.objects.get(participant=participant).guardian_name == "Per Förälder"


def test_a_name_is_hers_with_fewer_given_names_and_either_hyphen():
    from ikbt.research.signatures import same_name

    assert same_name("Maria Svensson", "Anna Maria Svensson")
    assert same_name("lars erik berg", "Lars-Erik Berg")
    assert same_name("Anna Maria  SVENSSON", "Anna Maria Svensson")
    assert not same_name("Maria Anna Svensson", "Anna Maria Svensson")  # not in their order
    assert not same_name("Svensson", "Anna Maria Svensson")
    assert not same_name("Anna Johansson", "Anna Maria Svensson")


def test_the_tick_boxes_sit_beside_their_labels(
    researcher, unit, therapist, patient, program, patient_client
):
    study = open_study(researcher, [unit], program)
    participant = enrol(study, unit, therapist, patient=patient, consent=False)
    page = patient_client.get(reverse("research:consent", args=[participant.pk])).content.decode()
    assert re.search(
        r'<div class="field check">\s*<label for="id_agree"><input type="checkbox" name="agree"',
        page,
    )


def test_the_withdrawal_question_is_a_fieldset_and_asks_for_a_choice(
    researcher, unit, therapist, patient, program, patient_client
):
    study = open_study(researcher, [unit], program)
    participant = enrol(study, unit, therapist, patient=patient)
    url = reverse("research:withdraw", args=[participant.pk])
    page = patient_client.get(url).content.decode()
    assert '<label for="">' not in page
    assert re.search(
        r'<fieldset class="field">\s*<legend>What may happen to what you have already '
        r"answered\?</legend>",
        page,
    )
    assert '<label for="id_keep_data_0"><input type="radio" name="keep_data"' in page
    refused = patient_client.post(url, {})
    assert refused.context["form"].errors == {
        "keep_data": ["Choose whether the researchers may keep what you answered before."]
    }
    assert not ResearchConsent.objects.get(participant=participant).is_withdrawn


def test_only_a_patient_in_treatment_is_told_her_treatment_goes_on(
    researcher, unit, therapist, patient, program, patient_client
):
    study = open_study(researcher, [unit], program)
    participant = enrol(study, unit, therapist, patient=patient)
    url = reverse("research:withdraw", args=[participant.pk])
    assert "Your treatment goes on" not in patient_client.get(url).content.decode()
    response = patient_client.post(url, {"keep_data": "yes"}, follow=True)
    page = response.content.decode()
    assert "You have left the study." in page
    assert "treatment goes on" not in page.lower()


def test_a_patient_in_treatment_is_told_her_treatment_goes_on(
    researcher, unit, therapist, patient, program, patient_client, enrollment
):
    study = open_study(researcher, [unit], program)
    participant = enrol(study, unit, therapist, patient=patient)
    url = reverse("research:withdraw", args=[participant.pk])
    assert "Your treatment goes on as before." in patient_client.get(url).content.decode()
    response = patient_client.post(url, {"keep_data": "no"}, follow=True)
    assert "You have left the study. Your treatment goes on as before." in (
        response.content.decode()
    )


def test_the_export_page_counts_those_who_withdrew_and_let_their_data_be_kept(
    researcher, unit, therapist, program
):
    study = open_study(researcher, [unit], program)
    _stays, leaves, removed = (enrol(study, unit, therapist) for _ in range(3))
    actions.consent_withdraw(leaves, keep_data=True)
    actions.consent_withdraw(removed, keep_data=False)
    enrol(study, unit, therapist, consent=False)
    page = verified_client(researcher).get(reverse("research:export", args=[study.pk]))
    text = " ".join(page.content.decode().split())
    assert "The files hold 2 participants, pseudonymised." in text
    assert "Of these, 1 has withdrawn and let the data from before the withdrawal be kept." in text
    assert "consented participants" not in text
