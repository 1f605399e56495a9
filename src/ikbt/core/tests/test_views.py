import re
from pathlib import Path

from django.conf import settings
from django.db import OperationalError, connection
from django.urls import reverse
from django.utils import translation

from ikbt import settings as project_settings
from ikbt.core import views


def test_healthz_answers_200_when_the_database_answers(db, client):
    response = client.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok\n")


def test_healthz_answers_503_without_the_database(db, client, monkeypatch):
    def database_down(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", database_down)
        response = client.get("/healthz")
    assert (response.status_code, response.text) == (503, "database unavailable\n")


def test_front_page_is_swedish_by_default_with_a_strict_csp(client, db, settings):
    settings.LANGUAGE_CODE = project_settings.LANGUAGE_CODE
    response = client.get(reverse("core:home"))

    assert response.status_code == 200
    assert '<html lang="sv">' in response.text
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_front_page_in_english_on_request(client, db):
    response = client.get(reverse("core:home"), headers={"accept-language": "en"})

    assert '<html lang="en">' in response.text
    assert "Internet-based CBT with your own therapist" in response.text
    # Where e-identification is not open, the front door does not offer it.
    assert "Sign in with a one-time code, sent to the mobile number" in response.text
    assert "e-identification" not in response.text


def test_front_page_has_no_inline_script_or_style(client, db):
    text = client.get(reverse("core:home")).text

    assert "<style" not in text
    assert 'style="' not in text
    for line in text.splitlines():
        if "<script" in line:
            assert "src=" in line


def test_every_swedish_string_is_translated():
    catalogue = Path(settings.LOCALE_PATHS[0]) / "sv" / "LC_MESSAGES" / "django.po"
    empty = re.compile(r'^msgstr(\[\d\])? ""(\n(?!")|\Z)', re.MULTILINE)
    blocks = catalogue.read_text(encoding="utf-8").strip().split("\n\n")[1:]
    untranslated = [block for block in blocks if "#, fuzzy" in block or empty.search(block)]
    assert untranslated == []
    translation.activate("sv")
    try:
        assert translation.gettext("Sign in as staff") == "Logga in som personal"
    finally:
        translation.deactivate()


def test_a_page_answers_503_with_a_retry_message_while_the_database_is_away(
    patient_client, monkeypatch
):
    def database_down(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    patient_client.raise_request_exception = False
    with monkeypatch.context() as patch:
        patch.setattr(connection, "cursor", database_down)
        response = patient_client.post(reverse("messaging:inbox"), {"body": "Hej"})
    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert "The service is restarting" in response.text
    assert "Nothing was saved. Please try again in a minute." in response.text


def test_any_other_error_answers_the_500_page(client, db, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("a bug")

    client.raise_request_exception = False
    monkeypatch.setattr(views, "render", broken)
    response = client.get(reverse("core:home"))
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert "Retry-After" not in response


def test_a_missing_page_answers_404_in_the_users_language(client, db):
    assert "Page not found" in client.get("/finns-inte/").text
    swedish = client.get("/finns-inte/", headers={"accept-language": "sv"})
    assert swedish.status_code == 404
    assert '<html lang="sv">' in swedish.text
    assert "Sidan finns inte" in swedish.text


def test_a_null_character_in_the_address_answers_400(therapist_client):
    """On PostgreSQL the view's query would fail on it; it is refused before any view runs."""
    in_path = therapist_client.get("/skattningar/fhir/Questionnaire/PHQ%00-9/")
    in_query = therapist_client.get(reverse("intake:queue") + "?program=%00")
    for response in (in_path, in_query):
        assert response.status_code == 400
        assert "The address could not be read" in response.text


def test_an_expired_form_explains_and_keeps_nothing_half_saved(patient):
    from django.test import Client

    from ikbt.messaging.models import Message

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(patient.user)
    response = browser.post(reverse("messaging:inbox"), {"subject": "Hej", "body": "Hej"})
    assert response.status_code == 403
    assert "The form had expired" in response.text
    assert not Message.objects.exists()


def test_the_menu_and_the_start_page_follow_the_staff_members_roles(unit):
    """A register officer, researcher or author is not offered patients or the intake queue
    (they would answer 404) and starts at their own work."""
    from ikbt import factories
    from ikbt.conftest import verified_client
    from ikbt.organisations.models import StaffRole

    starts = {
        StaffRole.REGISTER_OFFICER: "reporting:statistics",
        StaffRole.REGION_ADMIN: "reporting:statistics",
        StaffRole.RESEARCHER: "research:study_list",
        StaffRole.PROGRAM_AUTHOR: "programs:list",
    }
    for role, start in starts.items():
        client = verified_client(factories.staff_member(unit, role, username=f"x-{role}"))
        landing = client.get(reverse("patients:staff_home"))
        assert landing.url == reverse(start), role
        menu = client.get(landing.url).text.split('aria-label="Main menu"')[1].split("</nav>")[0]
        assert reverse("intake:queue") not in menu, role
        assert reverse("treatment:caseload") not in menu, role
        # The page she is on is marked in the menu, and only that one.
        assert menu.count('aria-current="page"') == 1, role
        assert f'<a href="{reverse(start)}" aria-current="page">' in menu, role
    therapist = verified_client(factories.staff_member(unit, StaffRole.THERAPIST))
    page = therapist.get(reverse("patients:staff_home"))
    assert page.status_code == 200  # no patients yet, but patients are her work
    assert reverse("intake:queue") in page.text


def test_what_a_signed_in_person_is_shown_is_not_kept_by_the_browser(
    patient_client, therapist_client, enrollment, client
):
    for signed_in, url in (
        (patient_client, reverse("treatment:home")),
        (patient_client, reverse("messaging:inbox")),
        (therapist_client, reverse("patients:patient_detail", args=[enrollment.patient_id])),
    ):
        response = signed_in.get(url)
        assert response.status_code == 200
        assert {"no-store", "private"} <= {
            part.strip() for part in response["Cache-Control"].split(",")
        }, url
    # The public pages may be kept: nothing on them is anyone's.
    assert not client.get(reverse("core:home")).has_header("Cache-Control")


def test_a_signed_in_person_choosing_a_language_gets_texts_and_mail_in_it(patient_client, patient):
    from django.urls import reverse

    answer = patient_client.post(
        reverse("set_language"), {"language": "en", "next": "/patienter/mina-sidor/"}
    )
    assert answer.status_code == 302 and answer.url == "/patienter/mina-sidor/"
    patient.user.refresh_from_db()
    assert patient.user.language == "en"
    # Only the languages there are.
    patient_client.post(reverse("set_language"), {"language": "de"})
    patient.user.refresh_from_db()
    assert patient.user.language == "en"


def test_the_front_page_leads_to_the_regions_that_take_registrations(client, unit, enrollment):
    from django.urls import reverse

    from ikbt.intake.models import Offering

    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert "Seeking help" not in page.text  # no unit takes registrations yet
    Offering.objects.create(unit=unit, program=enrollment.program_version.program)
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    eservice = reverse("intake:eservice", args=[unit.region.code])
    assert f'<a href="{eservice}">{unit.region.name}</a>' in page.text
