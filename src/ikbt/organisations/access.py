"""Which units may this staff member run? 404 for every "no".

Running a unit (its contact details, staff and supervision) is for its unit head and for the
administrators of its region. Running a unit opens no patient: a region administrator sees
patients only where she also holds a clinical role (``ikbt.patients.access``).
"""

from django.db.models import CharField, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat, NullIf, Trim
from django.shortcuts import get_object_or_404

from ikbt.accounts.models import User
from ikbt.audit.models import AccessLogEntry
from ikbt.organisations.models import CareUnit, Region, StaffRole, Training

# The roles a unit head gives at her unit; a region's administrators also give the region's.
UNIT_ROLES = (StaffRole.THERAPIST, StaffRole.SUPERVISOR, StaffRole.UNIT_ADMIN)
REGION_ROLES = (
    StaffRole.REGION_ADMIN,
    StaffRole.PROGRAM_AUTHOR,
    StaffRole.REGISTER_OFFICER,
    StaffRole.RESEARCHER,
)


def units_administered(user: User):
    """The units ``user`` is the administrator (unit head) of."""
    return CareUnit.objects.filter(
        memberships__user=user, memberships__role=StaffRole.UNIT_ADMIN
    ).distinct()


def regions_administered(user: User):
    """The regions ``user`` is an administrator of (the role is held at one of its units)."""
    return Region.objects.filter(
        units__memberships__user=user, units__memberships__role=StaffRole.REGION_ADMIN
    ).distinct()


def units_managed(user: User):
    """The units ``user`` runs: those they are the head of, and every unit of a region they
    administer."""
    return CareUnit.objects.filter(
        Q(pk__in=units_administered(user).values("pk"))
        | Q(region__in=regions_administered(user).values("pk"))
    )


def roles_to_give(user: User, unit: CareUnit) -> tuple[StaffRole, ...]:
    """The roles ``user`` may give and take away at ``unit`` (which they run)."""
    if regions_administered(user).filter(pk=unit.region_id).exists():
        return UNIT_ROLES + REGION_ROLES
    return UNIT_ROLES


def staff_with_role(unit_id: int, role: StaffRole):
    """The people who hold ``role`` at the unit, by name (closed accounts left out)."""
    return (
        User.objects.filter(memberships__unit_id=unit_id, memberships__role=role, is_active=True)
        .distinct()
        .order_by("last_name", "first_name")
    )


def with_training(therapists, program_id: int, *, staff: str = "pk"):
    """``therapists`` (people, or their roles with ``staff="user_id"``), each with
    ``trained_on``: the day they completed the program's introduction, or None where none is
    recorded (said beside their name when a treatment is given to them,
    ``ikbt.organisations.forms.therapist_label``)."""
    return therapists.annotate(
        trained_on=Subquery(
            Training.objects.filter(staff_id=OuterRef(staff), program_id=program_id).values(
                "completed_on"
            )[:1]
        )
    )


def get_unit_to_manage(user: User, unit_id: int) -> CareUnit:
    """The unit, if ``user`` runs it (``units_managed``); otherwise 404."""
    return get_object_or_404(units_managed(user).select_related("region"), pk=unit_id)


def staff_changes(unit: CareUnit, limit: int = 20) -> list[AccessLogEntry]:
    """The latest changes to the roles, accounts and supervisions of ``unit``'s staff, newest
    first, each with its colleague's name (``colleague``; the e-mail address for one without a
    name): one query, however many."""
    colleague = User.objects.filter(pk=Cast(OuterRef("object_id"), IntegerField()))
    name = Coalesce(
        NullIf(Trim(Concat("first_name", Value(" "), "last_name")), Value("")),
        "email",
        output_field=CharField(),
    )
    return list(
        AccessLogEntry.objects.filter(unit=unit, object_type=User._meta.label)
        .annotate(colleague=Subquery(colleague.annotate(name=name).values("name")[:1]))
        .order_by("-at", "-pk")[:limit]
    )
