"""The unit head adds colleagues, takes roles away and sends a link to choose a password."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from ikbt import factories
from ikbt.accounts.models import User
from ikbt.accounts.tasks import password_link
from ikbt.organisations.actions import StaffError, staff_role_remove, supervision_start
from ikbt.organisations.models import StaffMembership, StaffRole

NEW_PASSWORD = "lugn-och-fin-morgon-42"  # nosec B105


@pytest.fixture
def unit_url(unit):
    return reverse("organisations:unit", args=[unit.pk])


def _link(message) -> str:
    """The path of the link in the e-mail."""
    return urlsplit(re.search(r"https?://\S+", message.body).group(0)).path


def test_a_new_colleague_gets_an_account_chooses_a_password_and_connects_an_app(
    unit, unit_admin_client, unit_url, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        page = unit_admin_client.post(
            unit_url,
            {
                "form": "staff",
                "email": "Nora.Ny@Region.se ",
                "role": StaffRole.THERAPIST,
                "first_name": "Nora",
                "last_name": "Ny",
                "profession": User.Profession.PSYCHOLOGIST,
            },
            follow=True,
        )
    assert (
        "Nora Ny has an account now. A link to choose a password is on its way to "
        "nora.ny@region.se." in page.text
    )
    nora = User.objects.get(username="nora.ny@region.se")
    assert (nora.kind, nora.has_usable_password(), nora.email) == (
        User.Kind.STAFF,
        False,
        "nora.ny@region.se",
    )
    assert list(nora.memberships.values_list("unit", "role")) == [(unit.pk, "therapist")]
    assert "Has not chosen a password yet." in page.text

    [message] = mail.outbox
    assert (message.to, message.subject) == (["nora.ny@region.se"], "Ditt konto i Open iKBT")
    assert "Ditt användarnamn är nora.ny@region.se" in message.body

    browser = Client()
    form = browser.get(_link(message), follow=True)
    assert "Your user name is <strong>nora.ny@region.se</strong>" in form.text
    short = browser.post(
        form.request["PATH_INFO"], {"new_password1": "kort", "new_password2": "kort"}
    )
    assert "This password is too short" in short.text
    saved = browser.post(
        form.request["PATH_INFO"],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert saved.request["PATH_INFO"] == reverse("accounts:staff_login")
    assert "Your password is saved." in saved.text
    nora.refresh_from_db()
    assert nora.check_password(NEW_PASSWORD)

    # The link works once; then the second factor is set up at the first sign-in.
    again = browser.get(_link(message), follow=True)
    assert "The link has been used already or is too old." in again.text
    signed_in = browser.post(
        reverse("accounts:staff_login"),
        {"username": "nora.ny@region.se", "password": NEW_PASSWORD},
        follow=True,
    )
    assert signed_in.request["PATH_INFO"] == reverse("accounts:authenticator_setup")


def test_a_colleague_with_an_account_is_found_by_e_mail_and_given_the_role(
    unit, unit_admin_client, unit_url, django_capture_on_commit_callbacks
):
    lambohov = factories.CareUnitFactory(region=unit.region, name="Vårdcentralen Lambohov")
    lena = factories.staff_member(lambohov, first_name="Lena", last_name="Lind")
    with django_capture_on_commit_callbacks(execute=True):
        page = unit_admin_client.post(
            unit_url,
            {"form": "staff", "email": lena.email.upper(), "role": StaffRole.SUPERVISOR},
            follow=True,
        )
    assert "Lena Lind is supervisor at the unit now." in page.text
    added = StaffMembership.objects.get(user=lena, unit=unit)
    assert (added.role, added.added_by.username) == ("supervisor", "unitadmin")
    [notice] = mail.outbox  # an account already: no link, a notice that says no more
    assert (notice.to, notice.subject) == ([lena.email], "Open iKBT: du har fått en ny roll")
    assert "Ekholmen" not in notice.body and "Logga in" in notice.body
    again = unit_admin_client.post(
        unit_url, {"form": "staff", "email": lena.email, "role": StaffRole.SUPERVISOR}
    )
    assert again.context["staff_form"].non_field_errors() == [
        "Lena Lind is supervisor at the unit already."
    ]


def test_a_unit_head_cannot_give_herself_a_role_nor_take_someone_from_another_region(
    unit, unit_admin, unit_admin_client, unit_url, outsider
):
    def refusal(email):
        page = unit_admin_client.post(
            unit_url, {"form": "staff", "email": email, "role": StaffRole.THERAPIST}
        )
        return page.context["staff_form"].non_field_errors()

    assert refusal(unit_admin.email) == [
        "You cannot give yourself a role. Ask another administrator of the unit or the region."
    ]
    assert refusal(outsider.email) == [
        "Olle Utomstående works in another region. Ask your region's administrators to add them."
    ]
    outsider.is_active = False
    outsider.save(update_fields=["is_active"])
    assert refusal(outsider.email)[0].startswith("The account with this e-mail address is closed.")
    assert list(unit_admin.memberships.values_list("role", flat=True)) == ["unit_admin"]
    assert not outsider.memberships.filter(unit=unit).exists()


def test_an_e_mail_address_too_long_for_a_user_name_is_explained(unit_admin_client, unit_url):
    email = "a" * 145 + "@region.se"  # 155 characters
    page = unit_admin_client.post(
        unit_url,
        {"form": "staff", "email": email, "role": "therapist", "first_name": "A",
         "last_name": "B", "profession": "nurse"},
    )  # fmt: skip
    assert list(page.context["staff_form"].errors) == ["email"]
    assert not User.objects.filter(email=email).exists()


def test_the_units_only_administrator_keeps_the_role(unit, unit_admin):
    head = factories.staff_member(unit, StaffRole.REGION_ADMIN)
    with pytest.raises(StaffError, match="the unit's only administrator"):
        staff_role_remove(unit_admin.memberships.get(), by=head)
    second = factories.staff_member(unit, StaffRole.UNIT_ADMIN)
    staff_role_remove(unit_admin.memberships.get(), by=second)
    assert not unit_admin.memberships.exists()


def test_someone_new_without_a_name_is_asked_for_it_and_what_was_typed_is_kept(
    unit_admin_client, unit_url
):
    page = unit_admin_client.post(
        unit_url,
        {"form": "staff", "email": "ny@region.se", "role": "therapist", "first_name": "Nils"},
    )
    assert page.context["staff_form"].non_field_errors() == [
        "No one has an account with this e-mail address yet. Write the new colleague's first "
        "name, last name and profession too."
    ]
    assert 'value="ny@region.se"' in page.text and 'value="Nils"' in page.text
    assert not User.objects.filter(email="ny@region.se").exists()


def test_a_unit_head_gives_only_the_units_roles(unit_admin_client, unit_url, outsider):
    page = unit_admin_client.post(
        unit_url, {"form": "staff", "email": outsider.email, "role": StaffRole.REGION_ADMIN}
    )
    assert "role" in page.context["staff_form"].errors
    assert not outsider.memberships.filter(role=StaffRole.REGION_ADMIN).exists()


def test_a_role_is_not_taken_while_patients_or_a_supervision_need_it(
    unit, unit_admin, unit_admin_client, unit_url, therapist, colleague, patient
):
    role = therapist.memberships.get(unit=unit, role=StaffRole.THERAPIST)
    page = unit_admin_client.post(unit_url, {"form": "remove", "id": role.pk}, follow=True)
    assert (
        "Tove Terapeut has 1 patient in care at the unit. Move the treatment to a colleague "
        "first." in page.text
    )
    supervisor = factories.staff_member(unit, StaffRole.SUPERVISOR, first_name="Hanna")
    supervision_start(
        unit, supervisor=supervisor, supervisee=colleague, review_messages=False, by=unit_admin
    )
    with pytest.raises(StaffError, match="is in a supervision at the unit"):
        staff_role_remove(supervisor.memberships.get(), by=unit_admin)
    with pytest.raises(StaffError, match="is in a supervision at the unit"):
        staff_role_remove(colleague.memberships.get(), by=unit_admin)
    own = unit_admin.memberships.get()
    removal = f'value="remove"><input type="hidden" name="id" value="{own.pk}"'
    assert removal not in unit_admin_client.get(unit_url).text
    page = unit_admin_client.post(unit_url, {"form": "remove", "id": own.pk}, follow=True)
    assert "You cannot take away your own role as administrator." in page.text
    assert StaffMembership.objects.filter(pk__in=[role.pk, own.pk]).count() == 2


def test_a_role_without_patients_is_taken_away_and_others_units_roles_are_out_of_reach(
    unit, unit_admin_client, unit_url, colleague, outsider
):
    role = colleague.memberships.get()
    # Asked first, naming whose role and which.
    asked = unit_admin_client.get(unit_url).text
    assert "Kalle Kollega is no longer therapist at the unit from now on." in asked
    assert "Remove the role therapist of Kalle Kollega" in asked
    page = unit_admin_client.post(unit_url, {"form": "remove", "id": role.pk}, follow=True)
    assert "Kalle Kollega is no longer therapist at the unit." in page.text
    assert not StaffMembership.objects.filter(pk=role.pk).exists()
    elsewhere = outsider.memberships.get()
    answer = unit_admin_client.post(unit_url, {"form": "remove", "id": elsewhere.pk})
    assert answer.status_code == 404
    assert StaffMembership.objects.filter(pk=elsewhere.pk).exists()


def test_a_colleague_who_forgot_the_password_is_sent_a_link_and_the_old_one_works_meanwhile(
    unit_admin_client, unit_url, therapist, outsider, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        page = unit_admin_client.post(
            unit_url, {"form": "password_link", "id": therapist.pk}, follow=True
        )
    assert f"A link to choose a new password is on its way to {therapist.email}." in page.text
    [message] = mail.outbox
    assert message.subject == "Välj ett nytt lösenord för Open iKBT"
    therapist.refresh_from_db()
    assert therapist.check_password(factories.TEST_PASSWORD)
    answer = unit_admin_client.post(unit_url, {"form": "password_link", "id": outsider.pk})
    assert answer.status_code == 404


def test_a_link_for_a_patients_or_a_closed_account_opens_nothing(patient, colleague):
    colleague.is_active = False
    colleague.save(update_fields=["is_active"])
    for user in (patient.user, colleague):
        page = Client().get(urlsplit(password_link(user)).path, follow=True)
        assert "The link has been used already or is too old." in page.text


def test_giving_and_taking_a_role_is_logged_with_ids_only(
    unit, unit_admin, colleague, caplog, django_capture_on_commit_callbacks
):
    from ikbt.organisations.actions import staff_add

    lambohov = factories.CareUnitFactory(region=unit.region, name="Vårdcentralen Lambohov")
    with (
        caplog.at_level("INFO", logger="ikbt.organisations"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        staff_add(lambohov, email=colleague.email, role=StaffRole.THERAPIST, by=unit_admin)
        staff_role_remove(colleague.memberships.get(unit=unit), by=unit_admin)
    logged = [r.getMessage() for r in caplog.records if r.name == "ikbt.organisations.actions"]
    assert logged == [
        f"role given: user {colleague.pk}, unit {lambohov.pk}, therapist, by user {unit_admin.pk}",
        f"role taken: user {colleague.pk}, unit {unit.pk}, therapist, by user {unit_admin.pk}",
    ]
