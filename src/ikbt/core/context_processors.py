from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from ikbt.organisations.models import StaffMembership, StaffRole

AUTHOR_ROLES = {StaffRole.PROGRAM_AUTHOR, StaffRole.REGION_ADMIN}
STATISTICS_ROLES = {StaffRole.REGION_ADMIN, StaffRole.UNIT_ADMIN, StaffRole.REGISTER_OFFICER}
RESEARCH_ROLES = {StaffRole.RESEARCHER, StaffRole.REGION_ADMIN, StaffRole.UNIT_ADMIN}


def navigation(request: HttpRequest) -> dict:
    """What the menu needs to know about the signed-in person (one query, when first asked)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff_member:
        return {
            "user_is_unit_admin": False,
            "user_is_program_author": False,
            "user_sees_statistics": False,
            "user_sees_research": False,
        }
    roles = SimpleLazyObject(
        lambda: set(StaffMembership.objects.filter(user=user).values_list("role", flat=True))
    )
    return {
        "user_is_unit_admin": lambda: StaffRole.UNIT_ADMIN in roles,
        "user_is_program_author": lambda: not roles.isdisjoint(AUTHOR_ROLES),
        "user_sees_statistics": lambda: not roles.isdisjoint(STATISTICS_ROLES),
        "user_sees_research": lambda: not roles.isdisjoint(RESEARCH_ROLES),
    }
