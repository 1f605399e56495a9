import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from ikbt import factories
from ikbt.audit.actions import Action, log_access
from ikbt.audit.models import AccessLogEntry

MINE = reverse("audit:my_access_log")
REVIEW = reverse("audit:review")


def test_patient_sees_who_read_their_data(therapist_client, patient_client, patient):
    therapist_client.get(reverse("patients:patient_detail", args=[patient.pk]))

    response = patient_client.get(MINE)

    rows = list(response.context["page"].object_list)
    assert [(row.actor_name, row.unit.name, row.action) for row in rows] == [
        ("Tove Terapeut", "Vårdcentralen Ekholmen", "read")
    ]
    assert "Tove Terapeut" in response.text
    assert "Responsible therapist" in response.text


def test_patient_sees_only_their_own_entries(patient_client, therapist, unit, patient):
    other = factories.PatientFactory()
    log_access(therapist, Action.READ, patient=other, unit=unit)
    log_access(patient.user, Action.SIGN_IN, patient=patient)

    response = patient_client.get(MINE)

    assert list(response.context["page"].object_list) == []
    assert "Nobody in health care has looked at your data" in response.text


def test_my_access_log_needs_a_signed_in_patient(client, therapist_client, db):
    assert client.get(MINE).url.startswith(reverse("accounts:patient_sign_in"))
    assert therapist_client.get(MINE).status_code == 404


@pytest.mark.parametrize("entries", [1, 30])
def test_my_access_log_query_count_is_fixed(
    patient_client, therapist, unit, patient, entries, django_assert_num_queries
):
    for _ in range(entries):
        log_access(therapist, Action.READ, patient=patient, unit=unit)
    patient_client.get(reverse("core:home"))

    with django_assert_num_queries(5):
        response = patient_client.get(MINE)

    assert len(response.context["page"].object_list) == entries


def test_review_is_for_unit_administrators_only(therapist_client, db):
    assert therapist_client.get(REVIEW).status_code == 404


def test_review_shows_the_units_entries_and_logs_the_review(
    unit_admin_client, unit_admin, therapist, outsider, other_region_unit, patient, unit
):
    log_access(therapist, Action.READ, patient=patient, unit=unit)
    log_access(outsider, Action.READ, unit=other_region_unit)

    response = unit_admin_client.get(REVIEW)

    shown = list(response.context["page"].object_list)
    assert [(row.actor, row.unit) for row in shown] == [(therapist, unit)]
    review = AccessLogEntry.objects.filter(action=Action.LOG_REVIEW).get()
    assert (review.actor, review.unit) == (unit_admin, unit)


def test_review_filters(unit_admin_client, therapist, colleague, patient, unit):
    log_access(therapist, Action.READ, patient=patient, unit=unit)
    log_access(colleague, Action.DENIED, unit=unit)
    log_access(therapist, Action.CHANGE, patient=patient, unit=unit)
    long_ago = timezone.now() - datetime.timedelta(days=40)
    AccessLogEntry.objects.create(
        at=long_ago, actor=therapist, actor_name="Tove Terapeut", unit=unit, action=Action.READ
    )

    def shown(**filters):
        page = unit_admin_client.get(REVIEW, filters).context["page"]
        return sorted((row.actor.username, row.action) for row in page.object_list)

    assert shown(staff=colleague.pk) == [("colleague", "denied")]
    assert shown(action="change") == [("therapist", "change")]
    assert shown(personal_number=patient.personal_number) == [
        ("therapist", "change"),
        ("therapist", "read"),
    ]
    day = timezone.localdate(long_ago).isoformat()
    assert shown(date_from=day, date_to=day) == [("therapist", "read")]


def test_bad_personal_number_is_explained_and_kept(unit_admin_client, unit):
    response = unit_admin_client.get(REVIEW, {"personal_number": "19850314-1235"})

    assert "check digit" in response.text
    assert 'value="19850314-1235"' in response.text


def test_random_sample_has_the_size_asked_for(unit_admin_client, therapist, patient, unit):
    for _ in range(12):
        log_access(therapist, Action.READ, patient=patient, unit=unit)

    response = unit_admin_client.get(REVIEW, {"sample": 5, "staff": therapist.pk})

    sample = response.context["sample"]
    assert len(sample) == 5
    assert len({row.pk for row in sample}) == 5
    review = AccessLogEntry.objects.filter(action=Action.LOG_REVIEW).get()
    assert f"staff={therapist.pk}" in review.detail
    assert "sample=5" in review.detail


@pytest.mark.parametrize("entries", [1, 30])
def test_review_query_count_is_fixed(
    unit_admin_client, therapist, patient, unit, entries, django_assert_num_queries
):
    for _ in range(entries):
        log_access(therapist, Action.READ, patient=patient, unit=unit)
    unit_admin_client.get(reverse("core:home"))

    with django_assert_num_queries(10):
        response = unit_admin_client.get(REVIEW)

    assert len(response.context["page"].object_list) == entries
