"""Every page in a real browser (Debian's chromium), checked by axe-core: no violation that
axe rates serious or critical, and no page wider than the phone it is opened on (a wide table
scrolls in its own frame or turns its rows into cards).

The pages come from the access matrix: each role opens every URL its column of
``test_access_matrix.GET`` answers with 200, with the objects the matrix's ``world`` makes, so
a new page is checked as soon as it has its row there. What is not HTML (FHIR JSON, CSV
exports, program media) is left out by its content type. The few pages the matrix sees only
as redirects (the steps of signing in, a consent not yet given) are reached by doing what
comes before them, in ``STEPS``. A page that another role was shown with the same menu and the
same elements (text aside) is not checked twice: that keeps the run under a minute.
"""

from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.urls import reverse

from ikbt import factories
from ikbt.conftest import needs_chromium
from ikbt.core.tests import test_access_matrix as matrix
from ikbt.organisations.models import StaffRole
from ikbt.research import actions as research_actions
from ikbt.research.models import Study

pytestmark = [
    needs_chromium,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# The matrix's objects and its quick password hasher, used here as they are there.
world = matrix.world
quick_passwords = matrix.quick_passwords

# The patient and every kind of staff member once: the colleague and the outsider are
# therapists too, and are shown fewer of the same pages.
CHECKED_ROLES = (
    "anonymous",
    "patient",
    "therapist",
    "unit_admin",
    "region_admin",
    "register_officer",
    "researcher",
    "program_author",
)
FAILING_IMPACTS = ("serious", "critical")


def pages_for(role: str) -> list[str]:
    """The URL names the role may open, from its column of the matrix."""
    column = matrix.ROLES.index(role)
    return sorted(
        name for name, codes in matrix.parse(matrix.GET).items()
        if codes[column] == "200" and name in matrix.url_params()
    )  # fmt: skip


# --- Pages behind a form -----------------------------------------------------------------
# Each step starts signed in as its role (anonymous: not at all) and ends on the page.


def patient_code(page, world: matrix.World) -> None:
    page.goto(reverse("accounts:patient_sign_in"))
    page.fill("#id_personal_number", world.users["patient"].patient.personal_number)
    page.click("main form button[type=submit]")
    page.wait_for_url("**" + reverse("accounts:patient_code"))


def staff_password_step(page, username: str, next_page: str) -> None:
    page.goto(reverse("accounts:staff_login"))
    page.fill("#id_username", username)
    page.fill("#id_password", factories.TEST_PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"**{reverse(next_page)}**")


def two_factor(page, world: matrix.World) -> None:
    staff_password_step(page, world.users["therapist"].username, "accounts:two_factor")


def authenticator_setup(page, world: matrix.World) -> None:
    unit = world.users["unit_admin"].memberships.get().unit
    newcomer = factories.staff_member(unit, StaffRole.THERAPIST, username="newcomer")
    staff_password_step(page, newcomer.username, "accounts:authenticator_setup")


def backup_codes(page, world: matrix.World) -> None:
    page.goto(reverse("accounts:security"))
    page.click("button[value=backup_codes]")
    page.wait_for_url("**" + reverse("accounts:backup_codes"))


def consent(page, world: matrix.World) -> None:
    """The matrix's patient has answered already; the planned study asks again."""
    researcher, therapist = world.users["researcher"], world.users["therapist"]
    planned = Study.objects.get(pk=world.overrides["research:study_edit"]["study_id"])
    study = research_actions.study_open_recruitment(planned, by=researcher)
    participant = research_actions.participant_include(
        study,
        world.users["patient"].patient,
        unit=therapist.memberships.get().unit,
        by=therapist,
        strata={},
        exclusion_checked=True,
    )
    page.goto(reverse("research:consent", kwargs={"participant_id": participant.pk}))


STEPS: dict[str, tuple[str, Callable]] = {
    "accounts:patient_code": ("anonymous", patient_code),
    "accounts:two_factor": ("anonymous", two_factor),
    "accounts:authenticator_setup": ("anonymous", authenticator_setup),
    "accounts:backup_codes": ("therapist", backup_codes),
    "research:consent": ("patient", consent),
}


# --- The browser -------------------------------------------------------------------------


class Shape(HTMLParser):
    """What a page is made of: its elements, their attributes' names and their classes,
    without text or values, for the header (the role's menu) and the main content apart."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.header: list[tuple] = []
        self.main: list[tuple] = []
        self.parts = self.header
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "main":
            self.parts = self.main
        names = tuple(sorted(name for name, _ in attrs))
        self.parts.append((tag, names, dict(attrs).get("class")))


class Checker:
    """One phone-sized tab, signed in as one role after the other, that collects axe's serious
    and critical findings, one line per element."""

    def __init__(self, browser, world: matrix.World, base_url: str) -> None:
        self.world, self.base_url = world, base_url
        context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844})
        # axe-core is loaded into every page by the tab itself, before Axe.run asks for it.
        context.add_init_script(AXE_SCRIPT)
        self.page, self.axe = context.new_page(), Axe(axe_script="void 0")
        self.shapes: set[tuple[str, tuple]] = set()
        self.problems: list[str] = []

    def sign_in(self, role: str) -> None:
        """The session cookie of the matrix's browser for ``role``, and no other cookie."""
        context = self.page.context
        context.clear_cookies()
        session = self.world.clients[role].cookies.get(settings.SESSION_COOKIE_NAME)
        if session is not None:
            context.add_cookies(
                [{"name": session.key, "value": session.value, "url": self.base_url}]
            )

    def is_new(self, name: str) -> bool:
        """Whether the URL is an HTML page with a menu or a main content not checked yet: a
        page the same, text aside, as one checked before is not checked again."""
        answer = self.page.request.get(self.world.url(name), max_redirects=0)
        assert answer.status == 200, f"{name}: {answer.status}"
        if not answer.headers.get("content-type", "").startswith("text/html"):
            return False
        shape = Shape(answer.text())
        parts = {("header", tuple(shape.header)), (name, tuple(shape.main))}
        new = not parts <= self.shapes
        self.shapes |= parts
        return new

    def check(self, role: str, name: str) -> None:
        """Runs axe on the page as it is now, and measures its width."""
        width, window = self.page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]"
        )
        if width > window:
            url = self.page.url.removeprefix(self.base_url)
            self.problems.append(f"{width}px wide in a {window}px window: {url} ({name})")
        for violation in self.axe.run(self.page).response["violations"]:
            if violation["impact"] not in FAILING_IMPACTS:
                continue
            url = self.page.url.removeprefix(self.base_url)
            for node in violation["nodes"]:
                target = " ".join(map(str, node["target"]))
                self.problems.append(
                    f"{violation['id']} ({violation['impact']}): {url} ({name} as {role}) {target}"
                )


def test_every_page_has_no_serious_or_critical_violation(live_server, chromium, world):
    checker = Checker(chromium, world, live_server.url)
    for role in CHECKED_ROLES:
        checker.sign_in(role)
        for name in pages_for(role):
            if checker.is_new(name):
                checker.page.goto(world.url(name))
                checker.check(role, name)
    for name, (role, step) in STEPS.items():
        checker.sign_in(role)
        step(checker.page, world)
        checker.check(role, name)
    assert checker.problems == [], "\n".join(checker.problems)


def test_every_page_is_checked():
    """A URL no checked role opens with 200 is a page only a step reaches, or takes POST only
    (405 in its row)."""
    opened = {name for role in CHECKED_ROLES for name in pages_for(role)}
    post_only = {name for name, codes in matrix.parse(matrix.GET).items() if "405" in codes}
    redirect_only = {"set_language"}  # the language switch: back to the page it was asked on
    assert sorted(set(matrix.url_params()) - opened - post_only - set(STEPS) - redirect_only) == []
