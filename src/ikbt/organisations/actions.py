"""Changes to people and places."""

import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ikbt.accounts.models import User
from ikbt.messaging.models import Message
from ikbt.organisations.models import (
    CareUnit,
    StaffAbsence,
    StaffMembership,
    StaffRole,
    Supervision,
)


class AbsenceError(ValueError):
    pass


class SupervisionError(ValueError):
    pass


def absence_register(
    staff: User,
    *,
    starts_on: datetime.date,
    ends_on: datetime.date,
    cover: User | None,
    by: User | None = None,
) -> StaffAbsence:
    """Mark ``staff`` away; from the first day their patients are covered (see
    ``ikbt.patients.access.care_relationships_for_staff``) and their notices go to the cover."""
    if ends_on < starts_on:
        raise AbsenceError(_("The absence ends before it starts."))
    if cover is not None:
        if cover == staff:
            raise AbsenceError(_("The one who is away cannot cover. Choose a colleague."))
        units = StaffMembership.objects.filter(user=staff).values("unit_id")
        if not StaffMembership.objects.filter(
            user=cover, unit_id__in=units, role=StaffRole.THERAPIST
        ).exists():
            raise AbsenceError(
                _("The colleague covering must be a therapist at one of your units.")
            )
    return StaffAbsence.objects.create(
        staff=staff, starts_on=starts_on, ends_on=ends_on, cover=cover, registered_by=by or staff
    )


@transaction.atomic
def unit_contact_set(unit: CareUnit, *, phone: str, phone_hours: str, visiting_address: str):
    """How patients reach the unit, shown beside their care team and their access log."""
    unit.phone, unit.phone_hours, unit.visiting_address = phone, phone_hours, visiting_address
    unit.save(update_fields=["phone", "phone_hours", "visiting_address"])


def _holds_role(user: User, unit: CareUnit, role: StaffRole) -> bool:
    return StaffMembership.objects.filter(user=user, unit=unit, role=role).exists()


@transaction.atomic
def supervision_start(
    unit: CareUnit, *, supervisor: User, supervisee: User, review_messages: bool, by: User
) -> Supervision:
    """``supervisor`` sees ``supervisee``'s patients at ``unit`` from today (see
    ``ikbt.patients.access.care_relationships_for_staff``) and, with ``review_messages``, reads
    what the supervisee writes to them there before it goes (``ikbt.messaging.actions``)."""
    if supervisor == supervisee:
        raise SupervisionError(_("A therapist cannot be their own supervisor."))
    if not _holds_role(supervisee, unit, StaffRole.THERAPIST):
        raise SupervisionError(_("The one supervised must be a therapist at the unit."))
    if not _holds_role(supervisor, unit, StaffRole.SUPERVISOR):
        raise SupervisionError(_("The supervisor must have the role of supervisor at the unit."))
    already = SupervisionError(
        _("%(supervisor)s already supervises %(supervisee)s at this unit.")
        % {"supervisor": supervisor.get_full_name(), "supervisee": supervisee.get_full_name()}
    )
    if Supervision.objects.filter(
        Q(unit=unit) | Q(unit__isnull=True),
        supervisor=supervisor,
        supervisee=supervisee,
        ended_on__isnull=True,
    ).exists():
        raise already
    try:
        with transaction.atomic():  # two heads at once: the unique constraint decides
            return Supervision.objects.create(
                supervisor=supervisor,
                supervisee=supervisee,
                unit=unit,
                review_messages=review_messages,
                arranged_by=by,
            )
    except IntegrityError:
        raise already from None


@transaction.atomic
def supervision_end(supervision: Supervision, *, by: User) -> Supervision:
    """From today the supervisor no longer sees the supervisee's patients. Refused while replies
    the supervisor must read are waiting: no one else could send them."""
    supervision = Supervision.objects.select_for_update().get(pk=supervision.pk)
    if supervision.ended_on is not None:
        return supervision
    waiting = Message.objects.filter(sender_id=supervision.supervisee_id, held_for_review=True)
    if supervision.unit_id is not None:
        # Only where the supervisor can still open the patient (care goes on) to read them.
        waiting = waiting.filter(
            thread__patient__care_relationships__staff_id=supervision.supervisee_id,
            thread__patient__care_relationships__unit_id=supervision.unit_id,
            thread__patient__care_relationships__ended_at__isnull=True,
        ).distinct()
    waiting = waiting.count()
    if supervision.review_messages and waiting:
        raise SupervisionError(
            ngettext(
                "%(count)d reply by %(name)s is waiting for the supervisor. It must be read "
                "and sent before the supervision ends.",
                "%(count)d replies by %(name)s are waiting for the supervisor. They must be "
                "read and sent before the supervision ends.",
                waiting,
            )
            % {"count": waiting, "name": supervision.supervisee.get_full_name()}
        )
    supervision.ended_on = timezone.localdate()
    supervision.ended_by = by
    supervision.save(update_fields=["ended_on", "ended_by"])
    return supervision
