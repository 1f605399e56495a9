"""The patient's path in a real browser (Debian's chromium driven by Playwright): sign in
with a one-time code, answer a questionnaire that saves as it goes, under the strict Content
Security Policy, with no error in the browser's console."""

import os
from pathlib import Path

import pytest

from ikbt.conftest import needs_chromium
from ikbt.measurement import actions as measurement
from ikbt.measurement.models import Response
from ikbt.notifications import sms

pytestmark = [
    needs_chromium,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def browser_page(chromium):
    page = chromium.new_page(viewport={"width": 390, "height": 844})  # a phone
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "response",
        lambda answer: answer.status >= 400 and errors.append(f"{answer.status} {answer.url}"),
    )
    return page, errors


def test_patient_signs_in_and_answers_on_a_phone(live_server, browser_page, patient):
    page, errors = browser_page
    response = measurement.response_start(patient, measurement.current_version("GAD-7"))
    sms.outbox.clear()

    page.goto(f"{live_server.url}/konto/patient/logga-in/")
    page.get_by_label("Personal identity number").fill(patient.personal_number)
    page.get_by_role("button", name="Send code").click()
    page.wait_for_url("**/konto/patient/kod/")
    code = next(
        word.strip(".") for word in sms.outbox[-1].body.split() if word.strip(".").isdigit()
    )
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/patienter/mina-sidor/")

    page.goto(f"{live_server.url}/skattningar/{response.key}/")
    # Each change is saved by htmx on its own. Wait for both answers in the browser, not by
    # reading the database meanwhile: SQLite's in-memory test database, shared with the
    # server's thread, would refuse the server's write while this thread reads.
    saved = []
    page.on("response", lambda answer: answer.request.method == "POST" and saved.append(answer))
    page.locator("fieldset").nth(0).get_by_label("Several days").check()
    page.locator("fieldset").nth(1).get_by_label("Nearly every day").check()
    for _ in range(50):
        if len(saved) >= 2:
            break
        page.wait_for_timeout(100)
    response.refresh_from_db()
    assert response.answers[:2] == [1, 3]  # saved by htmx as the patient went

    for index in range(2, 7):
        page.locator("fieldset").nth(index).get_by_label("Not at all").check()
    page.get_by_role("button", name="Send in my answers").click()
    page.wait_for_url("**/klar/")
    assert page.get_by_role("heading", name="Thank you for your answers").is_visible()
    response.refresh_from_db()
    assert (response.status, response.total) == (Response.Status.SUBMITTED, 4)
    assert errors == []


def test_worksheet_text_is_saved_while_typing(live_server, browser_page, patient, enrollment):
    """The loss window: text typed into a worksheet reaches the server 1.5 s after the last
    keystroke (htmx ``keyup changed delay:1500ms``), without leaving the field."""
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from ikbt.treatment.models import ModuleProgress, WorksheetAnswer

    page, errors = browser_page
    ModuleProgress.objects.create(
        enrollment=enrollment, module_key="valkommen", completed_at=enrollment.started_at
    )
    session = SessionStore()
    session[SESSION_KEY] = str(patient.user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = patient.user.get_session_auth_hash()
    session.save()
    page.context.add_cookies(
        [{"name": "sessionid", "value": session.session_key, "url": live_server.url}]
    )
    page.goto(f"{live_server.url}/behandling/{enrollment.pk}/modul/andning/1/")
    field = page.get_by_label("Vad märkte du?")
    field.click()
    page.keyboard.type("Lugnare efter tre minuter")
    page.wait_for_selector("#ws-revision-andningslogg[value='1']", state="attached", timeout=5000)
    answer = WorksheetAnswer.objects.get(enrollment=enrollment, worksheet_key="andningslogg")
    assert answer.data["marke"] == "Lugnare efter tre minuter"
    # A second burst of typing saves again on the new revision (no conflict).
    page.keyboard.type(", och sov bättre.")
    page.wait_for_selector("#ws-revision-andningslogg[value='2']", state="attached", timeout=5000)
    answer.refresh_from_db()
    assert answer.data["marke"] == "Lugnare efter tre minuter, och sov bättre."
    assert errors == []


def test_what_is_typed_just_before_leaving_the_page_is_saved(
    live_server, browser_page, patient, enrollment
):
    """Typed and gone at once (another address, Back), within the autosave's 1.5 s pause:
    the worksheet and the homework report are sent as the page goes."""
    from ikbt.treatment.models import ModuleProgress, WorksheetAnswer

    page, errors = browser_page
    ModuleProgress.objects.create(
        enrollment=enrollment, module_key="valkommen", completed_at=enrollment.started_at
    )
    _sign_in(page, live_server, patient.user)
    module_page = f"{live_server.url}/behandling/{enrollment.pk}/modul/andning/1/"
    home = f"{live_server.url}/patienter/mina-sidor/"

    def saved(read) -> bool:
        for _ in range(50):
            if read():
                return True
            page.wait_for_timeout(100)
        return False

    page.goto(module_page)
    page.get_by_label("Vad märkte du?").click()
    page.keyboard.type("Lugnare")
    page.goto(home)  # at once, without the pause
    assert saved(
        lambda: WorksheetAnswer.objects.filter(
            worksheet_key="andningslogg", data__marke="Lugnare"
        ).exists()
    )

    page.goto(module_page)
    page.locator("#homework_report").click()
    page.keyboard.type("Det gick bra")
    page.go_back()
    assert saved(
        lambda: ModuleProgress.objects.filter(
            module_key="andning", homework_report="Det gick bra"
        ).exists()
    )
    assert errors == []


def _sign_in(page, live_server, user) -> None:
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.save()
    page.context.add_cookies(
        [{"name": "sessionid", "value": session.session_key, "url": live_server.url}]
    )


def _sign_in_staff(page, live_server, user) -> None:
    """A staff member signed in with the second factor (as ``verified_client`` does)."""
    from ikbt.conftest import verified_client

    session = verified_client(user).cookies["sessionid"].value
    page.context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])


def test_every_program_page_fits_a_phone(live_server, browser_page, patient, unit, tmp_path):
    """All nine programs, every page, at 390×844: nothing wider than the screen, no console
    error. The first page of every module is saved as a screenshot to look at."""
    from django.utils import timezone

    from ikbt.organisations.models import Region
    from ikbt.programs.actions import shipped_programs_publish
    from ikbt.programs.models import Program
    from ikbt.treatment.models import Enrollment, ModuleProgress

    page, errors = browser_page
    shipped_programs_publish(Region.objects.get(code="05"))
    _sign_in(page, live_server, patient.user)
    folder = Path(os.environ.get("IKBT_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    too_wide, broken, pages = [], [], 0
    for program in Program.objects.exclude(slug="exempel-angest").order_by("slug"):
        version = program.versions.get()
        enrollment = Enrollment.objects.create(patient=patient, unit=unit, program_version=version)
        modules = list(version.modules.prefetch_related("pages"))
        ModuleProgress.objects.bulk_create(
            ModuleProgress(enrollment=enrollment, module_key=module.key,
                           unlocked_by_hand_at=timezone.now())
            for module in modules
        )  # fmt: skip
        for module in modules:
            for number in range(1, len(module.pages.all()) + 1):
                page.goto(
                    f"{live_server.url}/behandling/{enrollment.pk}/modul/{module.key}/{number}/"
                )
                pages += 1
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > 390:
                    too_wide.append(f"{program.slug}/{module.key}/{number}: {width}px")
                # A scale's choices each on one line ("10" not broken in two).
                tallest = page.evaluate(
                    "Math.max(0, ...Array.from(document.querySelectorAll('.options.scale label'),"
                    " label => label.getBoundingClientRect().height))"
                )
                if tallest > 48:
                    broken.append(f"{program.slug}/{module.key}/{number}: {tallest}px")
                if number == 1:
                    page.screenshot(
                        path=folder / f"{program.slug}-{module.position:02d}-{module.key}.png",
                        full_page=True,
                    )
    assert pages > 200
    assert too_wide == []
    assert broken == []
    assert errors == []


def test_card_tables_are_tables_on_a_desktop_and_cards_on_a_phone(
    live_server, browser_page, patient, therapist, unit
):
    """'Who has looked at my data' (table.cards): columns line up at 1280 px; at 390 px each
    row is a card with the column names above the cells."""
    from django.urls import reverse

    from ikbt.audit.actions import Action, log_access

    log_access(therapist, Action.READ, patient=patient, unit=unit, obj=patient, detail="patient")
    page, errors = browser_page
    _sign_in(page, live_server, patient.user)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server.url + reverse("audit:my_access_log"))
    table = page.locator("table.cards").first
    headers = table.locator("thead th")
    cells = table.locator("tbody tr").first.locator("td, th")
    assert headers.count() == cells.count() > 1
    for column in range(headers.count()):
        assert headers.nth(column).bounding_box()["x"] == cells.nth(column).bounding_box()["x"]
    page.set_viewport_size({"width": 390, "height": 844})
    assert table.locator("thead").bounding_box()["width"] <= 1  # read out, not shown
    first, second = cells.nth(0).bounding_box(), cells.nth(1).bounding_box()
    assert first["x"] == second["x"] and second["y"] > first["y"]  # one under the other
    assert errors == []


def test_a_save_that_fails_says_so_and_a_conflict_is_explained_in_place(
    live_server, browser_page, patient, enrollment
):
    """Offline, the worksheet's status says the text is not saved (it stays in the field);
    a save from a page older than the last one is refused with 409 and explained where the
    status was, with the text she wrote shown back."""
    from ikbt.treatment import actions
    from ikbt.treatment.models import ModuleProgress, WorksheetAnswer

    page, errors = browser_page
    ModuleProgress.objects.create(
        enrollment=enrollment, module_key="valkommen", completed_at=enrollment.started_at
    )
    _sign_in(page, live_server, patient.user)
    page.goto(f"{live_server.url}/behandling/{enrollment.pk}/modul/andning/1/")
    status = page.locator("#ws-status-andningslogg")
    field = page.get_by_label("Vad märkte du?")
    field.click()
    page.context.set_offline(True)
    page.keyboard.type("Skrivet utan nät")
    page.wait_for_selector("#ws-status-andningslogg.not-saved", timeout=5000)
    assert "Not saved" in status.inner_text()
    assert field.input_value() == "Skrivet utan nät"
    assert not WorksheetAnswer.objects.exists()
    page.context.set_offline(False)

    page.keyboard.type(" och med nät")
    page.wait_for_selector("#ws-revision-andningslogg[value='1']", state="attached", timeout=5000)
    assert "not-saved" not in (status.get_attribute("class") or "")
    assert WorksheetAnswer.objects.get().data["marke"] == "Skrivet utan nät och med nät"

    # Signed out meanwhile (the session ended): the sign-in page is not put in the status.
    cookies = page.context.cookies()
    page.context.clear_cookies(name="sessionid")
    page.keyboard.type("!")
    page.wait_for_selector("#ws-status-andningslogg.not-saved", timeout=5000)
    assert "you have been signed out" in status.inner_text()
    assert page.locator("#ws-status-andningslogg form").count() == 0
    page.context.add_cookies(cookies)

    # Meanwhile the same worksheet was saved from her phone.
    actions.worksheet_save(enrollment, "andningslogg", {"marke": "Från telefonen"}, revision=1)
    page.keyboard.type(", igen")
    page.wait_for_selector("#ws-status-andningslogg.message.error", timeout=5000)
    assert "changed on another device" in status.inner_text()
    assert "Skrivet utan nät och med nät!, igen" in status.inner_text()
    assert WorksheetAnswer.objects.get().data["marke"] == "Från telefonen"
    # The browser and htmx logged the failed requests (no network, then 409); nothing else.
    expected = ("htmx:afterRequest", "htmx:sendError", "Failed to load", "409")
    assert [error for error in errors if not error.startswith(expected)] == []


def test_a_reply_template_goes_in_beside_what_the_therapist_has_typed(
    live_server, browser_page, therapist, patient
):
    from ikbt.messaging import actions as messaging
    from ikbt.treatment.models import ReplyTemplate

    ReplyTemplate.objects.create(owner=therapist, title="Övning", text="Fint att du provade.")
    thread = messaging.thread_start(patient, patient.user, "Övningen", "Jag gjorde den.")
    page, errors = browser_page
    _sign_in_staff(page, live_server, therapist)
    page.goto(f"{live_server.url}/meddelanden/personal/{thread.pk}/")
    page.fill("#id_body", "Hej!")
    page.select_option("#template-id_body", label="Övning")
    page.get_by_role("button", name="Use").click()
    # The page is not asked again: what was typed stays, the template after it.
    assert page.input_value("#id_body") == "Hej! Fint att du provade."
    # Where the cursor is: back at the start, the template goes before the rest, spaced.
    page.fill("#id_body", "Hej!")
    page.focus("#id_body")
    page.keyboard.press("Home")
    page.get_by_role("button", name="Use").click()
    assert page.input_value("#id_body") == "Fint att du provade. Hej!"
    assert page.url == f"{live_server.url}/meddelanden/personal/{thread.pk}/"
    assert errors == []


def test_feedback_typed_on_the_record_is_kept_when_a_note_is_saved(
    live_server, browser_page, therapist, patient_client, enrollment
):
    from ikbt.treatment.tests.test_treatment import module_url

    patient_client.post(
        module_url(enrollment, "valkommen", 2), {"homework_report": "Jag kände ångest på bussen."}
    )
    page, errors = browser_page
    page.set_viewport_size({"width": 1280, "height": 800})
    _sign_in_staff(page, live_server, therapist)
    page.goto(f"{live_server.url}/behandling/journal/{enrollment.pk}/")
    page.fill("#feedback-valkommen", "Bra att du skrev om bussen.")
    page.fill("#id_note", "Ringde, mår bättre.")
    page.get_by_role("button", name="Save the note").click()
    page.wait_for_load_state()
    assert page.get_by_text("The note is saved.").is_visible()
    assert page.input_value("#feedback-valkommen") == "Bra att du skrev om bussen."
    assert page.input_value("#id_note") == ""
    assert errors == []


def test_a_message_past_its_length_is_not_cut_and_says_how_much_too_long(
    live_server, browser_page, patient, enrollment
):
    from ikbt.messaging.models import Thread

    page, errors = browser_page
    _sign_in(page, live_server, patient.user)
    page.goto(f"{live_server.url}/meddelanden/")
    page.get_by_label("Subject").fill("Ett långt brev")
    body = page.get_by_label("Message")
    body.fill("a" * 3000)
    assert page.locator("#id_body-length").inner_text() == ""  # far from the limit
    # Each line break counts twice, as the server counts the text the browser sends.
    body.fill("a" * 4000 + "\n" * 5)
    assert page.locator("#id_body-length").inner_text() == "Characters left: 990"
    text = "b" * 5000 + "\nslut"  # pasted: the browser does not cut it
    body.fill(text)
    assert page.input_value("#id_body") == text
    assert page.locator("#id_body-length").inner_text() == (
        "Characters over the limit: 6. Shorten the text before you send it."
    )
    page.get_by_role("button", name="Send").click()
    page.wait_for_load_state()
    assert not Thread.objects.exists()
    # Refused by the server, and given back whole.
    assert page.input_value("#id_body").replace("\r\n", "\n") == text
    assert page.get_by_text("Ensure this value has at most 5000 characters").is_visible()
    assert errors == []


def test_a_score_chart_on_a_phone_shows_the_latest_scores_first(
    live_server, browser_page, patient, enrollment
):
    import datetime

    from django.utils import timezone

    first = timezone.now() - datetime.timedelta(weeks=12)
    for week in range(12):
        response = measurement.response_start(patient, measurement.current_version("GAD-7"))
        measurement.response_submit(response, [week % 4] * 7)
        Response.objects.filter(pk=response.pk).update(
            submitted_at=first + datetime.timedelta(weeks=week)
        )
    page, errors = browser_page
    _sign_in(page, live_server, patient.user)
    page.goto(f"{live_server.url}/skattningar/mina/")
    chart = page.locator("figure.chart").first
    assert chart.evaluate("figure => figure.scrollWidth > figure.clientWidth")  # it scrolls
    latest = chart.locator("circle").last.bounding_box()
    assert latest["x"] >= 0 and latest["x"] + latest["width"] <= 390  # in sight at once
    # On a desktop the chart stands at the left, where the page's text begins.
    page.set_viewport_size({"width": 1280, "height": 800})
    figure, svg = chart.bounding_box(), chart.locator("svg").bounding_box()
    assert svg["x"] == figure["x"]
    assert errors == []


def test_a_refused_form_takes_the_focus_to_what_needs_another_look(
    live_server, browser_page, patient
):
    page, errors = browser_page
    _sign_in(page, live_server, patient.user)
    response = measurement.response_start(patient, measurement.current_version("GAD-7"))
    page.goto(f"{live_server.url}/skattningar/{response.key}/")
    page.get_by_role("button", name="Send in my answers").click()
    page.wait_for_load_state()
    focused = page.evaluate("document.activeElement.textContent")
    assert "Some questions are not answered yet" in focused
    page.goto(f"{live_server.url}/konto/sakerhet/")
    page.get_by_label("Mobile").fill("ring mig")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    assert "Some answers need another look" in page.evaluate("document.activeElement.textContent")
    assert page.input_value("#id_mobile") == "ring mig"
    assert errors == []


def test_audit_hides_questions_two_to_eight_after_never(live_server, browser_page, patient):
    response = measurement.response_start(patient, measurement.current_version("AUDIT"))
    page, errors = browser_page
    _sign_in(page, live_server, patient.user)
    page.goto(f"{live_server.url}/skattningar/{response.key}/")
    second = page.locator("#item-2")
    assert second.is_visible()
    page.locator("#item-1").get_by_label("Never").check()
    assert not second.is_visible() and not page.locator("#item-8").is_visible()
    assert page.locator("#item-9").is_visible()
    page.locator("#item-1").get_by_label("Monthly or less").check()
    assert second.is_visible()
    page.locator("#item-1").get_by_label("Never").check()
    page.locator("#item-9").get_by_label("No", exact=True).check()
    page.locator("#item-10").get_by_label("No", exact=True).check()
    page.get_by_role("button", name="Send in my answers").click()
    page.wait_for_url("**/klar/")
    response.refresh_from_db()
    assert (response.status, response.total) == (Response.Status.SUBMITTED, 0)
    assert errors == []


def test_a_unit_heads_typing_in_one_form_is_kept_when_another_is_sent(
    live_server, browser_page, unit, unit_admin, therapist
):
    page, errors = browser_page
    page.set_viewport_size({"width": 1280, "height": 800})
    _sign_in_staff(page, live_server, unit_admin)
    page.goto(f"{live_server.url}/enheter/{unit.pk}/")
    page.fill("#id_phone_hours", "Vardagar 8–9")
    page.select_option("#id_staff", str(therapist.pk))
    page.fill("#id_completed_on", "2026-11-30")
    # A colleague's address mistyped: the form is refused, the other forms keep what was typed.
    page.fill("#id_email", "nora.region.se")
    page.get_by_role("button", name="Add to the unit").click()
    page.wait_for_load_state()
    assert page.locator("#id_email + .errorlist, .errorlist").first.is_visible()
    assert page.input_value("#id_email") == "nora.region.se"
    assert page.input_value("#id_phone_hours") == "Vardagar 8–9"
    assert page.input_value("#id_staff") == str(therapist.pk)
    assert page.input_value("#id_completed_on") == "2026-11-30"
    # Corrected and added (the page comes back by a redirect): still there.
    page.fill("#id_email", "nora@region.se")
    page.fill("#id_first_name", "Nora")
    page.fill("#id_last_name", "Nilsson")
    page.select_option("#id_profession", "psychologist")
    page.get_by_role("button", name="Add to the unit").click()
    page.wait_for_load_state()
    assert page.get_by_text("Nora Nilsson").first.is_visible()
    assert page.input_value("#id_email") == ""
    assert page.input_value("#id_phone_hours") == "Vardagar 8–9"
    assert page.input_value("#id_completed_on") == "2026-11-30"
    assert errors == []


def test_a_worksheet_typed_after_the_time_out_is_back_after_signing_in_again(
    live_server, browser_page, patient, enrollment
):
    """The autosave meets the time-out and says so; Save then keeps what was typed over
    signing in again, which leads back to the module page with it in its box."""
    from django.contrib.sessions.backends.db import SessionStore

    from ikbt.conftest import idle_past_the_time_out
    from ikbt.treatment.models import ModuleProgress

    page, errors = browser_page
    ModuleProgress.objects.create(
        enrollment=enrollment, module_key="valkommen", completed_at=enrollment.started_at
    )
    _sign_in(page, live_server, patient.user)
    module_page = f"{live_server.url}/behandling/{enrollment.pk}/modul/andning/1/"
    page.goto(module_page)
    idle_past_the_time_out(None, SessionStore(session_key=page.context.cookies()[0]["value"]))

    page.get_by_label("Vad märkte du?").click()
    page.keyboard.type("Lugnare efter tre minuter")
    status = page.locator("#ws-status-andningslogg")
    status.get_by_text("you have been signed out. Press Save").wait_for()
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url("**/konto/patient/logga-in/**")
    assert page.get_by_text("What you were writing was not sent").is_visible()

    sms.outbox.clear()
    page.get_by_label("Personal identity number").fill(patient.personal_number)
    page.get_by_role("button", name="Send code").click()
    page.wait_for_url("**/konto/patient/kod/**")
    code = next(
        word.strip(".") for word in sms.outbox[-1].body.split() if word.strip(".").isdigit()
    )
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(module_page)
    assert page.input_value("#ws-andningslogg-marke") == "Lugnare efter tre minuter"
    assert page.get_by_text("is back in the worksheet: save it.").is_visible()
    # The autosave's redirect to the sign-in page is the one request the browser saw fail.
    assert [error for error in errors if "logga-in" not in error] == []


def test_an_author_leaving_a_page_with_unsaved_text_is_asked_first(
    live_server, browser_page, unit
):
    """The preview beside the text is drawn as she types, but the text is saved only by Save:
    leaving without it, the browser asks first; Save itself does not ask."""
    from ikbt import factories
    from ikbt.organisations.models import StaffRole
    from ikbt.programs.actions import program_import
    from ikbt.programs.package import EXAMPLE_PACKAGE, read_package

    page, errors = browser_page
    author = factories.staff_member(unit, StaffRole.PROGRAM_AUTHOR, username="forfattare")
    data, _problems = read_package(EXAMPLE_PACKAGE)
    draft = program_import(data, unit.region)
    module = draft.modules.order_by("position").first()
    first = module.pages.order_by("position").first()
    _sign_in_staff(page, live_server, author)
    address = (
        f"{live_server.url}/program/{draft.program.slug}/v{draft.number}"
        f"/modul/{module.key}/sida/{first.key}/"
    )
    page.goto(address)
    asked = []

    def answer(dialog):
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", answer)
    page.get_by_label("Content", exact=True).click()
    page.keyboard.press("End")
    page.keyboard.type(" Ett stycke till.")
    page.get_by_role("link", name=module.title).click()
    page.wait_for_timeout(300)
    assert asked == ["beforeunload"]
    assert page.url == address  # she stayed, with what she typed
    assert "Ett stycke till." in page.get_by_label("Content", exact=True).input_value()
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_load_state()
    assert asked == ["beforeunload"]  # Save did not ask
    first.refresh_from_db()
    assert "Ett stycke till." in first.source
    assert errors == []
