"""Changes to people and places.

Who adds a unit, gives or takes a role, arranges or ends a supervision, or closes an account
is logged (``ikbt.organisations``, ids only) for the region's log system: a role taken away
leaves no row behind.
"""

import datetime
import logging

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ikbt.accounts.actions import sign_in_reset
from ikbt.accounts.models import User, new_session_token
from ikbt.accounts.tasks import send_password_link
from ikbt.audit.actions import Action, log_access
from ikbt.intake.models import Slot
from ikbt.messaging.models import Message
from ikbt.notifications.tasks import send_notice_later
from ikbt.organisations.access import regions_administered
from ikbt.organisations.models import (
    CareUnit,
    Region,
    StaffAbsence,
    StaffMembership,
    StaffRole,
    Supervision,
    Training,
)
from ikbt.patients.models import CareRelationship

logger = logging.getLogger(__name__)


def _log(message: str, *args) -> None:
    """Log the change once it is committed: a change rolled back is not logged."""
    transaction.on_commit(lambda: logger.info(message, *args))


def _record(by: User, unit: CareUnit, colleague: User, what: str) -> None:
    """A change to a colleague's roles, account or supervision (which opens patients to the
    supervisor), kept where the access log is (append-only,
    reviewed at the unit): who gave or took what, for whom, at which unit, when. The unit's
    page lists them (``ikbt.organisations.access.staff_changes``), as the rules on assigning
    access rights ask."""
    log_access(by, Action.CHANGE, unit=unit, obj=colleague, detail=what)


class AbsenceError(ValueError):
    pass


class SupervisionError(ValueError):
    pass


class StaffError(ValueError):
    pass


class UnitError(ValueError):
    pass


# Taken away only by someone else: an administrator does not lock herself out.
OWN_ROLES_KEPT = (StaffRole.UNIT_ADMIN, StaffRole.REGION_ADMIN)


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
    _check_cover(staff, cover, by)
    return StaffAbsence.objects.create(
        staff=staff, starts_on=starts_on, ends_on=ends_on, cover=cover, registered_by=by or staff
    )


def absence_cover_change(absence: StaffAbsence, cover: User | None, *, by: User) -> None:
    """Another colleague covers ``absence`` from now (None: the unit's administrators): for
    one covering who must stop (an account to close, an absence of their own)."""
    _check_cover(absence.staff, cover, by)
    absence.cover = cover
    absence.save(update_fields=["cover"])
    _log(
        "cover of the absence of user %s changed to user %s by user %s",
        absence.staff_id,
        cover.pk if cover else None,
        by.pk,
    )


def _check_cover(staff: User, cover: User | None, by: User | None) -> None:
    """Refuses a cover who cannot see ``staff``'s patients: closed, the one away, or not a
    therapist where ``staff`` works."""
    if cover is not None:
        if not cover.is_active:
            raise AbsenceError(_("The colleague's account is closed. Choose another."))
        if cover == staff:
            raise AbsenceError(_("The one who is away cannot cover. Choose a colleague."))
        units = StaffMembership.objects.filter(user=staff).values("unit_id")
        if not StaffMembership.objects.filter(
            user=cover, unit_id__in=units, role=StaffRole.THERAPIST
        ).exists():
            if by is None or by == staff:
                raise AbsenceError(
                    _("The colleague covering must be a therapist at one of your units.")
                )
            raise AbsenceError(
                _("The colleague covering must be a therapist at a unit where %(name)s works.")
                % {"name": staff.get_full_name()}
            )


@transaction.atomic
def absence_end(absence: StaffAbsence, *, by: User) -> bool:
    """``absence`` is over before it was planned to be: a future one is taken away, one
    going on ends yesterday (its cover sees the patients no more from today), and one that
    started today is taken away. Returns True where it is taken away, False where it ended."""
    today = timezone.localdate()
    if absence.starts_on >= today:
        absence.delete()
        _log("absence of user %s cancelled by user %s", absence.staff_id, by.pk)
        return True
    absence.ends_on = min(absence.ends_on, today - datetime.timedelta(days=1))
    absence.save(update_fields=["ends_on"])
    _log("absence of user %s ended early by user %s", absence.staff_id, by.pk)
    return False


@transaction.atomic
def unit_add(region: Region, *, name: str, kind: str, hsa_id: str = "", by: User) -> CareUnit:
    """A new unit of ``region``; its administrators then give it a head and staff."""
    try:
        with transaction.atomic():  # two posts at once: the unique constraints decide
            unit = CareUnit.objects.create(
                region=region, name=name.strip(), kind=kind, hsa_id=hsa_id
            )
    except IntegrityError:
        raise UnitError(_("The region has a unit of this name or HSA-id already.")) from None
    _log("unit %s added in region %s by user %s", unit.pk, region.code, by.pk)
    return unit


@transaction.atomic
def unit_details_set(unit: CareUnit, *, name: str, kind: str, hsa_id: str, by: User) -> None:
    """A unit's new name, type or HSA-id (a unit renamed, an id corrected); its patients,
    staff and figures stay with it."""
    if not regions_administered(by).filter(pk=unit.region_id).exists():
        raise UnitError(
            _("A unit's name, type and HSA-id are kept by the region's administrators.")
        )
    name = name.strip()
    try:
        with transaction.atomic():  # the unique constraints decide, as when it was added
            CareUnit.objects.filter(pk=unit.pk).update(name=name, kind=kind, hsa_id=hsa_id)
    except IntegrityError:
        raise UnitError(_("The region has a unit of this name or HSA-id already.")) from None
    unit.name, unit.kind, unit.hsa_id = name, kind, hsa_id
    _log("unit %s details changed by user %s", unit.pk, by.pk)


@transaction.atomic
def unit_contact_set(unit: CareUnit, *, phone: str, phone_hours: str, visiting_address: str):
    """How patients reach the unit, shown beside their care team and their access log."""
    unit.phone, unit.phone_hours, unit.visiting_address = phone, phone_hours, visiting_address
    unit.save(update_fields=["phone", "phone_hours", "visiting_address"])


@transaction.atomic
def unit_reply_time_set(unit: CareUnit, *, reply_within_days: int) -> None:
    """How many working days a patient's message or hand-in may wait for an answer; longer, it
    is overdue and escalates to the unit's administrators (``ikbt.treatment.tasks``)."""
    unit.reply_within_days = reply_within_days
    unit.save(update_fields=["reply_within_days"])


def _holds_role(user: User, unit: CareUnit, role: StaffRole) -> bool:
    return StaffMembership.objects.filter(user=user, unit=unit, role=role).exists()


def _has_other_admin(unit_id: int, user_id: int) -> bool:
    """Whether the unit has an administrator besides ``user_id`` with an open account: risk
    flags and overdue replies escalate to its administrators."""
    return (
        StaffMembership.objects.filter(
            unit_id=unit_id, role=StaffRole.UNIT_ADMIN, user__is_active=True
        )
        .exclude(user_id=user_id)
        .exists()
    )


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
    if (
        Supervision.objects.open_at(unit.pk)
        .filter(supervisor=supervisor, supervisee=supervisee)
        .exists()
    ):
        raise already
    try:
        with transaction.atomic():  # two heads at once: the unique constraint decides
            supervision = Supervision.objects.create(
                supervisor=supervisor,
                supervisee=supervisee,
                unit=unit,
                review_messages=review_messages,
                arranged_by=by,
            )
    except IntegrityError:
        raise already from None
    _record(by, unit, supervisor, "supervision started")  # she sees patients from now
    _log("supervision %s arranged at unit %s by user %s", supervision.pk, unit.pk, by.pk)
    return supervision


@transaction.atomic
def supervision_end(supervision: Supervision, *, by: User) -> Supervision:
    """From today the supervisor no longer sees the supervisee's patients. Refused while replies
    the supervisor must read are waiting: they are the supervisor's to read (the unit's
    administrators may send one meanwhile, ``ikbt.messaging.access``)."""
    supervision = Supervision.objects.select_for_update().get(pk=supervision.pk)
    if supervision.ended_on is not None:
        return supervision
    waiting = Message.objects.filter(sender_id=supervision.supervisee_id, held_for_review=True)
    if supervision.unit_id is not None:
        # Those written at the unit, where the supervisor can still open the patient (the
        # supervisee's care there goes on) to read them.
        waiting = waiting.filter(
            unit_id=supervision.unit_id,
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
    if supervision.unit is not None:
        _record(by, supervision.unit, supervision.supervisor, "supervision ended")
    _log("supervision %s ended by user %s", supervision.pk, by.pk)
    return supervision


@transaction.atomic
def training_record(
    staff: User,
    *,
    program_id: int | None,
    completed_on: datetime.date,
    unit: CareUnit,
    by: User,
) -> Training:
    """``staff``, a therapist of ``unit``, completed the course in therapist-guided internet
    CBT (``program_id`` None) or a program's introduction on ``completed_on``. Recorded
    before, the day is replaced: a refresher moves it on, and a day typed wrong is put
    right."""
    if not _holds_role(staff, unit, StaffRole.THERAPIST):
        raise StaffError(_("Training is recorded for the unit's therapists."))
    fields = {"completed_on": completed_on, "recorded_by": by, "recorded_at": timezone.now()}
    try:
        with transaction.atomic():  # two heads at once: the unique constraints decide
            training, _created = Training.objects.update_or_create(
                staff=staff, program_id=program_id, defaults=fields
            )
    except IntegrityError:  # the other head's row came first: this one replaces its day
        training, _created = Training.objects.update_or_create(
            staff=staff, program_id=program_id, defaults=fields
        )
    _log("training recorded: user %s, program %s, by user %s", staff.pk, program_id, by.pk)
    return training


@transaction.atomic
def staff_add(
    unit: CareUnit,
    *,
    email: str,
    role: StaffRole,
    first_name: str = "",
    last_name: str = "",
    profession: str = "",
    by: User,
) -> tuple[User, bool]:
    """Give ``role`` at ``unit`` to the staff member with this e-mail address, or to a new
    account without a password; the new colleague is e-mailed a link to choose one (after
    the commit) and sets up the second factor at the first sign-in. Returns the person and
    whether the account is new."""
    email = email.strip().lower()
    people = list(User.objects.filter(kind=User.Kind.STAFF, email__iexact=email)[:2])
    if len(people) > 1:
        raise StaffError(
            _(
                "Several accounts have this e-mail address. Ask the system's administrator to "
                "sort them out."
            )
        )
    created = not people
    if not created:
        _check_colleague(people[0], unit, by)
    else:
        if not (first_name.strip() and last_name.strip() and profession):
            raise StaffError(
                _(
                    "No one has an account with this e-mail address yet. Write the new "
                    "colleague's first name, last name and profession too."
                )
            )
        if User.objects.filter(username__iexact=email).exists():
            raise StaffError(_("The e-mail address is the user name of another account."))
        user = User(
            username=email,
            email=email,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
            profession=profession,
            kind=User.Kind.STAFF,
        )
        user.set_unusable_password()
        user.save()
        transaction.on_commit(lambda: send_password_link.enqueue(user.pk))
    user = people[0] if people else user
    _membership, added = StaffMembership.objects.get_or_create(
        user=user, unit=unit, role=role, defaults={"added_by": by, "added_at": timezone.now()}
    )
    if not added:
        raise StaffError(
            _("%(name)s is %(role)s at the unit already.")
            % {"name": user.get_full_name(), "role": StaffRole(role).label.lower()}
        )
    if not created:  # someone new learns of it from the link to choose a password
        transaction.on_commit(lambda: send_notice_later.enqueue(user.pk, "new_role"))
    _record(by, unit, user, f"role given: {role}")
    _log("role given: user %s, unit %s, %s, by user %s", user.pk, unit.pk, role, by.pk)
    return user, created


def _check_colleague(user: User, unit: CareUnit, by: User) -> None:
    """Whom ``by`` may give a role at ``unit``: not herself (a role can open patients, so
    another administrator gives it), not a closed account, and from another region only as
    the region's administrator."""
    if user == by:
        raise StaffError(
            _(
                "You cannot give yourself a role. Ask another administrator of the unit or "
                "the region."
            )
        )
    if not user.is_active:
        raise StaffError(
            _(
                "The account with this e-mail address is closed. Ask the region's "
                "administrators to open it again."
            )
        )
    in_region = StaffMembership.objects.filter(user=user, unit__region_id=unit.region_id)
    if not in_region.exists() and not regions_administered(by).filter(pk=unit.region_id).exists():
        raise StaffError(
            _("%(name)s works in another region. Ask your region's administrators to add them.")
            % {"name": user.get_full_name()}
        )


def staff_password_link(user: User) -> None:
    """E-mail ``user`` a link to choose a new password (a forgotten one); the old one works
    until the new one is chosen."""
    transaction.on_commit(lambda: send_password_link.enqueue(user.pk))


@transaction.atomic
def staff_role_remove(membership: StaffMembership, *, by: User) -> None:
    """Take a role at a unit from a staff member. Refused where patients or a supervision at
    the unit would be left without them, and for a unit head's own role as head."""
    name = membership.user.get_full_name()
    if membership.user_id == by.pk and membership.role in OWN_ROLES_KEPT:
        raise StaffError(
            _(
                "You cannot take away your own role as administrator. Ask another "
                "administrator of the unit or the region."
            )
        )
    if membership.role == StaffRole.UNIT_ADMIN and not _has_other_admin(
        membership.unit_id, membership.user_id
    ):
        # Escalated risk flags and overdue replies go to the unit's administrators.
        raise StaffError(
            _(
                "%(name)s is the unit's only administrator, to whom risk flags and overdue "
                "messages escalate. Give the role to someone else first."
            )
            % {"name": name}
        )
    if membership.role == StaffRole.THERAPIST:
        patients = (
            CareRelationship.objects.active()
            .filter(staff_id=membership.user_id, unit_id=membership.unit_id)
            .count()
        )
        if patients:
            raise StaffError(
                ngettext(
                    "%(name)s has %(count)d patient in care at the unit. Move the treatment "
                    "to a colleague first.",
                    "%(name)s has %(count)d patients in care at the unit. Move their "
                    "treatments to colleagues first.",
                    patients,
                )
                % {"name": name, "count": patients}
            )
    in_supervision = {
        StaffRole.THERAPIST: Q(supervisee_id=membership.user_id),
        StaffRole.SUPERVISOR: Q(supervisor_id=membership.user_id),
    }.get(membership.role)
    if (
        in_supervision
        and Supervision.objects.filter(
            in_supervision, unit_id=membership.unit_id, ended_on__isnull=True
        ).exists()
    ):
        raise StaffError(
            _("%(name)s is in a supervision at the unit. End the supervision first.")
            % {"name": name}
        )
    membership.delete()
    _record(by, membership.unit, membership.user, f"role taken away: {membership.role}")
    _log(
        "role taken: user %s, unit %s, %s, by user %s",
        membership.user_id,
        membership.unit_id,
        membership.role,
        by.pk,
    )


@transaction.atomic
def staff_account_close(user: User, *, unit: CareUnit, by: User) -> None:
    """Someone who has left: the account can no longer sign in and every session of it ends
    now. For a region's administrators, for people who work only in their region, and only
    once no patient is in their care and no unit depends on them as its only administrator;
    the roles stay, as the record of who worked where. Refused while anything still waits
    for the person: patients, a supervision, an absence they cover, replies held for review,
    booked assessment times, or a unit they are the only administrator of. Their free
    assessment times are withdrawn."""
    if not user.is_active:
        return  # closed already (a second click)
    if user == by:
        raise StaffError(_("You cannot close your own account."))
    _check_account_keeper(user, unit, by)
    name = user.get_full_name()
    patients = CareRelationship.objects.active().filter(staff=user).count()
    if patients:
        raise StaffError(
            ngettext(
                "%(name)s has %(count)d patient in care. Move the treatment first.",
                "%(name)s has %(count)d patients in care. Move their treatments first.",
                patients,
            )
            % {"name": name, "count": patients}
        )
    now = timezone.now()
    waiting = (
        (
            Supervision.objects.filter(Q(supervisor=user) | Q(supervisee=user), ended_on=None),
            _("%(name)s is in a supervision. End it first."),
        ),
        (
            StaffAbsence.objects.filter(cover=user, ends_on__gte=timezone.localdate()),
            _(
                "%(name)s covers for a colleague's absence. Name another cover first, under "
                "“Absence and cover”."
            ),
        ),
        (
            Message.objects.filter(sender=user, held_for_review=True),
            _("Replies by %(name)s wait for the supervisor. They must be read and sent first."),
        ),
        (
            Slot.objects.filter(therapist=user, starts_at__gte=now, registration__isnull=False),
            _("%(name)s has booked assessment times. Move them to a colleague first."),
        ),
    )
    for query, refusal in waiting:
        if query.exists():
            raise StaffError(refusal % {"name": name})
    headed = StaffMembership.objects.filter(user=user, role=StaffRole.UNIT_ADMIN)
    for membership in headed.select_related("unit"):
        if not _has_other_admin(membership.unit_id, user.pk):
            raise StaffError(
                _(
                    "%(name)s is the only administrator of %(unit)s. Give the role to someone "
                    "else first."
                )
                % {"name": name, "unit": membership.unit.name}
            )
    Slot.objects.filter(therapist=user, starts_at__gte=now, registration__isnull=True).delete()
    user.is_active = False
    user.session_token = new_session_token()  # ends every session (User.get_session_auth_hash)
    user.save(update_fields=["is_active", "session_token"])
    _record(by, unit, user, "account closed")
    _log("account closed: user %s, by user %s", user.pk, by.pk)


def _check_account_keeper(user: User, unit: CareUnit, by: User) -> None:
    """Whose account ``by`` may close, open again, start the sign-in of or give a new e-mail
    address, seen from ``unit``: as an administrator of the unit's region, of someone who
    works only in that region (another region has its own say)."""
    if not regions_administered(by).filter(pk=unit.region_id).exists():
        raise StaffError(_("Accounts are kept by the region's administrators."))
    if StaffMembership.objects.filter(user=user).exclude(unit__region_id=unit.region_id).exists():
        raise StaffError(
            _(
                "%(name)s works in another region too. The account is kept by the system's "
                "administrator; you can take away the roles at your region's units."
            )
            % {"name": user.get_full_name()}
        )


@transaction.atomic
def staff_account_open(user: User, *, unit: CareUnit, by: User) -> None:
    """A closed account in use again (someone who came back): it signs in from scratch, with
    a new password chosen through the link e-mailed to it and the authenticator app connected
    again, so nothing from before the closing lets anyone in. The roles it kept apply again."""
    if user.is_active:
        return  # open already (a second click)
    _check_account_keeper(user, unit, by)
    used = has_signed_in(user)
    user.is_active = True
    user.save(update_fields=["is_active"])
    sign_in_reset(user, reset=used, reopened=used)
    _record(by, unit, user, "account opened again")
    _log("account opened again: user %s, by user %s", user.pk, by.pk)


@transaction.atomic
def staff_account_reset(user: User, *, unit: CareUnit, by: User) -> None:
    """A colleague who lost the phone with the authenticator app, or every way in: the
    password, the app and the backup codes stop working and every session ends; the e-mail
    link lets the colleague, and only the colleague, choose a password and connect an app."""
    if user == by:
        raise StaffError(
            _("You cannot start your own sign-in over. Ask another administrator of the region.")
        )
    if not user.is_active:
        raise StaffError(_("The account is closed. Open it again instead."))
    _check_account_keeper(user, unit, by)
    sign_in_reset(user)
    _record(by, unit, user, "sign-in started over")
    _log("sign-in started over: user %s, by user %s", user.pk, by.pk)


def has_signed_in(user: User) -> bool:
    """Whether ``user`` has signed in, or chosen a password: from then on the account's
    e-mail address is where its sign-in is started over, and not changed on these pages.
    (An account whose password was chosen but never used, started over, counts as new
    again: no one has worked in it, and taking it over gives no more than adding an account
    for oneself would.)"""
    return user.last_login is not None or user.has_usable_password()


@transaction.atomic
def staff_email_change(user: User, *, email: str, unit: CareUnit, by: User) -> bool:
    """The e-mail address of a colleague who has not signed in yet (mistyped when they were
    added): the link to choose a password goes again, to the new address, and an account
    whose user name was the old address signs in with the new one. Once someone has signed
    in, only the system's administrator changes the address: changed here and followed by a
    sign-in started over, it would let the administrator into the colleague's account.
    Returns whether the address changed."""
    email = email.strip().lower()
    if user == by:
        raise StaffError(
            _("You cannot change your own e-mail address here. Ask another administrator.")
        )
    _check_account_keeper(user, unit, by)
    if email == user.email.lower():
        return False
    user = User.objects.select_for_update().get(pk=user.pk)  # not while she signs in
    if has_signed_in(user):
        raise StaffError(
            _(
                "%(name)s has signed in with the present address. Only the system's "
                "administrator changes it, so that no one else can take over the account."
            )
            % {"name": user.get_full_name()}
        )
    taken = User.objects.filter(
        Q(kind=User.Kind.STAFF, email__iexact=email) | Q(username__iexact=email)
    )
    if taken.exclude(pk=user.pk).exists():
        raise StaffError(_("Another staff account has this e-mail address."))
    fields = ["email"]
    if user.username.lower() == user.email.lower():
        user.username = email
        fields.append("username")
    user.email = email
    user.save(update_fields=fields)
    if user.is_active:
        transaction.on_commit(lambda: send_password_link.enqueue(user.pk))
    _record(by, unit, user, "e-mail address changed")
    _log("e-mail address changed: user %s, by user %s", user.pk, by.pk)
    return True
