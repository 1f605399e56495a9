"""A region's administrators run every unit of the region: they add units, give them a head
and give the region's roles. Running a unit opens none of its patients."""

import pytest
from django.urls import reverse

from ikbt import factories
from ikbt.conftest import verified_client
from ikbt.organisations.models import CareUnit, StaffMembership, StaffRole


@pytest.fixture
def region_admin(unit):
    return factories.staff_member(
        unit, StaffRole.REGION_ADMIN, username="regionchef", first_name="Rut", last_name="Region"
    )


@pytest.fixture
def region_admin_client(region_admin):
    return verified_client(region_admin)


def test_a_region_admin_runs_every_unit_of_her_region_and_no_other(
    unit, other_region_unit, region_admin_client
):
    youth = factories.CareUnitFactory(region=unit.region, name="Ungdomshälsan")
    page = region_admin_client.get(reverse("organisations:units"))
    assert [u.name for u in page.context["units"]] == ["Ungdomshälsan", "Vårdcentralen Ekholmen"]
    assert (
        region_admin_client.get(reverse("organisations:unit", args=[youth.pk])).status_code == 200
    )
    other = reverse("organisations:unit", args=[other_region_unit.pk])
    assert region_admin_client.get(other).status_code == 404


def test_a_region_admin_adds_a_unit_and_gives_it_a_head(
    unit, region_admin_client, django_capture_on_commit_callbacks
):
    page = region_admin_client.post(
        reverse("organisations:units"),
        {
            "region": unit.region.pk,
            "name": "Vårdcentralen Skäggetorp",
            "kind": CareUnit.Kind.PRIMARY_CARE,
            "hsa_id": "SE2321000032-VC0009",
        },
        follow=True,
    )
    new = CareUnit.objects.get(name="Vårdcentralen Skäggetorp")
    assert page.request["PATH_INFO"] == reverse("organisations:unit", args=[new.pk])
    assert "Vårdcentralen Skäggetorp is added. Give it a unit administrator." in page.text
    with django_capture_on_commit_callbacks(execute=True):
        region_admin_client.post(
            reverse("organisations:unit", args=[new.pk]),
            {
                "form": "staff",
                "email": "chef@skaggetorp.se",
                "role": StaffRole.UNIT_ADMIN,
                "first_name": "Siv",
                "last_name": "Chef",
                "profession": "nurse",
            },
        )
    assert StaffMembership.objects.filter(unit=new, role=StaffRole.UNIT_ADMIN).count() == 1


def test_a_unit_with_a_name_or_hsa_id_taken_is_refused_and_the_form_kept(
    unit, region_admin_client
):
    page = region_admin_client.post(
        reverse("organisations:units"),
        {"region": unit.region.pk, "name": unit.name, "kind": "primary_care", "hsa_id": "SE1"},
    )
    assert set(page.context["form"].errors) == {"__all__", "hsa_id"}
    assert f'value="{unit.name}"' in page.text
    assert CareUnit.objects.filter(name=unit.name).count() == 1


def test_a_unit_head_adds_no_unit_and_gives_no_region_role(
    unit, unit_admin_client, outsider, other_region_unit
):
    answer = unit_admin_client.post(
        reverse("organisations:units"),
        {"region": unit.region.pk, "name": "Ny", "kind": "primary_care"},
    )
    assert answer.status_code == 404
    assert unit_admin_client.get(reverse("organisations:units")).context["form"] is None
    form = unit_admin_client.get(reverse("organisations:unit", args=[unit.pk])).context[
        "staff_form"
    ]
    assert [value for value, _label in form.fields["role"].choices] == [
        "therapist",
        "supervisor",
        "unit_admin",
    ]


def test_a_region_admin_gives_and_takes_region_roles_but_keeps_her_own(
    unit, region_admin, region_admin_client, outsider
):
    url = reverse("organisations:unit", args=[unit.pk])
    region_admin_client.post(
        url, {"form": "staff", "email": outsider.email, "role": StaffRole.PROGRAM_AUTHOR}
    )
    author = StaffMembership.objects.get(user=outsider, unit=unit)
    assert author.role == StaffRole.PROGRAM_AUTHOR
    own = region_admin.memberships.get()
    page = region_admin_client.post(url, {"form": "remove", "id": own.pk}, follow=True)
    assert "You cannot take away your own role as administrator." in page.text
    region_admin_client.post(url, {"form": "remove", "id": author.pk})
    assert not StaffMembership.objects.filter(pk=author.pk).exists()


def test_a_unit_head_cannot_take_a_region_role(unit, unit_admin_client, region_admin):
    url = reverse("organisations:unit", args=[unit.pk])
    role = region_admin.memberships.get()
    assert unit_admin_client.post(url, {"form": "remove", "id": role.pk}).status_code == 404
    assert StaffMembership.objects.filter(pk=role.pk).exists()


def test_running_a_unit_opens_none_of_its_patients(region_admin_client, patient):
    answer = region_admin_client.get(reverse("patients:patient_detail", args=[patient.pk]))
    assert answer.status_code == 404


@pytest.mark.parametrize("units", [1, 3])
def test_the_units_page_query_count_is_fixed(
    unit, region_admin_client, units, django_assert_num_queries
):
    for number in range(units):
        factories.CareUnitFactory(region=unit.region, name=f"Enhet {number}")
    region_admin_client.get(reverse("core:home"))
    with django_assert_num_queries(8):
        page = region_admin_client.get(reverse("organisations:units"))
    assert len(page.context["units"]) == units + 1
