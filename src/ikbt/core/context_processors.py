from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from ikbt.organisations.models import StaffMembership, StaffRole
from ikbt.organisations.roles import (
    AUTHOR_ROLES,
    CLINICAL_ROLES,
    INTAKE_ROLES,
    RESEARCH_ROLES,
    STATISTICS_ROLES,
    UNIT_MANAGER_ROLES,
)


def navigation(request: HttpRequest) -> dict:
    """What the menu needs to know about the signed-in person (one query, when first asked)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff_member:
        return {
            "user_treats_patients": False,
            "user_is_therapist": False,
            "user_does_intake": False,
            "user_is_unit_admin": False,
            "user_runs_units": False,
            "user_is_program_author": False,
            "user_sees_statistics": False,
            "user_sees_research": False,
        }
    roles = SimpleLazyObject(
        lambda: set(StaffMembership.objects.filter(user=user).values_list("role", flat=True))
    )
    return {
        "user_treats_patients": lambda: not roles.isdisjoint(CLINICAL_ROLES),
        "user_is_therapist": lambda: StaffRole.THERAPIST in roles,  # has assessment times
        "user_does_intake": lambda: not roles.isdisjoint(INTAKE_ROLES),
        "user_is_unit_admin": lambda: StaffRole.UNIT_ADMIN in roles,
        "user_runs_units": lambda: not roles.isdisjoint(UNIT_MANAGER_ROLES),
        "user_is_program_author": lambda: not roles.isdisjoint(AUTHOR_ROLES),
        "user_sees_statistics": lambda: not roles.isdisjoint(STATISTICS_ROLES),
        "user_sees_research": lambda: not roles.isdisjoint(RESEARCH_ROLES),
    }
