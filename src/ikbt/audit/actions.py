from axes.helpers import get_client_ip_address
from django.db import models
from django.http import HttpRequest

from ikbt.accounts.models import User
from ikbt.audit.models import AccessLogEntry
from ikbt.organisations.models import CareUnit, StaffMembership, StaffRole
from ikbt.patients.models import Patient

Action = AccessLogEntry.Action


def staff_roles_at(user: User, unit: CareUnit | None) -> str:
    """The actor's roles at the unit, as they read today, to be frozen into the log row."""
    if unit is None or not user.is_staff_member:
        return ""
    roles = StaffMembership.objects.filter(user=user, unit=unit).values_list("role", flat=True)
    return ", ".join(str(StaffRole(role).label) for role in sorted(roles))


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
    empty, the actor's staff roles at ``unit`` are recorded. ``detail`` must never hold health
    content or changed values, only what kind of thing happened (field names, filters).
    """
    return AccessLogEntry.objects.create(
        actor=actor,
        actor_name=(actor.get_full_name() or actor.username)[:200],
        actor_role=(role or staff_roles_at(actor, unit))[:100],
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

    ``rows`` holds (patient, unit, role) as the list showed them; the same rules as
    ``log_access`` apply to ``detail``.
    """
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
    role the actor acted in, object id). For lists and exports, where a row per patient is
    written at once; the same rules as ``log_access`` apply to ``detail``."""
    ip_address = get_client_ip_address(request) if request is not None else None
    name = (actor.get_full_name() or actor.username)[:200]
    AccessLogEntry.objects.bulk_create(
        AccessLogEntry(
            actor=actor,
            actor_name=name,
            actor_role=role[:100],
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
