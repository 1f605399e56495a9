from django.test import RequestFactory

from ikbt.accounts.oidc import PatientOIDCBackend


def backend() -> PatientOIDCBackend:
    # The provider's endpoints are not needed to match a person to an account.
    instance = PatientOIDCBackend.__new__(PatientOIDCBackend)
    instance.request = RequestFactory().get("/")
    return instance


def test_matches_the_patient_by_personal_number(patient, settings):
    claims = {settings.OIDC_PERSONAL_NUMBER_CLAIM: patient.personal_number}
    assert backend().verify_claims(claims)
    assert list(backend().filter_users_by_claims(claims)) == [patient.user]


def test_staff_and_bad_numbers_match_nobody(patient, therapist, settings):
    claim = settings.OIDC_PERSONAL_NUMBER_CLAIM
    assert not backend().verify_claims({})
    assert not backend().filter_users_by_claims({claim: "19850314-1235"}).exists()
    assert not backend().filter_users_by_claims({claim: therapist.username}).exists()


def test_first_sign_in_creates_a_patient_account(db, settings):
    claims = {
        settings.OIDC_PERSONAL_NUMBER_CLAIM: "19900101-0017",
        "given_name": "Sara",
        "family_name": "Svensson",
    }
    user = backend().create_user(claims)
    assert user.is_patient
    assert not user.has_usable_password()
    assert (user.patient.personal_number, user.patient.full_name) == (
        "199001010017",
        "Sara Svensson",
    )
