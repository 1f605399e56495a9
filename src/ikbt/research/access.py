"""Who may see and do what with a study, declared in one place.

- see: the principal investigator, the study's researchers, the region administrators of the
  study's region and the unit administrators of participating units (setup and figures);
- manage (setup, open, close): the principal investigator and the region's administrators;
- research (pseudonymised participants and exports): the principal investigator and the
  study's researchers.

Everything else answers 404, as for a study that does not exist. Patients' identities are
never reached from these pages: clinicians include and randomise from the patient's own page,
through ``ikbt.patients.access``.
"""

from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from ikbt.accounts.models import User
from ikbt.organisations.models import StaffMembership, StaffRole
from ikbt.patients.models import CareRelationship, Patient
from ikbt.research.models import Participant, Study, StudyMember, StudyUnit

CREATOR_ROLES = (StaffRole.RESEARCHER, StaffRole.REGION_ADMIN)
INCLUDING_ROLES = (CareRelationship.Role.RESPONSIBLE_THERAPIST, CareRelationship.Role.ASSESSOR)


def _region_ids(user: User, roles) -> QuerySet:
    return StaffMembership.objects.filter(user=user, role__in=roles).values("unit__region_id")


def creator_region_ids(user: User) -> list[int]:
    """Regions where ``user`` may set up a study (as researcher or region administrator)."""
    return list(_region_ids(user, CREATOR_ROLES).values_list("unit__region_id", flat=True))


def studies_for_staff(user: User) -> QuerySet:
    if not user.is_authenticated or not user.is_staff_member:
        return Study.objects.none()
    admin_units = StaffMembership.objects.filter(user=user, role=StaffRole.UNIT_ADMIN).values(
        "unit_id"
    )
    visible = (
        Q(principal_investigator=user)
        | Q(pk__in=StudyMember.objects.filter(user=user).values("study_id"))
        | Q(region_id__in=_region_ids(user, [StaffRole.REGION_ADMIN]))
        | Q(pk__in=StudyUnit.objects.filter(unit_id__in=admin_units).values("study_id"))
    )
    return Study.objects.filter(visible)


def can_manage(user: User, study: Study) -> bool:
    if study.principal_investigator_id == user.pk:
        return True
    return StaffMembership.objects.filter(
        user=user, role=StaffRole.REGION_ADMIN, unit__region_id=study.region_id
    ).exists()


def can_research(user: User, study: Study) -> bool:
    if study.principal_investigator_id == user.pk:
        return True
    return study.members.filter(user=user).exists()


def get_study_for_staff(request: HttpRequest, study_id: int, *, need: str = "see") -> Study:
    """The study if ``request.user`` may ``need`` (see, manage, research) it; else 404."""
    study = (
        studies_for_staff(request.user)
        .select_related("region", "principal_investigator")
        .filter(pk=study_id)
        .first()
    )
    if study is None:
        raise Http404
    if need == "manage" and not can_manage(request.user, study):
        raise Http404
    if need == "research" and not can_research(request.user, study):
        raise Http404
    return study


def including_relationship(user: User, patient: Patient, unit_id: int | None = None):
    """The user's own care relationship that lets them include and randomise the patient:
    responsible therapist or assessor, active."""
    relationships = CareRelationship.objects.active().filter(
        staff=user, patient=patient, role__in=INCLUDING_ROLES
    )
    if unit_id is not None:
        relationships = relationships.filter(unit_id=unit_id)
    return relationships.select_related("unit").order_by("started_at").first()


def get_participation_for_patient(request: HttpRequest, participant_id: int) -> Participant:
    return get_object_or_404(
        Participant.objects.select_related("study", "consent"),
        pk=participant_id,
        patient__user=request.user,
    )
