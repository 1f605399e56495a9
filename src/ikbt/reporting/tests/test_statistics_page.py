import pytest
from django.urls import reverse
from django.utils import timezone

from ikbt import factories
from ikbt.conftest import verified_client
from ikbt.organisations.models import StaffRole
from ikbt.reporting.kpi import kpi
from ikbt.reporting.tests.test_kpi import twelve_ended  # noqa: F401 (fixture)
from ikbt.reporting.views import FIGURE_NAMES, _figure_rows

URL = reverse("reporting:statistics")


@pytest.fixture
def officer_client(unit):
    return verified_client(
        factories.staff_member(unit, StaffRole.REGISTER_OFFICER, username="register")
    )


def test_page_shows_the_same_figures_as_kpi(officer_client, twelve_ended):  # noqa: F811
    today = timezone.localdate()
    period = f"{today.year}-{today.month:02d}"
    page = officer_client.get(URL, {"region": "05", "period": period})
    assert page.context["figures"] == kpi("05", period)
    assert "<dd>0.6</dd>" in page.text
    # Shares as percentages, the way the page's language writes them; the files keep 0.583.
    assert "<dd>58%</dd>" in page.text
    swedish_page = officer_client.get(
        URL, {"region": "05", "period": period}, HTTP_ACCEPT_LANGUAGE="sv"
    )
    assert "<dd>58\xa0%</dd>" in swedish_page.text
    assert "<svg" in page.text
    csv_text = officer_client.get(URL, {"region": "05", "period": period, "format": "csv"}).text
    assert "Cohen's d,0.6,cohens_d" in csv_text
    assert "Registration to start: median days," in csv_text
    sv = officer_client.get(
        URL, {"region": "05", "period": period, "format": "csv"}, HTTP_ACCEPT_LANGUAGE="sv"
    ).text
    assert "Genomförda (andel av avslutade);0,583;completed_share" in sv


def test_every_key_figure_has_a_name_for_the_spreadsheet(db):
    figures = kpi("05", "2026H1")
    assert [row[2] for row in _figure_rows(figures)] == list(FIGURE_NAMES)  # in kpi's order


def test_small_months_are_suppressed(officer_client, enrollment):
    page = officer_client.get(URL)
    month = timezone.localdate().month
    starts = next(chart for chart in page.context["series"] if chart["key"] == "starts")
    assert starts["rows"][month - 1][1] is None  # one start: shown as –
    # In the chart a hidden figure is a low dashed outline, not a bar of 0.
    [bar] = [bar for bar in starts["bars"] if bar["hidden"] and bar["kind"] == "now"]
    assert bar["height"] == 6
    assert page.text.count('class="hidden-figure"') >= 1


def test_quarters_and_half_years_fold_the_months(officer_client, twelve_ended):  # noqa: F811
    today = timezone.localdate()
    page = officer_client.get(URL, {"by": "quarter"})
    starts = next(chart for chart in page.context["series"] if chart["key"] == "starts")
    assert [label for label, _now, _before in starts["rows"]] == ["Q1", "Q2", "Q3", "Q4"]
    # The twelve started twelve weeks ago; the quarter they started in holds all twelve.
    started = today - timezone.timedelta(weeks=12)
    if started.year == today.year:
        assert starts["rows"][(started.month - 1) // 3][1] == 12
    half = officer_client.get(URL, {"by": "half", "table": "starts", "format": "csv"}).text
    assert half.lstrip("\ufeff").splitlines()[0] == f"Half-year,{today.year},{today.year - 1}"


def test_breakdowns_per_unit_program_and_therapist(unit_admin_client, twelve_ended, unit):  # noqa: F811
    today = timezone.localdate()
    period = f"{today.year}-{today.month:02d}"
    other = factories.CareUnitFactory(name="Vårdcentralen Lambohov")
    page = unit_admin_client.get(URL, {"period": period})
    tables = {table["key"]: table for table in page.context["breakdowns"]}
    assert set(tables) == {"unit", "program", "therapist"}
    (unit_row,) = tables["unit"]["rows"]
    assert unit_row["name"] == unit.name != other.name
    assert unit_row["values"][5:9] == [12, round(7 / 12, 3), round(5 / 12, 3), 0.6]
    # Named as its patients know it, by the published title, not the short name.
    assert [row["name"] for row in tables["program"]["rows"]] == ["Example: managing anxiety"]
    (therapist_row,) = tables["therapist"]["rows"]
    # A therapist has no registrations or waits of her own: those columns are left out.
    assert "Median days to start" not in tables["therapist"]["columns"]
    assert therapist_row["values"][5] == 0.6
    csv_text = unit_admin_client.get(URL, {"period": period, "table": "unit", "format": "csv"})
    assert f"{unit.name},,,,,,12,0.583,0.417,0.6" in csv_text.text
    # On a Swedish page the file is written for a Swedish spreadsheet: ; and decimal commas,
    # and the mark that makes Excel read å, ä and ö.
    swedish = unit_admin_client.get(
        URL, {"period": period, "table": "unit", "format": "csv"}, HTTP_ACCEPT_LANGUAGE="sv"
    )
    assert swedish.content.startswith("\ufeff".encode())
    assert f"{unit.name};;;;;;12;0,583;0,417;0,6" in swedish.content.decode()


def test_a_unit_head_sees_only_their_own_units(unit_admin_client, twelve_ended, unit):  # noqa: F811
    other = factories.CareUnitFactory(name="Vårdcentralen Lambohov")
    factories.staff_member(other, StaffRole.THERAPIST, username="annan")
    today = timezone.localdate()
    page = unit_admin_client.get(URL, {"period": f"{today.year}-{today.month:02d}"})
    assert page.context["unit_limited"] is True
    names = {row["name"] for table in page.context["breakdowns"] for row in table["rows"]}
    assert "Vårdcentralen Lambohov" not in names


def test_register_officers_see_no_therapist_table(officer_client, twelve_ended):  # noqa: F811
    today = timezone.localdate()
    page = officer_client.get(URL, {"period": f"{today.year}-{today.month:02d}"})
    assert [table["key"] for table in page.context["breakdowns"]] == ["unit", "program"]


def test_bad_period_is_explained(officer_client, db):
    page = officer_client.get(URL, {"period": "förra året"})
    assert "is not a period" in page.text
    # The box is marked and tied to what is wrong, for a screen reader too.
    assert 'aria-describedby="period-help period-error" aria-invalid="true"' in page.text
    # Written in small letters, a period is read all the same.
    small = officer_client.get(URL, {"period": f"{timezone.localdate().year}h1"})
    assert small.context["period_error"] == "" and small.context["period"].endswith("H1")
    # The charts stay on this year, not on what the refused period seemed to name.
    refused = officer_client.get(URL, {"period": "2019H3"})
    assert "is not a period" in refused.text
    assert refused.context["year"] == timezone.localdate().year
    # A period to come has no figures to show, and is not shown as one of zeros.
    future = f"{timezone.localdate().year + 1}H1"
    page = officer_client.get(URL, {"period": future})
    assert page.context["figures"] is None
    assert f"{future} has not begun yet: choose a period up to today." in page.text


def test_a_whole_years_figures_for_the_annual_report(officer_client, twelve_ended):  # noqa: F811
    year = timezone.localdate().year
    page = officer_client.get(URL, {"period": str(year)})
    assert page.status_code == 200 and page.context["period_error"] == ""
    assert page.context["figures"] is not None


def test_therapists_and_other_regions_get_404(therapist_client, officer_client):
    assert therapist_client.get(URL).status_code == 404
    assert officer_client.get(URL, {"region": "18"}).status_code == 404


def test_a_name_that_looks_like_a_formula_is_written_as_text(
    unit_admin_client,
    twelve_ended,  # noqa: F811
    unit,
):
    """A unit named "=HYPERLINK(…)" would be a link a spreadsheet runs on opening."""
    unit.name = '=HYPERLINK("http://evil.example/";"Vårdcentralen 1")'
    unit.save(update_fields=["name"])
    today = timezone.localdate()
    answer = unit_admin_client.get(
        URL,
        {"period": f"{today.year}-{today.month:02d}", "table": "unit", "format": "csv"},
        HTTP_ACCEPT_LANGUAGE="sv",
    )
    rows = answer.content.decode().lstrip("\ufeff").splitlines()
    assert rows[1].startswith('"\'=HYPERLINK(""http://evil.example/"";""Vårdcentralen 1"")";')
