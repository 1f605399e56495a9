"""Patient sign-in through the region's e-identification provider (BankID, Freja eID) over
OpenID Connect. Enabled only when the ``OIDC_*`` settings are present (see the README).

The provider vouches for the personal identity number; a patient account is matched on it
and never created here (patients are registered through intake).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from ikbt.accounts.actions import log_patient_sign_in
from ikbt.accounts.models import User
from ikbt.patients.personal_number import normalise_personal_number


class PatientOIDCBackend(OIDCAuthenticationBackend):
    def authenticate(self, request, **kwargs):
        user = super().authenticate(request, **kwargs)
        if user is not None and request is not None:
            log_patient_sign_in(request, user, "e-identification")
        return user

    def verify_claims(self, claims: dict) -> bool:
        return bool(claims.get(settings.OIDC_PERSONAL_NUMBER_CLAIM))

    def filter_users_by_claims(self, claims: dict):
        try:
            number = normalise_personal_number(claims.get(settings.OIDC_PERSONAL_NUMBER_CLAIM, ""))
        except ValidationError:
            return User.objects.none()
        return User.objects.filter(
            kind=User.Kind.PATIENT, is_active=True, patient__personal_number=number
        )
