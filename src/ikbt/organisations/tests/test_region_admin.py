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
    def refused(name: str, hsa_id: str) -> dict:
        page = region_admin_client.post(
            reverse("organisations:units"),
            {"region": unit.region.pk, "name": name, "kind": "primary_care", "hsa_id": hsa_id},
        )
        assert f'value="{name}"' in page.text and 'action="#add-unit-heading"' in page.text
        return page.context["form"].errors

    assert refused(unit.name, "SE1") == {
        "__all__": ["The region has a unit of this name already."],
        "hsa_id": ["Not a valid HSA-id."],
    }
    assert refused(unit.name.lower(), "") == {
        "__all__": ["The region has a unit of this name already."]
    }
    # Typed in small letters, the HSA-id is still the unit's: taken.
    assert refused("Vårdcentralen Ny", unit.hsa_id.lower()) == {
        "__all__": ["A unit has this HSA-id already."]
    }
    assert CareUnit.objects.count() == 1


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


def test_a_region_admin_closes_the_account_of_someone_who_left_and_every_session_ends(
    unit, region_admin_client, colleague
):
    from ikbt.accounts.models import User

    signed_in = verified_client(colleague)
    assert signed_in.get(reverse("patients:staff_home")).status_code == 200
    page = region_admin_client.post(
        reverse("organisations:unit", args=[unit.pk]),
        {"form": "close_account", "id": colleague.pk},
        follow=True,
    )
    assert "The account of Kalle Kollega is closed, and every session of it has ended." in (
        page.text
    )
    assert "Account closed." in page.text
    colleague.refresh_from_db()
    assert colleague.is_active is False
    assert User.objects.get(pk=colleague.pk).memberships.count() == 1  # the record stays
    assert signed_in.get(reverse("patients:staff_home")).status_code == 302


def test_an_account_is_not_closed_while_patients_or_a_unit_need_it(
    unit, region_admin, region_admin_client, therapist, patient, unit_admin, unit_admin_client
):
    from ikbt.organisations.actions import StaffError, staff_account_close

    url = reverse("organisations:unit", args=[unit.pk])
    page = region_admin_client.post(
        url, {"form": "close_account", "id": therapist.pk}, follow=True
    )
    assert "Tove Terapeut has 1 patient in care. Move the treatment first." in page.text
    with pytest.raises(StaffError, match="is the only administrator of Vårdcentralen Ekholmen"):
        staff_account_close(unit_admin, unit=unit, by=region_admin)
    with pytest.raises(StaffError, match="kept by the region's administrators"):
        staff_account_close(therapist, unit=unit, by=unit_admin)
    assert "Close the account" not in unit_admin_client.get(url).text
    therapist.refresh_from_db()
    assert therapist.is_active is True


def _close(client, unit, person):
    url = reverse("organisations:unit", args=[unit.pk])
    return client.post(url, {"form": "close_account", "id": person.pk}, follow=True).text


def test_an_account_is_not_closed_while_a_supervision_a_cover_or_a_booking_waits_for_it(
    unit, unit_admin, region_admin_client, colleague, therapist, enrollment, patient
):
    import datetime

    from django.utils import timezone

    from ikbt.intake.actions import registration_submit
    from ikbt.intake.models import Offering, Slot
    from ikbt.organisations.actions import supervision_start
    from ikbt.organisations.models import StaffAbsence

    supervisor = factories.staff_member(unit, StaffRole.SUPERVISOR, first_name="Hanna")
    supervision = supervision_start(
        unit, supervisor=supervisor, supervisee=colleague, review_messages=False, by=unit_admin
    )
    assert "is in a supervision. End it first." in _close(region_admin_client, unit, supervisor)
    supervision.ended_on = timezone.localdate()
    supervision.save(update_fields=["ended_on"])
    today = timezone.localdate()
    StaffAbsence.objects.create(staff=therapist, starts_on=today, ends_on=today, cover=colleague)
    assert "absence. Name another cover first, under “Absence and cover”." in _close(
        region_admin_client, unit, colleague
    )
    StaffAbsence.objects.all().delete()
    soon = timezone.now() + datetime.timedelta(days=2)
    free = Slot.objects.create(therapist=colleague, unit=unit, starts_at=soon, minutes=45)
    offering = Offering.objects.create(unit=unit, program=enrollment.program_version.program)
    registration = registration_submit(patient, offering, answers={}, register_opt_out=False)
    booked = Slot.objects.create(
        therapist=colleague, unit=unit, starts_at=soon, minutes=45, registration=registration
    )
    assert "has booked assessment times" in _close(region_admin_client, unit, colleague)
    booked.delete()
    assert "is closed, and every session" in _close(region_admin_client, unit, colleague)
    assert not Slot.objects.filter(pk=free.pk).exists()  # free times are withdrawn
    # A second click is no error.
    assert "is closed, and every session" in _close(region_admin_client, unit, colleague)


def test_two_heads_cannot_be_closed_one_after_the_other(unit, unit_admin, region_admin):
    from ikbt.organisations.actions import StaffError, staff_account_close

    second = factories.staff_member(unit, StaffRole.UNIT_ADMIN)
    staff_account_close(second, unit=unit, by=region_admin)
    with pytest.raises(StaffError, match="is the only administrator of"):
        staff_account_close(unit_admin, unit=unit, by=region_admin)


def test_a_closed_account_gets_no_notice_and_covers_nobody(unit, colleague, therapist):
    from django.core import mail

    from ikbt.notifications.notices import send_notice
    from ikbt.organisations.actions import AbsenceError, absence_register

    colleague.is_active = False
    colleague.save(update_fields=["is_active"])
    assert send_notice(colleague, "new_message") is False
    assert mail.outbox == []
    import datetime

    from django.utils import timezone

    today = timezone.localdate()
    with pytest.raises(AbsenceError, match="account is closed"):
        absence_register(therapist, starts_on=today, ends_on=today + datetime.timedelta(1),
                         cover=colleague)  # fmt: skip


def test_a_region_admin_renames_a_unit_and_corrects_its_hsa_id(
    unit, region_admin_client, unit_admin_client
):
    url = reverse("organisations:unit", args=[unit.pk])
    lambohov = factories.CareUnitFactory(region=unit.region, name="Vårdcentralen Lambohov")
    page = region_admin_client.post(
        url,
        {
            "form": "details",
            "name": " Hälsocentralen Ekholmen ",
            "kind": CareUnit.Kind.YOUTH_CLINIC,
            "hsa_id": "se2321000032-vc0042",
        },
        follow=True,
    )
    assert "The unit&#x27;s name, type and HSA-id are saved." in page.text
    unit.refresh_from_db()
    assert (unit.name, unit.kind, unit.hsa_id) == (
        "Hälsocentralen Ekholmen",
        "youth_clinic",
        "SE2321000032-VC0042",
    )
    assert "<h1>Hälsocentralen Ekholmen</h1>" in page.text

    # A name the region has already: refused, the heading unchanged, what was typed kept.
    taken = region_admin_client.post(
        url,
        {"form": "details", "name": lambohov.name.lower(), "kind": "primary_care", "hsa_id": ""},
    )
    assert taken.context["details_form"].errors == {
        "name": ["The region has a unit of this name already."]
    }
    assert "<h1>Hälsocentralen Ekholmen</h1>" in taken.text
    assert 'value="vårdcentralen lambohov"' in taken.text
    unit.refresh_from_db()
    assert unit.name == "Hälsocentralen Ekholmen"

    # A unit head runs the unit but does not rename it.
    assert "Save the name, type and HSA-id" not in unit_admin_client.get(url).text
    answer = unit_admin_client.post(
        url, {"form": "details", "name": "Mitt namn", "kind": "primary_care", "hsa_id": ""}
    )
    assert answer.status_code == 404
