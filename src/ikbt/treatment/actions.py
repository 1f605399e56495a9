"""Changes to a treatment, each in one function."""

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from ikbt.accounts.models import User
from ikbt.audit.actions import Action, log_access
from ikbt.organisations.models import CareUnit
from ikbt.patients.models import CareRelationship
from ikbt.treatment.models import Enrollment


class TreatmentError(ValueError):
    pass


@transaction.atomic
def enrollment_transfer(
    enrollment: Enrollment,
    *,
    unit: CareUnit,
    therapist: User,
    by: User,
    request: HttpRequest | None = None,
) -> Enrollment:
    """Move a treatment to another unit or responsible therapist. The care relationship
    follows: the old responsible therapist's ends, the new one's begins; both are logged."""
    enrollment = Enrollment.objects.select_for_update().get(pk=enrollment.pk)
    if enrollment.status == Enrollment.Status.ENDED:
        raise TreatmentError("An ended treatment cannot be moved.")
    if not therapist.memberships.filter(unit=unit).exists():
        raise TreatmentError("The therapist does not work at that unit.")
    old_unit = enrollment.unit
    CareRelationship.objects.active().filter(
        patient=enrollment.patient,
        unit=old_unit,
        role=CareRelationship.Role.RESPONSIBLE_THERAPIST,
    ).exclude(staff=therapist, unit=unit).update(ended_at=timezone.now())
    relationship, _ = CareRelationship.objects.get_or_create(
        patient=enrollment.patient,
        staff=therapist,
        unit=unit,
        ended_at=None,
        defaults={"role": CareRelationship.Role.RESPONSIBLE_THERAPIST},
    )
    if relationship.role != CareRelationship.Role.RESPONSIBLE_THERAPIST:
        relationship.role = CareRelationship.Role.RESPONSIBLE_THERAPIST
        relationship.save(update_fields=["role"])
    enrollment.unit = unit
    enrollment.save(update_fields=["unit"])
    log_access(
        by,
        Action.CHANGE,
        request=request,
        patient=enrollment.patient,
        unit=old_unit,
        obj=enrollment,
        detail=f"treatment moved to unit {unit.pk}, therapist {therapist.pk}",
    )
    return enrollment
