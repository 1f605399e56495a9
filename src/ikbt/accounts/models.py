import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django_otp.models import (
    CooldownMixin,
    SideChannelDevice,
    ThrottlingMixin,
    VerifyNotAllowed,
)


def new_session_token() -> str:
    return secrets.token_hex(16)


class User(AbstractUser):
    """Anyone who signs in: staff (with a profession and unit roles) or a patient.

    Staff sign in with a password and a second factor; patients with e-identification or a
    one-time code, so a patient's account has no usable password.
    """

    class Kind(models.TextChoices):
        STAFF = "staff", _("Staff")
        PATIENT = "patient", _("Patient")

    class Profession(models.TextChoices):
        PSYCHOLOGIST = "psychologist", _("Psychologist")
        PTP_PSYCHOLOGIST = "ptp_psychologist", _("Psychologist in training (PTP)")
        COUNSELLOR = "counsellor", _("Counsellor")
        PSYCHOTHERAPIST = "psychotherapist", _("Psychotherapist")
        PHYSICIAN = "physician", _("Physician")
        NURSE = "nurse", _("Nurse")

    class Language(models.TextChoices):
        SWEDISH = "sv", _("Swedish")
        ENGLISH = "en", _("English")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.STAFF)
    profession = models.CharField(
        _("profession"), max_length=20, choices=Profession.choices, blank=True
    )
    language = models.CharField(
        _("preferred language"), max_length=2, choices=Language.choices, default=Language.SWEDISH
    )
    # Rotating the token ends every session of this user ("sign out everywhere"): Django
    # compares the session's auth hash, which includes it, on every request.
    session_token = models.CharField(max_length=32, default=new_session_token, editable=False)
    # When she was last told that a new message waits: a feedback and a reply a minute apart
    # tell her once (``ikbt.notifications.notices``).
    new_message_told_at = models.DateTimeField(
        _("last told of a new message"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_staff_member(self) -> bool:
        return self.kind == self.Kind.STAFF

    @property
    def is_patient(self) -> bool:
        return self.kind == self.Kind.PATIENT

    def get_session_auth_hash(self) -> str:
        return salted_hmac(
            "ikbt.accounts.User.get_session_auth_hash",
            f"{self.password}:{self.session_token}",
            algorithm="sha256",
        ).hexdigest()


class CodeDevice(CooldownMixin, ThrottlingMixin, SideChannelDevice):
    """A one-time code sent to a patient's phone (django-otp side-channel device).

    A new code replaces the old one and resets the count of wrong tries; after
    ``MAX_FAILURES`` wrong tries the code is spent and a new one must be requested. A new code
    is made at most once per ``COOLDOWN_SECONDS``, so asking again and again does not flood
    the phone.
    """

    CODE_LENGTH = 6
    VALID_SECONDS = 10 * 60
    MAX_FAILURES = 5
    COOLDOWN_SECONDS = 60

    # The ``valid_until`` of the code last handed to the SMS or e-mail gateway, so a task run
    # twice does not send the same code twice.
    sent_until = models.DateTimeField(_("code sent"), null=True, blank=True)

    class Meta:
        abstract = True

    def new_code(self) -> bool:
        """A new code, saved; False (and the code unchanged) while the last is too new."""
        if not self.generate_is_allowed()[0]:
            return False
        self.generate_token(length=self.CODE_LENGTH, valid_secs=self.VALID_SECONDS, commit=False)
        self.throttle_reset(commit=False)
        self.cooldown_set(commit=False)
        self.save()
        return True

    def get_throttle_factor(self) -> int:
        # No waiting between tries: a hard limit of wrong tries per code instead.
        return 0

    def get_cooldown_duration(self) -> int:
        return self.COOLDOWN_SECONDS

    def verify_is_allowed(self) -> tuple[bool, dict | None]:
        if self.throttling_failure_count >= self.MAX_FAILURES:
            return False, {
                "reason": VerifyNotAllowed.N_FAILED_ATTEMPTS,
                "failure_count": self.throttling_failure_count,
            }
        return super().verify_is_allowed()

    def verify_token(self, token: str) -> bool:
        if not self.verify_is_allowed()[0]:
            return False
        if super().verify_token(token):
            self.throttle_reset()
            return True
        self.throttle_increment()
        return False

    @property
    def is_spent(self) -> bool:
        return self.throttling_failure_count >= self.MAX_FAILURES


class PatientCodeDevice(CodeDevice):
    """Where a patient's one-time sign-in code lives. One device per patient."""

    class Meta:
        verbose_name = _("patient sign-in code")
        verbose_name_plural = _("patient sign-in codes")
        constraints = [
            models.UniqueConstraint(fields=["user"], name="one_patient_code_device_per_user")
        ]


class NewMobileCodeDevice(CodeDevice):
    """The code that confirms a patient's new mobile number: it goes to the new number, which
    becomes hers when she writes the code back, so a mistyped number never takes the place of
    one that works. One device per patient, holding the number waiting to be confirmed (empty
    when none waits)."""

    number = models.CharField(_("new mobile phone"), max_length=20, blank=True)
    # The rest of the contact details she sent with it (``ikbt.patients.actions.CONTACT_FIELDS``),
    # saved together with the number.
    details = models.JSONField(_("contact details waiting"), default=dict, blank=True)

    class Meta:
        verbose_name = _("code confirming a new mobile number")
        verbose_name_plural = _("codes confirming a new mobile number")
        constraints = [
            models.UniqueConstraint(fields=["user"], name="one_new_mobile_device_per_user")
        ]
