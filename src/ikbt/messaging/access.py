"""Who may send on a reply that waits for the supervisor: the sender's supervisor at the unit
it was written at, or, while every supervisor reading the sender's replies there is away, the
unit's administrator. Never the sender herself. Everyone else is answered 404, as for a
message that does not exist."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ikbt.accounts.models import User
from ikbt.messaging.models import Message
from ikbt.organisations.access import units_administered
from ikbt.organisations.models import StaffAbsence, Supervision


@dataclass(frozen=True)
class Releaser:
    """What one staff member may send on, for the held replies of one page."""

    user_id: int
    # The supervisions going on of the replies' senders: (supervisor, supervisee, unit or
    # None for every unit, whether it reads replies first, whether the supervisor is away).
    supervisions: tuple[tuple[int, int, int | None, bool, bool], ...]
    units_administered: frozenset[int]

    def _supervisions_of(self, message: Message):
        """Those that reach the unit the reply was written at (a reply whose unit is not
        known: only the region-wide ones)."""
        return [
            supervision
            for supervision in self.supervisions
            if supervision[1] == message.sender_id and supervision[2] in (message.unit_id, None)
        ]

    def supervises(self, message: Message) -> bool:
        return any(s[0] == self.user_id for s in self._supervisions_of(message))

    def may_release(self, message: Message) -> bool:
        if message.sender_id == self.user_id:
            return False
        if self.supervises(message):
            return True
        # The unit's administrator stands in only while the reading supervisors are away.
        readers_away = all(s[4] for s in self._supervisions_of(message) if s[3])
        return message.unit_id in self.units_administered and readers_away


def releaser_for(user: User, messages: list[Message]) -> Releaser:
    """``user`` facing ``messages`` (held replies): two queries, however many."""
    unit_ids = {message.unit_id for message in messages} - {None}
    if not user.is_active or not user.is_staff_member:
        return Releaser(user.pk, (), frozenset())
    away = StaffAbsence.objects.on(timezone.localdate()).filter(staff_id=OuterRef("supervisor_id"))
    supervisions = (
        Supervision.objects.filter(
            Q(unit__isnull=True) | Q(unit_id__in=unit_ids),
            supervisee_id__in={message.sender_id for message in messages},
            ended_on__isnull=True,
        )
        .annotate(away=Exists(away))
        .values_list("supervisor_id", "supervisee_id", "unit_id", "review_messages", "away")
    )
    return Releaser(
        user.pk,
        tuple(supervisions),
        frozenset(units_administered(user).filter(pk__in=unit_ids).values_list("pk", flat=True)),
    )
