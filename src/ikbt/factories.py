"""Factories for tests: one person or place per call, with realistic Swedish data."""

import datetime
import itertools

import factory
from django.utils import timezone

from ikbt.accounts.models import User
from ikbt.organisations.models import CareUnit, Region, StaffMembership, StaffRole
from ikbt.patients.models import CareRelationship, Guardian, Patient
from ikbt.patients.personal_number import make_personal_number

# Test data.
TEST_PASSWORD = "korrekt-hast-batteri-9"  # noqa: S105  # nosec B105


personal_number = make_personal_number

_serials = itertools.count(100)


def _next_number(born: str) -> str:
    """A new valid number: serials 100-999 on ``born``, then on the days after it (a bench
    fills lists with thousands of patients)."""
    serial = next(_serials)
    day = datetime.date(int(born[:4]), int(born[4:6]), int(born[6:])) + datetime.timedelta(
        days=(serial - 100) // 900
    )
    return personal_number(day.strftime("%Y%m%d"), 100 + (serial - 100) % 900)


def region(code: str = "05") -> Region:
    return Region.objects.get(code=code)


class CareUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareUnit

    region = factory.LazyFunction(lambda: region("05"))
    name = factory.Sequence(lambda n: f"Vårdcentralen {n}")
    kind = CareUnit.Kind.PRIMARY_CARE


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = "Anna"
    last_name = factory.Sequence(lambda n: f"Andersson{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.se")
    kind = User.Kind.STAFF
    profession = User.Profession.PSYCHOLOGIST
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def save_password(self, create, extracted, **kwargs):
        if create:
            self.save(update_fields=["password"])


def staff_member(unit: CareUnit, *roles: str, **fields) -> User:
    user = StaffFactory(**fields)
    for role in roles or (StaffRole.THERAPIST,):
        StaffMembership.objects.create(user=user, unit=unit, role=role)
    return user


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    personal_number = factory.LazyFunction(lambda: _next_number("19850314"))
    user = factory.LazyAttribute(
        lambda patient: User.objects.create(
            username=f"patient-{patient.personal_number}",
            kind=User.Kind.PATIENT,
            first_name=patient.given_name,
            last_name=patient.family_name,
        )
    )
    given_name = "Karin"
    family_name = factory.Sequence(lambda n: f"Karlsson{n}")
    email = factory.LazyAttribute(lambda patient: f"{patient.family_name.lower()}@example.se")
    mobile = "+46701234567"
    street_address = "Storgatan 1"
    postal_code = "58222"
    city = "Linköping"
    home_region = factory.LazyFunction(lambda: region("05"))


class GuardianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guardian

    patient = factory.SubFactory(PatientFactory)
    personal_number = factory.LazyFunction(lambda: _next_number("19800101"))
    name = "Lena Förälder"


def care_relationship(
    patient: Patient,
    staff: User,
    unit: CareUnit,
    role: str = CareRelationship.Role.RESPONSIBLE_THERAPIST,
) -> CareRelationship:
    return CareRelationship.objects.create(
        patient=patient, staff=staff, unit=unit, role=role, started_at=timezone.now()
    )
