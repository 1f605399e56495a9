import pytest
from django.urls import reverse
from django.utils import timezone

from ikbt import factories
from ikbt.conftest import verified_client
from ikbt.organisations.models import StaffRole
from ikbt.reporting.kpi import kpi
from ikbt.reporting.tests.test_kpi import six_ended  # noqa: F401 (fixture)

URL = reverse("reporting:statistics")


@pytest.fixture
def officer_client(unit):
    return verified_client(
        factories.staff_member(unit, StaffRole.REGISTER_OFFICER, username="register")
    )


def test_page_shows_the_same_figures_as_kpi(officer_client, six_ended):  # noqa: F811
    today = timezone.localdate()
    period = f"{today.year}-{today.month:02d}"
    page = officer_client.get(URL, {"region": "05", "period": period})
    assert page.context["figures"] == kpi("05", period)
    assert "1.46" in page.text
    assert "<svg" in page.text
    csv_text = officer_client.get(URL, {"region": "05", "period": period, "format": "csv"}).text
    assert "cohens_d,1.46" in csv_text


def test_small_months_are_suppressed(officer_client, enrollment):
    page = officer_client.get(URL)
    month = timezone.localdate().month
    assert page.context["months"][month - 1][1] is None  # one start: shown as –


def test_bad_period_is_explained(officer_client, db):
    page = officer_client.get(URL, {"period": "förra året"})
    assert "is not a period" in page.text


def test_therapists_and_other_regions_get_404(therapist_client, officer_client):
    assert therapist_client.get(URL).status_code == 404
    assert officer_client.get(URL, {"region": "18"}).status_code == 404
