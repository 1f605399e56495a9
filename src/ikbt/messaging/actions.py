"""Sending and reading messages. The notice that a message waits goes out only after the
message is committed, and says nothing about what it says."""

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from ikbt.accounts.models import User
from ikbt.audit.actions import Action, log_access
from ikbt.messaging.access import releaser_for, supervisions_reaching
from ikbt.messaging.models import Message, Thread
from ikbt.notifications.notices import send_notice
from ikbt.organisations.models import (
    CareUnit,
    StaffMembership,
    StaffRole,
    Supervision,
)
from ikbt.patients.access import acting_relationship, at_work_in_place_of, supervisor_of
from ikbt.patients.models import CareRelationship, Patient


class StaleReply(ValueError):
    """A held reply changed by its writer after the supervisor opened it."""


def _recipients(thread: Thread, sender: User) -> list[User]:
    """Who is told: the patient, or the patient's therapists; a therapist away today is
    replaced by the colleague covering, or by the unit's administrators."""
    if sender.is_staff_member:
        return [thread.patient.user]
    relationships = CareRelationship.objects.active().filter(
        patient=thread.patient,
        role__in=[
            CareRelationship.Role.RESPONSIBLE_THERAPIST,
            CareRelationship.Role.THERAPIST,
        ],
    )
    return at_work_in_place_of(relationships)


def _readers(message: Message) -> list[User]:
    """Who is told that a held reply waits: the supervisors who read the writer's replies at
    the reply's unit and are at work today, else (all away) the unit's administrators."""
    reading = list(
        supervisions_reaching({message.unit_id} - {None}, [message.sender_id])
        .filter(review_messages=True)
        .select_related("supervisor")
    )
    supervisors = [supervision.supervisor for supervision in reading]
    at_work = [supervision.supervisor for supervision in reading if not supervision.away]
    if at_work or message.unit_id is None:
        # With no unit there is no administrator to stand in: the supervisors are told still.
        return at_work or supervisors
    return [
        membership.user
        for membership in StaffMembership.objects.filter(
            unit_id=message.unit_id, role=StaffRole.UNIT_ADMIN
        ).select_related("user")
    ]


def _tell_readers(message: Message) -> None:
    readers = _readers(message)
    transaction.on_commit(lambda: [send_notice(user, "reply_to_read") for user in readers])


def _answer(thread: Thread, at, **written_before) -> int:
    """The patient's messages in ``thread`` that waited for an answer, of those the replier
    had before her (``written_before``: a filter, by time or by the last message shown), have
    one at ``at``; a message that came later still waits."""
    return thread.messages.filter(
        sender__kind="patient", answered_at__isnull=True, **written_before
    ).update(answered_at=at)


@transaction.atomic
def messages_need_no_reply(
    thread: Thread,
    by: User,
    *,
    unit: CareUnit,
    last_shown: int,
    request: HttpRequest | None = None,
) -> int:
    """A staff member has read the patient's messages in ``thread`` up to ``last_shown`` (the
    last message on her page) and judged that they need no answer ("Thank you!"): they no
    longer wait, nor become overdue. One that came after waits. Logged at ``unit``."""
    answered = _answer(thread, timezone.now(), pk__lte=last_shown)
    if answered:
        log_access(
            by,
            Action.CHANGE,
            request=request,
            patient=thread.patient,
            unit=unit,
            obj=thread,
            detail="messages marked as needing no reply",
        )
    return answered


def needs_review(sender: User, unit_id: int | None) -> bool:
    """Whether the sender's supervisor reads what they write to a patient at ``unit_id`` (the
    unit of the sender's care relationship) before it goes."""
    return (
        Supervision.objects.open_at(unit_id)
        .filter(supervisee=sender, review_messages=True)
        .exists()
    )


@transaction.atomic
def message_send(
    thread: Thread,
    sender: User,
    body: str,
    *,
    request: HttpRequest | None = None,
    unit: CareUnit | None = None,
) -> Message:
    """Send, or hold for the supervisor when the sender's messages are reviewed first.

    ``unit``: for a staff sender, the unit they write from (the one ``get_patient_for_staff``
    opened the patient through); looked up when not given."""
    if sender.is_staff_member and unit is None:
        relationship = acting_relationship(sender, thread.patient_id)
        unit = relationship.unit if relationship else None
    held = sender.is_staff_member and needs_review(sender, unit.pk if unit else None)
    message = Message.objects.create(
        thread=thread,
        sender=sender,
        body=body,
        held_for_review=held,
        unit=unit if sender.is_staff_member else None,
    )
    if sender.is_staff_member:
        log_access(
            sender,
            Action.CREATE,
            request=request,
            patient=thread.patient,
            unit=unit,
            obj=message,
            detail="message waiting for the supervisor" if held else "message",
        )
    if held:
        _tell_readers(message)
        return message
    Thread.objects.filter(pk=thread.pk).update(last_message_at=message.sent_at)
    if sender.is_staff_member:
        _answer(thread, message.sent_at, sent_at__lte=message.sent_at)
    recipients = _recipients(thread, sender)
    # Staff are told that a patient wrote; a patient that her care wrote.
    kind = "new_message" if sender.is_staff_member else "patient_message"
    transaction.on_commit(lambda: [send_notice(user, kind) for user in recipients])
    return message


@transaction.atomic
def thread_start(
    patient: Patient, sender: User, subject: str, body: str, *, request=None, unit=None
) -> Thread:
    thread = Thread.objects.create(patient=patient, subject=subject)
    message_send(thread, sender, body, request=request, unit=unit)
    return thread


def _held_reply_locked(message: Message) -> Message:
    """The held reply, locked, with what its checks and its log entry read."""
    return (
        Message.objects.select_for_update(of=("self",))
        .select_related("thread__patient__user", "sender", "unit")
        .get(pk=message.pk)
    )


def _check_revision(message: Message, revision: int) -> None:
    """The reviewer acts on the text she read, not on one changed since."""
    if revision != message.revision:
        raise StaleReply(_("The reply was changed after you opened it: read it again."))


def _log_review(by: User, releaser, message: Message, detail: str, request) -> None:
    """A supervisor's (or a standing-in unit head's) step on a held reply, at the unit it was
    written at, in the role she took it in."""
    log_access(
        by,
        Action.CHANGE,
        request=request,
        patient=message.thread.patient,
        unit=message.unit,
        obj=message,
        detail=detail,
        role=(
            supervisor_of(message.sender.get_full_name())
            if releaser.supervises(message)
            else StaffRole.UNIT_ADMIN.label
        ),
    )


@transaction.atomic
def message_release(
    message: Message,
    by: User,
    *,
    revision: int | None = None,
    request: HttpRequest | None = None,
) -> Message:
    """A held reply has been read: it goes to the patient now, ``reviewed_by`` names ``by``,
    the access log records the change at the unit the reply was written at, and the patient
    is told once it is committed.

    ``by`` is the sender's supervisor there or, while the supervisors reading the sender's
    replies are away, the unit's administrator (``ikbt.messaging.access``); anyone else gets
    ``PermissionError``. ``revision``: the one ``by`` read; a reply changed since is not sent
    (``StaleReply``)."""
    message = _held_reply_locked(message)
    releaser = releaser_for(by, [message])
    if not releaser.may_release(message):
        raise PermissionError("Only the sender's supervisor or the unit's administrator.")
    if not message.held_for_review:
        return message  # sent already (a second click)
    if not releaser.may_send_on(message):
        raise StaleReply(_("The reply was sent back to its writer: it waits for the change."))
    if revision is not None:
        _check_revision(message, revision)
    # What she had before her when she wrote it (or last changed it) is answered by it.
    written = message.revised_at or message.sent_at
    message.held_for_review = False
    message.reviewed_by = by
    message.sent_at = timezone.now()
    message.save(update_fields=["held_for_review", "reviewed_by", "sent_at"])
    Thread.objects.filter(pk=message.thread_id).update(last_message_at=message.sent_at)
    _answer(message.thread, message.sent_at, sent_at__lte=written)
    _log_review(by, releaser, message, "message read and sent", request)
    user = message.thread.patient.user
    transaction.on_commit(lambda: send_notice(user, "new_message"))
    return message


@transaction.atomic
def message_return(
    message: Message,
    by: User,
    comment: str,
    *,
    revision: int,
    request: HttpRequest | None = None,
) -> bool:
    """The supervisor sends the held reply (the ``revision`` she read) back to its writer with
    ``comment``: what to change. It stays held; the patient sees neither the reply nor the
    comment. Logged as a change at the unit the reply was written at; the writer is told by
    e-mail that a comment waits. False where it was sent to the patient meanwhile;
    ``StaleReply`` where the writer changed it; ``PermissionError`` for anyone but those
    ``Releaser.may_send_back`` names."""
    message = _held_reply_locked(message)
    releaser = releaser_for(by, [message])
    if not releaser.may_send_back(message):
        raise PermissionError("Only the sender's supervisor or the unit's administrator.")
    if not message.held_for_review:
        return False
    if message.returned_at is not None:
        raise StaleReply(_("The reply was sent back to its writer already."))
    _check_revision(message, revision)
    message.review_comment = comment
    message.returned_at = timezone.now()
    message.save(update_fields=["review_comment", "returned_at"])
    writer = message.sender  # told that a comment waits, not what it says
    transaction.on_commit(lambda: send_notice(writer, "reply_sent_back"))
    _log_review(by, releaser, message, "message sent back to the writer", request)
    return True


@transaction.atomic
def message_revise(
    message: Message,
    writer: User,
    body: str,
    *,
    request: HttpRequest | None = None,
) -> bool:
    """The writer changes her reply while it waits for the supervisor (sent back with a
    comment, or on second thoughts): the new text, a new revision, waits again; the comment
    is kept beside it. False where it reached the patient meanwhile (it is not changed then);
    ``PermissionError`` for anyone but the writer, or once her care there has ended."""
    message = _held_reply_locked(message)
    if message.sender_id != writer.pk:
        raise PermissionError("Only the writer changes her reply.")
    if (
        message.unit_id is not None
        and not CareRelationship.objects.active()
        .filter(staff=writer, patient=message.thread.patient, unit_id=message.unit_id)
        .exists()
    ):
        raise PermissionError("The writer's care of the patient there has ended.")
    if not message.held_for_review:
        return False
    message.body = body
    message.returned_at = None
    message.revised_at = timezone.now()
    message.revision += 1
    message.save(update_fields=["body", "returned_at", "revised_at", "revision"])
    _tell_readers(message)
    log_access(
        writer,
        Action.CHANGE,
        request=request,
        patient=message.thread.patient,
        unit=message.unit,
        obj=message,
        detail="message changed for the supervisor",
    )
    return True


def messages_mark_read(thread: Thread, reader: User) -> int:
    """Mark as read what the other side wrote."""
    unread = thread.messages.filter(read_at__isnull=True, held_for_review=False)
    if reader.is_patient:
        unread = unread.exclude(sender__kind=User.Kind.PATIENT)
    else:
        unread = unread.filter(sender__kind=User.Kind.PATIENT)
    return unread.update(read_at=timezone.now())
