"""Who may send on a reply that waits for the supervisor: the sender's supervisor at the unit,
or the unit's administrator (a unit head stands in while the supervisor is away). Never the
sender herself. Everyone else is answered 404, as for a message that does not exist."""

from dataclasses import dataclass

from ikbt.accounts.models import User
from ikbt.messaging.models import Message
from ikbt.organisations.models import CareUnit, StaffMembership, StaffRole, Supervision


@dataclass(frozen=True)
class Releaser:
    """What a staff member may send on at one unit (the one she opened the patient through)."""

    user_id: int
    supervisees: frozenset[int]
    administers_unit: bool

    def may_release(self, message: Message) -> bool:
        if message.sender_id == self.user_id:
            return False
        return self.supervises(message) or self.administers_unit

    def supervises(self, message: Message) -> bool:
        return message.sender_id in self.supervisees


def releaser_at(user: User, unit: CareUnit) -> Releaser:
    """``user`` at ``unit``: whom she supervises in a supervision that reaches the unit, and
    whether she is its administrator. Two queries, for a page of any length."""
    if not user.is_active or not user.is_staff_member:
        return Releaser(user.pk, frozenset(), False)
    supervisees = (
        Supervision.objects.open_at(unit.pk)
        .filter(supervisor=user)
        .values_list("supervisee_id", flat=True)
    )
    administers_unit = StaffMembership.objects.filter(
        user=user, unit=unit, role=StaffRole.UNIT_ADMIN
    ).exists()
    return Releaser(user.pk, frozenset(supervisees), administers_unit)
