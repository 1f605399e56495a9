"""Fixtures for the research tests: the exhaustion program, a researcher (principal
investigator), five primary care centres and a helper that includes a patient."""

import pytest

from ikbt import factories
from ikbt.accounts.models import User
from ikbt.measurement.actions import current_version, response_start, response_submit
from ikbt.measurement.models import Response
from ikbt.organisations.models import CareUnit, StaffRole
from ikbt.patients.models import Patient
from ikbt.programs.actions import program_import, version_publish
from ikbt.programs.models import Program
from ikbt.programs.package import PACKAGES, read_package
from ikbt.research import actions
from ikbt.research.models import Participant, Study


@pytest.fixture
def program(unit) -> Program:
    data, _ = read_package(PACKAGES / "utmattning")
    return version_publish(program_import(data, unit.region), None).program


@pytest.fixture
def researcher(unit) -> User:
    return factories.staff_member(
        unit, StaffRole.RESEARCHER, username="researcher", first_name="Rebecka", last_name="Rön"
    )


@pytest.fixture
def units(unit) -> list[CareUnit]:
    others = [factories.CareUnitFactory(name=f"Vårdcentralen Studie {n}") for n in range(4)]
    return [unit, *others]


def submit(patient: Patient, code: str, value: int) -> Response:
    version = current_version(code)
    return response_submit(response_start(patient, version), [value] * version.parsed.answer_count)


def make_study(pi: User, units: list[CareUnit], program: Program, **fields) -> Study:
    """A planned two-arm study (the program against a waiting list) at ``units``."""
    defaults = {
        "title": "iStress",
        "region": units[0].region,
        "principal_investigator": pi,
        "ethics_approval_number": "2026-01234-01",
        "ethics_approval_date": "2026-01-15",
        "information_text": "Vi jämför internetbehandling med väntelista.",
        "planned_size": 24,
        "min_age": 18,
        "max_age": 67,
        "exclusion_criteria": "",
        "stratification_factors": [],
        "block_sizes": [2, 4, 6],
    }
    study = actions.study_create(by=pi, **(defaults | fields))
    for each in units:
        actions.study_unit_add(study, each, by=pi)
    actions.arm_add(study, name="Internet-KBT", program=program, by=pi)
    actions.arm_add(study, name="Väntelista", program=None, by=pi)
    return study


def open_study(pi: User, units: list[CareUnit], program: Program, **fields) -> Study:
    study = make_study(pi, units, program, **fields)
    return actions.study_open_recruitment(study, by=pi)


def enrol(
    study: Study,
    unit: CareUnit,
    therapist: User,
    *,
    patient: Patient | None = None,
    strata: dict | None = None,
    consent: bool = True,
    **patient_fields,
) -> Participant:
    """A patient in the therapist's care at ``unit``, included (and consenting)."""
    if patient is None:
        patient = factories.PatientFactory(**patient_fields)
        factories.care_relationship(patient, therapist, unit)
    participant = actions.participant_include(
        study, patient, unit=unit, by=therapist, strata=strata or {}, exclusion_checked=True
    )
    if consent:
        actions.consent_sign(participant, signed_name=patient.full_name)
    return participant
