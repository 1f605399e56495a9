"""Sign-in for staff (password, then a second factor) and patients (e-id or a one-time code)."""

from base64 import b32encode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import PasswordResetConfirmView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from ikbt.accounts import actions
from ikbt.accounts.decorators import staff_required
from ikbt.accounts.forms import (
    OneTimeCodeForm,
    PasswordChoiceForm,
    PatientSignInForm,
    StaffLoginForm,
)
from ikbt.accounts.models import PatientCodeDevice
from ikbt.core.next_page import next_page
from ikbt.notifications.tasks import request_sign_in_code
from ikbt.organisations.views import own_work
from ikbt.patients.actions import (
    CODE_SENT,
    CODE_WAITS,
    contact_change,
    new_mobile_code_again,
    new_mobile_confirm,
    new_mobile_forget,
    new_mobile_waiting,
)
from ikbt.patients.forms import ContactForm

# Session keys for sign-in steps that are not done yet.
NEW_BACKUP_CODES = "ikbt_new_backup_codes"
PENDING_PERSONAL_NUMBER = "ikbt_pending_personal_number"
PENDING_CODE_TRIES = "ikbt_pending_code_tries"
PENDING_NEXT = "ikbt_pending_next"


def _with_next(view_name: str, next_url: str) -> str:
    url = reverse(view_name)
    return f"{url}?next={next_url}" if next_url else url


# --- Staff ---------------------------------------------------------------------------------


def _autosave_sent_on(request: HttpRequest) -> bool:
    """An autosave (htmx) of someone signed out meanwhile, sent on here: saving.js needs only
    to see where it landed. The page is not drawn, so its messages ("what you were writing
    was not sent…") wait for the sign-in page the person opens next."""
    return request.method == "GET" and bool(request.htmx)


def staff_login(request: HttpRequest) -> HttpResponse:
    if _autosave_sent_on(request):
        return HttpResponse()
    next_url = next_page(request, "patients:staff_home")
    user = request.user
    if user.is_authenticated and user.is_staff_member:
        return redirect(
            next_url if user.is_verified() else _with_next("accounts:two_factor", next_url)
        )
    form = StaffLoginForm(
        request, data=request.POST or None, failure_limit=settings.AXES_FAILURE_LIMIT
    )
    if request.method == "POST" and form.is_valid():
        actions.start_session(request, form.get_user())
        return redirect(_with_next("accounts:two_factor", next_url))
    return render(request, "accounts/staff_login.html", {"form": form, "next": next_url})


def _password_step_done(request: HttpRequest) -> bool:
    return request.user.is_authenticated and request.user.is_staff_member


def two_factor(request: HttpRequest) -> HttpResponse:
    if not _password_step_done(request):
        return redirect("accounts:staff_login")
    next_url = next_page(request, "patients:staff_home")
    if request.user.is_verified():
        return redirect(next_url)
    authenticator = actions.authenticator_for(request.user)
    if authenticator is None or not authenticator.confirmed:
        return redirect(_with_next("accounts:authenticator_setup", next_url))
    form = OneTimeCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = actions.verify_second_factor(request.user, form.cleaned_data["code"])
        if device is not None:
            actions.complete_two_factor(request, device)
            if isinstance(device, StaticDevice):
                left = device.token_set.count()
                messages.warning(
                    request,
                    _("You used a backup code. You have %(left)d left.") % {"left": left},
                )
            return redirect(next_url)
        form.add_error(
            "code",
            _(
                "The code is wrong or too old. Check that the clock on your phone is right, "
                "or use one of your backup codes."
            ),
        )
    return render(request, "accounts/two_factor.html", {"form": form, "next": next_url})


def authenticator_setup(request: HttpRequest) -> HttpResponse:
    """First sign-in: connect an authenticator app, then show the backup codes once."""
    if not _password_step_done(request):
        return redirect("accounts:staff_login")
    next_url = next_page(request, "patients:staff_home")
    existing = actions.authenticator_for(request.user)
    if existing is not None and existing.confirmed:
        return redirect(_with_next("accounts:two_factor", next_url))
    device = actions.unconfirmed_authenticator(request.user)
    form = OneTimeCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            request.session[NEW_BACKUP_CODES] = actions.new_backup_codes(request.user)
            actions.complete_two_factor(request, device)
            return redirect(_with_next("accounts:backup_codes", next_url))
        form.add_error(
            "code", _("The code does not match. Check that the clock on your phone is right.")
        )
    qr_code = segno.make(device.config_url, error="m").svg_inline(
        scale=5, title=_("QR code for your authenticator app")
    )
    return render(
        request,
        "accounts/authenticator_setup.html",
        {
            "form": form,
            "next": next_url,
            # segno's own SVG of our own URL, nothing a user typed:
            "qr_code": mark_safe(qr_code),  # noqa: S308  # nosec B308 B703
            "secret": b32encode(device.bin_key).decode(),
        },
    )


@staff_required
def backup_codes(request: HttpRequest) -> HttpResponse:
    """New backup codes, shown this once: they are stored only as used-once tokens."""
    codes = request.session.pop(NEW_BACKUP_CODES, None)
    if not codes:
        return redirect("accounts:security")
    return render(
        request,
        "accounts/backup_codes.html",
        {"codes": codes, "next": next_page(request, "patients:staff_home")},
    )


def security(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.is_authenticated:
        return redirect("core:home")
    if user.is_staff_member and not user.is_verified():
        return redirect(_with_next("accounts:two_factor", request.path))
    contact = None  # the patient's contact details, with what she typed if it was refused
    confirm = None  # the code confirming her new mobile number, as she wrote it if refused
    if request.method == "POST":
        if request.POST.get("action") == "everywhere":
            actions.sign_out_everywhere(request)
            messages.success(request, _("You are now signed out on all devices."))
            return redirect("core:home")
        if request.POST.get("action") == "contact" and user.is_patient:
            contact = ContactForm(request.POST, instance=user.patient)
            if contact.is_valid():
                said = contact_change(user.patient, **contact.cleaned_data)
                if said == CODE_SENT:
                    messages.info(
                        request,
                        _("We have sent a code to your new number. Write it below to save it."),
                    )
                elif said == CODE_WAITS:
                    messages.info(
                        request,
                        _(
                            "Your new number waits for its code. A code is sent at most once "
                            "a minute: press “Send a new code” in a minute."
                        ),
                    )
                else:
                    messages.success(request, _("Saved."))
                return redirect("accounts:security")
        if request.POST.get("action", "").startswith("new_mobile") and user.is_patient:
            confirm = _new_mobile(request)
            if confirm is None:
                return redirect("accounts:security")
        if request.POST.get("action") == "backup_codes" and user.is_staff_member:
            request.session[NEW_BACKUP_CODES] = actions.new_backup_codes(user)
            return redirect("accounts:backup_codes")
    backup_codes_left = (
        StaticToken.objects.filter(
            device__user=user, device__name=actions.BACKUP_DEVICE_NAME
        ).count()
        if user.is_staff_member
        else None
    )
    if user.is_patient and contact is None:
        contact = ContactForm(instance=user.patient)
    new_mobile = new_mobile_waiting(user.patient) if user.is_patient else None
    return render(
        request,
        "accounts/security.html",
        {
            "backup_codes_left": backup_codes_left,
            "contact": contact,
            "new_mobile": new_mobile,
            "confirm": (confirm or OneTimeCodeForm()) if new_mobile else None,
            "work": own_work(user) if user.is_staff_member else None,
        },
    )


def _new_mobile(request: HttpRequest) -> OneTimeCodeForm | None:
    """The patient's answer about the new mobile number waiting: its code, a new code, or
    keeping the number she had. The code form comes back where the code was refused."""
    patient = request.user.patient
    action = request.POST["action"]
    if action == "new_mobile_again":
        if new_mobile_code_again(patient):
            messages.info(request, _("A new code is on its way to your new number."))
        else:
            messages.info(request, _("Wait a minute before asking for another code."))
        return None
    if action == "new_mobile_forget":
        new_mobile_forget(patient)
        messages.info(request, _("Your mobile number stays as it was."))
        return None
    confirm = OneTimeCodeForm(request.POST)
    if not confirm.is_valid():
        return confirm
    if new_mobile_confirm(patient, confirm.cleaned_data["code"]):
        messages.success(request, _("Saved. Your sign-in codes now go to your new number."))
        return None
    device = new_mobile_waiting(patient)
    if device is None:
        return None  # nothing waits (confirmed or given up on another device)
    if device.is_spent:
        confirm.add_error(
            "code",
            _("The code was wrong %(count)d times. Ask for a new code.")
            % {"count": device.MAX_FAILURES},
        )
    else:
        _code_wrong(confirm, device.MAX_FAILURES - device.throttling_failure_count)
    return confirm


def _code_wrong(form: OneTimeCodeForm, left: int) -> None:
    """A one-time code refused, with the tries it leaves."""
    form.add_error(
        "code",
        ngettext(
            "The code is wrong or has expired. You have %(left)d try left.",
            "The code is wrong or has expired. You have %(left)d tries left.",
            left,
        )
        % {"left": left},
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.success(request, _("You are signed out."))
    return redirect("core:home")


# --- Patients ------------------------------------------------------------------------------


def patient_sign_in(request: HttpRequest) -> HttpResponse:
    """The same answer whether or not the number belongs to a patient, so the page cannot be
    used to find out who is in treatment."""
    if _autosave_sent_on(request):
        return HttpResponse()
    form = PatientSignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        number = form.cleaned_data["personal_number"]
        patient = actions.patient_for_personal_number(number)
        if patient is not None:
            device = actions.sign_in_code_device(patient.user)
            if device.new_code():
                request_sign_in_code(device)
        request.session[PENDING_PERSONAL_NUMBER] = number
        request.session[PENDING_CODE_TRIES] = 0
        request.session[PENDING_NEXT] = next_page(request, "patients:patient_home")
        return redirect("accounts:patient_code")
    return render(
        request,
        "accounts/patient_sign_in.html",
        {
            "form": form,
            "oidc_enabled": settings.PATIENT_OIDC_ENABLED,
            "next": request.GET.get("next", ""),
        },
    )


def patient_code(request: HttpRequest) -> HttpResponse:
    number = request.session.get(PENDING_PERSONAL_NUMBER)
    if not number:
        return redirect("accounts:patient_sign_in")
    form = OneTimeCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        patient = actions.patient_for_personal_number(number)
        device = (
            PatientCodeDevice.objects.filter(user=patient.user).first()
            if patient is not None
            else None
        )
        if device is not None and device.verify_token(form.cleaned_data["code"]):
            next_url = request.session.pop(PENDING_NEXT, reverse("patients:patient_home"))
            actions.sign_in_patient(request, patient.user, detail="one-time code")
            for key in (PENDING_PERSONAL_NUMBER, PENDING_CODE_TRIES):
                request.session.pop(key, None)
            return redirect(next_url)
        tries = request.session.get(PENDING_CODE_TRIES, 0) + 1
        request.session[PENDING_CODE_TRIES] = tries
        if tries >= PatientCodeDevice.MAX_FAILURES or (device is not None and device.is_spent):
            for key in (PENDING_PERSONAL_NUMBER, PENDING_CODE_TRIES):
                request.session.pop(key, None)
            messages.error(
                request,
                _("The code was wrong %(count)d times. Ask for a new code.")
                % {"count": PatientCodeDevice.MAX_FAILURES},
            )
            return redirect("accounts:patient_sign_in")
        _code_wrong(form, PatientCodeDevice.MAX_FAILURES - tries)
    return render(
        request,
        "accounts/patient_code.html",
        {"form": form, "valid_minutes": PatientCodeDevice.VALID_SECONDS // 60},
    )


class SetPasswordView(PasswordResetConfirmView):
    """A staff member chooses a password with the link their unit head sent
    (``ikbt.accounts.tasks.send_password_link``): Django's view, which checks the one-time
    token and keeps it out of the address bar. The second factor is set up at the first
    sign-in, as for everyone."""

    form_class = PasswordChoiceForm
    template_name = "accounts/set_password.html"
    success_url = reverse_lazy("accounts:staff_login")

    def get_user(self, uidb64: str):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_staff_member and user.is_active else None

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(
            self.request,
            _(
                "Your password is saved. Sign in with it; the first time you also connect an "
                "authenticator app."
            ),
        )
        return response


set_password = SetPasswordView.as_view()
