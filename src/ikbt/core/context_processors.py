from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from ikbt.organisations.models import StaffMembership, StaffRole

AUTHOR_ROLES = {StaffRole.PROGRAM_AUTHOR, StaffRole.REGION_ADMIN}
STATISTICS_ROLES = {StaffRole.REGION_ADMIN, StaffRole.UNIT_ADMIN, StaffRole.REGISTER_OFFICER}
RESEARCH_ROLES = {StaffRole.RESEARCHER, StaffRole.REGION_ADMIN, StaffRole.UNIT_ADMIN}
# Those who have patients of their own or of their unit, and those who take in new ones.
CLINICAL_ROLES = {StaffRole.THERAPIST, StaffRole.SUPERVISOR, StaffRole.UNIT_ADMIN}
INTAKE_ROLES = {StaffRole.THERAPIST, StaffRole.UNIT_ADMIN}


def start_page(roles: set[str]) -> str:
    """The URL name of the page a staff member starts on: their patients if they treat
    patients or lead those who do, otherwise the work their role is for."""
    if not roles.isdisjoint(CLINICAL_ROLES):
        return "patients:staff_home"
    if not roles.isdisjoint(STATISTICS_ROLES):
        return "reporting:statistics"
    if StaffRole.RESEARCHER in roles:
        return "research:study_list"
    if not roles.isdisjoint(AUTHOR_ROLES):
        return "programs:list"
    return "patients:staff_home"


def navigation(request: HttpRequest) -> dict:
    """What the menu needs to know about the signed-in person (one query, when first asked)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff_member:
        return {
            "user_treats_patients": False,
            "user_does_intake": False,
            "user_is_unit_admin": False,
            "user_is_program_author": False,
            "user_sees_statistics": False,
            "user_sees_research": False,
        }
    roles = SimpleLazyObject(
        lambda: set(StaffMembership.objects.filter(user=user).values_list("role", flat=True))
    )
    return {
        "user_treats_patients": lambda: not roles.isdisjoint(CLINICAL_ROLES),
        "user_does_intake": lambda: not roles.isdisjoint(INTAKE_ROLES),
        "user_is_unit_admin": lambda: StaffRole.UNIT_ADMIN in roles,
        "user_is_program_author": lambda: not roles.isdisjoint(AUTHOR_ROLES),
        "user_sees_statistics": lambda: not roles.isdisjoint(STATISTICS_ROLES),
        "user_sees_research": lambda: not roles.isdisjoint(RESEARCH_ROLES),
    }
