"""The demo study: iStress, internet CBT for exhaustion against a waiting list, in five primary
care centres of Östergötland, as the real iStress study was. Called by ``ikbt demo`` after the
shipped programs are published; safe to run again (an existing study is left as it is)."""

from django.db import transaction
from django.utils import timezone

from ikbt.accounts.models import User
from ikbt.intake.actions import registration_accept, registration_submit
from ikbt.intake.models import Offering
from ikbt.measurement.actions import response_submit
from ikbt.measurement.models import Response
from ikbt.organisations.models import CareUnit, Region, StaffRole
from ikbt.patients.models import CareRelationship
from ikbt.programs.models import Program
from ikbt.research import actions
from ikbt.research.models import Study

TITLE = "iStress-studien"
UNIT_COUNT = 5
# Primary care centres added when the demo region has fewer than five: (name, HSA-id).
EXTRA_UNITS = [
    ("Vårdcentralen Ryd", "SE2321000032-VC0003"),
    ("Vårdcentralen Skäggetorp", "SE2321000032-VC0004"),
    ("Vårdcentralen Johannelund", "SE2321000032-VC0005"),
    ("Vårdcentralen Berga", "SE2321000032-VC0006"),
    ("Vårdcentralen Valla", "SE2321000032-VC0007"),
]
PARTICIPANTS = 6
# One paragraph, one line: the pages keep the text's line breaks (staff paste real text).
INFORMATION = (
    "Vi vill ta reda på om internetbehandling med KBT hjälper mot utmattningssyndrom. "
    "Hälften av deltagarna lottas till behandling direkt, hälften till en väntelista och får "
    "behandlingen efter tolv veckor. Du fyller i några extra formulär. Dina svar lämnas till "
    "forskarna utan namn och personnummer. Det är frivilligt att delta och du kan när som "
    "helst avbryta utan att ange skäl; din vård påverkas inte."
)
ANSWERS = {"situation": "Jag är helt slut efter en lång tid med stress.", "substance_use": "no",
           "psychiatry_contact": "no"}  # fmt: skip


def _units(region: Region) -> list[CareUnit]:
    units = list(
        CareUnit.objects.filter(region=region, kind=CareUnit.Kind.PRIMARY_CARE).order_by("name")
    )
    for name, hsa_id in EXTRA_UNITS:
        if len(units) >= UNIT_COUNT:
            break
        unit, _created = CareUnit.objects.get_or_create(
            region=region,
            name=name,
            defaults={"kind": CareUnit.Kind.PRIMARY_CARE, "hsa_id": hsa_id},
        )
        if unit not in units:
            units.append(unit)
    return units[:UNIT_COUNT]


def _investigator(region: Region) -> User:
    return (
        User.objects.filter(username="forskare").first()
        or User.objects.filter(
            memberships__role=StaffRole.RESEARCHER, memberships__unit__region=region
        ).first()
        or User.objects.filter(memberships__role=StaffRole.REGION_ADMIN).first()
    )


@transaction.atomic
def demo_study() -> Study:
    """Set up iStress with two arms across five units, open recruitment, and include,
    consent and randomise a few demo patients; the treatment arm's patients start."""
    existing = Study.objects.filter(title=TITLE).first()
    if existing is not None:
        return existing
    region = Region.objects.get(code="05")
    program = Program.objects.get(slug="utmattning")
    pi = _investigator(region)
    units = _units(region)
    study = actions.study_create(
        by=pi,
        title=TITLE,
        region=region,
        principal_investigator=pi,
        ethics_approval_number="Dnr 2026-01234-01",
        ethics_approval_date=timezone.localdate().replace(month=1, day=15),
        information_text=INFORMATION,
        planned_size=120,
        min_age=18,
        max_age=67,
        exclusion_criteria="Pågående missbruk. Akut suicidrisk. Annan psykologisk behandling.",
        relative_dates=True,
        treatment_weeks=12,
        stratification_factors=[],
        block_sizes=[2, 4, 6],
    )
    for unit in units:
        actions.study_unit_add(study, unit, by=pi)
        Offering.objects.get_or_create(unit=unit, program=program)
    actions.arm_add(study, name="Internet-KBT", program=program, by=pi)
    waiting = actions.arm_add(study, name="Väntelista", program=None, by=pi)
    for when in ("pre", "post"):
        for code in ("KEDS", "PSS-10"):
            actions.study_measurement_add(
                study, when=when, instrument_code=code, arm=waiting, by=pi
            )
    actions.study_measurement_add(study, when="follow_up_12", instrument_code="MADRS-S", by=pi)
    actions.screening_criterion_add(
        study, instrument_code="KEDS", min_total=19, max_total=None, by=pi
    )
    study = actions.study_open_recruitment(study, by=pi)
    _recruit(study, units, program)
    return study


def _recruit(study: Study, units: list[CareUnit], program: Program) -> None:
    """Adults in the study's units with no treatment yet register for the program, screen
    above the cut-off, are included, consent and are randomised (the last one is only asked)."""
    relationships = list(
        CareRelationship.objects.active()
        .filter(
            unit__in=units,
            role=CareRelationship.Role.RESPONSIBLE_THERAPIST,
            patient__protected_identity=False,
            patient__enrollments__isnull=True,
            patient__registrations__isnull=True,
        )
        .select_related("patient", "unit", "staff")
        .order_by("patient__personal_number")
    )
    chosen = [rel for rel in relationships if rel.patient.age >= study.min_age][:PARTICIPANTS]
    for index, relationship in enumerate(chosen):
        patient, unit, therapist = relationship.patient, relationship.unit, relationship.staff
        offering = Offering.objects.get(unit=unit, program=program)
        registration = registration_submit(
            patient, offering, answers=ANSWERS, register_opt_out=False, research_consent=True
        )
        keds = registration.screening.get(instrument_version__instrument__code="KEDS")
        response_submit(keds, [4] * keds.instrument_version.parsed.answer_count)
        _answer_the_rest(registration)
        participant = actions.participant_include(
            study, patient, unit=unit, by=therapist, strata={}, exclusion_checked=True
        )
        if index == len(chosen) - 1:
            continue
        actions.consent_sign(participant, signed_name=patient.full_name)
        allocation = actions.participant_randomise(participant, by=therapist)
        if not allocation.arm.is_waiting_list:
            registration_accept(
                registration,
                by=therapist,
                therapist=therapist,
                start_date=timezone.localdate(),
                note={"problem": "Utmattning", "risk": "Låg", "suitability": "Motiverad"},
            )


def _answer_the_rest(registration) -> None:
    """The other screening questionnaires, each answered with its lowest options."""
    for response in registration.screening.filter(status=Response.Status.IN_PROGRESS):
        parsed = response.instrument_version.parsed
        lowest = [min(part.scale.values) for item in parsed.items for part in item.parts]
        response_submit(response, lowest)
