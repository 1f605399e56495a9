import datetime

from django.core.paginator import Paginator
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from ikbt.accounts.decorators import patient_required, staff_required
from ikbt.audit.actions import log_list_access
from ikbt.intake.models import Registration
from ikbt.measurement.access import open_risk_flags_for_staff
from ikbt.measurement.models import Response
from ikbt.messaging.models import Message
from ikbt.organisations.models import StaffMembership
from ikbt.organisations.roles import start_page
from ikbt.patients.access import (
    acting_role,
    admin_unit_ids,
    care_relationships_for_staff,
    covered_placements,
    get_patient_for_staff,
)
from ikbt.patients.models import CareRelationship
from ikbt.treatment.models import Enrollment

PATIENTS_PER_PAGE = 100


@staff_required
def staff_home(request: HttpRequest) -> HttpResponse:
    """The staff member's patients: everyone they have an active care relationship with."""
    # A patient once per unit: a unit head sees a patient two therapists share at her unit
    # once, and the user's own relationship is the row where there is one. In the query, so
    # that the pages count patients, not relationships.
    reachable = care_relationships_for_staff(request.user)
    preferred_here = reachable.filter(
        Q(staff=request.user) | Q(pk__lt=OuterRef("pk")),
        patient_id=OuterRef("patient_id"),
        unit_id=OuterRef("unit_id"),
    )
    # Where each patient is at the unit: her latest treatment there (the one begun last: a
    # new one may start the day an old one ended), else her latest registration (in the same
    # query, whatever the number of rows).
    treatment = Enrollment.objects.filter(
        patient_id=OuterRef("patient_id"), unit_id=OuterRef("unit_id")
    ).order_by("-pk")
    registration = Registration.objects.filter(
        patient_id=OuterRef("patient_id"), offering__unit_id=OuterRef("unit_id")
    ).order_by("-registered_at", "-pk")
    relationships = (
        reachable.filter(Q(staff=request.user) | ~Exists(preferred_here))
        .select_related("patient", "unit", "staff")
        .annotate(
            treatment_status=Subquery(treatment.values("status")[:1]),
            treatment_started=Subquery(treatment.values("started_at")[:1]),
            treatment_ended=Subquery(treatment.values("ended_at")[:1]),
            registration_status=Subquery(registration.values("status")[:1]),
            registered_at=Subquery(registration.values("registered_at")[:1]),
        )
        .order_by("patient__family_name", "patient__given_name", "patient_id", "started_at")
    )
    page = Paginator(relationships, PATIENTS_PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    if not rows:  # the start page after sign-in: someone without patients starts at their work
        roles = set(
            StaffMembership.objects.filter(user=request.user).values_list("role", flat=True)
        )
        if start_page(roles) != "patients:staff_home":
            return redirect(start_page(roles))
    administered, covered = admin_unit_ids(request.user), covered_placements(request.user)
    for row in rows:
        row.acting_role = acting_role(request.user, row, administered, covered)
        row.where_she_is = _where_she_is(row)
    log_list_access(
        request.user,
        request,
        [(row.patient, row.unit, row.acting_role) for row in rows],
        detail="patient list",
    )
    return render(
        request,
        "patients/staff_home.html",
        {
            "page": page,
            "relationships": rows,
            "risk_flags": list(open_risk_flags_for_staff(request.user)),
            "now": timezone.now(),
        },
    )


# The last follow-up questionnaire is asked a year after the end (treatment.actions).
FOLLOWED_UP = datetime.timedelta(days=400)


def _where_she_is(row) -> str:
    """The patient's path at the unit, in a few words, for the staff's patient list: the
    later of her latest treatment and her latest registration there. An accepted registration
    is where her treatment began (which may start the day it was accepted, at midnight)."""
    registered_later = row.registration_status and (
        not row.treatment_status
        or (
            row.registration_status != Registration.Status.ACCEPTED
            and row.registered_at > row.treatment_started
        )
    )
    if registered_later:
        return Registration.Status(row.registration_status).label
    if row.treatment_status == Enrollment.Status.ENDED:
        day = timezone.localdate(row.treatment_ended).isoformat()
        if timezone.now() - row.treatment_ended > FOLLOWED_UP:
            return _("Treatment ended %(day)s") % {"day": day}
        return _("Treatment ended %(day)s; follow-up") % {"day": day}
    if row.treatment_status and row.treatment_started > timezone.now():
        day = timezone.localdate(row.treatment_started).isoformat()
        return _("Treatment starts %(day)s") % {"day": day}
    if row.treatment_status:
        return Enrollment.Status(row.treatment_status).label
    return "–"


@staff_required
def patient_detail(request: HttpRequest, patient_id: int) -> HttpResponse:
    access = get_patient_for_staff(request, patient_id, detail="patient details")
    patient = access.patient
    # A treatment's record opens to those in her care at its unit (treatment.views).
    reached = set(
        care_relationships_for_staff(request.user)
        .filter(patient=patient)
        .values_list("unit_id", flat=True)
    )
    enrollments = list(patient.enrollments.select_related("unit", "program_version__program"))
    administered = set(admin_unit_ids(request.user))
    for enrollment in enrollments:
        enrollment.record_opens = enrollment.unit_id in reached
        enrollment.may_move = enrollment.unit_id in administered
    context = {
        "access": access,
        "patient": patient,
        "guardians": list(patient.guardians.all()),
        # A young person's registrations carry the consent her guardian gave, and when.
        "guardian_consents": list(
            patient.registrations.filter(guardian_consent_at__isnull=False)
            .select_related("offering__unit")
            .order_by("-guardian_consent_at")
        )
        if patient.is_minor
        else [],
        "enrollments": enrollments,
        "care_team": list(
            CareRelationship.objects.active()
            .filter(patient=patient)
            .select_related("staff", "unit")
            .order_by("started_at")
        ),
    }
    return render(request, "patients/patient_detail.html", context)


# How long a registration answered without a treatment (referred elsewhere, not come) stays
# on her start page.
ANSWERED_SHOWN_FOR = datetime.timedelta(days=30)


@patient_required
def patient_home(request: HttpRequest) -> HttpResponse:
    patient = request.user.patient
    care_team = list(
        CareRelationship.objects.active()
        .filter(patient=patient)
        .select_related("staff", "unit")
        .order_by("started_at")
    )
    questionnaires = (
        Response.objects.askable()
        .filter(
            patient=patient,
            status=Response.Status.IN_PROGRESS,
            filled_in_by__isnull=True,
            due_at__lte=timezone.now(),
        )
        .select_related("instrument_version__instrument", "unit")
        .order_by("started_at")
    )
    # Where she is on her path: her treatment going on, and a registration being handled;
    # without a treatment, a registration answered in the last weeks too (referred, say).
    enrollment = Enrollment.objects.going_on_for(patient)
    waiting = Q(status__in=[Registration.Status.SUBMITTED, Registration.Status.BOOKED])
    if enrollment is None:
        answered_lately = Q(decided_at__gte=timezone.now() - ANSWERED_SHOWN_FOR) & ~Q(
            status=Registration.Status.ACCEPTED
        )
        waiting |= answered_lately
    registration = (
        patient.registrations.filter(waiting)
        .select_related("offering__unit", "slot__therapist")
        .order_by(F("decided_at").desc(nulls_first=True), "-registered_at")
        .first()
    )
    return render(
        request,
        "patients/patient_home.html",
        {
            "patient": patient,
            "enrollment": enrollment,
            "registration": registration,
            # With neither, the treatment she had: ended, with the summary to keep.
            "ended": None
            if enrollment or (registration and registration.is_waiting)
            else Enrollment.objects.last_ended_for(patient),
            "unread": Message.objects.unread_by_patient(patient).count(),
            "care_team": care_team,
            "units": list({member.unit_id: member.unit for member in care_team}.values()),
            "questionnaires": list(questionnaires),
            "has_open_risk_flag": patient.risk_flags.open().exists(),
        },
    )
