"""A patient works through a module and the therapist follows and gives feedback."""

import re
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ikbt import factories
from ikbt.audit.models import AccessLogEntry
from ikbt.conftest import idle_past_the_time_out, list_rows, verified_client
from ikbt.core.submissions import FIELD
from ikbt.organisations.models import StaffRole
from ikbt.treatment.models import Enrollment, ModuleProgress, WorksheetAnswer


def module_url(enrollment, key, number=1):
    return reverse("treatment:module_page", args=[enrollment.pk, key, number])


def save_url(enrollment, key):
    return reverse("treatment:worksheet_save", args=[enrollment.pk, key])


def test_home_says_what_to_do_now(patient_client, enrollment):
    page = patient_client.get(reverse("treatment:home"))
    assert "week 1 of 12" in page.text
    assert module_url(enrollment, "valkommen") in page.text
    # Each module she cannot open yet says when, or after what.
    assert "(opens when you have finished “Välkommen”)" in page.text
    assert "(opens when your therapist has given feedback on “Lugn andning”)" in page.text
    halfway = timezone.localdate(enrollment.started_at + timedelta(weeks=5))
    assert f"(opens on {halfway.day} {halfway:%B}, in week 6)" in page.text


def test_locked_module_answers_404(patient_client, enrollment):
    assert patient_client.get(module_url(enrollment, "andning")).status_code == 404


def test_worksheet_autosaves_and_is_handed_in(patient_client, enrollment, therapist_client):
    ModuleProgress.objects.create(
        enrollment=enrollment, module_key="valkommen", completed_at=enrollment.started_at
    )
    page = patient_client.get(module_url(enrollment, "andning"))
    assert 'name="marke"' in page.text

    saved = patient_client.post(
        save_url(enrollment, "andningslogg"),
        {
            "revision": "0",
            "marke": "Lugnare efter tre minuter",
            "tillfallen": "Måndag kväll\nTisdag morgon",
        },
        headers={"HX-Request": "true"},
    )
    assert saved.status_code == 200
    assert 'value="1"' in saved.text  # the new revision goes back to the page
    answer = WorksheetAnswer.objects.get()
    assert answer.data == {
        "marke": "Lugnare efter tre minuter",
        "tillfallen": ["Måndag kväll", "Tisdag morgon"],
    }

    patient_client.post(
        save_url(enrollment, "andningslogg"),
        {"revision": "1", "marke": "Klart", "tillfallen": "", "hand_in": "1"},
    )
    answer.refresh_from_db()
    assert answer.handed_in_at is not None and answer.revision == 2

    record = therapist_client.get(reverse("treatment:record", args=[enrollment.pk]))
    assert "Handed in, not read" in record.text
    assert "Klart" in record.text


def test_two_devices_do_not_overwrite_each_other(patient, enrollment):
    phone, laptop = Client(), Client()
    for device in (phone, laptop):
        device.force_login(patient.user)
    url = save_url(enrollment, "veckoreflektion")
    # Both loaded the empty worksheet (revision 0); the phone saves first.
    assert (
        phone.post(
            url,
            {"revision": "0", "lart": "Skrivet i telefonen", "formaga": "6"},
            headers={"HX-Request": "true"},
        ).status_code
        == 200
    )
    conflict = laptop.post(
        url,
        {"revision": "0", "lart": "Skrivet på datorn", "formaga": "3"},
        headers={"HX-Request": "true"},
    )
    assert conflict.status_code == 409
    assert "changed on another device" in conflict.text
    assert "Skrivet på datorn" in conflict.text  # the laptop's text is shown back, not lost
    answer = WorksheetAnswer.objects.get()
    assert answer.data == {"formaga": 6, "lart": "Skrivet i telefonen"}
    # Without JavaScript the same answer is a whole page, the kept text under its labels.
    module = module_url(enrollment, "valkommen", 2)
    sent = {"revision": "0", "lart": "Skrivet på datorn", "formaga": "3", "next": module}
    page = laptop.post(url, sent)
    assert page.status_code == 409
    assert "<h1>" in page.text and "Skrivet på datorn" in page.text
    assert "lart:" not in page.text
    # Back to the module page it was on, to see the other version (reloading would only send
    # the same again).
    assert f'<a class="button" href="{module}">Back to the worksheet</a>' in page.text
    assert "Go back to the worksheet to see that version" in page.text
    # Another site is no way back.
    away = laptop.post(url, {**sent, "next": "https://example.com/"})
    assert 'href="https://example.com/"' not in away.text


def test_hand_in_right_after_typing_is_no_conflict(patient_client, enrollment):
    """Leaving the last field autosaves it while the button sends the same text with the
    revision the page held: whichever arrives second must not be refused."""
    url = save_url(enrollment, "veckoreflektion")
    text = {"lart": "Att ångesten går över", "formaga": "7"}
    autosave = patient_client.post(url, {"revision": "0", **text}, headers={"HX-Request": "true"})
    assert autosave.status_code == 200
    hand_in = patient_client.post(url, {"revision": "0", **text, "hand_in": "1"})
    assert hand_in.status_code == 302
    answer = WorksheetAnswer.objects.get()
    assert answer.data == {"formaga": 7, "lart": "Att ångesten går över"}
    assert (answer.revision, answer.handed_in_at is not None) == (1, True)


def test_homework_feedback_unlocks_the_next_module(
    patient_client, therapist_client, enrollment, therapist, django_capture_on_commit_callbacks
):
    patient_client.post(
        module_url(enrollment, "valkommen", 2), {"homework_report": "Jag kände ångest på bussen."}
    )
    patient_client.post(
        module_url(enrollment, "andning", 1), {"homework_report": "Övade varje dag."}
    )
    assert (
        patient_client.get(module_url(enrollment, "exponering")).status_code == 404
    )  # waits for feedback

    caseload = therapist_client.get(reverse("treatment:caseload"))
    (row,) = caseload.context["rows"]
    assert [kind for kind, _, _ in row["reasons"]] == ["homework"]

    record_url = reverse("treatment:record", args=[enrollment.pk])
    with django_capture_on_commit_callbacks(execute=True):
        therapist_client.post(
            record_url, {"module": "andning", "feedback": "Bra jobbat! Fortsätt öva."}
        )
    progress = ModuleProgress.objects.get(enrollment=enrollment, module_key="andning")
    assert (progress.feedback_by, progress.feedback) == (therapist, "Bra jobbat! Fortsätt öva.")
    assert patient_client.get(module_url(enrollment, "exponering")).status_code == 200
    assert "Bra jobbat" in patient_client.get(reverse("treatment:home")).text
    # The record names who wrote it: a colleague covering does not read it as her own.
    assert "Your feedback" in therapist_client.get(record_url).text
    colleague = factories.staff_member(
        enrollment.unit, StaffRole.UNIT_ADMIN, first_name="Ulla", last_name="Chef"
    )
    assert "Feedback from Tove Terapeut" in verified_client(colleague).get(record_url).text
    (notice,) = mail.outbox
    assert notice.subject == "Du har ett nytt meddelande från vården"
    assert "Bra jobbat" not in notice.body


def test_therapist_unlocks_by_hand(therapist_client, patient_client, enrollment):
    record = reverse("treatment:record", args=[enrollment.pk])
    page = therapist_client.post(record, {"module": "halvvags", "unlock": "1"}, follow=True)
    assert patient_client.get(module_url(enrollment, "halvvags")).status_code == 200
    assert AccessLogEntry.objects.filter(detail="module unlocked").exists()
    # The button says what it did.
    title = enrollment.program_version.modules.get(key="halvvags").title
    assert f"“{title}” is open to the patient now." in page.text
    page = therapist_client.post(record, {"extend": "2"}, follow=True)
    assert "The treatment is extended by 2 weeks." in page.text


def test_outsider_gets_404_and_the_denial_is_logged(outsider_client, outsider, enrollment):
    assert (
        outsider_client.get(reverse("treatment:record", args=[enrollment.pk])).status_code == 404
    )
    assert AccessLogEntry.objects.filter(actor=outsider, action="denied").exists()


def test_other_patient_cannot_open_the_treatment(client, enrollment):
    client.force_login(factories.PatientFactory().user)
    assert client.get(module_url(enrollment, "valkommen")).status_code == 404


@pytest.mark.parametrize("patients", list_rows(1, 6))
def test_caseload_query_count_is_fixed(
    therapist_client, therapist, unit, enrollment, patients, django_assert_num_queries
):
    for _ in range(patients - 1):
        other = factories.PatientFactory()
        factories.care_relationship(other, therapist, unit)
        Enrollment.objects.create(
            patient=other, unit=unit, program_version=enrollment.program_version
        )
    therapist_client.get(reverse("core:home"))
    with django_assert_num_queries(9):  # three of them: the role each row is read in
        page = therapist_client.get(reverse("treatment:caseload"))
    assert len(page.context["rows"]) == patients
    version = enrollment.program_version
    assert f"{version.title('en')} (version {version.number})" in page.text
    assert '<th scope="col">Patient</th>' in page.text
    assert page.text.count('<td data-label="Patient">') == patients


def test_ending_asks_for_post_and_follow_ups_and_computes_the_outcome(
    therapist_client, patient_client, enrollment, patient
):
    from ikbt.measurement.actions import current_version, response_start, response_submit
    from ikbt.measurement.models import Response

    response_submit(response_start(patient, current_version("GAD-7"), occasion="pre"), [3] * 7)
    response_submit(response_start(patient, current_version("PHQ-9"), occasion="pre"), [2] * 9)
    record_url = reverse("treatment:record", args=[enrollment.pk])
    ending = {"end": "1", "reason": "completed", "end_note": "Klar enligt plan"}
    ended = therapist_client.post(record_url, ending, follow=True)
    assert "the follow-ups" not in ended.text and "each follow-up when it is due" in ended.text

    enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.end_reason) == ("ended", "completed")
    # The record says how and why it ended, and offers nothing that changes it.
    assert "Klar enligt plan" in ended.text
    assert "Unlock now" not in ended.text and "End the treatment" not in ended.text
    assert ended.context["timeline"][0][2] == "Treatment ended: Completed"
    refused = therapist_client.post(record_url, {"unlock": "1", "module": "andning"}, follow=True)
    assert "The treatment has ended: it is not changed." in refused.text
    assert not ModuleProgress.objects.filter(unlocked_by_hand_at__isnull=False).exists()
    asked = Response.objects.filter(patient=patient, status="in_progress")
    assert sorted(asked.values_list("occasion", "instrument_version__instrument__code")) == [
        ("follow_up_12", "GAD-7"),
        ("follow_up_3", "GAD-7"),
        ("follow_up_6", "GAD-7"),
        ("post", "GAD-7"),
        ("post", "PHQ-9"),
    ]
    three = asked.get(occasion="follow_up_3")
    assert (three.due_at - enrollment.ended_at).days in range(89, 93)
    # The staff's list of what waits goes in the order it falls due, named by questionnaire.
    measurements = reverse("measurement:patient_measurements", args=[patient.pk])
    waiting = therapist_client.get(measurements).text.split("Not yet answered")[1]
    days = re.findall(r"GAD-7 – due (\d{4}-\d\d-\d\d)", waiting)
    assert len(days) == 4 and days == sorted(days)
    # Only what is due shows: the post questionnaires, not the follow-ups.
    home = patient_client.get(reverse("treatment:home"))
    assert home.context["enrollment"] is None
    due_codes = {
        r.occasion
        for r in patient_client.get(reverse("patients:patient_home")).context["questionnaires"]
    }
    assert due_codes == {"post"}

    response_submit(
        asked.get(occasion="post", instrument_version__instrument__code="GAD-7"), [1] * 7
    )
    response_submit(
        asked.get(occasion="post", instrument_version__instrument__code="PHQ-9"), [2] * 9
    )
    record = therapist_client.get(record_url)
    assert record.context["outcome"]["GAD-7"] == {
        "pre": 21,
        "post": 7,
        "change": -14,
        "reliable_improvement": True,
        "reliable_deterioration": False,
        "response": True,
        "remission": True,
    }
    assert record.context["outcome"]["PHQ-9"]["reliable_improvement"] is False
    assert record.context["outcome"]["PHQ-9"]["remission"] is False


def test_notes_time_ledger_and_reply_templates(therapist_client, therapist, enrollment):
    record_url = reverse("treatment:record", args=[enrollment.pk])
    therapist_client.post(record_url, {"note": "Motiverad, tydliga mål."})
    therapist_client.post(record_url, {"minutes": "12", "what": "Återkoppling"})
    therapist_client.post(record_url, {"minutes": "15", "what": "Meddelanden"})
    therapist_client.post(
        reverse("treatment:reply_templates"),
        {"title": "Beröm", "text": "Bra jobbat med övningen!"},
    )
    template = therapist.reply_templates.get()
    ModuleProgress.objects.create(
        enrollment=enrollment,
        module_key="valkommen",
        reported_at=enrollment.started_at,
        homework_report="Gjort",
    )

    page = therapist_client.get(record_url, {"mall": template.pk, "modul": "valkommen"})
    assert "Motiverad, tydliga mål." in page.text
    assert "<title>Petra Patient – Treatment – Open iKBT</title>" in page.text
    assert page.context["ledger"] == [{"week": 1, "minutes": 27, "within": False}]
    assert "Bra jobbat med övningen!</textarea>" in page.text


def test_the_record_keeps_what_was_typed_when_it_cannot_be_saved(
    therapist_client, therapist, enrollment
):
    """A form the record refuses is shown again with the text and the reason, in Swedish."""
    ModuleProgress.objects.create(
        enrollment=enrollment,
        module_key="valkommen",
        reported_at=enrollment.started_at,
        homework_report="Gjort",
    )
    record_url = reverse("treatment:record", args=[enrollment.pk])
    refused = [
        (
            {"minutes": "en kvart", "what": "Läste arbetsbladet om exponering"},
            "Skriv minuterna som ett heltal från 1 till 600.",
            "Läste arbetsbladet om exponering",
        ),
        (
            {"minutes": "700", "what": "Telefonsamtal"},
            "Skriv minuterna som ett heltal från 1 till 600.",
            'value="700"',
        ),
        ({"note": "   "}, "Skriv anteckningen innan du sparar den.", ""),
        (
            {"end": "1", "reason": "", "end_note": "Patienten flyttar till Skåne"},
            "Ange hur behandlingen avslutades.",
            "Patienten flyttar till Skåne</textarea>",
        ),
        (
            {"module": "valkommen", "feedback": " "},
            "Skriv återkopplingen innan du skickar den.",
            "",
        ),
    ]
    for data, reason, kept in refused:
        page = therapist_client.post(record_url, data, HTTP_ACCEPT_LANGUAGE="sv")
        assert page.status_code == 200, data
        assert reason in page.text, data
        assert kept in page.text, data
    # The feedback's reason is under that module's box, tied to it for screen readers.
    feedback = therapist_client.post(
        record_url, {"module": "valkommen", "feedback": " ", FIELD: str(uuid.uuid4())}
    )
    assert feedback.status_code == 200  # shown again though sent with a submission id
    # In the module's own form, the reason tied to its box.
    form = feedback.text.split('name="module" value="valkommen"')[1].split("</form>")[0]
    box = form.split('id="id_feedback_error"')[1].split("</textarea>")[0]
    assert "Write the feedback before you send it." in box
    assert 'aria-describedby="id_feedback_error"' in box
    assert not enrollment.time_entries.exists()
    assert not enrollment.notes.exists()
    enrollment.refresh_from_db()
    assert enrollment.status == Enrollment.Status.ACTIVE
    assert ModuleProgress.objects.get(enrollment=enrollment).feedback == ""

    templates = reverse("treatment:reply_templates")
    page = therapist_client.post(
        templates, {"title": "Beröm", "text": ""}, HTTP_ACCEPT_LANGUAGE="sv"
    )
    assert (page.status_code, "Skriv mallens text." in page.text) == (200, True)
    assert 'value="Beröm"' in page.text
    assert not therapist.reply_templates.exists()

    # Deleting asks first, naming the template.
    therapist_client.post(templates, {"title": "Beröm", "text": "Bra jobbat!"})
    template = therapist.reply_templates.get()
    page = therapist_client.get(templates).text
    assert f'value="{template.pk}" class="danger">Delete the template “Beröm”</button>' in page

    # Changed in place; a refused change comes back open with what was typed.
    prefix = f"t{template.pk}-"
    refused = therapist_client.post(
        templates,
        {"change": template.pk, prefix + "title": "", prefix + "text": "Mycket bra jobbat!"},
    )
    assert "Give the template a title." in refused.text
    assert "Mycket bra jobbat!</textarea>" in refused.text and "<details open>" in refused.text
    therapist_client.post(
        templates,
        {"change": template.pk, prefix + "title": "Beröm", prefix + "text": "Mycket bra jobbat!"},
    )
    template.refresh_from_db()
    assert template.text == "Mycket bra jobbat!"
    other = verified_client(factories.staff_member(enrollment.unit, "therapist"))
    assert other.post(templates, {"change": template.pk}).status_code == 404  # not hers

    therapist_client.post(templates, {"delete": template.pk})
    assert not therapist.reply_templates.exists()


def test_the_patient_gets_a_printable_summary(patient_client, patient, enrollment, therapist):
    from ikbt.messaging import actions as messaging

    WorksheetAnswer.objects.create(
        enrollment=enrollment, worksheet_key="andningslogg", data={"marke": "Lugnare"}, revision=1
    )
    thread = messaging.thread_start(patient, patient.user, "Fråga", "Hur gör jag?")
    messaging.message_send(thread, therapist, "Så här.")
    page = patient_client.get(reverse("treatment:summary"))
    assert "Lugnare" in page.text
    assert "Så här." in page.text
    assert "Lugn andning" in page.text


@pytest.mark.parametrize("amount", list_rows(1, 8))
def test_record_query_count_is_fixed(
    therapist_client, patient, enrollment, therapist, amount, django_assert_num_queries
):
    from ikbt.measurement.actions import current_version, response_start, response_submit
    from ikbt.messaging import actions as messaging

    thread = messaging.thread_start(patient, patient.user, "Fråga", "Hej")
    for number in range(amount):
        messaging.message_send(thread, therapist, f"Svar {number}")
        response_submit(
            response_start(patient, current_version("GAD-7"), occasion="weekly"), [1] * 7
        )
        WorksheetAnswer.objects.create(
            enrollment=enrollment, worksheet_key=f"blad-{number}", data={}, revision=1
        )
    therapist_client.get(reverse("core:home"))
    with django_assert_num_queries(22):
        page = therapist_client.get(reverse("treatment:record", args=[enrollment.pk]))
    assert len(page.context["timeline"]) == 1 + amount * 3


def test_homework_report_saves_as_typed_and_unfinished_worksheets_show_at_home(
    patient_client, enrollment
):
    url = module_url(enrollment, "valkommen", 2)
    saved = patient_client.post(
        url, {"homework_report": "Halvvägs skrivet"}, headers={"HX-Request": "true"}
    )
    assert saved.status_code == 200 and "Saved" in saved.text
    progress = ModuleProgress.objects.get(enrollment=enrollment, module_key="valkommen")
    assert (progress.homework_report, progress.completed_at) == ("Halvvägs skrivet", None)
    assert "Halvvägs skrivet" in patient_client.get(url).text  # resumes on any device

    WorksheetAnswer.objects.create(
        enrollment=enrollment, worksheet_key="andningslogg", data={"marke": "x"}, revision=1
    )
    home = patient_client.get(reverse("treatment:home"))
    assert "Finish and hand in: Andningslogg" in home.text


def test_caseload_counts_each_kind_of_waiting_work_once_however_much_of_the_rest(
    therapist_client, enrollment, patient, unit
):
    from ikbt.measurement.actions import current_version, response_start
    from ikbt.measurement.models import Response, RiskFlag
    from ikbt.messaging.actions import message_send, thread_start

    now = timezone.now()
    thread = thread_start(patient, patient.user, "Fråga", "Första")
    message_send(thread, patient.user, "Andra")
    for _ in range(3):
        response_start(patient, current_version("GAD-7"))
    Response.objects.filter(patient=patient).update(started_at=now - timedelta(days=8))
    RiskFlag.objects.create(patient=patient, unit=unit, response=Response.objects.first())
    for key in ("a", "b"):
        WorksheetAnswer.objects.create(enrollment=enrollment, worksheet_key=key, handed_in_at=now)
    ModuleProgress.objects.create(enrollment=enrollment, module_key="m", reported_at=now)

    page = therapist_client.get(reverse("treatment:caseload"))

    [row] = page.context["rows"]
    assert [text for _, text, _ in row["reasons"]] == [
        "Risk flag",
        "Unanswered messages: 2",
        "Homework waiting for feedback: 1",
        "Handed-in worksheets to read: 2",
        "Questionnaires overdue: 3",
    ]
    assert 'Risk flag</span> <span class="helptext">waiting 0\xa0minutes</span>' in page.text


def test_a_unit_head_sees_whose_patient_each_is_and_a_therapist_needs_not(
    therapist_client, unit_admin_client, enrollment
):
    caseload = reverse("treatment:caseload")
    heads = unit_admin_client.get(caseload).text
    assert '<th scope="col">Responsible therapist</th>' in heads
    assert '<td data-label="Responsible therapist">Tove Terapeut</td>' in heads
    assert "Responsible therapist" not in therapist_client.get(caseload).text


def test_caseload_counts_a_questionnaire_or_a_message_as_activity_and_shows_held_replies(
    therapist_client, therapist, enrollment, patient
):
    from ikbt.measurement.actions import current_version, response_start, response_submit
    from ikbt.messaging.actions import message_send, thread_start
    from ikbt.messaging.models import Message
    from ikbt.organisations.models import Supervision

    Enrollment.objects.filter(pk=enrollment.pk).update(
        started_at=timezone.now() - timedelta(days=30)
    )
    page = therapist_client.get(reverse("treatment:caseload"))
    assert [reason[0] for reason in page.context["rows"][0]["reasons"]] == ["inactive"]
    # Said once: the days, not "for 4 weeks" after them (the last activity has a column).
    assert '<span class="badge">Inactive for 30 days</span><br>' in page.text

    response_submit(response_start(patient, current_version("PHQ-9")), [1] * 8 + [0])
    page = therapist_client.get(reverse("treatment:caseload"))
    assert page.context["rows"][0]["reasons"] == []  # she answered today

    thread = thread_start(patient, patient.user, "Fråga", "Hej")
    Message.objects.filter(thread=thread).update(read_at=timezone.now())
    supervisor = factories.staff_member(enrollment.unit, "supervisor", username="handledare")
    Supervision.objects.create(supervisor=supervisor, supervisee=therapist, review_messages=True)
    message_send(thread, therapist, "Svar som handledaren läser först")
    page = therapist_client.get(reverse("treatment:caseload"))
    # Read, and a reply held: she has no answer yet.
    assert [text for _, text, _ in page.context["rows"][0]["reasons"]] == [
        "Unanswered messages: 1",
        "Replies waiting for the supervisor: 1",
    ]


def test_a_message_read_but_not_answered_still_waits_and_becomes_overdue(
    therapist_client,
    therapist,
    unit_admin,
    enrollment,
    patient,
    django_capture_on_commit_callbacks,
):
    from ikbt.messaging.actions import message_send, thread_start
    from ikbt.messaging.models import Message
    from ikbt.treatment.tasks import escalate_overdue_replies

    thread = thread_start(patient, patient.user, "Fråga", "Hur länge ska jag öva?")
    thread_url = reverse("messaging:staff_thread", args=[thread.pk])
    assert "Needs no reply" in therapist_client.get(thread_url).text  # opened: read
    question = Message.objects.get()
    assert question.read_at is not None and question.answered_at is None
    caseload = reverse("treatment:caseload")
    assert "Unanswered messages: 1" in therapist_client.get(caseload).text
    # Past the unit's time to answer, it goes to the unit head though it was read.
    Message.objects.filter(pk=question.pk).update(sent_at=timezone.now() - timedelta(days=7))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert escalate_overdue_replies.call() == 1
    assert [notice.to for notice in mail.outbox] == [[unit_admin.email]]

    # A reply answers it; a thank-you after it needs none, and is marked so.
    message_send(thread, therapist, "Fem minuter om dagen.")
    assert Message.objects.get(pk=question.pk).answered_at is not None
    thanks = message_send(thread, patient.user, "Tack!")
    shown = therapist_client.get(thread_url).text
    assert f'name="no_reply" value="{thanks.pk}"' in shown  # the last she has read
    later = message_send(thread, patient.user, "Förresten, en fråga till")  # meanwhile
    page = therapist_client.post(thread_url, {"no_reply": str(thanks.pk)}, follow=True)
    assert "messages here need no reply." in page.text
    assert Message.objects.get(pk=thanks.pk).answered_at is not None
    assert Message.objects.get(pk=later.pk).answered_at is None  # not seen: still waits
    message_send(thread, therapist, "Svar på den.")
    assert "Needs no reply" not in therapist_client.get(thread_url).text
    assert "Unanswered messages" not in therapist_client.get(caseload).text
    assert AccessLogEntry.objects.filter(
        actor=therapist, detail="messages marked as needing no reply", patient=patient
    ).exists()


def test_a_worksheet_table_names_each_input_by_its_column(patient_client, enrollment):
    ModuleProgress.objects.create(
        enrollment=enrollment, module_key="exponering", unlocked_by_hand_at=timezone.now()
    )
    saved = patient_client.post(
        save_url(enrollment, "exponeringstrappa"),
        {"revision": "0", "trappa__0__0": "Åka buss", "trappa__0__1": "60"},
    )
    assert saved.status_code == 302
    page = patient_client.get(module_url(enrollment, "exponering"))
    html = page.text
    # The saved row and two empty ones; each input named by column and row, and each cell
    # carries its column's name for the phone layout, where the header row is hidden.
    assert 'aria-label="Situation, row 1"' in html
    assert 'aria-label="Förväntad ångest (0–100), row 3"' in html
    cell = (
        '<td data-label="Förväntad ångest (0–100)"><input type="text" '
        'id="ws-exponeringstrappa-trappa-0-1" name="trappa__0__1" value="60"'
    )
    assert cell in html


def test_the_record_timeline_names_worksheets_by_title(therapist_client, enrollment):
    WorksheetAnswer.objects.create(
        enrollment=enrollment, worksheet_key="exponeringstrappa", data={}, revision=1
    )
    page = therapist_client.get(reverse("treatment:record", args=[enrollment.pk]))
    assert "Worked on worksheet Exponeringstrappa" in [
        what for _, _, what in page.context["timeline"]
    ]


def test_a_quiz_on_a_module_page_can_be_answered_and_checked(patient_client, enrollment):
    """A knowledge check: the patient chooses, sends, and sees what was right, with the
    author's explanation; one question left out is pointed out. Nothing is stored."""
    url = module_url(enrollment, "valkommen", 2)
    page = patient_client.get(url, HTTP_ACCEPT_LANGUAGE="sv").text
    assert '<form method="get" action="#quiz-vad-ar-angest">' in page
    assert "disabled" not in page.split('id="quiz-vad-ar-angest"')[1].split("</section>")[0]

    checked = patient_client.get(
        url, {"quiz": "vad-ar-angest", "q1": "0"}, HTTP_ACCEPT_LANGUAGE="sv"
    ).text
    quiz = checked.split('id="quiz-vad-ar-angest"')[1].split("</section>")[0]
    assert 'name="q1" value="0" checked' in quiz  # the choice stays chosen
    assert "Inte riktigt: svaret är ”Nej, det är obehagligt men ofarligt”." in quiz
    assert "Ångest är kroppens larm." in quiz
    assert "Du har inte svarat på den här." in quiz

    right = patient_client.get(url, {"quiz": "vad-ar-angest", "q1": "1", "q2": "1"}).text
    assert right.count("Right!") == 2
    for nonsense in ({"quiz": "vad-ar-angest", "q1": "7", "q2": "²"}, {"quiz": "x", "q1": "1"}):
        assert patient_client.get(url, nonsense).status_code == 200


def test_a_questionnaire_from_a_module_page_leads_back_there_and_shows_it_is_done(
    patient_client, enrollment
):
    from ikbt.measurement.actions import response_submit
    from ikbt.measurement.models import Response

    here = module_url(enrollment, "valkommen", 1)
    page = patient_client.get(here).text
    assert f'<input type="hidden" name="back" value="{here}">' in page
    start = reverse("treatment:module_questionnaire", args=[enrollment.pk, "GAD-7"])
    opened = patient_client.post(start, {"back": here})
    response = Response.objects.get(patient=enrollment.patient)
    response_submit(response, [1] * 7)
    done = patient_client.get(reverse("measurement:answered", kwargs={"key": response.key}))
    assert f'<a class="button" href="{here}">Back to the module</a>' in done.text
    assert opened.status_code == 302
    response.refresh_from_db()
    day = timezone.localtime(response.submitted_at)
    again = patient_client.get(here).text
    assert f"Filled in on {day.day} {day:%B}." in again and "Fill in again" in again
    # Another address is not taken as the way back.
    patient_client.post(start, {"back": "https://example.com/"})
    other = Response.objects.exclude(pk=response.pk).get(patient=enrollment.patient)
    answered = reverse("measurement:answered", kwargs={"key": other.key})
    response_submit(other, [0] * 7)
    assert "Back to the module" not in patient_client.get(answered).text


def test_a_questionnaire_on_a_module_page_opens_for_answering(patient_client, enrollment):
    """'Fill in' opens the patient's open questionnaire of that kind, or a new one; a
    questionnaire her program's pages do not ask for is not started."""
    from ikbt.measurement.actions import current_version, response_start
    from ikbt.measurement.models import Response

    page = patient_client.get(module_url(enrollment, "valkommen", 1)).text
    start = reverse("treatment:module_questionnaire", args=[enrollment.pk, "GAD-7"])
    assert f'<form method="post" action="{start}">' in page

    opened = patient_client.post(start)
    response = Response.objects.get(patient=enrollment.patient)
    assert response.instrument_version.instrument.code == "GAD-7"
    assert (response.occasion, response.unit) == ("module", enrollment.unit)
    assert opened.url == reverse("measurement:answer", kwargs={"key": response.key})
    assert patient_client.post(start).url == opened.url  # the same one, not a second
    assert Response.objects.filter(patient=enrollment.patient).count() == 1

    other = reverse("treatment:module_questionnaire", args=[enrollment.pk, "PHQ-9"])
    assert patient_client.post(other).status_code == 404
    assert patient_client.get(start).status_code == 405

    # One a therapist has begun filling in with her is not the one she is sent to.
    response.status = Response.Status.SUBMITTED
    response.save(update_fields=["status"])
    staff_started = response_start(
        enrollment.patient,
        current_version("GAD-7"),
        filled_in_by=enrollment.patient.care_relationships.get().staff,
    )
    mine = patient_client.post(start)
    assert mine.url != reverse("measurement:answer", kwargs={"key": staff_started.key})
    assert patient_client.get(mine.url).status_code == 200


def test_the_record_shows_an_open_risk_flag_and_is_reached_from_the_patient(
    patient_client, therapist_client, enrollment
):
    from ikbt.measurement.actions import current_version, response_start, response_submit

    response = response_start(enrollment.patient, current_version("PHQ-9"))
    response_submit(response, [0] * 8 + [2])
    record = reverse("treatment:record", args=[enrollment.pk])
    page = therapist_client.get(record).text
    assert "Open risk flag" in page
    assert reverse("measurement:staff_answer", args=[response.pk]) in page
    detail = reverse("patients:patient_detail", args=[enrollment.patient.pk])
    assert f'href="{record}"' in therapist_client.get(detail).text


def test_a_homework_report_still_being_written_is_not_in_the_record(
    patient_client, therapist_client, enrollment
):
    patient_client.post(
        module_url(enrollment, "valkommen", 2),
        {"homework_report": "Utkast: bussen i morse"},
        HTTP_HX_REQUEST="true",
    )
    assert ModuleProgress.objects.get(enrollment=enrollment).reported_at is None
    record = therapist_client.get(reverse("treatment:record", args=[enrollment.pk])).text
    assert "Utkast: bussen i morse" not in record
    assert "Homework report" not in record


def test_the_therapist_marks_a_handed_in_worksheet_read_and_is_told_so(
    therapist_client, therapist, enrollment
):
    answer = WorksheetAnswer.objects.create(
        enrollment=enrollment,
        worksheet_key="exponeringstrappa",
        data={},
        revision=1,
        handed_in_at=timezone.now(),
    )
    record_url = reverse("treatment:record", args=[enrollment.pk])
    assert "Handed in, not read" in therapist_client.get(record_url).text

    page = therapist_client.post(
        record_url, {"read_worksheet": answer.pk, FIELD: str(uuid.uuid4())}, follow=True
    )
    assert "The worksheet is marked as read." in page.text
    answer.refresh_from_db()
    assert answer.reviewed_at is not None
    assert "Handed in, not read" not in page.text
    assert timezone.localtime(answer.reviewed_at).strftime("read %Y-%m-%d %H:%M") in page.text
    # A change, in the role of her care relationship (a staff role before).
    logged = AccessLogEntry.objects.get(
        actor=therapist, detail="worksheet reviewed", patient=enrollment.patient
    )
    assert (logged.action, logged.actor_role) == ("change", "Responsible therapist")


def test_a_treatment_accepted_to_start_next_week_opens_on_its_first_day(
    patient_client, therapist_client, enrollment
):
    start = timezone.now() + timedelta(days=7)
    Enrollment.objects.filter(pk=enrollment.pk).update(started_at=start)
    day = timezone.localdate(start)
    home = patient_client.get(reverse("treatment:home")).text
    assert f"starts on {day.day} {day:%B}" in home and "week 1 of 12" not in home
    assert f"(opens on {day.day} {day:%B}, when your treatment starts)" in home
    assert module_url(enrollment, "valkommen") not in home
    assert patient_client.get(module_url(enrollment, "valkommen")).status_code == 404

    shown = f"starts {day.isoformat()}"
    assert shown in therapist_client.get(reverse("treatment:caseload")).text
    assert shown in therapist_client.get(reverse("treatment:record", args=[enrollment.pk])).text

    # The therapist may open a module early (a welcome to read before the start).
    ModuleProgress.objects.create(
        enrollment=enrollment, module_key="valkommen", unlocked_by_hand_at=timezone.now()
    )
    assert patient_client.get(module_url(enrollment, "valkommen")).status_code == 200

    # Finished before the start, the next module opens on the first day, not "when you
    # have finished" what she has finished.
    ModuleProgress.objects.filter(module_key="valkommen").update(completed_at=timezone.now())
    home = patient_client.get(reverse("treatment:home")).text
    assert "when you have finished" not in home
    assert home.count(f"(opens on {day.day} {day:%B}, when your treatment starts)") == 1


def test_the_record_timeline_shows_a_risk_flag_and_who_acted_on_it(
    therapist_client, therapist, patient, unit, enrollment
):
    from ikbt.measurement.actions import (
        current_version,
        response_start,
        response_submit,
        risk_flag_acknowledge,
    )
    from ikbt.measurement.models import RiskFlag

    response_submit(response_start(patient, current_version("PHQ-9")), [1] * 8 + [2])
    flag = RiskFlag.objects.get()
    record = reverse("treatment:record", args=[enrollment.pk])
    events = [what for _, _, what in therapist_client.get(record).context["timeline"]]
    assert "Risk flag on PHQ-9" in events
    risk_flag_acknowledge(flag, therapist, "Ringde henne, ingen akut risk.")
    events = [what for _, _, what in therapist_client.get(record).context["timeline"]]
    assert events[:2] == ["Risk flag on PHQ-9 acted on by Tove Terapeut", "Risk flag on PHQ-9"]


def test_a_note_saved_after_the_time_out_is_kept_for_the_same_therapist(
    therapist_client, therapist, unit_admin, enrollment
):

    record = reverse("treatment:record", args=[enrollment.pk])

    def time_out_while_writing() -> None:
        idle_past_the_time_out(therapist_client)
        therapist_client.post(record, {"note": "Samtal med patienten om sömnen."})
        assert not enrollment.notes.exists()

    def sign_in(user) -> None:  # on the same computer, in the same browser
        verified_client(user, therapist_client)

    time_out_while_writing()
    sign_in(therapist)
    page = therapist_client.get(record)
    assert page.context["note_form"]["note"].value() == "Samtal med patienten om sömnen."
    # Someone else signing in next on that browser, who may open the record, does not get it.
    time_out_while_writing()
    sign_in(unit_admin)
    assert therapist_client.get(record).context["note_form"]["note"].value() in (None, "")


def test_what_is_typed_in_the_records_other_boxes_comes_back_when_one_form_is_sent(
    therapist_client, patient_client, unit_admin, enrollment
):
    patient_client.post(
        module_url(enrollment, "valkommen", 2), {"homework_report": "Jag kände ångest på bussen."}
    )
    patient_client.post(
        module_url(enrollment, "andning", 1), {"homework_report": "Övade varje dag."}
    )
    record = reverse("treatment:record", args=[enrollment.pk])
    typed = {
        "unsent:feedback-andning": "Bra att du övade varje dag.",
        "unsent:id_end_note": "Vill avsluta efter vecka 8?",
    }
    # A refused note: the page comes back with the other boxes as they were.
    page = therapist_client.post(record, {"note": "", **typed})
    assert page.status_code == 200
    assert "Bra att du övade varje dag.</textarea>" in page.text
    assert page.context["end_form"]["end_note"].value() == "Vill avsluta efter vecka 8?"
    # A saved note, or a button, redirects: the other boxes' text is kept for the next page.
    therapist_client.post(record, {"note": "Samtal om sömnen.", **typed})
    assert enrollment.notes.get().text == "Samtal om sömnen."
    page = therapist_client.get(record)
    assert "Bra att du övade varje dag.</textarea>" in page.text
    assert page.context["end_form"]["end_note"].value() == "Vill avsluta efter vecka 8?"
    assert page.context["note_form"]["note"].value() == ""
    # Given once: the page after that is as it was.
    assert "Bra att du övade" not in therapist_client.get(record).text
    therapist_client.post(record, {"module": "andning", "unlock": "1", **typed})
    assert "Bra att du övade varje dag.</textarea>" in therapist_client.get(record).text
    # Kept for the one who typed it, on that page only.
    therapist_client.post(record, {"module": "andning", "unlock": "0", **typed})
    therapist_client.force_login(unit_admin)
    assert "Bra att du övade" not in therapist_client.get(record).text


def test_a_treatment_at_another_unit_is_opened_only_by_those_in_care_there(
    therapist_client, therapist, patient, enrollment
):

    lambohov = factories.CareUnitFactory(region=enrollment.unit.region, name="VC Lambohov")
    there = factories.staff_member(lambohov, StaffRole.THERAPIST, username="lambohov")
    factories.care_relationship(patient, there, lambohov)
    second = Enrollment.objects.create(
        patient=patient, unit=lambohov, program_version=enrollment.program_version
    )
    # Her therapist at Ekholmen treats her there, not at Lambohov: the patient's page lists
    # both treatments, and links only the record that opens.
    record = reverse("treatment:record", args=[second.pk])
    details = therapist_client.get(reverse("patients:patient_detail", args=[patient.pk])).text
    assert "VC Lambohov" in details and f'href="{record}"' not in details
    assert f'href="{reverse("treatment:record", args=[enrollment.pk])}"' in details
    from ikbt.treatment.actions import enrollment_end

    enrollment_end(second, reason="completed", note="", by=there)
    today = timezone.localdate().isoformat()
    details = therapist_client.get(reverse("patients:patient_detail", args=[patient.pk])).text
    assert f"{timezone.localdate(second.started_at).isoformat()} – {today}" in details
    assert therapist_client.get(record).status_code == 404
    # Nor does her caseload list it.
    caseload = therapist_client.get(reverse("treatment:caseload")).context["rows"]
    assert [row["enrollment"] for row in caseload] == [enrollment]
    denied = AccessLogEntry.objects.get(action=AccessLogEntry.Action.DENIED)
    assert (denied.actor, denied.patient) == (therapist, patient)
    assert (
        therapist_client.get(reverse("treatment:record", args=[enrollment.pk])).status_code == 200
    )
    # The therapist at Lambohov opens it, and the log names Lambohov.
    from ikbt.conftest import verified_client

    assert verified_client(there).get(record).status_code == 200
    read = AccessLogEntry.objects.filter(actor=there, detail="treatment record").get()
    assert (read.unit, read.actor_role) == (lambohov, "Responsible therapist")


def test_a_homework_report_sent_after_the_time_out_is_back_in_its_box(
    patient_client, patient, enrollment
):

    idle_past_the_time_out(patient_client)
    last_page = module_url(enrollment, "valkommen", 2)
    patient_client.post(last_page, {"homework_report": "Jag gick till affären själv."})
    assert not ModuleProgress.objects.filter(completed_at__isnull=False).exists()
    patient_client.force_login(patient.user)
    page = patient_client.get(last_page)
    assert "Jag gick till affären själv.</textarea>" in page.text
    assert "What you wrote before you were signed out is in the box" in page.text


def test_a_worksheet_saved_after_the_time_out_is_back_in_its_boxes_after_signing_in(
    patient_client, patient, enrollment
):
    ModuleProgress.objects.create(
        enrollment=enrollment, module_key="valkommen", completed_at=enrollment.started_at
    )
    page = module_url(enrollment, "andning")
    typed = {"marke": "Lugnare efter tre minuter", "tillfallen": "Måndag kväll"}
    # The form as unsent.js sends it: the fields, and the boxes again by their ids.
    form = {
        "revision": "0",
        "next": page,
        **typed,
        "sent:ws-andningslogg-marke": typed["marke"],
        "sent:ws-andningslogg-tillfallen": typed["tillfallen"],
    }
    idle_past_the_time_out(patient_client)
    # The autosave meets the time-out first (it cannot carry the boxes by id)...
    autosave = patient_client.post(
        save_url(enrollment, "andningslogg"), typed, headers={"HX-Request": "true"}
    )
    assert autosave.status_code == 302
    # ...and then she presses Save, signed out: the text waits for her, and signing in again
    # leads back to the module page, not to the address the form was sent to.
    signed_out = patient_client.post(save_url(enrollment, "andningslogg"), form)
    assert signed_out.url == reverse("accounts:patient_sign_in") + f"?next={page}"
    assert not WorksheetAnswer.objects.exists()
    patient_client.force_login(patient.user)
    back = patient_client.get(page)
    assert "Lugnare efter tre minuter</textarea>" in back.text
    assert "Måndag kväll</textarea>" in back.text
    assert "is back in the worksheet: save it." in back.text
    # Given once.
    assert "Lugnare efter" not in patient_client.get(page).text


def test_a_worksheet_table_saved_at_the_time_out_is_back_cell_by_cell(
    patient_client, patient, enrollment
):
    ModuleProgress.objects.create(
        enrollment=enrollment, module_key="exponering", unlocked_by_hand_at=timezone.now()
    )
    page = module_url(enrollment, "exponering")
    idle_past_the_time_out(patient_client)
    signed_out = patient_client.post(
        save_url(enrollment, "exponeringstrappa"),
        {
            "revision": "0",
            "next": page,
            "trappa__1__0": "Handla i rusning",
            "sent:ws-exponeringstrappa-trappa-1-0": "Handla i rusning",
        },
    )
    assert signed_out.url == reverse("accounts:patient_sign_in") + f"?next={page}"
    patient_client.force_login(patient.user)
    back = patient_client.get(page).text
    assert (
        'id="ws-exponeringstrappa-trappa-1-0" name="trappa__1__0" value="Handla i rusning"' in back
    )


def test_a_scale_chosen_at_the_time_out_is_chosen_again_after_signing_in(
    patient_client, patient, enrollment
):
    ModuleProgress.objects.create(
        enrollment=enrollment, module_key="halvvags", unlocked_by_hand_at=timezone.now()
    )
    number = next(
        page.position
        for page in enrollment.program_version.modules.get(key="halvvags").pages.all()
        if "veckoreflektion" in page.source
    )
    page = module_url(enrollment, "halvvags", number)
    idle_past_the_time_out(patient_client)
    patient_client.post(
        save_url(enrollment, "veckoreflektion"),
        {"next": page, "formaga": "7", "sent:ws-veckoreflektion-formaga": "7"},
    )
    patient_client.force_login(patient.user)
    back = patient_client.get(page).text
    assert 'name="formaga" value="7" data-unsent-as="ws-veckoreflektion-formaga" checked' in back


def test_text_is_kept_after_the_time_out_only_from_this_sites_own_page(patient, enrollment):
    from django.test import Client

    from ikbt.accounts.middleware import UNSENT

    ModuleProgress.objects.create(
        enrollment=enrollment, module_key="valkommen", completed_at=enrollment.started_at
    )
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(patient.user)
    page = module_url(enrollment, "andning")
    token = browser.get(page).context["csrf_token"]
    idle_past_the_time_out(browser)
    forged = {"next": page, "sent:ws-andningslogg-marke": "Ring 0701234567 nu"}
    # A form from elsewhere (no CSRF token): nothing waits for her after signing in.
    browser.post(save_url(enrollment, "andningslogg"), forged)
    browser.post(save_url(enrollment, "andningslogg"), forged)
    assert UNSENT not in browser.session
    # Her own page's form carries the token: kept.
    browser.post(
        save_url(enrollment, "andningslogg"),
        {**forged, "sent:ws-andningslogg-marke": "Lugnare", "csrfmiddlewaretoken": token},
    )
    assert browser.session[UNSENT]["fields"] == {"ws-andningslogg-marke": "Lugnare"}


def test_a_worksheet_saved_in_time_puts_back_the_pages_other_boxes_without_a_word(
    patient_client, enrollment
):
    ModuleProgress.objects.create(
        enrollment=enrollment, module_key="valkommen", completed_at=enrollment.started_at
    )
    page = module_url(enrollment, "andning")
    patient_client.post(
        save_url(enrollment, "andningslogg"),
        {"revision": "0", "next": page, "marke": "Lugnare", "unsent:homework_report": "Övade"},
    )
    back = patient_client.get(page).text
    assert "before you were signed out" not in back


def test_a_form_sent_on_a_browser_nobody_was_signed_out_of_is_not_kept(client, enrollment):
    # No one's session timed out here: the sign-in asks for the worksheet as always, and no
    # text waits in the session for whoever signs in.
    answer = client.post(
        save_url(enrollment, "andningslogg"),
        {"revision": "0", "marke": "Hej", "sent:ws-andningslogg-marke": "Hej"},
    )
    assert answer.status_code == 302
    assert "ikbt_unsent" not in client.session


def test_feedback_sent_after_the_time_out_is_back_in_its_box(
    therapist_client, therapist, patient_client, enrollment
):

    patient_client.post(
        module_url(enrollment, "valkommen", 2), {"homework_report": "Jag kände ångest."}
    )
    patient_client.post(
        module_url(enrollment, "andning", 1), {"homework_report": "Övade varje dag."}
    )
    record = reverse("treatment:record", args=[enrollment.pk])
    idle_past_the_time_out(therapist_client)
    text = "Bra att du övade varje dag."
    # unsent.js sends the form's own box under its id, beside the field.
    signed_out = therapist_client.post(
        record, {"module": "andning", "feedback": text, "sent:feedback-andning": text}
    )
    assert signed_out.url == reverse("accounts:staff_login") + f"?next={record}"
    assert not ModuleProgress.objects.filter(feedback=text).exists()
    verified_client(therapist, therapist_client)  # signed in again, in the same browser
    assert f"{text}</textarea>" in therapist_client.get(record).text


def test_after_the_end_her_pages_say_it_ended_and_lead_to_her_summary(
    patient_client, patient, therapist, enrollment
):
    from ikbt.measurement.actions import response_submit
    from ikbt.measurement.models import Response
    from ikbt.treatment.actions import enrollment_end

    enrollment_end(enrollment, reason="completed", note="", by=therapist)
    summary = reverse("treatment:summary")
    for page in (reverse("patients:patient_home"), reverse("treatment:home")):
        text = patient_client.get(page).text
        assert "Your treatment has ended" in text
        assert f'<a href="{summary}">' in text
    assert patient_client.get(summary).status_code == 200
    # The questionnaire at the end promises no talk in a treatment that is over.
    post = Response.objects.filter(patient=patient, occasion="post").first()
    response_submit(post, [0] * len(post.instrument_version.parsed.items))
    answered = patient_client.get(reverse("measurement:answered", args=[post.key])).text
    assert "Your answers show how the treatment went" in answered
    assert "will talk them through with you" not in answered


def test_a_patient_is_told_when_someone_new_answers_her_without_who_or_why(
    patient, colleague, unit, enrollment, django_capture_on_commit_callbacks
):
    from django.core import mail

    from ikbt.notifications import sms
    from ikbt.treatment.actions import enrollment_transfer

    sms.outbox.clear()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        enrollment_transfer(enrollment, unit=unit, therapist=colleague, by=colleague)
    sent = [message.body for message in sms.outbox] + [message.body for message in mail.outbox]
    # In her language (Swedish), saying only that someone new answers her.
    assert sent and all(
        "Någon ny i vården" in text or "någon ny i vården" in text for text in sent
    )
    assert all(colleague.last_name not in text and unit.name not in text for text in sent)


def test_a_therapist_moving_unit_with_her_patient_sends_no_notice(
    patient, therapist, unit, enrollment, django_capture_on_commit_callbacks
):
    from django.core import mail

    from ikbt.notifications import sms
    from ikbt.organisations.models import StaffMembership, StaffRole
    from ikbt.treatment.actions import enrollment_transfer

    elsewhere = factories.CareUnitFactory(region=unit.region, name="Vårdcentralen Lambohov")
    StaffMembership.objects.create(user=therapist, unit=elsewhere, role=StaffRole.THERAPIST)
    sms.outbox.clear()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        enrollment_transfer(enrollment, unit=elsewhere, therapist=therapist, by=therapist)
    assert sms.outbox == [] and mail.outbox == []


def test_a_homework_report_once_sent_stays_as_the_therapist_read_it(
    patient_client, therapist_client, enrollment
):
    url = module_url(enrollment, "valkommen", 2)
    patient_client.post(url, {"homework_report": "Gick bra"})
    therapist_client.post(
        reverse("treatment:record", args=[enrollment.pk]),
        {"module": "valkommen", "feedback": "Bra jobbat!", FIELD: str(uuid.uuid4())},
    )
    progress = ModuleProgress.objects.get(enrollment=enrollment, module_key="valkommen")
    assert progress.feedback == "Bra jobbat!"
    reported_at = progress.reported_at

    # Neither the autosave nor sending again changes it; she is told to write a message.
    saved = patient_client.post(
        url, {"homework_report": "Gick bra -- ändrat"}, headers={"HX-Request": "true"}
    )
    assert "your report was sent to your therapist already" in saved.text
    # Sent again from a tab open since before: what she wrote there is shown, not lost.
    again = patient_client.post(url, {"homework_report": "Gick bra -- ändrat igen"}, follow=True)
    assert "Your report had been sent already" in again.text
    assert "Gick bra -- ändrat igen" in again.text
    progress.refresh_from_db()
    assert (progress.homework_report, progress.reported_at) == ("Gick bra", reported_at)
    page = patient_client.get(url).text
    assert 'name="homework_report"' not in page
    assert "Gick bra" in page and "Bra jobbat!" in page
    assert reverse("messaging:inbox") in page


def test_what_to_do_now_names_a_questionnaire_as_her_registrations_do(
    patient_client, patient, enrollment
):
    from ikbt.measurement.actions import current_version, response_start

    gad7 = current_version("GAD-7")
    response_start(patient, gad7, occasion="weekly")
    home = patient_client.get(reverse("treatment:home")).text
    assert f"Fill in {gad7.name_in('en')}" in home
