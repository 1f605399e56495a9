import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from ikbt import factories
from ikbt.accounts.models import User
from ikbt.audit.models import AccessLogEntry
from ikbt.conftest import idle_past_the_time_out, list_rows
from ikbt.messaging import actions
from ikbt.messaging.models import Message, Thread
from ikbt.notifications import sms
from ikbt.treatment.models import ReplyTemplate


@pytest.fixture(autouse=True)
def empty_outboxes():
    sms.outbox.clear()


def test_patient_writes_and_the_therapist_is_told_without_content(
    patient_client, patient, therapist, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = patient_client.post(
            reverse("messaging:inbox"),
            {"subject": "Sömnen", "body": "Jag har haft svåra tankar i natt."},
        )
    thread = Thread.objects.get()
    assert response.url == reverse("messaging:thread", args=[thread.pk])
    (notice,) = mail.outbox
    assert notice.to == [therapist.email]
    # In the user's language, saying that a patient wrote (not what, nor who).
    assert notice.subject == "Open iKBT: en patient har skrivit till dig"
    assert "tankar" not in notice.body and "Sömnen" not in notice.body


def test_therapist_replies_the_patient_reads_and_read_status_is_kept(
    patient_client, therapist_client, patient, therapist, django_capture_on_commit_callbacks
):
    thread = actions.thread_start(patient, patient.user, "Fråga", "Hur gör jag övningen?")
    staff_url = reverse("messaging:staff_thread", args=[thread.pk])
    page = therapist_client.get(staff_url)
    assert "Hur gör jag övningen?" in page.text
    assert Message.objects.get().read_at is not None  # read by the therapist

    with django_capture_on_commit_callbacks(execute=True):
        sent = therapist_client.post(staff_url, {"body": "Börja med fem minuter."}, follow=True)
    assert "The message is sent." in sent.text
    reply = Message.objects.get(sender=therapist)
    assert reply.read_at is None
    assert [message.body for message in sms.outbox] == ["Du har ett nytt meddelande från vården"]
    assert AccessLogEntry.objects.filter(
        actor=therapist, action="create", object_id=str(reply.pk)
    ).exists()

    page = patient_client.get(reverse("messaging:thread", args=[thread.pk]))
    assert "Börja med fem minuter." in page.text
    assert "Psychologist" in page.text  # the therapist's profession is shown
    reply.refresh_from_db()
    assert reply.read_at is not None


def test_a_rolled_back_message_notifies_nobody(patient, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                actions.thread_start(patient, patient.user, "Ångrat", "Skickas aldrig")
                raise RuntimeError("the request failed after writing")
        except RuntimeError:
            pass
    assert Message.objects.count() == 0
    assert mail.outbox == [] and sms.outbox == []


def test_outsider_and_other_patients_get_404(outsider_client, outsider, patient, client, db):
    from ikbt import factories

    thread = actions.thread_start(patient, patient.user, "Privat", "Hej")
    assert (
        outsider_client.get(reverse("messaging:staff_thread", args=[thread.pk])).status_code == 404
    )
    assert AccessLogEntry.objects.filter(actor=outsider, action="denied").exists()
    client.force_login(factories.PatientFactory().user)
    assert client.get(reverse("messaging:thread", args=[thread.pk])).status_code == 404


@pytest.mark.parametrize("count", list_rows(1, 12))
def test_thread_query_count_is_fixed(therapist_client, patient, count, django_assert_num_queries):
    thread = actions.thread_start(patient, patient.user, "Många", "Första")
    for number in range(count - 1):
        actions.message_send(thread, patient.user, f"Meddelande {number}")
    therapist_client.get(reverse("core:home"))
    with django_assert_num_queries(12):
        page = therapist_client.get(reverse("messaging:staff_thread", args=[thread.pk]))
    assert len(page.context["thread_messages"]) == count


def test_the_patients_inbox_names_her_care_team_with_each_profession_once_bracketed(
    patient_client, patient, therapist, colleague, unit
):
    colleague.profession = User.Profession.PTP_PSYCHOLOGIST
    colleague.save(update_fields=["profession"])
    factories.care_relationship(patient, colleague, unit)
    text = " ".join(patient_client.get(reverse("messaging:inbox")).text.split())
    assert "Kalle Kollega, Psychologist in training (PTP)" in text
    assert "Tove Terapeut, Psychologist" in text
    assert "((" not in text and "))" not in text


def test_a_reply_template_chosen_without_scripts_starts_the_reply(
    therapist_client, therapist, patient
):
    template = ReplyTemplate.objects.create(
        owner=therapist, title="Tack", text="Tack för ditt svar."
    )
    thread = actions.thread_start(patient, patient.user, "Fråga", "Hur gör jag?")
    url = reverse("messaging:staff_thread", args=[thread.pk])
    page = therapist_client.get(url)
    assert 'data-fills="id_body"' in page.text
    assert (
        f'<option value="{template.pk}" data-text="Tack för ditt svar.">Tack</option>' in page.text
    )
    chosen = therapist_client.get(url, {"mall": template.pk})
    assert chosen.context["form"]["body"].value() == "Tack för ditt svar."
    # Someone else's template is not hers to use.
    other = ReplyTemplate.objects.create(owner=patient.user, title="X", text="Inte din.")
    assert therapist_client.get(url, {"mall": other.pk}).context["form"]["body"].value() is None


def test_a_patient_with_no_care_team_is_told_no_one_would_read_a_message(
    patient_client, patient, unit
):
    from ikbt.patients.models import CareRelationship

    thread = actions.thread_start(patient, patient.user, "Fråga", "Hej")
    CareRelationship.objects.filter(patient=patient).update(ended_at=timezone.now())
    mail.outbox.clear()
    inbox = patient_client.get(reverse("messaging:inbox"))
    assert "You have no care team to write to just now" in inbox.text
    assert 'name="subject"' not in inbox.text and "answers within" not in inbox.text
    url = reverse("messaging:thread", args=[thread.pk])
    assert 'name="body"' not in patient_client.get(url).text
    # Written before her care ended: refused, and what she wrote is still in the box.
    refused = patient_client.post(url, {"body": "Ska jag ringa själv?"})
    assert "You have no care team to write to just now" in refused.text
    assert refused.context["form"]["body"].value() == "Ska jag ringa själv?"
    refused = patient_client.post(
        reverse("messaging:inbox"), {"subject": "Fråga", "body": "Ska jag ringa själv?"}
    )
    assert refused.context["form"]["body"].value() == "Ska jag ringa själv?"
    assert thread.messages.count() == 1 and Thread.objects.count() == 1
    assert mail.outbox == []
    # Written before a time-out, after which her care ended: shown, not lost.
    idle_past_the_time_out(patient_client)
    patient_client.post(url, {"body": "Skrivet innan jag loggades ut."})
    patient_client.force_login(patient.user)
    assert "Skrivet innan jag loggades ut." in patient_client.get(url).text


def test_a_message_sent_after_the_time_out_is_kept_for_her_next_sign_in(patient_client, patient):

    thread = actions.thread_start(patient, patient.user, "Fråga", "Hej")
    url = reverse("messaging:thread", args=[thread.pk])
    idle_past_the_time_out(patient_client)
    long_text = "Jag har skrivit länge om veckan som gått."
    signed_out = patient_client.post(url, {"body": long_text}, follow=True)
    assert "What you were writing was not sent" in signed_out.text
    assert not thread.messages.filter(body=long_text).exists()
    # To the sign-in page, which leads back to the thread.
    assert signed_out.redirect_chain[-1][0] == (
        reverse("accounts:patient_sign_in") + f"?next={url}"
    )

    # Signed in again, it is back in the box, once.
    patient_client.force_login(patient.user)
    page = patient_client.get(url)
    assert page.context["form"]["body"].value() == long_text
    assert "What you wrote before you were signed out is in the box" in page.text
    assert patient_client.get(url).context["form"]["body"].value() in (None, "")


def test_messages_from_before_are_answered_by_the_reply_after_them_or_when_read(
    patient, therapist
):
    """As migration messaging/0007 fills them: answered by the first reply that followed;
    with none, handled when read (the rule until then); neither, still waiting."""
    import importlib

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.utils import timezone

    from ikbt.messaging.models import Message

    thread = actions.thread_start(patient, patient.user, "Fråga", "Hur gör jag?")
    question = Message.objects.get()
    reply = actions.message_send(thread, therapist, "Så här.")
    thanks = actions.message_send(thread, patient.user, "Tack!")
    unread = actions.message_send(thread, patient.user, "En sak till")
    read = timezone.now()
    Message.objects.filter(pk=thanks.pk).update(read_at=read)
    Message.objects.update(answered_at=None)

    migration = importlib.import_module("ikbt.messaging.migrations.0007_message_answered_at")
    state = MigrationExecutor(connection).loader.project_state(
        ("messaging", "0007_message_answered_at")
    )
    migration.answered_by_later_replies(state.apps, None)
    answered = dict(Message.objects.values_list("pk", "answered_at"))
    assert answered[question.pk] == reply.sent_at
    assert answered[thanks.pk] == read
    assert answered[unread.pk] is None


def test_a_new_message_sent_after_the_time_out_is_kept_subject_and_all(patient_client, patient):

    idle_past_the_time_out(patient_client)
    inbox = reverse("messaging:inbox")
    patient_client.post(inbox, {"subject": "Sömnen", "body": "Jag sover dåligt igen."})
    patient_client.force_login(patient.user)
    form = patient_client.get(inbox).context["form"]
    assert (form["subject"].value(), form["body"].value()) == ("Sömnen", "Jag sover dåligt igen.")
