"""Every page of the demo opens for the people it is meant for (no template errors, no 500)."""

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from ikbt.accounts.models import User
from ikbt.conftest import verified_client
from ikbt.intake.models import Registration
from ikbt.measurement.models import Response
from ikbt.patients.models import Patient
from ikbt.programs.models import Program


@pytest.fixture
def demo(db, capsys):
    call_command("demo")
    capsys.readouterr()


@pytest.mark.parametrize("language", ["sv", "en"])
def test_staff_pages_open(demo, language, settings):
    settings.LANGUAGE_CODE = language
    user = User.objects.get(username="terapeut")
    therapist = verified_client(user)
    patient = Patient.objects.filter(
        care_relationships__staff=user, responses__isnull=False, enrollments__isnull=False
    ).first()
    registration = Registration.objects.filter(status="submitted").first()
    program = Program.objects.get(slug="exempel-angest")
    urls = [
        reverse("patients:staff_home"),
        reverse("patients:patient_detail", args=[patient.pk]),
        reverse("measurement:patient_measurements", args=[patient.pk]),
        reverse("measurement:instrument_list"),
        reverse("intake:queue"),
        reverse("intake:registration", args=[registration.pk]),
        reverse("intake:slots"),
        reverse("intake:waiting"),
        reverse("accounts:security"),
        reverse("treatment:caseload"),
        reverse("treatment:record", args=[patient.enrollments.first().pk]),
        reverse("messaging:patient_threads", args=[patient.pk]),
    ]
    for url in urls:
        assert therapist.get(url).status_code == 200, url
    admin = verified_client(User.objects.get(username="enhetschef"))
    assert admin.get(reverse("audit:review")).status_code == 200
    assert admin.get(reverse("reporting:statistics")).status_code == 200
    author = verified_client(User.objects.get(username="forfattare"))
    version = program.versions.get()
    module = version.modules.first()
    for url in [
        reverse("programs:list"),
        reverse("programs:version", args=[program.slug, 1]),
        reverse("programs:preview", args=[program.slug, 1]) + "?sida=3",
        reverse("programs:module", args=[program.slug, 1, module.key]),
        reverse("programs:page", args=[program.slug, 1, module.key, module.pages.first().key]),
        reverse("programs:worksheet", args=[program.slug, 1, version.worksheets.first().key]),
        reverse("programs:quiz", args=[program.slug, 1, version.quizzes.first().key]),
    ]:
        assert author.get(url).status_code == 200, url


def test_patient_pages_open(demo):
    response = Response.objects.filter(
        status="in_progress",
        registrations__isnull=True,
        patient__enrollments__program_version__program__slug="exempel-angest",
    ).first()
    client = Client()
    client.force_login(response.patient.user)
    for url in [
        reverse("patients:patient_home"),
        reverse("measurement:answer", kwargs={"key": response.key}),
        reverse("measurement:my_scores"),
        reverse("intake:my_registrations"),
        reverse("audit:my_access_log"),
        reverse("treatment:home"),
        reverse("messaging:inbox"),
    ]:
        assert client.get(url).status_code == 200, url
    assert Client().get(reverse("intake:eservice", args=["05"])).status_code == 200
    enrollment = response.patient.enrollments.get(program_version__program__slug="exempel-angest")
    page = client.get(reverse("treatment:module_page", args=[enrollment.pk, "valkommen", 1]))
    assert page.status_code == 200
    media = enrollment.program_version.media.get(name="lugn-andning.png")
    assert client.get(reverse("programs:media", args=[media.pk])).status_code == 200
