"""The unit head's pages: how patients reach the unit, who works there, who supervises whom."""

import copy

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ikbt.accounts.decorators import staff_required
from ikbt.accounts.middleware import put_back_unsent, unsent_on_page
from ikbt.accounts.models import User
from ikbt.core.numbers import whole_number
from ikbt.core.submissions import submitted_once
from ikbt.organisations.access import (
    get_unit_to_manage,
    regions_administered,
    roles_to_give,
    staff_changes,
    staff_with_role,
    units_managed,
)
from ikbt.organisations.actions import (
    OWN_ROLES_KEPT,
    StaffError,
    SupervisionError,
    UnitError,
    has_signed_in,
    staff_account_close,
    staff_account_open,
    staff_account_reset,
    staff_add,
    staff_email_change,
    staff_password_link,
    staff_role_remove,
    supervision_end,
    supervision_start,
    training_record,
    unit_add,
    unit_contact_set,
    unit_details_set,
    unit_reply_time_set,
)
from ikbt.organisations.forms import (
    StaffAddForm,
    StaffEmailForm,
    SupervisionForm,
    TrainingForm,
    UnitContactForm,
    UnitDetailsForm,
    UnitForm,
    UnitReplyTimeForm,
)
from ikbt.organisations.models import (
    CareUnit,
    StaffAbsence,
    StaffMembership,
    StaffRole,
    Supervision,
    Training,
)
from ikbt.programs.models import Program, program_titles


@staff_required
@submitted_once
def units(request: HttpRequest) -> HttpResponse:
    """The units the signed-in person runs; a region's administrator also adds units."""
    mine = list(
        units_managed(request.user).select_related("region").order_by("region__code", "name")
    )
    regions = regions_administered(request.user).order_by("code")
    administered = list(regions)
    if not mine and not administered:
        raise Http404
    form = UnitForm(request.POST or None, regions=regions) if administered else None
    if request.method == "POST":
        if form is None:  # only a region's administrators add units
            raise Http404
        if form.is_valid():
            try:
                unit = unit_add(by=request.user, **form.cleaned_data)
            except UnitError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request,
                    _("%(name)s is added. Give it a unit administrator.") % {"name": unit.name},
                )
                return redirect(_page_top(unit))
    return render(request, "organisations/units.html", {"units": mine, "form": form})


def _staff(unit: CareUnit, roles, me: User, email_form: StaffEmailForm | None) -> list[dict]:
    """Each person working at the unit once, with their roles there (each marked whether
    ``me`` may take it away: one of ``roles``, and not their own as administrator) and any
    absence today; for a region's administrator, the form for their e-mail address
    (``email_form`` where it was just sent for them and refused)."""
    away = {
        absence.staff_id: absence
        for absence in StaffAbsence.objects.on(timezone.localdate())
        .filter(staff__memberships__unit=unit)
        .select_related("cover")
    }
    people: dict[int, dict] = {}
    for membership in (
        StaffMembership.objects.filter(unit=unit)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "role")
    ):
        person = people.get(membership.user_id)
        if person is None:
            person = people[membership.user_id] = {
                "user": membership.user,
                "memberships": [],
                "away": away.get(membership.user_id),
                # For someone who has not signed in yet (``staff_email_change``), and where
                # the form just sent for them was refused, with the reason.
                "email_form": _email_form(membership.user, email_form)
                if StaffRole.REGION_ADMIN in roles
                and (
                    not has_signed_in(membership.user)
                    or (email_form is not None and email_form.person_id == membership.user_id)
                )
                else None,
            }
        membership.removable = membership.role in roles and not (
            membership.user_id == me.pk and membership.role in OWN_ROLES_KEPT
        )
        person["memberships"].append(membership)
    return list(people.values())


def _training(therapists: list[User], programs: list[tuple[int, str]]) -> list[dict]:
    """Each therapist with the day they completed the course in internet CBT and, for each of
    ``programs`` in turn, its title and the day of its introduction (None: none recorded)."""
    completed = {
        (training.staff_id, training.program_id): training.completed_on
        for training in Training.objects.filter(staff__in=therapists).only(
            "staff_id", "program_id", "completed_on"
        )
    }
    return [
        {
            "user": therapist,
            "course": completed.get((therapist.pk, None)),
            "programs": [(title, completed.get((therapist.pk, pk))) for pk, title in programs],
        }
        for therapist in therapists
    ]


def own_work(user: User) -> dict:
    """What a staff member's account page shows of their own work: their roles at each unit,
    the supervisions going on where they are supervised or supervise, and for a therapist
    the course in internet CBT and the introductions to the programs their units offer (or
    that they were introduced to elsewhere), None where none is recorded. Five queries at
    most, whatever the number of units and programs."""
    memberships = list(
        StaffMembership.objects.filter(user=user)
        .select_related("unit__region")
        .order_by("unit__region__code", "unit__name", "role")
    )
    supervisions = list(
        Supervision.objects.filter(Q(supervisor=user) | Q(supervisee=user), ended_on__isnull=True)
        .select_related("supervisor", "supervisee", "unit")
        .order_by("started_on", "pk")
    )
    therapist_units = [m.unit_id for m in memberships if m.role == StaffRole.THERAPIST]
    training = None
    if therapist_units:
        programs = list(
            Program.objects.filter(
                Q(offerings__unit_id__in=therapist_units) | Q(trainings__staff=user)
            )
            .distinct()
            .order_by("slug")
            .only("slug")
        )
        titles = program_titles(programs)
        [training] = _training([user], [(program.pk, titles[program.pk]) for program in programs])
    return {
        "memberships": memberships,
        "supervised_by": [s for s in supervisions if s.supervisee_id == user.pk],
        "supervising": [s for s in supervisions if s.supervisor_id == user.pk],
        "training": training,
    }


def _email_form(person: User, sent: StaffEmailForm | None) -> StaffEmailForm:
    if sent is not None and sent.person_id == person.pk:
        return sent
    return StaffEmailForm(initial={"id": person.pk, "email": person.email}, person_id=person.pk)


def _page_top(unit: CareUnit) -> str:
    """The unit page at its top, where the message about what was done is shown (a form's
    address ends in its own section, so that a refused form comes back in sight)."""
    return reverse("organisations:unit", args=[unit.pk]) + "#main"


# What each form of the unit page does; each returns what to tell the unit head.
def _save_contact(request: HttpRequest, unit: CareUnit, form: UnitContactForm) -> str:
    unit_contact_set(unit, **form.cleaned_data)
    return _("The unit's contact details are saved.")


def _save_details(request: HttpRequest, unit: CareUnit, form: UnitDetailsForm) -> str:
    unit_details_set(unit, by=request.user, **form.cleaned_data)
    return _("The unit's name, type and HSA-id are saved.")


def _change_email(request: HttpRequest, unit: CareUnit, form: StaffEmailForm) -> str:
    colleague = _colleague(unit, form.cleaned_data["id"])
    if not staff_email_change(
        colleague, email=form.cleaned_data["email"], unit=unit, by=request.user
    ):
        return _("The e-mail address of %(name)s is unchanged.") % {
            "name": colleague.get_full_name()
        }
    colleague.refresh_from_db(fields=["email", "username"])
    done = _("The e-mail address of %(name)s is %(email)s now.") % {
        "name": colleague.get_full_name(),
        "email": colleague.email,
    }
    if colleague.is_active:  # someone who has not signed in yet: the link goes again
        done += " " + _("A link to choose a password is on its way there.")
    return done


def _save_reply_time(request: HttpRequest, unit: CareUnit, form: UnitReplyTimeForm) -> str:
    unit_reply_time_set(unit, **form.cleaned_data)
    return _("The time to answer is saved.")


def _add_staff(request: HttpRequest, unit: CareUnit, form: StaffAddForm) -> str:
    user, created = staff_add(unit, by=request.user, **form.cleaned_data)
    if created:
        return _(
            "%(name)s has an account now. A link to choose a password is on its way to %(email)s."
        ) % {"name": user.get_full_name(), "email": user.email}
    role = StaffRole(form.cleaned_data["role"]).label.lower()
    return _("%(name)s is %(role)s at the unit now.") % {
        "name": user.get_full_name(),
        "role": role,
    }


def _record_training(request: HttpRequest, unit: CareUnit, form: TrainingForm) -> str:
    training_record(
        form.cleaned_data["staff"],
        program_id=form.cleaned_data["course"],
        completed_on=form.cleaned_data["completed_on"],
        unit=unit,
        by=request.user,
    )
    return _("The training of %(name)s is recorded: completed on %(day)s.") % {
        "name": form.cleaned_data["staff"].get_full_name(),
        "day": form.cleaned_data["completed_on"].isoformat(),
    }


def _start_supervision(request: HttpRequest, unit: CareUnit, form: SupervisionForm) -> str:
    supervision_start(unit, by=request.user, **form.cleaned_data)
    return _("The supervision starts today.")


def _end_supervision(request: HttpRequest, unit: CareUnit, pk: int | None, _roles) -> str:
    # Ended already (a second click) is no error: the action does nothing again.
    supervision_end(get_object_or_404(Supervision, unit=unit, pk=pk), by=request.user)
    return _("The supervision has ended.")


def _remove_role(request: HttpRequest, unit: CareUnit, pk: int | None, roles) -> str:
    membership = get_object_or_404(
        StaffMembership.objects.select_related("user"), unit=unit, role__in=roles, pk=pk
    )
    staff_role_remove(membership, by=request.user)
    return _("%(name)s is no longer %(role)s at the unit.") % {
        "name": membership.user.get_full_name(),
        "role": membership.get_role_display().lower(),
    }


def _colleague(unit: CareUnit, pk: int | None) -> User:
    """A staff member with a role at ``unit``, closed accounts included; otherwise 404."""
    return get_object_or_404(
        User.objects.filter(kind=User.Kind.STAFF, memberships__unit=unit).distinct(), pk=pk
    )


def _send_password_link(request: HttpRequest, unit: CareUnit, pk: int | None, _roles) -> str:
    colleague = _colleague(unit, pk)
    if not colleague.is_active:
        raise Http404  # a closed account chooses no password
    staff_password_link(colleague)
    return _("A link to choose a new password is on its way to %(email)s.") % {
        "email": colleague.email
    }


def _close_account(request: HttpRequest, unit: CareUnit, pk: int | None, _roles) -> str:
    # Closed already (a second click) is no error: the action does nothing again.
    colleague = _colleague(unit, pk)
    staff_account_close(colleague, unit=unit, by=request.user)
    return _("The account of %(name)s is closed, and every session of it has ended.") % {
        "name": colleague.get_full_name()
    }


def _open_account(request: HttpRequest, unit: CareUnit, pk: int | None, _roles) -> str:
    # Open already (a second click) is no error: the action does nothing again.
    colleague = _colleague(unit, pk)
    staff_account_open(colleague, unit=unit, by=request.user)
    roles = ", ".join(
        _("%(role)s at %(unit)s")
        % {"role": membership.get_role_display(), "unit": membership.unit}
        for membership in colleague.memberships.select_related("unit").order_by("unit__name")
    )
    return _(
        "The account of %(name)s is open again, with the roles it kept: %(roles)s. A link to "
        "choose a new password is on its way to %(email)s."
    ) % {"name": colleague.get_full_name(), "roles": roles, "email": colleague.email}


def _reset_sign_in(request: HttpRequest, unit: CareUnit, pk: int | None, _roles) -> str:
    colleague = _colleague(unit, pk)
    staff_account_reset(colleague, unit=unit, by=request.user)
    return _(
        "The sign-in of %(name)s starts over: every session has ended, and a link to choose a "
        "new password is on its way to %(email)s."
    ) % {"name": colleague.get_full_name(), "email": colleague.email}


# The forms for the region's administrators only.
REGION_FORMS = ("details", "email")
FORMS = {
    "details": _save_details,
    "email": _change_email,
    "contact": _save_contact,
    "reply_time": _save_reply_time,
    "staff": _add_staff,
    "training": _record_training,
    "supervision": _start_supervision,
}
BUTTONS = {
    "end": _end_supervision,
    "remove": _remove_role,
    "password_link": _send_password_link,
    "close_account": _close_account,
    "open_account": _open_account,
    "reset_sign_in": _reset_sign_in,
}


@staff_required
@submitted_once
def unit(request: HttpRequest, unit_id: int) -> HttpResponse:
    """The unit head's page: how patients reach the unit, its staff, its supervision."""
    unit = get_unit_to_manage(request.user, unit_id)
    roles = roles_to_give(request.user, unit)
    region_admin = StaffRole.REGION_ADMIN in roles
    sent = request.POST.get("form") if request.method == "POST" else None
    if sent in REGION_FORMS and not region_admin:
        raise Http404
    data = {name: request.POST if sent == name else None for name in FORMS}
    therapists = staff_with_role(unit.pk, StaffRole.THERAPIST)
    offered = [
        offering.program
        for offering in unit.offerings.select_related("program").order_by("program__slug")
    ]
    titles = program_titles(offered)
    programs = [(program.pk, titles[program.pk]) for program in offered]
    forms = {
        "details": UnitDetailsForm(data["details"], instance=copy.copy(unit)),
        "email": StaffEmailForm(
            data["email"],
            person_id=whole_number(request.POST.get("id")) if data["email"] else None,
        ),
        # A copy, so what a refused form holds never shows as the unit's details.
        "contact": UnitContactForm(data["contact"], instance=copy.copy(unit)),
        "reply_time": UnitReplyTimeForm(data["reply_time"], instance=copy.copy(unit)),
        "staff": StaffAddForm(data["staff"], roles=roles),
        "training": TrainingForm(data["training"], therapists=therapists, programs=programs),
        "supervision": SupervisionForm(
            data["supervision"],
            therapists=therapists,
            supervisors=staff_with_role(unit.pk, StaffRole.SUPERVISOR),
        ),
    }
    if sent in FORMS and forms[sent].is_valid():
        try:
            messages.success(request, FORMS[sent](request, unit, forms[sent]))
        except (StaffError, SupervisionError, UnitError) as error:
            forms[sent].add_error(None, str(error))
        else:
            return redirect(_page_top(unit))
    if sent in BUTTONS:
        try:
            done = BUTTONS[sent](request, unit, whole_number(request.POST.get("id")), roles)
        except (StaffError, SupervisionError) as error:
            messages.error(request, str(error))
        else:
            messages.success(request, done)
        return redirect(_page_top(unit))
    staff = _staff(unit, roles, request.user, forms["email"] if sent == "email" else None)
    # What was typed in the page's other forms when one was sent (unsent.js): back in place.
    put_back_unsent(
        unsent_on_page(request),
        *forms.values(),
        *(person["email_form"] for person in staff if person["email_form"]),
    )
    return render(
        request,
        "organisations/unit.html",
        {
            # The absence page registers absences at the units one heads.
            "heads_unit": any(
                membership.user_id == request.user.pk and membership.role == StaffRole.UNIT_ADMIN
                for person in staff
                for membership in person["memberships"]
            ),
            "unit": unit,
            "details_form": forms["details"] if region_admin else None,
            "contact_form": forms["contact"],
            "reply_time_form": forms["reply_time"],
            "staff_form": forms["staff"],
            "supervision_form": forms["supervision"],
            "staff": staff,
            "training_form": forms["training"],
            "programs": programs,
            "training": _training(list(therapists), programs),
            "region_admin": region_admin,
            "staff_changes": staff_changes(unit),
            # With those a region arranged for every unit (in Django's admin) that reach the
            # unit's patients too: they are shown, and ended where they were arranged.
            "supervisions": list(
                Supervision.objects.filter(
                    Q(unit=unit) | Q(unit__isnull=True, supervisee__memberships__unit=unit),
                    ended_on__isnull=True,
                )
                .select_related("supervisor", "supervisee", "arranged_by")
                .distinct()
                .order_by("supervisee__last_name", "started_on")
            ),
        },
    )
