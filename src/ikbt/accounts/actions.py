"""What happens at sign-in and sign-out, in one place for staff and patients."""

import secrets

from django.conf import settings
from django.contrib.auth import login, logout
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ikbt.accounts.middleware import (
    LANGUAGE_CHOSEN,
    LAST_SEEN_AT,
    SIGNED_IN_AT,
    SIGNED_OUT,
    UNSENT,
)
from ikbt.accounts.models import PatientCodeDevice, User, new_session_token
from ikbt.accounts.tasks import send_password_link
from ikbt.audit.actions import log_access
from ikbt.audit.models import AccessLogEntry
from ikbt.patients.models import Patient

BACKUP_CODE_COUNT = 10
BACKUP_DEVICE_NAME = "backup"
AUTHENTICATOR_DEVICE_NAME = "app"
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def start_session(request: HttpRequest, user: User) -> None:
    """Sign ``user`` in with a new session id and start the time-out clocks. Text kept
    from someone else's timed-out session on this browser goes: it is not hers to hold."""
    login(request, user, backend=MODEL_BACKEND)
    keep_chosen_language(request, user)
    kept = request.session.get(UNSENT)
    if kept and kept["user"] != user.pk:
        del request.session[UNSENT]
    request.session.pop(SIGNED_OUT, None)
    now = timezone.now().timestamp()
    request.session[SIGNED_IN_AT] = now
    request.session[LAST_SEEN_AT] = now


def language_choose(request: HttpRequest, language: str) -> None:
    """The language chosen on this browser becomes the signed-in user's: their texts and
    e-mails come in it, as the pages do. Chosen before signing in, it becomes theirs when they
    sign in here (``keep_chosen_language``); an old cookie, or one left by someone else on a
    shared computer, does not."""
    if language not in dict(settings.LANGUAGES):
        return
    if request.user.is_authenticated:
        _language_set(request.user, language)
    else:
        request.session[LANGUAGE_CHOSEN] = language


def keep_chosen_language(request: HttpRequest, user: User) -> None:
    """A language chosen on this browser just before signing in becomes the user's."""
    chosen = request.session.pop(LANGUAGE_CHOSEN, None)
    if chosen in dict(settings.LANGUAGES):
        _language_set(user, chosen)


def _language_set(user: User, language: str) -> None:
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])


def complete_two_factor(request: HttpRequest, device: Device) -> None:
    """The staff member proved the second factor: mark the session verified and log it."""
    request.session.cycle_key()
    otp_login(request, device)
    log_access(request.user, AccessLogEntry.Action.SIGN_IN, request=request, detail="two-factor")


def sign_in_patient(request: HttpRequest, user: User, detail: str) -> None:
    start_session(request, user)
    log_patient_sign_in(request, user, detail)


def log_patient_sign_in(request: HttpRequest, user: User, detail: str) -> None:
    log_access(
        user,
        AccessLogEntry.Action.SIGN_IN,
        request=request,
        patient=user.patient,
        detail=detail,
    )


def sign_out_everywhere(request: HttpRequest) -> None:
    """End every session of the signed-in user, on every device, this one included."""
    user = request.user
    user.session_token = new_session_token()
    user.save(update_fields=["session_token"])
    logout(request)


@transaction.atomic
def sign_in_reset(user: User, *, reset: bool = True, reopened: bool = False) -> None:
    """Start a staff member's sign-in over (a lost phone, an account opened again): the
    password, the authenticator app and the backup codes stop working and every session ends
    now. After the commit an e-mail with a link to choose a new password goes out, saying so
    where there was a sign-in to start over (``reset``), or that the account is open again
    (``reopened``); the app is connected again at the next sign-in (``authenticator_setup``)."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    user.set_unusable_password()
    user.session_token = new_session_token()
    user.save(update_fields=["password", "session_token"])
    transaction.on_commit(
        lambda: send_password_link.enqueue(user.pk, reset=reset, reopened=reopened)
    )


def authenticator_for(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, name=AUTHENTICATOR_DEVICE_NAME).first()


def unconfirmed_authenticator(user: User) -> TOTPDevice:
    """The authenticator app being set up; a fresh secret until the user confirms one."""
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name=AUTHENTICATOR_DEVICE_NAME, defaults={"confirmed": False}
    )
    return device


@transaction.atomic
def new_backup_codes(user: User) -> list[str]:
    """Replace the user's backup codes with ``BACKUP_CODE_COUNT`` new ones; each works once."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=BACKUP_DEVICE_NAME)
    device.token_set.all().delete()
    codes = [f"{secrets.randbelow(10**8):08d}" for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def verify_second_factor(user: User, code: str) -> Device | None:
    """The device that accepts ``code``: the authenticator app, else a backup code (used up)."""
    code = code.replace(" ", "")
    devices = [
        *TOTPDevice.objects.filter(user=user, confirmed=True),
        *StaticDevice.objects.filter(user=user, confirmed=True),
    ]
    with transaction.atomic():
        for device in devices:
            if not device.verify_is_allowed()[0]:
                continue
            if device.verify_token(code):
                return device
    return None


def patient_for_personal_number(number: str) -> Patient | None:
    return (
        Patient.objects.select_related("user")
        .filter(personal_number=number, user__is_active=True)
        .first()
    )


def sign_in_code_device(user: User) -> PatientCodeDevice:
    device, _ = PatientCodeDevice.objects.get_or_create(
        user=user, defaults={"name": "sign-in code"}
    )
    return device
