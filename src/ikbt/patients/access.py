"""May this staff member see this patient? One function per question, 404 for every "no".

A staff member sees a patient only through an active care relationship at a unit, or as
administrator of a unit where the patient is in care. Everything else answers 404, exactly as
for a patient that does not exist, and is written to the access log as denied.
"""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext as _

from ikbt.accounts.models import User
from ikbt.audit.actions import COVERING_FOR, SUPERVISOR_OF, Action, log_access
from ikbt.audit.models import AccessLogEntry
from ikbt.organisations.access import units_administered
from ikbt.organisations.models import (
    CareUnit,
    StaffAbsence,
    StaffMembership,
    StaffRole,
    Supervision,
)
from ikbt.patients.models import CareRelationship, Patient
from ikbt.treatment.models import Enrollment


@dataclass(frozen=True)
class PatientAccess:
    patient: Patient
    unit: CareUnit
    role: str
    is_unit_admin: bool

    @property
    def shows_contact_details(self) -> bool:
        """Protected identity: address and contact only for the unit's administrators."""
        return not self.patient.protected_identity or self.is_unit_admin


def admin_unit_ids(user: User) -> list[int]:
    """The units ``user`` administers."""
    return list(units_administered(user).values_list("pk", flat=True))


def covered_placements(user: User) -> set[tuple[int, int]]:
    """(colleague, unit) for each colleague away today whom ``user`` covers, at each unit where
    ``user`` is a therapist: the care relationships covering opens (as in
    ``care_relationships_for_staff``). One query, and a second only for someone covering."""
    covered = list(
        StaffAbsence.objects.on(timezone.localdate())
        .filter(cover=user)
        .values_list("staff_id", flat=True)
    )
    if not covered:
        return set()
    treating = StaffMembership.objects.filter(user=user, role=StaffRole.THERAPIST).values_list(
        "unit_id", flat=True
    )
    return {(staff_id, unit_id) for staff_id in covered for unit_id in treating}


def cover_at(absence: StaffAbsence, unit: CareUnit) -> User | None:
    """Who stands in for an absent colleague at ``unit``: the named cover if they are a
    therapist there (only then do they see the patients, ``care_relationships_for_staff``),
    else nobody, and the unit's administrators take over."""
    if absence.cover is None or not absence.cover.is_active:
        return None
    is_therapist_there = StaffMembership.objects.filter(
        user_id=absence.cover_id, unit=unit, role=StaffRole.THERAPIST
    ).exists()
    return absence.cover if is_therapist_there else None


def at_work_in_place_of(relationships) -> list[User]:
    """The staff of these care relationships, to be told of something: each one away today
    replaced by the colleague covering at the relationship's unit, or else by that unit's
    administrators. Two queries, one more for each of them away (is the cover a therapist
    at the unit?) and one for each unit whose administrators stand in."""
    relationships = list(relationships.select_related("staff", "unit"))
    away = {
        absence.staff_id: absence
        for absence in StaffAbsence.objects.on(timezone.localdate())
        .filter(staff__in=[relationship.staff_id for relationship in relationships])
        .select_related("cover")
    }
    told: dict[int, User] = {}
    for relationship in relationships:
        absence = away.get(relationship.staff_id)
        cover = cover_at(absence, relationship.unit) if absence else None
        if absence is None:
            told[relationship.staff_id] = relationship.staff
        elif cover is not None:
            told[cover.pk] = cover
        else:
            for membership in StaffMembership.objects.filter(
                unit=relationship.unit, role=StaffRole.UNIT_ADMIN
            ).select_related("user"):
                told[membership.user_id] = membership.user
    return list(told.values())


def care_relationships_for_staff(user: User):
    """Active care relationships that give ``user`` access to the patient: their own, those
    at units they administer, those of a colleague away today whom they cover (at the units
    where the user is a therapist), and those of the therapists they supervise."""
    # Subqueries, so the whole question is one SQL query.
    covered = StaffAbsence.objects.on(timezone.localdate()).filter(cover=user).values("staff_id")
    # A supervisor sees the supervisee's patients at the unit of the supervision (anywhere for
    # one arranged without a unit).
    supervised_here = Supervision.objects.open_at(OuterRef("unit_id")).filter(
        supervisor=user, supervisee_id=OuterRef("staff_id")
    )
    administered = StaffMembership.objects.filter(user=user, role=StaffRole.UNIT_ADMIN).values(
        "unit_id"
    )
    treating = StaffMembership.objects.filter(user=user, role=StaffRole.THERAPIST).values(
        "unit_id"
    )
    return CareRelationship.objects.active().filter(
        Q(staff=user)
        | Q(unit_id__in=administered)
        | Q(staff_id__in=covered, unit_id__in=treating)
        | Q(Exists(supervised_here))
    )


def patients_for_staff(user: User):
    """Every patient ``user`` may see, for lists and searches."""
    if not user.is_authenticated or not user.is_staff_member:
        return Patient.objects.none()
    reachable = care_relationships_for_staff(user).filter(patient=OuterRef("pk"))
    return Patient.objects.filter(Exists(reachable))


def get_patient_for_staff(
    request: HttpRequest,
    patient_id: int,
    *,
    action: str = Action.READ,
    detail: str = "",
    unit_id: int | None = None,
) -> PatientAccess:
    """The patient, if ``request.user`` has a care relationship with them; otherwise 404.
    ``unit_id``: what is read belongs to that unit's care (a treatment there), and only a
    relationship there opens it.

    Writes the access (or the denial) to the access log.
    """
    user = request.user
    relationship = acting_relationship(user, patient_id, unit_id)
    if relationship is None:
        _log_denied(request, patient_id, detail)
        raise Http404
    administered = admin_unit_ids(user)
    is_admin = relationship.unit_id in administered
    # Whom the user covers matters only when the patient is neither theirs nor their unit's.
    own = relationship.staff_id == user.pk
    covered = set() if own or is_admin else covered_placements(user)
    role = acting_role(user, relationship, administered, covered)
    log_access(
        user,
        action,
        request=request,
        patient=relationship.patient,
        unit=relationship.unit,
        obj=relationship.patient,
        detail=detail,
        role=role,
    )
    return PatientAccess(relationship.patient, relationship.unit, role, is_admin)


def _covering_for(name: str) -> str:
    return _(COVERING_FOR) % {"name": name}


def _supervisor_of(name: str) -> str:
    return _(SUPERVISOR_OF) % {"name": name}


covering_for = lazy(_covering_for, str)
supervisor_of = lazy(_supervisor_of, str)


def acting_role(
    user: User,
    relationship: CareRelationship,
    administered: list[int],
    covered: set[tuple[int, int]],
):
    """The role in which ``user`` sees the patient of ``relationship`` (one of
    ``care_relationships_for_staff``), given the units they administer and the colleagues
    they cover today and where (``covered_placements``): a cover who also supervises the
    colleague sees the patients of the colleague's other units as supervisor. Lazy: the
    access log writes it in its language, a page in the reader's.
    """
    if relationship.staff_id == user.pk:
        return CareRelationship.Role(relationship.role).label
    if relationship.unit_id in administered:
        return StaffRole.UNIT_ADMIN.label
    if (relationship.staff_id, relationship.unit_id) in covered:
        return covering_for(relationship.staff.get_full_name())
    return supervisor_of(relationship.staff.get_full_name())


def roles_for_patients(user: User, patient_ids) -> dict[tuple[int, int], object]:
    """The role ``user`` sees each of these patients in at each unit, by (patient id, unit
    id), for a list's access-log rows: the same as ``get_patient_for_staff`` writes for one
    patient at that unit (three queries for any list, four for someone covering for a
    colleague)."""
    relationships = (
        care_relationships_for_staff(user)
        .filter(patient_id__in=patient_ids)
        .select_related("staff")
        .order_by("started_at")
    )
    administered, covered = admin_unit_ids(user), covered_placements(user)
    roles: dict[tuple[int, int], object] = {}
    for relationship in relationships:
        key = (relationship.patient_id, relationship.unit_id)
        if key not in roles or relationship.staff_id == user.pk:
            roles[key] = acting_role(user, relationship, administered, covered)
    return roles


def acting_relationship(
    user: User, patient_id: int, unit_id: int | None = None
) -> CareRelationship | None:
    """The care relationship through which ``user`` sees the patient (at ``unit_id``, if
    given): one at a unit where her treatment goes on before one where it has ended, there
    their own before one that opens the patient to them otherwise (administering, covering,
    supervising), the oldest first; None if none does."""
    if not user.is_authenticated or not user.is_staff_member:
        return None
    relationships = care_relationships_for_staff(user).filter(patient_id=patient_id)
    if unit_id is not None:
        relationships = relationships.filter(unit_id=unit_id)
    relationships = list(
        relationships.select_related("patient", "unit", "staff").order_by("started_at")
    )
    if not relationships:
        return None
    going_on = set()
    if len({relationship.unit_id for relationship in relationships}) > 1:
        going_on = set(
            Enrollment.objects.filter(patient_id=patient_id)
            .exclude(status=Enrollment.Status.ENDED)  # going on, or paused
            .values_list("unit_id", flat=True)
        )
    return min(
        relationships,
        key=lambda relationship: (
            relationship.unit_id not in going_on,
            relationship.staff_id != user.pk,
        ),
    )


def _log_denied(request: HttpRequest, patient_id: int, detail: str) -> None:
    if not request.user.is_authenticated:
        return
    patient = Patient.objects.filter(pk=patient_id).first()
    log_access(
        request.user,
        AccessLogEntry.Action.DENIED,
        request=request,
        patient=patient,
        detail=detail or f"patient {patient_id}",
    )
