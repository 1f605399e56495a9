"""The patient's path in a real browser (Debian's chromium driven by Playwright): sign in
with a one-time code, answer a questionnaire that saves as it goes, under the strict Content
Security Policy, with no error in the browser's console."""

import os
import shutil

import pytest

from ikbt.measurement import actions as measurement
from ikbt.measurement.models import Response
from ikbt.notifications import sms

CHROMIUM = shutil.which("chromium")

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)"),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running; the test's own ORM calls are safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        errors: list[str] = []
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "response",
            lambda answer: answer.status >= 400 and errors.append(f"{answer.status} {answer.url}"),
        )
        yield page, errors
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


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
    page.locator("fieldset").nth(0).get_by_label("Several days").check()
    page.locator("fieldset").nth(1).get_by_label("Nearly every day").check()
    page.wait_for_selector("#save-status:has-text('Saved')")
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
