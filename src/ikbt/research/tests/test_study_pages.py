"""Setting a study up from its pages, who sees it, and the list pages' query counts."""

import pytest
from django.urls import reverse

from ikbt import factories
from ikbt.conftest import list_rows, verified_client
from ikbt.organisations.models import StaffRole
from ikbt.research import actions
from ikbt.research.models import AllocationSequence, Study
from ikbt.research.tests.conftest import enrol, make_study, open_study


def test_a_two_arm_study_across_five_units_is_set_up_from_its_pages(researcher, units, program):
    client = verified_client(researcher)
    response = client.post(
        reverse("research:study_create"),
        {
            "title": "iStress",
            "region": units[0].region.pk,
            "principal_investigator": researcher.pk,
            "ethics_approval_number": "2026-01234-01",
            "ethics_approval_date": "2026-01-15",
            "information_text": "Vi jämför internetbehandling med väntelista.",
            "planned_size": "40",
            "min_age": "18",
            "max_age": "67",
            "exclusion_criteria": "Pågående missbruk.",
            "relative_dates": "on",
            "treatment_weeks": "12",
            "block_sizes": "2, 4, 6",
            "stratification_factors": "sjukskriven: ja, nej",
        },
    )
    study = Study.objects.get()
    assert response.url == reverse("research:study", args=[study.pk])
    page = reverse("research:study", args=[study.pk])
    for each in units:
        client.post(page, {"add": "unit", "unit-unit": each.pk})
    client.post(page, {"add": "arm", "arm-name": "Internet-KBT", "arm-program": program.pk,
                       "arm-ratio": "1"})  # fmt: skip
    client.post(page, {"add": "arm", "arm-name": "Väntelista", "arm-program": "",
                       "arm-ratio": "1"})  # fmt: skip
    client.post(page, {"add": "measurement", "measurement-instrument_code": "MADRS-S",
                       "measurement-when": "follow_up_12", "measurement-arm": ""})  # fmt: skip
    client.post(page, {"add": "screening", "screening-instrument_code": "KEDS",
                       "screening-min_total": "19"})  # fmt: skip
    client.post(reverse("research:study_open", args=[study.pk]))
    study.refresh_from_db()
    assert study.status == Study.Status.RECRUITING
    assert list(study.units.values_list("code", flat=True)) == ["U1", "U2", "U3", "U4", "U5"]
    assert [(arm.name, arm.program) for arm in study.arms.all()] == [
        ("Internet-KBT", program),
        ("Väntelista", None),
    ]
    assert study.block_sizes == [2, 4, 6]
    assert study.stratification_factors == [{"name": "sjukskriven", "choices": ["ja", "nej"]}]
    assert study.screening.get().min_total == 19
    assert AllocationSequence.objects.filter(study=study).count() == 10
    text = client.get(page).content.decode()
    assert "Recruiting since" in text
    assert "Open recruitment" not in text
    # Closing for good is asked first, saying what it means.
    asked = text.split('<details class="confirm"><summary>Close the study</summary>')[1]
    assert "Yes, close the study for good" in asked.split("</details>")[0]
    assert "Closing the study ends recruitment for good" in text


def test_opening_needs_two_arms(researcher, unit):
    study = actions.study_create(
        by=researcher,
        title="Ensam arm",
        region=unit.region,
        principal_investigator=researcher,
        ethics_approval_number="1",
        ethics_approval_date="2026-01-01",
        information_text="x",
        planned_size=10,
        block_sizes=[2],
    )
    actions.study_unit_add(study, unit, by=researcher)
    with pytest.raises(actions.ResearchError) as error:
        actions.study_open_recruitment(study, by=researcher)
    assert str(error.value) == "A randomised study needs at least two arms."


def test_block_sizes_must_fit_the_arms_ratio(researcher, unit, program):
    study = make_study(researcher, [unit], program, block_sizes=[3])
    with pytest.raises(actions.ResearchError) as error:
        actions.study_open_recruitment(study, by=researcher)
    assert "multiple of 2" in str(error.value)
    study.refresh_from_db()
    assert study.status == Study.Status.PLANNED
    assert not AllocationSequence.objects.exists()


def test_the_setup_is_frozen_once_recruiting(researcher, unit, program):
    study = open_study(researcher, [unit], program)
    with pytest.raises(actions.ResearchError):
        actions.arm_add(study, name="Tredje", program=None, by=researcher)


def study_urls(study) -> list[str]:
    return [
        reverse("research:study", args=[study.pk]),
        reverse("research:recruitment", args=[study.pk]),
        reverse("research:recruitment", args=[study.pk]) + "?format=csv",
        reverse("research:participants", args=[study.pk]),
        reverse("research:export", args=[study.pk]),
        *[reverse("research:export_file", args=[study.pk, kind])
          for kind in ("long", "wide", "dictionary")],
    ]  # fmt: skip


def test_outsiders_and_colleagues_get_404_on_every_study_page(
    researcher, unit, therapist, program, outsider_client, colleague_client
):
    study = open_study(researcher, [unit], program)
    enrol(study, unit, therapist)
    for url in study_urls(study):
        assert outsider_client.get(url).status_code == 404, url
        assert colleague_client.get(url).status_code == 404, url
    assert outsider_client.get(reverse("research:study_list")).context["studies"] == []
    missing = reverse("research:study", args=[study.pk + 100])
    assert verified_client(researcher).get(missing).status_code == 404


def test_a_unit_admin_sees_setup_and_figures_but_no_participant_data(
    researcher, unit, program, unit_admin_client
):
    study = open_study(researcher, [unit], program)
    assert unit_admin_client.get(reverse("research:study", args=[study.pk])).status_code == 200
    figures = unit_admin_client.get(reverse("research:recruitment", args=[study.pk]))
    assert figures.status_code == 200
    assert (
        unit_admin_client.get(reverse("research:participants", args=[study.pk])).status_code == 404
    )
    assert unit_admin_client.get(reverse("research:export", args=[study.pk])).status_code == 404
    # … and cannot change it.
    page = reverse("research:study", args=[study.pk])
    assert unit_admin_client.post(page, {"add": "arm"}).status_code == 404


def test_a_researcher_not_in_the_study_gets_404(researcher, unit, program):
    study = open_study(researcher, [unit], program)
    stranger = factories.staff_member(unit, StaffRole.RESEARCHER, username="annan")
    client = verified_client(stranger)
    for url in study_urls(study):
        assert client.get(url).status_code == 404, url
    actions.study_member_add(study, stranger, by=researcher)
    for url in study_urls(study):
        assert client.get(url).status_code == 200, url


def test_the_patients_research_page_is_404_for_outsiders(
    researcher, unit, program, patient, outsider_client, colleague_client, therapist_client
):
    open_study(researcher, [unit], program)
    url = reverse("research:patient", args=[patient.pk])
    assert outsider_client.get(url).status_code == 404
    assert colleague_client.get(url).status_code == 404
    assert therapist_client.get(url).status_code == 200


@pytest.mark.parametrize("count", list_rows(1, 3))
def test_study_list_query_count_is_fixed(
    researcher, unit, program, count, django_assert_num_queries
):
    for index in range(count):
        open_study(researcher, [unit], program, title=f"Studie {index}")
    client = verified_client(researcher)
    with django_assert_num_queries(9):
        response = client.get(reverse("research:study_list"))
    assert len(response.context["studies"]) == count


@pytest.mark.parametrize("count", list_rows(1, 3))
def test_participant_list_query_count_is_fixed(
    researcher, unit, therapist, program, count, django_assert_num_queries
):
    study = open_study(researcher, [unit], program)
    for _ in range(count):
        actions.participant_randomise(enrol(study, unit, therapist), by=therapist)
    client = verified_client(researcher)
    with django_assert_num_queries(11):
        response = client.get(reverse("research:participants", args=[study.pk]))
    assert len(response.context["rows"]) == count


@pytest.mark.parametrize("count", list_rows(1, 3))
def test_recruitment_page_query_count_is_fixed(
    researcher, units, therapist, program, count, django_assert_num_queries
):
    study = open_study(researcher, units, program)
    for _ in range(count):
        actions.participant_randomise(enrol(study, units[0], therapist), by=therapist)
    client = verified_client(researcher)
    with django_assert_num_queries(12):
        response = client.get(reverse("research:recruitment", args=[study.pk]))
    figures = response.context["figures"]
    assert figures.total["randomised"] == count
    assert [row["included"] for row in figures.rows] == [count, 0, 0, 0, 0]


def test_recruitment_figures_per_unit_and_arm(researcher, units, therapist, program):
    study = open_study(researcher, units, program)
    other = factories.staff_member(units[1], StaffRole.THERAPIST)
    for _ in range(4):
        actions.participant_randomise(enrol(study, units[0], therapist), by=therapist)
    actions.participant_randomise(enrol(study, units[1], other), by=other)
    enrol(study, units[1], other, consent=False)
    client = verified_client(researcher)
    response = client.get(reverse("research:recruitment", args=[study.pk]) + "?format=csv")
    # A table to open in a spreadsheet: marked as UTF-8 (Excel reads "Väntelista" right).
    assert response.content.startswith("\ufeff".encode())
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].split(",") == [
        "unit",
        "unit_name",
        "included",
        "consented",
        "randomised_Internet-KBT",
        "randomised_Väntelista",
        "withdrawn",
    ]
    first = lines[1].split(",")
    assert first[:4] == ["U1", units[0].name, "4", "4"]
    assert int(first[4]) + int(first[5]) == 4
    second = lines[2].split(",")
    assert second[:4] == ["U2", units[1].name, "2", "1"]
    assert lines[-1].startswith("total,,6,5,")
    # On a Swedish page, cells are parted by semicolons, as Swedish Excel reads them.
    swedish = client.get(
        reverse("research:recruitment", args=[study.pk]) + "?format=csv",
        HTTP_ACCEPT_LANGUAGE="sv",
    )
    assert swedish.content.decode("utf-8-sig").splitlines()[0].startswith("unit;unit_name;")


def test_the_study_is_changed_and_its_setup_pruned_while_planned(researcher, unit, program):
    study = make_study(researcher, [unit], program)
    client = verified_client(researcher)
    url = reverse("research:study_edit", args=[study.pk])
    form = client.get(url).context["form"]
    assert form.initial["block_sizes"] == "2, 4, 6"
    data = {key: value for key, value in form.initial.items() if value is not None}
    data |= {
        "title": "iStress 2",
        "region": unit.region.pk,
        "principal_investigator": researcher.pk,
        "relative_dates": "",
        "max_age": "65",
    }
    response = client.post(url, data)
    assert response.url == reverse("research:study", args=[study.pk])
    study.refresh_from_db()
    assert (study.title, study.max_age, study.relative_dates) == ("iStress 2", 65, False)
    arm = study.arms.get(name="Väntelista")
    page = reverse("research:study", args=[study.pk])
    client.post(page, {"remove": "arm", "item": arm.pk})
    assert list(study.arms.values_list("name", flat=True)) == ["Internet-KBT"]
    actions.study_unit_add(
        study, factories.CareUnitFactory(name="Vårdcentralen Extra"), by=researcher
    )
    actions.arm_add(study, name="Väntelista", program=None, by=researcher)
    actions.study_open_recruitment(study, by=researcher)
    assert client.get(url).status_code == 404  # no changes once recruiting
    assert AllocationSequence.objects.filter(study=study).count() == 2


def test_a_researcher_who_sets_up_a_study_for_another_investigator_joins_it(unit, program):
    investigator = factories.staff_member(unit, StaffRole.RESEARCHER, username="pi")
    assistant = factories.staff_member(unit, StaffRole.RESEARCHER, username="assistent")
    study = actions.study_create(
        by=assistant,
        title="Sömnstudien",
        region=unit.region,
        principal_investigator=investigator,
        ethics_approval_number="2026-5",
        ethics_approval_date="2026-02-01",
        information_text="x",
        planned_size=10,
        block_sizes=[2],
    )
    assert list(study.members.values_list("user__username", flat=True)) == ["assistent"]
    response = verified_client(assistant).get(reverse("research:study_list"))
    assert response.context["studies"] == [study]
