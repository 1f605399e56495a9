import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ikbt import factories
from ikbt.audit.models import AccessLogEntry
from ikbt.organisations.models import StaffRole
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


@pytest.fixture
def author(unit):
    return factories.staff_member(unit, StaffRole.PROGRAM_AUTHOR, username="forfattare")


def safe_draft(example):
    """A new draft of ``example`` its patients may be moved to."""
    draft = actions.version_new_draft(example.program)
    draft.safe_to_move_from_previous = True
    draft.save(update_fields=["safe_to_move_from_previous"])
    return draft


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


def test_moving_patients_keeps_progress_and_answers(example, enrollment, author):
    ModuleProgress.objects.create(
        enrollment=enrollment, module_key="valkommen", completed_at=timezone.now()
    )
    WorksheetAnswer.objects.create(
        enrollment=enrollment, worksheet_key="andningslogg", data={"marke": "Lugnare"}
    )
    unsafe = actions.version_publish(actions.version_new_draft(example.program), None)
    with pytest.raises(actions.ProgramError, match="safe to move"):
        actions.enrollments_move(example, unsafe, by=author)

    draft = safe_draft(example)
    draft.modules.filter(key="andning").update(title="Lugn andning, ny text")
    draft = actions.version_publish(draft, None)
    assert actions.enrollments_move(example, draft, by=author) == 1

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


def test_a_version_patients_may_be_moved_to_keeps_every_key_their_answers_are_kept_by(example):
    """A module, a worksheet or a worksheet's field renamed or removed in the draft would hide
    what moved patients have done: each is a problem to fix, naming it, until it is back or
    the draft is no longer marked as safe to move to."""
    draft = safe_draft(example)
    draft.modules.filter(key="andning").update(key="andas")
    draft.worksheets.filter(key="exponeringstrappa").delete()
    sheet = draft.worksheets.get(key="andningslogg")
    sheet.fields[1]["key"] = "markte"
    sheet.save(update_fields=["fields"])
    setting = "“patients on the previous version may be moved here”"
    advice = f"Give it its key again (a renamed key back as it was), or untick {setting}."
    expected = [
        f"program.toml: the module 'andning' of version 1 is missing, and patients moved here "
        f"would lose what they have done in it. {advice}",
        f"worksheet 'andningslogg': the field 'marke' of the worksheet 'andningslogg' of "
        f"version 1 is missing, and patients moved here would lose what they have done in "
        f"it. {advice}",
        f"program.toml: the worksheet 'exponeringstrappa' of version 1 is missing, and "
        f"patients moved here would lose what they have done in it. {advice}",
    ]
    # The page naming the removed worksheet is a problem of its own, as before.
    problems = [str(problem) for problem in actions.version_problems(draft)]
    assert [problem for problem in problems if "of version 1 is missing" in problem] == expected
    with pytest.raises(actions.PublishError) as error:
        actions.version_publish(draft, None)
    assert [str(problem) for problem in error.value.problems][-3:] == expected

    # Not marked as safe to move to, a draft may change its keys.
    draft.safe_to_move_from_previous = False
    draft.save(update_fields=["safe_to_move_from_previous"])
    assert not any("of version 1 is missing" in str(p) for p in actions.version_problems(draft))


def test_keys_are_compared_with_the_latest_published_version(example):
    """A draft left unpublished in between is not what patients move from."""
    abandoned = actions.version_new_draft(example.program)
    abandoned.modules.filter(key="andning").update(key="andas")
    data = actions.data_from_version(example)
    draft = actions.program_import(data, example.program.owner_region)
    assert (abandoned.number, draft.number) == (2, 3)
    assert actions.previous_published(draft) == example
    draft.safe_to_move_from_previous = True
    draft.save(update_fields=["safe_to_move_from_previous"])
    assert not any("is missing" in str(problem) for problem in actions.version_problems(draft))


def test_a_move_to_a_version_without_a_key_is_refused_whoever_asks(example, enrollment, author):
    """A version published as safe before this was checked, or changed in the database: the
    move itself refuses, and nothing moves or is logged."""
    target = actions.version_publish(actions.version_new_draft(example.program), None)
    target.worksheets.filter(key="andningslogg").update(key="andningsdagbok")
    target.safe_to_move_from_previous = True
    target.save(update_fields=["safe_to_move_from_previous"])
    with pytest.raises(actions.ProgramError) as error:
        actions.enrollments_move(example, target, by=author)
    assert str(error.value) == (
        "Patients cannot be moved to version 2: their progress and answers are kept by keys "
        "it does not have: the worksheet 'andningslogg'."
    )
    enrollment.refresh_from_db()
    assert enrollment.program_version == example
    assert AccessLogEntry.objects.filter(patient=enrollment.patient).count() == 0


def _enrolled(version, unit, count: int) -> list[Enrollment]:
    return [
        Enrollment.objects.create(
            patient=factories.PatientFactory(), unit=unit, program_version=version
        )
        for _ in range(count)
    ]


@pytest.mark.parametrize("count", [1, 3])
def test_each_moved_treatment_is_a_change_in_its_patients_access_log(
    example, author, unit, other_region_unit, count
):
    """One row per moved treatment, at its unit (another region's too, which adopted the
    program), by the author in the role she writes programs in, with her region: her log does
    not make a stranger seem one of her clinic's staff. Ended treatments stay and are not
    logged. A fixed number of queries, however many move."""
    here = _enrolled(example, unit, count)
    there = _enrolled(example, other_region_unit, 1)
    ended = _enrolled(example, unit, 1)[0]
    Enrollment.objects.filter(pk=ended.pk).update(status=Enrollment.Status.ENDED)
    target = actions.version_publish(safe_draft(example), None)

    with CaptureQueriesContext(connection) as queries:
        assert actions.enrollments_move(example, target, by=author) == count + 1
    assert len(queries) == 11

    rows = AccessLogEntry.objects.all()
    assert sorted((row.patient_id, row.unit_id, row.object_id) for row in rows) == sorted(
        (enrollment.patient_id, enrollment.unit_id, str(enrollment.pk))
        for enrollment in [*here, *there]
    )
    assert {
        (row.actor, row.action, row.actor_role, row.detail, row.object_type) for row in rows
    } == {
        (
            author,
            AccessLogEntry.Action.CHANGE,
            "Program author (Region Östergötland)",
            "moved to program version 2",
            "treatment.Enrollment",
        )
    }
    ended.refresh_from_db()
    assert ended.program_version == example
