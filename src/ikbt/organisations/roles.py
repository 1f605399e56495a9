"""What staff roles open: the menu, the start page and the access rules read these sets."""

from ikbt.organisations.models import StaffRole

AUTHOR_ROLES = {StaffRole.PROGRAM_AUTHOR, StaffRole.REGION_ADMIN}
STATISTICS_ROLES = {StaffRole.REGION_ADMIN, StaffRole.UNIT_ADMIN, StaffRole.REGISTER_OFFICER}
RESEARCH_ROLES = {StaffRole.RESEARCHER, StaffRole.REGION_ADMIN, StaffRole.UNIT_ADMIN}
# Those who have patients of their own or of their unit, and those who take in new ones.
CLINICAL_ROLES = {StaffRole.THERAPIST, StaffRole.SUPERVISOR, StaffRole.UNIT_ADMIN}
INTAKE_ROLES = {StaffRole.THERAPIST, StaffRole.UNIT_ADMIN}
# Those who run units: their contact details, staff and supervision (organisations.access).
UNIT_MANAGER_ROLES = {StaffRole.UNIT_ADMIN, StaffRole.REGION_ADMIN}


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
