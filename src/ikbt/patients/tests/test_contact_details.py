"""The patient's own mobile number and e-mail: where her sign-in code and notices go."""

import re

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


def test_patient_changes_her_e_mail_at_once(patient_client, patient):
    page = patient_client.get(SECURITY)
    assert 'value="+46701234567"' in page.text
    answer = patient_client.post(
        SECURITY,
        {
            "action": "contact",
            "mobile": "070-123 45 67",  # the number she has, as she writes it
            "email": "petra@example.se",
            "notify_by_email": "on",
        },
    )
    assert answer.status_code == 302
    patient.refresh_from_db()
    assert (patient.mobile, patient.email) == ("+46701234567", "petra@example.se")
    assert (patient.notify_by_sms, patient.notify_by_email) == (False, True)


def change_mobile(client, mobile: str = "073-111 22 33", **details):
    return client.post(
        SECURITY,
        {"action": "contact", "mobile": mobile, "notify_by_sms": "on", **details},
    )


def sent_code(to: str) -> str:
    from ikbt.notifications import sms

    [text] = [text for text in sms.outbox if text.to == to]
    return re.search(r"\b(\d{6})\b", text.body).group(1)


def test_a_new_mobile_number_is_hers_once_she_writes_back_the_code_sent_to_it(
    patient_client, patient, django_capture_on_commit_callbacks
):
    from django.core import mail

    from ikbt.notifications import sms

    patient.email = "petra.gammal@example.se"
    patient.save(update_fields=["email"])
    sms.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        answer = change_mobile(patient_client, email="petra@example.se")
    assert answer.status_code == 302
    # Nothing is saved yet: the code went to the new number, and only the code.
    patient.refresh_from_db()
    assert (patient.mobile, patient.email) == ("+46701234567", "petra.gammal@example.se")
    [text] = sms.outbox
    assert text.to == "+46731112233"
    code = sent_code("+46731112233")
    assert text.body == (
        f"Din kod för att bekräfta ditt nya mobilnummer är {code}. Den gäller i 10 minuter. "
        "Har du inte bett om den? Gör ingenting: ditt nummer förblir som det var."
    )
    assert mail.outbox == []
    page = patient_client.get(SECURITY)
    assert "Confirm your new mobile number" in page.text
    assert "We have sent a code to +46731112233." in page.text
    sms.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        answer = patient_client.post(SECURITY, {"action": "new_mobile_confirm", "code": code})
    assert answer.status_code == 302
    patient.refresh_from_db()
    assert (patient.mobile, patient.email) == ("+46731112233", "petra@example.se")
    assert (patient.notify_by_sms, patient.notify_by_email) == (True, False)
    # The number and the address replaced are told, in her language, without content.
    [text] = sms.outbox
    assert (text.to, text.body) == (
        "+46701234567",
        "Dina kontaktuppgifter har ändrats. Inte du? Ring din vårdenhet.",
    )
    [notice] = mail.outbox
    assert notice.to == ["petra.gammal@example.se"]
    assert "Om det inte var du, ring din vårdenhet genast." in notice.body
    page = patient_client.get(SECURITY)
    assert "Confirm your new mobile number" not in page.text
    assert 'value="+46731112233"' in page.text
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


def test_a_wrong_code_is_refused_with_the_tries_left_and_a_spent_one_asks_for_another(
    patient_client, patient, django_capture_on_commit_callbacks
):
    from ikbt.accounts.models import NewMobileCodeDevice
    from ikbt.notifications import sms

    sms.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        change_mobile(patient_client)
    code = sent_code("+46731112233")
    wrong = "000000" if code != "000000" else "111111"
    page = patient_client.post(SECURITY, {"action": "new_mobile_confirm", "code": wrong})
    assert page.status_code == 200
    assert "The code is wrong or has expired. You have 4 tries left." in page.text
    assert f'value="{wrong}"' in page.text
    for _ in range(4):
        page = patient_client.post(SECURITY, {"action": "new_mobile_confirm", "code": wrong})
    assert "The code was wrong 5 times. Ask for a new code." in page.text
    # Spent: even the right code is refused now.
    patient_client.post(SECURITY, {"action": "new_mobile_confirm", "code": code})
    patient.refresh_from_db()
    assert patient.mobile == "+46701234567"
    # A new code at most once a minute.
    answer = patient_client.post(SECURITY, {"action": "new_mobile_again"}, follow=True)
    assert "Wait a minute before asking for another code." in answer.text
    NewMobileCodeDevice.objects.update(last_generated_timestamp=None)
    sms.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        answer = patient_client.post(SECURITY, {"action": "new_mobile_again"}, follow=True)
    assert "A new code is on its way to your new number." in answer.text
    patient_client.post(
        SECURITY, {"action": "new_mobile_confirm", "code": sent_code("+46731112233")}
    )
    patient.refresh_from_db()
    assert patient.mobile == "+46731112233"


def test_a_mistyped_number_is_corrected_or_given_up(
    patient_client, patient, django_capture_on_commit_callbacks
):
    from ikbt.accounts.models import NewMobileCodeDevice
    from ikbt.notifications import sms

    sms.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        change_mobile(patient_client, "073-111 22 34")
    with django_capture_on_commit_callbacks(execute=True):
        corrected = change_mobile(patient_client, "073-111 22 33")
    # Within the minute no second text goes, to this number or any other: the form cannot
    # be used to send texts to strangers.
    assert [text.to for text in sms.outbox] == ["+46731112234"]
    page = patient_client.get(corrected.url)
    assert "Your new number waits for its code." in page.text
    assert "Press “Send a new code” to get a code at +46731112233" in page.text
    # The first number's code does not confirm the second.
    stale = sent_code("+46731112234")
    patient_client.post(SECURITY, {"action": "new_mobile_confirm", "code": stale})
    patient.refresh_from_db()
    assert patient.mobile == "+46701234567"
    NewMobileCodeDevice.objects.update(last_generated_timestamp=None)  # a minute later
    with django_capture_on_commit_callbacks(execute=True):
        patient_client.post(SECURITY, {"action": "new_mobile_again"})
    code = sent_code("+46731112233")
    answer = patient_client.post(SECURITY, {"action": "new_mobile_forget"}, follow=True)
    assert "Your mobile number stays as it was." in answer.text
    assert "Confirm your new mobile number" not in answer.text
    patient_client.post(SECURITY, {"action": "new_mobile_confirm", "code": code})
    patient.refresh_from_db()
    assert patient.mobile == "+46701234567"


def test_a_first_mobile_number_is_confirmed_too(
    patient_client, patient, django_capture_on_commit_callbacks
):
    from ikbt.notifications import sms

    patient.mobile, patient.email, patient.notify_by_sms = "", "petra@example.se", False
    patient.save(update_fields=["mobile", "email", "notify_by_sms"])
    sms.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        change_mobile(patient_client, email="petra@example.se")
    patient.refresh_from_db()
    assert (patient.mobile, patient.notify_by_sms) == ("", False)
    patient_client.post(
        SECURITY, {"action": "new_mobile_confirm", "code": sent_code("+46731112233")}
    )
    patient.refresh_from_db()
    assert (patient.mobile, patient.notify_by_sms) == ("+46731112233", True)


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
