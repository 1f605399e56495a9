"""The patient's treatment (home, module pages, worksheets, homework) and the therapist's
caseload and treatment record."""

import datetime

from django.contrib import messages
from django.db.models import Exists, F, Func, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Concat
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from ikbt.accounts.decorators import patient_required, staff_required
from ikbt.accounts.middleware import put_back_unsent, unsent_on_page
from ikbt.accounts.models import User
from ikbt.audit.actions import log_list_access
from ikbt.core.next_page import next_page
from ikbt.core.numbers import whole_number
from ikbt.core.submissions import submitted_once
from ikbt.core.workdays import add_working_days
from ikbt.intake.models import Registration
from ikbt.measurement.actions import current_version, response_start
from ikbt.measurement.chart import charts_for
from ikbt.measurement.models import InstrumentVersion, Response, RiskFlag
from ikbt.measurement.views import ANSWER_BACK
from ikbt.messaging.models import Message
from ikbt.organisations.actions import (
    AbsenceError,
    absence_cover_change,
    absence_end,
    absence_register,
)
from ikbt.organisations.models import StaffAbsence, StaffMembership, StaffRole
from ikbt.patients.access import (
    admin_unit_ids,
    care_relationships_for_staff,
    get_patient_for_staff,
    roles_for_patients,
)
from ikbt.patients.models import CareRelationship
from ikbt.programs.blocks import parse_page
from ikbt.programs.models import MeasurementPoint
from ikbt.programs.rendering import page_blocks, version_modules, version_parts
from ikbt.programs.worksheets import answers_from_post, put_back_typed, typed
from ikbt.treatment import actions
from ikbt.treatment.forms import (
    AbsenceForm,
    EndForm,
    FeedbackForm,
    NoteForm,
    ReplyTemplateForm,
    TimeEntryForm,
)
from ikbt.treatment.models import (
    Enrollment,
    ModuleProgress,
    ReplyTemplate,
    WorksheetAnswer,
)
from ikbt.treatment.outcome import compute_outcome
from ikbt.treatment.unlocking import unlocked_module_keys, when_it_opens

INACTIVE_DAYS = 7
# The waiting work the caseload counts per patient: (kind, the count's annotation, text).
WAITING_WORK = [
    ("message", "unanswered", gettext_lazy("Unanswered messages: %(count)d")),
    ("held", "held", gettext_lazy("Replies waiting for the supervisor: %(count)d")),
    ("held", "sent_back", gettext_lazy("Replies sent back by the supervisor: %(count)d")),
    ("homework", "homework_waiting", gettext_lazy("Homework waiting for feedback: %(count)d")),
    ("worksheet", "worksheets_waiting", gettext_lazy("Handed-in worksheets to read: %(count)d")),
    ("overdue", "overdue", gettext_lazy("Questionnaires overdue: %(count)d")),
]
# A questionnaire the patient opened from a module page, outside the measurement plan.
MODULE_OCCASION = "module"


def _patient_enrollment(request: HttpRequest, enrollment_id: int) -> Enrollment:
    return get_object_or_404(
        Enrollment.objects.select_related("program_version__program", "unit"),
        pk=enrollment_id,
        patient__user=request.user,
    )


def _modules_with_state(enrollment: Enrollment):
    modules = version_modules(enrollment.program_version)
    progress = {row.module_key: row for row in enrollment.progress.select_related("feedback_by")}
    unlocked = set(unlocked_module_keys(enrollment, modules, progress))
    return [(module, progress.get(module.key), module.key in unlocked) for module in modules]


@patient_required
def home(request: HttpRequest) -> HttpResponse:
    """What to do now: the next page, worksheets, questionnaires due, feedback and messages."""
    patient = request.user.patient
    enrollment = Enrollment.objects.going_on_for(patient)
    if enrollment is None:
        return render(
            request,
            "treatment/home.html",
            {"enrollment": None, "ended": Enrollment.objects.last_ended_for(patient)},
        )
    modules = _modules_with_state(enrollment)
    next_module = next(
        (module for module, row, is_open in modules if is_open and not (row and row.completed_at)),
        None,
    )
    due = list(
        Response.objects.askable()
        .filter(
            patient=patient,
            status=Response.Status.IN_PROGRESS,
            filled_in_by__isnull=True,
            due_at__lte=timezone.now(),
        )
        # A registration's screening belongs with her registrations, not this treatment.
        .exclude(occasion=MeasurementPoint.When.SCREENING)
        .select_related("instrument_version__instrument")
        .order_by("due_at")  # the most overdue first
    )
    unread = Message.objects.unread_by_patient(patient).count()
    feedback = [row for _, row, _ in modules if row and row.feedback_at]
    sheets = {sheet.key: sheet for sheet in enrollment.program_version.worksheets.all()}
    unfinished = [
        sheets[answer.worksheet_key]
        for answer in enrollment.worksheet_answers.filter(handed_in_at__isnull=True)
        if answer.worksheet_key in sheets
    ]
    return render(
        request,
        "treatment/home.html",
        {
            "enrollment": enrollment,
            "modules": [
                (
                    module,
                    row,
                    is_open,
                    ""
                    if is_open
                    else when_it_opens(
                        enrollment,
                        module,
                        modules[index - 1][0] if index else None,
                        modules[index - 1][1] if index else None,
                    ),
                )
                for index, (module, row, is_open) in enumerate(modules)
            ],
            "next_module": next_module,
            "due": due,
            "unread": unread,
            "feedback": sorted(feedback, key=lambda row: row.feedback_at, reverse=True)[:3],
            "unfinished": unfinished,
            "week": enrollment.week(),
            "started": enrollment.has_started(),
            "done": sum(1 for _, row, _ in modules if row and row.completed_at),
        },
    )


def _say_report_sent_already(request: HttpRequest, text: str) -> None:
    """Her homework report was sent before (from another tab or device, or while she was
    signed out): what she wrote now is shown to her, not lost."""
    messages.warning(
        request,
        _(
            "Your report had been sent already, so this text was not saved: “%(text)s” "
            "Write it to your therapist in a message."
        )
        % {"text": text.strip()},
    )


@patient_required
def module_page(request: HttpRequest, enrollment_id: int, key: str, number: int) -> HttpResponse:
    enrollment = _patient_enrollment(request, enrollment_id)
    modules = _modules_with_state(enrollment)
    found = next(
        ((module, row) for module, row, is_open in modules if module.key == key and is_open), None
    )
    if found is None:
        raise Http404
    module, progress = found
    pages = sorted(module.pages.all(), key=lambda page: page.position)
    if not 1 <= number <= len(pages):
        raise Http404
    page = pages[number - 1]
    parts = version_parts(enrollment.program_version)
    answers = {answer.worksheet_key: answer for answer in enrollment.worksheet_answers.all()}
    blocks = page_blocks(page, parts, request.GET, worksheet_answers=answers)
    asked = [block for block in blocks if block["kind"] == "questionnaire"]
    # When she last filled in each from a module (one query, only on pages that ask one).
    answered = (
        dict(
            Response.objects.filter(
                patient=enrollment.patient,
                occasion=MODULE_OCCASION,
                status=Response.Status.SUBMITTED,
                submitted_at__gte=enrollment.started_at,
                instrument_version__instrument__code__in=[block["code"] for block in asked],
            )
            .order_by("submitted_at")
            .values_list("instrument_version__instrument__code", "submitted_at")
        )
        if asked
        else {}
    )
    for block in asked:
        block["start_url"] = block["exists"] and reverse(
            "treatment:module_questionnaire", args=[enrollment.pk, block["code"]]
        )
        block["answered_at"] = answered.get(block["code"])
    if request.method == "POST" and request.htmx:
        kept = actions.homework_draft_save(
            enrollment, module.key, typed(request.POST.get("homework_report", ""))
        )
        return render(
            request,
            "treatment/_homework_saved.html",
            {"saved_at": timezone.now(), "already_sent": not kept},
        )
    if request.method == "POST" and number == len(pages):
        text = typed(request.POST.get("homework_report", ""))
        if not actions.module_complete(enrollment, module.key, text):
            _say_report_sent_already(request, text)
            return redirect("messaging:inbox")
        messages.success(request, _("Well done! The module is marked as done."))
        return redirect("treatment:home")
    # Sent after a time-out, the report and the worksheets are put back in their boxes.
    # (Kept over another form's redirect, they are put back without a word.)
    unsent = unsent_on_page(request)
    kept = unsent.get("homework_report", "")
    if kept and progress and progress.reported_at:
        if kept.strip() != progress.homework_report:
            _say_report_sent_already(request, kept)
        kept = ""
    elif kept and unsent.after_time_out:
        messages.info(
            request, _("What you wrote before you were signed out is in the box: send it.")
        )
    put_back = [
        put_back_typed(block["form"], unsent)
        for block in blocks
        if block["kind"] == "worksheet" and block["form"]
    ]
    if any(put_back) and unsent.after_time_out:
        messages.info(
            request,
            _("What you wrote before you were signed out is back in the worksheet: save it."),
        )
    return render(
        request,
        "treatment/module_page.html",
        {
            "enrollment": enrollment,
            "module": module,
            "progress": progress,
            "page": page,
            "blocks": blocks,
            "number": number,
            "count": len(pages),
            "is_last": number == len(pages),
            "homework_report": kept or (progress.homework_report if progress else ""),
        },
    )


@patient_required
@require_POST
def module_questionnaire(request: HttpRequest, enrollment_id: int, code: str) -> HttpResponse:
    """A questionnaire a page of the patient's program asks her to fill in: the one of that
    questionnaire she has open, or a new one (she is not asked twice)."""
    enrollment = _patient_enrollment(request, enrollment_id)
    asked = {
        block.argument
        for module, _progress, is_open in _modules_with_state(enrollment)
        if is_open
        for page in module.pages.all()
        for block in parse_page(page.source)
        if block.kind == "questionnaire"
    }
    if code not in asked:
        raise Http404
    response = (
        Response.objects.filter(
            patient=enrollment.patient,
            instrument_version__instrument__code=code,
            status=Response.Status.IN_PROGRESS,
            due_at__lte=timezone.now(),
            filled_in_by__isnull=True,  # one staff are filling in with her is theirs to finish
        )
        .order_by("due_at")
        .first()
    )
    if response is None:
        try:
            version = current_version(code)
        except InstrumentVersion.DoesNotExist:
            raise Http404 from None
        response = response_start(
            enrollment.patient, version, unit=enrollment.unit, occasion=MODULE_OCCASION
        )
    # Once answered, back to the module page she came from (one of her treatment's).
    back = request.POST.get("back", "")
    modules = reverse("treatment:module_page", args=[enrollment.pk, "x", 1]).rsplit("x/1/")[0]
    if back.startswith(modules):
        request.session[ANSWER_BACK] = {str(response.key): back}
    return redirect("measurement:answer", key=response.key)


@patient_required
@require_POST
def worksheet_save(request: HttpRequest, enrollment_id: int, key: str) -> HttpResponse:
    """Autosave (htmx, on every change) and hand in. A save from a device that loaded an
    older revision is refused with 409 and the text it sent is shown back, so nothing is lost."""
    enrollment = _patient_enrollment(request, enrollment_id)
    sheet = get_object_or_404(enrollment.program_version.worksheets, key=key)
    data = answers_from_post(sheet.fields, request.POST)
    revision = whole_number(request.POST.get("revision", "0"))
    if revision is None:
        raise Http404
    back = next_page(request, "treatment:home")  # the module page the worksheet was on
    try:
        answer = actions.worksheet_save(enrollment, key, data, revision=revision)
    except actions.WorksheetConflict as conflict:
        return render(
            request,
            "treatment/_worksheet_conflict.html"
            if request.htmx
            else "treatment/worksheet_conflict.html",
            {
                "current": conflict.current,
                "rows": _answer_rows(sheet, data),
                "sheet": sheet,
                "enrollment": enrollment,
                "back": back,
            },
            status=409,
        )
    if "hand_in" in request.POST:
        actions.worksheet_hand_in(answer)
    if request.htmx:
        return render(
            request, "treatment/_worksheet_saved.html", {"answer": answer, "sheet": sheet}
        )
    messages.success(
        request,
        _("Saved.") if "hand_in" not in request.POST else _("Handed in to your therapist."),
    )
    return redirect(back)


# --- Therapist ----------------------------------------------------------------------------


def _per_enrollment(related, function: str, field: str = "pk") -> Subquery:
    """One figure per enrollment (COUNT, MIN or MAX of ``field``) from a related table, as a
    subquery: joining several related tables in one query would multiply their rows (each
    message by each answer by each worksheet) before counting."""
    return Subquery(
        related.order_by().annotate(figure=Func(F(field), function=function)).values("figure")
    )


@staff_required
def caseload(request: HttpRequest) -> HttpResponse:
    """The therapist's patients in treatment, sorted by what needs them, each with why."""
    now = timezone.now()
    # Treatments at the units where she is in the patient's care (as the record opens them).
    in_care_there = care_relationships_for_staff(request.user).filter(
        patient_id=OuterRef("patient_id"), unit_id=OuterRef("unit_id")
    )
    open_flags = RiskFlag.objects.filter(
        patient=OuterRef("patient_id"), acknowledged_at__isnull=True
    )
    from_patient = Message.objects.filter(
        thread__patient=OuterRef("patient_id"), sender__kind="patient"
    )
    # Read is not answered: a message opened and left waits until a reply reaches her.
    unanswered = from_patient.filter(answered_at__isnull=True)
    held = Message.objects.filter(thread__patient=OuterRef("patient_id"), held_for_review=True)
    sent_back = held.filter(returned_at__isnull=False)
    answered = Response.objects.filter(
        patient=OuterRef("patient_id"), status=Response.Status.SUBMITTED, filled_in_by__isnull=True
    )
    # Whose patient it is: for a unit head or a colleague covering, among others' patients.
    responsible = (
        CareRelationship.objects.active()
        .filter(
            patient=OuterRef("patient_id"),
            unit=OuterRef("unit_id"),
            role=CareRelationship.Role.RESPONSIBLE_THERAPIST,
        )
        .order_by("-started_at")  # during a handover, the one taking over
    )
    progress = ModuleProgress.objects.filter(enrollment=OuterRef("pk"))
    worksheets = WorksheetAnswer.objects.filter(enrollment=OuterRef("pk"))
    unreviewed = worksheets.filter(reviewed_at__isnull=True)
    enrollments = (
        Enrollment.objects.filter(Exists(in_care_there), status=Enrollment.Status.ACTIVE)
        .select_related("patient", "unit", "program_version")
        # What the rows show, no more: not the patients' identity numbers or addresses.
        .only(
            "started_at",
            "patient__given_name",
            "patient__family_name",
            "unit__reply_within_days",
            "program_version__number",
            "program_version__title_sv",
            "program_version__title_en",
        )
        .annotate(
            open_flags=_per_enrollment(open_flags, "COUNT"),
            oldest_flag=_per_enrollment(open_flags, "MAX", "raised_at"),
            unanswered=_per_enrollment(unanswered, "COUNT"),
            oldest_unanswered=_per_enrollment(unanswered, "MIN", "sent_at"),
            last_message=_per_enrollment(from_patient, "MAX", "sent_at"),
            responsible_id=Subquery(responsible.values("staff_id")[:1]),
            responsible_name=Subquery(
                responsible.annotate(
                    name=Concat("staff__first_name", Value(" "), "staff__last_name")
                ).values("name")[:1]
            ),
            held=_per_enrollment(held.filter(returned_at__isnull=True), "COUNT"),
            sent_back=_per_enrollment(sent_back, "COUNT"),
            last_answer=_per_enrollment(answered, "MAX", "submitted_at"),
            homework_waiting=_per_enrollment(
                progress.filter(reported_at__isnull=False, feedback_at__isnull=True), "COUNT"
            ),
            last_module=_per_enrollment(progress, "MAX", "completed_at"),
            worksheets_waiting=_per_enrollment(
                unreviewed.filter(handed_in_at__isnull=False), "COUNT"
            ),
            oldest_handed_in=_per_enrollment(unreviewed, "MIN", "handed_in_at"),
            last_worksheet=_per_enrollment(worksheets, "MAX", "updated_at"),
            overdue=_per_enrollment(
                Response.objects.askable().filter(
                    patient=OuterRef("patient_id"),
                    status=Response.Status.IN_PROGRESS,
                    started_at__lt=now - datetime.timedelta(days=7),
                ),
                "COUNT",
            ),
        )
    )
    rows = []
    for enrollment in enrollments:
        # What the patient did last: a worksheet, a module, a questionnaire or a message.
        last_activity = max(
            filter(
                None,
                [
                    enrollment.last_worksheet,
                    enrollment.last_module,
                    enrollment.last_answer,
                    enrollment.last_message,
                    min(enrollment.started_at, now),  # a start to come is no activity
                ],
            )
        )
        reasons = []
        if enrollment.open_flags:
            reasons.append(("risk", _("Risk flag"), enrollment.oldest_flag))
        deadline = enrollment.unit.reply_within_days
        if (
            enrollment.oldest_unanswered
            and add_working_days(enrollment.oldest_unanswered, deadline) <= now
        ):
            reasons.append(("late", _("Reply overdue"), enrollment.oldest_unanswered))
        oldest_hand_in = enrollment.oldest_handed_in
        if oldest_hand_in and add_working_days(oldest_hand_in, deadline) <= now:
            reasons.append(("late", _("Hand-in overdue"), oldest_hand_in))
        for kind, count_name, text in WAITING_WORK:
            count = getattr(enrollment, count_name)
            if count:
                reasons.append((kind, text % {"count": count}, None))
        if now - last_activity > datetime.timedelta(days=INACTIVE_DAYS):
            reasons.append(
                (
                    "inactive",
                    _("Inactive for %(days)d days") % {"days": (now - last_activity).days},
                    None,  # the days are said; the last activity has its own column
                )
            )
        rows.append({"enrollment": enrollment, "reasons": reasons, "last_activity": last_activity})
    order = ["risk", "late", "message", "held", "homework", "worksheet", "overdue", "inactive"]
    rows.sort(
        key=lambda row: min(
            (order.index(reason[0]) for reason in row["reasons"]), default=len(order)
        )
    )
    roles = roles_for_patients(request.user, [row["enrollment"].patient_id for row in rows])
    log_list_access(
        request.user,
        request,
        [
            (
                row["enrollment"].patient,
                row["enrollment"].unit,
                roles.get((row["enrollment"].patient_id, row["enrollment"].unit_id), ""),
            )
            for row in rows
        ],
        detail="caseload",
    )
    others = any(row["enrollment"].responsible_id != request.user.pk for row in rows)
    return render(request, "treatment/caseload.html", {"rows": rows, "now": now, "others": others})


def _staff_enrollment(request: HttpRequest, enrollment_id: int, **log) -> Enrollment:
    """The treatment, for someone in the patient's care at its unit: a therapist who treats
    her at another unit does not open it (404, as for a treatment that does not exist)."""
    placed = (
        Enrollment.objects.filter(pk=enrollment_id).values_list("patient_id", "unit_id").first()
    )
    if placed is None:
        raise Http404
    patient_id, unit_id = placed
    get_patient_for_staff(request, patient_id, unit_id=unit_id, **log)
    return Enrollment.objects.select_related("patient", "unit", "program_version__program").get(
        pk=enrollment_id
    )


@staff_required
@submitted_once
def record(request: HttpRequest, enrollment_id: int) -> HttpResponse:
    """The treatment record: modules with progress, homework and feedback, worksheets."""
    enrollment = _staff_enrollment(request, enrollment_id, detail="treatment record")
    post = request.POST if request.method == "POST" else {}
    # What was typed in the page's other boxes when one form was sent (unsent.js), or before
    # a time-out: put back where it was.
    unsent = unsent_on_page(request)
    record_forms = {
        "feedback_form": FeedbackForm(
            post if "feedback" in post else None,
            modules=version_modules(enrollment.program_version),
        ),
        # A note sent after a time-out is kept by its field's name.
        "note_form": NoteForm(
            post if "note" in post else None, initial={"note": unsent.get("note", "")}
        ),
        "time_form": TimeEntryForm(post if "minutes" in post else None),
        "end_form": EndForm(post if "end" in post else None),
    }
    put_back_unsent(unsent, *record_forms.values())
    if request.method == "POST" and _record_action(request, enrollment, **record_forms):
        return redirect(request.path)
    modules = _modules_with_state(enrollment)
    sheets = {sheet.key: sheet for sheet in enrollment.program_version.worksheets.all()}
    answers = [
        (
            answer,
            sheets.get(answer.worksheet_key),
            _answer_rows(sheets.get(answer.worksheet_key), answer.data),
        )
        for answer in enrollment.worksheet_answers.order_by("-updated_at")
    ]
    templates = list(ReplyTemplate.objects.filter(owner=request.user))
    chosen = next((t for t in templates if str(t.pk) == request.GET.get("mall")), None)
    # The assessment that accepted her for this treatment: the problem, the risks and why
    # internet treatment suits her, for a responsible therapist who did not assess her.
    intake = (
        Registration.objects.filter(
            patient_id=enrollment.patient_id,
            offering__unit_id=enrollment.unit_id,
            offering__program_id=enrollment.program_version.program_id,
            status=Registration.Status.ACCEPTED,
        )
        .select_related("decided_by")
        .order_by("-decided_at")
        .first()
    )
    return render(
        request,
        "treatment/record.html",
        {
            "enrollment": enrollment,
            "intake": intake,
            # Each module with the feedback to put in its box: kept from before, or the
            # reply template chosen for it.
            "modules": [
                (
                    module,
                    row,
                    is_open,
                    unsent.get(f"feedback-{module.key}")
                    or (chosen.text if chosen and request.GET.get("modul") == module.key else ""),
                )
                for module, row, is_open in modules
            ],
            "answers": answers,
            "notes": list(enrollment.notes.select_related("author")),
            "ledger": _ledger(enrollment),
            "templates": templates,
            "outcome": compute_outcome(enrollment),
            "open_flags": list(
                RiskFlag.objects.open()
                .filter(patient=enrollment.patient)
                .select_related("response__instrument_version__instrument")
                .order_by("raised_at")
            ),
            "timeline": _timeline(enrollment, modules, answers),
            **record_forms,
        },
    )


def _timeline(enrollment: Enrollment, modules, answers) -> list[tuple]:
    """Everything that happened in the treatment, newest first: (time, who, what).
    ``answers`` are the record's (worksheet answer, worksheet, rows)."""
    patient = enrollment.patient
    events = []
    for module, row, _is_open in modules:
        if row is None:
            continue
        if row.completed_at:
            events.append(
                (
                    row.completed_at,
                    "patient",
                    _("Finished module %(title)s") % {"title": module.title},
                )
            )
        if row.reported_at:
            events.append(
                (
                    row.reported_at,
                    "patient",
                    _("Reported homework for %(title)s") % {"title": module.title},
                )
            )
        if row.feedback_at:
            events.append(
                (row.feedback_at, "staff", _("Feedback on %(title)s") % {"title": module.title})
            )
    for answer, sheet, _rows in answers:
        name = {"key": sheet.title if sheet else answer.worksheet_key}
        events.append((answer.updated_at, "patient", _("Worked on worksheet %(key)s") % name))
        if answer.handed_in_at:
            events.append(
                (answer.handed_in_at, "patient", _("Handed in worksheet %(key)s") % name)
            )
    for response in Response.objects.filter(
        patient=patient, status=Response.Status.SUBMITTED
    ).select_related("instrument_version__instrument", "risk_flag__acknowledged_by"):
        code = response.instrument_version.instrument.code
        events.append(
            (
                response.submitted_at,
                "patient",
                _("Answered %(code)s: %(total)s") % {"code": code, "total": response.total},
            )
        )
        # A critical answer's flag, and who acted on it: part of the treatment's story.
        flag = getattr(response, "risk_flag", None)
        if flag is not None:
            events.append((flag.raised_at, "patient", _("Risk flag on %(code)s") % {"code": code}))
        if flag is not None and flag.acknowledged_at:
            by = flag.acknowledged_by.get_full_name() if flag.acknowledged_by else "–"
            events.append(
                (
                    flag.acknowledged_at,
                    "staff",
                    _("Risk flag on %(code)s acted on by %(name)s") % {"code": code, "name": by},
                )
            )
    for message in Message.objects.filter(
        thread__patient=patient, held_for_review=False
    ).select_related("sender"):
        who = "patient" if message.from_patient else "staff"
        events.append(
            (
                message.sent_at,
                who,
                _("Message from %(name)s") % {"name": message.sender.get_full_name()},
            )
        )
    if enrollment.ended_at:
        events.append(
            (
                enrollment.ended_at,
                "staff",
                _("Treatment ended: %(reason)s") % {"reason": enrollment.get_end_reason_display()},
            )
        )
    return sorted(events, key=lambda event: event[0], reverse=True)


TARGET_MINUTES = (10, 20)


def _ledger(enrollment: Enrollment) -> list[dict]:
    """Minutes per treatment week, against the field's 10-20 minutes a week."""
    started = timezone.localdate(enrollment.started_at)
    weeks: dict[int, int] = {}
    for entry in enrollment.time_entries.all():
        week = max(1, (entry.day - started).days // 7 + 1)
        weeks[week] = weeks.get(week, 0) + entry.minutes
    return [
        {
            "week": week,
            "minutes": minutes,
            "within": TARGET_MINUTES[0] <= minutes <= TARGET_MINUTES[1],
        }
        for week, minutes in sorted(weeks.items())
    ]


def _answer_rows(sheet, data: dict) -> list[dict]:
    """Each field's label with the patient's answer, for reading."""
    fields = (
        sheet.fields if sheet else [{"key": key, "label": key, "kind": "text"} for key in data]
    )
    return [{**field, "value": data.get(field["key"])} for field in fields]


def _record_action(
    request: HttpRequest,
    enrollment: Enrollment,
    *,
    feedback_form: FeedbackForm,
    note_form: NoteForm,
    time_form: TimeEntryForm,
    end_form: EndForm,
) -> bool:
    """Does what one of the record's forms or buttons asks; False when that form is to be
    shown again with what was typed and why it was not accepted."""
    by = {"by": request.user, "request": request}
    if feedback_form.is_bound:
        if "module" in feedback_form.errors:  # the hidden field, not something typed
            messages.error(request, feedback_form.errors["module"][0])
            return True
        if not feedback_form.is_valid():
            return False
        data = feedback_form.cleaned_data
        actions.feedback_give(enrollment, data["module"], data["feedback"], **by)
        messages.success(request, _("The feedback is sent."))
    elif note_form.is_bound:
        if not note_form.is_valid():
            return False
        actions.note_add(enrollment, note_form.cleaned_data["note"], **by)
        messages.success(request, _("The note is saved."))
    elif time_form.is_bound:
        if not time_form.is_valid():
            return False
        data = time_form.cleaned_data
        actions.time_add(
            enrollment, data["minutes"], data["what"], by=request.user, request=request
        )
        messages.success(request, _("The time is added to the ledger."))
    elif end_form.is_bound:
        return _record_end(request, enrollment, end_form)
    else:
        _record_button(request, enrollment)
    return True


def _record_end(request: HttpRequest, enrollment: Enrollment, form: EndForm) -> bool:
    if not form.is_valid():
        return False
    try:
        actions.enrollment_end(
            enrollment,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["end_note"],
            by=request.user,
            request=request,
        )
    except actions.TreatmentError as error:
        form.add_error(None, str(error))
        return False
    messages.success(
        request,
        _(
            "The treatment is ended. The post-treatment questionnaires are sent now, and each "
            "follow-up when it is due."
        ),
    )
    return True


def _record_button(request: HttpRequest, enrollment: Enrollment) -> None:
    """The record's one-click buttons: unlock or lock a module, pause or resume, extend,
    mark a worksheet read. Anything else sent is ignored."""
    post, by = request.POST, {"by": request.user, "request": request}
    if enrollment.status == Enrollment.Status.ENDED and {"unlock", "pause", "extend"} & set(post):
        # An old page's button: an ended treatment's modules and length stay as they were.
        messages.error(request, _("The treatment has ended: it is not changed."))
    elif "unlock" in post:
        key = post.get("module", "")
        modules = version_modules(enrollment.program_version)
        titles = {module.key: module.title for module in modules}
        if key in titles:
            unlock = post["unlock"] == "1"
            actions.module_unlock_by_hand(enrollment, key, unlock=unlock, **by)
            messages.success(
                request,
                (
                    _("“%(module)s” is open to the patient now.")
                    if unlock
                    else _("“%(module)s” is locked again.")
                )
                % {"module": titles[key]},
            )
        else:
            messages.error(request, _("There is no such module in this program."))
    elif "pause" in post:
        paused = post["pause"] == "1"
        actions.enrollment_pause(enrollment, paused=paused, **by)
        messages.success(
            request,
            _("The treatment is paused.") if paused else _("The treatment goes on again."),
        )
    elif "extend" in post:
        weeks = whole_number(post.get("extend"))
        if weeks is not None and 0 < weeks <= 12:
            actions.enrollment_extend(enrollment, weeks=weeks, **by)
            messages.success(
                request,
                ngettext(
                    "The treatment is extended by %(weeks)d week.",
                    "The treatment is extended by %(weeks)d weeks.",
                    weeks,
                )
                % {"weeks": weeks},
            )
    elif "read_worksheet" in post:
        answer = get_object_or_404(
            enrollment.worksheet_answers, pk=whole_number(post["read_worksheet"])
        )
        actions.worksheet_mark_read(answer, request.user, request=request)
        messages.success(request, _("The worksheet is marked as read."))


@staff_required
def reply_templates(request: HttpRequest) -> HttpResponse:
    """The therapist's own texts for common feedback."""
    if "delete" in request.POST:
        delete = whole_number(request.POST["delete"])
        if delete is not None:
            actions.reply_template_delete(request.user, delete)
        return redirect("treatment:reply_templates")
    templates = list(ReplyTemplate.objects.filter(owner=request.user))
    changing = None  # the template whose change was refused, with its form as typed
    if "change" in request.POST:
        template = next(
            (t for t in templates if t.pk == whole_number(request.POST["change"])), None
        )
        if template is None:
            raise Http404
        changed = ReplyTemplateForm(request.POST, prefix=f"t{template.pk}")
        if changed.is_valid():
            actions.reply_template_change(template, **changed.cleaned_data)
            messages.success(request, _("The template is changed."))
            return redirect("treatment:reply_templates")
        changing = (template.pk, changed)
    form = ReplyTemplateForm(request.POST if "change" not in request.POST else None)
    if form.is_bound and form.is_valid():
        actions.reply_template_save(request.user, **form.cleaned_data)
        messages.success(request, _("The template is saved."))
        return redirect("treatment:reply_templates")
    return render(
        request,
        "treatment/reply_templates.html",
        {
            "templates": [
                (
                    template,
                    changing[1]
                    if changing and changing[0] == template.pk
                    else ReplyTemplateForm(instance=template, prefix=f"t{template.pk}"),
                )
                for template in templates
            ],
            "changing": changing[0] if changing else None,
            "form": form,
        },
    )


@staff_required
def absences(request: HttpRequest) -> HttpResponse:
    """Mark yourself away and name who covers your patients; see whom you cover."""
    units = StaffMembership.objects.filter(user=request.user).values("unit_id")
    # A unit administrator also marks the unit's therapists away (a sudden illness).
    administered = admin_unit_ids(request.user)
    # Covering gives access to the patients: only therapists of the same units can. One who
    # marks only herself away does not cover herself; a unit head marking another may (the
    # action refuses the one who is away).
    colleagues = (
        User.objects.filter(
            memberships__unit_id__in=units,
            memberships__role=StaffRole.THERAPIST,
            kind=User.Kind.STAFF,
            is_active=True,
        )
        .distinct()
        .order_by("last_name")
        # Each named with the units she works at, where one has several: a cover must work
        # where the one away does.
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=StaffMembership.objects.filter(
                    unit_id__in=units, role=StaffRole.THERAPIST
                ).select_related("unit"),
                to_attr="therapist_at",
            )
        )
    )
    if not administered:
        colleagues = colleagues.exclude(pk=request.user.pk)
    absentees = (
        User.objects.filter(
            memberships__unit_id__in=administered,
            memberships__role=StaffRole.THERAPIST,
            is_active=True,
        )
        .distinct()
        .order_by("last_name", "first_name")
        if administered
        else None
    )
    today = timezone.localdate()
    # Her own absences not over, and those at the units she heads: hers to end or re-cover.
    changeable = StaffAbsence.objects.filter(
        Q(staff=request.user) | Q(staff__memberships__unit_id__in=administered),
        ends_on__gte=today,
    ).distinct()
    if request.method == "POST" and "cover_for" in request.POST:
        absence = changeable.filter(pk=whole_number(request.POST["cover_for"]) or 0).first()
        cover = colleagues.filter(pk=whole_number(request.POST.get("cover", "")) or 0).first()
        if absence is None:
            messages.info(request, _("The absence is already over."))
        else:
            try:
                absence_cover_change(absence, cover, by=request.user)
            except AbsenceError as error:
                messages.error(request, str(error))
            else:
                messages.success(
                    request,
                    _("From now on %(name)s covers.") % {"name": cover.get_full_name()}
                    if cover
                    else _("From now on the unit's administrators cover."),
                )
        return redirect("treatment:absences")
    if request.method == "POST" and "end" in request.POST:
        # Back early, or the plan changed: her own absence, or one at a unit she heads.
        absence = changeable.filter(pk=whole_number(request.POST["end"]) or 0).first()
        if absence is None:  # a second click, or not hers to end
            messages.info(request, _("The absence is already over."))
        elif absence_end(absence, by=request.user):
            messages.success(request, _("The absence is cancelled."))
        else:
            messages.success(
                request,
                _("The absence is over: from today the cover no longer sees the patients."),
            )
        return redirect("treatment:absences")
    form = AbsenceForm(request.POST or None, colleagues=colleagues, absentees=absentees)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        away = data.pop("staff", None) or request.user
        try:
            absence_register(away, by=request.user, **data)
        except AbsenceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("Your absence is registered.")
                if away == request.user
                else _("The absence of %(name)s is registered.") % {"name": away.get_full_name()},
            )
            return redirect("treatment:absences")
    return render(
        request,
        "treatment/absences.html",
        {
            "form": form,
            # Who may cover instead, for each absence's own choice (one query for them all).
            "covers": [(str(value), label) for value, label in form.fields["cover"].choices],
            "today": today,
            "mine": list(
                StaffAbsence.objects.filter(staff=request.user, ends_on__gte=today).select_related(
                    "cover", "registered_by"
                )
            ),
            "covering": list(
                StaffAbsence.objects.filter(cover=request.user, ends_on__gte=today).select_related(
                    "staff"
                )
            ),
            "at_my_units": list(
                StaffAbsence.objects.filter(
                    staff__memberships__unit_id__in=administered, ends_on__gte=today
                )
                .exclude(staff=request.user)
                .select_related("staff", "cover", "registered_by")
                .distinct()
                .order_by("starts_on")
            )
            if administered
            else [],
        },
    )


@patient_required
def summary(request: HttpRequest) -> HttpResponse:
    """Everything from the treatment on one printable page: modules, scores, worksheets and
    messages (the browser's "Print" or "Save as PDF" makes the document)."""
    patient = request.user.patient
    enrollment = (
        patient.enrollments.select_related("program_version__program", "unit")
        .order_by("-started_at")
        .first()
    )
    if enrollment is None:
        raise Http404
    sheets = {sheet.key: sheet for sheet in enrollment.program_version.worksheets.all()}
    responses = list(
        Response.objects.filter(patient=patient, status=Response.Status.SUBMITTED)
        .select_related("instrument_version__instrument", "filled_in_by")
        .order_by("submitted_at")
    )
    threads = list(
        patient.threads.prefetch_related(
            Prefetch(
                "messages",
                queryset=Message.objects.filter(held_for_review=False).select_related("sender"),
            )
        )
    )
    return render(
        request,
        "treatment/summary.html",
        {
            "patient": patient,
            "enrollment": enrollment,
            "modules": _modules_with_state(enrollment),
            "charts": charts_for(
                responses, translation.get_language(), enrollment.started_at, for_patient=True
            ),
            "answers": [
                (
                    answer,
                    sheets.get(answer.worksheet_key),
                    _answer_rows(sheets.get(answer.worksheet_key), answer.data),
                )
                for answer in enrollment.worksheet_answers.order_by("updated_at")
            ],
            "threads": threads,
            "outcome": compute_outcome(enrollment),
        },
    )
