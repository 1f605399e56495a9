"""``ikbt demo``: load the demo organisation, staff and patients, and print the logins.

Safe to run again: every row is found by its natural key and updated, never duplicated.
"""

import base64
import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ikbt.accounts.actions import AUTHENTICATOR_DEVICE_NAME, BACKUP_DEVICE_NAME
from ikbt.accounts.models import User
from ikbt.core.management.commands.demo_eid import demo_eid_people
from ikbt.intake.actions import registration_accept, registration_submit
from ikbt.intake.models import Offering, Registration, Slot
from ikbt.measurement.actions import (
    current_version,
    instruments_load,
    response_start,
    response_submit,
)
from ikbt.measurement.models import Response
from ikbt.organisations.actions import supervision_start, training_record, unit_contact_set
from ikbt.organisations.models import CareUnit, Region, StaffMembership, StaffRole, Supervision
from ikbt.patients.models import CareRelationship, Guardian, Patient
from ikbt.patients.personal_number import format_personal_number, make_personal_number
from ikbt.programs.actions import (
    program_adopt,
    program_import,
    program_share,
    shipped_programs_publish,
    version_publish,
)
from ikbt.programs.models import Program, TargetGroup
from ikbt.programs.package import EXAMPLE_PACKAGE, read_package
from ikbt.research.demo import demo_study
from ikbt.treatment.models import Enrollment
from ikbt.treatment.outcome import summary_refresh

# The published demo password (README).
DEMO_PASSWORD = "demo-losenord-2026"  # noqa: S105  # nosec B105
DEMO_BACKUP_CODES = ["11112222", "33334444", "55556666"]

Kind = CareUnit.Kind
Profession = User.Profession

# The programs Örebro owns and offers (the press release: social anxiety, depression, panic).
OREBRO_PROGRAMS = ("depression", "panik", "social-angest")

# (region code, unit name, kind, HSA-id)
UNITS = [
    ("05", "Vårdcentralen Ekholmen", Kind.PRIMARY_CARE, "SE2321000032-VC0001"),
    ("05", "Vårdcentralen Lambohov", Kind.PRIMARY_CARE, "SE2321000032-VC0002"),
    ("05", "Ungdomshälsan Linköping", Kind.YOUTH_CLINIC, "SE2321000032-UH0001"),
    ("05", "BUP Linköping", Kind.CHILD_PSYCHIATRY, "SE2321000032-BUP001"),
    ("05", "Barnhälsovården Norrköping", Kind.CHILD_HEALTH, "SE2321000032-BHV001"),
    ("18", "Vårdcentralen Varberga", Kind.PRIMARY_CARE, "SE2321000164-VC0001"),
    ("18", "Internetpsykiatrin Örebro", Kind.INTERNET_PSYCHIATRY, "SE2321000164-IP0001"),
]

# How patients reach two of the units: numbers from the series set aside for fiction (PTS).
UNIT_CONTACT = {
    "Vårdcentralen Ekholmen": ("08-465 004 10", "Måndag–fredag 8–10", "Demovägen 1, Linköping"),
    "Vårdcentralen Lambohov": ("08-465 004 11", "Måndag–torsdag 13–15", ""),
}


@dataclass
class DemoStaff:
    username: str
    first_name: str
    last_name: str
    profession: str
    memberships: list[tuple[str, str]]  # (unit name, role)


STAFF = [
    DemoStaff(
        "terapeut",
        "Tove",
        "Lind",
        Profession.PSYCHOLOGIST,
        [("Vårdcentralen Ekholmen", StaffRole.THERAPIST)],
    ),
    DemoStaff(
        "ptp",
        "Pontus",
        "Berg",
        Profession.PTP_PSYCHOLOGIST,
        [("Vårdcentralen Lambohov", StaffRole.THERAPIST)],
    ),
    DemoStaff(
        "kurator",
        "Kim",
        "Sandberg",
        Profession.COUNSELLOR,
        [("Ungdomshälsan Linköping", StaffRole.THERAPIST)],
    ),
    DemoStaff(
        "handledare",
        "Helena",
        "Ek",
        Profession.PSYCHOTHERAPIST,
        [
            ("Vårdcentralen Ekholmen", StaffRole.SUPERVISOR),
            ("Vårdcentralen Lambohov", StaffRole.SUPERVISOR),
        ],
    ),
    DemoStaff(
        "bupterapeut",
        "Bengt",
        "Holm",
        Profession.PHYSICIAN,
        [("BUP Linköping", StaffRole.THERAPIST)],
    ),
    DemoStaff(
        "enhetschef",
        "Ulla",
        "Nyström",
        Profession.NURSE,
        [
            ("Vårdcentralen Ekholmen", StaffRole.UNIT_ADMIN),
            ("Vårdcentralen Lambohov", StaffRole.UNIT_ADMIN),
        ],
    ),
    DemoStaff(
        "regionadmin",
        "Rasmus",
        "Falk",
        Profession.NURSE,
        [("Vårdcentralen Ekholmen", StaffRole.REGION_ADMIN)],
    ),
    DemoStaff(
        "forfattare",
        "Frida",
        "Wall",
        Profession.PSYCHOLOGIST,
        [("Vårdcentralen Ekholmen", StaffRole.PROGRAM_AUTHOR)],
    ),
    DemoStaff(
        "register",
        "Rut",
        "Engström",
        Profession.NURSE,
        [("Vårdcentralen Ekholmen", StaffRole.REGISTER_OFFICER)],
    ),
    DemoStaff(
        "forskare",
        "Fredrik",
        "Lund",
        Profession.PHYSICIAN,
        [("Vårdcentralen Ekholmen", StaffRole.RESEARCHER)],
    ),
    DemoStaff(
        "orebro",
        "Julia",
        "Persson",
        Profession.PSYCHOLOGIST,
        [
            ("Vårdcentralen Varberga", StaffRole.THERAPIST),
            ("Internetpsykiatrin Örebro", StaffRole.THERAPIST),
            ("Internetpsykiatrin Örebro", StaffRole.UNIT_ADMIN),
        ],
    ),
]

GIVEN_NAMES = [
    "Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Sara", "Anders", "Emma", "Mikael",
    "Elin", "Per", "Linnea", "Oskar", "Maja", "Ali", "Fatima", "Nils", "Sofia", "Jonas",
    "Ida", "Hassan", "Klara", "Gustav", "Alva", "Liam", "Ebba", "Noah", "Saga", "Leo",
]  # fmt: skip
FAMILY_NAMES = [
    "Johansson", "Andersson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
    "Persson", "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson",
    "Bengtsson", "Lindberg", "Jakobsson", "Magnusson", "Olofsson", "Lindström", "Axelsson",
    "Lundberg", "Lindqvist", "Mohammed", "Hussein", "Berglund", "Fredriksson", "Sandberg",
    "Henriksson", "Forsberg",
]  # fmt: skip
# (therapist username, unit name) in turn for the 30 patients; youth go to the youth clinic.
ASSIGNMENTS = [
    ("terapeut", "Vårdcentralen Ekholmen"),
    ("ptp", "Vårdcentralen Lambohov"),
    ("orebro", "Vårdcentralen Varberga"),
    ("orebro", "Internetpsykiatrin Örebro"),
]


def demo_totp_key(username: str) -> str:
    """A fixed TOTP secret per demo user, so the printed secret stays valid across resets."""
    return hashlib.sha1(f"ikbt-demo-{username}".encode(), usedforsecurity=False).hexdigest()


def base32_secret(hex_key: str) -> str:
    return base64.b32encode(bytes.fromhex(hex_key)).decode()


DEMO_TREATMENT_WEEKS = timedelta(weeks=6, days=1)


class Command(BaseCommand):
    help = "Load the demo regions, units, staff and patients (idempotent) and print the logins."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            units = self._units()
            staff = {person.username: self._staff(person, units) for person in STAFF}
            # The PTP psychologist's replies are read by the supervisor before they go.
            lambohov = units["Vårdcentralen Lambohov"]
            if (
                not Supervision.objects.open_at(lambohov.pk)
                .filter(supervisor=staff["handledare"], supervisee=staff["ptp"])
                .exists()
            ):
                supervision_start(
                    lambohov,
                    supervisor=staff["handledare"],
                    supervisee=staff["ptp"],
                    review_messages=True,
                    by=staff["enhetschef"],
                )
            patients = self._patients(units, staff)
            self._measurements(patients)
            self._example_program(patients)
            self._shipped_programs()
            self._training()
            demo_study()
        self._print_logins(patients)

    def _units(self) -> dict[str, CareUnit]:
        regions = {region.code: region for region in Region.objects.all()}
        units = {}
        for code, name, kind, hsa_id in UNITS:
            units[name], _ = CareUnit.objects.update_or_create(
                region=regions[code], name=name, defaults={"kind": kind, "hsa_id": hsa_id}
            )
            if name in UNIT_CONTACT:
                phone, hours, address = UNIT_CONTACT[name]
                unit_contact_set(
                    units[name], phone=phone, phone_hours=hours, visiting_address=address
                )
        return units

    def _staff(self, person: DemoStaff, units: dict[str, CareUnit]) -> User:
        user, _ = User.objects.update_or_create(
            username=person.username,
            defaults={
                "kind": User.Kind.STAFF,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "email": f"{person.username}@demo.ikbt.se",
                "profession": person.profession,
            },
        )
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
        for unit_name, role in person.memberships:
            StaffMembership.objects.get_or_create(user=user, unit=units[unit_name], role=role)
        # The devices sign-in looks for, by their names: a device of any other name is not
        # asked for, and the person would be sent to connect a new app.
        TOTPDevice.objects.update_or_create(
            user=user,
            name=AUTHENTICATOR_DEVICE_NAME,
            defaults={"key": demo_totp_key(user.username), "confirmed": True},
        )
        backup, _ = StaticDevice.objects.get_or_create(user=user, name=BACKUP_DEVICE_NAME)
        backup.token_set.all().delete()
        StaticToken.objects.bulk_create(
            StaticToken(device=backup, token=code) for code in DEMO_BACKUP_CODES
        )
        return user

    def _patients(self, units: dict[str, CareUnit], staff: dict[str, User]) -> list[Patient]:
        patients = []
        for index in range(30):
            patients.append(self._patient(index, units, staff))
        return patients

    def _patient(self, index: int, units: dict[str, CareUnit], staff: dict[str, User]) -> Patient:
        youth = index >= 26
        birth = f"{2010 + index - 26}0{(index % 9) + 1}1{index % 10}" if youth else None
        birth = birth or f"19{60 + index}{(index % 12) + 1:02d}{(index % 27) + 1:02d}"
        number = make_personal_number(birth, 200 + index)
        if index == 25:  # one coordination number: day of birth + 60
            number = make_personal_number(f"{birth[:6]}{int(birth[6:]) + 60}", 300)
        given, family = GIVEN_NAMES[index], FAMILY_NAMES[index]
        user, _ = User.objects.update_or_create(
            username=f"patient-{number}",
            defaults={"kind": User.Kind.PATIENT, "first_name": given, "last_name": family},
        )
        user.set_unusable_password()
        user.save(update_fields=["password"])
        patient, _ = Patient.objects.update_or_create(
            personal_number=number,
            defaults={
                "user": user,
                "given_name": given,
                "family_name": family,
                "email": f"{given.lower()}.{family.lower()}@example.se",
                "mobile": f"+4670{1000000 + index:07d}",
                "street_address": f"Storgatan {index + 1}",
                "postal_code": f"58{index:03d}",
                "city": "Örebro" if index % 4 >= 2 else "Linköping",
                "home_region": units[
                    "Vårdcentralen Varberga" if index % 4 >= 2 else "Vårdcentralen Ekholmen"
                ].region,
                "protected_identity": index == 7,
            },
        )
        therapist, unit_name = (
            ("kurator", "Ungdomshälsan Linköping") if youth else ASSIGNMENTS[index % 4]
        )
        CareRelationship.objects.get_or_create(
            patient=patient,
            staff=staff[therapist],
            unit=units[unit_name],
            ended_at=None,
            defaults={
                "role": CareRelationship.Role.RESPONSIBLE_THERAPIST,
                "started_at": timezone.now() - DEMO_TREATMENT_WEEKS,
            },
        )
        if youth:
            Guardian.objects.update_or_create(
                patient=patient,
                personal_number=make_personal_number(f"19{75 + index - 26}0505", 400 + index),
                defaults={"name": f"Förälder {family}", "mobile": f"+4673{2000000 + index:07d}"},
            )
        return patient

    def _measurements(self, patients: list[Patient]) -> None:
        """Weekly PHQ-9 and GAD-7 for the first adults, improving; one open risk flag; one
        questionnaire waiting to be filled in."""
        instruments_load()
        versions = {code: current_version(code) for code in ("PHQ-9", "GAD-7")}
        for index, patient in enumerate(patients[:6]):
            if patient.responses.exists():
                continue
            for week in range(6):
                for code, version in versions.items():
                    count = version.parsed.answer_count
                    level = max(0, 2 - (week + index % 3) // 2)
                    answers = [level] * (count - 1) + [0]
                    if code == "PHQ-9" and index == 2 and week == 5:
                        answers[-1] = 1  # a critical answer: the demo's open risk flag
                    response = response_submit(response_start(patient, version), answers)
                    when = timezone.now() - DEMO_TREATMENT_WEEKS + timedelta(weeks=week, hours=3)
                    Response.objects.filter(pk=response.pk).update(
                        started_at=when, submitted_at=when
                    )
            if index == 0:
                response_start(patient, versions["PHQ-9"])

    def _example_program(self, patients: list[Patient]) -> None:
        """The example package, published and shared, with six patients in treatment."""
        if Program.objects.filter(slug="exempel-angest").exists():
            return
        data, problems = read_package(EXAMPLE_PACKAGE)
        if problems:
            raise CommandError("; ".join(map(str, problems)))
        version = version_publish(program_import(data, Region.objects.get(code="05")), None)
        program_share(version.program, True)
        self._intake(version.program, patients)
        for patient in patients[:6]:
            relationship = patient.care_relationships.select_related("unit").first()
            Enrollment.objects.create(
                patient=patient,
                unit=relationship.unit,
                program_version=version,
                started_at=relationship.started_at,
            )
        for enrollment in Enrollment.objects.select_related("program_version", "patient"):
            summary_refresh(enrollment)  # the demo's scores were given before these starts

    def _shipped_programs(self) -> None:
        """The nine programs, owned where the press releases place them (Örebro: depression,
        panic and social anxiety; Östergötland the rest) and offered by the demo's units: the
        youth program by the youth clinic and child psychiatry, the adult ones in primary care
        and Örebro's internet psychiatry unit."""
        orebro = Region.objects.get(code="18")
        shipped_programs_publish(
            Region.objects.get(code="05"), {slug: orebro for slug in OREBRO_PROGRAMS}
        )
        # Östergötland's units offer Örebro's programs as Östergötland adopted them.
        adopter = User.objects.get(username="regionadmin")
        for program in Program.objects.exclude(slug="exempel-angest"):
            youth = program.target_group == TargetGroup.YOUTH
            for region_code, name, kind, _hsa_id in UNITS:
                if youth and kind not in (Kind.YOUTH_CLINIC, Kind.CHILD_PSYCHIATRY):
                    continue
                if not youth and kind not in (Kind.PRIMARY_CARE, Kind.INTERNET_PSYCHIATRY):
                    continue
                if region_code == "18" and program.slug not in OREBRO_PROGRAMS:
                    continue
                unit = CareUnit.objects.get(name=name)
                if program.owner_region_id != unit.region_id:
                    program_adopt(program, unit.region, adopter)
                Offering.objects.get_or_create(unit=unit, program=program)

    def _training(self) -> None:
        """The therapists took the region's course in internet CBT a year ago and the
        introductions to the programs their units offer since; the psychologist in training
        (PTP) has the course only, so choosing her as responsible therapist says so."""
        today = timezone.localdate()
        # Recorded by an administrator of the therapist's region (each demo region has one).
        heads = {
            membership.unit.region_id: membership.user
            for membership in StaffMembership.objects.filter(
                role__in=[StaffRole.UNIT_ADMIN, StaffRole.REGION_ADMIN]
            ).select_related("user", "unit")
        }
        for membership in StaffMembership.objects.filter(role=StaffRole.THERAPIST).select_related(
            "user", "unit"
        ):
            courses = [None]
            if membership.user.username != "ptp":
                courses += list(membership.unit.offerings.values_list("program_id", flat=True))
            for program_id in courses:
                training_record(
                    membership.user,
                    program_id=program_id,
                    completed_on=today - timedelta(days=365 if program_id is None else 180),
                    unit=membership.unit,
                    by=heads[membership.unit.region_id],
                )

    def _intake(self, program: Program, patients: list[Patient]) -> None:
        """Two units offer the example program; assessment times next week; a queue of three
        and one patient accepted after 20 days, so the waiting-time page has figures. The
        offerings are then closed: the public e-service lists only the nine real programs."""
        therapist = User.objects.get(username="terapeut")
        offerings = [
            Offering.objects.create(unit=CareUnit.objects.get(name=name), program=program)
            for name in ("Vårdcentralen Ekholmen", "Vårdcentralen Lambohov")
        ]
        tomorrow = timezone.localtime().replace(hour=9, minute=0, second=0, microsecond=0)
        for day in range(1, 6):
            Slot.objects.create(
                unit=offerings[0].unit,
                therapist=therapist,
                starts_at=tomorrow + timedelta(days=day),
                mode=Slot.Mode.VIDEO,
                video_link="https://video.example.se/ikbt-demo",
            )
        answers = {
            "situation": "Jag oroar mig mycket och har svårt att sova.",
            "substance_use": "no",
            "psychiatry_contact": "no",
        }
        for patient in (patients[12], patients[13], patients[17]):
            registration_submit(patient, offerings[0], answers=answers, register_opt_out=False)
        # Already in the therapist's care at this unit: one responsible therapist, as after
        # any acceptance (not a second at another unit).
        accepted = registration_submit(
            patients[16], offerings[0], answers=answers, register_opt_out=False
        )
        Registration.objects.filter(pk=accepted.pk).update(
            registered_at=timezone.now() - timedelta(days=20)
        )
        registration_accept(
            accepted,
            by=therapist,
            therapist=therapist,
            start_date=timezone.localdate(),
            note={"problem": "Oro", "risk": "Låg", "suitability": "Motiverad"},
        )
        Offering.objects.filter(pk__in=[offering.pk for offering in offerings]).update(
            is_open=False
        )

    def _print_logins(self, patients: list[Patient]) -> None:
        out = self.stdout.write
        out("")
        out("Open iKBT demo – http://127.0.0.1:8000/")
        out("=" * 72)
        out(f"Staff: sign in at /konto/staff/logga-in/ with password {DEMO_PASSWORD!r}.")
        out("Second factor: add the TOTP secret to an authenticator app, or run")
        out("  .venv/bin/ikbt demo_totp USERNAME   (prints the current 6-digit code),")
        codes = ", ".join(DEMO_BACKUP_CODES)
        out(f"or use a backup code (each works once per demo reset): {codes}")
        out("")
        out(f"{'username':<13} {'roles':<44} TOTP secret")
        for person in STAFF:
            roles = ", ".join(
                sorted({str(StaffRole(role).label) for _, role in person.memberships})
            )
            secret = base32_secret(demo_totp_key(person.username))
            out(f"{person.username:<13} {roles:<44} {secret}")
        out("")
        if settings.PATIENT_OIDC_ENABLED:
            out("New patients: on a region's e-service page (/intag/e-tjanst/05/), choose a")
            out("program and sign in with e-identification; the demo's stand-in (ikbt demo_eid)")
            out("lets you pick one of these people with one click:")
            for person in demo_eid_people():
                number = format_personal_number(person["personal_identity_number"])
                name = f"{person['given_name']} {person['family_name']}"
                out(f"  {person['sub']:<6} {name:<16} {number}")
            out("")
        out("Patients: sign in at /konto/patient/logga-in/ with a personal identity number;")
        out("the one-time code is printed on this console by the task worker (SMS backend).")
        for patient in [*patients[:3], patients[7], patients[25], patients[26]]:
            note = ""
            if patient.protected_identity:
                note = "  (protected identity)"
            elif patient.is_coordination_number:
                note = "  (coordination number)"
            elif patient.guardians.exists():
                note = "  (youth, with guardian)"
            out(f"  {patient.personal_number_display}  {patient.full_name}{note}")
        out(f"  … {len(patients)} patients in all.")
        out("")
        out("Intake: the e-service page is /intag/e-tjanst/05/ (Östergötland); staff see the")
        out("queue at /intag/ko/. Program authoring: sign in as 'forfattare', menu 'Program'.")
        out("=" * 72)
