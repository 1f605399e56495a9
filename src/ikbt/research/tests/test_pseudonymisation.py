"""No identifying field of any participant leaves through a researcher page or an export;
every export is logged per participant; the files have the promised shape."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from ikbt import factories
from ikbt.audit.models import AccessLogEntry
from ikbt.conftest import verified_client
from ikbt.measurement.models import Response
from ikbt.organisations.models import StaffRole
from ikbt.patients.models import Patient
from ikbt.research import actions
from ikbt.research.tests.conftest import enrol, make_study, open_study, submit
from ikbt.research.tests.test_study_pages import study_urls

# (given name, family name, street, postal code, city, e-mail, mobile): unusual on purpose.
PEOPLE = [
    (
        "Zelmira",
        "Quistorpsson",
        "Hemligvägen 17",
        "97531",
        "Doltaby",
        "zq@hemlig.example",
        "+46709998881",
    ),
    (
        "Ximena",
        "Wrangelsköld",
        "Gömdgatan 3",
        "97532",
        "Skymdinge",
        "xw@hemlig.example",
        "+46709998882",
    ),
    (
        "Yngvild",
        "Oxenstjärnberg",
        "Anonymstigen 9",
        "97533",
        "Tystberga",
        "yo@hemlig.example",
        "+46709998883",
    ),
]
GUARDIAN = "Gudrun Väktarsdotter"


def _identifiers(patient) -> list[str]:
    number = patient.personal_number
    return [
        patient.given_name,
        patient.family_name,
        number,
        patient.personal_number_display,
        number[2:],
        f"{number[2:8]}-{number[8:]}",
        patient.email,
        patient.mobile,
        patient.mobile.replace("+46", "0"),
        patient.street_address,
        patient.postal_code,
        patient.city,
    ]


@pytest.fixture
def study_with_data(researcher, unit, therapist, program):
    study = make_study(researcher, [unit], program, min_age=16, planned_size=12)
    actions.screening_criterion_add(
        study, instrument_code="KEDS", min_total=19, max_total=None, by=researcher
    )
    study = actions.study_open_recruitment(study, by=researcher)
    identifiers = []
    for index, (given, family, street, postal, city, email, mobile) in enumerate(PEOPLE):
        born = "19900515" if index else f"{timezone.localdate().year - 17}0515"
        patient = factories.PatientFactory(
            personal_number=factories.personal_number(born, 800 + index),
            given_name=given, family_name=family, street_address=street, postal_code=postal,
            city=city, email=email, mobile=mobile,
        )  # fmt: skip
        factories.care_relationship(patient, therapist, unit)
        submit(patient, "KEDS", 4)
        participant = enrol(study, unit, therapist, patient=patient, consent=False)
        guardian_number = factories.personal_number("19700101", 900 + index)
        actions.consent_sign(
            participant,
            signed_name=patient.full_name,
            guardian_name=GUARDIAN if index == 0 else "",
            guardian_personal_number=guardian_number if index == 0 else "",
        )
        actions.participant_randomise(participant, by=therapist)
        for occasion, value in (("pre", 5), ("weekly", 4), ("post", 2)):
            response = submit(patient, "KEDS", value)
            Response.objects.filter(pk=response.pk).update(occasion=occasion)
        identifiers += _identifiers(patient)
        if index == 0:
            identifiers += [GUARDIAN, guardian_number, guardian_number[2:]]
    return study, identifiers


def test_no_identifying_field_leaves_through_any_researcher_page_or_export(
    study_with_data, researcher, unit
):
    study, identifiers = study_with_data
    member = factories.staff_member(unit, StaffRole.RESEARCHER, username="medlem")
    actions.study_member_add(study, member, by=researcher)
    urls = [reverse("research:study_list"), *study_urls(study)]
    for user in (researcher, member):
        client = verified_client(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            content = response.content.decode()
            leaked = [value for value in identifiers if value in content]
            assert leaked == [], f"{url} shows {leaked}"
        participants = client.get(reverse("research:participants", args=[study.pk]))
        assert f"{study.code}-0003" in participants.content.decode()  # the search can find


def test_every_export_is_logged_for_each_participant(study_with_data, researcher):
    study, _identifiers = study_with_data
    client = verified_client(researcher)
    client.get(reverse("research:export_file", args=[study.pk, "long"]))
    entries = AccessLogEntry.objects.filter(action="export", actor=researcher)
    assert entries.count() == 3
    assert {entry.patient.family_name for entry in entries} == {row[1] for row in PEOPLE}
    assert {entry.detail for entry in entries} == {
        f"study {study.code} long export (pseudonymised)"
    }
    client.get(reverse("research:export_file", args=[study.pk, "wide"]))
    assert AccessLogEntry.objects.filter(action="export").count() == 6


def _read(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_long_wide_and_dictionary_files(study_with_data, researcher):
    study, _identifiers = study_with_data
    client = verified_client(researcher)
    long = _read(client.get(reverse("research:export_file", args=[study.pk, "long"])))
    assert list(long[0]) == [
        "study_id",
        "arm",
        "unit",
        "time_point",
        "instrument",
        "item",
        "value",
        "day",
    ]
    first = [row for row in long if row["study_id"] == f"{study.code}-0001"]
    assert {row["time_point"] for row in first} == {"screening", "pre", "week_1", "post"}
    totals = {row["time_point"]: row["value"] for row in first if row["item"] == "total"}
    assert (totals["screening"], totals["pre"], totals["post"]) == ("36", "45", "18")
    assert {row["day"] for row in first} == {"0"}
    assert {row["unit"] for row in long} == {"U1"}
    wide = _read(client.get(reverse("research:export_file", args=[study.pk, "wide"])))
    assert [row["study_id"] for row in wide] == [f"{study.code}-000{n}" for n in (1, 2, 3)]
    assert [row["age_years"] for row in wide][1:] == [str(wide_age(1)), str(wide_age(2))]
    assert wide[0]["KEDS_pre"] == "45"
    assert wide[0]["KEDS_post"] == "18"
    assert wide[0]["allocation_day"] == "0"
    dictionary = _read(client.get(reverse("research:export_file", args=[study.pk, "dictionary"])))
    described = {(row["file"], row["column"]) for row in dictionary}
    assert {("long", column) for column in long[0]} <= described
    assert {("wide", column) for column in wide[0]} <= described


def wide_age(index: int) -> int:
    return Patient(personal_number=factories.personal_number("19900515", 800 + index)).age


def test_dates_instead_of_days_when_the_study_says_so(study_with_data, researcher):
    study, _identifiers = study_with_data
    study.relative_dates = False
    study.save(update_fields=["relative_dates"])
    client = verified_client(researcher)
    long = _read(client.get(reverse("research:export_file", args=[study.pk, "long"])))
    assert {row["date"] for row in long} == {timezone.localdate().isoformat()}


def test_unconsented_participants_are_not_exported(researcher, unit, therapist, program):
    study = open_study(researcher, [unit], program)
    enrol(study, unit, therapist, consent=False)
    client = verified_client(researcher)
    wide = _read(client.get(reverse("research:export_file", args=[study.pk, "wide"])))
    assert wide == []
