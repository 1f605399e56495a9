"""From the e-service page to a booked interview and from the queue to an enrolled patient."""

import datetime
import threading
from unittest.mock import patch

import pytest
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ikbt import factories
from ikbt.accounts.models import NewMobileCodeDevice
from ikbt.audit.models import AccessLogEntry
from ikbt.conftest import list_rows, verified_client
from ikbt.intake import actions
from ikbt.intake.eligibility import refusal_for
from ikbt.intake.models import Offering, Registration, Slot
from ikbt.intake.views import QUEUE_ROWS
from ikbt.intake.waiting import summarise
from ikbt.patients.models import CareRelationship
from ikbt.programs.actions import program_import, version_publish
from ikbt.programs.models import TargetGroup
from ikbt.programs.package import EXAMPLE_PACKAGE, read_package
from ikbt.treatment.actions import TreatmentError, enrollment_transfer
from ikbt.treatment.models import Enrollment

TODAY = datetime.date(2026, 11, 22)


@pytest.fixture
def offering(unit) -> Offering:
    data, _ = read_package(EXAMPLE_PACKAGE)
    version = version_publish(program_import(data, unit.region), None)
    return Offering.objects.create(unit=unit, program=version.program)


@pytest.fixture
def youth_offering(unit, offering) -> Offering:
    data, _ = read_package(EXAMPLE_PACKAGE)
    data.slug = "exempel-unga"
    data.target_group = TargetGroup.YOUTH
    version = version_publish(program_import(data, unit.region), None)
    return Offering.objects.create(unit=unit, program=version.program)


def person_born(day: datetime.date, serial: int = 700):
    return factories.PatientFactory(
        personal_number=factories.personal_number(day.strftime("%Y%m%d"), serial)
    )


FORM = {
    "situation": "Jag oroar mig hela tiden och sover dåligt.",
    "previous_treatment": "",
    "medication": "",
    "substance_use": "no",
    "psychiatry_contact": "no",
    "mobile": "070-765 43 21",
    "email": "",
    "consent_treatment": "on",
}


def test_adult_program_opens_on_the_day_of_the_18th_birthday(offering):
    eve = person_born(datetime.date(2008, 11, 23), 701)
    birthday = person_born(datetime.date(2008, 11, 22), 702)
    assert (
        refusal_for(eve, offering, TODAY).reason
        == "This program is for adults, from the day you turn 18."
    )
    assert refusal_for(birthday, offering, TODAY) is None


def test_youth_program_is_for_12_to_17(youth_offering):
    assert (
        refusal_for(person_born(datetime.date(2014, 11, 22), 703), youth_offering, TODAY) is None
    )
    assert (
        refusal_for(person_born(datetime.date(2014, 11, 23), 704), youth_offering, TODAY)
        is not None
    )
    eighteen = refusal_for(person_born(datetime.date(2008, 11, 22), 705), youth_offering, TODAY)
    assert "Choose a program for adults" in str(eighteen.where_to)


def test_region_rule_points_elsewhere(offering, other_region_unit):
    offering.intake = Offering.Intake.RESIDENTS
    offering.save()
    patient = factories.PatientFactory(home_region=other_region_unit.region)
    refusal = refusal_for(patient, offering, TODAY)
    assert "live in Region Östergötland" in str(refusal.reason)
    assert "1177" in str(refusal.where_to)

    # Her own region offers treatment on the platform too: the page links to it.
    Offering.objects.create(unit=other_region_unit, program=offering.program)
    client = Client()
    client.force_login(patient.user)
    page = client.get(reverse("intake:register", args=[offering.pk])).text
    own = reverse("intake:eservice", args=[other_region_unit.region.code])
    assert f'href="{own}"' in page
    assert "Your own region offers internet treatment here too:" in page
    assert "1177" not in page.split('<div class="card">')[1]  # not "find it elsewhere" too


def test_a_young_person_is_not_sent_to_a_region_of_adults_programs(
    youth_offering, other_region_unit, offering
):
    """Ebba, 16, of Örebro, at an Östergötland youth program: Örebro offers only adults'
    programs, so no link there (she would be refused again)."""
    youth_offering.intake = Offering.Intake.RESIDENTS
    youth_offering.save()
    Offering.objects.create(unit=other_region_unit, program=offering.program)  # adults'
    young = person_born(datetime.date(2010, 9, 16), 262)
    young.home_region = other_region_unit.region
    young.save()
    client = Client()
    client.force_login(young.user)
    page = client.get(reverse("intake:register", args=[youth_offering.pk])).text
    own = reverse("intake:eservice", args=[other_region_unit.region.code])
    assert f'href="{own}"' not in page
    assert "Your own region offers internet treatment here too:" not in page


def test_the_e_service_says_who_can_sign_in_to_register(client, offering, settings):
    """Without e-identification a code goes only to a number the region has: someone new is
    told so up front, not after waiting for a code that never comes."""
    url = reverse("intake:eservice", args=["05"])
    settings.PATIENT_OIDC_ENABLED = False
    assert "a sign-in code goes only to a mobile number" in client.get(url).text
    settings.PATIENT_OIDC_ENABLED = True
    assert "a sign-in code goes only to a mobile number" not in client.get(url).text


def test_patient_goes_from_the_e_service_page_to_a_booked_interview(
    client, patient_client, patient, offering, therapist, django_capture_on_commit_callbacks
):
    page = client.get(reverse("intake:eservice", args=["05"]))
    assert "Example: managing anxiety" in page.text
    register = reverse("intake:register", args=[offering.pk])
    assert register in page.text

    form = patient_client.get(register).text
    assert 'value="+46701234567"' in form  # the mobile she has given before, to confirm
    response = patient_client.post(register, FORM)
    assert response.url == reverse("intake:my_registrations")
    registration = Registration.objects.get()
    assert registration.answers["situation"] == FORM["situation"]
    assert "mobile" not in registration.answers  # contact details are not answers
    patient.refresh_from_db()
    # A new number is hers once she writes back the code sent to it (as the gateway takes it).
    assert patient.mobile == "+46701234567"
    assert NewMobileCodeDevice.objects.get(user=patient.user).number == "+46707654321"
    assert sorted(r.instrument_version.instrument.code for r in registration.screening.all()) == [
        "GAD-7",
        "PHQ-9",
    ]

    slot = Slot.objects.create(
        unit=offering.unit,
        therapist=therapist,
        starts_at=timezone.now() + datetime.timedelta(days=3),
    )
    status = patient_client.get(reverse("intake:my_registrations"))
    assert "Book your assessment" in status.text
    # As she chose it: the program's title, and each questionnaire by its name.
    assert f"Example: managing anxiety – {offering.unit.name}</h2>" in status.text
    assert "PHQ-9 (depression)</a> – to fill in" in status.text
    assert "Waiting for an assessment time" in status.text
    assert "Waiting for assessment" not in status.text  # said once, not as two steps
    assert '<form method="post" class="booking">' in status.text  # large choices on a phone
    # None chosen (the browser asks, but may not): said, not a missing page.
    unchosen = patient_client.post(
        reverse("intake:my_registrations"), {"registration": registration.pk}, follow=True
    )
    assert "Choose one of the free times." in unchosen.text
    with django_capture_on_commit_callbacks(execute=True):
        patient_client.post(
            reverse("intake:my_registrations"), {"registration": registration.pk, "slot": slot.pk}
        )
    slot.refresh_from_db()
    assert slot.registration == registration
    registration.refresh_from_db()
    assert registration.status == Registration.Status.BOOKED
    booked = patient_client.get(reverse("intake:my_registrations")).text
    # Written as the free times were ("Thursday 10 December 09:00"), not anew as a code.
    start = timezone.localtime(slot.starts_at)
    when = f"{start:%A} {start.day} {start:%B %H:%M}"
    assert f"Assessment {when} (Video call) with Tove Terapeut" in booked
    assert "Then: the decision about treatment, after the assessment" in booked


def test_missing_consent_is_explained_and_answers_kept(patient_client, offering):
    form = {**FORM}
    del form["consent_treatment"]
    page = patient_client.post(reverse("intake:register", args=[offering.pk]), form)
    assert "Treatment needs your consent." in page.text
    assert FORM["situation"] in page.text
    assert not Registration.objects.exists()


def test_registration_without_a_mobile_number_is_explained_and_answers_kept(
    patient_client, offering
):
    page = patient_client.post(
        reverse("intake:register", args=[offering.pk]), {**FORM, "mobile": "ring mig"}
    )
    assert "Write a mobile number, for example 070-123 45 67." in page.text
    assert 'value="ring mig"' in page.text
    assert FORM["situation"] in page.text
    page = patient_client.post(
        reverse("intake:register", args=[offering.pk]), {**FORM, "mobile": ""}
    )
    assert "Write your mobile number, so that we can reach you." in page.text
    assert not Registration.objects.exists()


def test_a_refused_registration_takes_the_reader_to_what_needs_another_look(
    patient_client, offering
):
    url = reverse("intake:register", args=[offering.pk])
    page = patient_client.post(url, {**FORM, "consent_treatment": ""}).text
    summary = page.split('class="card error-summary"')[1].split("</div>")[0]
    assert 'tabindex="-1" autofocus>' in summary  # focus moves there, for a keyboard too
    # A box's label is a sentence: the error alone is the link, without "…it.: Treatment".
    assert '<a href="#id_consent_treatment">Treatment needs your consent.</a></li>' in summary
    # Consent is to the treatment; the record is kept by law, whatever she answers.
    assert "I want treatment at the unit, and I consent to it." in page
    assert "that does not depend on your consent" in page


def test_youth_registration_needs_the_guardians_consent(client, youth_offering):
    young = person_born(datetime.date(2012, 5, 1), 706)
    client.force_login(young.user)
    url = reverse("intake:register", args=[youth_offering.pk])
    # Every box the form asks for is on the page (the guardian's phone once was not).
    empty = client.get(url).context["form"]
    shown = client.get(url).text
    assert all(f'name="{name}"' in shown for name in empty.fields)
    page = client.post(url, FORM)
    # Each missing part is named once, on its own field, and listed at the top of the form
    # (on a phone the guardian's section is far below), linked to the field.
    errors = page.context["form"].errors
    assert (
        errors["guardian_name"],
        errors["guardian_personal_number"],
        errors["guardian_phone"],
    ) == (
        ["Write your guardian's name."],
        ["Write your guardian's personal identity number."],
        ["Write the phone number of your guardian."],
    )
    assert page.text.count("A guardian must give their consent for a young person.") == 2
    summary = page.text.split('class="card error-summary"')[1].split("</div>")[0]
    assert '<a href="#id_guardian_name">Guardian&#x27;s name</a>' in summary
    # A question answered with radio buttons links to its first button, which is there.
    no_answer = client.post(url, {**FORM, "substance_use": ""}).text
    summary = no_answer.split('class="card error-summary"')[1].split("</div>")[0]
    assert '<a href="#id_substance_use_0">' in summary
    assert 'id="id_substance_use_0"' in no_answer
    assert FORM["situation"] in page.text
    # Her own number, or a child's, is not a guardian's.
    for number, refusal in (
        (young.personal_number, "This is your own number. Write your guardian's."),
        (factories.personal_number("20100101", 709), "A guardian is an adult: check the number."),
    ):
        page = client.post(
            url,
            {
                **FORM,
                "guardian_name": "x",
                "guardian_personal_number": number,
                "guardian_phone": "070-123 45 67",
                "guardian_consent": "on",
            },
        )
        assert page.context["form"].errors == {"guardian_personal_number": [refusal]}
    assert not Registration.objects.exists()
    guardian = factories.personal_number("19800101", 707)
    client.post(
        url,
        {
            **FORM,
            "guardian_name": "Anna Förälder",
            "guardian_personal_number": guardian,
            "guardian_phone": "070-123 45 67",
            "guardian_consent": "on",
        },
    )
    registration = Registration.objects.get()
    assert (
        registration.guardian_name,
        registration.guardian_personal_number,
        registration.guardian_phone,
    ) == ("Anna Förälder", guardian, "070-123 45 67")
    assert registration.guardian_consent_at is not None


def test_a_young_person_is_accepted_once_the_unit_has_confirmed_the_guardians_consent(
    client, youth_offering, therapist, therapist_client
):
    from ikbt.audit.models import AccessLogEntry
    from ikbt.patients.models import CareRelationship

    young = person_born(datetime.date(2012, 5, 1), 710)
    client.force_login(young.user)
    client.post(
        reverse("intake:register", args=[youth_offering.pk]),
        {
            **FORM,
            "guardian_name": "Anna Förälder",
            "guardian_personal_number": factories.personal_number("19800101", 711),
            "guardian_phone": "070-123 45 67",
            "guardian_consent": "on",
        },
    )
    registration = Registration.objects.get()
    factories.care_relationship(
        young, therapist, youth_offering.unit, role=CareRelationship.Role.ASSESSOR
    )
    url = reverse("intake:registration", args=[registration.pk])
    page = therapist_client.get(url)
    assert "not yet confirmed with the guardian" in page.text
    assert '<a href="tel:0701234567">070-123 45 67</a>' in page.text  # whom to call
    accept = {
        "accept": "1",
        "therapist": therapist.pk,
        "start_date": (timezone.localdate() + datetime.timedelta(days=3)).isoformat(),
        "problem": "Oro i skolan",
        "risk": "Ingen",
        "suitability": "Motiverad",
    }
    refused = therapist_client.post(url, accept, follow=True)
    assert "Confirm the guardian&#x27;s consent with the guardian" in refused.text
    assert not Enrollment.objects.exists()
    assert not young.guardians.exists()  # what she stated is not yet her record
    # How and with whom, or it is not recorded.
    page = therapist_client.post(url, {"guardian_consent": "1", "note": ""})
    assert "Write how and with whom it was confirmed." in page.text
    therapist_client.post(url, {"guardian_consent": "1", "note": "Per telefon med båda."})
    registration.refresh_from_db()
    assert registration.guardian_consent_confirmed_by == therapist
    assert registration.guardian_consent_note == "Per telefon med båda."
    entry = AccessLogEntry.objects.get(detail="guardian's consent confirmed")
    assert (entry.actor, entry.patient, entry.action) == (therapist, young, "change")
    page = therapist_client.get(url).text
    assert "Confirmed by Tove Terapeut" in page
    assert f"({registration.guardian_personal_number_display})" in page
    # Confirmed, the guardian is on her record, where those in her care reach them.
    guardian = young.guardians.get()
    assert (guardian.name, guardian.mobile) == ("Anna Förälder", "070-123 45 67")
    therapist_client.post(url, accept)
    assert Enrollment.objects.get().patient == young


def test_too_young_for_the_adult_program_is_told_where_to_go(client, offering):
    young = person_born(datetime.date(2012, 5, 1), 708)
    client.force_login(young.user)
    page = client.get(reverse("intake:register", args=[offering.pk]))
    assert "from the day you turn 18" in page.text
    assert "youth clinic" in page.text
    assert "the region&#x27;s e-service page lists those it offers" in page.text


@pytest.fixture
def registration(patient, offering) -> Registration:
    return actions.registration_submit(
        patient, offering, answers={"situation": "Oro"}, register_opt_out=False
    )


def test_exactly_one_of_two_bookings_of_one_slot_wins(registration, offering, therapist):
    other = actions.registration_submit(
        factories.PatientFactory(), offering, answers={}, register_opt_out=False
    )
    slot = Slot.objects.create(
        unit=offering.unit,
        therapist=therapist,
        starts_at=timezone.now() + datetime.timedelta(days=2),
    )
    actions.slot_book(slot, registration, by=therapist)
    with pytest.raises(actions.IntakeError, match="Someone else booked"):
        actions.slot_book(slot, other, by=therapist)
    assert Slot.objects.get().registration == registration


def test_a_time_on_a_day_the_therapist_is_away_is_not_offered_nor_booked(
    patient_client, registration, offering, therapist
):
    from ikbt.organisations.models import StaffAbsence

    day = timezone.localdate() + datetime.timedelta(days=3)
    times = [
        Slot.objects.create(
            unit=offering.unit,
            therapist=therapist,
            starts_at=timezone.make_aware(datetime.datetime.combine(when, datetime.time(10))),
        )
        for when in (day, day + datetime.timedelta(days=1))
    ]
    StaffAbsence.objects.create(staff=therapist, starts_on=day, ends_on=day)
    page = patient_client.get(reverse("intake:my_registrations"))
    assert page.context["rows"][0][1] == [times[1]]
    with pytest.raises(actions.IntakeError, match="The therapist is away that day"):
        actions.slot_book(times[0], registration, by=registration.patient.user)
    actions.slot_book(times[1], registration, by=registration.patient.user)


def test_a_time_booked_by_the_unit_is_told_at_once_without_what_it_is_for(
    registration, offering, therapist, patient, django_capture_on_commit_callbacks
):
    """Not only by the reminder a day before, when cancelling here has closed."""
    slot = Slot.objects.create(
        unit=offering.unit,
        therapist=therapist,
        starts_at=timezone.now() + datetime.timedelta(days=2),
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        actions.slot_book(slot, registration, by=therapist)
    [notice] = mail.outbox
    assert notice.to == [patient.email]
    assert notice.subject == "Du har fått en bokad tid"
    assert "bedömning" not in notice.body.lower() and "behandling" not in notice.body.lower()
    # Booked by herself, she knows: no notice.
    someone = factories.PatientFactory()
    own = actions.registration_submit(someone, offering, answers={}, register_opt_out=False)
    later = Slot.objects.create(
        unit=offering.unit,
        therapist=therapist,
        starts_at=timezone.now() + datetime.timedelta(days=3),
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        actions.slot_book(later, own, by=someone.user)
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs real concurrent connections")
def test_two_people_pressing_book_at_once(unit, therapist):
    data, _ = read_package(EXAMPLE_PACKAGE)
    offering = Offering.objects.create(
        unit=unit, program=version_publish(program_import(data, unit.region), None).program
    )
    people = [
        actions.registration_submit(
            factories.PatientFactory(), offering, answers={}, register_opt_out=False
        )
        for _ in range(2)
    ]
    slot = Slot.objects.create(
        unit=unit, therapist=therapist, starts_at=timezone.now() + datetime.timedelta(days=2)
    )
    barrier = threading.Barrier(2)
    outcomes = []

    def book(registration):
        barrier.wait()
        try:
            actions.slot_book(Slot.objects.get(pk=slot.pk), registration, by=therapist)
            outcomes.append("won")
        except actions.IntakeError:
            outcomes.append("lost")
        except Exception as error:
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost", "won"]
    assert Slot.objects.get().registration in people


def test_staff_go_from_the_queue_to_an_enrolled_patient(
    therapist_client, therapist, registration, offering
):
    queue = therapist_client.get(reverse("intake:queue"))
    assert registration.patient.full_name in queue.text
    detail_url = reverse("intake:registration", args=[registration.pk])
    start = timezone.localdate() + datetime.timedelta(days=5)
    therapist_client.post(
        detail_url,
        {
            "accept": "1",
            "therapist": therapist.pk,
            "start_date": start.isoformat(),
            "problem": "GAD",
            "risk": "Låg",
            "suitability": "Motiverad",
        },
    )
    registration.refresh_from_db()
    assert registration.status == Registration.Status.ACCEPTED
    enrollment = Enrollment.objects.get()
    assert (enrollment.unit, enrollment.program_version.program.slug) == (
        offering.unit,
        "exempel-angest",
    )
    assert enrollment.planned_end == start + datetime.timedelta(weeks=12)
    assert timezone.localdate(enrollment.started_at) == start
    assert (
        CareRelationship.objects.active().get(patient=registration.patient, staff=therapist).role
        == "responsible_therapist"
    )
    pre = registration.patient.responses.filter(occasion="pre")
    assert sorted(r.instrument_version.instrument.code for r in pre) == ["GAD-7", "PHQ-9"]
    # The screening she had not filled in is asked as the one before treatment, not twice.
    screening = set(registration.screening.values_list("pk", flat=True))
    assert screening and set(pre.values_list("pk", flat=True)) >= screening
    unanswered = registration.patient.responses.filter(status="in_progress")
    assert unanswered.exclude(occasion="weekly").count() == 2
    weekly = registration.patient.responses.filter(occasion="weekly").order_by("due_at")
    assert weekly.count() == 11  # GAD-7 in weeks 2 to 12
    assert timezone.localdate(weekly.first().due_at) == start + datetime.timedelta(weeks=1)


def test_not_suitable_needs_where_referred(therapist_client, registration):
    url = reverse("intake:registration", args=[registration.pk])
    page = therapist_client.post(
        url, {"decline": "1", "decision": "not_suitable", "reason": "Behöver psykiatri"}
    )
    assert "Say where the patient was referred." in page.text
    # Said at the top too, where the page opens, with a link down to the box.
    summary = page.text.split('class="card error-summary"')[1].split("</div>")[0]
    assert 'href="#id_referred_to"' in summary
    therapist_client.post(
        url,
        {
            "decline": "1",
            "decision": "not_suitable",
            "reason": "Behöver psykiatri",
            "referred_to": "Allmänpsykiatrin",
        },
    )
    registration.refresh_from_db()
    assert (registration.status, registration.referred_to) == ("not_suitable", "Allmänpsykiatrin")


def test_a_referred_registration_asks_its_screening_no_more(
    therapist_client, registration, patient_client
):
    from ikbt.measurement.actions import response_submit
    from ikbt.measurement.models import Response

    screening = list(registration.screening.select_related("instrument_version__instrument"))
    assert len(screening) >= 2
    sent, *unsent = screening
    response_submit(sent, [0] * len(sent.instrument_version.parsed.items))
    home = patient_client.get(reverse("patients:patient_home"))
    assert "before the assessment at" in home.text
    therapist_client.post(
        reverse("intake:registration", args=[registration.pk]),
        {
            "decline": "1",
            "decision": "not_suitable",
            "reason": "Behöver psykiatri",
            "referred_to": "Allmänpsykiatrin",
        },
    )
    # What she sent stays with the registration; what she had not sent is asked no more.
    assert list(registration.screening.all()) == [sent]
    assert not Response.objects.filter(pk__in=[response.pk for response in unsent]).exists()
    home = patient_client.get(reverse("patients:patient_home"))
    assert "Questionnaires to fill in" not in home.text
    # Her start page says the registration is answered, and where to read how.
    assert "Referred elsewhere." in home.text and "answered" in home.text
    mine = patient_client.get(reverse("intake:my_registrations"))
    assert not any(str(response.key) in mine.text for response in unsent)
    gone = patient_client.get(reverse("measurement:answer", args=[unsent[0].key]))
    assert gone.status_code == 404
    assert "This questionnaire is not asked of you" in gone.text


def test_treatment_and_a_second_registration_each_in_their_place(
    enrollment, offering, patient, patient_client
):
    """In treatment, she registers for another program: her pages show both, and the
    registration's screening is not among the treatment's things to do."""
    registration = actions.registration_submit(
        patient, offering, answers={}, register_opt_out=False
    )
    home = patient_client.get(reverse("patients:patient_home"))
    assert "Your treatment" in home.text and "Your registration" in home.text
    for response in registration.screening.all():
        assert str(response.key) in home.text
    now = patient_client.get(reverse("treatment:home"))
    assert not any(str(response.key) in now.text for response in registration.screening.all())


def test_the_assessment_typed_is_kept_when_the_decline_form_is_refused(
    therapist_client, registration
):
    url = reverse("intake:registration", args=[registration.pk])
    assessment = {
        "unsent:id_problem": "Paniksyndrom sedan två år.",
        "unsent:id_risk": "Ingen suicidrisk.",
        "unsent:id_suitability": "Motiverad, klarar text.",
    }
    page = therapist_client.post(url, {"decline": "1", "decision": "", **assessment})
    accept_form = page.context["accept_form"]
    assert not accept_form.is_bound
    assert [accept_form[name].value() for name in ("problem", "risk", "suitability")] == [
        "Paniksyndrom sedan två år.",
        "Ingen suicidrisk.",
        "Motiverad, klarar text.",
    ]
    assert "Paniksyndrom sedan två år.</textarea>" in page.text


def test_outsider_gets_404_and_the_denial_is_logged(outsider_client, outsider, registration):
    assert (
        outsider_client.get(reverse("intake:registration", args=[registration.pk])).status_code
        == 404
    )
    assert AccessLogEntry.objects.filter(
        actor=outsider, action="denied", patient=registration.patient
    ).exists()


def test_unit_admin_moves_a_registration_to_another_unit(
    unit, unit_admin, registration, therapist
):
    other_unit = factories.CareUnitFactory(region=unit.region, name="Vårdcentralen Ryd")
    other_offering = Offering.objects.create(
        unit=other_unit, program=registration.offering.program
    )
    slot = Slot.objects.create(
        unit=unit, therapist=therapist, starts_at=timezone.now() + datetime.timedelta(days=2)
    )
    actions.slot_book(slot, registration, by=therapist)

    client = verified_client(unit_admin)
    page = client.get(reverse("intake:registration", args=[registration.pk])).text
    assert f'<option value="{other_offering.pk}">Vårdcentralen Ryd</option>' in page
    client.post(
        reverse("intake:registration", args=[registration.pk]),
        {"transfer": "1", "offering": other_offering.pk},
    )

    registration.refresh_from_db()
    assert (registration.offering, registration.status) == (other_offering, "submitted")
    assert Slot.objects.get().registration is None
    assert (
        not CareRelationship.objects.active()
        .filter(patient=registration.patient, role="assessor")
        .exists()
    )
    assert AccessLogEntry.objects.filter(
        actor=unit_admin, detail__startswith="moved to unit"
    ).exists()


def test_waiting_times_are_shown(therapist_client, therapist, registration):
    Registration.objects.filter(pk=registration.pk).update(
        registered_at=timezone.now() - datetime.timedelta(days=20)
    )
    actions.registration_accept(
        registration, by=therapist, therapist=therapist, start_date=timezone.localdate(), note={}
    )
    page = therapist_client.get(reverse("intake:waiting"))
    row = page.context["rows"][0]
    assert row["to_start"].count == 1
    assert row["to_start"].median == 20


def test_the_responsible_therapist_reads_the_assessment_in_the_record(
    therapist, colleague, colleague_client, registration
):
    """Assessed by one therapist, treated by another: the risks assessed at intake are in the
    record, with who accepted her and when."""
    enrollment = actions.registration_accept(
        registration,
        by=therapist,
        therapist=colleague,
        start_date=timezone.localdate(),
        note={
            "problem": "Paniksyndrom sedan två år.",
            "risk": "Inga självmordstankar; har två barn.",
            "suitability": "Motiverad, van vid dator.",
        },
    )
    page = colleague_client.get(reverse("treatment:record", args=[enrollment.pk])).text
    section = page.split('id="intake-heading"')[1].split("</section>")[0]
    assert "Inga självmordstankar; har två barn." in section
    assert "Paniksyndrom sedan två år." in section and "Motiverad, van vid dator." in section
    assert f"Accepted by Tove Terapeut on {timezone.localdate():%Y-%m-%d}." in section


def test_summary_figures():
    assert summarise([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]) == summarise(
        [100, 90, 80, 70, 60, 50, 40, 30, 20, 10]
    )
    figures = summarise([10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
    assert (figures.mean, figures.median, figures.p90) == (55.0, 55.0, 90)
    assert summarise([]).count == 0


def test_reminder_carries_no_health_content(registration, offering, therapist):
    from ikbt.intake.tasks import remind_assessment
    from ikbt.notifications import sms

    sms.outbox.clear()
    slot = Slot.objects.create(
        unit=offering.unit,
        therapist=therapist,
        starts_at=timezone.now() + datetime.timedelta(days=2),
    )
    actions.slot_book(slot, registration, by=therapist)
    assert remind_assessment.call(slot.pk) is True
    assert remind_assessment.call(slot.pk) is False  # run twice by a worker: sent once
    (message,) = sms.outbox
    assert message.body == "Du har en bokad tid hos vården. Logga in för att se när och hur."
    Slot.objects.filter(pk=slot.pk).update(registration=None)
    assert remind_assessment.call(slot.pk) is False
    # Booked again after a cancellation: the new booking gets its own reminder.
    Slot.objects.filter(pk=slot.pk).update(
        registration=registration, booked_at=timezone.now() + datetime.timedelta(minutes=1)
    )
    assert remind_assessment.call(slot.pk) is True
    assert len(sms.outbox) == 2


@pytest.mark.parametrize(
    "answered_days_ago, starts_in_days, asked_again",
    [(1, 0, False), (20, 0, True), (1, 20, True)],  # 14 days at most before the start
)
def test_a_screening_answered_just_before_the_start_is_not_asked_again(
    registration, therapist, answered_days_ago, starts_in_days, asked_again
):
    from ikbt.measurement.actions import response_submit

    phq9 = registration.screening.get(instrument_version__instrument__code="PHQ-9")
    response_submit(phq9, [1] * 9)
    phq9.__class__.objects.filter(pk=phq9.pk).update(
        submitted_at=timezone.now() - datetime.timedelta(days=answered_days_ago)
    )
    actions.registration_accept(
        registration,
        by=therapist,
        therapist=therapist,
        start_date=timezone.localdate() + datetime.timedelta(days=starts_in_days),
        note={},
    )
    pre = registration.patient.responses.filter(occasion="pre")
    codes = sorted(response.instrument_version.instrument.code for response in pre)
    assert codes == (["GAD-7", "PHQ-9"] if asked_again else ["GAD-7"])


def test_a_decision_before_the_assessment_time_frees_it_and_nothing_reminds_of_it(
    registration, offering, therapist, unit_admin, django_capture_on_commit_callbacks
):
    from ikbt.intake.tasks import remind_assessment
    from ikbt.notifications import sms

    sms.outbox.clear()
    slot = Slot.objects.create(
        unit=offering.unit,
        therapist=therapist,
        starts_at=timezone.now() + datetime.timedelta(days=2),
        video_link="https://video.example/abc",
    )
    actions.slot_book(slot, registration, by=therapist)
    page = verified_client(unit_admin).get(reverse("intake:registration", args=[registration.pk]))
    assert "is freed by accepting or referring now" in page.text
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        actions.registration_accept(
            registration,
            by=unit_admin,
            therapist=therapist,
            start_date=timezone.localdate(),
            note={},
        )
    # The therapist whose time it was is told a time is free again (decided by another),
    # and she that her registration is answered (not how: her pages say it and what next).
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [therapist.email, registration.patient.email]
    )
    told = next(message for message in mail.outbox if message.to == [registration.patient.email])
    assert "answered your registration" in told.body or "besvarat din anmälan" in told.body
    assert [text.body for text in sms.outbox] == [told.subject]
    sms.outbox.clear()
    slot.refresh_from_db()
    assert (slot.registration, slot.booked_at) == (None, None)  # free for others to book
    mine = Client()
    mine.force_login(registration.patient.user)
    page = mine.get(reverse("intake:my_registrations")).text
    assert "Waiting for an assessment time" not in page and "video link" not in page
    assert remind_assessment.call(slot.pk) is False
    assert sms.outbox == []
    # A reminder queued for a registration decided while its time stays booked: not sent.
    Slot.objects.filter(pk=slot.pk).update(registration=registration, booked_at=timezone.now())
    assert remind_assessment.call(slot.pk) is False
    assert sms.outbox == []


def test_unit_admin_moves_a_treatment_and_the_care_relationship_follows(
    unit, unit_admin, therapist, colleague, registration
):
    enrollment = actions.registration_accept(
        registration, by=therapist, therapist=therapist, start_date=timezone.localdate(), note={}
    )
    client = verified_client(unit_admin)
    url = reverse("intake:treatment_transfer", args=[enrollment.pk])
    page = client.get(url)
    assert page.status_code == 200
    # The region's therapists under their units, the present one chosen.
    assert f'<optgroup label="{unit.name}">' in page.text
    assert f'<option value="{unit.pk}:{therapist.pk}" selected>' in page.text
    assert f'value="{unit.pk}:{colleague.pk}"' in page.text
    assert f'value="{unit.pk}:{unit_admin.pk}"' not in page.text  # not a therapist
    client.post(url, {"placement": f"{unit.pk}:{colleague.pk}"})

    active = CareRelationship.objects.active().filter(patient=registration.patient)
    assert list(active.values_list("staff__username", "role")) == [
        ("colleague", "responsible_therapist")
    ]
    assert (
        verified_client(therapist)
        .get(reverse("patients:patient_detail", args=[registration.patient.pk]))
        .status_code
        == 404
    )
    assert (
        verified_client(colleague)
        .get(reverse("patients:patient_detail", args=[registration.patient.pk]))
        .status_code
        == 200
    )
    assert verified_client(therapist).get(url).status_code == 404  # not a unit administrator


def test_critical_screening_answer_puts_the_registration_first(
    therapist_client, registration, offering
):
    from ikbt.measurement.actions import response_submit
    from ikbt.measurement.models import RiskFlag

    later = actions.registration_submit(
        factories.PatientFactory(), offering, answers={}, register_opt_out=False
    )
    Registration.objects.filter(pk=registration.pk).update(
        registered_at=timezone.now() - datetime.timedelta(days=3)
    )
    phq9 = later.screening.get(instrument_version__instrument__code="PHQ-9")
    response_submit(phq9, [0] * 8 + [2])
    assert RiskFlag.objects.get().unit == offering.unit

    rows = therapist_client.get(reverse("intake:queue")).context["rows"]
    assert rows == [later, registration]
    # However long the queue, the flagged one is on it: flags are ordered before the limit.
    with patch("ikbt.intake.views.QUEUE_ROWS", 1):
        assert therapist_client.get(reverse("intake:queue")).context["rows"] == [later]


def test_a_critical_screening_answer_reaches_the_units_triage_who_acknowledge_it_there(
    therapist, colleague, unit_admin, offering, django_capture_on_commit_callbacks
):
    from ikbt.measurement.actions import response_submit
    from ikbt.measurement.models import RiskFlag
    from ikbt.organisations.models import StaffAbsence

    newcomer = actions.registration_submit(
        factories.PatientFactory(), offering, answers={}, register_opt_out=False
    )
    today = timezone.localdate()
    StaffAbsence.objects.create(staff=colleague, starts_on=today, ends_on=today)
    phq9 = newcomer.screening.get(instrument_version__instrument__code="PHQ-9")
    with django_capture_on_commit_callbacks(execute=True):
        response_submit(phq9, [0] * 8 + [2])
    # No one is in her care yet: the unit's therapists and administrators at work are told.
    assert sorted(notice.to[0] for notice in mail.outbox) == sorted(
        [therapist.email, unit_admin.email]
    )
    assert all("PHQ" not in notice.body for notice in mail.outbox)
    # She is told the unit knows, not that a therapist she does not have will call.
    flag = RiskFlag.objects.get()
    url = reverse("intake:registration", args=[newcomer.pk])
    client = verified_client(therapist)
    page = client.get(url)
    assert "Risk flag: a critical answer on PHQ-9." in page.text
    assert f'name="acknowledge_flag" value="{flag.pk}"' in page.text
    # Refused without what was done: said beside the flag, and it stays open.
    refused = client.post(url, {"acknowledge_flag": flag.pk, "action_taken": " "})
    assert refused.status_code == 200
    assert "Write what was done before you acknowledge the flag." in refused.text
    client.post(url, {"acknowledge_flag": flag.pk, "action_taken": "Ringde, ingen akut risk."})
    flag.refresh_from_db()
    assert (flag.acknowledged_by, flag.action_taken) == (therapist, "Ringde, ingen akut risk.")
    page = client.get(url)
    assert "Acknowledged by" in page.text and 'name="acknowledge_flag"' not in page.text
    assert "Question 9" in page.text  # what raised it stays for whoever decides later
    # A colleague's page, sent after: told who was first, and what she wrote is shown.
    late = verified_client(colleague).post(
        url, {"acknowledge_flag": flag.pk, "action_taken": "Ringde också."}, follow=True
    )
    assert "acknowledged the flag already. What you wrote was not saved: Ringde också." in (
        late.text
    )
    assert AccessLogEntry.objects.filter(
        actor=therapist, patient=newcomer.patient, detail="acknowledged risk flag"
    ).exists()
    # The queue no longer puts it first for the flag.
    assert newcomer.pk not in client.get(reverse("intake:queue")).context["flagged"]


def test_a_flag_is_acknowledged_only_on_its_own_registration(
    therapist_client, registration, offering
):
    from ikbt.measurement.actions import response_submit

    other = actions.registration_submit(
        factories.PatientFactory(), offering, answers={}, register_opt_out=False
    )
    response_submit(
        other.screening.get(instrument_version__instrument__code="PHQ-9"), [0] * 8 + [2]
    )
    flag = other.screening.get(instrument_version__instrument__code="PHQ-9").risk_flag
    url = reverse("intake:registration", args=[registration.pk])
    answer = therapist_client.post(url, {"acknowledge_flag": flag.pk, "action_taken": "Ringde"})
    assert answer.status_code == 404
    flag.refresh_from_db()
    assert flag.is_open


@pytest.mark.parametrize("count", list_rows(1, 8))
def test_queue_query_count_is_fixed(therapist_client, offering, count, django_assert_num_queries):
    for _ in range(count):
        actions.registration_submit(
            factories.PatientFactory(), offering, answers={}, register_opt_out=False
        )
    therapist_client.get(reverse("core:home"))
    with django_assert_num_queries(11):
        response = therapist_client.get(reverse("intake:queue"))
    assert len(response.context["rows"]) == min(count, QUEUE_ROWS)


def test_intake_pages_name_the_program_as_patients_see_it(therapist_client, registration):
    """Staff know a program by the title patients read, not by its short name."""
    pages = [
        reverse("intake:queue"),
        reverse("intake:registration", args=[registration.pk]),
        reverse("intake:waiting"),
    ]
    for url in pages:
        swedish = therapist_client.get(url, HTTP_ACCEPT_LANGUAGE="sv").text
        assert "Exempel: hantera ångest" in swedish, url
        english = therapist_client.get(url, HTTP_ACCEPT_LANGUAGE="en").text
        assert "Example: managing anxiety" in english, url
    queue = therapist_client.get(reverse("intake:queue"), HTTP_ACCEPT_LANGUAGE="sv").text
    assert '<option value="exempel-angest">Exempel: hantera ångest</option>' in queue


def test_a_lost_booking_is_explained_in_swedish(
    registration, offering, therapist, client, settings
):
    from django.utils import translation

    other = actions.registration_submit(
        factories.PatientFactory(), offering, answers={}, register_opt_out=False
    )
    slot = Slot.objects.create(
        unit=offering.unit,
        therapist=therapist,
        starts_at=timezone.now() + datetime.timedelta(days=2),
    )
    actions.slot_book(slot, registration, by=therapist)
    with translation.override("sv"), pytest.raises(actions.IntakeError) as error:
        actions.slot_book(slot, other, by=therapist)
    assert str(error.value) == "Någon annan bokade den tiden nyss. Välj en annan."


def test_a_decided_registration_is_seen_only_by_those_who_took_it_on(
    registration, therapist, therapist_client, colleague, colleague_client, unit_admin_client
):
    url = reverse("intake:registration", args=[registration.pk])
    accepted = reverse("intake:queue") + "?status=accepted"
    assert colleague_client.get(url).status_code == 200  # waiting: the unit's shared triage
    actions.registration_accept(
        registration, by=therapist, therapist=therapist, start_date=timezone.localdate(), note={}
    )
    assert colleague_client.get(url).status_code == 404
    assert AccessLogEntry.objects.filter(
        actor=colleague, action="denied", patient=registration.patient
    ).exists()
    assert colleague_client.get(accepted).context["rows"] == []
    assert therapist_client.get(url).status_code == 200
    assert unit_admin_client.get(url).status_code == 200
    assert therapist_client.get(accepted).context["rows"] == [registration]


def test_a_new_registration_reads_today_and_no_show_needs_a_booking(
    therapist_client, therapist, registration
):
    url = reverse("intake:registration", args=[registration.pk])
    page = therapist_client.get(url)
    assert "registered today" in page.text
    assert [value for value, _ in page.context["decline_form"].fields["decision"].choices] == [
        "not_suitable"
    ]
    slot = Slot.objects.create(
        unit=registration.offering.unit,
        therapist=therapist,
        starts_at=timezone.now() + datetime.timedelta(days=1),
    )
    actions.slot_book(slot, registration, by=therapist)
    # Not before the time has begun: nobody has missed it yet.
    choices = therapist_client.get(url).context["decline_form"].fields["decision"].choices
    assert [value for value, _ in choices] == ["not_suitable"]
    refused = therapist_client.post(
        url, {"decline": "1", "decision": "no_show", "reason": "Kom inte"}, follow=True
    )
    registration.refresh_from_db()
    assert registration.status == Registration.Status.BOOKED
    assert refused.context["decline_form"]["reason"].value() == "Kom inte"
    with pytest.raises(actions.IntakeError, match="has not begun"):
        actions.registration_decline(
            registration, by=therapist, status=Registration.Status.NO_SHOW, reason="Kom inte"
        )
    Slot.objects.filter(pk=slot.pk).update(starts_at=timezone.now() - datetime.timedelta(hours=1))
    choices = therapist_client.get(url).context["decline_form"].fields["decision"].choices
    assert [value for value, _ in choices] == ["not_suitable", "no_show"]
    therapist_client.post(url, {"decline": "1", "decision": "no_show", "reason": "Kom inte"})
    registration.refresh_from_db()
    assert registration.status == Registration.Status.NO_SHOW
    # The time stays hers, as the record of the assessment she missed; she is told what next.
    slot.refresh_from_db()
    assert slot.registration == registration
    page = Client()
    page.force_login(registration.patient.user)
    mine = page.get(reverse("intake:my_registrations")).text
    assert "To be assessed another time, call the unit, or register again." in mine


def test_screening_answers_before_treatment_do_not_promise_a_therapist(offering):
    """Nobody is her therapist yet, so the thank-you page does not say one sees her answers."""
    from ikbt.measurement.actions import response_submit

    newcomer = factories.PatientFactory()
    registration = actions.registration_submit(
        newcomer, offering, answers={}, register_opt_out=False
    )
    screening = registration.screening.first()
    response_submit(screening, [0] * screening.instrument_version.parsed.answer_count)
    client = Client()
    client.force_login(newcomer.user)
    answered = client.get(reverse("measurement:answered", kwargs={"key": screening.key}))
    assert "The staff who assess your registration see your answers" in answered.text
    assert "Your therapist sees your answers" not in answered.text


def test_a_treatment_is_moved_only_to_a_therapist_of_the_unit_chosen(
    unit, unit_admin, therapist, registration
):
    enrollment = actions.registration_accept(
        registration, by=therapist, therapist=therapist, start_date=timezone.localdate(), note={}
    )
    url = reverse("intake:treatment_transfer", args=[enrollment.pk])
    # The unit administrator is at the unit, but not as a therapist.
    page = verified_client(unit_admin).post(url, {"placement": f"{unit.pk}:{unit_admin.pk}"})
    assert page.status_code == 200
    assert "Select a valid choice" in page.text
    with pytest.raises(TreatmentError, match="does not work at that unit"):
        enrollment_transfer(enrollment, unit=unit, therapist=unit_admin, by=unit_admin)
    enrollment.refresh_from_db()
    assert enrollment.responsible_therapist == therapist
    # Moving it where it is changes nothing, and says so.
    same = verified_client(unit_admin).post(url, {"placement": f"{unit.pk}:{therapist.pk}"})
    assert "The treatment is there already." in same.text
    # A unit of the region that does not offer the program is not offered.
    elsewhere = factories.CareUnitFactory(region=unit.region, name="Ungdomshälsan")
    factories.staff_member(elsewhere, "therapist", username="ung")
    assert "Ungdomshälsan" not in verified_client(unit_admin).get(url).text
    # Without a present therapist nothing is chosen for the administrator.
    Enrollment.objects.filter(pk=enrollment.pk).update(responsible_therapist=None)
    page = verified_client(unit_admin).get(url).text
    assert '<option value="" selected>Choose…</option>' in page
    assert (
        "This field is required" in verified_client(unit_admin).post(url, {"placement": ""}).text
    )


def test_the_queue_links_assessment_times_only_for_those_who_have_them(
    therapist_client, unit_admin_client, registration
):
    slots = reverse("intake:slots")
    assert slots in therapist_client.get(reverse("intake:queue")).text
    queue = unit_admin_client.get(reverse("intake:queue"))
    assert queue.status_code == 200
    assert slots not in queue.text
    assert unit_admin_client.get(slots).status_code == 404  # what the link would have opened


def test_a_treatment_is_not_moved_to_a_closed_account(
    unit, unit_admin, therapist, colleague, registration
):
    enrollment = actions.registration_accept(
        registration, by=therapist, therapist=therapist, start_date=timezone.localdate(), note={}
    )
    colleague.is_active = False
    colleague.save(update_fields=["is_active"])
    url = reverse("intake:treatment_transfer", args=[enrollment.pk])
    page = verified_client(unit_admin).get(url)
    assert f'value="{unit.pk}:{colleague.pk}"' not in page.text
    with pytest.raises(TreatmentError, match="account is closed"):
        enrollment_transfer(enrollment, unit=unit, therapist=colleague, by=unit_admin)
    enrollment.refresh_from_db()
    assert enrollment.responsible_therapist == therapist


def test_a_treatment_is_not_moved_while_the_therapists_reply_waits_for_the_supervisor(
    unit, unit_admin, therapist, colleague, registration
):
    """Once her care ends, the supervisor could no longer open the patient to read it."""
    from ikbt.messaging.actions import message_release, thread_start
    from ikbt.organisations.models import StaffRole, Supervision

    enrollment = actions.registration_accept(
        registration, by=therapist, therapist=therapist, start_date=timezone.localdate(), note={}
    )
    supervisor = factories.staff_member(unit, StaffRole.SUPERVISOR, first_name="Hanna")
    Supervision.objects.create(
        supervisor=supervisor, supervisee=therapist, unit=unit, review_messages=True
    )
    thread = thread_start(enrollment.patient, therapist, "Välkommen", "Hej!")
    with pytest.raises(TreatmentError, match="waits for the supervisor"):
        enrollment_transfer(enrollment, unit=unit, therapist=colleague, by=unit_admin)
    enrollment.refresh_from_db()
    assert enrollment.responsible_therapist == therapist
    message_release(thread.messages.get(), supervisor)
    enrollment_transfer(enrollment, unit=unit, therapist=colleague, by=unit_admin)
    enrollment.refresh_from_db()
    assert enrollment.responsible_therapist == colleague


def test_the_patient_cancels_a_booked_time_and_books_another(
    patient_client, patient, offering, colleague, django_capture_on_commit_callbacks
):
    registration = Registration.objects.create(patient=patient, offering=offering)
    later = [
        Slot.objects.create(
            unit=offering.unit,
            therapist=colleague,  # not yet in her care: the booking makes him her assessor
            starts_at=timezone.now() + datetime.timedelta(days=days),
        )
        for days in (2, 4)
    ]
    mine = reverse("intake:my_registrations")
    patient_client.post(mine, {"registration": registration.pk, "slot": later[0].pk})
    assessor = CareRelationship.objects.active().get(patient=patient, staff=colleague)
    assert assessor.role == CareRelationship.Role.ASSESSOR
    page = patient_client.get(mine).text
    assert "I cannot come at this time" in page

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        done = patient_client.post(
            mine, {"registration": registration.pk, "cancel": "1"}, follow=True
        )
    assert "Your time is cancelled. Book another below." in done.text
    registration.refresh_from_db()
    later[0].refresh_from_db()
    assert (registration.status, later[0].registration) == (Registration.Status.SUBMITTED, None)
    # The assessor no longer sees her, and is told that a time is free, not whose.
    assessor.refresh_from_db()
    assert assessor.ended_at is not None
    [notice] = mail.outbox
    assert notice.to == [colleague.email]
    assert notice.subject == "Open iKBT: en bokad bedömningstid är ledig igen"  # his language
    assert patient.full_name not in notice.body
    # Both times are free to book again.
    assert done.context["rows"][0][1] == later
    again = patient_client.post(
        mine, {"registration": registration.pk, "cancel": "1"}, follow=True
    )
    assert "There is no booked time to cancel." in again.text


def test_waiting_without_times_to_book_she_is_told_what_happens(patient_client, patient, offering):
    Registration.objects.create(patient=patient, offering=offering)
    page = patient_client.get(reverse("intake:my_registrations")).text
    assert "The unit books a time for you, and you are told by text message or e-mail" in page
    # Not once the registration is withdrawn: nothing is booked then.
    Registration.objects.filter(patient=patient).update(status=Registration.Status.WITHDRAWN)
    page = patient_client.get(reverse("intake:my_registrations")).text
    assert "The unit books a time for you" not in page


def test_a_time_less_than_a_day_away_is_cancelled_by_calling_the_unit(
    patient_client, patient, offering, colleague
):
    registration = Registration.objects.create(patient=patient, offering=offering)
    soon = Slot.objects.create(
        unit=offering.unit,
        therapist=colleague,
        starts_at=timezone.now() + datetime.timedelta(hours=20),
    )
    mine = reverse("intake:my_registrations")
    assert (
        "The unit has no free times to book here just now." not in patient_client.get(mine).text
    )  # there is one
    patient_client.post(mine, {"registration": registration.pk, "slot": soon.pk})
    page = patient_client.get(mine).text
    assert "I cannot come at this time" not in page
    # What to do instead is said where she looks, with the unit's number to tap.
    assert "Cannot come? The time is less than a day away: call the unit." in page
    offering.unit.phone = "013-20 20 00"
    offering.unit.save(update_fields=["phone"])
    page = patient_client.get(mine).text
    assert '<a href="tel:013202000">013-20 20 00</a>' in page
    refused = patient_client.post(
        mine, {"registration": registration.pk, "cancel": "1"}, follow=True
    )
    assert "The time is less than a day away: call the unit to cancel it." in refused.text
    soon.refresh_from_db()
    assert soon.registration == registration


@pytest.mark.parametrize("count", [1, 3])
def test_my_registrations_asks_the_same_queries_however_many_wait(
    patient_client, patient, offering, therapist, count, django_assert_num_queries
):
    for number in range(count):
        Registration.objects.create(patient=patient, offering=offering)
        Slot.objects.create(
            unit=offering.unit,
            therapist=therapist,
            starts_at=timezone.now() + datetime.timedelta(days=2 + number),
        )
    mine = reverse("intake:my_registrations")
    patient_client.get(mine)
    # Session, user, patient, registrations, their screening, the free times, the titles.
    with django_assert_num_queries(7):
        page = patient_client.get(mine)
    assert all(len(times) == count for _registration, times in page.context["rows"])


def test_booking_for_a_patient_and_the_list_of_times_are_in_her_access_log(
    therapist_client, therapist, registration, offering
):
    from ikbt.audit.models import AccessLogEntry

    slot = Slot.objects.create(
        unit=offering.unit,
        therapist=therapist,
        starts_at=timezone.now() + datetime.timedelta(days=3),
    )
    therapist_client.post(
        reverse("intake:registration", args=[registration.pk]), {"book": "1", "slot": slot.pk}
    )
    booked = AccessLogEntry.objects.get(detail="assessment booked")
    assert (booked.actor, booked.patient, booked.unit, booked.action) == (
        therapist,
        registration.patient,
        offering.unit,
        "change",
    )
    page = therapist_client.get(reverse("intake:slots"))
    assert registration.patient.full_name in page.text
    listed = AccessLogEntry.objects.get(detail="assessment times")
    assert (listed.actor, listed.patient, listed.action) == (
        therapist,
        registration.patient,
        "read",
    )


def test_a_therapist_cannot_publish_overlapping_times_and_takes_back_a_free_one(
    therapist_client, therapist, registration, offering
):
    slots = reverse("intake:slots")
    day = timezone.localdate() + datetime.timedelta(days=3)

    def publish(hhmm: str, minutes: int = 45):
        return therapist_client.post(
            slots,
            {
                "unit": offering.unit.pk,
                "starts_at": f"{day.isoformat()}T{hhmm}",
                "minutes": minutes,
                "mode": "phone",
            },
        )

    assert publish("09:00").status_code == 302
    refused = publish("09:15")
    assert refused.status_code == 200
    assert f"You already have a time then: {day.isoformat()} 09:00–09:45." in refused.text
    assert publish("08:30", 60).status_code == 200  # runs into it
    assert publish("09:45").status_code == 302  # right after: fine
    assert Slot.objects.count() == 2
    first, second = Slot.objects.order_by("starts_at")
    actions.slot_book(second, registration, by=therapist)
    page = therapist_client.post(slots, {"remove": first.pk}, follow=True)
    assert "The time is removed." in page.text
    page = therapist_client.post(slots, {"remove": second.pk}, follow=True)
    assert "The time is booked: it stays." in page.text
    assert list(Slot.objects.all()) == [second]
    # Removed already (a second click): nothing to say but that it is gone.
    page = therapist_client.post(slots, {"remove": first.pk}, follow=True)
    assert "The time is removed." in page.text
    # A colleague booking the removed time from an open page is told, not shown a 404.
    other = actions.registration_submit(
        factories.PatientFactory(), offering, answers={}, register_opt_out=False
    )
    page = therapist_client.post(
        reverse("intake:registration", args=[other.pk]),
        {"book": "1", "slot": first.pk, "unsent:id_problem": "Oro"},
    )
    assert page.status_code == 200
    assert "The time is no longer offered. Choose another." in page.text
    assert "Oro</textarea>" in page.text


def test_a_time_the_clocks_skip_is_refused_in_plain_words(therapist_client, offering):
    # 2027-03-28 02:30 does not exist in Stockholm: the clocks go from 02:00 to 03:00.
    page = therapist_client.post(
        reverse("intake:slots"),
        {
            "unit": offering.unit.pk,
            "starts_at": "2027-03-28T02:30",
            "minutes": 45,
            "mode": "phone",
        },
    )
    assert "The clocks change at that hour (summer time): choose another time." in page.text
    assert "couldn’t be interpreted" not in page.text
    assert not Slot.objects.exists()


def register_young(young, offering: Offering, *, guardian_serial: int) -> Registration:
    """A young person's registration, with her guardian's consent as she states it."""
    return actions.registration_submit(
        young,
        offering,
        answers={},
        register_opt_out=False,
        guardian_name="Anna Förälder",
        guardian_personal_number=factories.personal_number("19800101", guardian_serial),
        guardian_phone="070-123 45 67",
    )


def test_a_young_persons_yes_about_suicidal_thoughts_at_screening_reaches_the_unit(
    unit, therapist, unit_admin, django_capture_on_commit_callbacks
):
    """The youth program's RCADS-25 and SMFQ ask nothing about suicide; its ASQ does, and a
    "yes" (here only to an attempt long ago) is a risk flag the unit is told of at once."""
    from ikbt.measurement.actions import response_submit
    from ikbt.measurement.models import RiskFlag
    from ikbt.programs.package import PACKAGES

    data, problems = read_package(PACKAGES / "unga-angest-oro")
    assert problems == []
    version = version_publish(program_import(data, unit.region), None)
    youth = Offering.objects.create(unit=unit, program=version.program)
    young = person_born(datetime.date(2011, 3, 1), 711)
    registration = register_young(young, youth, guardian_serial=712)
    asked = set(
        registration.screening.values_list("instrument_version__instrument__code", flat=True)
    )
    assert asked == {"RCADS-25", "SMFQ", "ASQ"}
    asq = registration.screening.get(instrument_version__instrument__code="ASQ")
    with django_capture_on_commit_callbacks(execute=True):
        response_submit(asq, [0, 0, 0, 1, 0])
    flag = RiskFlag.objects.get()
    assert (flag.unit, flag.is_acute, flag.escalated_at) == (unit, False, None)
    assert sorted(notice.to[0] for notice in mail.outbox) == sorted(
        [therapist.email, unit_admin.email]
    )
    assert all("ASQ" not in notice.body and "liv" not in notice.body for notice in mail.outbox)
    # She is shown where young people get help now.
    client = Client()
    client.force_login(young.user)
    answered = client.get(reverse("measurement:answered", kwargs={"key": asq.key})).text
    assert "BRIS" in answered and "tel:112" in answered
    assert "Your score on ASQ" not in answered  # a count of "yes" is no score to show her
    assert "ASQ" not in client.get(reverse("measurement:my_scores")).text

    # Thoughts of taking her life right now (question 5): acute, and the unit's head is told
    # at once, not after a working day.
    other = person_born(datetime.date(2011, 4, 1), 713)
    second = register_young(other, youth, guardian_serial=714)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response_submit(
            second.screening.get(instrument_version__instrument__code="ASQ"), [0, 0, 0, 0, 1]
        )
    acute = RiskFlag.objects.get(patient=other)
    assert acute.is_acute and acute.escalated_at is not None
    client.force_login(other.user)
    answered = client.get(reverse("measurement:answered", kwargs={"key": acute.response.key}))
    assert "Call 112 now, or ask an adult to take you to an emergency department" in (
        answered.text
    )
    # Told as everyone at the unit is (the head once, not a second time as its head).
    assert sorted(notice.to[0] for notice in mail.outbox) == sorted(
        [therapist.email, unit_admin.email]
    )
    page = verified_client(therapist).get(reverse("intake:registration", args=[second.pk]))
    assert page.text.count("Acute: assess at once") == 1


def test_triage_reads_each_screening_answer_question_by_question(
    offering, therapist, colleague, outsider
):
    """Before deciding, the unit's therapists read the answers behind each screening total;
    exactly those who may see the registration (intake.access), each read logged; others
    get 404, the denial logged."""
    from ikbt.measurement.actions import response_submit

    newcomer = actions.registration_submit(
        factories.PatientFactory(), offering, answers={}, register_opt_out=False
    )
    phq9 = newcomer.screening.get(instrument_version__instrument__code="PHQ-9")
    gad7 = newcomer.screening.get(instrument_version__instrument__code="GAD-7")
    response_submit(phq9, [1] * 9)
    answers = reverse("measurement:staff_answer", args=[phq9.pk])
    registration_url = reverse("intake:registration", args=[newcomer.pk])

    page = verified_client(colleague).get(registration_url).text
    assert f'<a href="{answers}">PHQ-9: 9 (Mild)</a>' in page
    assert reverse("measurement:staff_answer", args=[gad7.pk]) not in page  # not answered
    read = verified_client(colleague).get(answers)
    assert read.status_code == 200
    assert read.context["rows"][0]["value"] == 1
    # Back to the registration: her measurements are for those who have her in their care.
    assert f'<a href="{registration_url}">← Registration</a>' in read.text
    assert AccessLogEntry.objects.filter(
        actor=colleague,
        patient=newcomer.patient,
        unit=offering.unit,
        action=AccessLogEntry.Action.READ,
        object_type="measurement.Response",
        object_id=str(phq9.pk),
        detail="questionnaire",
    ).exists()

    # A questionnaire not yet answered is not read, nor is anything by someone outside.
    assert (
        verified_client(colleague)
        .get(reverse("measurement:staff_answer", args=[gad7.pk]))
        .status_code
        == 404
    )
    assert verified_client(outsider).get(answers).status_code == 404
    assert AccessLogEntry.objects.filter(
        actor=outsider,
        patient=newcomer.patient,
        action=AccessLogEntry.Action.DENIED,
        detail="questionnaire",
    ).exists()
    assert not AccessLogEntry.objects.filter(
        actor=outsider, action=AccessLogEntry.Action.READ
    ).exists()

    # Decided: the therapist who decided reads it still, the colleague no longer.
    actions.registration_decline(
        newcomer, by=therapist, status=Registration.Status.NOT_SUITABLE, reason="Annan vård"
    )
    assert verified_client(therapist).get(answers).status_code == 200
    assert verified_client(colleague).get(answers).status_code == 404


def test_a_screening_questionnaire_answered_in_treatment_is_not_read_through_triage(
    offering, therapist, colleague
):
    """One left unanswered at screening becomes the treatment's pre-treatment questionnaire
    when she is accepted: answered then, it is her care team's to read, not the deciding
    therapist's (who keeps the registration but has no care relationship)."""
    from ikbt.measurement.actions import response_submit

    newcomer = actions.registration_submit(
        factories.PatientFactory(), offering, answers={}, register_opt_out=False
    )
    gad7 = newcomer.screening.get(instrument_version__instrument__code="GAD-7")
    actions.registration_accept(
        newcomer,
        by=therapist,
        therapist=colleague,
        start_date=timezone.localdate(),
        note={},
    )
    gad7.refresh_from_db()
    assert gad7.occasion == "pre"
    response_submit(gad7, [1] * 7)
    answers = reverse("measurement:staff_answer", args=[gad7.pk])
    assert verified_client(therapist).get(answers).status_code == 404
    assert verified_client(colleague).get(answers).status_code == 200
    page = verified_client(therapist).get(reverse("intake:registration", args=[newcomer.pk]))
    assert answers not in page.text


def test_a_free_time_she_could_not_cancel_here_is_marked(patient_client, patient, offering):
    registration = Registration.objects.create(patient=patient, offering=offering)
    soon, later = (
        Slot.objects.create(
            unit=offering.unit,
            therapist=factories.staff_member(offering.unit, "therapist", username=f"t{hours}"),
            starts_at=timezone.now() + datetime.timedelta(hours=hours),
        )
        for hours in (20, 50)
    )
    page = patient_client.get(reverse("intake:my_registrations"))
    assert page.context["rows"][0] == (registration, [soon, later])
    choices = page.text.split('<ul class="options">')[1].split("</ul>")[0].split("</li>")
    note = "less than a day away: it cannot be cancelled here, only by calling the unit"
    assert [note in choice for choice in choices[:2]] == [True, False]
    assert f'value="{soon.pk}"' in choices[0]


def test_my_registrations_links_to_the_e_service_page_for_another_program(
    patient_client, patient, offering, other_region_unit
):
    """Her home region's page; where the region does not know where she lives, that of the
    region she registered in."""
    mine = reverse("intake:my_registrations")
    home = reverse("intake:eservice", args=[patient.home_region.code])
    link = (
        f'<a href="{home}">Register for another program on the e-service page of '
        f"{patient.home_region.name}</a>"
    )
    assert link in patient_client.get(mine).text  # none yet: her home region's

    elsewhere = factories.PatientFactory(home_region=None)
    client = Client()
    client.force_login(elsewhere.user)
    assert "Register for another program" not in client.get(mine).text  # nowhere known
    Registration.objects.create(
        patient=elsewhere,
        offering=Offering.objects.create(unit=other_region_unit, program=offering.program),
    )
    there = reverse("intake:eservice", args=[other_region_unit.region.code])
    page = client.get(mine).text
    assert f'<a href="{there}">Register for another program' in page
    assert page.count("Register for another program") == 1


def test_the_residence_box_left_unticked_is_said_once_at_the_top_and_at_the_box(offering):
    Offering.objects.filter(pk=offering.pk).update(intake=Offering.Intake.RESIDENTS)
    newcomer = factories.PatientFactory(home_region=None)
    client = Client()
    client.force_login(newcomer.user)
    register = reverse("intake:register", args=[offering.pk])
    page = client.post(register, FORM).text
    message = "This unit takes patients who live in Region Östergötland."
    assert page.count(message) == 2
    summary, form = page.split('<form method="post" novalidate>')
    form = form.split("</form>")[0]
    assert message in summary and 'href="#id_lives_here"' in summary
    # In the form, at the box, not above it.
    at_box = form.split('name="lives_here"')[0].rsplit('<div class="field check">', 1)[1]
    assert message in at_box
    assert form.count(message) == 1
    assert FORM["situation"] in page  # nothing typed is lost
    assert not Registration.objects.exists()
    client.post(register, {**FORM, "lives_here": "on"})
    assert Registration.objects.get().patient == newcomer


def test_the_registration_page_says_how_to_reach_the_patient(therapist_client, registration):
    """The assessment is booked or a question asked by phone: her number is on the page."""
    page = therapist_client.get(reverse("intake:registration", args=[registration.pk])).text
    mobile = registration.patient.mobile
    assert f'<a href="tel:{mobile}">{mobile}</a>' in page
    assert "Protected identity" not in page
    registration.patient.protected_identity = True
    registration.patient.save(update_fields=["protected_identity"])
    page = therapist_client.get(reverse("intake:registration", args=[registration.pk])).text
    assert "Protected identity: never pass on the contact details" in page
