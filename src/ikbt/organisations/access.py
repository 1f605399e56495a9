"""Which units may this staff member run? 404 for every "no"."""

from django.shortcuts import get_object_or_404

from ikbt.accounts.models import User
from ikbt.organisations.models import CareUnit, StaffRole


def units_administered(user: User):
    """The units ``user`` is the administrator (unit head) of."""
    return CareUnit.objects.filter(
        memberships__user=user, memberships__role=StaffRole.UNIT_ADMIN
    ).distinct()


def staff_with_role(unit_id: int, role: StaffRole):
    """The people who hold ``role`` at the unit, by name."""
    return (
        User.objects.filter(memberships__unit_id=unit_id, memberships__role=role)
        .distinct()
        .order_by("last_name", "first_name")
    )


def get_unit_for_admin(user: User, unit_id: int) -> CareUnit:
    """The unit, if ``user`` administers it; otherwise 404."""
    return get_object_or_404(units_administered(user).select_related("region"), pk=unit_id)
