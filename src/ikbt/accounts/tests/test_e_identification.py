"""Patient sign-in through e-identification, end to end against a real OpenID provider.

oidc-provider-mock runs a provider in a thread: the authorisation form, the token endpoint,
an RS256-signed ID token checked against its JWKS, and userinfo, all over HTTP, as the
region's BankID or Freja eID broker answers. The first sign-in of a person gives her a
patient account; later ones find it by her personal identity number."""

from urllib.parse import urlsplit

import httpx
import oidc_provider_mock
import pytest
from django.test import Client
from django.urls import reverse

from ikbt import factories
from ikbt.accounts.models import NewMobileCodeDevice
from ikbt.audit.models import AccessLogEntry
from ikbt.intake.models import Registration
from ikbt.intake.tests.test_intake import FORM, offering  # noqa: F401 (fixture)
from ikbt.patients.models import Patient

NUMBER = factories.personal_number("19900101", 234)


def signing_in_at(settings, base: str) -> None:
    """Patients sign in with the OpenID provider at ``base`` (oidc-provider-mock)."""
    settings.OIDC_RP_CLIENT_ID = "open-ikbt"
    settings.OIDC_RP_CLIENT_SECRET = "region-secret"  # nosec B105
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{base}/oauth2/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{base}/oauth2/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{base}/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{base}/jwks"
    settings.OIDC_VERIFY_KID = False  # the provider's one key carries no key id
    settings.PATIENT_OIDC_ENABLED = True
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "ikbt.accounts.oidc.PatientOIDCBackend",
    ]


@pytest.fixture
def provider(settings):
    with oidc_provider_mock.run_server_in_thread() as server:
        base = f"http://localhost:{server.server_port}"
        signing_in_at(settings, base)
        yield base


def person_at_provider(provider: str, sub: str, **claims) -> None:
    """What the provider knows of a person (the broker's userinfo)."""
    answer = httpx.put(f"{provider}/users/{sub}", json=claims)
    assert answer.status_code == 204


def e_identification(client: Client, sub: str, next_url: str):
    """The patient chooses e-identification, confirms at the provider and comes back; the
    answer to her return."""
    sign_in = client.get(reverse("accounts:patient_sign_in"), {"next": next_url}).text
    start = reverse("oidc_authentication_init")
    assert f'href="{start}?next=' in sign_in
    to_provider = client.get(start, {"next": next_url})
    assert to_provider.status_code == 302
    confirmed = httpx.post(to_provider.url, data={"sub": sub})
    assert confirmed.status_code == 302
    back = urlsplit(confirmed.headers["location"])
    assert back.path == reverse("oidc_authentication_callback")
    return client.get(f"{back.path}?{back.query}")


def test_first_e_identification_makes_a_patient_account_and_she_registers(
    provider,
    offering,  # noqa: F811
):
    person_at_provider(
        provider,
        "sara",
        personal_identity_number=NUMBER,
        given_name="Sara",
        family_name="Svensson",
    )
    register = reverse("intake:register", args=[offering.pk])
    client = Client()
    assert e_identification(client, "sara", register).url == register

    patient = Patient.objects.get(personal_number=NUMBER)
    assert patient.full_name == "Sara Svensson"
    assert patient.mobile == ""  # the provider gives none: she is asked for it
    assert AccessLogEntry.objects.filter(
        patient=patient, action="sign_in", detail="e-identification"
    ).exists()
    # The region does not yet know where she lives: she says it, as she gives her mobile.
    page = client.get(register)
    assert 'name="mobile"' in page.text
    assert "I live in Region Östergötland (I am registered as resident there)." in page.text
    refused = client.post(register, FORM)
    assert "This unit takes patients who live in Region Östergötland." in refused.text
    # Only the box unticked says so: she is asked to tick it if she does live there.
    assert "If you live in Region Östergötland, tick that you do." in refused.text
    assert FORM["situation"] in refused.text
    client.post(register, {**FORM, "lives_here": "on"})
    assert Registration.objects.get().patient == patient
    patient.refresh_from_db()
    # Her mobile is hers once she writes back the code sent to it.
    assert patient.mobile == ""
    assert NewMobileCodeDevice.objects.get(user=patient.user).number == "+46707654321"
    assert patient.home_region == offering.unit.region

    # Next time she is found by her number, whatever the provider calls her; the language
    # chosen on the new browser before signing in becomes hers.
    person_at_provider(provider, "sara-2", personal_identity_number=NUMBER)
    again = Client()
    again.post(reverse("set_language"), {"language": "en", "next": "/"})
    e_identification(again, "sara-2", reverse("patients:patient_home"))
    assert Patient.objects.filter(personal_number=NUMBER).count() == 1
    assert Patient.objects.get(personal_number=NUMBER).user.language == "en"
    assert again.get(reverse("intake:my_registrations")).status_code == 200


def test_an_identity_without_a_valid_personal_number_signs_in_nobody(provider, therapist):
    person_at_provider(provider, "robot", personal_identity_number="19900101-0000")
    person_at_provider(provider, "staff", personal_identity_number=therapist.username)
    for sub in ("robot", "staff"):
        client = Client()
        answer = e_identification(client, sub, reverse("patients:patient_home"))
        assert answer.url == reverse("accounts:patient_sign_in")
        page = client.get(answer.url).text
        assert "You were not signed in with e-identification." in page
        assert client.get(reverse("patients:patient_home")).status_code == 302
    assert not Patient.objects.filter(personal_number__startswith="199001010").exists()


def test_a_sign_in_cancelled_at_the_provider_comes_back_explained(provider, db):
    client = Client()
    to_provider = client.get(reverse("oidc_authentication_init"))
    cancelled = httpx.post(to_provider.url, data={"action": "deny"})
    back = urlsplit(cancelled.headers["location"])
    assert "error=access_denied" in back.query
    answer = client.get(f"{back.path}?{back.query}")
    assert answer.url == reverse("accounts:patient_sign_in")
    assert "You were not signed in with e-identification." in client.get(answer.url).text


def test_registering_where_anyone_may_does_not_set_where_she_lives(provider, offering):  # noqa: F811
    from ikbt.intake.models import Offering

    Offering.objects.filter(pk=offering.pk).update(intake=Offering.Intake.OPEN)
    person_at_provider(provider, "ali", personal_identity_number=NUMBER, given_name="Ali")
    register = reverse("intake:register", args=[offering.pk])
    client = Client()
    e_identification(client, "ali", register)
    assert "I live in" not in client.get(register).text
    client.post(register, FORM)
    patient = Patient.objects.get(personal_number=NUMBER)
    assert patient.registrations.count() == 1
    assert patient.home_region is None  # she never said, so it is not known


def test_a_token_that_cannot_be_checked_comes_back_explained_not_as_an_error(
    provider, db, settings, caplog
):
    """The provider's key carries no key id: checking the ID token against it fails inside
    mozilla-django-oidc (KeyError 'kid'). She is back at the sign-in page, told so, signed in
    as nobody; the log says what kind of failure, and nothing about her."""
    settings.OIDC_VERIFY_KID = True
    person_at_provider(provider, "sara", personal_identity_number=NUMBER, given_name="Sara")
    client = Client()
    with caplog.at_level("WARNING", logger="ikbt.accounts.oidc"):
        answer = e_identification(client, "sara", reverse("patients:patient_home"))
    assert answer.status_code == 302
    assert answer.url == reverse("accounts:patient_sign_in")
    page = client.get(answer.url).text
    assert "You were not signed in with e-identification." in page
    assert client.get(reverse("patients:patient_home")).status_code == 302
    assert not Patient.objects.filter(personal_number=NUMBER).exists()
    [warning] = [record for record in caplog.records if record.name == "ikbt.accounts.oidc"]
    assert (warning.levelname, warning.getMessage()) == (
        "ERROR",
        "E-identification failed at the callback: KeyError",
    )
    assert "Sara" not in caplog.text and NUMBER not in caplog.text


def test_a_fault_of_our_own_at_the_callback_is_not_hidden_as_a_failed_sign_in(
    provider, db, monkeypatch
):
    """A bug making the account is a server error, seen and logged with its traceback, not
    "you were not signed in", which would lock every new patient out without anyone knowing."""
    from ikbt.accounts.oidc import PatientOIDCBackend

    def broken(self, claims):
        raise TypeError("a bug")

    monkeypatch.setattr(PatientOIDCBackend, "create_user", broken)
    person_at_provider(provider, "sara", personal_identity_number=NUMBER, given_name="Sara")
    client = Client(raise_request_exception=False)
    answer = e_identification(client, "sara", reverse("patients:patient_home"))
    assert answer.status_code == 500
