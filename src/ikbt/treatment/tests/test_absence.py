"""A message sent while the responsible therapist is away reaches the colleague covering."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from ikbt import factories
from ikbt.audit.models import AccessLogEntry
from ikbt.conftest import verified_client
from ikbt.messaging import actions as messaging
from ikbt.organisations.actions import AbsenceError, absence_register
from ikbt.organisations.models import StaffAbsence, StaffMembership, StaffRole, Supervision


def away_today(client, cover=None):
    today = timezone.localdate()
    return client.post(
        reverse("treatment:absences"),
        {
            "starts_on": today.isoformat(),
            "ends_on": (today + datetime.timedelta(days=7)).isoformat(),
            "cover": cover.pk if cover else "",
        },
    )


def test_a_message_while_the_therapist_is_away_goes_to_the_cover(
    therapist_client,
    colleague,
    colleague_client,
    patient,
    enrollment,
    django_capture_on_commit_callbacks,
):
    record = reverse("treatment:record", args=[enrollment.pk])
    assert colleague_client.get(record).status_code == 404  # no care relationship yet
    away_today(therapist_client, colleague)

    with django_capture_on_commit_callbacks(execute=True):
        thread = messaging.thread_start(patient, patient.user, "Fråga", "Hur gör jag?")
    assert [message.to for message in mail.outbox] == [[colleague.email]]

    caseload = colleague_client.get(reverse("treatment:caseload"))
    assert [row["enrollment"] for row in caseload.context["rows"]] == [enrollment]
    assert colleague_client.get(record).status_code == 200
    read = AccessLogEntry.objects.get(actor=colleague, action="read", detail="treatment record")
    assert read.actor_role == "Covering for Tove Terapeut"
    colleague_client.post(
        reverse("messaging:staff_thread", args=[thread.pk]),
        {"body": "Jag täcker upp: börja så här."},
    )
    assert thread.messages.filter(sender=colleague).exists()


def test_without_a_named_cover_the_unit_administrators_are_told(
    therapist_client, unit_admin, patient, enrollment, django_capture_on_commit_callbacks
):
    away_today(therapist_client)
    with django_capture_on_commit_callbacks(execute=True):
        messaging.thread_start(patient, patient.user, "Fråga", "Hej")
    assert [message.to for message in mail.outbox] == [[unit_admin.email]]


def test_cover_must_be_a_colleague_of_the_unit(therapist_client, outsider):
    page = away_today(therapist_client, outsider)
    assert "Select a valid choice" in page.text


def test_only_a_therapist_of_the_unit_can_cover(therapist_client, therapist, unit, enrollment):
    """Covering opens the patients' records: a researcher, author or register officer of the
    same unit is not offered, cannot be posted, and an absence naming one (made before this
    rule) opens nothing."""
    researcher = factories.staff_member(unit, StaffRole.RESEARCHER, username="forskare")
    form = therapist_client.get(reverse("treatment:absences")).context["form"]
    assert researcher not in form.fields["cover"].queryset
    assert "Select a valid choice" in away_today(therapist_client, researcher).text
    today = timezone.localdate()
    with pytest.raises(AbsenceError, match="must be a therapist"):
        absence_register(therapist, starts_on=today, ends_on=today, cover=researcher)

    StaffAbsence.objects.create(staff=therapist, starts_on=today, ends_on=today, cover=researcher)
    record = reverse("treatment:record", args=[enrollment.pk])
    assert verified_client(researcher).get(record).status_code == 404


def test_a_cover_who_cannot_open_the_record_is_not_sent_the_notice(
    therapist, unit, unit_admin, patient, enrollment, django_capture_on_commit_callbacks
):
    """A cover named before only therapists could cover, or a therapist only at another
    unit: the notice goes to the administrators of the patient's unit, who can act on it."""
    elsewhere = factories.CareUnitFactory(region=unit.region, name="Vårdcentralen Ryd")
    for cover in (
        factories.staff_member(unit, StaffRole.RESEARCHER, username="forskare"),
        factories.staff_member(elsewhere, StaffRole.THERAPIST, username="ryd"),
    ):
        StaffAbsence.objects.all().delete()
        mail.outbox.clear()
        today = timezone.localdate()
        StaffAbsence.objects.create(staff=therapist, starts_on=today, ends_on=today, cover=cover)
        with django_capture_on_commit_callbacks(execute=True):
            messaging.thread_start(patient, patient.user, "Fråga", "Hej")
        assert [message.to for message in mail.outbox] == [[unit_admin.email]], cover.username


def test_a_cover_who_also_supervises_is_logged_as_supervisor_where_covering_gives_no_access(
    therapist, unit, patient
):
    """The cover is a therapist at the patient's unit only. The absent therapist's patient at
    another unit is open to her as supervisor, and the access log says so."""
    elsewhere = factories.CareUnitFactory(region=unit.region, name="Vårdcentralen Ryd")
    StaffMembership.objects.create(user=therapist, unit=elsewhere, role=StaffRole.THERAPIST)
    other = factories.PatientFactory(given_name="Olle", family_name="Annan")
    factories.care_relationship(other, therapist, elsewhere)
    cover = factories.staff_member(unit, StaffRole.THERAPIST, username="cover")
    Supervision.objects.create(supervisor=cover, supervisee=therapist)
    today = timezone.localdate()
    StaffAbsence.objects.create(staff=therapist, starts_on=today, ends_on=today, cover=cover)

    client = verified_client(cover)
    for someone in (patient, other):
        assert client.get(reverse("patients:patient_detail", args=[someone.pk])).status_code == 200
    roles = dict(
        AccessLogEntry.objects.filter(actor=cover, detail="patient details").values_list(
            "patient_id", "actor_role"
        )
    )
    assert roles == {
        patient.pk: "Covering for Tove Terapeut",
        other.pk: "Supervisor of Tove Terapeut",
    }
    client.get(reverse("patients:staff_home"))
    listed = dict(
        AccessLogEntry.objects.filter(actor=cover, detail="patient list").values_list(
            "patient_id", "actor_role"
        )
    )
    assert listed == roles


def test_a_unit_administrator_marks_a_therapist_away_and_names_the_cover(
    unit_admin, therapist, colleague, colleague_client, enrollment
):
    """A sudden illness: the unit head registers it, and the colleague sees the patients."""
    record = reverse("treatment:record", args=[enrollment.pk])
    assert colleague_client.get(record).status_code == 404
    head = verified_client(unit_admin)
    form = head.get(reverse("treatment:absences")).context["form"]
    assert set(form.fields["staff"].queryset) == {therapist, colleague}
    today = timezone.localdate()
    answer = head.post(
        reverse("treatment:absences"),
        {
            "staff": therapist.pk,
            "starts_on": today.isoformat(),
            "ends_on": today.isoformat(),
            "cover": colleague.pk,
        },
    )
    assert answer.status_code == 302
    absence = StaffAbsence.objects.get()
    assert (absence.staff, absence.cover, absence.registered_by) == (
        therapist,
        colleague,
        unit_admin,
    )
    assert colleague_client.get(record).status_code == 200
    page = head.get(reverse("treatment:absences")).text
    assert "Absences at your units" in page and "Tove Terapeut" in page
    mine = verified_client(therapist).get(reverse("treatment:absences")).text
    assert f"registered by {unit_admin.get_full_name()}" in mine  # she sees who did it
    # A therapist marks only herself away, and is not offered as her own cover.
    form = colleague_client.get(reverse("treatment:absences")).context["form"]
    assert "staff" not in form.fields
    assert colleague not in form.fields["cover"].queryset


def test_back_early_the_cover_no_longer_sees_the_patients_and_a_planned_absence_is_cancelled(
    therapist, therapist_client, colleague, colleague_client, enrollment
):
    today = timezone.localdate()
    record = reverse("treatment:record", args=[enrollment.pk])
    ongoing = absence_register(
        therapist,
        starts_on=today - datetime.timedelta(days=3),
        ends_on=today + datetime.timedelta(days=4),
        cover=colleague,
    )
    planned = absence_register(
        therapist,
        starts_on=today + datetime.timedelta(days=20),
        ends_on=today + datetime.timedelta(days=30),
        cover=colleague,
    )
    assert colleague_client.get(record).status_code == 200
    page = therapist_client.get(reverse("treatment:absences")).text
    # Each asks first, saying what it does.
    assert f'name="end" value="{ongoing.pk}" class="danger">Yes, end it: the cover' in page
    assert f'name="end" value="{planned.pk}" class="danger">Yes, cancel it' in page
    assert "<summary>Back today: end the absence</summary>" in page
    assert "<summary>Cancel the absence</summary>" in page

    # A colleague cannot end someone else's absence; it is as if there were none.
    refused = colleague_client.post(
        reverse("treatment:absences"), {"end": ongoing.pk}, follow=True
    )
    assert "The absence is already over." in refused.text
    ongoing.refresh_from_db()
    assert ongoing.ends_on == today + datetime.timedelta(days=4)

    back = therapist_client.post(reverse("treatment:absences"), {"end": ongoing.pk}, follow=True)
    assert "The absence is over: from today the cover no longer sees the patients." in back.text
    ongoing.refresh_from_db()
    assert ongoing.ends_on == today - datetime.timedelta(days=1)  # kept: who covered, when
    assert colleague_client.get(record).status_code == 404
    again = therapist_client.post(reverse("treatment:absences"), {"end": ongoing.pk}, follow=True)
    assert "The absence is already over." in again.text

    cancelled = therapist_client.post(
        reverse("treatment:absences"), {"end": planned.pk}, follow=True
    )
    assert "The absence is cancelled." in cancelled.text
    assert not StaffAbsence.objects.filter(pk=planned.pk).exists()


def test_the_unit_head_ends_the_absence_of_a_therapist_of_her_unit(
    therapist, unit_admin, unit_admin_client
):
    today = timezone.localdate()
    absence = absence_register(therapist, starts_on=today, ends_on=today, cover=None)
    page = unit_admin_client.post(reverse("treatment:absences"), {"end": absence.pk}, follow=True)
    assert "The absence is cancelled." in page.text  # it started today: nothing to keep
    assert not StaffAbsence.objects.exists()


@pytest.mark.parametrize("named_cover", [True, False])
def test_a_risk_flag_while_the_therapist_is_away_reaches_whoever_stands_in(
    named_cover,
    therapist_client,
    colleague,
    unit_admin,
    patient,
    enrollment,
    django_capture_on_commit_callbacks,
):
    from ikbt.measurement.actions import current_version, response_start, response_submit
    from ikbt.measurement.models import RiskFlag

    away_today(therapist_client, colleague if named_cover else None)
    with django_capture_on_commit_callbacks(execute=True):
        response_submit(response_start(patient, current_version("PHQ-9")), [1] * 8 + [2])
    assert RiskFlag.objects.get().notified_at is not None
    told = colleague if named_cover else unit_admin
    assert [message.to for message in mail.outbox] == [[told.email]]


def test_a_unit_head_of_two_units_sees_where_each_cover_works_and_why_one_cannot(
    unit, unit_admin, therapist, colleague
):
    elsewhere = factories.CareUnitFactory(region=unit.region, name="Vårdcentralen Lambohov")
    StaffMembership.objects.create(user=unit_admin, unit=elsewhere, role=StaffRole.UNIT_ADMIN)
    pontus = factories.staff_member(elsewhere, StaffRole.THERAPIST, first_name="Pontus")
    head = verified_client(unit_admin)
    page = head.get(reverse("treatment:absences"))
    assert f"{pontus.get_full_name()} (Vårdcentralen Lambohov)</option>" in page.text
    assert f"{colleague.get_full_name()} ({unit.name})</option>" in page.text
    assert "Register an absence: yours or a therapist" in page.text
    today = timezone.localdate().isoformat()
    refused = head.post(
        reverse("treatment:absences"),
        {"staff": therapist.pk, "starts_on": today, "ends_on": today, "cover": pontus.pk},
    )
    assert (
        f"The colleague covering must be a therapist at a unit where {therapist.get_full_name()}"
        " works." in refused.text
    )
    assert not StaffAbsence.objects.exists()


def test_a_unit_head_names_another_cover_for_an_absence(
    unit, unit_admin, therapist, colleague, colleague_client, enrollment
):
    """The colleague covering must stop (her own absence, an account to close): another
    cover is named without cancelling the absence."""
    today = timezone.localdate()
    absence = absence_register(
        therapist, starts_on=today, ends_on=today, cover=colleague, by=unit_admin
    )
    record = reverse("treatment:record", args=[enrollment.pk])
    assert colleague_client.get(record).status_code == 200
    head = verified_client(unit_admin)
    page = head.get(reverse("treatment:absences")).text
    assert f'name="cover_for" value="{absence.pk}"' in page
    # Refused for the one away herself, and said why.
    url = reverse("treatment:absences")
    refused = head.post(url, {"cover_for": absence.pk, "cover": therapist.pk}, follow=True)
    assert "The one who is away cannot cover. Choose a colleague." in refused.text
    answer = head.post(
        reverse("treatment:absences"), {"cover_for": absence.pk, "cover": ""}, follow=True
    )
    assert "From now on the unit&#x27;s administrators cover." in answer.text
    absence.refresh_from_db()
    assert absence.cover is None
    assert colleague_client.get(record).status_code == 404
    # Another's absence at a unit she does not head is not hers to change.
    mine = verified_client(colleague).post(
        reverse("treatment:absences"), {"cover_for": absence.pk, "cover": colleague.pk}
    )
    assert mine.status_code == 302
    absence.refresh_from_db()
    assert absence.cover is None


def test_a_reply_about_her_treatment_is_written_at_the_unit_where_it_goes_on(
    therapist, therapist_client, colleague, unit, patient, enrollment
):
    """Her therapist treated her before at another unit (still her care relationship there,
    for the follow-ups): reading and answering her messages, by the therapist or by the
    colleague covering at both units, is logged at the unit of the treatment going on."""
    elsewhere = factories.CareUnitFactory(region=unit.region, name="Vårdcentralen Lambohov")
    for someone in (therapist, colleague):
        StaffMembership.objects.create(user=someone, unit=elsewhere, role=StaffRole.THERAPIST)
    earlier = factories.care_relationship(patient, therapist, elsewhere)
    earlier.started_at = timezone.now() - datetime.timedelta(days=200)
    earlier.save(update_fields=["started_at"])
    thread = messaging.thread_start(patient, patient.user, "Fråga", "Hur gör jag?")
    page = reverse("messaging:staff_thread", args=[thread.pk])

    therapist_client.get(page)
    therapist_client.post(page, {"body": "Börja med modul 2."})
    today = timezone.localdate()
    StaffAbsence.objects.create(staff=therapist, starts_on=today, ends_on=today, cover=colleague)
    colleague_client = verified_client(colleague)
    colleague_client.get(page)
    colleague_client.post(page, {"body": "Jag täcker upp."})

    logged = AccessLogEntry.objects.filter(patient=patient, detail__startswith="message")
    assert {(entry.actor.username, entry.unit_id) for entry in logged} == {
        ("therapist", unit.pk),
        ("colleague", unit.pk),
    }
    assert {message.unit for message in thread.messages.exclude(sender=patient.user)} == {unit}
    # Paused, the treatment still goes on there.
    enrollment.status = enrollment.Status.PAUSED
    enrollment.save(update_fields=["status"])
    therapist_client.get(page)
    assert AccessLogEntry.objects.filter(actor=therapist).latest("pk").unit == unit
