"""The scoring engine: answers in the order written on the form, a score out.

Each rule used here is declared, with its source, in the instrument's definition file; this
module only carries the rules out. Scores are computed from the values as the patient ticked
them, so a stored response can always be scored again.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from math import prod

from ikbt.measurement.definitions import Band, Definition, Item


class ScoringError(ValueError):
    """The answers do not fit the instrument (wrong count, a value that is not an option)."""


@dataclass(frozen=True)
class Score:
    total: int | None
    band: Band | None
    critical: bool
    subscales: dict[str, int | None]
    missing_items: int
    prorated: bool
    unscored_reason: str = ""


def _round(value: float) -> int:
    # Manuals that prorate report whole numbers; half rounds up (PHQ and PSWQ practice).
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _part_score(item: Item, value: int, values: Sequence[int]) -> int:
    if item.weights is not None:
        return item.weights[value]
    if item.reverse:
        return min(values) + max(values) - value
    return value


def check_answers(definition: Definition, answers: Sequence[int | None]) -> None:
    if len(answers) != definition.answer_count:
        raise ScoringError(
            f"{definition.code} has {definition.answer_count} answers "
            f"({len(definition.items)} items); got {len(answers)}."
        )
    position = 0
    for item in definition.items:
        for part in item.parts:
            value = answers[position]
            position += 1
            if value is not None and value not in part.scale.values:
                allowed = ", ".join(str(v) for v in part.scale.values)
                label = f"item {item.number}" + (f" ({part.key})" if len(item.parts) > 1 else "")
                raise ScoringError(
                    f"{definition.code} {label}: {value} is not an option (allowed: {allowed})."
                )


def item_scores(definition: Definition, answers: Sequence[int | None]) -> list[dict[str, int]]:
    """Per item, the score of each part, or an empty dict where the item is unanswered. An
    item the answers leave out (``skip_when``) scores 0, whatever was ticked."""
    check_answers(definition, answers)
    skipped = definition.skipped_items(answers)
    position = 0
    scores = []
    for item in definition.items:
        values = answers[position : position + len(item.parts)]
        position += len(item.parts)
        if item.number in skipped:
            scores.append({part.key: 0 for part in item.parts})
            continue
        if any(value is None for value in values):
            scores.append({})
            continue
        scores.append(
            {
                part.key: _part_score(item, value, part.scale.values)
                for part, value in zip(item.parts, values, strict=True)
            }
        )
    return scores


def _item_total(definition: Definition, parts: dict[str, int], part: str = "") -> int:
    if part:
        return parts[part]
    if definition.method == "product":
        return prod(parts.values())
    return sum(parts.values())


def _sum(definition: Definition, scores, numbers: Sequence[int], part: str = "") -> int | None:
    chosen = [scores[number - 1] for number in numbers]
    answered = [parts for parts in chosen if parts]
    missing = len(chosen) - len(answered)
    if missing and (definition.missing_rule == "refuse" or missing > definition.max_missing):
        return None
    total = sum(_item_total(definition, parts, part) for parts in answered)
    return _round(total * len(chosen) / len(answered)) if missing else total


def score(definition: Definition, answers: Sequence[int | None]) -> Score:
    """Score one set of answers. Raises ``ScoringError`` for answers the form cannot give."""
    scores = item_scores(definition, answers)
    missing = sum(1 for parts in scores if not parts)
    every_item = [item.number for item in definition.items]
    total = _sum(definition, scores, every_item)
    critical = any(
        is_critical(definition, answers, number) for number in definition.critical_items
    )
    reason = ""
    if total is None:
        reason = (
            f"{missing} of {len(every_item)} items are unanswered; the manual allows "
            f"{definition.max_missing if definition.missing_rule == 'prorate' else 0}."
        )
    return Score(
        total=total,
        band=definition.band_for(total) if total is not None else None,
        critical=critical,
        subscales={
            sub.key: _sum(definition, scores, sub.items, sub.part) for sub in definition.subscales
        },
        missing_items=missing,
        prorated=bool(missing) and total is not None,
        unscored_reason=reason,
    )


def is_critical(definition: Definition, answers: Sequence[int | None], number: int) -> bool:
    """Whether item ``number`` is answered at or above the definition's critical threshold
    (an answer that raises a risk flag)."""
    given = answers_for(definition, answers, number)
    return (
        number in definition.critical_items
        and bool(given)
        and max(given) >= definition.critical_threshold
    )


def answers_for(definition: Definition, answers: Sequence[int | None], number: int) -> list[int]:
    """The values given for item ``number`` (one per part), leaving out unanswered parts."""
    position = definition.first_position(number)
    parts = len(definition.items[number - 1].parts)
    return [value for value in answers[position : position + parts] if value is not None]


def score_as_json(definition: Definition, result: Score, language: str = "en") -> dict:
    band = result.band
    return {
        "instrument": definition.code,
        "version": definition.version,
        "total": result.total,
        "band": (
            {"min": _whole(band.min), "max": _whole(band.max), "label": band.label[language]}
            if band
            else None
        ),
        "critical": result.critical,
        "subscales": result.subscales,
        "missing_items": result.missing_items,
        "prorated": result.prorated,
        **({"unscored_reason": result.unscored_reason} if result.unscored_reason else {}),
    }


def _whole(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
