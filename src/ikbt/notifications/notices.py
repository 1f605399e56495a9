"""Content-free notices by e-mail: they say *that* something waits, never *what*.

E-mail is not a secure channel, so a notice never carries health content, a patient's name
or what the message says (Patientdatalagen; IMY's guidance on e-mail in health care). The
person signs in to read it. What reaches a patient does not name the service or say
"treatment" either: on a phone's lock screen "a new message in iKBT" would tell anyone who
sees it that she is in psychological treatment. Each notice is a pair of templates,
``notifications/<kind>_subject.txt`` and ``notifications/<kind>_body.txt``.
"""

import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django_tasks import default_task_backend

from ikbt.accounts.models import User
from ikbt.notifications.sms import send_sms

KINDS = {
    "risk_flag",
    "risk_flag_escalated",
    "new_message",
    "questionnaire_due",
    "inactive",
    "reply_overdue",
    "new_role",
    "booking_cancelled",
    "reply_sent_back",
    "reply_to_read",
    "patient_message",
    "time_booked",
    "contact_changed",
    "care_team_changed",
    "registration_decided",
    "risk_flag_acute",
    "unit_without_head",
}


# Told once that messages wait: another "new message" within this time (a feedback and a
# reply written together, or the night's messages told at eight), before she has signed in,
# tells her nothing new. Short, so that a reply to what she read since is never left untold.
TOLD_ALREADY_WITHIN = datetime.timedelta(minutes=2)


def _told_already(user: User, kind: str, now: datetime.datetime) -> bool:
    """Whether ``user`` was told of a new message a moment ago and has not signed in since;
    otherwise this notice is the one that tells her (one UPDATE, so two notices at once
    cannot both decide to go)."""
    if kind != "new_message":
        return False
    told = User.objects.filter(pk=user.pk).filter(
        Q(new_message_told_at__isnull=True)
        | Q(new_message_told_at__lt=now - TOLD_ALREADY_WITHIN)
        | Q(last_login__gt=F("new_message_told_at"))
    )
    return not told.update(new_message_told_at=now)


# A patient is not woken, nor her phone lit up beside others, at night: a notice to her
# between 21 and 8 (Stockholm) waits for 8, where a task worker can run it later.
QUIET_FROM = datetime.time(21)
QUIET_UNTIL = datetime.time(8)


def quiet_until(now: datetime.datetime) -> datetime.datetime | None:
    """The end of the quiet hours ``now`` falls in (8 o'clock local time), or None."""
    local = timezone.localtime(now)
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return None
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + datetime.timedelta(1)
    return timezone.make_aware(datetime.datetime.combine(day, QUIET_UNTIL))


def send_notice(
    user: User,
    kind: str,
    *,
    now: datetime.datetime | None = None,
    to: tuple[str, str] | None = None,
) -> bool:
    """Tell ``user`` in their language: staff by e-mail; patients by the channels they chose
    (e-mail, and SMS with the subject line as the text), outside the quiet hours. False if
    they cannot be reached. ``to``: (e-mail, mobile) to send it to at once instead, either
    may be empty (the ones a patient had before she changed them)."""
    if kind not in KINDS:
        raise ValueError(f"Unknown notice: {kind}")
    if not user.is_active:
        return False  # a closed account: whoever it was has left
    patient = getattr(user, "patient", None) if user.is_patient else None
    until = quiet_until(now or timezone.now()) if patient is not None and to is None else None
    if until is not None and default_task_backend.supports_defer:
        from ikbt.notifications.tasks import send_notice_later  # the task sends through here

        send_notice_later.using(run_after=until).enqueue(user.pk, kind)
        return True
    if to is not None:
        address, mobile = to
    elif patient is not None:
        address = patient.email if patient.notify_by_email else ""
        mobile = patient.mobile if patient.notify_by_sms else ""
    else:
        address, mobile = user.email, ""
    if not (address or mobile):
        return False
    now = now or timezone.now()
    if to is None and _told_already(user, kind, now):
        return True
    with translation.override(user.language):
        context = {
            "user": user,
            "sign_in_url": settings.SITE_URL.rstrip("/") + reverse("core:home"),
        }
        subject = render_to_string(
            f"notifications/{kind}_subject.txt", context, using="text"
        ).strip()
        body = render_to_string(f"notifications/{kind}_body.txt", context, using="text")
    try:
        if address:
            send_mail(subject, body, None, [address])
        if mobile:
            send_sms(mobile, subject)
    except Exception:
        # Not told after all: the next new message within the while must tell her.
        User.objects.filter(pk=user.pk, new_message_told_at=now).update(new_message_told_at=None)
        raise
    return True
