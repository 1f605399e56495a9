"""Key figures against values computed by hand on a small fixture."""

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from ikbt import factories
from ikbt.intake.tests.test_intake import offering  # noqa: F401 (fixture)
from ikbt.measurement.actions import current_version, response_start, response_submit
from ikbt.reporting.kpi import PeriodError, hide_complements, kpi, period_bounds
from ikbt.treatment import actions as treatment
from ikbt.treatment.models import Enrollment, TimeEntry

# Twelve patients' GAD-7 before and after: (pre, post); GAD-7 reliable change 4, remission
# < 8. Twelve, so that each share rests on five or more on either side and is shown.
SCORES = [(21, 7), (15, 5), (18, 9), (10, 3), (16, 6), (14, 14),
          (12, 17), (9, 15), (8, 13), (11, 16), (7, 12), (13, 7)]  # fmt: skip
DROPPED_OUT = 5  # the last five


@pytest.fixture
def twelve_ended(enrollment, unit, therapist):
    version = enrollment.program_version
    enrollment.delete()
    for index, (pre, post) in enumerate(SCORES):
        patient = factories.PatientFactory()
        factories.care_relationship(patient, therapist, unit)
        started = timezone.now() - datetime.timedelta(weeks=12)
        one = Enrollment.objects.create(
            patient=patient, unit=unit, program_version=version, started_at=started
        )
        response_submit(
            response_start(patient, current_version("GAD-7"), occasion="pre"), _answers(pre)
        )
        TimeEntry.objects.create(enrollment=one, staff=therapist, minutes=120)
        reason = "dropped_out" if index >= len(SCORES) - DROPPED_OUT else "completed"
        treatment.enrollment_end(one, reason=reason, note="", by=therapist)
        post_response = patient.responses.get(
            occasion="post", instrument_version__instrument__code="GAD-7"
        )
        response_submit(post_response, _answers(post))


def _answers(total: int) -> list[int]:
    answers = [0] * 7
    for index in range(total):
        answers[index % 7] += 1
    return answers


def ended_with_summary(like: Enrollment, code: str, pre: int, post: int) -> Enrollment:
    """One more ended treatment beside ``like``, with its register summary as stored."""
    return Enrollment.objects.create(
        patient=factories.PatientFactory(),
        unit=like.unit,
        program_version=like.program_version,
        started_at=like.started_at,
        ended_at=like.ended_at,
        status=Enrollment.Status.ENDED,
        end_reason="completed",
        primary_instrument=code,
        score_pre=pre,
        score_post=post,
    )


def test_periods():
    assert period_bounds("2026H1") == (datetime.date(2026, 1, 1), datetime.date(2026, 6, 30))
    assert period_bounds("2026Q4") == (datetime.date(2026, 10, 1), datetime.date(2026, 12, 31))
    assert period_bounds("2024-02") == (datetime.date(2024, 2, 1), datetime.date(2024, 2, 29))
    assert period_bounds("2025") == (datetime.date(2025, 1, 1), datetime.date(2025, 12, 31))
    for text in ("2026H3", "202", "2026-"):
        with pytest.raises(PeriodError):
            period_bounds(text)


def test_figures_agree_with_hand_computation(twelve_ended):
    today = timezone.localdate()
    period = f"{today.year}-{today.month:02d}"
    figures = kpi("05", period)
    assert figures["ended"] == 12
    assert figures["completed_share"] == round(7 / 12, 3)
    assert figures["dropped_out_share"] == round(5 / 12, 3)
    # Reliable improvement (fall of 4 or more): 21→7, 15→5, 18→9, 10→3, 16→6, 13→7 = 6.
    assert figures["reliably_improved_share"] == round(6 / 12, 3)
    # Deterioration (rise of 4 or more): 12→17, 9→15, 8→13, 11→16, 7→12 = 5.
    # Remission (post < 8): 7, 5, 3, 6, 7 = 5.
    assert figures["deteriorated_share"] == round(5 / 12, 3)
    assert figures["recovered_share"] == round(5 / 12, 3)
    # Cohen's d = (mean pre 154/12 − mean post 124/12) / SD pre (sample SD: √(193.67/11)
    # = 4.196) = 2.5 / 4.196 = 0.60.
    assert figures["cohens_d"] == 0.6
    # 12 × 120 minutes over 12 × 12 weeks = 10 minutes per patient-week.
    assert figures["therapist_minutes_per_patient_week"] == 10.0


def test_a_share_resting_on_fewer_than_five_either_way_is_hidden(twelve_ended):
    """0.8 of 5 ended would say that exactly one dropped out."""
    today = timezone.localdate()
    period = f"{today.year}-{today.month:02d}"
    Enrollment.objects.filter(end_reason="dropped_out").exclude(
        pk=Enrollment.objects.filter(end_reason="dropped_out").order_by("pk").first().pk
    ).update(end_reason="completed")
    figures = kpi("05", period)
    assert figures["ended"] == 12
    assert (figures["completed_share"], figures["dropped_out_share"]) == (None, None)


def test_a_questionnaire_without_a_reliable_change_figure_judges_none(twelve_ended):
    """MADRS-S, PSWQ and others have no reliable-change figure: their treatments are neither
    reliably improved nor not, and the shares are of those that can be judged."""
    from ikbt.measurement.models import Instrument
    from ikbt.treatment.outcome import judge

    madrs = Instrument.objects.get(code="MADRS-S").versions.latest("pk").parsed
    assert madrs.reliable_change is None
    outcome = judge(madrs, 30, 10)
    assert (outcome["reliable_improvement"], outcome["reliable_deterioration"]) == (None, None)
    today = timezone.localdate()
    period = f"{today.year}-{today.month:02d}"
    # Five more, as a scale without the figures would store them: judged by none.
    judged = list(Enrollment.objects.filter(score_pre__isnull=False))
    for enrollment in judged[:5]:
        ended_with_summary(enrollment, "MADRS-S", 30, 10)
    figures = kpi("05", period)
    assert figures["ended"] == 17
    assert figures["reliably_improved_share"] == round(6 / 12, 3)
    assert figures["recovered_share"] == round(5 / 12, 3)


def test_cohens_d_is_worked_out_on_each_scale_and_then_weighed(twelve_ended):
    """GAD-7's d is 0.60 (above); five MADRS-S treatments of 30, 32, 34, 36, 38 → 10 each
    have d = 24 / 3.162 = 7.59. Weighted 12 : 5 that is 2.65; the raw totals pooled would
    give one mean and SD across two scales, which means nothing."""
    enrollment = Enrollment.objects.filter(score_pre__isnull=False).first()
    for pre in (30, 32, 34, 36, 38):
        ended_with_summary(enrollment, "MADRS-S", pre, 10)
    today = timezone.localdate()
    figures = kpi("05", f"{today.year}-{today.month:02d}")
    madrs_d = (34 - 10) / (10**0.5)
    assert figures["cohens_d"] == round((0.5958 * 12 + madrs_d * 5) / 17, 2)


def test_the_share_started_within_the_waiting_target(offering, settings):  # noqa: F811
    """Ten accepted this month: five started within 14 days of registering (the 14th day
    counts) and five later, so half. An eleventh within: 6 of 11. Against 30 days, nine
    within and two not: hidden, since two is fewer than five."""
    from ikbt.intake.models import Registration

    settings.WAITING_TARGET_DAYS = 14
    today = timezone.localdate()
    registered = timezone.make_aware(datetime.datetime(today.year, today.month, 1, 9))

    def accepted(days: int) -> None:
        Registration.objects.create(
            patient=factories.PatientFactory(),
            offering=offering,
            registered_at=registered,
            status=Registration.Status.ACCEPTED,
            start_date=timezone.localdate(registered) + datetime.timedelta(days=days),
        )

    for days in (3, 7, 10, 14, 14):
        accepted(days)
    for days in (15, 20, 30, 45, 60):
        accepted(days)
    period = f"{today.year}-{today.month:02d}"
    waiting = kpi("05", period)["waiting_registration_to_start"]
    assert waiting["n"] == 10
    assert waiting["within_target"] == 0.5  # 14 days is within
    assert waiting["median"] == 14.5
    accepted(5)
    assert kpi("05", period)["waiting_registration_to_start"]["within_target"] == round(6 / 11, 3)
    settings.WAITING_TARGET_DAYS = 30
    assert kpi("05", period)["waiting_registration_to_start"]["within_target"] is None  # 9:2


def test_small_cells_are_suppressed(enrollment):
    today = timezone.localdate()
    figures = kpi("05", f"{today.year}-{today.month:02d}")
    assert figures["starts"] is None  # one start: fewer than 5
    assert figures["cumulative_starts"] is None  # nor since go-live
    assert figures["cohens_d"] is None


def test_a_treatment_is_a_start_once_its_first_day_has_come(enrollment, unit):
    """Accepted to start later (here: a minute from now), it is not counted yet."""
    version = enrollment.program_version
    for _ in range(5):
        Enrollment.objects.create(
            patient=factories.PatientFactory(), unit=unit, program_version=version
        )
    Enrollment.objects.filter(pk=enrollment.pk).update(
        started_at=timezone.now() + datetime.timedelta(minutes=1)
    )
    today = timezone.localdate()
    figures = kpi("05", f"{today.year}-{today.month:02d}")
    assert (figures["starts"], figures["cumulative_starts"]) == (5, 5)


def test_starts_since_go_live_are_shown_from_five(twelve_ended):
    today = timezone.localdate()
    assert kpi("05", f"{today.year}-{today.month:02d}")["cumulative_starts"] == 12


def test_kpi_command_prints_json_and_refuses_bad_input(twelve_ended):
    today = timezone.localdate()
    out = io.StringIO()
    call_command(
        "kpi",
        "--region",
        "05",
        "--period",
        f"{today.year}-{today.month:02d}",
        "--json",
        stdout=out,
    )
    assert json.loads(out.getvalue())["ended"] == 12
    with pytest.raises(CommandError) as error:
        call_command("kpi", "--region", "05", "--period", "last year")
    assert error.value.returncode == 2


def test_a_small_count_cannot_be_found_by_subtracting_from_a_total():
    # Two units adding up to a shown total of 8: Lambohov's 3 is hidden, so Ekholmen's 5 is too.
    shown = {"Ekholmen": 5, "Lambohov": None}
    hide_complements(shown, {"Ekholmen": 5, "Lambohov": 3}, [list(shown)])
    assert shown == {"Ekholmen": None, "Lambohov": None}
    # Two hidden cells of 4 add up to 8, the most two hidden cells can: one more is hidden.
    shown = {"a": None, "b": None, "c": 6, "d": 20}
    hide_complements(shown, {"a": 4, "b": 4, "c": 6, "d": 20}, [list(shown)])
    assert shown == {"a": None, "b": None, "c": None, "d": 20}
    # Two hidden cells of 3 and 1 could be 1 and 3, 2 and 2…: nothing more to hide.
    shown = {"a": None, "b": None, "c": 6}
    hide_complements(shown, {"a": 3, "b": 1, "c": 6}, [list(shown)])
    assert shown == {"a": None, "b": None, "c": 6}
    # A zero hides nothing and is not hidden for the sake of a small count.
    shown = {"a": 0, "b": 7}
    hide_complements(shown, {"a": 0, "b": 7}, [list(shown)])
    assert shown == {"a": 0, "b": 7}
    # …unless nothing else is left: two hidden cells beside zeros under a total of 8 must be
    # 4 and 4. With a zero hidden too, they could be 4, 4 and 0, or 4, 3 and 1, and so on.
    shown = {"a": 0, "b": None, "c": 0, "d": None}
    hide_complements(shown, {"a": 0, "b": 4, "c": 0, "d": 4}, [list(shown)])
    assert shown == {"a": None, "b": None, "c": 0, "d": None}


def test_months_are_hidden_in_pairs_within_each_quarter_half_and_year(enrollment):
    """A second half-year of 10 starts: November's 1 is hidden, and December's 9 with it, so
    that the half-year's total does not give November away; so for the quarters."""
    from ikbt.reporting.views import _counts_per_period
    from ikbt.treatment.models import Enrollment

    Enrollment.objects.all().delete()
    version, unit = enrollment.program_version, enrollment.unit
    for month, count in ((11, 1), (12, 9), (2, 7), (3, 6)):
        started = timezone.make_aware(datetime.datetime(2025, month, 10, 12))
        for _ in range(count):
            Enrollment.objects.create(
                patient=factories.PatientFactory(),
                unit=unit,
                program_version=version,
                started_at=started,
            )
    months = _counts_per_period(Enrollment.objects.all(), "started_at", (2025, 2024), 12)[2025]
    assert months[10] is None and months[11] is None
    assert months[1:3] == [7, 6]  # nothing hidden in the first half


def test_per_unit_starts_hide_the_unit_whose_count_gives_a_small_one_away(enrollment):
    from ikbt.reporting.kpi import figures_by
    from ikbt.treatment.models import Enrollment

    Enrollment.objects.all().delete()
    other = factories.CareUnitFactory(name="Vårdcentralen Lambohov")
    for unit, count in ((enrollment.unit, 5), (other, 3)):
        for _ in range(count):
            Enrollment.objects.create(
                patient=factories.PatientFactory(),
                unit=unit,
                program_version=enrollment.program_version,
            )
    today = timezone.localdate()
    period = f"{today.year}-{today.month:02d}"
    assert kpi("05", period)["starts"] == 8  # the region's total is shown
    per_unit = figures_by(period, "unit", region="05")
    assert [per_unit[unit.pk]["starts"] for unit in (enrollment.unit, other)] == [None, None]


def test_a_share_is_hidden_with_the_count_it_was_divided_by():
    from ikbt.reporting.kpi import ENDED_FIGURES, _figures

    # Two units, 5 and 3 treatments ended: the 3 is small, so the 5 goes too, and with it
    # the shares (4 of 5 completed would give the 5 away).
    ended = [
        {"unit_id": 1, "ended": 5, "completed": 4, "dropped": 1, "duration": None},
        {"unit_id": 2, "ended": 3, "completed": 3, "dropped": 0, "duration": None},
    ]
    figures = _figures("unit", {1: "05", 2: "05"}, [], [], [], [], ended)
    assert figures[1]["ended"] is None and figures[2]["ended"] is None
    assert all(figures[1][name] is None for name in ENDED_FIGURES)


def test_treatments_without_a_responsible_therapist_are_not_given_away_per_therapist(
    enrollment, therapist, colleague
):
    """13 starts in the region, 5 and 6 with a therapist and 2 without: with both therapists
    shown, the total less their rows would give the 2 away, so the smaller row is hidden."""
    from ikbt.reporting.kpi import figures_by

    Enrollment.objects.all().delete()
    for responsible, count in ((therapist, 5), (colleague, 6), (None, 2)):
        for _ in range(count):
            Enrollment.objects.create(
                patient=factories.PatientFactory(),
                unit=enrollment.unit,
                program_version=enrollment.program_version,
                responsible_therapist=responsible,
            )
    today = timezone.localdate()
    period = f"{today.year}-{today.month:02d}"
    assert kpi("05", period)["starts"] == 13
    per_therapist = figures_by(period, "therapist", region="05")
    assert set(per_therapist) == {therapist.pk, colleague.pk}
    assert [per_therapist[person.pk]["starts"] for person in (therapist, colleague)] == [None, 6]


def test_on_a_scale_where_higher_is_better_a_rise_is_the_improvement(twelve_ended):
    """BBQ (quality of life) rises as treatment helps: its d counts a rise, not a fall."""
    enrollment = Enrollment.objects.filter(score_pre__isnull=False).first()
    Enrollment.objects.filter(score_pre__isnull=False).delete()
    for pre in (30, 32, 34, 36, 38):
        ended_with_summary(enrollment, "BBQ", pre, pre + 20)
    today = timezone.localdate()
    figures = kpi("05", f"{today.year}-{today.month:02d}")
    assert figures["cohens_d"] == round(20 / (10**0.5), 2)  # positive: better


def test_stored_summaries_of_a_scale_without_the_figures_are_emptied(twelve_ended):
    """The migration for installs whose summaries said "not improved" where the scale
    cannot judge it."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module(
        "ikbt.treatment.migrations.0010_outcome_not_judged_is_empty"
    )
    judged = Enrollment.objects.filter(score_pre__isnull=False).first()
    old = Enrollment.objects.create(
        patient=factories.PatientFactory(),
        unit=judged.unit,
        program_version=judged.program_version,
        primary_instrument="MADRS-S",
        score_pre=30,
        score_post=28,
        reliable_improvement=False,
        reliable_deterioration=False,
        remission=False,
    )
    before = judged.reliable_improvement
    migration.empty_what_cannot_be_judged(apps, None)
    old.refresh_from_db()
    judged.refresh_from_db()
    assert (old.reliable_improvement, old.reliable_deterioration, old.remission) == (
        None,
        None,
        None,
    )
    assert judged.reliable_improvement == before is not None  # GAD-7 has the figures
