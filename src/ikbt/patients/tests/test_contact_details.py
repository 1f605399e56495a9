"""The patient's own mobile number and e-mail: where her sign-in code and notices go."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from ikbt.patients.forms import normalise_mobile

SECURITY = reverse("accounts:security")


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("070-123 45 67", "+46701234567"),
        ("0701234567", "+46701234567"),
        ("+46 70 123 45 67", "+46701234567"),
        ("0046701234567", "+46701234567"),
        ("+358 40 123 4567", "+358401234567"),  # a Finnish mobile, as it is
    ],
)
def test_mobile_numbers_as_people_write_them(written, stored):
    assert normalise_mobile(written) == stored


@pytest.mark.parametrize("written", ["08-123 456 78", "070123", "+46 8 123 456 78", "ring mig"])
def test_what_is_not_a_mobile_number_is_refused(written):
    with pytest.raises(ValidationError, match="Write a mobile number"):
        normalise_mobile(written)


def test_patient_changes_her_mobile_and_e_mail(patient_client, patient):
    page = patient_client.get(SECURITY)
    assert 'value="+46701234567"' in page.text
    answer = patient_client.post(
        SECURITY,
        {
            "action": "contact",
            "mobile": "073-111 22 33",
            "email": "petra@example.se",
            "notify_by_sms": "on",
        },
    )
    assert answer.status_code == 302
    patient.refresh_from_db()
    assert (patient.mobile, patient.email) == ("+46731112233", "petra@example.se")
    assert (patient.notify_by_sms, patient.notify_by_email) == (True, False)


def test_the_number_and_address_replaced_are_told_of_the_change(
    patient_client, patient, django_capture_on_commit_callbacks
):
    from django.core import mail

    from ikbt.notifications import sms

    patient.email = "petra.gammal@example.se"
    patient.save(update_fields=["email"])
    sms.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        patient_client.post(
            SECURITY,
            {
                "action": "contact",
                "mobile": "073-111 22 33",
                "email": "petra@example.se",
                "notify_by_sms": "on",
            },
        )
    [text] = sms.outbox
    assert (text.to, text.body) == (
        "+46701234567",
        "Dina kontaktuppgifter har ändrats. Inte du? Ring din vårdenhet.",  # her language
    )
    [notice] = mail.outbox
    assert notice.to == ["petra.gammal@example.se"]
    assert "Om det inte var du, ring din vårdenhet genast." in notice.body
    # Only the notice settings changed: nobody is told.
    sms.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        patient_client.post(
            SECURITY,
            {
                "action": "contact",
                "mobile": "073-111 22 33",
                "email": "petra@example.se",
                "notify_by_email": "on",
            },
        )
    assert sms.outbox == [] and len(mail.outbox) == 1


def test_a_refused_change_is_explained_and_what_she_typed_kept(patient_client, patient):
    page = patient_client.post(
        SECURITY,
        {"action": "contact", "mobile": "", "email": "petra@", "notify_by_sms": "on"},
    )
    assert page.status_code == 200
    assert "Write your mobile number, or untick text messages." in page.text
    assert 'value="petra@"' in page.text
    patient.refresh_from_db()
    assert patient.mobile == "+46701234567"
    sv = patient_client.post(
        SECURITY,
        {"action": "contact", "mobile": "ring mig", "notify_by_sms": "on"},
        HTTP_ACCEPT_LANGUAGE="sv",
    )
    assert "Skriv ett mobilnummer, till exempel 070-123 45 67." in sv.text


def test_she_cannot_remove_every_address_her_sign_in_code_goes_to(
    patient_client, patient, settings
):
    """Without a mobile, an e-mail address and e-identification she could never sign in."""
    nothing = {"action": "contact", "mobile": "", "email": ""}
    page = patient_client.post(SECURITY, nothing)
    assert page.context["contact"].errors == {
        "mobile": [
            "Keep a mobile number or an e-mail address: your sign-in code is sent there, and "
            "without either you cannot sign in."
        ]
    }
    patient.refresh_from_db()
    assert patient.mobile == "+46701234567"
    # With an e-mail address the code goes there: the number is hers to leave out.
    kept = patient_client.post(SECURITY, {**nothing, "email": "petra@example.se"})
    assert kept.status_code == 302
    patient.refresh_from_db()
    assert (patient.mobile, patient.email) == ("", "petra@example.se")
    patient_client.post(SECURITY, nothing)
    patient.refresh_from_db()
    assert patient.email == "petra@example.se"
    # Where she signs in with e-identification, both are hers to leave out.
    settings.PATIENT_OIDC_ENABLED = True
    assert patient_client.post(SECURITY, nothing).status_code == 302
    patient.refresh_from_db()
    assert (patient.mobile, patient.email) == ("", "")
    refused = patient_client.post(SECURITY, {**nothing, "notify_by_sms": "on"})
    assert "Write your mobile number, or untick text messages." in refused.text


def test_staff_have_no_contact_form(therapist_client):
    page = therapist_client.get(SECURITY)
    assert 'name="mobile"' not in page.text
    answer = therapist_client.post(SECURITY, {"action": "contact", "mobile": "0701234567"})
    assert answer.status_code == 200
    assert 'name="mobile"' not in answer.text
