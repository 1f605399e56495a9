"""Worked examples for every shipped instrument, each checked against its source.

The expected totals follow from the scoring rules of the papers cited in each definition
file; where a paper prints a worked example it is named beside the test.
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
from ikbt.measurement.scoring import ScoringError, score

# code: (answers, items, lowest, highest)
SHAPES = {
    "PHQ-9": (9, 9, 0, 27),
    "GAD-7": (7, 7, 0, 21),
    "MADRS-S": (9, 9, 0, 54),
    "PSWQ": (16, 16, 16, 80),
    "PSS-10": (10, 10, 0, 40),
    "KEDS": (9, 9, 0, 54),
    "AUDIT": (10, 10, 0, 40),
    "BBQ": (12, 6, 0, 96),
    "SMFQ": (13, 13, 0, 26),
    "ISI": (7, 7, 0, 28),
    "PDSS-SR": (7, 7, 0, 28),
    "LSAS-SR": (48, 24, 0, 144),
}


def total(code: str, answers: list) -> int | None:
    return score(shipped_definition(code), answers).total


def band(code: str, answers: list) -> str:
    return score(shipped_definition(code), answers).band.label["en"]


def test_every_shipped_file_is_tested_here():
    assert set(shipped_definitions()) == set(SHAPES)


@pytest.mark.parametrize("code", sorted(SHAPES))
def test_shape_and_range_match_the_manual(code):
    definition = shipped_definition(code)
    answers, items, lowest, highest = SHAPES[code]
    assert (definition.answer_count, len(definition.items)) == (answers, items)
    assert score_range(definition) == (lowest, highest)
    assert definition.source and definition.scoring_source and definition.bands_source


@pytest.mark.parametrize("code", sorted(SHAPES))
def test_free_text_is_shipped_and_licensed_text_is_not(code):
    definition = shipped_definition(code)
    has_text = all(item.text.get("sv") and item.text.get("en") for item in definition.items)
    assert has_text == (code not in {"ISI", "PDSS-SR", "LSAS-SR"})
    assert definition.text_is_licensed == (not has_text)


# PHQ-9 (Kroenke et al. 2001): 0-27, bands at 5, 10, 15, 20; item 9 above 0 is critical.
def test_phq9_bands_and_critical_item():
    assert (total("PHQ-9", [0] * 9), band("PHQ-9", [0] * 9)) == (0, "Minimal")
    assert band("PHQ-9", [1] * 5 + [0] * 4) == "Mild"
    assert band("PHQ-9", [2] * 5 + [0] * 4) == "Moderate"
    assert band("PHQ-9", [2, 2, 2, 2, 2, 2, 2, 1, 0]) == "Moderately severe"
    assert (total("PHQ-9", [3] * 9), band("PHQ-9", [3] * 9)) == (27, "Severe")
    definition = shipped_definition("PHQ-9")
    assert score(definition, [0] * 8 + [1]).critical
    assert not score(definition, [3] * 8 + [0]).critical


# PHQ-9 missing answers (Kroenke et al. 2010): one or two missing are prorated, more refused.
def test_phq9_prorates_up_to_two_missing_items():
    one_missing = score(shipped_definition("PHQ-9"), [2, 2, 2, 2, 2, 2, 2, 2, None])
    assert (one_missing.total, one_missing.prorated) == (18, True)  # 16 × 9 / 8
    two_missing = score(shipped_definition("PHQ-9"), [1, 1, 1, 1, 1, 1, 1, None, None])
    assert two_missing.total == 9  # 7 × 9 / 7
    rounding = score(shipped_definition("PHQ-9"), [1, 2, 1, 0, 0, 0, 0, 0, None])
    assert rounding.total == 5  # 4 × 9 / 8 = 4.5, half rounds up
    three_missing = score(shipped_definition("PHQ-9"), [1] * 6 + [None] * 3)
    assert (three_missing.total, three_missing.band) == (None, None)
    assert "3 of 9 items are unanswered" in three_missing.unscored_reason


def test_refuse_rule_scores_nothing_with_a_missing_answer():
    assert total("GAD-7", [1, 1, 1, 1, 1, 1, None]) is None
    assert total("MADRS-S", [1] * 8 + [None]) is None


# GAD-7 (Spitzer et al. 2006): 0-21, bands at 5, 10 and 15.
def test_gad7_bands():
    assert [band("GAD-7", [value] * 7) for value in (0, 1, 2, 3)] == [
        "Minimal anxiety",
        "Mild anxiety",  # 7
        "Moderate anxiety",  # 14
        "Severe anxiety",  # 21
    ]


# MADRS-S (Svanborg & Åsberg 1994): nine items 0-6; item 9 at 4 or more is critical.
def test_madrs_s_total_and_life_weariness_item():
    definition = shipped_definition("MADRS-S")
    assert total("MADRS-S", [2, 2, 2, 2, 2, 2, 2, 2, 3]) == 19
    assert band("MADRS-S", [2, 2, 2, 2, 2, 2, 2, 2, 3]) == "Mild depression"
    assert score(definition, [0] * 8 + [4]).critical
    assert not score(definition, [6] * 8 + [3]).critical


# PSWQ (Meyer et al. 1990): items 1, 3, 8, 10, 11 reversed; 16-80.
def test_pswq_reverse_scored_items():
    # Every item ticked 5: eleven items score 5 and the five reversed items score 1.
    assert total("PSWQ", [5] * 16) == 11 * 5 + 5 * 1 == 60
    # Every item ticked 1: eleven items score 1 and the reversed score 5.
    assert total("PSWQ", [1] * 16) == 11 * 1 + 5 * 5 == 36
    lowest = [5 if n in (1, 3, 8, 10, 11) else 1 for n in range(1, 17)]
    assert (total("PSWQ", lowest), band("PSWQ", lowest)) == (16, "Low worry")


# PSS-10 (Cohen & Williamson 1988): items 4, 5, 7, 8 reversed; 0-40.
def test_pss10_reverse_scored_items():
    assert total("PSS-10", [2] * 10) == 20
    most_stress = [0 if n in (4, 5, 7, 8) else 4 for n in range(1, 11)]
    assert (total("PSS-10", most_stress), band("PSS-10", most_stress)) == (
        40,
        "High perceived stress",
    )
    assert total("PSS-10", [4] * 10) == 6 * 4 + 4 * 0 == 24


# KEDS (Besèr et al. 2014): nine items 0-6; 19 or more suggests exhaustion disorder.
def test_keds_cut_off():
    assert band("KEDS", [2] * 9) == "Below the cut-off for exhaustion disorder"  # 18
    assert band("KEDS", [2] * 8 + [3]) == "Suggests exhaustion disorder"  # 19


# AUDIT (Babor et al. 2001): items 9 and 10 score 0, 2 or 4; zones at 8, 16 and 20.
def test_audit_items_nine_and_ten_score_zero_two_four():
    assert total("AUDIT", [1, 1, 1, 0, 0, 0, 0, 0, 2, 4]) == 9
    assert band("AUDIT", [1, 1, 1, 0, 0, 0, 0, 0, 2, 4]) == "Zone II: hazardous use"
    with pytest.raises(ScoringError, match="item 9: 1 is not an option"):
        score(shipped_definition("AUDIT"), [0] * 8 + [1, 0])
    assert band("AUDIT", [4] * 4 + [0] * 6) == "Zone III: harmful use"  # 16
    assert band("AUDIT", [4] * 5 + [0] * 5) == "Zone IV: possible dependence"  # 20


# BBQ (Lindner et al. 2016): satisfaction × importance per area, summed; 0-96.
def test_bbq_multiplies_satisfaction_by_importance():
    answers = [4, 4, 3, 2, 0, 4, 2, 2, 1, 0, 4, 1]
    assert total("BBQ", answers) == 16 + 6 + 0 + 4 + 0 + 4 == 30


# SMFQ (Angold et al. 1995; Thapar & McGuffin 1998): 0-26, 12 or more needs assessment.
def test_smfq_cut_off():
    assert band("SMFQ", [1] * 11 + [0, 0]) == "Below the cut-off for depression"
    assert band("SMFQ", [1] * 12 + [0]) == "Above the cut-off: assess for depression"


# ISI (Bastien et al. 2001), PDSS-SR (Houck et al. 2002): seven items 0-4 summed.
def test_isi_and_pdss_sr_totals_and_bands():
    assert (total("ISI", [2, 2, 2, 2, 3, 3, 1]), band("ISI", [2, 2, 2, 2, 3, 3, 1])) == (
        15,
        "Clinical insomnia, moderate",
    )
    assert band("ISI", [1] * 7) == "No clinically significant insomnia"
    assert (total("PDSS-SR", [2] * 7), band("PDSS-SR", [2] * 7)) == (14, "Markedly ill")


# LSAS-SR (Fresco et al. 2001): fear and avoidance per situation; subscales 0-72 each.
def test_lsas_sr_subscales_and_total():
    answers = [2, 1] * 24
    result = score(shipped_definition("LSAS-SR"), answers)
    assert result.subscales == {"fear": 48, "avoidance": 24}
    assert (result.total, result.band.label["en"]) == (72, "Marked social anxiety")


@pytest.mark.parametrize(
    ("code", "answers", "message"),
    [
        ("PHQ-9", [1] * 8, "PHQ-9 has 9 answers (9 items); got 8."),
        ("PHQ-9", [1] * 10, "got 10"),
        ("PHQ-9", [1] * 8 + [4], "item 9: 4 is not an option (allowed: 0, 1, 2, 3)"),
        ("PSWQ", [0] * 16, "item 1: 0 is not an option"),
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


def run_score(*args: str) -> dict:
    out = StringIO()
    call_command("score", *args, stdout=out)
    return json.loads(out.getvalue())


def test_score_command_prints_one_json_object():
    assert run_score("PHQ-9", "--answers", "1,2,3,0,1,2,3,0,1") == {
        "instrument": "PHQ-9",
        "version": "2001.1",
        "total": 13,
        "band": {"min": 10, "max": 14, "label": "Moderate"},
        "critical": True,
        "subscales": {},
        "missing_items": 0,
        "prorated": False,
    }
    lsas = run_score("LSAS-SR", "--answers", ",".join(["3", "0"] * 24), "--language", "sv")
    assert lsas["subscales"] == {"fear": 72, "avoidance": 0}
    assert lsas["band"]["label"] == "Påtaglig social ångest"


@pytest.mark.parametrize(
    "args",
    [
        ("PHQ-9", "--answers", "1,2,3"),
        ("PHQ-9", "--answers", "1,2,3,0,1,2,3,0,9"),
        ("PHQ-9", "--answers", "1,2,x,0,1,2,3,0,1"),
        ("PHQ-10", "--answers", "1"),
    ],
)
def test_score_command_refuses_bad_input_with_status_2(args):
    with pytest.raises(CommandError) as error:
        call_command("score", *args)
    assert error.value.returncode == 2


def test_ikbt_score_runs_without_any_settings_in_the_environment(tmp_path):
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECRET_KEY", "DATABASE_URL"}
    }
    good = subprocess.run(
        [sys.executable, "-m", "ikbt.manage", "score", "GAD-7", "--answers", "1,1,1,1,1,1,1"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        check=False,
    )
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["total"] == 7
    bad = subprocess.run(
        [sys.executable, "-m", "ikbt.manage", "score", "GAD-7", "--answers", "1,1"],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
        check=False,
    )
    assert bad.returncode == 2
    assert "GAD-7 has 7 answers (7 items); got 2." in bad.stderr
