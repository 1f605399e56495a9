"""The simulated patients, therapists and the floor for bench/load.py (locust, headless).

Each simulated person is one of the scenario's (bench/scenario.py): its session cookie, its
own treatment, thread and questionnaire, so no two simulated patients write the same worksheet.
Redirects are not followed: a page that answers anything but its own 200 (a sign-in redirect,
a 409, a 503) counts as an error.
"""

import itertools
import json
import os
import random
import re
import time
from pathlib import Path

from locust import constant, task
from locust.contrib.fasthttp import FastHttpUser

SCENARIO = json.loads(Path(os.environ["IKBT_SCENARIO"]).read_text())
RATE = float(os.environ.get("IKBT_USER_RATE", "0"))  # requests per second per person
REVISION = re.compile(rb'name="revision" value="(\d+)"')
_patients = itertools.count()
_therapists = itertools.count()


def _pace():
    """Back to back for the capacity runs; at the peak, each person's requests arrive as a
    Poisson process of RATE per second (independent people: together they are a Poisson
    process too, not a burst every second from people who all started at the same moment)."""
    if not RATE:
        return constant(0)

    def wait_time(user) -> float:
        now = time.monotonic()
        user.next_request = getattr(user, "next_request", now) + random.expovariate(RATE)
        return max(0.0, user.next_request - now)

    return wait_time


class Person(FastHttpUser):
    abstract = True
    wait_time = _pace()
    people: list = []
    counter = _patients

    def on_start(self) -> None:
        self.me = self.people[next(self.counter) % len(self.people)]
        self.headers = {
            "Cookie": f"sessionid={self.me['session']}; csrftoken={SCENARIO['csrf']}",
            "X-CSRFToken": SCENARIO["csrf"],
        }

    def page(self, url: str, name: str) -> None:
        self.client.get(url, name=name, headers=self.headers, allow_redirects=False)

    def send(self, url: str, name: str, data: dict, expect: int, htmx: bool = False) -> bytes:
        headers = {**self.headers, **({"HX-Request": "true"} if htmx else {})}
        with self.client.post(
            url, data=data, name=name, headers=headers, allow_redirects=False, catch_response=True
        ) as answer:
            if answer.status_code != expect:
                answer.failure(f"{answer.status_code}, expected {expect}")
            return answer.content or b""


class Floor(FastHttpUser):
    """One query, one template."""

    wait_time = _pace()
    weight = 1

    @task
    def floor(self) -> None:
        self.client.get("/bench/floor/", name="floor: one query, one template")


class CaseloadOnly(Person):
    people = SCENARIO["therapists"]
    counter = _therapists

    @task
    def caseload(self) -> None:
        self.page(self.me["caseload"], "therapist: caseload overview")


class ModulePageOnly(Person):
    people = SCENARIO["patients"]

    @task
    def module(self) -> None:
        self.page(self.me["module"], "patient: module page")


class Patient(Person):
    """A patient in treatment: reads, writes in a worksheet, answers, writes to the therapist."""

    people = SCENARIO["patients"]
    weight = 10

    def on_start(self) -> None:
        super().on_start()
        # Open the page with the worksheet first, as the browser does, for its revision.
        page = self.client.get(
            self.me["module"], name="patient: module page", headers=self.headers
        )
        found = REVISION.search(page.content or b"")
        self.revision = int(found.group(1)) if found else 0

    @task(3)
    def home(self) -> None:
        self.page(self.me["home"], "patient: home")

    @task(4)
    def module(self) -> None:
        self.page(self.me["module"], "patient: module page")

    @task(3)
    def worksheet_autosave(self) -> None:
        body = self.send(
            self.me["worksheet"],
            "patient: worksheet autosave",
            {**self.me["worksheet_fields"], "revision": str(self.revision)},
            200,
            htmx=True,
        )
        found = REVISION.search(body)
        if found:
            self.revision = int(found.group(1))

    @task(1)
    def questionnaire(self) -> None:
        self.page(self.me["questionnaire"], "patient: questionnaire")

    @task(2)
    def questionnaire_autosave(self) -> None:
        self.send(
            self.me["questionnaire"],
            "patient: questionnaire autosave",
            self.me["questionnaire_fields"],
            200,
            htmx=True,
        )

    @task(1)
    def messages(self) -> None:
        self.page(self.me["thread"], "patient: message thread")

    @task(1)
    def write(self) -> None:
        self.send(
            self.me["thread"], "patient: send message", {"body": "Hej! En fråga om veckan."}, 302
        )


class Therapist(Person):
    """The responsible therapist: caseload, records, reading and answering messages."""

    people = SCENARIO["therapists"]
    counter = _therapists
    weight = 3

    def on_start(self) -> None:
        super().on_start()
        self.turn = itertools.count()

    @task(3)
    def caseload(self) -> None:
        self.page(self.me["caseload"], "therapist: caseload overview")

    @task(3)
    def record(self) -> None:
        index = next(self.turn) % len(self.me["records"])
        self.page(self.me["records"][index], "therapist: patient record")

    @task(1)
    def reply(self) -> None:
        index = next(self.turn) % len(self.me["threads"])
        self.send(
            self.me["threads"][index],
            "therapist: reply",
            {"body": "Tack för ditt meddelande. Bra jobbat med övningen!"},
            302,
        )
