"""Patient sign-in through the region's e-identification provider (BankID, Freja eID) over
OpenID Connect. Enabled only when the ``OIDC_*`` settings are present (see the README).

The provider vouches for the personal identity number; a patient account is matched on it.
A person signing in for the first time (to register their interest through the e-service) gets
a patient account with the name the provider gives; staff accounts are never created here.
"""

import logging

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import SuspiciousOperation, ValidationError
from django.db import transaction
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

from ikbt.accounts.actions import keep_chosen_language, log_patient_sign_in
from ikbt.accounts.models import User
from ikbt.patients.models import Patient
from ikbt.patients.personal_number import normalise_personal_number

logger = logging.getLogger(__name__)

# What the provider's answer can fail with: unreachable or an HTTP error (requests), a token
# that does not verify (PyJWT, or mozilla-django-oidc's SuspiciousOperation), a key or a claim
# missing or malformed (KeyError, ValueError).
PROVIDER_FAILURES = (
    requests.RequestException,
    jwt.PyJWTError,
    SuspiciousOperation,
    KeyError,
    ValueError,
)


class PatientOIDCBackend(OIDCAuthenticationBackend):
    def authenticate(self, request, **kwargs):
        """The provider's answer checked and its person found. The provider unreachable or
        answering wrongly, or a token or key not as expected, is a sign-in that did not go
        through: the callback sends her back to the sign-in page, which says so, rather than
        showing a server error. Logged by the kind of failure only: the error's text could
        hold a token or a personal identity number. A fault of our own (a bug, the database
        away) is not hidden as one: it answers as any other does."""
        try:
            user = super().authenticate(request, **kwargs)
        except PROVIDER_FAILURES as error:
            logger.error("E-identification failed at the callback: %s", type(error).__name__)
            return None
        if user is not None and request is not None:
            keep_chosen_language(request, user)
            log_patient_sign_in(request, user, "e-identification")
        return user

    def verify_claims(self, claims: dict) -> bool:
        try:
            normalise_personal_number(claims.get(settings.OIDC_PERSONAL_NUMBER_CLAIM, ""))
        except ValidationError:
            return False
        return True

    @transaction.atomic
    def create_user(self, claims: dict) -> User:
        number = normalise_personal_number(claims[settings.OIDC_PERSONAL_NUMBER_CLAIM])
        given, family = claims.get("given_name", ""), claims.get("family_name", "")
        user = User.objects.create(
            username=f"patient-{number}",
            kind=User.Kind.PATIENT,
            first_name=given,
            last_name=family,
        )
        user.set_unusable_password()
        user.save(update_fields=["password"])
        Patient.objects.create(
            user=user, personal_number=number, given_name=given, family_name=family
        )
        return user

    def filter_users_by_claims(self, claims: dict):
        try:
            number = normalise_personal_number(claims.get(settings.OIDC_PERSONAL_NUMBER_CLAIM, ""))
        except ValidationError:
            return User.objects.none()
        return User.objects.filter(
            kind=User.Kind.PATIENT, is_active=True, patient__personal_number=number
        )


class PatientCallbackView(OIDCAuthenticationCallbackView):
    """The return from the provider. A sign-in that did not go through (cancelled at the
    provider, or an identity without a Swedish personal identity number) comes back to the
    patient's sign-in page, which says so and offers the code by text message."""

    def login_failure(self):
        messages.error(
            self.request,
            _(
                "You were not signed in with e-identification. Try again, or sign in with a "
                "code sent by text message."
            ),
        )
        return redirect("accounts:patient_sign_in")
