"""The e-service page, the patient's registration and its status, and the unit's side:
triage queue, assessment times, decisions, transfers and waiting times."""

import copy
import dataclasses
import datetime

from django.conf import settings
from django.contrib import messages
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ikbt.accounts.decorators import patient_required, staff_required
from ikbt.accounts.middleware import put_back_unsent, unsent_on_page
from ikbt.audit.actions import Action, log_access, log_list_access
from ikbt.core.numbers import whole_number
from ikbt.core.submissions import submitted_once
from ikbt.intake import actions
from ikbt.intake.access import (
    admin_unit_ids,
    get_enrollment_for_unit_admin,
    get_registration_for_staff,
    intake_unit_ids,
    registrations_for_staff,
)
from ikbt.intake.eligibility import ADULT_AGE, needs_guardian, refusal_for
from ikbt.intake.forms import (
    AcceptForm,
    DeclineForm,
    GuardianConsentForm,
    OfferingAddForm,
    OfferingForm,
    RegistrationForm,
    SlotForm,
    TransferForm,
    TreatmentTransferForm,
)
from ikbt.intake.models import Offering, Registration, Slot
from ikbt.intake.waiting import waiting_times
from ikbt.measurement.actions import risk_flag_acknowledge
from ikbt.measurement.forms import AcknowledgeRiskFlagForm
from ikbt.measurement.models import Response, RiskFlag
from ikbt.organisations.access import get_unit_to_manage, staff_with_role, with_training
from ikbt.organisations.models import CareUnit, Region, StaffMembership, StaffRole
from ikbt.patients.actions import SAVED, contact_change
from ikbt.programs.models import Program, ProgramVersion, TargetGroup, program_titles
from ikbt.treatment.actions import TreatmentError, enrollment_transfer

FREE_TIMES_SHOWN = 20  # the first free times a patient chooses among
BOOKING_DAYS = 28
# The queue shows the longest-waiting registrations first, this many at most.
QUEUE_ROWS = 200


def eservice(request: HttpRequest, region_code: str) -> HttpResponse:
    """Public: the programs each unit of the region offers, who they are for, what they ask."""
    region = get_object_or_404(Region, code=region_code)
    published = ProgramVersion.objects.filter(status=ProgramVersion.Status.PUBLISHED).order_by(
        "-number"
    )
    offerings = (
        Offering.objects.filter(unit__region=region, is_open=True)
        .select_related("unit", "program")
        .prefetch_related(Prefetch("program__versions", queryset=published, to_attr="published"))
        .order_by("unit__name", "program__slug")
    )
    language = translation.get_language()
    rows = [
        {
            "offering": offering,
            "version": offering.program.published[0],
            "title": offering.program.published[0].title(language),
        }
        for offering in offerings
        if offering.program.published
    ]
    return render(
        request,
        "intake/eservice.html",
        # Without e-identification only people the region knows can sign in to register.
        {"region": region, "rows": rows, "oidc_enabled": settings.PATIENT_OIDC_ENABLED},
    )


@patient_required
@submitted_once
def register(request: HttpRequest, offering_id: int) -> HttpResponse:
    offering = get_object_or_404(
        Offering.objects.select_related("unit__region", "program"), pk=offering_id
    )
    patient = request.user.patient
    today = timezone.localdate()
    youth = needs_guardian(patient, offering, today)
    form = RegistrationForm(
        request.POST or None,
        offering=offering,
        youth=youth,
        home_known=patient.home_region_id is not None,
        own_number=patient.personal_number,
        initial={"mobile": patient.mobile, "email": patient.email},
    )
    refusal = refusal_for(patient, offering, today)  # listing is asked in the form itself
    if refusal is not None:
        # Her own region, if it offers treatment here too: a link rather than "try 1177".
        home = None
        if refusal.kind == "region" and patient.home_region_id:
            home = patient.home_region
            # Only where it offers a program for her age: a young person sent to a region of
            # adults' programs would be refused again there.
            group = TargetGroup.ADULTS if patient.age_on(today) >= ADULT_AGE else TargetGroup.YOUTH
            if Offering.objects.filter(
                unit__region=home, is_open=True, program__target_group=group
            ).exists():
                refusal = dataclasses.replace(
                    refusal, where_to=_("Your own region offers internet treatment here too:")
                )
            else:
                home = None
        return render(
            request,
            "intake/refused.html",
            {"refusal": refusal, "offering": offering, "home_region": home},
        )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.registration_submit(
                patient,
                offering,
                answers=form.answers(),
                register_opt_out=data["register_opt_out"],
                listed_here=data.get("listed_here", True),
                lives_here=data.get("lives_here"),
                guardian_name=data.get("guardian_name", ""),
                guardian_personal_number=data.get("guardian_personal_number", ""),
                guardian_phone=data.get("guardian_phone", ""),
            )
        except actions.IntakeError as error:
            # Beside the box it turned on, and once in the summary at the top.
            form.add_error(error.field if error.field in form.fields else None, str(error))
        else:
            said = contact_change(
                patient, mobile=data["mobile"], email=data["email"] or patient.email
            )
            messages.success(
                request, _("Your registration is sent. Fill in the questionnaires below.")
            )
            if said != SAVED:  # a new mobile number: hers once she writes back its code
                messages.info(
                    request,
                    _(
                        "Confirm your new mobile number with the code we send to it, under "
                        "“Sign-in and security”. Until then, texts go to the number you had."
                    ),
                )
            return redirect("intake:my_registrations")
    version = actions.published_version(offering)
    return render(
        request,
        "intake/register.html",
        {"offering": offering, "form": form, "youth": youth, "version": version},
    )


@patient_required
def my_registrations(request: HttpRequest) -> HttpResponse:
    patient = request.user.patient
    if request.method == "POST":
        registration = get_object_or_404(
            Registration, pk=whole_number(request.POST.get("registration")), patient=patient
        )
        if "cancel" in request.POST:
            try:
                actions.booking_cancel(registration, by=request.user)
                messages.success(request, _("Your time is cancelled. Book another below."))
            except actions.IntakeError as error:
                messages.error(request, str(error))
            return redirect("intake:my_registrations")
        slot = Slot.objects.filter(pk=whole_number(request.POST.get("slot", "")) or 0).first()
        if slot is None:  # none chosen, or taken back by the therapist meanwhile
            messages.error(request, _("Choose one of the free times."))
            return redirect("intake:my_registrations")
        try:
            actions.slot_book(slot, registration, by=request.user)
            messages.success(request, _("Your assessment is booked."))
        except actions.IntakeError as error:
            messages.error(request, str(error))
        return redirect("intake:my_registrations")
    registrations = list(
        Registration.objects.filter(patient=patient)
        .select_related("offering__unit__region", "offering__program", "slot__therapist")
        .prefetch_related(
            Prefetch(
                "screening",
                queryset=Response.objects.select_related("instrument_version__instrument"),
            )
        )
        .order_by("-registered_at")
    )
    now = timezone.now()
    # The free times at the units where a registration waits for one, in one query.
    waiting_at = {
        registration.offering.unit_id
        for registration in registrations
        if registration.status == Registration.Status.SUBMITTED
    }
    free_at: dict[int, list[Slot]] = {unit_id: [] for unit_id in waiting_at}
    if waiting_at:
        for slot in (
            Slot.objects.bookable()
            .filter(
                unit_id__in=waiting_at,
                starts_at__lt=now + datetime.timedelta(days=BOOKING_DAYS),
            )
            .select_related("therapist")
            .order_by("starts_at")
        ):
            if len(free_at[slot.unit_id]) < FREE_TIMES_SHOWN:
                free_at[slot.unit_id].append(slot)
    free = {
        registration.pk: free_at[registration.offering.unit_id]
        for registration in registrations
        if registration.status == Registration.Status.SUBMITTED
    }
    # Named as she chose them: the program's title (each questionnaire by ``Response.name``).
    titles = program_titles({registration.offering.program for registration in registrations})
    for registration in registrations:
        registration.program_title = titles[registration.offering.program_id]
    rows = [(registration, free.get(registration.pk, [])) for registration in registrations]
    return render(
        request,
        "intake/my_registrations.html",
        {
            "rows": rows,
            "now": now,
            # A time starting before this is not cancelled here: she calls the unit.
            "cancel_until": now + actions.CANCEL_BEFORE,
            "eservice_regions": _eservice_regions(patient, registrations),
        },
    )


def _eservice_regions(patient, registrations: list[Registration]) -> list[Region]:
    """Where she registers for another program: her home region's e-service page, or, where
    the region does not know where she lives, those of the regions she registered in (the
    latest first)."""
    regions: dict[int, Region] = {}
    for registration in registrations:
        region = registration.offering.unit.region
        regions.setdefault(region.pk, region)
    if patient.home_region_id is not None:
        # Most often one of those already read: no query for it.
        return [regions.get(patient.home_region_id) or patient.home_region]
    return list(regions.values())


@staff_required
def queue(request: HttpRequest) -> HttpResponse:
    """New registrations, risk flags first, then the longest wait."""
    unit_ids = intake_unit_ids(request.user)
    if not unit_ids:
        raise Http404
    registrations = (
        registrations_for_staff(request.user)
        .select_related("patient", "offering__unit", "offering__program", "slot")
        .prefetch_related(
            Prefetch(
                "screening",
                queryset=Response.objects.select_related(
                    "instrument_version__instrument", "risk_flag"
                ),
            )
        )
    )
    status = request.GET.get("status", "waiting")
    if status == "waiting":
        registrations = registrations.filter(
            status__in=[Registration.Status.SUBMITTED, Registration.Status.BOOKED]
        )
    elif status in Registration.Status.values:
        registrations = registrations.filter(status=status)
    program = request.GET.get("program", "")
    if program:
        registrations = registrations.filter(offering__program__slug=program)
    # Risk flags first, then the longest wait, in the database: a flag is never cut off by
    # the limit, however long the queue.
    open_flag = RiskFlag.objects.open().filter(response__registrations=OuterRef("pk"))
    rows = list(
        registrations.annotate(has_open_flag=Exists(open_flag)).order_by(
            "-has_open_flag", "registered_at"
        )[:QUEUE_ROWS]
    )
    flagged = {row.pk for row in rows if row.has_open_flag}
    log_list_access(
        request.user,
        request,
        # Triage, before any care relationship: the reader's own roles at the unit.
        [(row.patient, row.offering.unit, "") for row in rows],
        detail="intake queue",
    )
    # The programs the units offer, for the filter: one small query, not every registration;
    # staff know them by title, as patients do.
    offered = list(
        Program.objects.filter(offerings__unit_id__in=unit_ids)
        .distinct()
        .order_by("slug")
        .only("slug")
    )
    titles = program_titles([*offered, *(row.offering.program for row in rows)])
    for row in rows:
        row.program_title = titles[row.offering.program_id]
    programs = [(program.slug, titles[program.pk]) for program in offered]
    return render(
        request,
        "intake/queue.html",
        {
            "rows": rows,
            "flagged": flagged,
            "now": timezone.now(),
            "status": status,
            "program": program,
            "programs": programs,
            "statuses": Registration.Status.choices,
        },
    )


@staff_required
def registration_detail(request: HttpRequest, registration_id: int) -> HttpResponse:
    registration = get_registration_for_staff(request, registration_id)
    unit = registration.offering.unit
    accept_form = AcceptForm(
        request.POST if "accept" in request.POST else None,
        therapists=staff_with_role(unit.pk, StaffRole.THERAPIST),
        program_id=registration.offering.program_id,
        initial={"start_date": timezone.localdate() + datetime.timedelta(days=7)},
    )
    decline_form = DeclineForm(
        request.POST if "decline" in request.POST else None,
        # "Did not come" once a booked assessment time has begun.
        booked=hasattr(registration, "slot") and registration.slot.starts_at <= timezone.now(),
    )
    is_admin = unit.pk in admin_unit_ids(request.user)
    transfer_form = TransferForm(
        request.POST if "transfer" in request.POST else None,
        offerings=Offering.objects.filter(
            program=registration.offering.program, unit__region=unit.region
        )
        .exclude(pk=registration.offering_id)
        .select_related("unit"),
    )
    # A young person's registration: the consent she stated, confirmed with the guardian.
    guardian_form = (
        GuardianConsentForm(request.POST if "guardian_consent" in request.POST else None)
        if registration.guardian_consent_at and not registration.guardian_consent_confirmed_at
        else None
    )
    # What was typed in the other forms when one was sent (unsent.js): put back.
    unsent = unsent_on_page(request)
    put_back_unsent(unsent, accept_form, decline_form, transfer_form)
    if guardian_form is not None:
        put_back_unsent(unsent, guardian_form)
        if guardian_form.is_bound and guardian_form.is_valid():
            actions.guardian_consent_confirm(
                registration,
                by=request.user,
                note=guardian_form.cleaned_data["note"],
                request=request,
            )
            messages.success(request, _("The guardian's consent is recorded."))
            return redirect(request.path)
    # A critical answer before treatment is the unit's to act on: acknowledged here, by the
    # unit's triage (no one is in her care yet to open her scores).
    acknowledging = whole_number(request.POST.get("acknowledge_flag", "")) or 0
    acknowledge_form = AcknowledgeRiskFlagForm(request.POST if acknowledging else None)
    if acknowledging:
        flag = get_object_or_404(
            RiskFlag.objects.filter(response__registrations=registration), pk=acknowledging
        )
        if not flag.is_open:  # a colleague was first: what was typed is shown, not lost
            messages.info(
                request,
                _("%(name)s acknowledged the flag already. What you wrote was not saved: %(text)s")
                % {
                    "name": flag.acknowledged_by.get_full_name(),
                    "text": request.POST.get("action_taken", ""),
                },
            )
            return redirect(request.path)
        if acknowledge_form.is_valid():
            risk_flag_acknowledge(
                flag, request.user, acknowledge_form.cleaned_data["action_taken"], request=request
            )
            messages.success(request, _("The risk flag is acknowledged."))
            return redirect(request.path)
    elif request.method == "POST":
        try:
            target = _decide(
                request, registration, accept_form, decline_form, transfer_form, is_admin
            )
        except actions.IntakeError as error:
            messages.error(request, str(error))
            target = None
        if target:
            return redirect(target)
    free_slots = list(Slot.objects.bookable().filter(unit=unit).select_related("therapist")[:30])
    screening = list(registration.screening.select_related("instrument_version__instrument"))
    return render(
        request,
        "intake/registration_detail.html",
        {
            "registration": registration,
            "program_title": program_titles([registration.offering.program])[
                registration.offering.program_id
            ],
            "screening": screening,
            "flags": _flags_with_typed(screening, acknowledge_form, acknowledging, unsent),
            "acknowledge_form": acknowledge_form,
            "free_slots": free_slots,
            "accept_form": accept_form,
            "decline_form": decline_form,
            "transfer_form": transfer_form if is_admin else None,
            "guardian_form": guardian_form,
            "waiting_days": registration.waiting_days(),
            "now": timezone.now(),
        },
    )


def _flags_with_typed(
    screening: list[Response], form: AcknowledgeRiskFlagForm, acknowledging: int, unsent: dict
) -> list[RiskFlag]:
    """The risk flags of the screening answers, each open one with what was typed in its box
    (``typed``) and why it was refused (``refused``)."""
    flags = list(
        RiskFlag.objects.filter(response__in=screening).select_related(
            "response__instrument_version__instrument", "acknowledged_by"
        )
    )
    language = translation.get_language()
    for flag in flags:
        flag.raised_by = flag.critical_answers(language)
        if flag.pk == acknowledging:
            flag.typed, flag.refused = (
                form["action_taken"].value(),
                form.errors.get("action_taken"),
            )
        else:
            flag.typed, flag.refused = unsent.get(f"action-{flag.pk}", ""), None
    return flags


def _decide(
    request, registration, accept_form, decline_form, transfer_form, is_admin
) -> str | None:
    here = request.path
    if "book" in request.POST:
        slot = Slot.objects.filter(pk=whole_number(request.POST.get("slot", "")) or 0).first()
        if slot is None:  # taken back by its therapist meanwhile
            raise actions.IntakeError(_("The time is no longer offered. Choose another."))
        actions.slot_book(slot, registration, by=request.user, request=request)
        messages.success(request, _("The assessment is booked."))
        return here
    if "accept" in request.POST and accept_form.is_valid():
        data = accept_form.cleaned_data
        actions.registration_accept(
            registration,
            by=request.user,
            therapist=data["therapist"],
            start_date=data["start_date"],
            note=accept_form.note(),
            request=request,
        )
        messages.success(request, _("Accepted. The treatment starts on the start date."))
        return here
    if "decline" in request.POST and decline_form.is_valid():
        data = decline_form.cleaned_data
        actions.registration_decline(
            registration,
            by=request.user,
            status=data["decision"],
            reason=data["reason"],
            referred_to=data["referred_to"],
            request=request,
        )
        messages.success(request, _("The decision is recorded."))
        return here
    if "transfer" in request.POST and is_admin and transfer_form.is_valid():
        actions.registration_transfer(
            registration, transfer_form.cleaned_data["offering"], by=request.user, request=request
        )
        messages.success(request, _("The registration is moved."))
        return reverse("intake:queue")
    return None


@staff_required
def slots(request: HttpRequest) -> HttpResponse:
    """A therapist's assessment times: publish new ones and see who booked."""
    units = CareUnit.objects.filter(
        memberships__user=request.user, memberships__role=StaffRole.THERAPIST
    ).distinct()
    if not units.exists():
        raise Http404
    if request.method == "POST" and "remove" in request.POST:
        try:
            actions.slot_remove(whole_number(request.POST["remove"]) or 0, request.user)
        except actions.IntakeError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("The time is removed."))
        return redirect("intake:slots")
    form = SlotForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        try:
            actions.slot_publish(request.user, **form.cleaned_data)
        except actions.IntakeError as error:
            form.add_error("starts_at", str(error))
        else:
            messages.success(request, _("The time is published."))
            return redirect("intake:slots")
    mine = list(
        Slot.objects.filter(
            therapist=request.user, starts_at__gt=timezone.now() - datetime.timedelta(days=1)
        ).select_related("unit", "registration__patient")
    )
    log_list_access(
        request.user,
        request,
        [(slot.registration.patient, slot.unit, "") for slot in mine if slot.registration],
        detail="assessment times",
    )
    return render(request, "intake/slots.html", {"form": form, "slots": mine})


@staff_required
def waiting(request: HttpRequest) -> HttpResponse:
    unit_ids = intake_unit_ids(request.user)
    if not unit_ids:
        raise Http404
    since = timezone.now() - datetime.timedelta(days=365)
    rows = waiting_times(
        Registration.objects.filter(offering__unit_id__in=unit_ids, registered_at__gte=since)
    )
    return render(request, "intake/waiting.html", {"rows": rows})


@staff_required
def treatment_transfer(request: HttpRequest, enrollment_id: int) -> HttpResponse:
    """A unit administrator moves a treatment to another unit or responsible therapist."""
    enrollment = get_enrollment_for_unit_admin(request, enrollment_id)
    # Units of the region that offer the program (and the present one), their therapists.
    offering_units = Offering.objects.filter(
        program_id=enrollment.program_version.program_id
    ).values("unit_id")
    memberships = with_training(
        StaffMembership.objects.filter(
            Q(unit_id__in=offering_units) | Q(unit_id=enrollment.unit_id),
            unit__region_id=enrollment.unit.region_id,
            role=StaffRole.THERAPIST,
            user__is_active=True,
        )
        .select_related("unit", "user")
        .order_by("unit__name", "user__last_name", "user__first_name"),
        enrollment.program_version.program_id,
        staff="user_id",
    )
    therapist = enrollment.responsible_therapist_id
    form = TreatmentTransferForm(
        request.POST or None,
        memberships=memberships,
        initial={"placement": f"{enrollment.unit_id}:{therapist}" if therapist else None},
    )
    if request.method == "GET":
        log_access(
            request.user,
            Action.READ,
            request=request,
            patient=enrollment.patient,
            unit=enrollment.unit,
            obj=enrollment,
            detail="treatment transfer",
        )
    if request.method == "POST" and form.is_valid():
        try:
            unit, therapist = form.cleaned_data["placement"]
            enrollment_transfer(
                enrollment,
                unit=unit,
                therapist=therapist,
                by=request.user,
                request=request,
            )
        except TreatmentError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The treatment is moved."))
            return redirect("patients:staff_home")
    return render(
        request, "intake/treatment_transfer.html", {"enrollment": enrollment, "form": form}
    )


@staff_required
@submitted_once
def unit_offerings(request: HttpRequest, unit_id: int) -> HttpResponse:
    """The programs a unit offers on its region's e-service page, and on what terms: for the
    unit's head and the region's administrators (``organisations.access``)."""
    unit = get_unit_to_manage(request.user, unit_id)
    sent = request.POST.get("form") if request.method == "POST" else None
    offerings = list(unit.offerings.select_related("program").order_by("program__slug"))
    changed = whole_number(request.POST.get("id")) if sent == "change" else None
    rows = [
        {
            "offering": offering,
            "form": OfferingForm(
                request.POST if offering.pk == changed else None,
                instance=copy.copy(offering),  # a refused change never shows as the terms
                prefix=f"offering-{offering.pk}",
            ),
        }
        for offering in offerings
    ]
    add_form = OfferingAddForm(
        request.POST if sent == "add" else None,
        programs=actions.programs_to_offer(unit).exclude(offerings__unit=unit),
    )
    if sent == "add" and add_form.is_valid():
        try:
            actions.offering_add(unit, **add_form.cleaned_data)
        except actions.IntakeError as error:
            add_form.add_error(None, str(error))
        else:
            messages.success(request, _("The unit offers the program from now."))
            return redirect(reverse("intake:unit_offerings", args=[unit.pk]) + "#main")
    row = next((row for row in rows if row["offering"].pk == changed), None)
    if sent == "change" and row is None:
        raise Http404
    if row is not None and row["form"].is_valid():
        actions.offering_change(row["offering"], **row["form"].cleaned_data)
        messages.success(request, _("The terms are saved."))
        return redirect(reverse("intake:unit_offerings", args=[unit.pk]) + "#main")
    titles = program_titles([offering.program for offering in offerings])
    for item in rows:
        item["title"] = titles[item["offering"].program_id]
    return render(
        request,
        "intake/unit_offerings.html",
        {"unit": unit, "rows": rows, "add_form": add_form},
    )
