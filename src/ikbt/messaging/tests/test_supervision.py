"""A PTP psychologist's messages wait for the supervisor when the unit requires it."""

import html
import importlib

import pytest
from django.core import mail
from django.urls import reverse, reverse_lazy
from django.utils import timezone

from ikbt import factories
from ikbt.audit.models import AccessLogEntry
from ikbt.conftest import list_rows, verified_client
from ikbt.messaging import actions
from ikbt.messaging.models import Message
from ikbt.organisations.models import StaffAbsence, StaffMembership, StaffRole, Supervision
from ikbt.patients.models import CareRelationship

Action = AccessLogEntry.Action
BUTTON = "Read – send it to the patient"
CASELOAD = reverse_lazy("treatment:caseload")
WHO_SENDS_IT = (
    "Your supervisor reads it and sends it to the patient; while your supervisor is away, "
    "the unit's administrator may."
)


@pytest.fixture
def supervisor(unit, therapist):
    person = factories.staff_member(
        unit,
        StaffRole.SUPERVISOR,
        username="handledare",
        first_name="Hanna",
        last_name="Handledare",
    )
    Supervision.objects.create(supervisor=person, supervisee=therapist, review_messages=True)
    return person


def test_held_message_reaches_the_patient_only_when_released(
    therapist_client, supervisor, patient, patient_client, django_capture_on_commit_callbacks
):
    thread = actions.thread_start(patient, patient.user, "Fråga", "Hur gör jag?")
    staff_url = reverse("messaging:staff_thread", args=[thread.pk])
    with django_capture_on_commit_callbacks(execute=True):
        saved = therapist_client.post(staff_url, {"body": "Börja med fem minuter."}, follow=True)
    assert "reads it before the patient gets it." in saved.text
    held = Message.objects.get(held_for_review=True)
    # The patient is not told yet; the supervisor is told that a reply waits for her.
    [notice] = mail.outbox
    assert notice.to == [supervisor.email] and "fem minuter" not in notice.body
    assert notice.subject == "Open iKBT: ett svar väntar på att du läser det"
    mail.outbox.clear()
    assert (
        "Börja med fem minuter"
        not in patient_client.get(reverse("messaging:thread", args=[thread.pk])).text
    )

    # The supervisee cannot release it; the supervisor can.
    assert therapist_client.post(staff_url, {"release": held.pk}).status_code == 404
    boss = verified_client(supervisor)
    page = boss.get(staff_url)
    assert "Waiting for the supervisor" in page.text
    with django_capture_on_commit_callbacks(execute=True):
        boss.post(staff_url, {"release": held.pk})
    held.refresh_from_db()
    assert (held.held_for_review, held.reviewed_by) == (False, supervisor)
    assert len(mail.outbox) == 1
    assert (
        "Börja med fem minuter"
        in patient_client.get(reverse("messaging:thread", args=[thread.pk])).text
    )


def test_supervisor_sees_the_supervisees_caseload_and_it_is_logged(
    supervisor, patient, enrollment
):
    boss = verified_client(supervisor)
    rows = boss.get(reverse("treatment:caseload")).context["rows"]
    assert [row["enrollment"].patient for row in rows] == [patient]
    assert boss.get(reverse("treatment:record", args=[enrollment.pk])).status_code == 200
    entry = AccessLogEntry.objects.get(actor=supervisor, detail="treatment record")
    assert entry.actor_role == "Supervisor of Tove Terapeut"


@pytest.fixture
def held_reply(therapist_client, supervisor, patient) -> Message:
    """Tove's reply to Petra, written at Ekholmen and waiting for Hanna."""
    thread = actions.thread_start(patient, patient.user, "Fråga", "Hur gör jag?")
    therapist_client.post(
        reverse("messaging:staff_thread", args=[thread.pk]), {"body": "Börja med fem minuter."}
    )
    return Message.objects.get(held_for_review=True)


def thread_url(message: Message) -> str:
    return reverse("messaging:staff_thread", args=[message.thread_id])


def test_a_held_reply_is_written_to_the_access_log_with_its_unit(
    held_reply, therapist, patient, unit
):
    assert held_reply.unit == unit  # where it was written: whose supervisor reads it
    entry = AccessLogEntry.objects.get(actor=therapist, action=Action.CREATE)
    assert (
        entry.patient,
        entry.unit,
        entry.object_type,
        entry.object_id,
        entry.detail,
        entry.ip_address,
    ) == (
        patient,
        unit,
        "messaging.Message",
        str(held_reply.pk),
        "message waiting for the supervisor",
        "127.0.0.1",
    )


def test_the_release_is_logged_as_the_supervisors_change(held_reply, supervisor, patient, unit):
    verified_client(supervisor).post(thread_url(held_reply), {"release": held_reply.pk})
    entry = AccessLogEntry.objects.get(action=Action.CHANGE)
    assert (
        entry.actor,
        entry.actor_name,
        entry.actor_role,
        entry.patient,
        entry.unit,
        entry.object_id,
        entry.detail,
    ) == (
        supervisor,
        "Hanna Handledare",
        "Supervisor of Tove Terapeut",
        patient,
        unit,
        str(held_reply.pk),
        "message read and sent",
    )


def test_a_supervisor_of_the_therapist_at_another_unit_cannot_send_it(
    held_reply, unit, therapist, patient
):
    """Lars treats Petra with Tove at Ekholmen, and supervises Tove only at Lambohov."""
    lambohov = factories.CareUnitFactory(region=unit.region, name="Vårdcentralen Lambohov")
    StaffMembership.objects.create(user=therapist, unit=lambohov, role=StaffRole.THERAPIST)
    lars = factories.staff_member(unit, StaffRole.THERAPIST, first_name="Lars")
    StaffMembership.objects.create(user=lars, unit=lambohov, role=StaffRole.SUPERVISOR)
    Supervision.objects.create(
        supervisor=lars, supervisee=therapist, unit=lambohov, review_messages=True
    )
    factories.care_relationship(patient, lars, unit, CareRelationship.Role.THERAPIST)
    client = verified_client(lars)

    page = client.get(thread_url(held_reply))
    assert "Waiting for the supervisor" in page.text
    assert BUTTON not in page.text
    assert client.post(thread_url(held_reply), {"release": held_reply.pk}).status_code == 404
    held_reply.refresh_from_db()
    assert (held_reply.held_for_review, held_reply.reviewed_by) == (True, None)
    assert list(AccessLogEntry.objects.filter(action=Action.CHANGE)) == []


def test_the_unit_administrator_sends_it_while_the_supervisor_is_away(
    held_reply,
    supervisor,
    unit_admin,
    unit_admin_client,
    unit,
    patient,
    patient_client,
    django_capture_on_commit_callbacks,
):
    # At work, the supervisor reads it: the unit head does not step in.
    assert BUTTON not in unit_admin_client.get(thread_url(held_reply)).text
    refused = unit_admin_client.post(thread_url(held_reply), {"release": held_reply.pk})
    assert refused.status_code == 404
    today = timezone.localdate()
    StaffAbsence.objects.create(staff=supervisor, starts_on=today, ends_on=today)
    assert BUTTON in unit_admin_client.get(thread_url(held_reply)).text
    with django_capture_on_commit_callbacks(execute=True):
        answer = unit_admin_client.post(thread_url(held_reply), {"release": held_reply.pk})
    assert answer.status_code == 302
    held_reply.refresh_from_db()
    assert (held_reply.held_for_review, held_reply.reviewed_by) == (False, unit_admin)
    assert [message.to for message in mail.outbox] == [[patient.email]]
    entry = AccessLogEntry.objects.get(action=Action.CHANGE)
    assert (entry.actor, entry.actor_role, entry.unit, entry.detail) == (
        unit_admin,
        "Unit administrator",
        unit,
        "message read and sent",
    )
    assert (
        "Börja med fem minuter"
        in patient_client.get(reverse("messaging:thread", args=[held_reply.thread_id])).text
    )


def test_the_sender_cannot_send_her_own_held_reply_even_as_unit_administrator(
    held_reply, therapist, therapist_client, unit
):
    StaffMembership.objects.create(user=therapist, unit=unit, role=StaffRole.UNIT_ADMIN)
    page = therapist_client.get(thread_url(held_reply))
    assert BUTTON not in page.text
    assert WHO_SENDS_IT in html.unescape(page.text)
    assert (
        therapist_client.post(thread_url(held_reply), {"release": held_reply.pk}).status_code
        == 404
    )
    held_reply.refresh_from_db()
    assert (held_reply.held_for_review, held_reply.reviewed_by) == (True, None)
    with pytest.raises(PermissionError):
        actions.message_release(held_reply, therapist)


def test_the_button_shows_only_to_those_who_may_send_it(
    held_reply, supervisor, unit_admin_client, therapist_client
):
    today = timezone.localdate()
    StaffAbsence.objects.create(staff=supervisor, starts_on=today, ends_on=today)
    pages = {
        "supervisor": verified_client(supervisor).get(thread_url(held_reply)),
        "unit administrator": unit_admin_client.get(thread_url(held_reply)),
        "sender": therapist_client.get(thread_url(held_reply)),
    }
    shown = {who: page.context["releasable"] for who, page in pages.items()}
    assert shown == {
        "supervisor": {held_reply.pk},
        "unit administrator": {held_reply.pk},
        "sender": set(),
    }
    assert {who: page.text.count(BUTTON) for who, page in pages.items()} == {
        "supervisor": 1,
        "unit administrator": 1,
        "sender": 0,
    }
    assert {who: WHO_SENDS_IT in html.unescape(page.text) for who, page in pages.items()} == {
        "supervisor": False,
        "unit administrator": False,
        "sender": True,
    }


def test_a_reply_is_sent_on_from_the_unit_it_was_written_at_whoever_opens_the_patient(
    held_reply, unit, therapist, patient, supervisor
):
    """Petra is in care at Ekholmen with Tove and at Lambohov too. Lambohov's head does not
    send on what Tove wrote at Ekholmen; Tove's supervisor at Ekholmen does, though she
    opens Petra through her own care at Lambohov."""
    lambohov = factories.CareUnitFactory(region=unit.region, name="Vårdcentralen Lambohov")
    head = factories.staff_member(lambohov, StaffRole.UNIT_ADMIN, first_name="Lisa")
    Supervision.objects.all().delete()
    mia = factories.staff_member(unit, StaffRole.SUPERVISOR, first_name="Mia")
    StaffMembership.objects.create(user=mia, unit=lambohov, role=StaffRole.THERAPIST)
    Supervision.objects.create(
        supervisor=mia, supervisee=therapist, unit=unit, review_messages=True
    )
    factories.care_relationship(patient, mia, lambohov, CareRelationship.Role.THERAPIST)
    factories.care_relationship(patient, head, lambohov, CareRelationship.Role.THERAPIST)

    lisa = verified_client(head)
    assert BUTTON not in lisa.get(thread_url(held_reply)).text
    assert lisa.post(thread_url(held_reply), {"release": held_reply.pk}).status_code == 404
    client = verified_client(mia)
    assert BUTTON in client.get(thread_url(held_reply)).text
    sent = client.post(thread_url(held_reply), {"release": held_reply.pk}, follow=True)
    assert "The reply is sent to the patient." in sent.text
    held_reply.refresh_from_db()
    assert (held_reply.held_for_review, held_reply.reviewed_by) == (False, mia)
    entry = AccessLogEntry.objects.get(action=Action.CHANGE)
    assert (entry.unit, entry.actor_role) == (unit, "Supervisor of Tove Terapeut")
    # A second click finds it sent: nothing happens again, and no error.
    again = client.post(thread_url(held_reply), {"release": held_reply.pk})
    assert again.status_code == 302
    assert AccessLogEntry.objects.filter(action=Action.CHANGE).count() == 1


@pytest.mark.parametrize("count", list_rows(1, 3))
def test_a_thread_with_held_replies_keeps_its_query_count(
    therapist, supervisor, patient, count, django_assert_num_queries
):
    thread = actions.thread_start(patient, patient.user, "Många", "Första")
    for number in range(count):
        actions.message_send(thread, therapist, f"Svar {number}")
    boss = verified_client(supervisor)
    boss.get(reverse("core:home"))
    with django_assert_num_queries(15):
        page = boss.get(reverse("messaging:staff_thread", args=[thread.pk]))
    assert len(page.context["releasable"]) == count


@pytest.mark.parametrize("count", list_rows(1, 3))
def test_a_thread_with_held_replies_keeps_its_query_count_for_the_unit_head(
    therapist, supervisor, patient, unit_admin, count, django_assert_num_queries
):
    """The unit head's view also asks whose care goes on, at the same count."""
    thread = actions.thread_start(patient, patient.user, "Många", "Första")
    for number in range(count):
        actions.message_send(thread, therapist, f"Svar {number}")
    today = timezone.localdate()
    StaffAbsence.objects.create(staff=supervisor, starts_on=today, ends_on=today)
    head = verified_client(unit_admin)
    head.get(reverse("core:home"))
    with django_assert_num_queries(15):
        page = head.get(reverse("messaging:staff_thread", args=[thread.pk]))
    assert len(page.context["releasable"]) == count


def _fill_units_as_the_migration_does() -> None:
    """Run the data migration with the models as they were when it ran."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    migration = importlib.import_module("ikbt.messaging.migrations.0005_held_reply_units")
    state = MigrationExecutor(connection).loader.project_state(
        ("messaging", "0005_held_reply_units")
    )
    migration.held_reply_units(state.apps, None)


def test_replies_held_before_they_kept_their_unit_get_the_unit_they_were_held_for(
    held_reply, unit, therapist, patient, supervisor, unit_admin
):
    """Tove treats Petra at Ekholmen and, from later, at Lambohov, where Mia reads her
    replies first: a reply held then was held for Lambohov."""
    lambohov = factories.CareUnitFactory(region=unit.region, name="Vårdcentralen Lambohov")
    StaffMembership.objects.create(user=therapist, unit=lambohov, role=StaffRole.THERAPIST)
    factories.care_relationship(patient, therapist, lambohov, CareRelationship.Role.THERAPIST)
    Supervision.objects.all().delete()
    mia = factories.staff_member(lambohov, StaffRole.SUPERVISOR, first_name="Mia")
    Supervision.objects.create(
        supervisor=mia, supervisee=therapist, unit=lambohov, review_messages=True
    )
    Message.objects.filter(pk=held_reply.pk).update(unit=None)
    _fill_units_as_the_migration_does()
    held_reply.refresh_from_db()
    assert held_reply.unit == lambohov

    # No supervision reading first: the care relationship that began first.
    Supervision.objects.all().delete()
    Message.objects.filter(pk=held_reply.pk).update(unit=None)
    _fill_units_as_the_migration_does()
    held_reply.refresh_from_db()
    assert held_reply.unit == unit


def test_a_reply_held_for_no_unit_found_is_sent_by_a_supervisor_at_every_unit_only(
    held_reply, unit, therapist, patient, supervisor, unit_admin
):
    CareRelationship.objects.filter(staff=therapist).delete()
    Message.objects.filter(pk=held_reply.pk).update(unit=None)
    _fill_units_as_the_migration_does()
    held_reply.refresh_from_db()
    assert held_reply.unit is None
    today = timezone.localdate()
    StaffAbsence.objects.create(staff=supervisor, starts_on=today, ends_on=today)
    with pytest.raises(PermissionError):
        actions.message_release(held_reply, unit_admin)
    actions.message_release(held_reply, supervisor)  # supervises Tove at every unit
    held_reply.refresh_from_db()
    assert held_reply.reviewed_by == supervisor


def test_a_supervision_ends_though_a_reply_written_at_another_unit_waits(
    held_reply, unit, therapist, supervisor, unit_admin
):
    from ikbt.organisations.actions import SupervisionError, supervision_end

    lambohov = factories.CareUnitFactory(region=unit.region, name="Vårdcentralen Lambohov")
    StaffMembership.objects.create(user=therapist, unit=lambohov, role=StaffRole.THERAPIST)
    there = Supervision.objects.create(
        supervisor=supervisor, supervisee=therapist, unit=lambohov, review_messages=True
    )
    supervision_end(there, by=unit_admin)  # Tove's reply was written at Ekholmen
    here = Supervision.objects.create(
        supervisor=supervisor, supervisee=therapist, unit=unit, review_messages=True
    )
    with pytest.raises(SupervisionError, match="1 reply by Tove Terapeut is waiting"):
        supervision_end(here, by=unit_admin)


def test_sending_on_a_message_that_was_not_held_says_nothing_was_sent(
    held_reply, supervisor, patient
):
    from_patient = Message.objects.filter(sender=patient.user).get()
    client = verified_client(supervisor)
    page = client.post(thread_url(held_reply), {"release": from_patient.pk}, follow=True)
    assert "The reply is sent to the patient." not in page.text


def test_the_staff_thread_list_shows_where_replies_wait(held_reply, supervisor, patient):
    page = verified_client(supervisor).get(reverse("messaging:patient_threads", args=[patient.pk]))
    assert "1 reply waits to be read before it is sent" in page.text
    [thread] = page.context["threads"]
    assert (thread.held, thread.unread) == (1, 1)  # Petra's question is unread too


def test_once_the_writers_care_has_ended_the_unit_head_sends_it_with_the_supervisor_at_work(
    held_reply, therapist, patient, unit_admin_client, unit_admin
):
    """Her supervisor could no longer open the patient to read it (an assessment ended by
    the decision, say): the reply would wait for ever."""
    assert BUTTON not in unit_admin_client.get(thread_url(held_reply)).text
    CareRelationship.objects.filter(staff=therapist).update(ended_at=timezone.now())
    factories.care_relationship(patient, unit_admin, held_reply.unit)
    assert BUTTON in unit_admin_client.get(thread_url(held_reply)).text
    unit_admin_client.post(thread_url(held_reply), {"release": held_reply.pk})
    held_reply.refresh_from_db()
    assert (held_reply.held_for_review, held_reply.reviewed_by) == (False, unit_admin)


def test_the_supervisor_sends_a_reply_back_with_a_comment_the_patient_never_sees(
    held_reply,
    enrollment,
    therapist,
    therapist_client,
    supervisor,
    patient,
    patient_client,
    unit,
    django_capture_on_commit_callbacks,
):
    url = thread_url(held_reply)
    boss = verified_client(supervisor)
    page = boss.get(url).text
    assert "Send it back to Tove Terapeut with a comment" in page
    # The reply box says whom it reaches, beside a reply that waits for her.
    assert "Message to the patient" in page
    assert "What you write here goes to the patient." in page

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        boss.post(
            url,
            {
                "return": held_reply.pk,
                "revision": 1,
                "comment": "Lägg till hur länge hon ska öva.",
                # Typed in the reply box meanwhile: kept for the page that comes next.
                "unsent:id_body": "Hej! Jag läser med.",
            },
        )
    assert boss.get(url).context["form"]["body"].value() == "Hej! Jag läser med."
    assert boss.get(url).context["form"]["body"].value() in (None, "")  # given once
    # The writer is told that a comment waits, not what it says.
    [notice] = mail.outbox
    assert notice.to == [therapist.email] and "Lägg till" not in notice.body
    held_reply.refresh_from_db()
    assert held_reply.held_for_review and held_reply.returned_at is not None
    assert held_reply.review_comment == "Lägg till hur länge hon ska öva."
    entry = AccessLogEntry.objects.get(actor=supervisor, detail="message sent back to the writer")
    assert (entry.patient, entry.unit, entry.action) == (patient, unit, "change")
    patient_page = patient_client.get(reverse("messaging:thread", args=[held_reply.thread_id]))
    assert "Lägg till" not in patient_page.text and "fem minuter" not in patient_page.text

    # Sent back, it waits for the writer: the supervisor neither sends it on as it was nor
    # sends it back again, and both caseloads say whose turn it is.
    returned = boss.get(url).text
    assert "Sent back to Tove Terapeut to change; the patient does not see it" in returned
    assert "Waiting for the supervisor" not in returned
    assert BUTTON not in returned and "Send it back to Tove Terapeut" not in returned
    refused = boss.post(url, {"release": held_reply.pk, "revision": 1}, follow=True)
    assert "The reply was sent back to its writer: it waits for the change." in refused.text
    held_reply.refresh_from_db()
    assert held_reply.held_for_review
    assert "Replies sent back by the supervisor: 1" in therapist_client.get(CASELOAD).text
    assert "Replies waiting for the supervisor" not in therapist_client.get(CASELOAD).text

    # The writer reads the comment and changes her reply, which waits again, the comment beside.
    mine = therapist_client.get(url).text
    assert "Lägg till hur länge hon ska öva." in mine
    assert "<details open><summary>Change the reply</summary>" in mine
    assert "Your supervisor has sent it back with a comment" in mine
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        therapist_client.post(url, {"revise": held_reply.pk, "revised": "Fem minuter om dagen."})
    # The supervisor is told that it waits for her again.
    assert [notice.to for notice in mail.outbox] == [[supervisor.email]]
    held_reply.refresh_from_db()
    assert (held_reply.body, held_reply.returned_at, held_reply.revision) == (
        "Fem minuter om dagen.",
        None,
        2,
    )
    assert held_reply.held_for_review
    assert "Changed " in boss.get(url).text  # the supervisor sees what was asked, and when
    assert AccessLogEntry.objects.filter(
        actor=therapist, detail="message changed for the supervisor", patient=patient
    ).exists()


def test_a_reply_changed_after_the_supervisor_opened_it_is_not_sent_unread(
    held_reply, therapist_client, supervisor, patient_client
):
    url = thread_url(held_reply)
    boss = verified_client(supervisor)
    assert 'name="revision" value="1"' in boss.get(url).text  # what she read
    therapist_client.post(url, {"revise": held_reply.pk, "revised": "Något hon inte läst."})
    refused = boss.post(url, {"release": held_reply.pk, "revision": 1}, follow=True)
    assert "The reply was changed after you opened it: read it again." in refused.text
    held_reply.refresh_from_db()
    assert held_reply.held_for_review
    # Read again, it goes.
    boss.post(url, {"release": held_reply.pk, "revision": 2})
    held_reply.refresh_from_db()
    assert not held_reply.held_for_review
    # Once it has reached the patient, the writer's change is refused and what she typed kept.
    late = therapist_client.post(url, {"revise": held_reply.pk, "revised": "För sent."})
    assert late.status_code == 200
    assert "The reply has reached the patient already: it is not changed." in late.text
    assert "What you wrote is in the box below" in late.text
    assert late.context["form"]["body"].value() == "För sent."
    held_reply.refresh_from_db()
    assert held_reply.body == "Något hon inte läst."


def test_only_the_supervisor_sends_back_and_only_the_writer_changes_a_held_reply(
    held_reply, therapist_client, supervisor, unit_admin, colleague
):
    url = thread_url(held_reply)
    back = {"return": held_reply.pk, "revision": 1, "comment": "Ändra."}
    assert therapist_client.post(url, back).status_code == 404  # not the writer herself
    # The unit head with the supervisor at work, and a colleague without the patient: 404.
    CareRelationship.objects.create(
        patient=held_reply.thread.patient,
        staff=unit_admin,
        unit=held_reply.unit,
        role=CareRelationship.Role.RESPONSIBLE_THERAPIST,
        started_at=timezone.now(),
    )
    assert verified_client(unit_admin).post(url, back).status_code == 404
    assert verified_client(colleague).post(url, back).status_code == 404
    boss = verified_client(supervisor)
    assert boss.post(url, {"revise": held_reply.pk, "revised": "Annat."}).status_code == 404
    # A comment refused comes back with what was typed.
    long = boss.post(url, {**back, "comment": "x\r\n" * 2600})  # 5,200 characters as typed
    assert long.status_code == 200
    assert "At most 5000 characters." in long.text
    assert "x\nx\nx" in long.text
    held_reply.refresh_from_db()
    assert (held_reply.body, held_reply.returned_at) == ("Börja med fem minuter.", None)


def test_a_released_reply_answers_what_came_before_it_was_written_not_after(
    held_reply, supervisor, patient
):
    """Written Monday and held; Petra writes again Tuesday; sent on Wednesday: Tuesday's
    message still waits for its answer."""
    question = Message.objects.get(sender=patient.user)
    later = actions.message_send(held_reply.thread, patient.user, "Jag mår sämre i dag.")
    actions.message_release(held_reply, supervisor, revision=1)
    assert Message.objects.get(pk=question.pk).answered_at is not None
    assert Message.objects.get(pk=later.pk).answered_at is None


def test_a_reply_sent_back_to_a_writer_whose_care_has_ended_is_sent_on_by_the_unit_head(
    held_reply, therapist, patient, supervisor, unit_admin, unit_admin_client
):
    """She can no longer change it: it would wait for ever."""
    actions.message_return(held_reply, supervisor, "Lägg till en mening.", revision=1)
    assert BUTTON not in unit_admin_client.get(thread_url(held_reply)).text
    CareRelationship.objects.filter(staff=therapist).update(ended_at=timezone.now())
    factories.care_relationship(patient, unit_admin, held_reply.unit)
    assert BUTTON in unit_admin_client.get(thread_url(held_reply)).text
    unit_admin_client.post(thread_url(held_reply), {"release": held_reply.pk, "revision": 1})
    held_reply.refresh_from_db()
    assert (held_reply.held_for_review, held_reply.reviewed_by) == (False, unit_admin)


def test_a_comment_typed_beside_a_held_reply_is_kept_when_a_message_is_sent(
    held_reply, supervisor, enrollment
):
    url = thread_url(held_reply)
    boss = verified_client(supervisor)
    boss.post(
        url,
        {
            "body": "Hej! Jag hör av mig i morgon.",
            f"unsent:comment-{held_reply.pk}": "Skriv hur länge hon ska öva.",
            f"unsent:revised-{held_reply.pk}": held_reply.body,  # as it was: not put back
        },
    )
    page = boss.get(url).text
    assert "Skriv hur länge hon ska öva.</textarea>" in page
    assert "<details open><summary>Send it back to Tove Terapeut" in page
