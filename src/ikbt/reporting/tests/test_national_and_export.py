"""The national comparison and the register officer's download agree with the export and
``kpi`` on the small fixture whose figures are computed by hand in test_kpi."""

import csv
import io
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from ikbt import factories
from ikbt.audit.models import AccessLogEntry
from ikbt.conftest import verified_client
from ikbt.intake.models import Offering, Registration
from ikbt.organisations.models import Region, StaffRole
from ikbt.reporting.kpi import kpi, national
from ikbt.reporting.register import DICTIONARY, FIELDS, ICD10
from ikbt.reporting.tests.test_kpi import twelve_ended  # noqa: F401 (fixture)
from ikbt.treatment.models import Enrollment

NATIONAL = reverse("reporting:national")
EXPORT = reverse("reporting:register_export")


@pytest.fixture
def officer(unit):
    return factories.staff_member(unit, StaffRole.REGISTER_OFFICER, username="register")


def this_month() -> str:
    today = timezone.localdate()
    return f"{today.year}-{today.month:02d}"


def test_every_region_with_starts_per_100000(twelve_ended):  # noqa: F811
    # Five more starts this month make the starts cell big enough to show.
    version = Enrollment.objects.first().program_version
    unit = Enrollment.objects.first().unit
    for _ in range(5):
        Enrollment.objects.create(
            patient=factories.PatientFactory(), unit=unit, program_version=version
        )
    rows = national(this_month())
    assert len(rows) == 21 == Region.objects.count()
    ostergotland = next(row for row in rows if row["region"].code == "05")
    # 5 starts among 472,000 inhabitants: 5 / 472000 × 100000 = 1.06
    assert ostergotland["starts"] == 5
    assert ostergotland["starts_per_100000"] == round(100_000 * 5 / 472_000, 1) == 1.1
    figures = kpi("05", this_month())
    for key in ("cohens_d", "completed_share", "reliably_improved_share", "recovered_share"):
        assert ostergotland[key] == figures[key]
    stockholm = next(row for row in rows if row["region"].code == "01")
    assert stockholm["starts"] is None and stockholm["starts_per_100000"] is None


def test_small_regions_are_suppressed_on_the_page(twelve_ended, officer):  # noqa: F811
    page = verified_client(officer).get(NATIONAL, {"period": this_month()})
    assert page.status_code == 200
    row = next(row for row in page.context["table"] if row[0] == "Region Östergötland")
    assert row[2] is None  # no starts this month (they started 12 weeks ago): fewer than 5
    assert row[8] == 0.6  # Cohen's d over the twelve who ended
    # Inhabitants grouped as the page's language writes them; the file keeps plain digits.
    assert "<td>472,000</td>" in page.text
    swedish = verified_client(officer).get(
        NATIONAL, {"period": this_month()}, HTTP_ACCEPT_LANGUAGE="sv"
    )
    assert "<td>472\xa0000</td>" in swedish.text
    csv_text = (
        verified_client(officer).get(NATIONAL, {"period": this_month(), "format": "csv"}).text
    )
    assert csv_text.count("\n") == 22  # a header and 21 regions
    assert "Region Östergötland,472000,,,,,,0.583,0.6,0.5,0.417" in csv_text


def test_national_comparison_is_only_for_statistics_roles(therapist_client, db):
    assert therapist_client.get(NATIONAL).status_code == 404


def test_officer_downloads_the_same_records_as_the_command(twelve_ended, officer):  # noqa: F811
    client = verified_client(officer)
    today = timezone.localdate().isoformat()
    download = client.post(
        EXPORT, {"region": "05", "date_from": today, "date_to": today, "format": "csv"}
    )
    assert download["Content-Disposition"].endswith('-pseudonymised.csv"')
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert len(rows) == 12
    # The file agrees with kpi: six of twelve reliably improved, five of twelve recovered.
    assert sum(row["reliable_improvement"] == "True" for row in rows) == 6
    assert sum(row["remission"] == "True" for row in rows) == 5
    entries = AccessLogEntry.objects.filter(action="export", actor=officer)
    assert entries.count() == 12
    assert {entry.unit for entry in entries} == {Enrollment.objects.first().unit}


def test_opted_out_patients_never_appear(twelve_ended, officer):  # noqa: F811
    enrollment = Enrollment.objects.order_by("pk").first()
    offering = Offering.objects.create(
        unit=enrollment.unit, program=enrollment.program_version.program
    )
    Registration.objects.create(
        patient=enrollment.patient, offering=offering, register_opt_out=True
    )
    today = timezone.localdate().isoformat()
    download = verified_client(officer).post(
        EXPORT, {"date_from": today, "date_to": today, "format": "csv"}
    )
    text = b"".join(download.streaming_content).decode()
    assert len(list(csv.DictReader(io.StringIO(text)))) == 11
    assert kpi("05", this_month())["ended"] == 11
    ostergotland = next(row for row in national(this_month()) if row["region"].code == "05")
    assert ostergotland["ended"] == 11


def test_export_form_keeps_what_was_typed_and_explains(officer):
    page = verified_client(officer).post(
        EXPORT, {"date_from": "2026-05-01", "date_to": "2026-01-01", "format": "csv"}
    )
    assert page.status_code == 200
    assert "The end date is before the start date." in page.text
    assert 'value="2026-05-01"' in page.text


def test_a_period_with_nothing_to_send_says_so_instead_of_an_empty_file(officer):
    page = verified_client(officer).post(
        EXPORT, {"date_from": "2026-01-01", "date_to": "2026-01-31", "format": "csv"}
    )
    assert page.status_code == 200  # the page again, not a file with only a header
    assert "there is nothing to download" in page.text
    assert 'value="2026-01-31"' in page.text
    assert not AccessLogEntry.objects.filter(action="export").exists()


def test_only_register_officers_download(unit_admin_client, db):
    assert unit_admin_client.get(EXPORT).status_code == 404


def test_data_dictionary_defines_every_field_of_the_file_in_order(officer):
    defined = [name for fields, _kind, _definition in DICTIONARY for name in fields]
    assert defined == FIELDS
    docs = (Path(__file__).resolve().parents[4] / "docs" / "register.md").read_text()
    assert [name for name in FIELDS if f"`{name}`" not in docs] == []

    client = verified_client(officer)
    export_page = client.get(EXPORT).text
    dictionary = reverse("reporting:register_dictionary")
    assert dictionary in export_page
    # The form looks like every other: a label above each field, a box before its text.
    assert '<div class="field check">' in export_page
    assert '<div class="field">\n  <label for="id_date_from">' in export_page
    page = client.get(dictionary)
    assert [name for name in FIELDS if f"<code>{name}</code>" not in page.text] == []
    assert [code for code in ICD10.values() if f"<code>{code}</code>" not in page.text] == []
    assert "Exhaustion disorder" in page.text
    sv = client.get(dictionary, HTTP_ACCEPT_LANGUAGE="sv").text
    assert "Utmattningssyndrom" in sv


def test_a_link_to_the_export_downloads_nothing(twelve_ended, officer):  # noqa: F811
    """Each download writes every treatment in it to the access log under the officer's name:
    a link followed or prefetched only shows the form."""
    today = timezone.localdate().isoformat()
    page = verified_client(officer).get(
        EXPORT, {"region": "05", "date_from": today, "date_to": today, "identify": "on"}
    )
    assert page.status_code == 200 and '<form method="post"' in page.text
    assert not AccessLogEntry.objects.filter(action="export").exists()
