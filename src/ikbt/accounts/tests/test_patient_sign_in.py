import pytest
from django.urls import reverse

from ikbt.accounts.models import PatientCodeDevice
from ikbt.audit.models import AccessLogEntry
from ikbt.factories import personal_number
from ikbt.notifications import sms

SIGN_IN = reverse("accounts:patient_sign_in")
CODE = reverse("accounts:patient_code")


@pytest.fixture(autouse=True)
def empty_outbox():
    sms.outbox.clear()


def ask_for_code(client, number: str, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(SIGN_IN, {"personal_number": number})


def sent_code() -> str:
    (message,) = sms.outbox
    return next(word for word in message.body.split() if word.strip(".").isdigit()).strip(".")


def test_one_time_code_signs_the_patient_in(client, patient, django_capture_on_commit_callbacks):
    response = ask_for_code(client, patient.personal_number, django_capture_on_commit_callbacks)
    assert response.url == CODE
    assert sms.outbox[0].to == patient.mobile

    response = client.post(CODE, {"code": sent_code()})
    assert response.url == reverse("patients:patient_home")
    assert client.get(reverse("patients:patient_home")).status_code == 200
    entry = AccessLogEntry.objects.get(action=AccessLogEntry.Action.SIGN_IN)
    assert entry.patient == patient


def test_number_written_with_a_dash_works(client, patient, django_capture_on_commit_callbacks):
    dashed = f"{patient.personal_number[2:8]}-{patient.personal_number[8:]}"
    ask_for_code(client, dashed, django_capture_on_commit_callbacks)
    assert len(sms.outbox) == 1


def test_the_code_message_carries_nothing_but_the_code(
    client, patient, django_capture_on_commit_callbacks
):
    ask_for_code(client, patient.personal_number, django_capture_on_commit_callbacks)
    body = sms.outbox[0].body
    assert patient.given_name not in body
    assert patient.personal_number not in body


def test_unknown_number_gets_the_same_answer(client, db, django_capture_on_commit_callbacks):
    unknown = personal_number("19900101", 999)
    response = ask_for_code(client, unknown, django_capture_on_commit_callbacks)
    assert response.url == CODE
    assert sms.outbox == []
    page = client.get(CODE)
    assert "If the number belongs to a patient" in page.content.decode()


def test_bad_number_is_explained_and_kept(client, db):
    response = client.post(SIGN_IN, {"personal_number": "19850314-1235"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "check digit" in content
    assert 'value="19850314-1235"' in content


def test_five_wrong_codes_spend_the_code(client, patient, django_capture_on_commit_callbacks):
    ask_for_code(client, patient.personal_number, django_capture_on_commit_callbacks)
    code = sent_code()
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        response = client.post(CODE, {"code": wrong})
        assert response.status_code == 200
    response = client.post(CODE, {"code": wrong})
    assert response.url == SIGN_IN
    # Even the right code no longer works.
    assert client.post(CODE, {"code": code}).url == SIGN_IN
    device = PatientCodeDevice.objects.get(user=patient.user)
    assert device.is_spent
    assert "_auth_user_id" not in client.session


def test_expired_code_is_refused(client, patient, django_capture_on_commit_callbacks):
    ask_for_code(client, patient.personal_number, django_capture_on_commit_callbacks)
    code = sent_code()
    device = PatientCodeDevice.objects.get(user=patient.user)
    device.valid_until = device.last_generated_timestamp
    device.save()
    response = client.post(CODE, {"code": code})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_staff_cannot_open_patient_pages(therapist_client):
    assert therapist_client.get(reverse("patients:patient_home")).status_code == 404


def test_patient_pages_ask_for_sign_in(client, db):
    response = client.get(reverse("patients:patient_home"))
    assert response.url.startswith(SIGN_IN)


def test_e_identification_button_only_when_configured(client, db, settings):
    settings.PATIENT_OIDC_ENABLED = False
    assert "BankID" not in client.get(SIGN_IN).content.decode()
    settings.PATIENT_OIDC_ENABLED = True
    assert "BankID" in client.get(SIGN_IN).content.decode()


def test_someone_new_is_told_how_to_become_a_patient(client, db, settings):
    settings.PATIENT_OIDC_ENABLED = True
    page = client.get(SIGN_IN).text
    assert "Not a patient here yet? Sign in with e-identification above" in page
    settings.PATIENT_OIDC_ENABLED = False
    page = client.get(SIGN_IN).text
    assert "A code can only go to a number we have, and signing in with e-identification" in page
    assert "e-identification above" not in page


def test_the_code_page_says_how_often_a_new_code_comes(
    client, patient, django_capture_on_commit_callbacks
):
    page = ask_for_code(client, patient.personal_number, django_capture_on_commit_callbacks)
    text = client.get(page.url).text
    assert "A new code is sent at most once a minute; until then the code sent last" in text


def test_the_language_chosen_before_signing_in_becomes_hers(
    client, patient, django_capture_on_commit_callbacks
):
    """Her texts and e-mails then come in it, as the pages do."""
    assert patient.user.language == "sv"
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    ask_for_code(client, patient.personal_number, django_capture_on_commit_callbacks)
    wrong = client.post(CODE, {"code": "000000" if sent_code() != "000000" else "111111"})
    assert "You have 4 tries left." in wrong.text
    client.post(CODE, {"code": sent_code()})
    patient.user.refresh_from_db()
    assert patient.user.language == "en"


def test_an_old_language_cookie_does_not_change_hers(
    client, patient, django_capture_on_commit_callbacks
):
    """A cookie left from weeks ago, or by someone else on a shared computer, is not her
    choice: only one made on this browser just before signing in is."""
    from django.conf import settings

    patient.user.language = "en"
    patient.user.save(update_fields=["language"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "sv"
    ask_for_code(client, patient.personal_number, django_capture_on_commit_callbacks)
    client.post(CODE, {"code": sent_code()})
    patient.user.refresh_from_db()
    assert patient.user.language == "en"
