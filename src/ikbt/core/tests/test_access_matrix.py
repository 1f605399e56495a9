"""Who gets what on every page: an access matrix generated from the URL configuration.

Every named URL of the project is requested as each of eleven roles, and the status code is
compared with the tables below. A URL without a row fails, and so does a row whose URL is
gone: a new page cannot ship before someone has decided, here, who may open it.

Codes: 200 shown, 302 redirected (anonymous: to a sign-in page or the front door), 404 as if
it did not exist, 405 wrong method. Each cell is undone after its request (rows and the
browser's cookies), so no cell changes the next one.
"""

import copy
import datetime
from dataclasses import dataclass

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from ikbt import factories
from ikbt.accounts.middleware import LAST_SEEN_AT, SIGNED_IN_AT
from ikbt.accounts.models import User
from ikbt.audit.models import AccessLogEntry
from ikbt.conftest import verified_client
from ikbt.intake import actions as intake_actions
from ikbt.intake.models import Offering, Slot
from ikbt.measurement import actions as measurement_actions
from ikbt.messaging.actions import thread_start
from ikbt.organisations.models import StaffRole
from ikbt.programs.actions import program_share
from ikbt.research import actions as research_actions

ROLES = (
    "anonymous",
    "patient",  # the patient whose data the URLs point at
    "other_patient",
    "therapist",  # the patient's responsible therapist
    "colleague",  # a therapist in the same unit, no care relationship
    "outsider",  # a therapist in another region
    "unit_admin",  # administrator of the patient's unit
    "region_admin",
    "register_officer",
    "researcher",  # principal investigator of the study the patient takes part in
    "program_author",
)
STAFF_ROLES = ROLES[3:]

# Third-party views with their own tests and behaviour: Django's admin (django-otp's admin
# site asks for the second factor itself) and mozilla-django-oidc's e-id sign-in, which sends
# whoever asks on to the identity provider.
SKIPPED_NAMESPACES = ("admin",)
SKIPPED_NAMES = (
    "oidc_authentication_init",
    "oidc_authentication_callback",
    "oidc_logout",
)

GET = """
#                                          anon  pat  oth ther coll outs uadm radm  reg  res auth
accounts:authenticator_setup                302  302  302  302  302  302  302  302  302  302  302
accounts:backup_codes                       302  404  404  302  302  302  302  302  302  302  302
accounts:patient_code                       302  302  302  302  302  302  302  302  302  302  302
accounts:patient_sign_in                    200  200  200  200  200  200  200  200  200  200  200
accounts:security                           302  200  200  200  200  200  200  200  200  200  200
# A link to choose a password, here one that is not valid: the page says so to anyone.
accounts:set_password                       200  200  200  200  200  200  200  200  200  200  200
accounts:sign_out                           405  405  405  405  405  405  405  405  405  405  405
accounts:staff_login                        200  200  200  302  302  302  302  302  302  302  302
accounts:two_factor                         302  302  302  302  302  302  302  302  302  302  302
audit:my_access_log                         302  200  200  404  404  404  404  404  404  404  404
audit:review                                302  404  404  404  404  404  200  404  404  404  404
core:healthz                                200  200  200  200  200  200  200  200  200  200  200
core:home                                   200  302  302  302  302  302  302  302  302  302  302
intake:eservice                             200  200  200  200  200  200  200  200  200  200  200
intake:my_registrations                     302  200  200  404  404  404  404  404  404  404  404
intake:queue                                302  404  404  200  200  200  200  404  404  404  404
intake:register                             302  200  200  404  404  404  404  404  404  404  404
# Triage is the unit's task (intake.access): its therapists, the colleague too, open the
# unit's waiting registrations (a decided one only those who took it on: test_intake); the
# outsider is turned away and the denial logged.
intake:registration                         302  404  404  200  200  404  200  404  404  404  404
intake:slots                                302  404  404  200  200  200  404  404  404  404  404
# Only the unit's administrator moves a treatment. Fails until the refusals are written to
# the access log as denied, as for every other patient-data URL.
intake:treatment_transfer                   302  404  404  404  404  404  200  404  404  404  404
intake:unit_offerings                       302  404  404  404  404  404  200  200  404  404  404
intake:waiting                              302  404  404  200  200  200  200  404  404  404  404
measurement:acknowledge_risk_flag           302  404  404  405  405  405  405  405  405  405  405
measurement:answer                          302  200  404  404  404  404  404  404  404  404  404
measurement:answered                        302  200  404  404  404  404  404  404  404  404  404
measurement:fhir_observation                302  404  404  200  404  404  200  404  404  404  404
measurement:fhir_questionnaire              302  404  404  200  200  200  200  200  200  200  200
measurement:fhir_questionnaire_response     302  404  404  200  404  404  200  404  404  404  404
measurement:instrument_detail               302  404  404  200  200  200  200  200  200  200  200
measurement:instrument_list                 302  404  404  200  200  200  200  200  200  200  200
measurement:my_scores                       302  200  200  404  404  404  404  404  404  404  404
measurement:patient_measurements            302  404  404  200  404  404  200  404  404  404  404
# The unit administrator is sent on to the measurements: the therapist filled this one in.
measurement:staff_answer                    302  404  404  200  404  404  302  404  404  404  404
measurement:start_questionnaire             302  404  404  405  405  405  405  405  405  405  405
messaging:inbox                             302  200  200  404  404  404  404  404  404  404  404
messaging:patient_threads                   302  404  404  200  404  404  200  404  404  404  404
messaging:staff_thread                      302  404  404  200  404  404  200  404  404  404  404
messaging:thread                            302  200  404  404  404  404  404  404  404  404  404
# A unit's head and its region's administrators run it (organisations.access).
organisations:unit                          302  404  404  404  404  404  200  200  404  404  404
organisations:units                         302  404  404  404  404  404  200  200  404  404  404
patients:patient_detail                     302  404  404  200  404  404  200  404  404  404  404
patients:patient_home                       302  200  200  404  404  404  404  404  404  404  404
# Staff without patients of their own or their unit's start at their work (statistics, …).
patients:staff_home                         302  404  404  200  200  200  200  302  302  302  302
programs:adopt                              302  404  404  405  405  405  405  405  405  405  405
programs:fork                               302  404  404  405  405  405  405  405  405  405  405
programs:list                               302  404  404  404  404  404  404  200  404  404  200
# Program media: every signed-in staff member, and patients in treatment on the version.
programs:media                              404  200  404  200  200  200  200  200  200  200  200
programs:module                             302  404  404  404  404  404  404  200  404  404  200
programs:move_patients                      302  404  404  404  404  404  404  200  404  404  200
programs:page                               302  404  404  404  404  404  404  200  404  404  200
programs:package                            302  404  404  404  404  404  404  200  404  404  200
programs:preview                            302  404  404  404  404  404  404  200  404  404  200
programs:quiz                               302  404  404  404  404  404  404  200  404  404  200
programs:version                            302  404  404  404  404  404  404  200  404  404  200
programs:version_action                     302  404  404  405  405  405  405  405  405  405  405
programs:worksheet                          302  404  404  404  404  404  404  200  404  404  200
reporting:national                          302  404  404  404  404  404  200  200  200  404  404
reporting:register_dictionary               302  404  404  200  200  200  200  200  200  200  200
reporting:register_export                   302  404  404  404  404  404  404  404  200  404  404
reporting:statistics                        302  404  404  404  404  404  200  200  200  404  404
research:consent                            302  302  404  404  404  404  404  404  404  404  404
research:export                             302  404  404  404  404  404  404  404  404  200  404
research:export_file                        302  404  404  404  404  404  404  404  404  200  404
research:my_studies                         302  200  200  404  404  404  404  404  404  404  404
research:participants                       302  404  404  404  404  404  404  404  404  200  404
research:patient                            302  404  404  200  404  404  200  404  404  404  404
research:recruitment                        302  404  404  404  404  404  200  200  404  200  404
research:study                              302  404  404  404  404  404  200  200  404  200  404
research:study_close                        405  405  405  405  405  405  405  405  405  405  405
research:study_create                       302  404  404  404  404  404  404  200  404  200  404
research:study_edit                         302  404  404  404  404  404  404  200  404  200  404
research:study_list                         302  404  404  200  200  200  200  200  200  200  200
research:study_open                         405  405  405  405  405  405  405  405  405  405  405
research:withdraw                           302  200  404  404  404  404  404  404  404  404  404
# The language switch answers everyone alike, back to the page (ours: it also keeps the choice).
set_language                                302  302  302  302  302  302  302  302  302  302  302
treatment:absences                          302  404  404  200  200  200  200  200  200  200  200
treatment:caseload                          302  404  404  200  200  200  200  200  200  200  200
treatment:home                              302  200  200  404  404  404  404  404  404  404  404
treatment:module_page                       302  200  404  404  404  404  404  404  404  404  404
treatment:module_questionnaire              302  405  405  404  404  404  404  404  404  404  404
treatment:record                            302  404  404  200  404  404  200  404  404  404  404
treatment:reply_templates                   302  404  404  200  200  200  200  200  200  200  200
treatment:summary                           302  200  404  404  404  404  404  404  404  404  404
treatment:worksheet_save                    302  405  405  404  404  404  404  404  404  404  404
"""

POST = """
#                                          anon  pat  oth ther coll outs uadm radm  reg  res auth
accounts:authenticator_setup                302  302  302  302  302  302  302  302  302  302  302
accounts:patient_code                       302  302  302  302  302  302  302  302  302  302  302
accounts:patient_sign_in                    200  200  200  200  200  200  200  200  200  200  200
accounts:security                           302  302  302  302  302  302  302  302  302  302  302
accounts:set_password                       200  200  200  200  200  200  200  200  200  200  200
accounts:sign_out                           302  302  302  302  302  302  302  302  302  302  302
accounts:staff_login                        200  200  200  302  302  302  302  302  302  302  302
accounts:two_factor                         302  302  302  302  302  302  302  302  302  302  302
intake:my_registrations                     302  302  404  404  404  404  404  404  404  404  404
intake:register                             302  200  200  404  404  404  404  404  404  404  404
intake:registration                         302  404  404  302  302  404  302  404  404  404  404
# The outsider may publish times, but not at the patient's unit (the form says no).
intake:slots                                302  404  404  302  302  200  404  404  404  404  404
intake:treatment_transfer                   302  404  404  404  404  404  302  404  404  404  404
intake:unit_offerings                       302  404  404  404  404  404  302  302  404  404  404
measurement:acknowledge_risk_flag           302  404  404  302  404  404  302  404  404  404  404
measurement:answer                          302  200  404  404  404  404  404  404  404  404  404
measurement:staff_answer                    302  404  404  200  404  404  302  404  404  404  404
measurement:start_questionnaire             302  404  404  302  404  404  302  404  404  404  404
# A patient with no care team is told no one would read it (the form comes back).
messaging:inbox                             302  302  200  404  404  404  404  404  404  404  404
messaging:patient_threads                   302  404  404  302  404  404  302  404  404  404  404
messaging:staff_thread                      302  404  404  302  404  404  302  404  404  404  404
messaging:thread                            302  302  404  404  404  404  404  404  404  404  404
organisations:unit                          302  404  404  404  404  404  302  302  404  404  404
# Only a region's administrators add units.
organisations:units                         302  404  404  404  404  404  404  302  404  404  404
# Authors of the owner region are told they own the program already.
programs:adopt                              302  404  404  404  404  404  404  302  404  404  302
programs:fork                               302  404  404  404  404  404  404  302  404  404  302
programs:list                               302  404  404  404  404  404  404  302  404  404  302
# A published version cannot change: its authors are sent back to it.
programs:module                             302  404  404  404  404  404  404  302  404  404  302
programs:move_patients                      302  404  404  404  404  404  404  302  404  404  302
programs:page                               302  404  404  404  404  404  404  302  404  404  302
programs:quiz                               302  404  404  404  404  404  404  302  404  404  302
programs:version                            302  404  404  404  404  404  404  302  404  404  302
programs:version_action                     302  404  404  404  404  404  404  302  404  404  302
programs:worksheet                          302  404  404  404  404  404  404  302  404  404  302
reporting:register_export                   302  404  404  404  404  404  404  404  200  404  404
research:consent                            302  302  404  404  404  404  404  404  404  404  404
# Only the responsible therapist randomises; the unit administrator is refused in words.
research:patient                            302  404  404  302  404  404  302  404  404  404  404
# The unit administrator sees the study's setup but does not change it.
research:study                              302  404  404  404  404  404  404  200  404  200  404
research:study_close                        302  404  404  404  404  404  404  302  404  302  404
research:study_create                       302  404  404  404  404  404  404  200  404  200  404
research:study_edit                         302  404  404  404  404  404  404  200  404  200  404
research:study_open                         302  404  404  404  404  404  404  302  404  302  404
research:withdraw                           302  200  404  404  404  404  404  404  404  404  404
set_language                                302  302  302  302  302  302  302  302  302  302  302
treatment:absences                          302  404  404  302  302  302  302  302  302  302  302
treatment:module_page                       302  200  404  404  404  404  404  404  404  404  404
treatment:module_questionnaire              302  302  404  404  404  404  404  404  404  404  404
treatment:record                            302  404  404  302  404  404  302  404  404  404  404
treatment:reply_templates                   302  404  404  302  302  302  302  302  302  302  302
treatment:worksheet_save                    302  302  404  404  404  404  404  404  404  404  404
"""

# URLs whose views change nothing: they need no row in the POST table.
READ_ONLY = {
    "accounts:backup_codes",
    "audit:my_access_log",
    "audit:review",
    "core:healthz",
    "core:home",
    "intake:eservice",
    "intake:queue",
    "intake:waiting",
    "measurement:answered",
    "measurement:fhir_observation",
    "measurement:fhir_questionnaire",
    "measurement:fhir_questionnaire_response",
    "measurement:instrument_detail",
    "measurement:instrument_list",
    "measurement:my_scores",
    "measurement:patient_measurements",
    "patients:patient_detail",
    "patients:patient_home",
    "patients:staff_home",
    "programs:media",
    "programs:package",
    "programs:preview",
    "reporting:national",
    "reporting:register_dictionary",
    "reporting:statistics",
    "research:export",
    "research:export_file",
    "research:my_studies",
    "research:participants",
    "research:recruitment",
    "research:study_list",
    "treatment:caseload",
    "treatment:home",
    "treatment:summary",
}

# URLs that show or change one patient's data: staff turned away get 404 and the denial is
# written to the access log (ikbt.patients.access).
PATIENT_DATA = {
    "intake:registration",
    "intake:treatment_transfer",
    "measurement:acknowledge_risk_flag",
    "measurement:fhir_observation",
    "measurement:fhir_questionnaire_response",
    "measurement:patient_measurements",
    "measurement:staff_answer",
    "measurement:start_questionnaire",
    "messaging:patient_threads",
    "messaging:staff_thread",
    "patients:patient_detail",
    "research:patient",
    "treatment:record",
}

# Rows written by every request or by a refusal itself; anything else is a change.
BOOKKEEPING_TABLES = ('"django_session"', '"audit_accesslogentry"', '"axes_')


def parse(table: str) -> dict[str, tuple[str, ...]]:
    rows = {}
    for line in table.strip().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, *codes = line.split()
        assert len(codes) == len(ROLES), f"{name}: {len(codes)} codes for {len(ROLES)} roles"
        assert name not in rows, f"{name} is in the table twice"
        rows[name] = tuple(codes)
    return rows


def url_params() -> dict[str, tuple[str, ...]]:
    """Every named URL pattern with its namespace and the keyword arguments it takes."""
    found: dict[str, tuple[str, ...]] = {}

    def walk(patterns, namespace: str, params: tuple[str, ...]) -> None:
        for pattern in patterns:
            own = params + tuple(getattr(pattern.pattern, "converters", {}))
            if isinstance(pattern, URLResolver):
                if pattern.namespace not in SKIPPED_NAMESPACES:
                    inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                    walk(pattern.url_patterns, inner, own)
            elif isinstance(pattern, URLPattern) and pattern.name not in (None, *SKIPPED_NAMES):
                found[namespace + pattern.name] = own

    walk(get_resolver().url_patterns, "", ())
    return found


@dataclass
class World:
    """The people, their browsers, and the values that go into the URLs and forms."""

    users: dict[str, User | None]
    clients: dict[str, Client]
    values: dict[str, object]
    overrides: dict[str, dict[str, object]]
    post_data: dict[str, dict[str, object]]

    def url(self, name: str, **changed) -> str:
        given = {**self.values, **self.overrides.get(name, {}), **changed}
        params = url_params()[name]
        missing = [param for param in params if param not in given]
        assert not missing, f"{name}: no value for {missing}; add it to the world fixture"
        return reverse(name, kwargs={param: given[param] for param in params})


PHQ9_CRITICAL = [2, 2, 0, 0, 0, 0, 0, 0, 1]


@pytest.fixture(autouse=True)
def quick_passwords(settings):
    """Eight staff members: the real hasher would take seconds."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(patient, enrollment, unit, therapist, colleague, outsider, unit_admin) -> World:
    """Everything the matrix needs, made in one place."""
    version = enrollment.program_version
    program_share(version.program, True)
    offering = Offering.objects.create(unit=unit, program=version.program)
    measurement_actions.instruments_load()
    phq9 = measurement_actions.current_version("PHQ-9")
    registration = intake_actions.registration_submit(
        patient, offering, answers={"situation": "Oro"}, register_opt_out=False
    )
    slot = intake_actions.slot_publish(
        therapist,
        unit=unit,
        starts_at=timezone.now() + datetime.timedelta(days=3),
        minutes=45,
        mode=Slot.Mode.PHONE,
        video_link="",
    )
    open_response = measurement_actions.response_start(patient, phq9)
    submitted = measurement_actions.response_submit(
        measurement_actions.response_start(patient, phq9), PHQ9_CRITICAL
    )
    on_behalf = measurement_actions.response_start(patient, phq9, filled_in_by=therapist)
    thread = thread_start(patient, therapist, "Veckans återkoppling", "Hej Petra!")
    extra = {
        name: factories.staff_member(unit, role, username=name)
        for name, role in (
            ("region_admin", StaffRole.REGION_ADMIN),
            ("register_officer", StaffRole.REGISTER_OFFICER),
            ("researcher", StaffRole.RESEARCHER),
            ("program_author", StaffRole.PROGRAM_AUTHOR),
        )
    }
    study = {
        "title": "iOro",
        "region": unit.region,
        "principal_investigator": extra["researcher"],
        "ethics_approval_number": "2026-01234-01",
        "ethics_approval_date": "2026-01-15",
        "information_text": "Vi jämför internetbehandling med väntelista.",
        "planned_size": 24,
        "block_sizes": [2, 4],
    }
    planned = research_actions.study_create(by=extra["researcher"], **study)
    recruiting = research_actions.study_create(by=extra["researcher"], **study)
    for each in (planned, recruiting):
        research_actions.study_unit_add(each, unit, by=extra["researcher"])
        research_actions.arm_add(
            each, name="Internet-KBT", program=version.program, by=extra["researcher"]
        )
        research_actions.arm_add(each, name="Väntelista", program=None, by=extra["researcher"])
    research_actions.study_open_recruitment(recruiting, by=extra["researcher"])
    participant = research_actions.participant_include(
        recruiting, patient, unit=unit, by=therapist, strata={}, exclusion_checked=True
    )
    research_actions.consent_sign(participant, signed_name=patient.full_name)
    users = {
        "anonymous": None,
        "patient": patient.user,
        "other_patient": factories.PatientFactory(given_name="Otto", family_name="Annan").user,
        "therapist": therapist,
        "colleague": colleague,
        "outsider": outsider,
        "unit_admin": unit_admin,
        **extra,
    }
    values = {
        "patient_id": patient.pk,
        "enrollment_id": enrollment.pk,
        "thread_id": thread.pk,
        "response_id": submitted.pk,
        "flag_id": submitted.risk_flag.pk,
        "registration_id": registration.pk,
        "offering_id": offering.pk,
        "media_id": version.media.order_by("pk").first().pk,
        "region_code": "05",
        "code": "PHQ-9",
        "slug": version.program.slug,
        "number": version.number,
        "study_id": recruiting.pk,
        "participant_id": participant.pk,
        "unit_id": unit.pk,
        "uidb64": "MQ",
        "token": "not-a-token",
        "kind": "long",
    }
    overrides = {
        "measurement:answer": {"key": open_response.key},
        "measurement:answered": {"key": submitted.key},
        "measurement:staff_answer": {"response_id": on_behalf.pk},
        "programs:module": {"key": "valkommen"},
        "programs:page": {"key": "valkommen", "page_key": "om-programmet"},
        "programs:worksheet": {"key": "andningslogg"},
        "programs:quiz": {"key": "vad-ar-angest"},
        "programs:version_action": {"action": "share"},
        "research:study_edit": {"study_id": planned.pk},
        "research:study_open": {"study_id": planned.pk},
        "treatment:module_page": {"key": "valkommen", "number": 1},
        "treatment:module_questionnaire": {"code": "GAD-7"},
        "treatment:worksheet_save": {"key": "andningslogg"},
    }
    # What each form would change if the role were allowed to send it.
    post_data = {
        "accounts:security": {"action": "everywhere"},
        "accounts:set_password": {"new_password1": "ny-fin-kod-123", "new_password2": "x"},
        "intake:my_registrations": {"registration": registration.pk, "slot": slot.pk},
        "intake:registration": {"book": "1", "slot": slot.pk},
        "intake:slots": {
            "unit": unit.pk,
            "starts_at": "2030-01-07T10:00",
            "minutes": 45,
            "mode": "phone",
        },
        "intake:treatment_transfer": {"placement": f"{unit.pk}:{colleague.pk}"},
        "intake:unit_offerings": {
            "form": "change",
            "id": offering.pk,
            f"offering-{offering.pk}-intake": "open",
            f"offering-{offering.pk}-waiting_limit_days": "14",
        },
        "measurement:acknowledge_risk_flag": {"action_taken": "Ringde patienten."},
        "measurement:answer": {"answer_0": "1"},
        "measurement:staff_answer": {"answer_0": "1"},
        "measurement:start_questionnaire": {"instrument": phq9.instrument.pk, "who": "patient"},
        "messaging:inbox": {"subject": "Fråga", "body": "Hej!"},
        "messaging:patient_threads": {"subject": "Fråga", "body": "Hej!"},
        "messaging:staff_thread": {"body": "Hej!"},
        "messaging:thread": {"body": "Hej!"},
        "organisations:unit": {
            "form": "staff",
            "email": "ny@region.se",
            "role": "therapist",
            "first_name": "Nils",
            "last_name": "Ny",
            "profession": "psychologist",
        },
        "organisations:units": {
            "region": unit.region.pk,
            "name": "Ny enhet",
            "kind": "primary_care",
        },
        "programs:fork": {"slug": "exempel-lokal"},
        "programs:list": {
            "slug": "nytt",
            "title_sv": "Nytt",
            "condition": "anxiety",
            "target_group": "adults",
        },
        "programs:version_action": {"shared": "0"},
        "research:patient": {"randomise": participant.pk},
        "research:withdraw": {"keep_data": "on"},
        "treatment:absences": {"starts_on": "2030-01-07", "ends_on": "2030-01-11"},
        "treatment:module_page": {"homework_report": "Klart."},
        "treatment:record": {"note": "Samtal om exponering."},
        "treatment:reply_templates": {"title": "Beröm", "text": "Bra jobbat!"},
        "treatment:worksheet_save": {"revision": "0"},
    }
    clients = {role: browser(user) for role, user in users.items()}
    return World(users, clients, values, overrides, post_data)


def browser(user: User | None) -> Client:
    if user is None:
        client = Client()
    elif user.is_patient:
        client = Client()
        client.force_login(user)
    else:
        client = verified_client(user)
    if user is not None:
        # Seen just now, so the session time-out does not save the session on every request.
        session, now = client.session, timezone.now().timestamp()
        session.update({SIGNED_IN_AT: now, LAST_SEEN_AT: now})
        session.save()
    client.raise_request_exception = False  # a 500 is a cell in the matrix, not a crash
    return client


@dataclass
class Answer:
    status: str
    location: str
    denied_logged: bool
    writes: list[str]
    body: bytes


def ask(world: World, role: str, method: str, name: str, url: str | None = None) -> Answer:
    """One request as ``role``, undone afterwards."""
    client, user = world.clients[role], world.users[role]
    cookies = copy.deepcopy(client.cookies)
    denied = AccessLogEntry.objects.filter(actor=user, action=AccessLogEntry.Action.DENIED)
    counted = user is not None and name in PATIENT_DATA
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        before = denied.count() if counted else 0
        if method == "POST":
            response = client.post(url or world.url(name), world.post_data.get(name, {}))
        else:
            response = client.get(url or world.url(name))
        logged = counted and denied.count() > before
        transaction.set_rollback(True)
    client.cookies = cookies
    writes = [
        query["sql"][:80]
        for query in queries.captured_queries
        if query["sql"].startswith(("INSERT", "UPDATE", "DELETE"))
        and not any(table in query["sql"][:60] for table in BOOKKEEPING_TABLES)
    ]
    body = b"".join(response) if response.streaming else response.content
    return Answer(str(response.status_code), response.get("Location", ""), logged, writes, body)


SIGN_IN_PAGES = ("accounts:staff_login", "accounts:patient_sign_in", "core:home")


def cell_problems(name: str, role: str, want: str, answer: Answer) -> list[str]:
    where = f"{name} as {role}"
    problems = []
    if answer.status != want:
        problems.append(f"{where}: expected {want}, got {answer.status}")
    turned_away = name in PATIENT_DATA and role in STAFF_ROLES and answer.status == "404"
    if turned_away and not answer.denied_logged:
        problems.append(f"{where}: 404 but the denial is not in the access log")
    refused = want in ("404", "405") or role == "anonymous"
    if refused and answer.writes:
        problems.append(f"{where}: refused, yet wrote {answer.writes}")
    if role == "anonymous" and answer.status == "302":
        path = answer.location.split("?")[0]
        if path not in [reverse(page) for page in SIGN_IN_PAGES]:
            problems.append(f"{where}: redirected to {answer.location}, not to sign in")
    return problems


def run_matrix(world: World, method: str, expected: dict[str, tuple[str, ...]]) -> list[str]:
    problems, actual_rows = [], []
    for name in sorted(expected):
        actual = []
        for role, want in zip(ROLES, expected[name], strict=True):
            answer = ask(world, role, method, name)
            actual.append(answer.status)
            problems += [f"{method} {line}" for line in cell_problems(name, role, want, answer)]
        if tuple(actual) != expected[name]:
            actual_rows.append(f"{name:42}" + "".join(f"{code:>5}" for code in actual))
    if actual_rows:
        problems += ["", "Actual rows, to review before they go in the table:", *actual_rows]
    return problems


def test_every_url_has_a_row_and_every_row_a_url():
    names = set(url_params())
    get, post = set(parse(GET)), set(parse(POST))
    assert sorted(names - get) == [], "URLs without a row in the GET table"
    assert sorted(names - post - READ_ONLY) == [], "URLs in neither the POST table nor READ_ONLY"
    assert sorted((get | post | READ_ONLY | PATIENT_DATA) - names) == [], "URLs that are gone"
    assert sorted(post & READ_ONLY) == [], "in the POST table and READ_ONLY"


def rows_for(table: str, names) -> dict[str, tuple[str, ...]]:
    """The table's rows, and "?" rows for URLs it lacks (the other test names those)."""
    rows = parse(table)
    return {name: rows.get(name, ("?",) * len(ROLES)) for name in names}


def test_get_matrix(world):
    problems = run_matrix(world, "GET", rows_for(GET, url_params()))
    assert problems == [], "\n".join(problems)


def test_post_matrix(world):
    names = set(url_params()) - READ_ONLY
    problems = run_matrix(world, "POST", rows_for(POST, names))
    assert problems == [], "\n".join(problems)


WALKED = {
    "patients:patient_detail": "patient_id",
    "treatment:record": "enrollment_id",
    "messaging:patient_threads": "patient_id",
    "messaging:staff_thread": "thread_id",
    "measurement:staff_answer": "response_id",
    "measurement:patient_measurements": "patient_id",
    "measurement:fhir_questionnaire_response": "response_id",
    "measurement:fhir_observation": "response_id",
    "research:patient": "patient_id",
}


@pytest.mark.parametrize("role", ["colleague", "outsider"])
def test_walking_ids_learns_nothing(world, role):
    """The real id, the next one (another patient's, or nothing), one far off and 0 answer
    alike: 404 with the same body, so ids cannot be probed."""
    for name, param in WALKED.items():
        real = world.overrides.get(name, {}).get(param, world.values[param])
        answers = [
            ask(world, role, "GET", name, world.url(name, **{param: value}))
            for value in (real, real + 1, real + 1000, 0)
        ]
        assert {(answer.status, answer.body) for answer in answers} == {
            ("404", answers[0].body)
        }, name
