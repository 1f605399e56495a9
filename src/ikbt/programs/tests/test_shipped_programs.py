"""The nine programs of the press releases: each validates, follows its plan (6–10 modules,
homework and a therapist guide in each, a primary questionnaire measured before and after,
literature cited), and every page opens and every worksheet saves for a patient."""

import io
import json
import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from ikbt import factories
from ikbt.organisations.models import Region
from ikbt.programs.actions import shipped_programs_publish
from ikbt.programs.models import Condition, Program
from ikbt.programs.package import EXAMPLE_PACKAGE, read_package, shipped_packages
from ikbt.treatment.models import Enrollment, ModuleProgress, WorksheetAnswer

PROGRAMS = [path for path in shipped_packages() if path != EXAMPLE_PACKAGE]
WORKSHEET_BLOCK = re.compile(r"^::: worksheet (\S+)", re.MULTILINE)


def test_nine_programs_one_for_each_condition(db):
    conditions = sorted(read_package(path)[0].condition for path in PROGRAMS)
    assert len(PROGRAMS) == 9
    assert conditions == sorted(Condition.values)


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda path: path.name)
def test_package_validates_and_follows_the_plan(db, path):
    out = io.StringIO()
    call_command("program", "validate", str(path), stdout=out)
    assert "is valid" in out.getvalue()
    data, problems = read_package(path)
    assert problems == []
    assert 6 <= len(data.modules) <= 10 and data.planned_weeks == 12
    assert data.primary_instrument in data.measurement["pre"]
    assert data.primary_instrument in data.measurement["post"]
    assert data.measurement.get("weekly") and data.measurement.get("screening")
    assert any(when.startswith("follow_up") for when in data.measurement)
    for module in data.modules:
        assert module.homework and module.therapist_guide, module.key
        for page in module.pages:
            # Phone-first: one idea per page, short enough to read on a small screen.
            assert len(page.source.split()) <= 400, page.where
            assert "|---" not in page.source, f"{page.where}: tables do not fit a phone"
    used = {
        key
        for module in data.modules
        for page in module.pages
        for key in WORKSHEET_BLOCK.findall(page.source)
    }
    assert used == set(data.worksheets), "every worksheet is used on a page"
    readme = (path / "README.md").read_text(encoding="utf-8")
    assert len(re.findall(r"\b(?:19|20)\d\d\b", readme)) >= 5, "the literature it follows"


def _answers_for(fields: list[dict]) -> dict[str, str]:
    post = {}
    for field in fields:
        key, kind = field["key"], field["kind"]
        if kind == "scale":
            post[key] = str(field.get("min", 0))
        elif kind == "table":
            for column in range(len(field["columns"])):
                post[f"{key}__0__{column}"] = f"rad {column}"
        else:
            post[key] = "Mitt svar"
    return post


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda path: path.name)
def test_every_page_opens_and_every_worksheet_saves(patient_client, patient, unit, path):
    shipped_programs_publish(Region.objects.get(code="05"))
    slug = read_package(path)[0].slug
    version = Program.objects.get(slug=slug).versions.get()
    enrollment = Enrollment.objects.create(patient=patient, unit=unit, program_version=version)
    modules = list(version.modules.prefetch_related("pages"))
    ModuleProgress.objects.bulk_create(
        ModuleProgress(
            enrollment=enrollment, module_key=module.key, unlocked_by_hand_at=timezone.now()
        )
        for module in modules
    )
    for module in modules:
        for number in range(1, module.pages.count() + 1):
            url = reverse("treatment:module_page", args=[enrollment.pk, module.key, number])
            assert patient_client.get(url).status_code == 200, url
    for sheet in version.worksheets.all():
        url = reverse("treatment:worksheet_save", args=[enrollment.pk, sheet.key])
        answer = patient_client.post(url, {"revision": "0", **_answers_for(sheet.fields)})
        assert answer.status_code == 302, sheet.key
        saved = WorksheetAnswer.objects.get(enrollment=enrollment, worksheet_key=sheet.key)
        assert saved.revision == 1, sheet.key
        assert all(value not in ("", [], None) for value in saved.data.values()), sheet.key


def test_program_list_shows_all_nine(db):
    shipped_programs_publish(factories.region("05"))
    out = io.StringIO()
    call_command("program", "list", "--json", stdout=out)
    listed = {row["slug"]: row for row in json.loads(out.getvalue())}
    assert len(listed) == 10  # the nine and the example
    for path in PROGRAMS:
        data = read_package(path)[0]
        row = listed[data.slug]
        assert (row["status"], row["primary_instrument"]) == ("published", data.primary_instrument)
