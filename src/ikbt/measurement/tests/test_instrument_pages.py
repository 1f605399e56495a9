import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from ikbt.measurement import actions
from ikbt.measurement.definitions import shipped_definitions
from ikbt.measurement.models import InstrumentVersion


def test_migrate_loads_every_shipped_instrument(db):
    loaded = set(InstrumentVersion.objects.values_list("instrument__code", flat=True))
    assert loaded == set(shipped_definitions())
    assert actions.instruments_load() == []  # loading again adds nothing


def test_instrument_list_says_which_text_is_missing(therapist_client, django_assert_num_queries):
    therapist_client.get(reverse("core:home"))
    with django_assert_num_queries(5):
        page = therapist_client.get(reverse("measurement:instrument_list"))
    assert len(page.context["rows"]) == len(shipped_definitions())
    assert page.text.count("Licensed text missing") == 3


def test_licensed_questionnaire_cannot_be_answered_without_its_text(
    tmp_path, patient_client, patient, unit, therapist, therapist_client
):
    """Asked as the plan says, but not put to her while its text is missing: not on her
    pages as something to do, not reminded of; once the region adds the text, it is."""
    from ikbt.intake.actions import registration_submit
    from ikbt.intake.models import Offering
    from ikbt.measurement.models import Response
    from ikbt.programs.actions import program_import, version_publish
    from ikbt.programs.package import PACKAGES, read_package
    from ikbt.treatment.tasks import remind_due_questionnaires

    data, _ = read_package(PACKAGES / "somn")
    version = version_publish(program_import(data, unit.region), None)
    offering = Offering.objects.create(unit=unit, program=version.program)
    registration = registration_submit(patient, offering, answers={}, register_opt_out=False)
    isi = registration.screening.get(instrument_version__instrument__code="ISI")
    assert list(Response.objects.askable().filter(patient=patient)) == list(
        Response.objects.filter(patient=patient).exclude(pk=isi.pk)
    )
    mine = patient_client.get(reverse("intake:my_registrations")).text
    assert "cannot be filled in here yet; you need not do anything" in mine
    assert reverse("measurement:answer", kwargs={"key": isi.key}) not in mine
    assert remind_due_questionnaires.call() == 1  # one notice for PHQ-9 and AUDIT together
    reminded = Response.objects.filter(patient=patient, reminded_at__isnull=False)
    assert sorted(reminded.values_list("instrument_version__instrument__code", flat=True)) == [
        "AUDIT",
        "PHQ-9",
    ]  # not ISI

    page = patient_client.get(reverse("measurement:answer", kwargs={"key": isi.key}))
    assert "you need not do anything about it" in page.text
    assert "<fieldset" not in page.text
    on_her_behalf = actions.response_start(
        patient, actions.current_version("ISI"), filled_in_by=therapist
    )
    staff_page = therapist_client.get(reverse("measurement:staff_answer", args=[on_her_behalf.pk]))
    assert "must be supplied by a licence holder" in staff_page.text
    waiting = therapist_client.get(
        reverse("measurement:patient_measurements", args=[patient.pk])
    ).text
    assert "not asked: the licensed text is missing" in waiting

    texts = [{"sv": f"Fråga {n}", "en": f"Question {n}"} for n in range(1, 8)]
    path = tmp_path / "isi.json"
    path.write_text(json.dumps({"items": texts}), encoding="utf-8")
    call_command("instruments", "import-text", "ISI", str(path))
    assert Response.objects.askable().filter(pk=isi.pk).exists()
    mine = patient_client.get(reverse("intake:my_registrations")).text
    assert reverse("measurement:answer", kwargs={"key": isi.key}) in mine


def test_region_adds_licensed_text_and_it_is_shown(tmp_path, patient_client, patient):
    texts = [{"sv": f"Fråga {n}", "en": f"Question {n}"} for n in range(1, 8)]
    path = tmp_path / "isi.json"
    path.write_text(json.dumps({"items": texts}), encoding="utf-8")

    call_command("instruments", "import-text", "ISI", str(path))

    version = actions.current_version("ISI")
    assert version.has_item_text
    response = actions.response_start(patient, version)
    page = patient_client.get(reverse("measurement:answer", kwargs={"key": response.key}))
    assert page.text.count("<fieldset") == 7
    assert "Question 7" in page.text


def test_licensed_text_with_the_wrong_number_of_items_is_refused(tmp_path, db):
    path = tmp_path / "isi.json"
    path.write_text(json.dumps({"items": [{"sv": "En", "en": "One"}]}), encoding="utf-8")
    with pytest.raises(CommandError, match=r"ISI 2001\.1 has 7 items; the file has 1"):
        call_command("instruments", "import-text", "ISI", str(path))


def test_instrument_page_shows_questions_scoring_bands_and_risk(
    therapist_client, django_assert_num_queries
):
    therapist_client.get(reverse("core:home"))
    url = reverse("measurement:instrument_detail", kwargs={"code": "PHQ-9"})
    with django_assert_num_queries(5):
        page = therapist_client.get(url)
    text = page.text
    assert "PHQ-9 (depression)" in text
    assert "Kroenke K, Spitzer RL" in text
    assert "It runs from 0 to 27." in text
    assert "Feeling down, depressed, or hopeless" in text
    assert "Nearly every day (3)" in text
    # Item 9 (thoughts of death) at 1 or more reaches the therapist.
    assert "An answer of 1 or more to question 9 raises a risk flag" in text
    assert text.count("Raises a risk flag") == 1
    assert "Moderately severe" in text
    sv = therapist_client.get(url, HTTP_ACCEPT_LANGUAGE="sv").text
    assert "Känt dig nedstämd, deprimerad" in sv


def test_instrument_page_explains_product_scoring_and_higher_is_better(therapist_client):
    page = therapist_client.get(
        reverse("measurement:instrument_detail", kwargs={"code": "BBQ"})
    ).text
    assert "product of its two ratings" in page
    assert "A higher total is better." in page
    assert "a form with a question left out is not scored" in page


def test_instrument_page_of_licensed_text_says_it_is_missing(therapist_client):
    page = therapist_client.get(reverse("measurement:instrument_detail", kwargs={"code": "ISI"}))
    assert "Licensed text missing" in page.text
    assert "Question 1" in page.text


def test_instrument_page_names_both_ratings_of_a_two_part_question_and_its_subscales(
    therapist_client,
):
    """LSAS-SR: each situation is rated for fear and for avoidance; its text is licensed."""
    page = therapist_client.get(
        reverse("measurement:instrument_detail", kwargs={"code": "LSAS-SR"})
    ).text
    assert page.count("<li value=") == 24
    assert "Question 24" in page
    assert "<p> – " not in page and '<p class="helptext">Avoidance</p>' in page
    assert 'Fear or anxiety: the rating "Fear or anxiety" of every question' in page
    assert 'Avoidance: the rating "Avoidance" of every question' in page


def test_instrument_list_links_each_questionnaire_and_unknown_codes_are_404(therapist_client):
    page = therapist_client.get(reverse("measurement:instrument_list")).text
    for code in shipped_definitions():
        assert reverse("measurement:instrument_detail", kwargs={"code": code}) in page
    missing = reverse("measurement:instrument_detail", kwargs={"code": "NOPE-1"})
    assert therapist_client.get(missing).status_code == 404


def test_a_rating_of_a_two_part_question_without_its_licensed_text_is_named_by_the_rating(db):
    """Staff reading LSAS-SR answers before the region adds the text: "Fear or anxiety", not
    " – Fear or anxiety"; with the text, the question and the rating."""
    version = actions.current_version("LSAS-SR")
    first, second = [label for _number, label, _options in version.ratings("en")][:2]
    assert (first, second) == ("Fear or anxiety", "Avoidance")
    version.licensed_text = {
        "items": [{"sv": f"Fråga {n}", "en": f"Question {n}"} for n in range(1, 25)]
    }
    assert next(version.ratings("en"))[1] == "Question 1 – Fear or anxiety"
