"""Worked examples for every shipped instrument, each checked against its source.

None of the sources prints a filled-in form, so each example is worked by hand from the
scoring rule of the paper or manual named beside it (and in the definition file); the
arithmetic is in the comments. No database is needed: the engine is pure Python.
"""

import json
import os
import re
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ikbt.measurement.definitions import (
    DefinitionError,
    parse_definition,
    score_range,
    shipped_definition,
    shipped_definitions,
)
from ikbt.measurement.scoring import ScoringError, score, score_as_json

# code: (answers, items, lowest total, highest total), as in each manual.
SHAPES = {
    "PHQ-9": (9, 9, 0, 27),  # Kroenke et al. 2001
    "GAD-7": (7, 7, 0, 21),  # Spitzer et al. 2006
    "MADRS-S": (9, 9, 0, 54),  # Svanborg & Åsberg 1994
    "PSWQ": (16, 16, 16, 80),  # Meyer et al. 1990
    "PSS-10": (10, 10, 0, 40),  # Cohen & Williamson 1988
    "KEDS": (9, 9, 0, 54),  # Besèr et al. 2014
    "AUDIT": (10, 10, 0, 40),  # Babor et al. 2001
    "BBQ": (12, 6, 0, 96),  # Lindner et al. 2016: six areas, two ratings each
    "RCADS-25": (25, 25, 0, 75),  # Ebesutani et al. 2012
    "SMFQ": (13, 13, 0, 26),  # Angold et al. 1995
    "ASQ": (5, 5, 0, 5),  # Horowitz et al. 2012: five yes/no questions
    "ISI": (7, 7, 0, 28),  # Bastien et al. 2001
    "PDSS-SR": (7, 7, 0, 28),  # Houck et al. 2002
    "LSAS-SR": (48, 24, 0, 144),  # Fresco et al. 2001: 24 situations, fear and avoidance
}
LICENSED = {"ISI", "PDSS-SR", "LSAS-SR"}


def result(code: str, answers: list):
    return score(shipped_definition(code), answers)


def total(code: str, answers: list) -> int | None:
    return result(code, answers).total


def band(code: str, answers: list) -> str:
    return result(code, answers).band.label["en"]


def lowest_answers(code: str) -> list[int]:
    """The answers that give the lowest total (reversed items ticked at their top)."""
    answers = []
    for item in shipped_definition(code).items:
        for part in item.parts:
            values = part.scale.values
            answers.append(max(values) if item.reverse else min(values))
    return answers


# --- Every file -------------------------------------------------------------------------


def test_every_shipped_file_is_tested_here():
    assert set(shipped_definitions()) == set(SHAPES)


@pytest.mark.parametrize("code", sorted(SHAPES))
def test_shape_and_range_match_the_manual(code):
    definition = shipped_definition(code)
    answers, items, lowest, highest = SHAPES[code]
    assert (definition.answer_count, len(definition.items)) == (answers, items)
    assert score_range(definition) == (lowest, highest)
    assert (definition.minimum, definition.maximum) == (lowest, highest)
    assert total(code, lowest_answers(code)) == lowest


@pytest.mark.parametrize("code", sorted(SHAPES))
def test_every_rule_names_its_source(code):
    definition = shipped_definition(code)
    assert definition.source and definition.scoring_source and definition.bands_source
    assert definition.missing_source
    if definition.critical_items:
        assert definition.critical_source
    if definition.reliable_change is not None or definition.remission_below is not None:
        assert definition.change_source


@pytest.mark.parametrize("code", sorted(SHAPES))
def test_free_text_is_shipped_and_licensed_text_is_not(code):
    definition = shipped_definition(code)
    has_text = all(item.text.get("sv") and item.text.get("en") for item in definition.items)
    assert has_text == (code not in LICENSED)
    assert definition.text_is_licensed == (code in LICENSED)
    if code in LICENSED:
        assert not any(item.text for item in definition.items)
        assert "licence holder" in definition.licence_note["en"]
    else:
        assert definition.instructions["sv"] and definition.instructions["en"]


# --- PHQ-9 (Kroenke et al. 2001; missing answers: Kroenke et al. 2010) ----------------------


def test_phq9_bands_and_critical_item():
    assert (total("PHQ-9", [0] * 9), band("PHQ-9", [0] * 9)) == (0, "Minimal")
    assert band("PHQ-9", [1] * 4 + [0] * 5) == "Minimal"  # 4
    assert band("PHQ-9", [1] * 5 + [0] * 4) == "Mild"  # 5
    assert band("PHQ-9", [2] * 5 + [0] * 4) == "Moderate"  # 10
    assert band("PHQ-9", [2, 2, 2, 2, 2, 2, 2, 1, 0]) == "Moderately severe"  # 15
    assert band("PHQ-9", [3, 3, 3, 3, 3, 3, 2, 0, 0]) == "Severe"  # 20
    assert (total("PHQ-9", [3] * 9), band("PHQ-9", [3] * 9)) == (27, "Severe")
    assert result("PHQ-9", [0] * 8 + [1]).critical  # item 9 above "not at all"
    assert not result("PHQ-9", [0] * 9).critical
    assert not result("PHQ-9", [3] * 8 + [0]).critical  # a high total is not a risk flag


def test_phq9_prorates_up_to_two_missing_items():
    one_missing = result("PHQ-9", [2, 2, 2, 2, 2, 2, 2, 2, None])
    assert (one_missing.total, one_missing.prorated, one_missing.missing_items) == (18, True, 1)
    assert one_missing.band.label["en"] == "Moderately severe"  # 16 × 9 / 8 = 18
    assert total("PHQ-9", [1, 2, 1, 0, 0, 0, 0, 0, None]) == 5  # 4 × 9 / 8 = 4.5, half up
    assert total("PHQ-9", [1, 1, 1, 0, 0, 0, 0, 0, None]) == 3  # 3 × 9 / 8 = 3.375
    assert total("PHQ-9", [1, 1, 1, 1, 1, 1, 1, None, None]) == 9  # 7 × 9 / 7
    three_missing = result("PHQ-9", [1] * 6 + [None] * 3)
    assert (three_missing.total, three_missing.band, three_missing.prorated) == (None, None, False)
    assert "3 of 9 items are unanswered; the manual allows 2." in three_missing.unscored_reason


# --- Refuse: any unanswered item, no score ---------------------------------------------------

REFUSING = sorted(code for code in SHAPES if code != "PHQ-9")


@pytest.mark.parametrize("code", REFUSING)
def test_refuse_rule_scores_nothing_with_a_missing_answer(code):
    definition = shipped_definition(code)
    assert (definition.missing_rule, definition.max_missing) == ("refuse", 0)
    answers = lowest_answers(code)
    answers[-1] = None
    missing = score(definition, answers)
    assert (missing.total, missing.band, missing.prorated) == (None, None, False)
    assert missing.missing_items == 1
    assert "the manual allows 0" in missing.unscored_reason


# --- GAD-7 (Spitzer et al. 2006; change: IAPT manual) ---------------------------------------


def test_gad7_bands_and_change_rules():
    assert [band("GAD-7", [value] * 7) for value in (0, 1, 2, 3)] == [
        "Minimal anxiety",  # 0
        "Mild anxiety",  # 7
        "Moderate anxiety",  # 14
        "Severe anxiety",  # 21
    ]
    assert band("GAD-7", [1, 1, 1, 1, 0, 0, 0]) == "Minimal anxiety"  # 4
    assert band("GAD-7", [0, 1, 1, 2, 0, 1, 0]) == "Mild anxiety"  # 5
    assert band("GAD-7", [2, 2, 2, 1, 1, 1, 0]) == "Mild anxiety"  # 9
    assert band("GAD-7", [2, 2, 2, 2, 1, 1, 0]) == "Moderate anxiety"  # 10
    assert band("GAD-7", [3, 3, 3, 3, 2, 1, 0]) == "Severe anxiety"  # 15
    definition = shipped_definition("GAD-7")
    assert (definition.reliable_change, definition.remission_below) == (4, 8)
    assert definition.critical_items == ()
    assert not result("GAD-7", [3] * 7).critical


# --- MADRS-S (Svanborg & Åsberg 1994) ---------------------------------------------------------


def test_madrs_s_total_bands_and_zest_for_life_item():
    assert total("MADRS-S", [2, 2, 2, 2, 2, 2, 2, 2, 3]) == 19
    assert band("MADRS-S", [2, 2, 2, 2, 2, 2, 2, 2, 3]) == "Mild depression"
    assert band("MADRS-S", [2, 2, 2, 2, 2, 2, 0, 0, 0]) == "No or minimal depression"  # 12
    assert band("MADRS-S", [2, 2, 2, 2, 2, 2, 1, 0, 0]) == "Mild depression"  # 13
    assert band("MADRS-S", [4, 4, 4, 4, 4, 4, 4, 4, 2]) == "Moderate depression"  # 34
    assert band("MADRS-S", [4, 4, 4, 4, 4, 4, 4, 4, 3]) == "Severe depression"  # 35
    assert not result("MADRS-S", [6] * 8 + [3]).critical  # 51, severe, but item 9 is 3
    assert result("MADRS-S", [0] * 8 + [4]).critical
    assert result("MADRS-S", [0] * 8 + [6]).critical
    definition = shipped_definition("MADRS-S")
    assert definition.items[8].parts[0].scale.values == (0, 1, 2, 3, 4, 5, 6)
    assert "mellan 2 och 4" in definition.items[8].parts[0].scale.options[3].text["sv"]


# --- PSWQ (Meyer et al. 1990; bands: Behar et al. 2003) --------------------------------------

PSWQ_REVERSED = (1, 3, 8, 10, 11)


def test_pswq_reverse_scored_items():
    definition = shipped_definition("PSWQ")
    assert [item.number for item in definition.items if item.reverse] == list(PSWQ_REVERSED)
    # Every item ticked 5: eleven items score 5 and the five reversed items score 1.
    assert total("PSWQ", [5] * 16) == 11 * 5 + 5 * 1 == 60
    # Every item ticked 1: eleven items score 1 and the reversed score 5.
    assert total("PSWQ", [1] * 16) == 11 * 1 + 5 * 5 == 36
    # Ticked 2,4,1,5,4,4,5,1,4,1,2,5,4,4,4,3: the reversed items 1, 3, 8, 10, 11 score
    # 4, 5, 5, 5, 4 (= 23); the others 4+5+4+4+5+4+5+4+4+4+3 (= 46); total 69.
    example = [2, 4, 1, 5, 4, 4, 5, 1, 4, 1, 2, 5, 4, 4, 4, 3]
    assert total("PSWQ", example) == 69
    assert band("PSWQ", example) == "Worry at the level typical of generalised anxiety disorder"


def test_pswq_bands_at_the_cut_offs():
    lowest = [5 if n in PSWQ_REVERSED else 1 for n in range(1, 17)]
    assert (total("PSWQ", lowest), band("PSWQ", lowest)) == (
        16,
        "Below the screening cut-off for generalised anxiety disorder",
    )
    at_44 = [1, 2, 1, 2, 2, 2, 2, 1, 2, 1, 1, 2, 2, 1, 1, 1]  # 36 + 8 items one step up
    at_45 = [1, 2, 1, 2, 2, 2, 2, 1, 2, 1, 1, 2, 2, 2, 1, 1]
    assert (total("PSWQ", at_44), total("PSWQ", at_45)) == (44, 45)
    assert band("PSWQ", at_44).startswith("Below the screening cut-off")
    assert band("PSWQ", at_45).startswith("Above the screening cut-off")
    assert total("PSWQ", [4] + [5] * 15) == 61  # item 1 ticked 4 scores 2
    assert total("PSWQ", [3] + [5] * 15) == 62
    assert band("PSWQ", [4] + [5] * 15).startswith("Above the screening cut-off")
    assert band("PSWQ", [3] + [5] * 15).startswith("Worry at the level typical")


# --- PSS-10 (Cohen & Williamson 1988) --------------------------------------------------------


def test_pss10_reverse_scored_items():
    definition = shipped_definition("PSS-10")
    assert [item.number for item in definition.items if item.reverse] == [4, 5, 7, 8]
    assert total("PSS-10", [2] * 10) == 20  # 2 reverses to 2
    assert total("PSS-10", [4] * 10) == 6 * 4 + 4 * 0 == 24
    assert total("PSS-10", [0] * 10) == 6 * 0 + 4 * 4 == 16
    most_stress = [0 if n in (4, 5, 7, 8) else 4 for n in range(1, 11)]
    assert (total("PSS-10", most_stress), band("PSS-10", most_stress)) == (
        40,
        "High perceived stress",
    )
    # Ticked 3,2,3,1,2,2,1,2,3,2: items 4, 5, 7, 8 score 3, 2, 3, 2 (= 10), the others
    # 3+2+3+2+3+2 (= 15); total 25.
    example = [3, 2, 3, 1, 2, 2, 1, 2, 3, 2]
    assert (total("PSS-10", example), band("PSS-10", example)) == (25, "Moderate perceived stress")


def test_pss10_bands_at_the_cut_offs():
    # Items 4, 5, 7 and 8 ticked 4 score 0; the other six items count as ticked.
    assert band("PSS-10", [3, 3, 3, 4, 4, 4, 4, 4, 0, 0]) == "Low perceived stress"  # 13
    assert band("PSS-10", [3, 3, 3, 4, 4, 4, 4, 4, 1, 0]) == "Moderate perceived stress"  # 14
    # Items 4, 5, 7 and 8 ticked 2 score 2 (8); the others 4+4+4+4+2+0 (18): 26.
    assert band("PSS-10", [4, 4, 4, 2, 2, 4, 2, 2, 2, 0]) == "Moderate perceived stress"  # 26
    assert band("PSS-10", [4, 4, 4, 2, 2, 4, 2, 2, 3, 0]) == "High perceived stress"  # 27


# --- KEDS (Besèr et al. 2014) -----------------------------------------------------------------


def test_keds_cut_off():
    assert total("KEDS", [2] * 9) == 18
    assert band("KEDS", [2] * 9) == "Below the cut-off for exhaustion disorder"
    assert total("KEDS", [2] * 8 + [3]) == 19
    assert band("KEDS", [2] * 8 + [3]) == "At or above the cut-off: suggests exhaustion disorder"
    assert shipped_definition("KEDS").items[0].parts[0].scale.values == tuple(range(7))


# --- AUDIT (Babor et al. 2001) ----------------------------------------------------------------


def test_audit_items_nine_and_ten_score_zero_two_four():
    definition = shipped_definition("AUDIT")
    for item in definition.items[8:]:
        assert item.parts[0].scale.values == (0, 2, 4)
        assert item.weights is None  # the printed 0, 2, 4 are the values and the scores
    assert total("AUDIT", [0] * 8 + [2, 0]) == 2
    assert total("AUDIT", [0] * 8 + [0, 4]) == 4
    assert band("AUDIT", [0] * 8 + [4, 4]) == "Zone II: hazardous use"  # 8
    # Items 1-3 ticked 1 (3) plus item 9 "yes, not in the last year" (2) and item 10
    # "yes, in the last year" (4): 9.
    assert total("AUDIT", [1, 1, 1, 0, 0, 0, 0, 0, 2, 4]) == 9
    assert band("AUDIT", [1, 1, 1, 0, 0, 0, 0, 0, 2, 4]) == "Zone II: hazardous use"
    for value in (1, 3):
        with pytest.raises(ScoringError, match=f"item 9: {value} is not an option"):
            score(definition, [0] * 8 + [value, 0])


def test_audit_asks_questions_two_to_eight_only_of_someone_who_drinks():
    definition = shipped_definition("AUDIT")
    assert [item.skip_when for item in definition.items] == [None] + [(1, {0})] * 7 + [None] * 2
    # "Never" to question 1: 2-8 are not asked, and score 0 whatever is ticked there.
    never = [0] + [None] * 7 + [2, 0]
    assert (definition.skipped_items(never), total("AUDIT", never)) == (set(range(2, 9)), 2)
    assert total("AUDIT", [0] + [4] * 7 + [0, 0]) == 0
    # Someone who drinks answers them all, as before: one left out is not scored.
    assert definition.skipped_items([1] + [0] * 9) == set()
    assert score(definition, [1] + [None] * 7 + [0, 0]).total is None


def test_a_skip_rule_names_an_earlier_item_and_its_answers():
    data = shipped_definition("AUDIT").raw
    for rule in ({"item": 2, "answers": [0]}, {"item": 1, "answers": [7]}, {"item": 1}):
        items = [*data["items"]]
        items[1] = {**items[1], "skip_when": rule}
        with pytest.raises(DefinitionError, match="item 2: skip_when"):
            parse_definition(data | {"items": items}, "broken.toml")


def test_audit_zones():
    assert band("AUDIT", [2, 1, 1, 0, 0, 0, 0, 0, 2, 0]) == "Zone I: low risk"  # 6
    assert band("AUDIT", [3, 2, 2, 0, 0, 0, 0, 0, 0, 0]) == "Zone I: low risk"  # 7
    assert band("AUDIT", [4] * 4 + [0] * 4 + [0, 0]) == "Zone III: harmful use"  # 16
    assert band("AUDIT", [4] * 4 + [1, 1, 1, 0] + [0, 0]) == "Zone III: harmful use"  # 19
    assert band("AUDIT", [4] * 5 + [0] * 5) == "Zone IV: possible dependence"  # 20
    assert (total("AUDIT", [4] * 10), band("AUDIT", [4] * 10)) == (
        40,
        "Zone IV: possible dependence",
    )


# --- BBQ (Lindner et al. 2016) ----------------------------------------------------------------


def test_bbq_multiplies_satisfaction_by_importance():
    definition = shipped_definition("BBQ")
    assert definition.method == "product"
    assert definition.higher_is_worse is False
    assert [part.key for part in definition.items[0].parts] == ["satisfaction", "importance"]
    # Area by area, satisfaction then importance: 4×4 + 3×2 + 0×4 + 2×2 + 1×0 + 4×1 = 30.
    answers = [4, 4, 3, 2, 0, 4, 2, 2, 1, 0, 4, 1]
    assert total("BBQ", answers) == 16 + 6 + 0 + 4 + 0 + 4 == 30
    assert total("BBQ", [4, 0] * 6) == 0  # fully satisfied, but nothing matters: 0
    assert total("BBQ", [4] * 12) == 96
    assert band("BBQ", answers) == "Quality of life (higher is better)"
    with pytest.raises(ScoringError, match=re.escape("item 1 (importance): 5 is not an option")):
        score(definition, [4, 5] + [0] * 10)


# --- RCADS-25 (Ebesutani et al. 2012) ---------------------------------------------------------

RCADS_DEPRESSION = (1, 4, 8, 10, 13, 15, 16, 19, 21, 24)
RCADS_ANXIETY = (2, 3, 5, 6, 7, 9, 11, 12, 14, 17, 18, 20, 22, 23, 25)


def rcads(values: dict[int, int]) -> list[int]:
    return [values.get(number, 0) for number in range(1, 26)]


def test_rcads25_subscales_have_the_right_items():
    subscales = {sub.key: sub.items for sub in shipped_definition("RCADS-25").subscales}
    assert subscales == {"anxiety": RCADS_ANXIETY, "depression": RCADS_DEPRESSION}
    assert sorted(RCADS_ANXIETY + RCADS_DEPRESSION) == list(range(1, 26))


def test_rcads25_totals_and_subscales():
    # Every depression item "often" (2 × 10 = 20), every anxiety item "sometimes" (15): 35.
    answers = rcads({n: 2 for n in RCADS_DEPRESSION} | {n: 1 for n in RCADS_ANXIETY})
    scored = result("RCADS-25", answers)
    assert (scored.total, scored.subscales) == (35, {"anxiety": 15, "depression": 20})
    assert (
        scored.band.label["en"]
        == "Raw score: the therapist compares it with norms for sex and school year"
    )
    # "I think about death" (18) belongs to the anxiety (GAD) scale, "I feel restless" (24)
    # to the depression scale, as in the full RCADS.
    assert result("RCADS-25", rcads({18: 3})).subscales == {"anxiety": 3, "depression": 0}
    assert result("RCADS-25", rcads({24: 3})).subscales == {"anxiety": 0, "depression": 3}
    assert (total("RCADS-25", [3] * 25), result("RCADS-25", [3] * 25).subscales) == (
        75,
        {"anxiety": 45, "depression": 30},
    )
    assert not result("RCADS-25", [3] * 25).critical  # RCADS has no suicide item


def test_rcads25_missing_answer_leaves_only_the_complete_subscale():
    answers = rcads({n: 1 for n in range(1, 26)})
    answers[0] = None  # item 1, a depression item
    scored = result("RCADS-25", answers)
    assert (scored.total, scored.subscales) == (None, {"anxiety": 15, "depression": None})


# --- SMFQ (Angold et al. 1995) ----------------------------------------------------------------


def test_smfq_cut_off():
    assert band("SMFQ", [1] * 11 + [0, 0]) == "Below the cut-off for depression"  # 11
    assert band("SMFQ", [1] * 12 + [0]) == "Above the cut-off for depression"  # 12
    assert total("SMFQ", [2] * 13) == 26


# --- ASQ (Horowitz et al. 2012; NIMH ASQ toolkit) ------------------------------------------


def test_asq_any_yes_is_a_positive_screen_and_a_risk_flag():
    assert (total("ASQ", [0] * 5), band("ASQ", [0] * 5)) == (0, "Negative screen")
    assert not result("ASQ", [0] * 5).critical
    for number in range(5):  # a past attempt alone (question 4) is a positive screen too
        answers = [0] * 5
        answers[number] = 1
        assert band("ASQ", answers) == "Positive screen"
        assert result("ASQ", answers).critical
    assert total("ASQ", [1] * 5) == 5
    assert total("ASQ", [1, 1, None, 0, 0]) is None  # a question left open is followed up
    # Thoughts of taking one's life right now: an acute positive screen.
    assert shipped_definition("ASQ").acute_items == (5,)
    assert shipped_definition("PHQ-9").acute_items == ()


# --- ISI (Bastien et al. 2001; change: Morin et al. 2011) -----------------------------------


def test_isi_totals_bands_and_change_rules():
    assert (total("ISI", [2, 2, 2, 2, 3, 3, 1]), band("ISI", [2, 2, 2, 2, 3, 3, 1])) == (
        15,
        "Clinical insomnia, moderate",
    )
    assert band("ISI", [1] * 7) == "No clinically significant insomnia"  # 7
    assert band("ISI", [1] * 6 + [2]) == "Subthreshold insomnia"  # 8
    assert band("ISI", [2] * 7) == "Subthreshold insomnia"  # 14
    assert band("ISI", [3] * 7) == "Clinical insomnia, moderate"  # 21
    assert band("ISI", [3] * 6 + [4]) == "Clinical insomnia, severe"  # 22
    definition = shipped_definition("ISI")
    assert (definition.reliable_change, definition.remission_below) == (8, 8)


# --- PDSS-SR (Houck et al. 2002; bands: Furukawa et al. 2009) -------------------------------


def test_pdss_sr_bands_follow_furukawa():
    assert band("PDSS-SR", [1, 0, 0, 0, 0, 0, 0]) == "Normal"  # 1
    assert band("PDSS-SR", [1, 1, 0, 0, 0, 0, 0]) == "Borderline ill"  # 2
    assert band("PDSS-SR", [1, 1, 1, 1, 1, 0, 0]) == "Borderline ill"  # 5
    assert band("PDSS-SR", [1] * 6 + [0]) == "Slightly ill"  # 6
    assert band("PDSS-SR", [2, 2, 2, 2, 1, 0, 0]) == "Slightly ill"  # 9
    assert band("PDSS-SR", [2, 2, 2, 2, 2, 0, 0]) == "Moderately ill"  # 10
    assert band("PDSS-SR", [2, 2, 2, 2, 2, 2, 1]) == "Moderately ill"  # 13
    assert (total("PDSS-SR", [2] * 7), band("PDSS-SR", [2] * 7)) == (14, "Markedly ill")
    assert band("PDSS-SR", [4] * 7) == "Markedly ill"  # 28: Furukawa's top band is 14+
    assert shipped_definition("PDSS-SR").remission_below == 6  # remission: 5 or less


# --- LSAS-SR (Fresco et al. 2001; bands: Mennin et al. 2002 and Liebowitz) -------------------


def test_lsas_sr_subscales_and_total():
    definition = shipped_definition("LSAS-SR")
    assert [(sub.key, sub.part) for sub in definition.subscales] == [
        ("fear", "fear"),
        ("avoidance", "avoidance"),
    ]
    scored = score(definition, [2, 1] * 24)  # fear 2, avoidance 1 in every situation
    assert scored.subscales == {"fear": 48, "avoidance": 24}
    assert (scored.total, scored.band.label["en"]) == (72, "Marked social anxiety")
    assert score(definition, [3, 0] * 24).subscales == {"fear": 72, "avoidance": 0}
    assert score(definition, [0, 3] * 24).subscales == {"fear": 0, "avoidance": 72}


def test_lsas_sr_bands():
    def situations(fear: int, avoidance: int, count: int) -> list[int]:
        return [fear, avoidance] * count + [0, 0] * (24 - count)

    below, above = "Below the screening cut-off", "Above the screening cut-off"
    assert total("LSAS-SR", situations(1, 1, 14)) == 28
    assert band("LSAS-SR", situations(1, 1, 14)).startswith(below)
    assert total("LSAS-SR", situations(1, 1, 15)) == 30
    assert band("LSAS-SR", situations(1, 1, 15)).startswith(above)
    assert band("LSAS-SR", situations(2, 1, 18)).startswith(above)  # 54
    assert band("LSAS-SR", situations(3, 2, 11)) == "Moderate social anxiety"  # 55
    assert band("LSAS-SR", situations(2, 2, 16)) == "Moderate social anxiety"  # 64
    assert band("LSAS-SR", situations(3, 2, 13)) == "Marked social anxiety"  # 65
    assert band("LSAS-SR", situations(2, 2, 20)) == "Severe social anxiety"  # 80
    assert band("LSAS-SR", situations(3, 2, 19)) == "Very severe social anxiety"  # 95
    assert band("LSAS-SR", [3, 3] * 24) == "Very severe social anxiety"  # 144


def test_lsas_sr_one_missing_rating_scores_nothing():
    answers = [1, 1] * 24
    answers[1] = None
    scored = result("LSAS-SR", answers)
    assert (scored.total, scored.subscales) == (None, {"fear": None, "avoidance": None})


# --- Critical items ---------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(set(SHAPES) - {"PHQ-9", "MADRS-S", "ASQ"}))
def test_only_phq9_madrs_s_and_asq_raise_risk_flags(code):
    definition = shipped_definition(code)
    assert definition.critical_items == ()
    highest = [max(part.scale.values) for item in definition.items for part in item.parts]
    assert not score(definition, highest).critical


def test_critical_items_and_thresholds():
    phq9, madrs = shipped_definition("PHQ-9"), shipped_definition("MADRS-S")
    assert (phq9.critical_items, phq9.critical_threshold) == ((9,), 1)
    assert (madrs.critical_items, madrs.critical_threshold) == ((9,), 4)


# --- Bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "answers", "message"),
    [
        ("PHQ-9", [1] * 8, "PHQ-9 has 9 answers (9 items); got 8."),
        ("PHQ-9", [1] * 10, "got 10"),
        ("PHQ-9", [1] * 8 + [4], "item 9: 4 is not an option (allowed: 0, 1, 2, 3)"),
        ("PHQ-9", [-1] + [0] * 8, "item 1: -1 is not an option"),
        ("PSWQ", [0] * 16, "item 1: 0 is not an option"),
        ("MADRS-S", [7] + [0] * 8, "item 1: 7 is not an option (allowed: 0, 1, 2, 3, 4, 5, 6)"),
        ("BBQ", [1] * 6, "BBQ has 12 answers (6 items); got 6."),
        ("RCADS-25", [4] + [0] * 24, "item 1: 4 is not an option (allowed: 0, 1, 2, 3)"),
        ("LSAS-SR", [0] * 24, "LSAS-SR has 48 answers (24 items); got 24."),
        ("LSAS-SR", [0] * 47 + [4], "item 24 (avoidance): 4 is not an option"),
    ],
)
def test_bad_answers_are_refused_with_the_reason(code, answers, message):
    with pytest.raises(ScoringError, match=re.escape(message)):
        score(shipped_definition(code), answers)


def test_a_broken_definition_says_what_is_wrong():
    data = shipped_definition("GAD-7").raw | {"bands": [{"min": 0, "max": 10, "label": "x"}]}
    with pytest.raises(DefinitionError, match=re.escape("cover the whole range 0.0-21.0")):
        parse_definition(data, "broken.toml")


def test_json_has_the_band_in_the_chosen_language():
    definition = shipped_definition("MADRS-S")
    scored = score(definition, [2] * 8 + [4])
    assert score_as_json(definition, scored, "sv")["band"] == {
        "min": 20,
        "max": 34,
        "label": "Måttlig depression",
    }
    assert score_as_json(definition, scored)["critical"] is True


# --- The command: ikbt score --------------------------------------------------------------------


def run_score(*args: str) -> dict:
    out = StringIO()
    call_command("score", *args, stdout=out)
    return json.loads(out.getvalue())


def test_score_command_prints_one_json_object():
    assert run_score("PHQ-9", "--answers", "1,2,3,0,1,2,3,0,1") == {
        "instrument": "PHQ-9",
        "version": "2001.2",
        "total": 13,
        "band": {"min": 10, "max": 14, "label": "Moderate"},
        "critical": True,
        "subscales": {},
        "missing_items": 0,
        "prorated": False,
    }
    # The bands read in order in Swedish: "måttliga", then "måttligt svåra".
    swedish = run_score("PHQ-9", "--answers", "2,2,2,2,2,2,2,2,0", "--language", "sv")
    assert swedish["band"] == {"min": 15, "max": 19, "label": "Måttligt svåra symtom"}
    lsas = run_score("LSAS-SR", "--answers", ",".join(["3", "0"] * 24), "--language", "sv")
    assert lsas["subscales"] == {"fear": 72, "avoidance": 0}
    assert lsas["band"]["label"] == "Påtaglig social ångest"
    rcads = run_score("rcads-25", "--answers", ",".join(["1"] * 25))  # the code in any case
    assert (rcads["instrument"], rcads["subscales"]) == (
        "RCADS-25",
        {"anxiety": 15, "depression": 10},
    )


def test_score_command_prorates_and_refuses_empty_places():
    prorated = run_score("PHQ-9", "--answers", "2,2,2,2,2,2,2,2,")
    assert (prorated["total"], prorated["prorated"], prorated["missing_items"]) == (18, True, 1)
    refused = run_score("GAD-7", "--answers", "1,1,,1,1,1,1")
    assert (refused["total"], refused["band"]) == (None, None)
    assert refused["unscored_reason"] == "1 of 7 items are unanswered; the manual allows 0."


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("PHQ-9", "--answers", "1,2,3"), "PHQ-9 has 9 answers (9 items); got 3."),
        (("PHQ-9", "--answers", "1,2,3,0,1,2,3,0,9"), "item 9: 9 is not an option"),
        (("PHQ-9", "--answers", "1,2,x,0,1,2,3,0,1"), "Answer 3 ('x') is not a whole number."),
        (("AUDIT", "--answers", "0,0,0,0,0,0,0,0,1,0"), "item 9: 1 is not an option"),
        (("PHQ-10", "--answers", "1"), "Unknown instrument 'PHQ-10'."),
    ],
)
def test_score_command_refuses_bad_input_with_status_2(args, message):
    with pytest.raises(CommandError, match=re.escape(message)) as error:
        call_command("score", *args)
    assert error.value.returncode == 2


def run_ikbt(tmp_path, *args: str) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECRET_KEY", "DATABASE_URL"}
    }
    return subprocess.run(  # noqa: S603 (fixed argv: this interpreter and test arguments)
        [sys.executable, "-m", "ikbt.manage", "score", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        check=False,
    )


def test_ikbt_score_runs_without_any_settings_in_the_environment(tmp_path):
    good = run_ikbt(tmp_path, "PHQ-9", "--answers", "1,2,3,0,1,2,3,0,1")
    assert good.returncode == 0, good.stderr
    printed = json.loads(good.stdout)
    assert (printed["total"], printed["band"]["label"], printed["critical"]) == (
        13,
        "Moderate",
        True,
    )
    bad = run_ikbt(tmp_path, "PHQ-9", "--answers", "1,2")
    assert bad.returncode == 2
    assert "PHQ-9 has 9 answers (9 items); got 2." in bad.stderr
    assert bad.stdout == ""
    out_of_range = run_ikbt(tmp_path, "PHQ-9", "--answers", "1,2,3,0,1,2,3,0,4")
    assert out_of_range.returncode == 2
    assert "item 9: 4 is not an option" in out_of_range.stderr
