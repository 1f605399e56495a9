"""Studies for their researchers and administrators (setup, figures, pseudonymised data and
exports), the patient's research page for the clinician who includes and randomises, and the
patient's own consent and withdrawal."""

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ikbt.accounts.decorators import patient_required, staff_required
from ikbt.accounts.models import User
from ikbt.audit.actions import Action, log_access, log_list_access, log_rows
from ikbt.core.downloads import csv_download
from ikbt.core.numbers import whole_number
from ikbt.intake.actions import IntakeError, registration_accept
from ikbt.intake.forms import AcceptForm
from ikbt.intake.models import Registration
from ikbt.organisations.access import staff_with_role
from ikbt.organisations.models import CareUnit, Region, StaffRole
from ikbt.patients.access import get_patient_for_staff
from ikbt.patients.models import Patient
from ikbt.programs.models import program_titles
from ikbt.research import actions, export
from ikbt.research.access import (
    INCLUDING_ROLES,
    can_manage,
    can_research,
    creator_region_ids,
    get_participation_for_patient,
    get_study_for_staff,
    studies_for_staff,
)
from ikbt.research.forms import (
    ArmForm,
    ConsentForm,
    InclusionForm,
    MeasurementForm,
    MemberForm,
    ScreeningForm,
    StudyForm,
    UnitForm,
    WithdrawalForm,
)
from ikbt.research.models import (
    Arm,
    Participant,
    ScreeningCriterion,
    Study,
    StudyMeasurement,
    StudyMember,
    StudyUnit,
)
from ikbt.treatment.models import Enrollment

RESEARCHER = StaffRole.RESEARCHER


# --- Studies --------------------------------------------------------------------------------


@staff_required
def study_list(request: HttpRequest) -> HttpResponse:
    studies = list(
        studies_for_staff(request.user)
        .select_related("region", "principal_investigator")
        .annotate(participant_count=Count("participants"))
        .order_by("-created_at", "-pk")
    )
    return render(
        request,
        "research/study_list.html",
        {"studies": studies, "may_create": bool(creator_region_ids(request.user))},
    )


def _investigators(region_ids):
    return (
        User.objects.filter(
            memberships__role=RESEARCHER, memberships__unit__region_id__in=region_ids
        )
        .distinct()
        .order_by("last_name", "first_name")
    )


@staff_required
def study_create(request: HttpRequest) -> HttpResponse:
    region_ids = creator_region_ids(request.user)
    if not region_ids:
        raise Http404
    form = StudyForm(
        request.POST or None,
        regions=Region.objects.filter(pk__in=region_ids),
        investigators=_investigators(region_ids),
    )
    if request.method == "POST" and form.is_valid():
        study = actions.study_create(by=request.user, request=request, **form.study_fields())
        messages.success(request, _("The study is set up. Add its units and arms."))
        return redirect("research:study", study.pk)
    return render(request, "research/study_form.html", {"form": form, "study": None})


@staff_required
def study_edit(request: HttpRequest, study_id: int) -> HttpResponse:
    study = get_study_for_staff(request, study_id, need="manage")
    if not study.is_planned:
        raise Http404
    form = StudyForm(
        request.POST or None,
        instance=study,
        regions=Region.objects.filter(pk=study.region_id),
        investigators=_investigators([study.region_id]),
    )
    if request.method == "POST" and form.is_valid():
        actions.study_update(study, form.study_fields(), by=request.user, request=request)
        messages.success(request, _("The study is saved."))
        return redirect("research:study", study.pk)
    return render(request, "research/study_form.html", {"form": form, "study": study})


def _setup_forms(request: HttpRequest, study: Study) -> dict:
    def bound(name):
        return request.POST if request.POST.get("add") == name else None

    return {
        "unit": UnitForm(
            bound("unit"),
            prefix="unit",
            units=CareUnit.objects.filter(region=study.region).exclude(
                pk__in=study.units.values("unit_id")
            ),
        ),
        "arm": ArmForm(bound("arm"), prefix="arm"),
        "measurement": MeasurementForm(
            bound("measurement"), prefix="measurement", arms=study.arms.all()
        ),
        "screening": ScreeningForm(bound("screening"), prefix="screening"),
        "member": MemberForm(
            bound("member"),
            prefix="member",
            researchers=_investigators([study.region_id]).exclude(
                pk__in=study.members.values("user_id")
            ),
        ),
    }


def _add(request: HttpRequest, study: Study, name: str, form) -> None:
    data = form.cleaned_data
    by = {"by": request.user, "request": request}
    if name == "unit":
        actions.study_unit_add(study, data["unit"], **by)
    elif name == "arm":
        actions.arm_add(
            study, name=data["name"], program=data["program"], ratio=data["ratio"], **by
        )
    elif name == "measurement":
        actions.study_measurement_add(
            study,
            when=data["when"],
            instrument_code=data["instrument_code"],
            arm=data["arm"],
            **by,
        )
    elif name == "screening":
        actions.screening_criterion_add(
            study,
            instrument_code=data["instrument_code"],
            min_total=data["min_total"],
            max_total=data["max_total"],
            **by,
        )
    elif name == "member":
        actions.study_member_add(study, data["user"], **by)


REMOVABLE = {
    "unit": StudyUnit,
    "arm": Arm,
    "measurement": StudyMeasurement,
    "screening": ScreeningCriterion,
    "member": StudyMember,
}


@staff_required
def study_detail(request: HttpRequest, study_id: int) -> HttpResponse:
    """The study's setup; those who manage it change it here."""
    study = get_study_for_staff(request, study_id)
    manage = can_manage(request.user, study)
    forms = _setup_forms(request, study) if manage else {}
    if request.method == "POST":
        if not manage:
            raise Http404
        name = request.POST.get("add", "")
        try:
            if request.POST.get("remove") in REMOVABLE:
                model = REMOVABLE[request.POST["remove"]]
                item = get_object_or_404(
                    model, pk=whole_number(request.POST.get("item")), study=study
                )
                actions.setup_remove(study, item, by=request.user, request=request)
                return redirect("research:study", study.pk)
            if name in forms and forms[name].is_valid():
                _add(request, study, name, forms[name])
                messages.success(request, _("Saved."))
                return redirect("research:study", study.pk)
        except actions.ResearchError as error:
            messages.error(request, str(error))
    context = {
        "study": study,
        "manage": manage,
        "research": can_research(request.user, study),
        "forms": forms,
        "units": list(study.units.select_related("unit")),
        "arms": list(study.arms.select_related("program")),
        "measurements": list(study.measurements.select_related("arm")),
        "screening": list(study.screening.all()),
        "members": list(study.members.select_related("user")),
    }
    return render(request, "research/study_detail.html", context)


@require_POST
@staff_required
def study_open(request: HttpRequest, study_id: int) -> HttpResponse:
    study = get_study_for_staff(request, study_id, need="manage")
    try:
        actions.study_open_recruitment(study, by=request.user, request=request)
        messages.success(request, _("Recruitment is open. The allocation lists are made."))
    except actions.ResearchError as error:
        messages.error(request, str(error))
    return redirect("research:study", study.pk)


@require_POST
@staff_required
def study_close(request: HttpRequest, study_id: int) -> HttpResponse:
    study = get_study_for_staff(request, study_id, need="manage")
    try:
        actions.study_close(study, by=request.user, request=request)
        messages.success(request, _("The study is closed."))
    except actions.ResearchError as error:
        messages.error(request, str(error))
    return redirect("research:study", study.pk)


# --- Figures, pseudonymised data and exports ------------------------------------------------


@staff_required
def recruitment(request: HttpRequest, study_id: int) -> HttpResponse:
    study = get_study_for_staff(request, study_id)
    figures = export.recruitment(study)
    if request.GET.get("format") == "csv":
        log_access(request.user, Action.EXPORT, request=request, obj=study, detail="recruitment")
        header, rows = export.recruitment_rows(figures)
        # A table people open in a spreadsheet, unlike the data files for R or SPSS.
        return csv_download(f"{study.code}-recruitment.csv", header, rows, for_spreadsheet=True)
    return render(
        request,
        "research/recruitment.html",
        {"study": study, "figures": figures, "research": can_research(request.user, study)},
    )


@staff_required
def participants(request: HttpRequest, study_id: int) -> HttpResponse:
    """The participants as researchers see them: study id, unit code, arm, age in years."""
    study = get_study_for_staff(request, study_id, need="research")
    codes = export.unit_codes(study)
    rows = list(
        Participant.objects.filter(study=study)
        .order_by("pseudonym")
        .values(
            "patient_id",
            "unit_id",
            "pseudonym",
            "age_at_consent",
            "consented_at",
            "allocation__arm__name",
            "allocation__allocated_at",
            "consent__withdrawn_at",
            "consent__keep_data_after_withdrawal",
        )
    )
    for row in rows:
        row["unit_code"] = codes.get(row["unit_id"], "")
    # Patient and unit by id only: the research pages never read a patient's row.
    log_list_access(
        request.user,
        request,
        [
            (Patient(pk=row["patient_id"]), CareUnit(pk=row["unit_id"]), RESEARCHER.label)
            for row in rows
        ],
        detail=f"study {study.code} participants (pseudonymised)",
    )
    return render(request, "research/participants.html", {"study": study, "rows": rows})


@staff_required
def export_page(request: HttpRequest, study_id: int) -> HttpResponse:
    study = get_study_for_staff(request, study_id, need="research")
    counts = export.exported_counts(study)
    return render(request, "research/export.html", {"study": study, **counts})


EXPORTS = {
    "long": export.long_rows,
    "wide": export.wide_rows,
    "dictionary": export.dictionary_rows,
}


@staff_required
def export_file(request: HttpRequest, study_id: int, kind: str) -> HttpResponse:
    """A pseudonymised file; every participant in it gets an export row in the access log."""
    study = get_study_for_staff(request, study_id, need="research")
    if kind not in EXPORTS:
        raise Http404
    rows = export.collect(study)
    header, lines = EXPORTS[kind](study, rows)
    if kind == "dictionary":
        log_access(request.user, Action.EXPORT, request=request, obj=study, detail="dictionary")
    else:
        _log_export(request, study, rows, kind)
    return csv_download(f"{study.code}-{kind}.csv", header, lines)


def _log_export(request: HttpRequest, study: Study, rows: list[export.Row], kind: str) -> None:
    log_rows(
        request.user,
        Action.EXPORT,
        [(row.patient_id, row.unit_id, RESEARCHER.label, str(row.pk)) for row in rows],
        detail=f"study {study.code} {kind} export (pseudonymised)",
        object_type=Participant._meta.label,
        request=request,
    )


# --- The clinician: include, randomise, start treatment -------------------------------------


def _own_units(request: HttpRequest, patient: Patient):
    return CareUnit.objects.filter(
        care_relationships__patient=patient,
        care_relationships__staff=request.user,
        care_relationships__role__in=INCLUDING_ROLES,
        care_relationships__ended_at__isnull=True,
    ).distinct()


def _waiting_registration(participant: Participant) -> Registration | None:
    allocation = getattr(participant, "allocation", None)
    if allocation is None or allocation.arm.program_id is None:
        return None
    return (
        Registration.objects.filter(
            patient_id=participant.patient_id,
            offering__program_id=allocation.arm.program_id,
            offering__unit_id=participant.unit_id,
            status__in=[Registration.Status.SUBMITTED, Registration.Status.BOOKED],
        )
        .select_related("offering__program", "offering__unit")
        .first()
    )


@staff_required
def patient_studies(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The patient's studies, and those recruiting at the clinician's units."""
    access = get_patient_for_staff(request, patient_id, detail="research")
    patient = access.patient
    units = _own_units(request, patient)
    taken = Participant.objects.filter(patient=patient).values("study_id")
    recruiting = list(
        Study.objects.filter(status=Study.Status.RECRUITING, units__unit__in=units)
        .exclude(pk__in=taken)
        .distinct()
        .prefetch_related("screening")
    )
    inclusion_forms = [
        (
            study,
            InclusionForm(
                request.POST if request.POST.get("include") == str(study.pk) else None,
                study=study,
                units=units.filter(pk__in=study.units.values("unit_id")),
            ),
        )
        for study in recruiting
    ]
    participations = list(
        Participant.objects.filter(patient=patient).select_related(
            "study", "unit", "consent", "allocation__arm__program"
        )
    )
    if request.method == "POST":
        done = _patient_post(request, patient, inclusion_forms, participations)
        if done:
            return redirect("research:patient", patient.pk)
    starts = {}
    titles = program_titles(
        participant.allocation.arm.program
        for participant in participations
        if getattr(participant, "allocation", None) and participant.allocation.arm.program_id
    )
    for participant in participations:
        registration = _waiting_registration(participant)
        if registration is not None:
            starts[participant.pk] = (
                titles[registration.offering.program_id],
                AcceptForm(
                    request.POST if request.POST.get("start") == str(participant.pk) else None,
                    prefix=f"start{participant.pk}",
                    therapists=staff_with_role(participant.unit_id, StaffRole.THERAPIST),
                    program_id=registration.offering.program_id,
                    initial={"therapist": request.user, "start_date": timezone.localdate()},
                ),
            )
    rows = [(participant, starts.get(participant.pk)) for participant in participations]
    return render(
        request,
        "research/patient_studies.html",
        {"patient": patient, "inclusion_forms": inclusion_forms, "rows": rows},
    )


def _patient_post(request, patient, inclusion_forms, participations) -> bool:
    try:
        if "include" in request.POST:
            for study, form in inclusion_forms:
                if request.POST["include"] == str(study.pk) and form.is_valid():
                    participant = actions.participant_include(
                        study,
                        patient,
                        unit=form.cleaned_data["unit"],
                        by=request.user,
                        strata=form.strata(),
                        exclusion_checked=form.cleaned_data.get("exclusion_checked", False),
                        request=request,
                    )
                    messages.success(
                        request,
                        _("Included as %(id)s. The patient is asked for consent on their pages.")
                        % {"id": participant.pseudonym},
                    )
                    return True
            return False
        participant = next(
            (
                row
                for row in participations
                if str(row.pk) == request.POST.get("randomise")
                or str(row.pk) == request.POST.get("start")
            ),
            None,
        )
        if participant is None:
            raise Http404
        if "randomise" in request.POST:
            allocation = actions.participant_randomise(
                participant, by=request.user, request=request
            )
            messages.success(request, _("Randomised to: %(arm)s.") % {"arm": allocation.arm.name})
            return True
        return _start_treatment(request, participant)
    except (actions.ResearchError, IntakeError) as error:
        messages.error(request, str(error))
        return True


def _start_treatment(request: HttpRequest, participant: Participant) -> bool:
    """The arm's program starts through intake's own acceptance, as any treatment does."""
    registration = _waiting_registration(participant)
    if registration is None:
        raise Http404
    form = AcceptForm(
        request.POST,
        prefix=f"start{participant.pk}",
        therapists=staff_with_role(participant.unit_id, StaffRole.THERAPIST),
        program_id=registration.offering.program_id,
    )
    if not form.is_valid():
        return False
    registration_accept(
        registration,
        by=request.user,
        therapist=form.cleaned_data["therapist"],
        start_date=form.cleaned_data["start_date"],
        note=form.note(),
        request=request,
    )
    messages.success(request, _("The treatment starts on the start date."))
    return True


# --- The patient: consent and withdrawal ----------------------------------------------------


def _sent(request: HttpRequest):
    """The answer sent, even with nothing chosen (then its errors say what is missing)."""
    return request.POST if request.method == "POST" else None


def _in_treatment(request: HttpRequest) -> bool:
    """Whether she has a treatment going on: only then is she told that it goes on."""
    return Enrollment.objects.going_on_for(request.user.patient) is not None


@patient_required
def my_studies(request: HttpRequest) -> HttpResponse:
    participations = list(
        Participant.objects.filter(patient__user=request.user)
        .select_related("study", "consent")
        .order_by("-included_at")
    )
    return render(
        request,
        "research/my_studies.html",
        {"participations": participations, "in_treatment": _in_treatment(request)},
    )


@patient_required
def consent(request: HttpRequest, participant_id: int) -> HttpResponse:
    participant = get_participation_for_patient(request, participant_id)
    if hasattr(participant, "consent"):
        return redirect("research:my_studies")
    patient = request.user.patient
    age = patient.age_on(timezone.localdate())
    form = ConsentForm(_sent(request), patient=patient, age=age)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.consent_sign(
                participant,
                signed_name=data["signed_name"],
                guardian_name=data.get("guardian_name", ""),
                guardian_personal_number=data.get("guardian_personal_number", ""),
                second_guardian_name=data.get("second_guardian_name", ""),
                second_guardian_personal_number=data.get("second_guardian_personal_number", ""),
                sole_guardian=data.get("sole_guardian", False),
            )
        except actions.ResearchError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Thank you. You take part in the study."))
            return redirect("research:my_studies")
    return render(
        request,
        "research/consent.html",
        {"participant": participant, "study": participant.study, "form": form},
    )


@patient_required
def withdraw(request: HttpRequest, participant_id: int) -> HttpResponse:
    participant = get_participation_for_patient(request, participant_id)
    consent_row = getattr(participant, "consent", None)
    if consent_row is None or consent_row.is_withdrawn:
        return redirect("research:my_studies")
    in_treatment = _in_treatment(request)
    form = WithdrawalForm(_sent(request))
    if request.method == "POST" and form.is_valid():
        try:
            actions.consent_withdraw(participant, keep_data=form.cleaned_data["keep_data"])
        except actions.ResearchError as error:
            form.add_error(None, str(error))
        else:
            if in_treatment:
                left = _("You have left the study. Your treatment goes on as before.")
            else:
                left = _("You have left the study.")
            messages.success(request, left)
            return redirect("research:my_studies")
    return render(
        request,
        "research/withdraw.html",
        {
            "participant": participant,
            "study": participant.study,
            "form": form,
            "in_treatment": in_treatment,
        },
    )
