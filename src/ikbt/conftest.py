"""Fixtures every test can use: three staff members, as in the style guide.

- ``therapist``: the patient's responsible therapist, unit ``unit`` (Östergötland);
- ``colleague``: a therapist in the same unit without a care relationship with the patient;
- ``outsider``: a therapist in another region (Örebro).
"""

import logging
import os
import re
import shutil
from html.parser import HTMLParser

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from ikbt import factories
from ikbt.accounts.models import User
from ikbt.organisations.models import CareUnit, StaffRole
from ikbt.patients.models import Patient


def list_rows(*defaults: int) -> list[int]:
    """How many rows the query-count tests of list pages fill in: ``defaults`` in the suite,
    any list in ``IKBT_LIST_ROWS`` (bench/query_counts.py asks for 1, 10, 100 and 1,000)."""
    chosen = os.environ.get("IKBT_LIST_ROWS")
    return [int(rows) for rows in chosen.split(",")] if chosen else list(defaults)


class _Forms(HTMLParser):
    """Every form of a page as a browser would send it: (name, value) pairs of the text
    fields, the ticked boxes, each select's chosen option (else its first) and each textarea,
    without the buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[list[tuple[str, str]]] = []
        self.select: tuple[str, bool, list, list] | None = None  # name, multiple, all, chosen
        self.textarea: list | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append([])
        elif not self.forms or "disabled" in attr:
            return
        elif tag == "input" and "name" in attr:
            kind = attr.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attr:
                return
            default = "on" if kind in ("checkbox", "radio") else ""
            self.forms[-1].append((attr["name"], attr.get("value", default)))
        elif tag == "select" and "name" in attr:
            self.select = (attr["name"], "multiple" in attr, [], [])
        elif tag == "option" and self.select is not None:
            value = attr.get("value", "")
            self.select[2].append(value)
            if "selected" in attr:
                self.select[3].append(value)
        elif tag == "textarea" and "name" in attr:
            self.textarea = [attr["name"]]

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.textarea.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self.select is not None:
            name, multiple, every, chosen = self.select
            values = chosen if multiple else (chosen[-1:] or every[:1])
            self.forms[-1].extend((name, value) for value in values)
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            # A browser drops the newline that follows the opening tag.
            text = "".join(self.textarea[1:])
            self.forms[-1].append((self.textarea[0], text.removeprefix("\n")))
            self.textarea = None


def form_as_sent(page: str, field: str) -> dict[str, list[str]]:
    """The first form of ``page`` with a field named ``field``, as a browser sends it
    untouched: for posting a page's form back the way a person who changed one thing does."""
    parser = _Forms()
    parser.feed(page)
    form = next(form for form in parser.forms if any(name == field for name, _ in form))
    data: dict[str, list[str]] = {}
    for name, value in form:
        data.setdefault(name, []).append(value)
    return data


# --- Logs carry no personal data ---------------------------------------------------------
# Every log record of the whole run is kept and, when the run ends, searched for what must
# never reach a log: personal identity numbers, passwords, backup codes, and the text of every
# message sent in the run (longer than a greeting). A hit fails the run.
SECRETS_IN_LOGS = [
    # Personal identity numbers, 12 digits or the ten-digit form; not inside a longer word
    # such as a UUID (whose groups of hex digits can look like one).
    re.compile(r"(?<![\w-])(?:19|20)\d{6}[-+]?\d{4}(?![\w-])"),
    re.compile(r"(?<![\w-])\d{6}[-+]\d{4}(?![\w-])"),
    re.compile(re.escape(factories.TEST_PASSWORD)),
    re.compile(r"demo-losenord-2026|11112222|33334444|55556666"),  # demo password and codes
]


MESSAGE_TEXT_MIN_LENGTH = 12


class LogRecorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []
        self.texts: list[str] = []
        self.message_texts: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a record whose arguments do not format: judge the template
            text = str(record.msg)
        self.texts.append(text)
        if any(pattern.search(text) for pattern in SECRETS_IN_LOGS):
            self.leaks.append(f"{record.name}: {text[:300]}")

    def remember_message(self, sender, instance, **kwargs) -> None:
        body = instance.body.strip()
        if len(body) >= MESSAGE_TEXT_MIN_LENGTH:
            self.message_texts.add(body)

    def message_leaks(self) -> list[str]:
        return [
            f"message text: {body[:100]}"
            for body in self.message_texts
            if any(body in text for text in self.texts)
        ]


LOG_RECORDER = LogRecorder()


def pytest_configure(config) -> None:
    from django.db.models.signals import post_save

    logging.getLogger().addHandler(LOG_RECORDER)
    post_save.connect(LOG_RECORDER.remember_message, sender="messaging.Message", weak=False)


def pytest_sessionfinish(session, exitstatus) -> None:
    LOG_RECORDER.leaks += LOG_RECORDER.message_leaks()
    if LOG_RECORDER.leaks:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("Personal data or secrets reached the logs:", red=True)
            for leak in LOG_RECORDER.leaks[:20]:
                reporter.write_line(f"  {leak}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# --- A real browser ------------------------------------------------------------------------
CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)"
)


@pytest.fixture
def chromium():
    """Debian's Chromium driven by Playwright (Playwright's own browser download does not work
    here), one per test: started before the test's database is set up, a browser shared by
    several tests would keep them from getting back the data the migrations load."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running; the test's own ORM calls are safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture(autouse=True)
def english_pages(settings):
    """Tests read the English text; the tests of the Swedish default ask for Swedish."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploaded and imported media go to a folder of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def unit(db) -> CareUnit:
    return factories.CareUnitFactory(name="Vårdcentralen Ekholmen", hsa_id="SE2321000032-VC01")


@pytest.fixture
def other_region_unit(db) -> CareUnit:
    return factories.CareUnitFactory(region=factories.region("18"), name="Vårdcentralen Varberga")


@pytest.fixture
def therapist(unit) -> User:
    return factories.staff_member(
        unit, StaffRole.THERAPIST, username="therapist", first_name="Tove", last_name="Terapeut"
    )


@pytest.fixture
def colleague(unit) -> User:
    return factories.staff_member(
        unit, StaffRole.THERAPIST, username="colleague", first_name="Kalle", last_name="Kollega"
    )


@pytest.fixture
def outsider(other_region_unit) -> User:
    return factories.staff_member(
        other_region_unit,
        StaffRole.THERAPIST,
        username="outsider",
        first_name="Olle",
        last_name="Utomstående",
    )


@pytest.fixture
def unit_admin(unit) -> User:
    return factories.staff_member(
        unit, StaffRole.UNIT_ADMIN, username="unitadmin", first_name="Ulla", last_name="Chef"
    )


@pytest.fixture
def patient(unit, therapist) -> Patient:
    patient = factories.PatientFactory(given_name="Petra", family_name="Patient")
    factories.care_relationship(patient, therapist, unit)
    return patient


def verified_client(user: User, client: Client | None = None) -> Client:
    """A browser signed in as ``user`` with the second factor verified (``client``: signing
    in again on the same browser)."""
    client = client or Client()
    client.force_login(user)
    device, _ = TOTPDevice.objects.get_or_create(user=user, name="app", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def idle_past_the_time_out(client: Client, session=None) -> None:
    """The browser's session (``client``'s, or ``session``: a real browser's) was last used
    31 minutes ago: its next request signs it out."""
    import datetime

    from ikbt.accounts.middleware import LAST_SEEN_AT

    session = session if session is not None else client.session
    session[LAST_SEEN_AT] = (
        datetime.datetime.now(tz=datetime.UTC) - datetime.timedelta(minutes=31)
    ).timestamp()
    session.save()


@pytest.fixture
def therapist_client(therapist) -> Client:
    return verified_client(therapist)


@pytest.fixture
def colleague_client(colleague) -> Client:
    return verified_client(colleague)


@pytest.fixture
def outsider_client(outsider) -> Client:
    return verified_client(outsider)


@pytest.fixture
def unit_admin_client(unit_admin) -> Client:
    return verified_client(unit_admin)


@pytest.fixture
def patient_client(patient) -> Client:
    client = Client()
    client.force_login(patient.user)
    return client


@pytest.fixture
def enrollment(patient, unit):
    """The patient in treatment on the example program at the therapist's unit."""
    from ikbt.programs.actions import program_import, version_publish
    from ikbt.programs.package import EXAMPLE_PACKAGE, read_package
    from ikbt.treatment.models import Enrollment

    data, _ = read_package(EXAMPLE_PACKAGE)
    version = version_publish(program_import(data, unit.region), None)
    return Enrollment.objects.create(patient=patient, unit=unit, program_version=version)
