"""A region's administrators keep the accounts of the region's staff: a new e-mail address,
a sign-in started over (a lost phone), an account closed and opened again."""

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from ikbt import factories
from ikbt.accounts.actions import new_backup_codes
from ikbt.accounts.models import User
from ikbt.conftest import verified_client
from ikbt.organisations.actions import (
    StaffError,
    staff_account_open,
    staff_account_reset,
    staff_email_change,
)
from ikbt.organisations.models import StaffMembership, StaffRole

NEW_PASSWORD = "ny-start-i-mars-2027"  # nosec B105


@pytest.fixture
def region_admin(unit):
    return factories.staff_member(
        unit, StaffRole.REGION_ADMIN, username="regionchef", first_name="Rut", last_name="Region"
    )


@pytest.fixture
def region_admin_client(region_admin):
    return verified_client(region_admin)


@pytest.fixture
def unit_url(unit):
    return reverse("organisations:unit", args=[unit.pk])


def _link(message) -> str:
    return urlsplit(re.search(r"https?://\S+", message.body).group(0)).path


def test_a_lost_phone_starts_the_sign_in_over_and_only_the_colleague_gets_back_in(
    region_admin_client, unit_url, colleague, django_capture_on_commit_callbacks
):
    signed_in = verified_client(colleague)
    new_backup_codes(colleague)
    with django_capture_on_commit_callbacks(execute=True):
        page = region_admin_client.post(
            unit_url, {"form": "reset_sign_in", "id": colleague.pk}, follow=True
        )
    assert (
        "The sign-in of Kalle Kollega starts over: every session has ended, and a link to choose "
        f"a new password is on its way to {colleague.email}." in page.text
    )
    colleague.refresh_from_db()
    assert not colleague.has_usable_password()
    assert not TOTPDevice.objects.filter(user=colleague).exists()
    assert not StaticDevice.objects.filter(user=colleague).exists()
    assert signed_in.get(reverse("patients:staff_home")).status_code == 302
    assert "Has not chosen a new password yet." in page.text

    [message] = mail.outbox
    assert (message.to, message.subject) == (
        [colleague.email],
        "Välj ett nytt lösenord för Open iKBT",
    )
    assert "har återställt din inloggning" in message.body
    assert f"Ditt användarnamn är {colleague.username}" in message.body

    browser = Client()
    form = browser.get(_link(message), follow=True)
    browser.post(
        form.request["PATH_INFO"], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    back = browser.post(
        reverse("accounts:staff_login"),
        {"username": colleague.username, "password": NEW_PASSWORD},
        follow=True,
    )
    assert back.request["PATH_INFO"] == reverse("accounts:authenticator_setup")


def test_an_account_closed_is_opened_again_with_a_new_password_and_its_roles(
    unit, region_admin_client, unit_url, colleague, django_capture_on_commit_callbacks
):
    region_admin_client.post(unit_url, {"form": "close_account", "id": colleague.pk})
    page = region_admin_client.get(unit_url)
    assert (
        "Account closed." in page.text and "Open the account of Kalle Kollega again" in page.text
    )
    with django_capture_on_commit_callbacks(execute=True):
        page = region_admin_client.post(
            unit_url, {"form": "open_account", "id": colleague.pk}, follow=True
        )
    assert (
        "The account of Kalle Kollega is open again, with the roles it kept: Therapist at "
        "Vårdcentralen Ekholmen." in page.text
    )
    colleague.refresh_from_db()
    assert colleague.is_active and not colleague.has_usable_password()
    assert not TOTPDevice.objects.filter(user=colleague).exists()
    assert list(colleague.memberships.values_list("unit", "role")) == [(unit.pk, "therapist")]
    [message] = mail.outbox
    assert message.to == [colleague.email]
    # The old password no longer signs in.
    refused = Client().post(
        reverse("accounts:staff_login"),
        {"username": colleague.username, "password": factories.TEST_PASSWORD},
    )
    assert refused.request["PATH_INFO"] == reverse("accounts:staff_login")
    assert "_auth_user_id" not in refused.client.session


def test_only_a_region_admin_keeps_accounts_and_never_her_own_nor_another_regions(
    unit, unit_admin, unit_admin_client, unit_url, region_admin, colleague, outsider
):
    page = unit_admin_client.get(unit_url).text
    for offered in ("Start the sign-in", "Close the account", "Save the e-mail address"):
        assert offered not in page
    assert (
        unit_admin_client.post(unit_url, {"form": "email", "id": colleague.pk}).status_code == 404
    )
    shown = unit_admin_client.post(
        unit_url, {"form": "reset_sign_in", "id": colleague.pk}, follow=True
    )
    assert "Accounts are kept by the region&#x27;s administrators." in shown.text
    with pytest.raises(StaffError, match="your own sign-in"):
        staff_account_reset(region_admin, unit=unit, by=region_admin)
    with pytest.raises(StaffError, match="your own e-mail"):
        staff_email_change(region_admin, email="ny@region.se", unit=unit, by=region_admin)
    # Someone who also works in another region: that region has a say too.
    StaffMembership.objects.create(user=outsider, unit=unit, role=StaffRole.THERAPIST)
    with pytest.raises(StaffError, match="works in another region too"):
        staff_account_reset(outsider, unit=unit, by=region_admin)
    outsider.is_active = False
    outsider.save(update_fields=["is_active"])
    with pytest.raises(StaffError, match="works in another region too"):
        staff_account_open(outsider, unit=unit, by=region_admin)
    colleague.refresh_from_db()
    assert colleague.has_usable_password()


def test_a_mistyped_e_mail_address_is_corrected_and_the_link_goes_to_the_new_one(
    unit, region_admin_client, unit_url, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        region_admin_client.post(
            unit_url,
            {
                "form": "staff",
                "email": "nora.ny@regoin.se",
                "role": StaffRole.THERAPIST,
                "first_name": "Nora",
                "last_name": "Ny",
                "profession": User.Profession.PSYCHOLOGIST,
            },
        )
    nora = User.objects.get(email="nora.ny@regoin.se")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        page = region_admin_client.post(
            unit_url, {"form": "email", "id": nora.pk, "email": " Nora.Ny@Region.se"}, follow=True
        )
    assert (
        "The e-mail address of Nora Ny is nora.ny@region.se now. A link to choose a password is "
        "on its way there." in page.text
    )
    nora.refresh_from_db()
    assert (nora.email, nora.username) == ("nora.ny@region.se", "nora.ny@region.se")
    [message] = mail.outbox
    assert message.to == ["nora.ny@region.se"]
    assert "Ditt användarnamn är nora.ny@region.se" in message.body


@pytest.fixture
def newcomer(unit):
    """Added to the unit, not signed in yet: no password chosen."""
    return factories.staff_member(
        unit,
        StaffRole.THERAPIST,
        username="nora@regoin.se",
        email="nora@regoin.se",
        first_name="Nora",
        last_name="Ny",
        password=None,
    )


def test_an_e_mail_address_taken_or_malformed_is_refused_and_what_was_typed_kept(
    region_admin_client, unit_url, newcomer, therapist, patient
):
    def refused(email: str) -> str:
        page = region_admin_client.post(
            unit_url, {"form": "email", "id": newcomer.pk, "email": email}
        )
        assert page.status_code == 200
        row = page.text[page.text.index(f'id="person-{newcomer.pk}"') :]
        assert row.index('<details class="account" open>') < row.index("</tr>")
        assert f'value="{email}"' in row
        return page.text

    assert "Another staff account has this e-mail address." in refused(therapist.email.upper())
    assert "Enter a valid email address." in refused("nora@")
    # A patient's address is not a staff account's: nothing about her is given away.
    page = region_admin_client.post(
        unit_url, {"form": "email", "id": newcomer.pk, "email": patient.email}, follow=True
    )
    assert f"The e-mail address of Nora Ny is {patient.email} now." in page.text


def test_the_address_of_someone_who_has_signed_in_is_not_changed_here(
    unit, region_admin, region_admin_client, unit_url, colleague
):
    """Changed here and followed by a sign-in started over, it would let the administrator
    into the colleague's account."""
    verified_client(colleague)  # she has signed in (last_login)
    page = region_admin_client.get(unit_url).text
    row = page[page.index(f'id="person-{colleague.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Save the e-mail address" not in row
    assert "e-mail address is changed by the system" in row
    with pytest.raises(StaffError, match="has signed in with the present address"):
        staff_email_change(colleague, email="mine@region.se", unit=unit, by=region_admin)
    answer = region_admin_client.post(
        unit_url, {"form": "email", "id": colleague.pk, "email": "mine@region.se"}
    )
    assert "Kalle Kollega has signed in with the present address." in answer.text
    # Started over, the account has signed in before: the address stays put all the same.
    staff_account_reset(colleague, unit=unit, by=region_admin)
    with pytest.raises(StaffError, match="has signed in with the present address"):
        staff_email_change(colleague, email="mine@region.se", unit=unit, by=region_admin)
    colleague.refresh_from_db()
    assert colleague.email != "mine@region.se"


def test_account_changes_are_logged_with_ids_only(
    unit, region_admin, newcomer, caplog, django_capture_on_commit_callbacks
):
    colleague = newcomer
    from ikbt.organisations.actions import staff_account_close

    with (
        caplog.at_level("INFO", logger="ikbt.organisations"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        staff_email_change(colleague, email="kalle@region.se", unit=unit, by=region_admin)
        staff_account_reset(colleague, unit=unit, by=region_admin)
        staff_account_close(colleague, unit=unit, by=region_admin)
        staff_account_open(colleague, unit=unit, by=region_admin)
    logged = [r.getMessage() for r in caplog.records if r.name == "ikbt.organisations.actions"]
    by = f"by user {region_admin.pk}"
    assert logged == [
        f"e-mail address changed: user {colleague.pk}, {by}",
        f"sign-in started over: user {colleague.pk}, {by}",
        f"account closed: user {colleague.pk}, {by}",
        f"account opened again: user {colleague.pk}, {by}",
    ]
    # And kept where the unit's page lists them: who changed what for whom, where, when.
    from ikbt.organisations.access import staff_changes

    rows = reversed(staff_changes(unit))  # oldest first
    assert [(row.actor, row.colleague, row.action, row.detail) for row in rows] == [
        (region_admin, "Nora Ny", "change", "e-mail address changed"),
        (region_admin, "Nora Ny", "change", "sign-in started over"),
        (region_admin, "Nora Ny", "change", "account closed"),
        (region_admin, "Nora Ny", "change", "account opened again"),
    ]


def test_an_account_that_never_signed_in_is_opened_again_as_a_new_one(
    unit, region_admin, newcomer, django_capture_on_commit_callbacks
):
    from ikbt.organisations.actions import staff_account_close

    staff_account_close(newcomer, unit=unit, by=region_admin)
    with django_capture_on_commit_callbacks(execute=True):
        staff_account_open(newcomer, unit=unit, by=region_admin)
    [message] = mail.outbox
    # No old password or app to speak of: the e-mail of a new account.
    assert message.subject == "Ditt konto i Open iKBT"
    assert "återställt" not in message.body


def test_an_account_opened_again_says_so_in_its_e_mail(
    unit, region_admin, newcomer, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from ikbt.organisations.actions import staff_account_close

    newcomer.last_login = timezone.now()  # she worked here before
    newcomer.save(update_fields=["last_login"])
    staff_account_close(newcomer, unit=unit, by=region_admin)
    with django_capture_on_commit_callbacks(execute=True):
        staff_account_open(newcomer, unit=unit, by=region_admin)
    [message] = mail.outbox
    assert message.subject == "Ditt konto i Open iKBT är öppet igen"
    assert "Ditt konto i Open iKBT är öppet igen. Välj ett nytt lösenord" in message.body
    assert "återställt" not in message.body
    assert "kopplar du en autentiseringsapp i telefonen på nytt" in message.body
