import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from ikbt import factories
from ikbt.audit.actions import Action, log_access
from ikbt.audit.models import AccessLogEntry
from ikbt.audit.views import ENTRIES_PER_PAGE
from ikbt.conftest import list_rows
from ikbt.messaging.models import Thread
from ikbt.organisations.models import StaffMembership, StaffRole

MINE = reverse("audit:my_access_log")
REVIEW = reverse("audit:review")


def test_patient_sees_who_read_their_data(therapist_client, patient_client, patient):
    therapist_client.get(reverse("patients:patient_detail", args=[patient.pk]))

    response = patient_client.get(MINE)

    rows = response.context["rows"]
    assert [(row["actor_name"], row["unit__name"], row["action"]) for row in rows] == [
        ("Tove Terapeut", "Vårdcentralen Ekholmen", "read")
    ]
    assert "Tove Terapeut" in response.text
    assert "Vårdcentralen Ekholmen" in response.text
    assert "Responsible therapist" in response.text


def test_patient_sees_what_kind_of_record_was_read_in_her_language(
    patient_client, therapist, unit, patient
):
    thread = Thread.objects.create(patient=patient, subject="Sömn")
    log_access(therapist, Action.READ, patient=patient, unit=unit, obj=thread)
    log_access(therapist, Action.CHANGE, patient=patient, unit=unit)

    english = patient_client.get(MINE, HTTP_ACCEPT_LANGUAGE="en").text
    assert ">Read: message thread</td>" in english
    assert ">Changed</td>" in english  # no record named: the action alone
    swedish = patient_client.get(MINE, HTTP_ACCEPT_LANGUAGE="sv").text
    assert ">Läst: meddelandetråd</td>" in swedish


def test_the_log_names_the_role_each_person_read_in_and_in_swedish(
    therapist_client, unit_admin_client, patient_client, patient, enrollment, settings
):
    """The unit head reading the patient list is the unit's administrator, not the
    responsible therapist whose relationship the row is; pages in English write the same
    Swedish role as the platform's default language."""
    settings.LANGUAGE_CODE = "sv"
    english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    therapist_client.get(reverse("patients:staff_home"), **english)
    therapist_client.get(reverse("treatment:caseload"), **english)
    unit_admin_client.get(reverse("patients:staff_home"), **english)
    unit_admin_client.get(reverse("patients:patient_detail", args=[patient.pk]), **english)

    roles = {
        (who, detail): role
        for who, detail, role in AccessLogEntry.objects.filter(patient=patient).values_list(
            "actor__username", "detail", "actor_role"
        )
    }
    assert roles == {
        ("therapist", "patient list"): "Ansvarig behandlare",
        ("therapist", "caseload"): "Ansvarig behandlare",
        ("unitadmin", "patient list"): "Enhetsadministratör",
        ("unitadmin", "patient details"): "Enhetsadministratör",
    }
    page = patient_client.get(MINE, HTTP_ACCEPT_LANGUAGE="sv").text
    assert "Enhetsadministratör" in page and "Unit administrator" not in page
    # A patient reading in English reads the roles in English, names as recorded.
    page = patient_client.get(MINE, **english).text
    assert "Unit administrator" in page and "Responsible therapist" in page
    assert "Enhetsadministratör" not in page


def test_a_role_naming_a_colleague_is_shown_in_the_readers_language(settings):
    from django.utils import translation

    from ikbt.audit.actions import COVERING_FOR, recorded, role_shown

    settings.LANGUAGE_CODE = "sv"
    with translation.override("sv"):
        frozen = recorded(translation.gettext(COVERING_FOR) % {"name": "Tove Terapeut"})
    assert frozen != "Covering for Tove Terapeut"  # the log keeps Swedish
    with translation.override("en"):
        assert role_shown(frozen) == "Covering for Tove Terapeut"
        assert role_shown("Behandlare, Enhetsadministratör") == "Therapist, Unit administrator"
        assert role_shown("En roll som inte finns") == "En roll som inte finns"


def test_patient_sees_the_time_in_swedish_local_time(patient_client, therapist, patient, unit):
    summer_utc = datetime.datetime(2024, 7, 1, 10, 0, tzinfo=datetime.UTC)
    _entry_at(summer_utc, therapist, unit, patient=patient)

    response = patient_client.get(MINE)

    assert '<time datetime="2024-07-01T12:00:00+02:00">2024-07-01 12:00</time>' in response.text


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


@pytest.mark.parametrize("entries", list_rows(1, 30))
def test_my_access_log_query_count_is_fixed(
    patient_client, therapist, unit, patient, entries, django_assert_num_queries
):
    for _ in range(entries):
        log_access(therapist, Action.READ, patient=patient, unit=unit)
    patient_client.get(reverse("core:home"))

    with django_assert_num_queries(6):
        response = patient_client.get(MINE)

    assert sum(row["times"] for row in response.context["rows"]) == entries


def test_the_same_read_on_the_same_day_is_one_row_with_how_many_times(
    patient_client, therapist, unit, patient
):
    """A patient list opened twelve times is one line a day, not twelve."""
    morning = datetime.datetime(2026, 3, 2, 8, 5, tzinfo=datetime.UTC)  # 09:05 in Stockholm
    for minutes in range(0, 120, 10):
        _entry_at(morning + datetime.timedelta(minutes=minutes), therapist, unit, patient=patient)
    _entry_at(morning + datetime.timedelta(days=1), therapist, unit, patient=patient)

    response = patient_client.get(MINE)

    assert [row["times"] for row in response.context["rows"]] == [1, 12]
    assert "12 times" in response.text
    assert '<time datetime="2026-03-02T09:05:00+01:00">2026-03-02 09:05</time>–' in response.text
    # Twice in the same minute: the minute once, not "09:05–09:05".
    _entry_at(morning + datetime.timedelta(days=2), therapist, unit, patient=patient)
    _entry_at(morning + datetime.timedelta(days=2, seconds=20), therapist, unit, patient=patient)
    page = patient_client.get(MINE).text
    assert '<time datetime="2026-03-04T09:05:00+01:00">2026-03-04 09:05</time><br>' in page


def _entry_at(at, actor, unit, patient=None, action=Action.READ) -> AccessLogEntry:
    return AccessLogEntry.objects.create(
        at=at,
        actor=actor,
        actor_name=actor.get_full_name(),
        patient=patient,
        unit=unit,
        action=action,
    )


def test_review_is_for_unit_administrators_only(therapist_client, outsider_client, patient_client):
    assert therapist_client.get(REVIEW).status_code == 404
    assert outsider_client.get(REVIEW).status_code == 404
    assert patient_client.get(REVIEW).status_code == 404
    assert AccessLogEntry.objects.filter(action=Action.LOG_REVIEW).count() == 0


def test_review_shows_the_units_entries_and_logs_the_review(
    unit_admin_client, unit_admin, therapist, outsider, other_region_unit, patient, unit
):
    log_access(therapist, Action.READ, patient=patient, unit=unit)
    log_access(outsider, Action.READ, unit=other_region_unit)

    response = unit_admin_client.get(REVIEW)

    shown = list(response.context["page"].object_list)
    assert [(row.actor, row.unit) for row in shown] == [(therapist, unit)]
    # On a phone each entry is a card, every value under its column's name.
    for column in ("When", "Staff member", "Patient", "Unit", "Action", "What"):
        assert response.text.count(f'<td data-label="{column}">') == 1, column
    review = AccessLogEntry.objects.filter(action=Action.LOG_REVIEW).get()
    assert (review.actor, review.unit) == (unit_admin, unit)


def test_review_shows_refused_attempts_by_the_units_staff_and_on_its_patients(
    unit_admin_client, therapist, colleague, outsider, patient, unit, other_region_unit
):
    stranger = factories.PatientFactory()
    factories.care_relationship(stranger, outsider, other_region_unit)
    log_access(therapist, Action.DENIED, patient=stranger, detail="patient details")
    log_access(outsider, Action.DENIED, patient=patient, detail="treatment record")
    log_access(outsider, Action.DENIED, patient=stranger, detail="messages")  # not ours
    page = unit_admin_client.get(REVIEW, {"action": "denied"})
    shown = {(row.actor, row.patient, row.detail) for row in page.context["page"].object_list}
    assert shown == {
        (therapist, stranger, "patient details"),
        (outsider, patient, "treatment record"),
    }
    # A patient of another unit is not named: not even that she exists is the unit's to learn.
    assert "A patient at another unit" in page.text
    assert stranger.full_name not in page.text and patient.full_name in page.text
    assert stranger.personal_number_display not in page.text
    found = unit_admin_client.get(REVIEW, {"personal_number": stranger.personal_number})
    assert list(found.context["page"].object_list) == []


def test_review_shows_each_role_in_the_reviewers_language(
    unit_admin_client, therapist, patient, unit, settings
):
    settings.LANGUAGE_CODE = "sv"  # as in production: the log keeps roles in Swedish
    log_access(therapist, Action.READ, patient=patient, unit=unit)
    assert AccessLogEntry.objects.get(actor=therapist).actor_role == "Behandlare"

    english = unit_admin_client.get(REVIEW, HTTP_ACCEPT_LANGUAGE="en")
    assert '<span class="helptext">Therapist</span>' in english.text
    swedish = unit_admin_client.get(REVIEW, HTTP_ACCEPT_LANGUAGE="sv")
    assert '<span class="helptext">Behandlare</span>' in swedish.text


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


@pytest.mark.parametrize("entries", list_rows(1, 30))
def test_review_query_count_is_fixed(
    unit_admin_client, therapist, patient, unit, entries, django_assert_num_queries
):
    for _ in range(entries):
        log_access(therapist, Action.READ, patient=patient, unit=unit)
    unit_admin_client.get(reverse("core:home"))

    with django_assert_num_queries(10):
        response = unit_admin_client.get(REVIEW)

    assert len(response.context["page"].object_list) == min(entries, ENTRIES_PER_PAGE)


def test_review_period_is_whole_days_in_stockholm(unit_admin_client, therapist, unit):
    late_on_the_9th = datetime.datetime(2024, 3, 9, 22, 30, tzinfo=datetime.UTC)  # 23:30 CET
    early_on_the_10th = datetime.datetime(2024, 3, 9, 23, 30, tzinfo=datetime.UTC)  # 00:30 CET
    _entry_at(late_on_the_9th, therapist, unit)
    _entry_at(early_on_the_10th, therapist, unit)

    def shown(**filters):
        page = unit_admin_client.get(REVIEW, filters).context["page"]
        return [row.at for row in page.object_list]

    assert shown(date_from="2024-03-09", date_to="2024-03-09") == [late_on_the_9th]
    assert shown(date_from="2024-03-10", date_to="2024-03-10") == [early_on_the_10th]
    assert shown(date_to="2024-03-10") == [early_on_the_10th, late_on_the_9th]


def test_review_end_date_before_start_date_is_explained(unit_admin_client, unit):
    response = unit_admin_client.get(REVIEW, {"date_from": "2024-03-10", "date_to": "2024-03-09"})

    assert response.context["form"].errors == {
        "date_to": ["The end date is before the start date."]
    }
    review = AccessLogEntry.objects.filter(action=Action.LOG_REVIEW).get()
    assert review.detail == "invalid filters: date_to"


def test_review_row_names_the_patient_by_id_not_by_number(
    unit_admin_client, unit_admin, patient, unit
):
    unit_admin_client.get(REVIEW, {"personal_number": patient.personal_number_display})

    review = AccessLogEntry.objects.filter(action=Action.LOG_REVIEW).get()
    assert review.detail == f"patient={patient.pk}"
    assert review.actor_role == "Unit administrator"


def test_review_covers_every_unit_administered(
    unit_admin_client, unit_admin, therapist, outsider, unit, other_region_unit
):
    StaffMembership.objects.create(
        user=unit_admin, unit=other_region_unit, role=StaffRole.UNIT_ADMIN
    )
    log_access(therapist, Action.READ, unit=unit)
    log_access(outsider, Action.READ, unit=other_region_unit)

    response = unit_admin_client.get(REVIEW)

    shown = [row.unit for row in response.context["page"].object_list]
    assert sorted(shown, key=lambda unit: unit.pk) == [unit, other_region_unit]
    review = AccessLogEntry.objects.filter(action=Action.LOG_REVIEW).get()
    assert review.unit == unit  # the first by name: Ekholmen before Varberga


@pytest.mark.parametrize("entries", list_rows(1, 30))
def test_review_sample_query_count_is_fixed(
    unit_admin_client, therapist, patient, unit, entries, django_assert_num_queries
):
    for _ in range(entries):
        log_access(therapist, Action.READ, patient=patient, unit=unit)
    unit_admin_client.get(reverse("core:home"))

    with django_assert_num_queries(10):
        response = unit_admin_client.get(REVIEW, {"sample": 20})

    assert len(response.context["sample"]) == min(entries, 20)
