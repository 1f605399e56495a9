import pytest
from django.urls import reverse

from ikbt import factories
from ikbt.audit.models import AccessLogEntry
from ikbt.conftest import list_rows, verified_client
from ikbt.intake.models import Offering, Registration
from ikbt.messaging import actions as messaging
from ikbt.organisations.models import StaffRole
from ikbt.patients.views import PATIENTS_PER_PAGE
from ikbt.programs.models import Condition, Program

Action = AccessLogEntry.Action


def detail_url(patient) -> str:
    return reverse("patients:patient_detail", args=[patient.pk])


def test_responsible_therapist_sees_the_patient_and_the_read_is_logged(
    therapist_client, therapist, patient, unit
):
    response = therapist_client.get(detail_url(patient))

    assert response.status_code == 200
    assert response.context["patient"] == patient
    assert patient.personal_number_display in response.text
    assert patient.mobile in response.text
    entry = AccessLogEntry.objects.get(action=Action.READ)
    assert (entry.actor, entry.patient, entry.unit, entry.actor_role) == (
        therapist,
        patient,
        unit,
        "Responsible therapist",
    )


@pytest.mark.parametrize("client_fixture", ["colleague_client", "outsider_client"])
def test_staff_without_care_relationship_get_404_and_the_denial_is_logged(
    request, client_fixture, patient
):
    client = request.getfixturevalue(client_fixture)

    response = client.get(detail_url(patient))

    assert response.status_code == 404
    entry = AccessLogEntry.objects.get()
    assert (entry.action, entry.patient) == (Action.DENIED, patient)
    assert patient.family_name not in response.text


def test_patient_that_does_not_exist_answers_exactly_like_one_outside_the_relationship(
    colleague_client, colleague, patient
):
    outside = colleague_client.get(detail_url(patient))
    missing = colleague_client.get(reverse("patients:patient_detail", args=[patient.pk + 999]))

    assert (missing.status_code, missing.text) == (outside.status_code, outside.text)
    denied = AccessLogEntry.objects.filter(action=Action.DENIED, actor=colleague)
    assert denied.count() == 2


def test_a_patient_cannot_open_staff_pages(patient_client, patient):
    assert patient_client.get(detail_url(patient)).status_code == 404


def test_protected_identity_hides_contact_details_from_the_therapist(therapist_client, patient):
    patient.protected_identity = True
    patient.save(update_fields=["protected_identity"])

    response = therapist_client.get(detail_url(patient))

    assert response.status_code == 200
    assert patient.mobile not in response.text
    assert patient.street_address not in response.text
    assert "protected identity" in response.text


def test_protected_identity_is_shown_to_the_unit_administrator(unit_admin_client, patient):
    patient.protected_identity = True
    patient.save(update_fields=["protected_identity"])

    response = unit_admin_client.get(detail_url(patient))

    assert response.status_code == 200
    assert patient.mobile in response.text
    assert patient.street_address in response.text


def test_guardians_are_listed(therapist_client, patient):
    factories.GuardianFactory(patient=patient, name="Lena Förälder")

    response = therapist_client.get(detail_url(patient))

    assert "Lena Förälder" in response.text


def test_staff_list_shows_only_own_patients_and_logs_each(
    therapist_client, therapist, patient, unit
):
    other = factories.PatientFactory()
    factories.care_relationship(other, factories.staff_member(unit), unit)

    response = therapist_client.get(reverse("patients:staff_home"))

    assert [row.patient for row in response.context["relationships"]] == [patient]
    reads = AccessLogEntry.objects.filter(action=Action.READ, actor=therapist)
    assert list(reads.values_list("patient", flat=True)) == [patient.pk]


def test_staff_list_says_where_each_patient_is_at_the_unit(
    therapist_client, therapist, patient, unit, enrollment
):
    from django.utils import timezone

    from ikbt.intake.actions import registration_accept
    from ikbt.intake.models import Offering, Registration
    from ikbt.treatment.actions import enrollment_end

    waiting = factories.PatientFactory(family_name="Andersson")
    factories.care_relationship(waiting, therapist, unit)
    offering = Offering.objects.create(unit=unit, program=enrollment.program_version.program)
    Registration.objects.create(patient=waiting, offering=offering)
    rows = therapist_client.get(reverse("patients:staff_home")).context["relationships"]
    assert {row.patient: row.where_she_is for row in rows} == {
        waiting: "Waiting for assessment",
        patient: "In treatment",
    }
    enrollment_end(enrollment, reason="completed", note="", by=therapist)
    page = therapist_client.get(reverse("patients:staff_home"))
    today = timezone.localdate().isoformat()
    assert f"Treatment ended {today}; follow-up" in page.text
    # Registered again since, she is where the registration is.
    Registration.objects.create(patient=patient, offering=offering)
    rows = therapist_client.get(reverse("patients:staff_home")).context["relationships"]
    assert {row.patient: row.where_she_is for row in rows}[patient] == "Waiting for assessment"
    # Accepted today, her new treatment starts today (at midnight, before she registered).
    registration = Registration.objects.filter(patient=patient).get()
    registration_accept(
        registration,
        by=therapist,
        therapist=therapist,
        start_date=timezone.localdate(),
        note={"problem": "Oro", "risk": "Ingen", "suitability": "Motiverad"},
    )
    rows = therapist_client.get(reverse("patients:staff_home")).context["relationships"]
    assert {row.patient: row.where_she_is for row in rows}[patient] == "In treatment"


@pytest.mark.parametrize("count", list_rows(1, 3))
def test_staff_list_query_count_is_fixed(
    therapist_client, therapist, unit, count, django_assert_num_queries
):
    for _ in range(count):
        factories.care_relationship(factories.PatientFactory(), therapist, unit)
    therapist_client.get(reverse("core:home"))  # the session's first request saves it

    with django_assert_num_queries(10):  # 2 of them: the role each row is read in
        response = therapist_client.get(reverse("patients:staff_home"))

    assert len(response.context["relationships"]) == min(count, PATIENTS_PER_PAGE)


def test_unit_admin_sees_the_units_patients_as_administrator(unit_admin_client, patient):
    response = unit_admin_client.get(reverse("patients:staff_home"))

    assert [row.patient for row in response.context["relationships"]] == [patient]
    assert "Unit administrator" in response.text


def test_a_patient_two_therapists_share_is_one_row_for_the_unit_head_in_the_right_role(
    unit, unit_admin_client, patient, colleague
):
    factories.care_relationship(patient, colleague, unit)
    rows = unit_admin_client.get(reverse("patients:staff_home")).context["relationships"]
    assert [(row.patient, str(row.acting_role)) for row in rows] == [
        (patient, "Unit administrator")
    ]


def test_a_supervisor_reads_the_list_as_supervisor(unit, unit_admin, therapist, patient):
    from ikbt.organisations.actions import supervision_start

    supervisor = factories.staff_member(unit, StaffRole.SUPERVISOR)
    supervision_start(
        unit, supervisor=supervisor, supervisee=therapist, review_messages=False, by=unit_admin
    )
    page = verified_client(supervisor).get(reverse("patients:staff_home"))
    assert "Supervisor of Tove Terapeut" in page.text
    assert "Unit administrator" not in page.text.split("<table", 1)[1]


def test_patient_home_shows_the_responsible_therapist(patient_client, therapist):
    response = patient_client.get(reverse("patients:patient_home"))

    assert response.status_code == 200
    assert "Tove Terapeut" in response.text


def test_staff_pages_need_the_second_factor(client, therapist, patient):
    client.force_login(therapist)

    response = client.get(detail_url(patient))

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:two_factor"))
    assert not AccessLogEntry.objects.exists()


def test_role_membership_is_not_a_care_relationship(unit, patient):
    supervisor = factories.staff_member(unit, StaffRole.SUPERVISOR)
    assert verified_client(supervisor).get(detail_url(patient)).status_code == 404


def test_a_young_patients_record_shows_her_guardians_consent(therapist_client, patient, unit):
    import datetime

    from django.utils import timezone

    from ikbt.intake.models import Offering, Registration
    from ikbt.programs.actions import program_import, version_publish
    from ikbt.programs.package import EXAMPLE_PACKAGE, read_package

    born = timezone.localdate() - datetime.timedelta(days=15 * 365)
    patient.personal_number = factories.personal_number(born.strftime("%Y%m%d"), 321)
    patient.save(update_fields=["personal_number"])
    guardian = factories.GuardianFactory(patient=patient, name="Lena Förälder")
    page = therapist_client.get(detail_url(patient)).text
    assert guardian.personal_number_display in page
    assert "No guardian's consent to treatment is recorded yet." in page

    data, _problems = read_package(EXAMPLE_PACKAGE)
    program = version_publish(program_import(data, unit.region), None).program
    Registration.objects.create(
        patient=patient,
        offering=Offering.objects.create(unit=unit, program=program),
        answers={},
        guardian_name="Lena Förälder",
        guardian_personal_number=guardian.personal_number,
        guardian_consent_at=timezone.now(),
    )
    page = therapist_client.get(detail_url(patient)).text
    today = timezone.localdate().isoformat()
    assert f"Lena Förälder consented to treatment at {unit.name} on {today}." in page


def test_the_pages_of_the_patient_list_count_patients_not_shared_care(
    unit, unit_admin_client, colleague, therapist, patient, monkeypatch
):
    """Patients shared by two therapists fill a page once each, so no page comes up short
    and no pair shows twice across a page break."""
    monkeypatch.setattr("ikbt.patients.views.PATIENTS_PER_PAGE", 2)
    factories.care_relationship(patient, colleague, unit)
    for given_name in ("Ada", "Bo"):
        other = factories.PatientFactory(given_name=given_name, family_name="Andersson")
        factories.care_relationship(other, therapist, unit)
        factories.care_relationship(other, colleague, unit)
    first = unit_admin_client.get(reverse("patients:staff_home"))
    second = unit_admin_client.get(reverse("patients:staff_home") + "?page=2")
    names = [row.patient.given_name for row in first.context["relationships"]]
    names += [row.patient.given_name for row in second.context["relationships"]]
    assert names == ["Ada", "Bo", "Petra"]
    assert first.context["page"].paginator.num_pages == 2


def test_my_pages_says_where_she_is_on_her_path(patient_client, patient, therapist, enrollment):
    home = reverse("patients:patient_home")
    page = patient_client.get(home).text
    assert "Your treatment" in page and reverse("treatment:home") in page
    assert "new message" not in page
    thread = messaging.thread_start(patient, patient.user, "Fråga", "Hur gör jag?")
    messaging.message_send(thread, therapist, "Så här.")
    assert "1 new message" in patient_client.get(home).text


def test_my_pages_shows_a_registration_being_handled(patient_client, patient, unit):
    program = Program.objects.create(
        slug="somn", owner_region=unit.region, condition=Condition.INSOMNIA
    )
    Registration.objects.create(
        patient=patient, offering=Offering.objects.create(unit=unit, program=program)
    )
    page = patient_client.get(reverse("patients:patient_home")).text
    assert "Your registration" in page
    assert f"{unit.name}: Waiting for assessment" in page
    assert reverse("intake:my_registrations") in page


@pytest.mark.parametrize("count", [1, 3])
def test_my_pages_asks_the_same_queries_however_much_waits(
    patient_client, patient, therapist, enrollment, count, django_assert_num_queries
):
    thread = messaging.thread_start(patient, patient.user, "Fråga", "Hur gör jag?")
    for number in range(count):
        messaging.message_send(thread, therapist, f"Svar {number}")
    home = reverse("patients:patient_home")
    patient_client.get(home)
    # Session, user, patient, care team, questionnaires, risk flag, treatment, registration
    # being handled, unread.
    with django_assert_num_queries(9):
        page = patient_client.get(home)
    assert f"{count} new message" in page.text
