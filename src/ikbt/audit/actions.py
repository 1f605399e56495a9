import functools
import re

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.db import models
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from ikbt.accounts.models import User
from ikbt.audit.models import AccessLogEntry
from ikbt.organisations.models import CareUnit, StaffMembership, StaffRole
from ikbt.patients.models import CareRelationship, Patient

Action = AccessLogEntry.Action
# The roles that name the colleague through whom a patient was read (patients.access).
COVERING_FOR = gettext_noop("Covering for %(name)s")
SUPERVISOR_OF = gettext_noop("Supervisor of %(name)s")


def recorded(text) -> str:
    """A role as the log keeps it: in the platform's language (Swedish), whatever language the
    page was in, so the patient's "who has looked at my data" reads in one language. Roles
    are given lazily (``StaffRole.THERAPIST.label``) for this."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(text)


def role_shown(text: str) -> str:
    """A role as the log recorded it (in Swedish, ``recorded``), in the reader's language; a
    colleague's name in it stays as written, and a role the platform no longer has is shown
    as recorded."""
    if not text or translation.get_language() == settings.LANGUAGE_CODE:
        return text
    labels, named = _recorded_roles(settings.LANGUAGE_CODE)
    for expression, pattern in named:
        found = expression.fullmatch(text)
        if found:
            return gettext(pattern) % {"name": found["name"]}
    return ", ".join(str(labels.get(part, part)) for part in text.split(", "))


@functools.cache
def _recorded_roles(recorded_in: str):
    """The roles as the log writes them (in ``recorded_in``): {label then: lazy label}, and the
    patterns of the two that name a colleague. Made once per process and language."""
    with translation.override(recorded_in):
        labels = {
            str(label): label
            for _value, label in (*StaffRole.choices, *CareRelationship.Role.choices)
        }
        named = [
            (
                re.compile(
                    re.escape(gettext(pattern)).replace(re.escape("%(name)s"), "(?P<name>.+)")
                ),
                pattern,
            )
            for pattern in (COVERING_FOR, SUPERVISOR_OF)
        ]
    return labels, named


def roles_text(roles) -> str:
    """Staff roles (their codes) as the log names them."""
    with translation.override(settings.LANGUAGE_CODE):
        return ", ".join(str(StaffRole(role).label) for role in sorted(roles))


def staff_roles_at(user: User, unit: CareUnit | None) -> str:
    """The actor's roles at the unit, as they read today, to be frozen into the log row."""
    if unit is None or not user.is_staff_member:
        return ""
    return roles_text(
        StaffMembership.objects.filter(user=user, unit=unit).values_list("role", flat=True)
    )


def _role_in_change(actor: User, action: str, patient: Patient | None, unit: CareUnit | None):
    """The role a change to the patient's data is made in: through the care relationship at
    the unit, as ``get_patient_for_staff`` records the read before it; else (and for
    anything else) the actor's staff roles at the unit."""
    if action in (Action.CHANGE, Action.CREATE) and patient is not None and actor.is_staff_member:
        from ikbt.patients.access import (
            acting_relationship,
            acting_role,
            admin_unit_ids,
            covered_placements,
        )

        relationship = acting_relationship(actor, patient.pk, unit.pk if unit else None)
        if relationship is not None:
            administered, covered = admin_unit_ids(actor), covered_placements(actor)
            return acting_role(actor, relationship, administered, covered)
    return staff_roles_at(actor, unit)


def log_access(
    actor: User,
    action: str,
    *,
    request: HttpRequest | None = None,
    patient: Patient | None = None,
    unit: CareUnit | None = None,
    obj: models.Model | None = None,
    detail: str = "",
    role: str = "",
) -> AccessLogEntry:
    """Write one row of the access log. This and ``log_rows`` (many at once) are the only
    ways rows are written.

    ``role`` names the role the actor acted in (for example "Responsible therapist"); left
    empty, a change to a patient's data records the role of the care relationship it was made
    through (as the read before it does), anything else the actor's staff roles at ``unit``.
    ``detail`` must never hold health content or changed values, only what kind of thing
    happened (field names, filters).
    """
    return AccessLogEntry.objects.create(
        actor=actor,
        actor_name=(actor.get_full_name() or actor.username)[:200],
        actor_role=(recorded(role or _role_in_change(actor, action, patient, unit)))[:100],
        patient=patient,
        unit=unit,
        action=action,
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        detail=detail[:500],
        ip_address=get_client_ip_address(request) if request is not None else None,
    )


def log_list_access(
    actor: User, request: HttpRequest, rows: list[tuple[Patient, CareUnit, str]], detail: str
) -> None:
    """Write one READ row per patient shown in a list, in one INSERT.

    ``rows`` holds (patient, unit, role) as the list showed them; a role left empty is the
    actor's staff roles at the unit, as in ``log_access``. The same rules as ``log_access``
    apply to ``detail``.
    """
    if any(not role for _patient, _unit, role in rows):
        memberships: dict[int, list[str]] = {}
        for unit_id, role in StaffMembership.objects.filter(user=actor).values_list(
            "unit_id", "role"
        ):
            memberships.setdefault(unit_id, []).append(role)
        rows = [
            (patient, unit, role or roles_text(memberships.get(unit.pk if unit else None, [])))
            for patient, unit, role in rows
        ]
    log_rows(
        actor,
        Action.READ,
        [
            (patient.pk, unit.pk if unit else None, role, str(patient.pk))
            for patient, unit, role in rows
        ],
        detail=detail,
        object_type=Patient._meta.label,
        request=request,
    )


def log_rows(
    actor: User,
    action: str,
    rows: list[tuple[int, int | None, str, str]],
    *,
    detail: str,
    object_type: str,
    request: HttpRequest | None = None,
) -> None:
    """Write many rows of one action in one INSERT: ``rows`` holds (patient id, unit id, the
    role the actor acted in, given lazily, object id). For lists and exports, where a row per
    patient is written at once; the same rules as ``log_access`` apply to ``detail``."""
    ip_address = get_client_ip_address(request) if request is not None else None
    name = (actor.get_full_name() or actor.username)[:200]
    AccessLogEntry.objects.bulk_create(
        AccessLogEntry(
            actor=actor,
            actor_name=name,
            actor_role=recorded(role)[:100],
            patient_id=patient_id,
            unit_id=unit_id,
            action=action,
            object_type=object_type,
            object_id=object_id,
            detail=detail[:500],
            ip_address=ip_address,
        )
        for patient_id, unit_id, role, object_id in rows
    )
