"""The demo's stand-in e-identification: a new person picked there becomes a patient who can
register, as with the region's real one."""

import threading
from urllib.parse import urlsplit

import httpx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from werkzeug.serving import make_server

from ikbt.accounts.tests.test_e_identification import signing_in_at
from ikbt.core.management.commands.demo_eid import demo_eid_app, demo_eid_people
from ikbt.patients.models import Patient
from ikbt.patients.personal_number import parse_personal_number


@pytest.fixture
def demo_provider(settings):
    server = make_server("127.0.0.1", 0, demo_eid_app())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    signing_in_at(settings, base)  # with OIDC_VERIFY_KID off, as `make demo` sets it
    yield base
    server.shutdown()


def test_the_people_are_valid_and_new(db):
    karl, ella = demo_eid_people()
    for person in (karl, ella):
        parse_personal_number(person["personal_identity_number"])  # raises where invalid
    assert not Patient.objects.filter(
        personal_number__in=[karl["personal_identity_number"], ella["personal_identity_number"]]
    ).exists()


def test_a_person_picked_at_the_stand_in_becomes_a_patient(db, demo_provider):
    karl = demo_eid_people()[0]
    client = Client()
    to_provider = client.get(reverse("oidc_authentication_init"))
    form = httpx.get(to_provider.url).text
    assert 'value="karl"' in form and 'value="ella"' in form  # one click each
    confirmed = httpx.post(to_provider.url, data={"sub": "karl"})
    back = urlsplit(confirmed.headers["location"])
    signed_in = client.get(f"{back.path}?{back.query}")
    assert signed_in.status_code == 302
    patient = Patient.objects.get(personal_number=karl["personal_identity_number"])
    assert (patient.given_name, patient.family_name) == ("Karl", "Nyström")


def test_the_stand_in_runs_only_in_the_demo(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only in the demo"):
        call_command("demo_eid")
