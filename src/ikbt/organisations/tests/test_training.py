"""New internet therapists are trained continuously: the unit head records the course in
therapist-guided internet CBT and each program's introduction, and a treatment given to a
therapist without the program's introduction says so."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from ikbt import factories
from ikbt.conftest import verified_client
from ikbt.intake.models import Offering, Registration
from ikbt.organisations.actions import StaffError, training_record
from ikbt.organisations.models import StaffMembership, StaffRole, Supervision, Training
from ikbt.programs.models import Condition, Program, program_titles

TODAY = timezone.localdate


@pytest.fixture
def program(enrollment):
    return enrollment.program_version.program


@pytest.fixture
def offering(unit, program):
    return Offering.objects.create(unit=unit, program=program)


@pytest.fixture
def unit_url(unit):
    return reverse("organisations:unit", args=[unit.pk])


def _record(client, url, therapist, course, day):
    return client.post(
        url,
        {"form": "training", "staff": therapist.pk, "course": course, "completed_on": day},
        follow=True,
    )


def test_the_unit_head_records_the_course_and_a_programs_introduction(
    unit_admin_client, unit_url, therapist, program, offering
):
    page = unit_admin_client.get(unit_url)
    [row] = page.context["training"]
    assert row["user"] == therapist
    assert (row["course"], [day for _title, day in row["programs"]]) == (None, [None])
    course = page.context["training_form"].fields["course"]
    assert [label for _value, label in course.choices] == [
        "Therapist-guided internet CBT (the region's course)",
        f"Introduction to {row['programs'][0][0]}",
    ]

    done = _record(unit_admin_client, unit_url, therapist, "", "2026-09-01")
    assert "The training of Tove Terapeut is recorded: completed on 2026-09-01." in done.text
    _record(unit_admin_client, unit_url, therapist, program.pk, "2026-10-15")
    [row] = unit_admin_client.get(unit_url).context["training"]
    assert (row["course"], row["programs"][0][1]) == (
        datetime.date(2026, 9, 1),
        datetime.date(2026, 10, 15),
    )
    training = Training.objects.get(staff=therapist, program=program)
    assert training.recorded_by.username == "unitadmin"


def test_a_refresher_moves_the_day_on_and_a_day_typed_wrong_is_put_right(
    unit, unit_admin, therapist, program
):
    for day in ("2025-03-01", "2026-03-01", "2026-02-01"):
        training_record(
            therapist,
            program_id=program.pk,
            completed_on=datetime.date.fromisoformat(day),
            unit=unit,
            by=unit_admin,
        )
    [training] = Training.objects.filter(staff=therapist)
    assert training.completed_on == datetime.date(2026, 2, 1)


def test_a_day_to_come_or_someone_not_a_therapist_here_is_refused_and_the_form_kept(
    unit, unit_admin, unit_admin_client, unit_url, therapist, outsider, offering
):
    tomorrow = (TODAY() + datetime.timedelta(days=1)).isoformat()
    page = unit_admin_client.post(
        unit_url,
        {"form": "training", "staff": therapist.pk, "course": "", "completed_on": tomorrow},
    )
    form = page.context["training_form"]
    assert form.errors == {
        "completed_on": ["Write the day the course was completed, not a later one."]
    }
    assert f'value="{tomorrow}"' in page.text
    page = unit_admin_client.post(
        unit_url,
        {"form": "training", "staff": therapist.pk, "course": "", "completed_on": "1899-01-01"},
    )
    assert page.context["training_form"].errors == {
        "completed_on": ["Write a day from the year 2000 on."]
    }
    page = unit_admin_client.post(
        unit_url,
        {"form": "training", "staff": outsider.pk, "course": "", "completed_on": "2026-01-01"},
    )
    assert "staff" in page.context["training_form"].errors
    with pytest.raises(StaffError, match="the unit's therapists"):
        training_record(outsider, program_id=None, completed_on=TODAY(), unit=unit, by=unit_admin)
    assert not Training.objects.exists()


def test_the_choice_of_responsible_therapist_says_who_has_no_introduction_to_the_program(
    unit, unit_admin, therapist, colleague, program, offering, patient, therapist_client
):
    training_record(
        therapist, program_id=program.pk, completed_on=TODAY(), unit=unit, by=unit_admin
    )
    registration = Registration.objects.create(patient=patient, offering=offering, answers={})
    page = therapist_client.get(reverse("intake:registration", args=[registration.pk]))
    field = page.context["accept_form"].fields["therapist"]
    assert [label for _value, label in field.choices] == [
        "Kalle Kollega, Psychologist – no introduction to the program recorded",
        "Tove Terapeut, Psychologist",
    ]
    # Said under the choice too: a phone cuts the end off a long choice.
    assert "No introduction to the program is recorded for: Kalle Kollega." in page.text


def test_moving_a_treatment_says_who_has_no_introduction_to_the_program(
    unit, unit_admin, unit_admin_client, therapist, colleague, program, offering, enrollment
):
    training_record(
        colleague, program_id=program.pk, completed_on=TODAY(), unit=unit, by=unit_admin
    )
    page = unit_admin_client.get(reverse("intake:treatment_transfer", args=[enrollment.pk]))
    [(_unit, choices)] = [
        choice
        for choice in page.context["form"].fields["placement"].choices
        if isinstance(choice[1], list)
    ]
    assert [label for _key, label in choices] == [
        "Kalle Kollega, Psychologist",
        "Tove Terapeut, Psychologist – no introduction to the program recorded",
    ]
    assert "No introduction to the program is recorded for: Tove Terapeut." in page.text


def test_recording_training_is_logged_with_ids_only(
    unit, unit_admin, therapist, caplog, django_capture_on_commit_callbacks
):
    with (
        caplog.at_level("INFO", logger="ikbt.organisations"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        training_record(therapist, program_id=None, completed_on=TODAY(), unit=unit, by=unit_admin)
    logged = [r.getMessage() for r in caplog.records if r.name == "ikbt.organisations.actions"]
    assert logged == [
        f"training recorded: user {therapist.pk}, program None, by user {unit_admin.pk}"
    ]


def test_a_new_therapist_has_no_training_until_it_is_recorded(unit, unit_admin_client, unit_url):
    newcomer = factories.staff_member(unit, StaffRole.THERAPIST, first_name="Nils", last_name="Ny")
    rows = unit_admin_client.get(unit_url).context["training"]
    [nils] = [row for row in rows if row["user"] == newcomer]
    assert nils["course"] is None


def _program(slug, unit):
    return Program.objects.create(
        slug=slug, owner_region=unit.region, condition=Condition.INSOMNIA
    )


def test_a_therapist_sees_her_own_roles_supervision_and_training_on_her_account_page(
    therapist, therapist_client, unit, unit_admin, program, offering
):
    another = _program("somn", unit)  # introduced elsewhere, not offered here
    for program_id, day in (
        (None, datetime.date(2026, 9, 1)),
        (another.pk, datetime.date(2025, 3, 4)),
    ):
        training_record(
            therapist, program_id=program_id, completed_on=day, unit=unit, by=unit_admin
        )
    Supervision.objects.create(
        supervisor=unit_admin, supervisee=therapist, unit=unit, review_messages=True
    )
    page = therapist_client.get(reverse("accounts:security"))
    assert page.status_code == 200
    assert "<h1>My account</h1>" in page.text
    [membership] = page.context["work"]["memberships"]
    assert (membership.unit, membership.role) == (unit, StaffRole.THERAPIST)
    text = " ".join(page.text.split())
    assert f"Therapist, {unit.name}" in text
    assert "Ulla Chef supervises you, reads your messages before they are sent." in text
    titles = program_titles([program, another])
    assert page.context["work"]["training"] == {
        "user": therapist,
        "course": datetime.date(2026, 9, 1),
        # By short name: exempel-angest, then somn (a program not yet published is called so).
        "programs": [(titles[program.pk], None), ("somn", datetime.date(2025, 3, 4))],
    }
    assert "<dt>Internet CBT course</dt> <dd>2026-09-01</dd>" in text
    assert f"<dt>Introduction to {titles[program.pk]}</dt> <dd>Not recorded</dd>" in text

    # The supervisor sees whom she supervises; someone who treats no one has no training.
    mine = verified_client(unit_admin).get(reverse("accounts:security"))
    assert mine.context["work"]["training"] is None
    assert "You supervise Tove Terapeut, and read the messages before they are sent." in (
        " ".join(mine.text.split())
    )


def test_the_account_page_asks_the_same_number_of_queries_however_many_units_and_programs(
    therapist, therapist_client, unit, program, offering, django_assert_num_queries
):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert therapist_client.get(reverse("accounts:security")).status_code == 200
        return len(queries)

    therapist_client.get(reverse("accounts:security"))  # the session's first request saves it
    before = count()
    assert before == 10  # session, user, device, backup codes, four of the work, menu
    for number in range(3):
        other = factories.CareUnitFactory(region=unit.region, name=f"Vårdcentralen {number}")
        StaffMembership.objects.create(user=therapist, unit=other, role=StaffRole.THERAPIST)
        Offering.objects.create(unit=other, program=_program(f"p{number}", unit))
    assert count() == before
    with django_assert_num_queries(before):
        therapist_client.get(reverse("accounts:security"))


def test_a_patient_keeps_the_sign_in_and_security_page(patient_client):
    page = patient_client.get(reverse("accounts:security"))
    assert "<h1>Sign-in and security</h1>" in page.text
    assert page.context["work"] is None
