"""A unit's head (or the region's administrators) chooses what the unit offers on the
region's e-service page and on what terms."""

import pytest
from django.urls import reverse

from ikbt import factories
from ikbt.intake.models import Offering
from ikbt.programs.actions import program_import, version_publish
from ikbt.programs.package import EXAMPLE_PACKAGE, read_package


@pytest.fixture
def program(unit):
    data, _ = read_package(EXAMPLE_PACKAGE)
    return version_publish(program_import(data, unit.region), None).program


@pytest.fixture
def url(unit):
    return reverse("intake:unit_offerings", args=[unit.pk])


def test_the_unit_head_offers_a_program_and_it_is_on_the_e_service_page(
    unit, program, url, unit_admin_client, client
):
    page = unit_admin_client.get(url)
    assert list(page.context["add_form"].fields["program"].queryset) == [program]
    saved = unit_admin_client.post(
        url,
        {"form": "add", "program": program.pk, "intake": "open", "waiting_limit_days": "21"},
        follow=True,
    )
    assert "The unit offers the program from now." in saved.text
    offering = Offering.objects.get()
    assert (offering.unit, offering.intake, offering.waiting_limit_days, offering.is_open) == (
        unit,
        "open",
        21,
        True,
    )
    eservice = client.get(reverse("intake:eservice", args=[unit.region.code]))
    assert reverse("intake:register", args=[offering.pk]) in eservice.text


def test_closing_takes_it_off_the_e_service_page(unit, program, url, unit_admin_client, client):
    offering = Offering.objects.create(unit=unit, program=program)
    prefix = f"offering-{offering.pk}"
    saved = unit_admin_client.post(
        url,
        {
            "form": "change",
            "id": offering.pk,
            f"{prefix}-intake": "listed",
            f"{prefix}-waiting_limit_days": "30",
        },
        follow=True,
    )
    assert "The terms are saved." in saved.text
    offering.refresh_from_db()
    assert (offering.intake, offering.is_open, offering.waiting_limit_days) == (
        "listed",
        False,
        30,
    )
    eservice = client.get(reverse("intake:eservice", args=[unit.region.code]))
    assert reverse("intake:register", args=[offering.pk]) not in eservice.text


def test_bad_terms_are_explained_and_kept(unit, program, url, unit_admin_client):
    offering = Offering.objects.create(unit=unit, program=program)
    prefix = f"offering-{offering.pk}"
    page = unit_admin_client.post(
        url,
        {
            "form": "change",
            "id": offering.pk,
            f"{prefix}-intake": "residents",
            f"{prefix}-is_open": "on",
            f"{prefix}-waiting_limit_days": "400",
        },
    )
    assert page.status_code == 200
    assert f'action="#offering-{offering.pk}"' in page.text
    form = page.context["rows"][0]["form"]
    assert list(form.errors) == ["waiting_limit_days"]
    assert 'value="400"' in page.text
    offering.refresh_from_db()
    assert offering.waiting_limit_days == 14


def test_only_the_regions_published_programs_are_offered_and_each_once(
    unit, other_region_unit, program, url, unit_admin_client
):
    foreign_data, _ = read_package(EXAMPLE_PACKAGE)
    foreign_data.slug = "exempel-orebro"
    foreign = version_publish(program_import(foreign_data, other_region_unit.region), None)
    answer = unit_admin_client.post(
        url,
        {
            "form": "add",
            "program": foreign.program.pk,
            "intake": "open",
            "waiting_limit_days": "14",
        },
    )
    assert list(answer.context["add_form"].errors) == ["program"]
    Offering.objects.create(unit=unit, program=program)
    page = unit_admin_client.get(url)
    assert list(page.context["add_form"].fields["program"].queryset) == []
    assert "The unit offers every published program its region owns or has adopted." in page.text


def test_others_get_404_and_another_units_offering_is_not_changed_here(
    unit, program, url, therapist_client, unit_admin_client
):
    assert therapist_client.get(url).status_code == 404
    elsewhere = factories.CareUnitFactory(region=unit.region, name="Vårdcentralen Lambohov")
    theirs = Offering.objects.create(unit=elsewhere, program=program)
    answer = unit_admin_client.post(url, {"form": "change", "id": theirs.pk})
    assert answer.status_code == 404


def test_an_adopted_program_is_offered_while_its_owner_shares_it(
    unit, other_region_unit, url, unit_admin_client, outsider
):
    from ikbt.programs.actions import program_adopt, program_share

    data, _ = read_package(EXAMPLE_PACKAGE)
    data.slug = "exempel-orebro"
    foreign = version_publish(program_import(data, other_region_unit.region), None).program
    program_share(foreign, True)
    program_adopt(foreign, unit.region, outsider)
    choices = unit_admin_client.get(url).context["add_form"].fields["program"].queryset
    assert list(choices) == [foreign]
    program_share(foreign, False)
    choices = unit_admin_client.get(url).context["add_form"].fields["program"].queryset
    assert list(choices) == []


def test_registrations_made_before_closing_stay_in_the_queue(
    unit, program, url, unit_admin_client, patient
):
    from ikbt.intake.actions import registration_submit

    offering = Offering.objects.create(unit=unit, program=program)
    registration = registration_submit(patient, offering, answers={}, register_opt_out=False)
    prefix = f"offering-{offering.pk}"
    unit_admin_client.post(
        url,
        {"form": "change", "id": offering.pk, f"{prefix}-intake": "residents",
         f"{prefix}-waiting_limit_days": "14"},
    )  # fmt: skip
    queue = unit_admin_client.get(reverse("intake:queue")).context["rows"]
    assert [row.pk for row in queue] == [registration.pk]


def test_another_regions_administrator_reaches_neither_the_units_programs_nor_its_region(
    unit, other_region_unit, url
):
    from ikbt.conftest import verified_client
    from ikbt.organisations.models import CareUnit, StaffRole

    theirs = verified_client(factories.staff_member(other_region_unit, StaffRole.REGION_ADMIN))
    assert theirs.get(url).status_code == 404
    page = theirs.post(
        reverse("organisations:units"),
        {"region": unit.region.pk, "name": "Smygenheten", "kind": "primary_care"},
    )
    assert list(page.context["form"].errors) == ["region"]
    assert not CareUnit.objects.filter(name="Smygenheten").exists()


@pytest.mark.parametrize("programs", [1, 3])
def test_the_programs_page_query_count_is_fixed(
    unit, url, unit_admin_client, programs, django_assert_num_queries
):
    data, _ = read_package(EXAMPLE_PACKAGE)
    for number in range(programs):
        data.slug = f"exempel-{number}"
        offered = version_publish(program_import(data, unit.region), None).program
        Offering.objects.create(unit=unit, program=offered)
    unit_admin_client.get(reverse("core:home"))
    with django_assert_num_queries(8):
        page = unit_admin_client.get(url)
    assert len(page.context["rows"]) == programs


@pytest.mark.parametrize(("typed", "error"), [
    ("-3", "Ensure this value is greater than or equal to 1."),
    ("400", "Ensure this value is less than or equal to 365."),
])  # fmt: skip
def test_a_wait_outside_a_day_to_a_year_gets_one_message(
    unit, program, url, unit_admin_client, typed, error
):
    page = unit_admin_client.post(
        url, {"form": "add", "program": program.pk, "intake": "open", "waiting_limit_days": typed}
    )
    assert page.context["add_form"].errors == {"waiting_limit_days": [error]}
