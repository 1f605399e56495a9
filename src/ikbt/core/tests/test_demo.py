import io

from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from ikbt.accounts.models import User
from ikbt.core.management.commands.demo import DEMO_BACKUP_CODES, DEMO_PASSWORD
from ikbt.intake.models import Offering, Registration
from ikbt.measurement.models import Response, RiskFlag
from ikbt.organisations.models import CareUnit, Region, StaffMembership, StaffRole, Training
from ikbt.patients.models import CareRelationship, Patient
from ikbt.programs.models import Program
from ikbt.research.models import Allocation, Participant
from ikbt.treatment.models import Enrollment


def test_all_21_regions_ship_with_their_codes(db):
    assert Region.objects.count() == 21
    assert Region.objects.get(code="05").name == "Region Östergötland"
    assert Region.objects.get(code="18").name == "Region Örebro län"


def test_demo_loads_people_and_places_and_can_run_twice(db, capsys):
    call_command("demo")
    call_command("demo")

    # The seven demo units and three more primary care centres for the five-centre study.
    assert CareUnit.objects.count() == 10
    assert set(CareUnit.objects.values_list("kind", flat=True)) >= {
        CareUnit.Kind.PRIMARY_CARE,
        CareUnit.Kind.YOUTH_CLINIC,
        CareUnit.Kind.CHILD_PSYCHIATRY,
    }
    assert set(StaffMembership.objects.values_list("role", flat=True)) == set(StaffRole.values)
    professions = User.objects.filter(kind=User.Kind.STAFF).values_list("profession", flat=True)
    assert set(professions) == set(User.Profession.values)
    assert Patient.objects.count() == 30
    assert Patient.objects.filter(protected_identity=True).count() == 1
    # One each: the patient accepted at intake was in her therapist's care there already.
    assert CareRelationship.objects.active().count() == 30
    assert all(patient.guardians.exists() for patient in Patient.objects.all() if patient.is_minor)
    assert TOTPDevice.objects.filter(confirmed=True).count() == 11
    # The demo study's six patients are counted apart (below).
    study = Response.objects.filter(patient__study_participations__isnull=False)
    rest = Response.objects.filter(patient__study_participations__isnull=True)
    # Six patients answer PHQ-9 and GAD-7 weekly for six weeks; one has an open risk flag.
    assert rest.filter(status="submitted").count() == 6 * 6 * 2
    assert RiskFlag.objects.open().count() == 1
    # One waiting on a home page, screening for four registrations (one accepted at intake:
    # its two are asked as the pre-treatment ones), and the weekly GAD-7 (weeks 2-12).
    assert rest.filter(status="in_progress").count() == 1 + 4 * 2 + 11
    # The example and the nine shipped programs, each published once.
    assert Program.objects.count() == 10
    assert all(program.versions.get().is_published for program in Program.objects.all())
    # The public e-service offers only the nine real programs; the example's queue stays.
    open_offerings = Offering.objects.filter(is_open=True)
    assert not open_offerings.filter(program__slug="exempel-angest").exists()
    # Every therapist took the course; all but the PTP psychologist the introductions too.
    therapists = User.objects.filter(memberships__role=StaffRole.THERAPIST).distinct()
    assert all(person.trainings.filter(program=None).exists() for person in therapists)
    assert not Training.objects.filter(staff__username="ptp", program__isnull=False).exists()
    assert Training.objects.filter(staff__username="terapeut", program__slug="oro").exists()
    assert open_offerings.values("program").distinct().count() == 9
    in_study = Enrollment.objects.filter(patient__study_participations__isnull=False)
    assert Enrollment.objects.count() - in_study.count() == 7  # six in treatment, one accepted
    assert (
        Registration.objects.filter(
            status="submitted", patient__study_participations__isnull=True
        ).count()
        == 3
    )
    # The study: six included, five consented and randomised, the program arm in treatment.
    participants = Participant.objects.filter(study__title__startswith="iStress")
    assert participants.count() == 6
    assert Allocation.objects.filter(participant__in=participants).count() == 5
    assert in_study.count() == Allocation.objects.exclude(arm__program=None).count()
    assert study.filter(status="submitted").exists()
    printed = capsys.readouterr().out
    assert "terapeut" in printed
    assert "demo-losenord-2026" in printed


def test_demo_staff_sign_in_with_the_printed_second_factor(client, db, settings):
    """The README's way in: the demo password, then the code `ikbt demo_totp` prints (or a
    printed backup code) on the page that asks for it, not the page that connects a new app."""
    settings.DEBUG = True  # demo_totp refuses to run otherwise
    call_command("demo")
    code = io.StringIO()
    call_command("demo_totp", "terapeut", stdout=code)

    login = client.post(
        reverse("accounts:staff_login"),
        {"username": "terapeut", "password": DEMO_PASSWORD},
    )
    assert login.url.startswith(reverse("accounts:two_factor"))
    assert client.get(login.url).status_code == 200  # asks for the code; no new app
    signed_in = client.post(reverse("accounts:two_factor"), {"code": code.getvalue().strip()})
    assert signed_in.url == reverse("patients:staff_home")
    assert client.get(reverse("treatment:caseload")).status_code == 200

    other = Client()
    other.post(
        reverse("accounts:staff_login"), {"username": "enhetschef", "password": DEMO_PASSWORD}
    )
    backup = other.post(reverse("accounts:two_factor"), {"code": DEMO_BACKUP_CODES[0]})
    assert backup.url == reverse("patients:staff_home")
