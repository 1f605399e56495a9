"""Who may send on a reply that waits for the supervisor: the sender's supervisor at the unit
it was written at, or the unit's administrator while every supervisor reading the sender's
replies there is away, or once the sender's care of the patient there has ended (her
supervisor can no longer open the patient to read it). Never the sender herself. Everyone
else is answered 404, as for a message that does not exist."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef
from django.utils import timezone

from ikbt.accounts.models import User
from ikbt.messaging.models import Message
from ikbt.organisations.access import units_administered
from ikbt.organisations.models import StaffAbsence, Supervision
from ikbt.patients.models import CareRelationship


@dataclass(frozen=True)
class Releaser:
    """What one staff member may send on, for the held replies of one page."""

    user_id: int
    # The supervisions going on of the replies' senders, as rows of supervisor_id,
    # supervisee_id, unit_id (None: every unit), review_messages and away (the supervisor,
    # today).
    supervisions: tuple
    units_administered: frozenset[int]
    # (sender, patient, unit) where the sender's care goes on, for the units administered.
    in_care: frozenset[tuple[int, int, int]]

    def _supervisions_of(self, message: Message):
        """Those that reach the unit the reply was written at (a reply whose unit is not
        known: only the region-wide ones)."""
        return [
            supervision
            for supervision in self.supervisions
            if supervision.supervisee_id == message.sender_id
            and supervision.unit_id in (message.unit_id, None)
        ]

    def supervises(self, message: Message) -> bool:
        return any(s.supervisor_id == self.user_id for s in self._supervisions_of(message))

    def _readers_away(self, message: Message) -> bool:
        """Every supervisor who reads the writer's replies at the reply's unit is away."""
        return all(s.away for s in self._supervisions_of(message) if s.review_messages)

    def _writer_in_care(self, message: Message) -> bool:
        """The writer's care of the patient at the reply's unit goes on (known for the units
        administered)."""
        return (message.sender_id, message.thread.patient_id, message.unit_id) in self.in_care

    def may_release(self, message: Message) -> bool:
        if message.sender_id == self.user_id:
            return False
        if self.supervises(message):
            return True
        # The unit's administrator stands in only while the reading supervisors are away, or
        # when they can no longer open the patient to read it.
        return message.unit_id in self.units_administered and (
            self._readers_away(message) or not self._writer_in_care(message)
        )

    def may_send_on(self, message: Message) -> bool:
        """May release it now: a reply sent back waits for its writer's change, unless she can
        no longer make it (her care there has ended), when the unit's administrator may."""
        if not self.may_release(message):
            return False
        if message.returned_at is None:
            return True
        return message.unit_id in self.units_administered and not self._writer_in_care(message)

    def may_send_back(self, message: Message) -> bool:
        """Sending back needs a writer who can still open the patient to change it: the
        supervisor, or the unit's administrator only while the reading supervisors are away
        and the writer's care there goes on."""
        if message.sender_id == self.user_id:
            return False
        if self.supervises(message):
            return True
        return (
            message.unit_id in self.units_administered
            and self._readers_away(message)
            and self._writer_in_care(message)
        )


def supervisions_reaching(unit_ids, writer_ids):
    """The supervisions going on of ``writer_ids`` that reach any of ``unit_ids`` (those
    arranged without a unit reach every unit), each with ``away``: its supervisor is away
    today."""
    away = StaffAbsence.objects.on(timezone.localdate()).filter(staff_id=OuterRef("supervisor_id"))
    return (
        Supervision.objects.open_at_any(unit_ids)
        .filter(supervisee_id__in=writer_ids)
        .annotate(away=Exists(away))
    )


def releaser_for(user: User, messages: list[Message]) -> Releaser:
    """``user`` facing ``messages`` (held replies, with their threads): two queries, and a
    third for a unit's administrator, however many replies."""
    unit_ids = {message.unit_id for message in messages} - {None}
    if not user.is_active or not user.is_staff_member:
        return Releaser(user.pk, (), frozenset(), frozenset())
    supervisions = supervisions_reaching(
        unit_ids, {message.sender_id for message in messages}
    ).values_list(
        "supervisor_id", "supervisee_id", "unit_id", "review_messages", "away", named=True
    )
    administered = frozenset(
        units_administered(user).filter(pk__in=unit_ids).values_list("pk", flat=True)
    )
    in_care = (
        CareRelationship.objects.active()
        .filter(
            staff_id__in={message.sender_id for message in messages},
            patient_id__in={message.thread.patient_id for message in messages},
            unit_id__in=administered,
        )
        .values_list("staff_id", "patient_id", "unit_id")
        if administered
        else ()
    )
    return Releaser(user.pk, tuple(supervisions), administered, frozenset(in_care))
