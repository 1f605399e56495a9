import datetime

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ikbt.accounts import actions
from ikbt.accounts.middleware import LAST_SEEN_AT, SIGNED_IN_AT
from ikbt.audit.models import AccessLogEntry
from ikbt.conftest import verified_client
from ikbt.factories import TEST_PASSWORD

LOGIN = reverse("accounts:staff_login")
TWO_FACTOR = reverse("accounts:two_factor")
SETUP = reverse("accounts:authenticator_setup")


def current_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def sign_in_with_password(client: Client, username: str, password: str = TEST_PASSWORD):
    return client.post(LOGIN, {"username": username, "password": password})


@pytest.fixture
def authenticator(therapist) -> TOTPDevice:
    return TOTPDevice.objects.create(user=therapist, name="app", confirmed=True)


def test_password_then_authenticator_code_opens_patient_pages(client, therapist, authenticator):
    response = sign_in_with_password(client, "therapist")
    assert response.status_code == 302
    assert response.url.startswith(TWO_FACTOR)

    # Signed in with the password only: the code page offers no menu to pages that would
    # only ask for the code again, just signing out.
    code_page = client.get(TWO_FACTOR).text
    assert f'href="{reverse("patients:staff_home")}"' not in code_page
    assert reverse("accounts:security") not in code_page
    assert reverse("accounts:sign_out") in code_page
    # …and patient pages still ask for the second factor.
    response = client.get(reverse("patients:staff_home"))
    assert response.status_code == 302
    assert response.url.startswith(TWO_FACTOR)

    response = client.post(TWO_FACTOR, {"code": current_code(authenticator)})
    assert response.status_code == 302
    assert client.get(reverse("patients:staff_home")).status_code == 200
    assert reverse("accounts:security") in client.get(reverse("patients:staff_home")).text
    entry = AccessLogEntry.objects.get(action=AccessLogEntry.Action.SIGN_IN)
    assert entry.actor == therapist


def test_wrong_authenticator_code_says_what_to_do(client, therapist, authenticator):
    sign_in_with_password(client, "therapist")
    wrong = f"{(int(current_code(authenticator)) + 1) % 1000000:06d}"
    response = client.post(TWO_FACTOR, {"code": wrong})
    assert response.status_code == 200
    assert "clock on your phone" in response.content.decode()
    assert client.get(reverse("patients:staff_home")).status_code == 302


def test_session_id_changes_at_each_step(client, therapist, authenticator):
    client.get(LOGIN)
    client.cookies["sessionid"] = "anonymous-session-id-set-before-sign-in"
    sign_in_with_password(client, "therapist")
    after_password = client.cookies["sessionid"].value
    assert after_password != "anonymous-session-id-set-before-sign-in"
    client.post(TWO_FACTOR, {"code": current_code(authenticator)})
    assert client.cookies["sessionid"].value != after_password


def test_first_sign_in_connects_an_app_and_shows_backup_codes_once(client, therapist):
    sign_in_with_password(client, "therapist")
    response = client.get(TWO_FACTOR)
    assert response.url.startswith(SETUP)

    page = client.get(SETUP)
    assert "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=therapist, confirmed=False)
    assert page.context["secret"] in page.content.decode()

    response = client.post(SETUP, {"code": current_code(device)})
    assert response.url.startswith(reverse("accounts:backup_codes"))
    codes_page = client.get(response.url)
    codes = codes_page.context["codes"]
    assert len(codes) == 10
    assert all(code in codes_page.content.decode() for code in codes)
    # Shown once only.
    assert client.get(reverse("accounts:backup_codes")).status_code == 302
    device.refresh_from_db()
    assert device.confirmed


def test_backup_code_works_once(therapist, authenticator):
    code = actions.new_backup_codes(therapist)[0]
    first = Client()
    sign_in_with_password(first, "therapist")
    first.post(TWO_FACTOR, {"code": code})
    assert first.get(reverse("patients:staff_home")).status_code == 200

    second = Client()
    sign_in_with_password(second, "therapist")
    response = second.post(TWO_FACTOR, {"code": code})
    assert response.status_code == 200
    assert second.get(reverse("patients:staff_home")).status_code == 302
    assert StaticToken.objects.filter(device__user=therapist).count() == 9


def test_new_backup_codes_replace_the_old(therapist_client, therapist):
    old = set(actions.new_backup_codes(therapist))
    response = therapist_client.post(reverse("accounts:security"), {"action": "backup_codes"})
    page = therapist_client.get(response.url)
    new = set(page.context["codes"])
    assert len(new) == 10
    assert not old & new
    assert (
        set(StaticToken.objects.filter(device__user=therapist).values_list("token", flat=True))
        == new
    )


def test_patient_account_cannot_use_the_staff_sign_in(client, patient):
    patient.user.set_password(TEST_PASSWORD)
    patient.user.save()
    response = sign_in_with_password(client, patient.user.username)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_locked_out_after_five_wrong_passwords(client, therapist, authenticator):
    for _ in range(5):
        response = sign_in_with_password(client, "therapist", "wrong-password-123")
        assert response.status_code in (200, 429)
    # Even the right password is refused while the account is locked.
    response = sign_in_with_password(client, "therapist")
    assert response.status_code == 429
    assert "locked" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_passwords_shorter_than_twelve_characters_are_refused(therapist):
    with pytest.raises(ValidationError):
        validate_password("Kort-ord-11", therapist)
    validate_password("en-lang-och-god-fras", therapist)


def test_sign_out_everywhere_ends_other_sessions(therapist):
    laptop = verified_client(therapist)
    phone = verified_client(therapist)
    assert phone.get(reverse("patients:staff_home")).status_code == 200
    laptop.post(reverse("accounts:security"), {"action": "everywhere"})
    assert phone.get(reverse("patients:staff_home")).status_code == 302
    assert laptop.get(reverse("patients:staff_home")).status_code == 302


def test_sign_out(therapist_client):
    response = therapist_client.post(reverse("accounts:sign_out"))
    assert response.status_code == 302
    assert therapist_client.get(reverse("patients:staff_home")).status_code == 302


@pytest.mark.parametrize(
    ("clock", "minutes_ago"),
    [(SIGNED_IN_AT, 12 * 60 + 1), (LAST_SEEN_AT, 31)],
)
def test_sessions_time_out(therapist_client, clock, minutes_ago):
    session = therapist_client.session
    then = datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(minutes=minutes_ago)
    session[SIGNED_IN_AT] = session[LAST_SEEN_AT] = datetime.datetime.now(
        tz=datetime.UTC
    ).timestamp()
    session[clock] = then.timestamp()
    session.save()
    response = therapist_client.get(reverse("patients:staff_home"))
    assert response.status_code == 302
    assert response.url == reverse("core:home")
    assert "_auth_user_id" not in therapist_client.session


def test_active_session_stays_signed_in(therapist_client):
    session = therapist_client.session
    now = datetime.datetime.now(tz=datetime.UTC)
    session[SIGNED_IN_AT] = (now - datetime.timedelta(hours=11)).timestamp()
    session[LAST_SEEN_AT] = (now - datetime.timedelta(minutes=29)).timestamp()
    session.save()
    assert therapist_client.get(reverse("patients:staff_home")).status_code == 200


def test_text_kept_from_someone_elses_timed_out_session_goes_when_another_signs_in(
    client, therapist, colleague
):
    from ikbt.accounts.middleware import UNSENT

    session = client.session
    session[UNSENT] = {"user": colleague.pk, "path": "/x/", "fields": {"note": "Kollegans text"}}
    session.save()
    assert sign_in_with_password(client, "therapist").status_code == 302
    assert UNSENT not in client.session


def test_an_autosave_sent_on_to_sign_in_leaves_its_message_for_the_page(patient_client):
    """The browser follows an autosave's redirect to the sign-in page on its own: drawing the
    page there would use up "what you were writing was not sent…" before the person sees it."""
    patient_client.post(reverse("accounts:sign_out"))  # leaves "You are signed out." to show
    for page in ("accounts:patient_sign_in", "accounts:staff_login"):
        followed = patient_client.get(reverse(page), headers={"HX-Request": "true"})
        assert followed.status_code == 200 and followed.content == b""
    page = patient_client.get(reverse("accounts:patient_sign_in"))
    assert "You are signed out." in page.text
