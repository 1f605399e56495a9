"""The whole patient journey and the whole therapist journey in a real browser (Debian's
chromium driven by Playwright), at a phone's size and at a desktop's.

Every step checks what the person sees and the rows that must exist, that the page is no wider
than the window and that the browser has logged no error and had no 4xx or 5xx answer; then it
takes a screenshot, ``<journey>-<size>-<NN>-<step>.png``, in the folder ``IKBT_SCREENSHOTS``
names (else in the test's own temporary folder).
"""

import datetime
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect
from playwright.sync_api import Response as BrowserResponse

from ikbt import factories
from ikbt.accounts.models import PatientCodeDevice, User
from ikbt.audit.models import AccessLogEntry
from ikbt.conftest import needs_chromium
from ikbt.intake import actions as intake
from ikbt.intake.models import Offering, Registration, Slot
from ikbt.measurement import actions as measurement
from ikbt.measurement.models import Response, RiskFlag
from ikbt.messaging import actions as messaging
from ikbt.messaging.models import Message, Thread
from ikbt.notifications import sms
from ikbt.patients.models import Patient
from ikbt.programs.actions import program_import, version_publish
from ikbt.programs.package import PACKAGES, read_package
from ikbt.treatment import actions as treatment
from ikbt.treatment.models import Enrollment, ModuleProgress, TimeEntry, WorksheetAnswer

pytestmark = [
    needs_chromium,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
PROGRAM = "Depression: getting going again"

# The choices ticked, as the position of the option in each question (MADRS-S and PHQ-9 list
# their options from 0 up, so the position is the score).
MADRS_S = [2, 2, 3, 2, 1, 2, 3, 2, 0]  # 17, no thoughts of death
PHQ_9 = [1, 2, 1, 2, 1, 1, 0, 1, 0]  # 9
AUDIT = [2, 0, 0, 0, 0, 0, 0, 0, 0, 0]  # 2: "2–4 times a month", one or two drinks
WEEKLY_MADRS_S = [2, 2, 2, 2, 1, 2, 2, 1, 0]  # 14
WEEKLY_MADRS_S_CRITICAL = [3, 3, 4, 3, 2, 3, 4, 3, 4]  # item 9 ("zest for life") at 4: a flag

SITUATION = "Jag har varit nedstämd i ett halvår och orkar inte träffa vänner längre."
GOALS = {
    "annorlunda": "Jag ringer min syster och går ut på promenad.",
    "mal": ["Ringa min syster varje söndag.", "Gå en promenad tre dagar i veckan."],
    "hinder": "Att jag är trött på kvällen. Att arbeta på morgonen kan hjälpa.",
    "tider": "Tisdag och torsdag kl. 8.",
}


# --- The browser and the camera ------------------------------------------------------------


@dataclass
class Album:
    """The screenshots of one journey at one size, numbered in the order they were taken."""

    folder: Path
    journey: str
    size: str
    taken: int = 0

    def take(self, page: Page, step: str) -> None:
        self.taken += 1
        name = f"{self.journey}-{self.size}-{self.taken:02d}-{step}.png"
        # caret="initial": hiding the caret leaves ``style=""`` on every field, which htmx then
        # copies on a swap, and the Content Security Policy rightly refuses.
        page.screenshot(path=self.folder / name, full_page=True, caret="initial")


@dataclass
class Person:
    """One person's browser window; ``errors`` collects what the browser complained of."""

    page: Page
    album: Album
    errors: list[str] = field(default_factory=list)

    def step(self, name: str, heading: str | re.Pattern) -> None:
        """The page's main heading is ``heading``, the page fits the window and nothing has
        gone wrong in the browser; then the screenshot."""
        expect(self.page.get_by_role("heading", level=1)).to_have_text(heading)
        width, window = self.page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert width <= window, f"{name}: the page is {width}px wide in a {window}px window"
        assert self.errors == [], name
        self.album.take(self.page, name)

    def says(self, text: str) -> None:
        """The flash message at the top of the page."""
        expect(self.page.get_by_role("main").get_by_role("status").first).to_contain_text(text)

    def menu(self, name: str) -> None:
        self.page.get_by_role("navigation", name="Main menu").get_by_role(
            "link", name=name, exact=True
        ).click()


@pytest.fixture
def open_browser(chromium, live_server, tmp_path) -> Iterator[Callable[[Album], Person]]:
    """A new browser window (its own cookies) at the album's size."""
    contexts = []

    def open_(album: Album) -> Person:
        context = chromium.new_context(viewport=SIZES[album.size], base_url=live_server.url)
        contexts.append(context)
        person = Person(context.new_page(), album)
        errors = person.errors
        person.page.on(
            "console",
            lambda msg: msg.type == "error" and errors.append(f"{msg.text} {msg.location}"),
        )
        person.page.on("pageerror", lambda error: errors.append(str(error)))
        person.page.on(
            "response",
            lambda answer: answer.status >= 400 and errors.append(f"{answer.status} {answer.url}"),
        )
        return person

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def album(request, tmp_path) -> Callable[[str], Album]:
    """An album for the test's journey (``test_patient_journey``: ``patient``) at a size."""
    folder = Path(os.environ.get("IKBT_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    journey = request.node.originalname.removeprefix("test_").removesuffix("_journey")
    return lambda size: Album(folder, journey, size)


# --- The clinic ------------------------------------------------------------------------------


@pytest.fixture
def depression(unit) -> Offering:
    """The shipped depression program, offered by the therapist's unit on the e-service."""
    data, problems = read_package(PACKAGES / "depression")
    assert problems == []
    version = version_publish(program_import(data, unit.region), None)
    return Offering.objects.create(unit=unit, program=version.program)


@pytest.fixture
def newcomer(db) -> Patient:
    """An adult in Östergötland with a patient account and a mobile, not yet in care."""
    return factories.PatientFactory(given_name="Petra", family_name="Patient")


def assessment_time(therapist: User, offering: Offering) -> Slot:
    starts = timezone.localtime() + datetime.timedelta(days=2)
    return intake.slot_publish(
        therapist,
        unit=offering.unit,
        starts_at=starts.replace(hour=10, minute=0, second=0, microsecond=0),
        minutes=45,
        mode=Slot.Mode.VIDEO,
        video_link="https://video.example.se/bedomning",
    )


def sign_in_code(patient: Patient) -> str:
    body = [message.body for message in sms.outbox if message.to == patient.mobile][-1]
    return re.search(r"\b(\d{6})\b", body).group(1)


def totp_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def signed_in_as(person: Person, user: User, url: str) -> None:
    """A session made on the server, for the other side's quick look at what was sent."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    person.page.context.add_cookies(
        [{"name": "sessionid", "value": session.session_key, "url": url}]
    )


# --- Steps both journeys share -----------------------------------------------------------------


def autosave(answer: BrowserResponse) -> bool:
    """The answer to a save made by htmx as the patient leaves a field. The test waits for
    it as a person, slower than the save, would: two requests at once lock the test's
    in-memory SQLite database (a file or PostgreSQL makes the second wait instead)."""
    return answer.request.method == "POST" and answer.request.header_value("HX-Request") == "true"


def patient_signs_in(person: Person, patient: Patient) -> None:
    page = person.page
    person.step("sign-in", "Sign in to your treatment")
    page.get_by_label("Personal identity number").fill(patient.personal_number)
    page.get_by_role("button", name="Send code").click()
    person.step("one-time-code", "Enter your code")
    page.get_by_label("Code").fill(sign_in_code(patient))
    page.get_by_role("button", name="Sign in", exact=True).click()


def answer_questionnaire(person: Person, step: str, code: str, choices: list[int]) -> None:
    """Tick one answer per question, then send the answers in."""
    page = person.page
    person.step(step, re.compile(re.escape(code)))
    questions = page.get_by_role("main").get_by_role("group")
    expect(questions).to_have_count(len(choices))
    for number, choice in enumerate(choices):
        questions.nth(number).get_by_role("radio").nth(choice).check()
    # Each tick is saved as it is made (htmx sends one save at a time, the latest waiting);
    # a person sends the answers in after the last save.
    expect(page.locator(".htmx-request")).to_have_count(0)
    page.get_by_role("button", name="Send in my answers").click()
    person.step(f"{step}-sent", "Thank you for your answers")


# --- The patient's journey ---------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_patient_journey(open_browser, album, size, newcomer, depression, therapist):
    """From the region's e-service page to a treatment: register, screening, booking the
    assessment, the first module and its worksheet, the weekly questionnaire, a message and its
    reply, and who has looked at the data."""
    slot = assessment_time(therapist, depression)
    person = open_browser(album(size))
    page = person.page

    # The region's e-service page, found from 1177 or the region's site.
    page.goto("/intag/e-tjanst/05/")
    person.step("e-service", "Internet treatment in Region Östergötland")
    offer = page.get_by_role("region", name=PROGRAM)
    expect(offer).to_contain_text("Vårdcentralen Ekholmen")
    offer.get_by_role("link", name="Register your interest").click()
    patient_signs_in(person, newcomer)

    register_interest(person)
    registration = Registration.objects.get(patient=newcomer)
    assert registration.offering == depression
    assert registration.answers["situation"] == SITUATION
    assert registration.consent_treatment_at is not None

    screening = {"MADRS-S": (MADRS_S, 17), "PHQ-9": (PHQ_9, 9), "AUDIT": (AUDIT, 2)}
    for code, (choices, _total) in screening.items():
        # Listed by name: "PHQ-9 (depression)".
        page.get_by_role("link", name=re.compile(rf"^{re.escape(code)} \(")).click()
        answer_questionnaire(person, f"screening-{code.lower()}", code, choices)
        person.menu("My registrations")
    assert {
        response.instrument_version.instrument.code: response.total
        for response in registration.screening.filter(status=Response.Status.SUBMITTED)
    } == {code: total for code, (_choices, total) in screening.items()}
    for code in screening:
        expect(page.get_by_role("main")).to_contain_text(
            re.compile(rf"{re.escape(code)} \([^)]*\) ✓")
        )

    book_assessment(person)
    slot.refresh_from_db()
    assert slot.registration == registration
    page.get_by_role("button", name="Sign out").click()
    person.step("signed-out", "Internet-based CBT with your own therapist")

    # The assessment interview; the therapist accepts her. The treatment started a week ago,
    # so she is in week 2 and the first weekly questionnaire is due.
    intake.registration_accept(
        registration,
        by=therapist,
        therapist=therapist,
        start_date=timezone.localdate() - datetime.timedelta(days=7),
        note={"problem": "Måttlig depression.", "risk": "Ingen.", "suitability": "Motiverad."},
    )
    # A week has passed since her last code: the minute between two codes is long over.
    PatientCodeDevice.objects.filter(user=newcomer.user).update(last_generated_timestamp=None)

    page.get_by_role("link", name="Sign in as patient").click()
    patient_signs_in(person, newcomer)
    person.step("my-pages", "Welcome, Petra")
    expect(page.get_by_role("region", name="Your care team")).to_contain_text(
        "Tove Terapeut, Psychologist – Responsible therapist, Vårdcentralen Ekholmen"
    )

    enrollment = Enrollment.objects.get(patient=newcomer)
    first_module(person, enrollment)
    weekly_questionnaire(person, newcomer)
    thread = message_and_reply(person, newcomer, therapist)

    person.menu("Who has looked at my data")
    person.step("who-has-looked", "Who has looked at my data")
    rows = page.get_by_role("row").filter(has_text="Tove Terapeut")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Vårdcentralen Ekholmen")
    assert sorted(
        AccessLogEntry.objects.filter(patient=newcomer, actor=therapist).values_list(
            "detail", flat=True
        )
    ) == ["accepted for treatment", "message"]
    assert thread.messages.count() == 2
    assert person.errors == []


def register_interest(person: Person) -> None:
    page = person.page
    person.step("registration", "Register your interest")
    page.get_by_label("What would you like help with").fill(SITUATION)
    page.get_by_label("Have you had psychological treatment before?").fill("Nej.")
    page.get_by_role("group", name="Do you use alcohol or drugs").get_by_label("No").check()
    page.get_by_role("group", name="Are you in contact with psychiatric care").get_by_label(
        "No"
    ).check()
    page.get_by_label("I want treatment at the unit").check()
    person.album.take(page, "registration-filled-in")
    page.get_by_role("button", name="Send my registration").click()
    person.step("registered", "My registrations")
    person.says("Your registration is sent. Fill in the questionnaires below.")


def book_assessment(person: Person) -> None:
    page = person.page
    person.step("screening-done", "My registrations")
    page.get_by_role("group", name="Free times").get_by_role("radio").check()
    page.get_by_role("button", name="Book", exact=True).click()
    person.step("assessment-booked", "My registrations")
    person.says("Your assessment is booked.")
    expect(page.get_by_role("main")).to_contain_text("(Video call) with Tove Terapeut")
    expect(page.get_by_role("link", name="video link")).to_be_visible()


def first_module(person: Person, enrollment: Enrollment) -> None:
    """Read the first module to its last page, fill in the worksheet there, save it and hand it
    in, then report the homework and mark the module as done."""
    page = person.page
    person.menu("My treatment")
    person.step("my-treatment", "My treatment")
    expect(page.get_by_role("main")).to_contain_text("week 2 of 12")
    page.get_by_role("link", name="Read: Välkommen").click()
    person.step("module-page-1", "Så fungerar behandlingen")
    expect(page.get_by_text("Välkommen · page 1 of 3")).to_be_visible()
    page.get_by_role("link", name="Next").click()
    person.step("module-page-2", "Tre personer som följer med dig")
    page.get_by_role("link", name="Next").click()
    person.step("module-page-3", "Vad vill du ska bli annorlunda?")

    sheet = page.get_by_role("region", name="Mina mål")
    sheet.get_by_label("Om behandlingen hjälper").fill(GOALS["annorlunda"])
    # Leaving a field saves it (htmx, on "change"); she writes slower than that save.
    with page.expect_response(autosave):
        sheet.get_by_label("Mina två eller tre mål").fill("\n".join(GOALS["mal"]))
    with page.expect_response(autosave):
        sheet.get_by_label("Vad kan göra det svårt").fill(GOALS["hinder"])
    with page.expect_response(autosave):
        sheet.get_by_label("När i veckan").fill(GOALS["tider"])
    save = sheet.get_by_role("button", name="Save", exact=True)
    with page.expect_response(autosave):
        save.focus()
    save.click()
    person.step("worksheet-saved", "Vad vill du ska bli annorlunda?")
    person.says("Saved.")
    answer = WorksheetAnswer.objects.get(enrollment=enrollment, worksheet_key="mina-mal")
    assert answer.data == GOALS
    assert answer.handed_in_at is None
    expect(page.get_by_label("Mina två eller tre mål")).to_have_value("\n".join(GOALS["mal"]))

    page.get_by_role("button", name="Hand in to my therapist").click()
    person.step("worksheet-handed-in", "Vad vill du ska bli annorlunda?")
    person.says("Handed in to your therapist.")
    answer.refresh_from_db()
    assert answer.handed_in_at is not None

    page.get_by_label("How did it go? Tell your therapist.").fill("Jag läste allt.")
    done = page.get_by_role("button", name="Send the report and mark the module as done")
    with page.expect_response(autosave):
        done.focus()
    done.click()
    person.step("module-done", "My treatment")
    person.says("Well done! The module is marked as done.")
    # Reads "1 of 10 module done" at the time of writing: the plural follows the modules done.
    expect(page.get_by_role("main")).to_contain_text("1 of 10 module")
    progress = ModuleProgress.objects.get(enrollment=enrollment, module_key="valkommen")
    assert progress.completed_at is not None
    assert progress.homework_report == "Jag läste allt."


def weekly_questionnaire(person: Person, patient: Patient) -> None:
    page = person.page
    to_do = page.get_by_role("region", name="To do now")
    # The oldest first: this week's MADRS-S, then the ones asked for before treatment.
    to_do.get_by_role("link", name="Fill in MADRS-S").first.click()
    answer_questionnaire(person, "weekly-madrs-s", "MADRS-S", WEEKLY_MADRS_S)
    expect(page.get_by_role("main")).to_contain_text("Your score on MADRS-S: 14.")
    weekly = Response.objects.get(
        patient=patient, occasion="weekly", status=Response.Status.SUBMITTED
    )
    assert (weekly.total, weekly.critical) == (14, False)
    assert not RiskFlag.objects.filter(patient=patient).exists()


def message_and_reply(person: Person, patient: Patient, therapist: User) -> Thread:
    """She writes to her therapist, who is told (without the content) and answers; she reads
    the answer, which marks it read."""
    page = person.page
    mail.outbox.clear()
    person.menu("Messages")
    person.step("messages", "Messages")
    page.get_by_label("Subject").fill("Fråga om målen")
    page.get_by_label("Message").fill("Får jag ändra mina mål senare?")
    page.get_by_role("button", name="Send", exact=True).click()
    person.step("message-sent", "Fråga om målen")
    expect(page.get_by_role("main").get_by_role("list").first).to_contain_text(
        "Får jag ändra mina mål senare?"
    )
    sent = Message.objects.get(thread__patient=patient)
    assert (sent.sender, sent.body) == (patient.user, "Får jag ändra mina mål senare?")
    assert [message.to for message in mail.outbox] == [[therapist.email]]
    assert "Får jag" not in mail.outbox[0].body

    # The therapist answers (the therapist's journey does it in the browser).
    reply = messaging.message_send(sent.thread, therapist, "Ja, du kan ändra dem när du vill.")

    person.menu("Messages")
    thread_link = page.get_by_role("link", name="Fråga om målen")
    expect(page.get_by_role("listitem").filter(has=thread_link)).to_contain_text("1 new")
    thread_link.click()
    person.step("reply-read", "Fråga om målen")
    conversation = page.get_by_role("main").get_by_role("list").first
    expect(conversation).to_contain_text("Tove Terapeut, Psychologist")
    expect(conversation).to_contain_text("Ja, du kan ändra dem när du vill.")
    reply.refresh_from_db()
    assert reply.read_at is not None
    return sent.thread


# --- The therapist's journey -------------------------------------------------------------------


@pytest.fixture
def registered(newcomer, depression) -> Registration:
    """Petra registered through the e-service and answered the screening questionnaires."""
    registration = intake.registration_submit(
        newcomer,
        depression,
        answers={
            "situation": SITUATION,
            "previous_treatment": "",
            "medication": "",
            "substance_use": "no",
            "psychiatry_contact": "no",
        },
        register_opt_out=False,
    )
    choices = {"MADRS-S": MADRS_S, "PHQ-9": PHQ_9, "AUDIT": AUDIT}
    for response in registration.screening.select_related("instrument_version__instrument"):
        measurement.response_submit(response, choices[response.instrument_version.instrument.code])
    return registration


@pytest.mark.parametrize("size", SIZES)
def test_therapist_journey(
    open_browser, album, live_server, size, therapist, colleague, newcomer, registered
):
    """Two-factor sign-in, an assessment time, the intake queue to a started treatment, then a
    week of the patient's work: the caseload, the worksheet and feedback, a message and its
    reply, the risk flag and the time spent."""
    device = TOTPDevice.objects.create(user=therapist, name="app", confirmed=True)
    photos = album(size)
    person = open_browser(photos)
    page = person.page

    page.goto("/konto/staff/logga-in/")
    person.step("sign-in", "Sign in for staff")
    page.get_by_label("Username").fill("therapist")
    page.get_by_label("Password").fill(factories.TEST_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    person.step("second-factor", "Confirm that it is you")
    page.get_by_label("Code").fill(totp_code(device))
    page.get_by_role("button", name="Sign in", exact=True).click()
    person.step("my-patients", "My patients")
    assert AccessLogEntry.objects.filter(
        actor=therapist, action=AccessLogEntry.Action.SIGN_IN
    ).exists()

    slot = publish_assessment_time(person)
    intake_queue(person, registered, slot)
    enrollment = Enrollment.objects.get(patient=newcomer)
    assert enrollment.program_version.program.slug == "depression"
    assert timezone.localdate(enrollment.started_at) == timezone.localdate()

    thread = patients_first_week(newcomer, enrollment)
    caseload(person, needs=True)
    page.get_by_role("link", name="Petra Patient").click()
    worksheet_and_feedback(person, enrollment, therapist)
    read_and_reply(person, thread, therapist)
    risk_flag(person, newcomer, therapist)
    register_time(person, enrollment, therapist)
    caseload(person, needs=False)

    # Petra's side: the feedback on her home page, the answer in her messages.
    patient = open_browser(photos)
    signed_in_as(patient, newcomer.user, live_server.url)
    patient.page.goto("/behandling/")
    patient.step("patient-sees-feedback", "My treatment")
    expect(
        patient.page.get_by_role("region", name="Feedback from your therapist")
    ).to_contain_text("Fina mål")
    patient.page.get_by_role("link", name="1 new message").click()
    patient.page.get_by_role("link", name="Hur gör jag med målen?").click()
    patient.step("patient-sees-reply", "Hur gör jag med målen?")
    expect(patient.page.get_by_role("main")).to_contain_text("Börja med det minsta målet.")
    assert (person.errors, patient.errors) == ([], [])


def publish_assessment_time(person: Person) -> Slot:
    page = person.page
    person.menu("Intake queue")
    person.step("intake-queue", "Intake queue")
    page.get_by_role("link", name="My assessment times").click()
    person.step("assessment-times", "My assessment times")
    starts = timezone.localtime() + datetime.timedelta(days=2)
    page.get_by_label("Starts").fill(starts.strftime("%Y-%m-%dT10:00"))
    page.get_by_label("How").select_option(label="Video call")
    page.get_by_label("Video link").fill("https://video.example.se/bedomning")
    page.get_by_role("button", name="Publish the time").click()
    person.step("assessment-time-published", "My assessment times")
    person.says("The time is published.")
    slot = Slot.objects.get()
    assert timezone.localtime(slot.starts_at).strftime("%Y-%m-%d %H:%M") == starts.strftime(
        "%Y-%m-%d 10:00"
    )
    assert (slot.minutes, slot.mode, slot.registration) == (45, Slot.Mode.VIDEO, None)
    return slot


def intake_queue(person: Person, registration: Registration, slot: Slot) -> None:
    """The registration in the queue with its screening scores; book the assessment, then
    accept her for treatment starting today."""
    page = person.page
    person.menu("Intake queue")
    row = page.get_by_role("row").filter(has_text="Petra Patient")
    expect(row).to_contain_text("MADRS-S 17")
    expect(row).to_contain_text("Waiting for assessment")
    row.get_by_role("link", name="Petra Patient").click()
    person.step("registration", re.compile("^Petra Patient"))
    expect(page.get_by_role("region", name="Intake answers")).to_contain_text(SITUATION)

    page.get_by_label("Book a free time for the patient").select_option(str(slot.pk))
    page.get_by_role("button", name="Book", exact=True).click()
    person.step("assessment-booked", re.compile("Assessment booked"))
    person.says("The assessment is booked.")
    registration.refresh_from_db()
    assert registration.status == Registration.Status.BOOKED

    accept = page.get_by_role("region", name="Accept for treatment")
    accept.get_by_label("Responsible therapist").select_option(
        label="Tove Terapeut, Psychologist – no introduction to the program recorded"
    )
    accept.get_by_label("Start date").fill(timezone.localdate().isoformat())
    accept.get_by_label("The problem as assessed").fill("Måttlig depression sedan ett halvår.")
    accept.get_by_label("Suicide risk and other risks").fill("Inga tankar på självmord.")
    accept.get_by_label("Why internet treatment suits").fill("Motiverad, van vid datorn.")
    person.album.take(page, "accept-filled-in")
    accept.get_by_role("button", name="Accept").click()
    person.step("accepted", re.compile("Accepted"))
    person.says("Accepted. The treatment starts on the start date.")
    registration.refresh_from_db()
    assert registration.status == Registration.Status.ACCEPTED
    assert registration.assessment_note["risk"] == "Inga tankar på självmord."


def patients_first_week(patient: Patient, enrollment: Enrollment) -> Thread:
    """What Petra does in her first week, through the same actions her pages call: her goals
    handed in, the first module done, a question, and a weekly MADRS-S with a critical answer."""
    answer = treatment.worksheet_save(enrollment, "mina-mal", GOALS, revision=0)
    treatment.worksheet_hand_in(answer)
    treatment.module_complete(enrollment, "valkommen", "Jag läste allt och skrev mina mål.")
    thread = messaging.thread_start(
        patient, patient.user, "Hur gör jag med målen?", "Vilket mål ska jag börja med?"
    )
    weekly = Response.objects.filter(patient=patient, occasion="weekly").earliest("due_at")
    measurement.response_submit(weekly, WEEKLY_MADRS_S_CRITICAL)
    assert RiskFlag.objects.open().filter(patient=patient).count() == 1
    return thread


def caseload(person: Person, *, needs: bool) -> None:
    page = person.page
    person.menu("Caseload")
    person.step("caseload" if needs else "caseload-after", "Caseload")
    row = page.get_by_role("row").filter(has_text="Petra Patient")
    reasons = [
        "Risk flag",
        "Unanswered messages: 1",
        "Homework waiting for feedback: 1",
        "Handed-in worksheets to read: 1",
    ]
    for reason in reasons:
        expect(row.get_by_text(reason)).to_have_count(1 if needs else 0)
    expect(row).to_contain_text("week 1")


def worksheet_and_feedback(person: Person, enrollment: Enrollment, therapist: User) -> None:
    page = person.page
    person.step("treatment-record", "Petra Patient")
    sheets = page.get_by_role("region", name="Worksheets")
    expect(sheets).to_contain_text(GOALS["annorlunda"])
    expect(sheets).to_contain_text("Handed in, not read")
    sheets.get_by_role("button", name="Mark as read").click()
    person.step("worksheet-read", "Petra Patient")
    expect(sheets).not_to_contain_text("Handed in, not read")
    answer = WorksheetAnswer.objects.get(enrollment=enrollment, worksheet_key="mina-mal")
    assert answer.reviewed_at is not None

    modules = page.get_by_role("region", name="Modules")
    expect(modules).to_contain_text("Jag läste allt och skrev mina mål.")
    modules.get_by_label("Feedback").fill("Fina mål! Börja med promenaderna.")
    modules.get_by_role("button", name="Send feedback").click()
    person.step("feedback-sent", "Petra Patient")
    person.says("The feedback is sent.")
    progress = ModuleProgress.objects.get(enrollment=enrollment, module_key="valkommen")
    assert (progress.feedback, progress.feedback_by) == (
        "Fina mål! Börja med promenaderna.",
        therapist,
    )


def read_and_reply(person: Person, thread: Thread, therapist: User) -> None:
    page = person.page
    page.get_by_role("link", name="Messages", exact=True).click()
    person.step("patient-messages", "Messages")
    thread_link = page.get_by_role("link", name="Hur gör jag med målen?")
    expect(page.get_by_role("listitem").filter(has=thread_link)).to_contain_text("1 unread")
    thread_link.click()
    person.step("message", "Hur gör jag med målen?")
    expect(page.get_by_role("main")).to_contain_text("Vilket mål ska jag börja med?")
    question = thread.messages.get()
    assert question.read_at is not None
    page.get_by_label("Message").fill("Börja med det minsta målet.")
    page.get_by_role("button", name="Send", exact=True).click()
    person.step("reply-sent", "Hur gör jag med målen?")
    reply = thread.messages.exclude(pk=question.pk).get()
    assert (reply.sender, reply.body) == (therapist, "Börja med det minsta målet.")


def risk_flag(person: Person, patient: Patient, therapist: User) -> None:
    page = person.page
    person.menu("My patients")
    flags = page.get_by_role("region", name="Risk flags to act on")
    expect(flags).to_contain_text("critical answer on MADRS-S")
    flags.get_by_role("link", name="Petra Patient").click()
    person.step("risk-flag", "Measurements")
    page.get_by_label("What was done").fill("Ringde Petra, bedömde suicidrisken som låg.")
    page.get_by_role("button", name="Acknowledge", exact=True).click()
    person.step("risk-flag-acknowledged", "Measurements")
    person.says("The risk flag is acknowledged.")
    expect(page.get_by_role("region", name="Risk flags")).to_contain_text(
        "Acknowledged by Tove Terapeut"
    )
    flag = RiskFlag.objects.get(patient=patient)
    assert (flag.acknowledged_by, flag.action_taken) == (
        therapist,
        "Ringde Petra, bedömde suicidrisken som låg.",
    )


def register_time(person: Person, enrollment: Enrollment, therapist: User) -> None:
    page = person.page
    person.menu("Caseload")
    page.get_by_role("link", name="Petra Patient").click()
    ledger = page.get_by_role("region", name="Time ledger")
    ledger.get_by_label("Minutes").fill("15")
    ledger.get_by_label("On what").fill("Återkoppling, meddelande och riskbedömning")
    ledger.get_by_role("button", name="Add").click()
    person.step("time-registered", "Petra Patient")
    expect(ledger).to_contain_text("Week 1: 15 minutes")
    entry = TimeEntry.objects.get(enrollment=enrollment)
    assert (entry.staff, entry.minutes) == (therapist, 15)
