"""The unit head's page: how patients reach the unit, its staff, and supervision."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from ikbt import factories
from ikbt.audit.actions import log_access
from ikbt.audit.models import AccessLogEntry
from ikbt.conftest import list_rows, verified_client
from ikbt.intake.models import Offering
from ikbt.messaging import actions as messaging
from ikbt.messaging.models import Message
from ikbt.organisations.actions import (
    SupervisionError,
    staff_role_remove,
    supervision_end,
    supervision_start,
)
from ikbt.organisations.models import (
    StaffAbsence,
    StaffMembership,
    StaffRole,
    Supervision,
    Training,
)
from ikbt.patients.access import patients_for_staff


@pytest.fixture
def supervisor(unit):
    return factories.staff_member(
        unit, StaffRole.SUPERVISOR, username="handledare", first_name="Hanna", last_name="Hed"
    )


@pytest.fixture
def otto_at_lambohov(unit, therapist):
    """Tove treats at a second unit too, where Otto is her patient."""
    elsewhere = factories.CareUnitFactory(region=unit.region, name="Vårdcentralen Lambohov")
    StaffMembership.objects.create(user=therapist, unit=elsewhere, role=StaffRole.THERAPIST)
    otto = factories.PatientFactory(given_name="Otto")
    factories.care_relationship(otto, therapist, elsewhere)
    return otto


@pytest.fixture
def unit_url(unit):
    return reverse("organisations:unit", args=[unit.pk])


def test_unit_head_lists_her_units_and_others_get_404(
    unit, unit_admin_client, therapist_client, outsider_client, unit_url
):
    page = unit_admin_client.get(reverse("organisations:units"))
    assert [u.pk for u in page.context["units"]] == [unit.pk]
    assert unit_url in page.text
    assert therapist_client.get(reverse("organisations:units")).status_code == 404
    assert therapist_client.get(unit_url).status_code == 404
    assert outsider_client.get(unit_url).status_code == 404


def test_staff_are_listed_once_with_their_roles_and_absence_today(
    unit, unit_admin, unit_admin_client, therapist, colleague, supervisor, unit_url
):
    factories.staff_member(unit, StaffRole.SUPERVISOR)  # one more, not a therapist
    StaffMembership.objects.create(user=therapist, unit=unit, role=StaffRole.PROGRAM_AUTHOR)
    today = timezone.localdate()
    StaffAbsence.objects.create(
        staff=colleague, starts_on=today, ends_on=today + datetime.timedelta(days=3)
    )
    staff = unit_admin_client.get(unit_url).context["staff"]
    rows = {person["user"].username: person for person in staff}
    roles = [membership.get_role_display() for membership in rows["therapist"]["memberships"]]
    assert roles == ["Program author", "Therapist"]
    assert rows["colleague"]["away"].ends_on == today + datetime.timedelta(days=3)
    assert rows["therapist"]["away"] is None
    assert len(staff) == 5


def test_contact_details_are_saved_and_shown_to_the_patient(
    unit, unit_admin_client, unit_url, patient_client
):
    page = unit_admin_client.post(
        unit_url,
        {
            "form": "contact",
            "phone": "013-20 20 00",
            "phone_hours": "Måndag–fredag 8–10",
            "visiting_address": "Storgatan 1, Linköping",
        },
        follow=True,
    )
    assert "The unit&#x27;s contact details are saved." in page.text
    unit.refresh_from_db()
    assert (unit.phone, unit.phone_hours) == ("013-20 20 00", "Måndag–fredag 8–10")

    home = patient_client.get(reverse("patients:patient_home")).text
    assert 'href="tel:0132020 00"' not in home
    assert 'href="tel:013202000"' in home
    assert "(Måndag–fredag 8–10)" in home
    log = patient_client.get(reverse("audit:my_access_log")).text
    assert "Storgatan 1, Linköping" in log


@pytest.mark.parametrize("typed", ["ring oss", "+46 (0)13-20 20 00", "1"])
def test_a_wrong_phone_number_is_explained_and_what_was_typed_is_kept(
    unit_admin_client, unit_url, typed
):
    page = unit_admin_client.post(
        unit_url,
        {
            "form": "contact",
            "phone": typed,
            "phone_hours": "Måndagar",
            "visiting_address": "",
        },
    )
    assert page.status_code == 200
    assert page.context["contact_form"].errors == {
        "phone": ["Write the number with digits, for example 013-20 20 00."]
    }
    assert 'value="Måndagar"' in page.text and f'value="{typed}"' in page.text


def test_what_is_typed_in_the_units_other_forms_comes_back_when_one_form_is_sent(
    unit, unit_admin_client, unit_admin, therapist, unit_url
):
    typed = {
        "unsent:id_phone_hours": "Vardagar 8–9",
        "unsent:id_email": "ny.kollega@region.se",
        "unsent:id_first_name": "Nora",
        "unsent:id_staff": str(therapist.pk),
        "unsent:id_completed_on": "2026-11-30",
        "unsent:id_reply_within_days": "3",
    }
    # A refused form comes back with the other forms as they were typed and chosen.
    page = unit_admin_client.post(
        unit_url, {"form": "contact", "phone": "ring oss", "phone_hours": "", **typed}
    )
    assert page.context["contact_form"].errors
    assert page.context["staff_form"]["email"].value() == "ny.kollega@region.se"
    assert page.context["staff_form"]["first_name"].value() == "Nora"
    assert page.context["training_form"]["staff"].value() == str(therapist.pk)
    assert page.context["training_form"]["completed_on"].value() == "2026-11-30"
    assert page.context["reply_time_form"]["reply_within_days"].value() == "3"
    assert 'value="ny.kollega@region.se"' in page.text
    assert f'<option value="{therapist.pk}" selected>' in page.text
    # A form saved (a redirect to the page): the other forms' text waits for the next page.
    # (unsent.js sends the form's own box as "sent:", the others as "unsent:".)
    del typed["unsent:id_reply_within_days"]
    unit_admin_client.post(
        unit_url,
        {"form": "reply_time", "reply_within_days": 2, "sent:id_reply_within_days": 2, **typed},
    )
    unit.refresh_from_db()
    assert unit.reply_within_days == 2
    page = unit_admin_client.get(unit_url)
    assert page.context["staff_form"]["email"].value() == "ny.kollega@region.se"
    assert page.context["contact_form"]["phone_hours"].value() == "Vardagar 8–9"
    assert page.context["reply_time_form"]["reply_within_days"].value() == 2
    # Given once.
    assert unit_admin_client.get(unit_url).context["staff_form"]["email"].value() is None


def test_patient_without_unit_contact_details_is_told_how_to_reach_the_unit(patient_client):
    log = patient_client.get(reverse("audit:my_access_log")).text
    assert "call 1177 to be put through to the unit" in log


def test_supervision_started_by_the_unit_head_opens_the_patients_at_that_unit_only(
    unit, unit_admin, unit_admin_client, therapist, supervisor, patient, unit_url, otto_at_lambohov
):
    assert list(patients_for_staff(supervisor)) == []

    page = unit_admin_client.post(
        unit_url,
        {
            "form": "supervision",
            "supervisee": therapist.pk,
            "supervisor": supervisor.pk,
            "review_messages": "on",
        },
        follow=True,
    )
    assert "The supervision starts today." in page.text
    supervision = Supervision.objects.get()
    assert (supervision.unit, supervision.arranged_by, supervision.review_messages) == (
        unit,
        unit_admin,
        True,
    )
    assert list(patients_for_staff(supervisor)) == [patient]
    assert "Hanna Hed supervises Tove Terapeut" in page.text
    # Opening patients to her is a change to her access: on the unit's list of changes.
    [change] = page.context["staff_changes"]
    assert (change.colleague, change.detail_shown) == (
        "Hanna Hed",
        "began to supervise a therapist at the unit",
    )


def test_supervision_needs_a_therapist_and_a_supervisor_of_the_unit(
    unit, unit_admin, therapist, colleague, supervisor, outsider
):
    def start(supervisor, supervisee):
        supervision_start(
            unit,
            supervisor=supervisor,
            supervisee=supervisee,
            review_messages=False,
            by=unit_admin,
        )

    with pytest.raises(SupervisionError, match="cannot be their own supervisor"):
        start(therapist, therapist)
    with pytest.raises(SupervisionError, match="must be a therapist at the unit"):
        start(supervisor, outsider)
    with pytest.raises(SupervisionError, match="role of supervisor at the unit"):
        start(colleague, therapist)
    start(supervisor, therapist)
    with pytest.raises(SupervisionError, match="Hanna Hed already supervises Tove Terapeut at"):
        start(supervisor, therapist)
    assert Supervision.objects.count() == 1
    # The same pair at a second unit is a supervision of its own, ended there.
    elsewhere = factories.CareUnitFactory(region=unit.region, name="Vårdcentralen Lambohov")
    StaffMembership.objects.create(user=therapist, unit=elsewhere, role=StaffRole.THERAPIST)
    StaffMembership.objects.create(user=supervisor, unit=elsewhere, role=StaffRole.SUPERVISOR)
    supervision_start(
        elsewhere,
        supervisor=supervisor,
        supervisee=therapist,
        review_messages=False,
        by=unit_admin,
    )
    assert sorted(Supervision.objects.values_list("unit__name", flat=True)) == [
        "Vårdcentralen Ekholmen",
        "Vårdcentralen Lambohov",
    ]


def test_choices_offer_only_the_units_therapists_and_supervisors(
    unit, unit_admin_client, unit_url, therapist, colleague, supervisor, outsider
):
    closed = factories.staff_member(unit, StaffRole.THERAPIST, is_active=False)
    form = unit_admin_client.get(unit_url).context["supervision_form"]
    assert closed not in form.fields["supervisee"].queryset
    assert list(form.fields["supervisee"].queryset) == [colleague, therapist]
    assert list(form.fields["supervisor"].queryset) == [supervisor]


def test_the_same_supervision_posted_twice_is_one_row(
    unit_admin_client, unit_url, therapist, supervisor
):
    data = {
        "form": "supervision",
        "supervisee": therapist.pk,
        "supervisor": supervisor.pk,
        "submission": "0d9a3d5e-8a0b-4a5e-9d55-0c2b0e7f6a11",
    }
    first = unit_admin_client.post(unit_url, data)
    second = unit_admin_client.post(unit_url, data)
    assert (first.status_code, second.status_code) == (302, 302)
    assert Supervision.objects.count() == 1


def test_messages_are_held_only_at_the_unit_of_the_supervision(
    unit, unit_admin, therapist, supervisor, patient, otto_at_lambohov
):
    other = otto_at_lambohov
    supervision_start(
        unit, supervisor=supervisor, supervisee=therapist, review_messages=True, by=unit_admin
    )
    here = messaging.thread_start(patient, therapist, "Vecka 2", "Bra jobbat.")
    there = messaging.thread_start(other, therapist, "Vecka 2", "Bra jobbat.")
    assert here.messages.get().held_for_review is True
    assert there.messages.get().held_for_review is False


def test_a_supervision_ends_only_when_no_reply_waits_for_the_supervisor(
    unit, unit_admin, unit_admin_client, unit_url, therapist, supervisor, patient
):
    supervision = supervision_start(
        unit, supervisor=supervisor, supervisee=therapist, review_messages=True, by=unit_admin
    )
    thread = messaging.thread_start(patient, therapist, "Vecka 2", "Bra jobbat.")
    page = unit_admin_client.post(unit_url, {"form": "end", "id": supervision.pk}, follow=True)
    assert (
        "1 reply by Tove Terapeut is waiting for the supervisor. It must be read and sent "
        "before the supervision ends." in page.text
    )
    messaging.message_release(thread.messages.get(), supervisor)
    page = unit_admin_client.post(unit_url, {"form": "end", "id": supervision.pk}, follow=True)
    assert "The supervision has ended." in page.text
    supervision.refresh_from_db()
    assert (supervision.ended_on, supervision.ended_by) == (timezone.localdate(), unit_admin)
    assert list(patients_for_staff(supervisor)) == []
    assert Message.objects.filter(held_for_review=True).count() == 0


def test_a_supervision_at_another_unit_cannot_be_ended_here(
    unit, unit_admin_client, unit_url, therapist, supervisor
):
    elsewhere = factories.CareUnitFactory(region=unit.region, name="Vårdcentralen Lambohov")
    head = factories.staff_member(elsewhere, StaffRole.UNIT_ADMIN)
    StaffMembership.objects.create(user=therapist, unit=elsewhere, role=StaffRole.THERAPIST)
    StaffMembership.objects.create(user=supervisor, unit=elsewhere, role=StaffRole.SUPERVISOR)
    supervision = supervision_start(
        elsewhere, supervisor=supervisor, supervisee=therapist, review_messages=False, by=head
    )
    answer = unit_admin_client.post(unit_url, {"form": "end", "id": supervision.pk})
    assert answer.status_code == 404
    supervision_end(supervision, by=head)
    supervision.refresh_from_db()
    assert supervision.ended_by == head


@pytest.mark.parametrize("people", list_rows(1, 3))
def test_unit_page_query_count_is_fixed(
    unit, unit_admin, enrollment, django_assert_num_queries, people
):
    client = verified_client(unit_admin)
    program = enrollment.program_version.program
    Offering.objects.create(unit=unit, program=program)
    for _ in range(people):
        person = factories.staff_member(unit, StaffRole.THERAPIST, password=None)  # no hashing
        log_access(unit_admin, "change", unit=unit, obj=person, detail="role given: therapist")
        StaffAbsence.objects.create(
            staff=person, starts_on=timezone.localdate(), ends_on=timezone.localdate()
        )
        for course in (None, program):
            Training.objects.create(
                staff=person, program=course, completed_on=timezone.localdate()
            )
    with django_assert_num_queries(20):
        page = client.get(reverse("organisations:unit", args=[unit.pk]))
    assert len(page.context["staff"]) == people + 2  # the unit head and the therapist
    assert len(page.context["staff_changes"]) == min(people, 20)  # the latest twenty


def test_a_supervisor_opens_no_patient_of_the_therapist_at_another_unit(
    unit, unit_admin, therapist, supervisor, patient, otto_at_lambohov
):
    other = otto_at_lambohov
    supervision_start(
        unit, supervisor=supervisor, supervisee=therapist, review_messages=False, by=unit_admin
    )
    boss = verified_client(supervisor)
    here = boss.get(reverse("patients:patient_detail", args=[patient.pk]))
    there = boss.get(reverse("patients:patient_detail", args=[other.pk]))
    assert (here.status_code, there.status_code) == (200, 404)
    entries = AccessLogEntry.objects.filter(actor=supervisor).order_by("at")
    assert [(entry.patient_id, entry.action, entry.actor_role) for entry in entries] == [
        (patient.pk, "read", "Supervisor of Tove Terapeut"),
        (other.pk, "denied", ""),
    ]


def test_a_supervised_therapist_covering_a_colleague_is_still_read_first(
    unit, unit_admin, therapist, colleague, supervisor
):
    """Tove covers for Kalle; her supervision at the unit holds what she writes to his
    patient, though the patient is not hers."""
    supervision_start(
        unit, supervisor=supervisor, supervisee=therapist, review_messages=True, by=unit_admin
    )
    today = timezone.localdate()
    StaffAbsence.objects.create(staff=colleague, starts_on=today, ends_on=today, cover=therapist)
    kalles = factories.PatientFactory(given_name="Kim")
    factories.care_relationship(kalles, colleague, unit)
    thread = messaging.thread_start(kalles, therapist, "Vecka 3", "Jag täcker för Kalle i dag.")
    assert thread.messages.get().held_for_review is True


def test_ending_twice_or_with_a_wrong_id_is_no_error(
    unit, unit_admin, unit_admin_client, unit_url, therapist, supervisor
):
    supervision = supervision_start(
        unit, supervisor=supervisor, supervisee=therapist, review_messages=False, by=unit_admin
    )
    for _ in range(2):
        page = unit_admin_client.post(unit_url, {"form": "end", "id": supervision.pk}, follow=True)
        assert "The supervision has ended." in page.text
    for wrong in ("abc", "²", "", "99999"):
        answer = unit_admin_client.post(unit_url, {"form": "end", "id": wrong})
        assert answer.status_code == 404


def test_a_supervision_the_region_arranged_for_every_unit_is_shown_but_not_ended_here(
    unit_admin_client, unit_url, therapist, supervisor
):
    Supervision.objects.create(supervisor=supervisor, supervisee=therapist)
    page = unit_admin_client.get(unit_url)
    assert [s.supervisor for s in page.context["supervisions"]] == [supervisor]
    assert "at every unit, arranged by the region" in page.text
    assert "End the supervision" not in page.text


def test_the_unit_head_sets_the_time_to_answer_messages(unit, unit_admin_client, unit_url):
    refused = unit_admin_client.post(unit_url, {"form": "reply_time", "reply_within_days": "0"})
    assert refused.context["reply_time_form"].errors == {
        "reply_within_days": ["Ensure this value is greater than or equal to 1."]
    }
    assert 'action="#reply-time"' in refused.text
    saved = unit_admin_client.post(
        unit_url, {"form": "reply_time", "reply_within_days": "3"}, follow=True
    )
    assert "The time to answer is saved." in saved.text
    unit.refresh_from_db()
    assert unit.reply_within_days == 3


def test_the_unit_page_lists_who_changed_which_role_or_account_and_when(
    unit, unit_admin, django_capture_on_commit_callbacks
):
    """The rules on assigning access rights ask that it is documented who gave whom which
    role, and when: kept in the append-only access log, listed on the unit's page."""
    from ikbt.audit.models import AccessLogEntry
    from ikbt.organisations.actions import staff_add

    with django_capture_on_commit_callbacks(execute=True):
        colleague, _created = staff_add(
            unit,
            email="kalle@region.se",
            role=StaffRole.THERAPIST,
            first_name="Kalle",
            last_name="Karlsson",
            profession="psychologist",
            by=unit_admin,
        )
        membership = StaffMembership.objects.get(user=colleague, unit=unit)
        staff_role_remove(membership, by=unit_admin)
    entries = AccessLogEntry.objects.filter(
        object_type="accounts.User", object_id=colleague.pk
    ).order_by("pk")
    assert [(entry.actor, entry.unit, entry.action, entry.detail) for entry in entries] == [
        (unit_admin, unit, "change", "role given: therapist"),
        (unit_admin, unit, "change", "role taken away: therapist"),
    ]
    page = verified_client(unit_admin).get(reverse("organisations:unit", args=[unit.pk]))
    rows = [(change.colleague, change.detail_shown) for change in page.context["staff_changes"]]
    assert rows == [
        ("Kalle Karlsson", "the role therapist taken away"),
        ("Kalle Karlsson", "given the role therapist"),
    ]
    assert "Changes to roles and accounts" in page.text
