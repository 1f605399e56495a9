import datetime

import pytest
from django.utils import timezone

from ikbt import factories
from ikbt.programs import actions
from ikbt.programs.blocks import render_markdown
from ikbt.programs.models import Module, Program
from ikbt.programs.package import read_package
from ikbt.programs.tests.test_package import EXAMPLE
from ikbt.treatment.models import Enrollment, ModuleProgress, WorksheetAnswer
from ikbt.treatment.unlocking import unlocked_modules


@pytest.fixture
def example(db):
    data, _ = read_package(EXAMPLE)
    return actions.version_publish(actions.program_import(data, factories.region("05")), None)


@pytest.fixture
def enrollment(example, patient, unit) -> Enrollment:
    return Enrollment.objects.create(patient=patient, unit=unit, program_version=example)


@pytest.mark.parametrize(
    "markdown",
    [
        "<script>alert('x')</script>Hej",
        "[klicka](javascript:alert(1))",
        '<img src="x" onerror="alert(1)">',
        '<a href="#" onclick="alert(1)">a</a>',
        "<style>body{display:none}</style>",
        '<iframe src="https://example.com"></iframe>',
    ],
)
def test_no_script_survives_markdown(markdown):
    html = render_markdown(markdown).lower()
    for dangerous in ("<script", "javascript:", "onerror", "onclick", "<style", "<iframe", "<img"):
        assert dangerous not in html


def test_markdown_keeps_what_authors_need():
    html = render_markdown(
        "## Rubrik\n\n**fet** och *kursiv*\n\n- ett\n- två\n\n[1177](https://1177.se)"
    )
    assert "<h2>Rubrik</h2>" in html
    assert "<strong>fet</strong>" in html and "<em>kursiv</em>" in html
    assert '<a href="https://1177.se" rel="noopener noreferrer">1177</a>' in html


def test_unlocking_rules(enrollment):
    start = timezone.now()
    enrollment.started_at = start
    enrollment.save()
    assert unlocked_modules(enrollment, start) == ["valkommen"]  # at the start

    ModuleProgress.objects.create(
        enrollment=enrollment, module_key="valkommen", completed_at=start
    )
    assert unlocked_modules(enrollment, start) == ["valkommen", "andning"]  # after previous

    done = ModuleProgress.objects.create(
        enrollment=enrollment, module_key="andning", completed_at=start
    )
    assert "exponering" not in unlocked_modules(enrollment, start)  # waits for feedback
    done.feedback_at = start
    done.save()
    assert "exponering" in unlocked_modules(enrollment, start)

    week_five = start + datetime.timedelta(days=34)
    week_six = start + datetime.timedelta(days=35)
    assert "halvvags" not in unlocked_modules(enrollment, week_five)
    assert "halvvags" in unlocked_modules(enrollment, week_six)  # on week 6


def test_therapist_can_unlock_by_hand(enrollment):
    ModuleProgress.objects.create(
        enrollment=enrollment, module_key="exponering", unlocked_by_hand_at=timezone.now()
    )
    assert unlocked_modules(enrollment) == ["valkommen", "exponering"]


def test_published_version_is_frozen_and_a_new_draft_copies_it(example):
    with pytest.raises(actions.ProgramError, match="cannot change"):
        actions.ensure_draft(example)
    draft = actions.version_new_draft(example.program)
    assert (draft.number, draft.status) == (2, "draft")
    assert actions.data_from_version(draft).modules == actions.data_from_version(example).modules
    assert actions.version_new_draft(example.program) == draft  # one open draft


def test_publishing_refuses_a_version_with_problems(example):
    draft = actions.version_new_draft(example.program)
    draft.worksheets.filter(key="andningslogg").update(fields=[])
    with pytest.raises(actions.PublishError) as error:
        actions.version_publish(draft, None)
    assert [str(problem) for problem in error.value.problems] == [
        "worksheet 'andningslogg': The worksheet has no fields."
    ]


def test_publishing_refuses_a_version_of_no_weeks(example):
    """The author's form refuses it on its field; a package or the database could hold it."""
    draft = actions.version_new_draft(example.program)
    type(draft).objects.filter(pk=draft.pk).update(planned_weeks=0)
    draft.refresh_from_db()
    with pytest.raises(actions.PublishError) as error:
        actions.version_publish(draft, None)
    assert "program.toml: the planned length must be 1 to 52 weeks" in [
        str(problem) for problem in error.value.problems
    ]


def test_moving_patients_keeps_progress_and_answers(example, enrollment):
    ModuleProgress.objects.create(
        enrollment=enrollment, module_key="valkommen", completed_at=timezone.now()
    )
    WorksheetAnswer.objects.create(
        enrollment=enrollment, worksheet_key="andningslogg", data={"marke": "Lugnare"}
    )
    unsafe = actions.version_publish(actions.version_new_draft(example.program), None)
    with pytest.raises(actions.ProgramError, match="safe to move"):
        actions.enrollments_move(example, unsafe)

    draft = actions.version_new_draft(example.program)
    draft.modules.filter(key="andning").update(title="Lugn andning, ny text")
    draft.safe_to_move_from_previous = True
    draft.save(update_fields=["safe_to_move_from_previous"])
    draft = actions.version_publish(draft, None)
    assert actions.enrollments_move(example, draft) == 1

    enrollment.refresh_from_db()
    assert enrollment.program_version == draft
    assert unlocked_modules(enrollment) == ["valkommen", "andning"]
    assert enrollment.worksheet_answers.get().data == {"marke": "Lugnare"}


def test_share_adopt_and_fork(example, therapist):
    orebro = factories.region("18")
    with pytest.raises(actions.ProgramError, match="shared"):
        actions.program_adopt(example.program, orebro, therapist)

    actions.program_share(example.program, True)
    adoption = actions.program_adopt(example.program, orebro, therapist)
    assert (adoption.program, adoption.region) == (example.program, orebro)

    fork = actions.program_fork(example, orebro, "angest-orebro")
    assert fork.program.owner_region == orebro
    assert fork.program.forked_from == example
    assert fork.status == "draft"
    assert len(actions.data_from_version(fork).modules) == 4
    assert Program.objects.count() == 2


def test_first_module_cannot_wait_for_a_previous_one(example):
    draft = actions.version_new_draft(example.program)
    draft.modules.filter(key="valkommen").update(unlock=Module.Unlock.AFTER_FEEDBACK)
    messages = [str(problem) for problem in actions.version_problems(draft)]
    assert (
        "program.toml: module 'valkommen': the first module has no previous module to wait for"
        in messages
    )
