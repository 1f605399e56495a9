"""New internet therapists are trained continuously: the unit head records the course in
therapist-guided internet CBT and each program's introduction, and a treatment given to a
therapist without the program's introduction says so."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from ikbt import factories
from ikbt.intake.models import Offering, Registration
from ikbt.organisations.actions import StaffError, training_record
from ikbt.organisations.models import StaffRole, Training

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
