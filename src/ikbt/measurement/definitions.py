"""Instrument definitions: the files in ``instruments/`` read into plain, checked objects.

A definition file is TOML. It names the instrument and its version, its licence, its
response scales, its items (each with Swedish and English text, or none where the text is
licensed), its scoring rules, severity bands, critical items, missing-answer rule and the
figures for reliable change and remission, each rule with the source it comes from. The
format is described in ``docs/instruments.md``.
"""

import tomllib
from dataclasses import dataclass, field
from functools import cache
from math import prod
from pathlib import Path

INSTRUMENT_DIR = Path(__file__).parent / "instruments"


def in_language(texts: dict[str, str], language: str) -> str:
    """A definition's text in ``language``, Swedish where it has no other (every text has
    Swedish; English is the only other language)."""
    return texts.get(language) or texts.get("sv", "")


class DefinitionError(ValueError):
    """A definition file breaks the format; the message says which file and what."""


class UnknownInstrument(LookupError):
    pass


@dataclass(frozen=True)
class Option:
    value: int
    text: dict[str, str]


@dataclass(frozen=True)
class Scale:
    key: str
    options: tuple[Option, ...]

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(option.value for option in self.options)


@dataclass(frozen=True)
class Part:
    """One rating the patient gives. Most items have one; LSAS-SR and BBQ items have two."""

    key: str
    scale: Scale
    text: dict[str, str]


@dataclass(frozen=True)
class Item:
    number: int
    text: dict[str, str]
    parts: tuple[Part, ...]
    reverse: bool = False
    weights: dict[int, int] | None = None  # option value -> score, where they differ
    # (an earlier item's number, its answers) that leave this item out: not asked, scored 0
    skip_when: tuple[int, frozenset[int]] | None = None


@dataclass(frozen=True)
class Band:
    min: float
    max: float
    label: dict[str, str]


@dataclass(frozen=True)
class Subscale:
    key: str
    name: dict[str, str]
    items: tuple[int, ...]
    part: str = ""


@dataclass(frozen=True)
class Definition:
    code: str
    version: str
    name: dict[str, str]
    licence: str
    licence_note: dict[str, str]
    source: str
    instructions: dict[str, str]
    items: tuple[Item, ...]
    method: str
    scoring_source: str
    missing_rule: str
    max_missing: int
    missing_source: str
    bands: tuple[Band, ...]
    subscales: tuple[Subscale, ...]
    bands_source: str
    critical_items: tuple[int, ...]
    critical_threshold: int
    critical_source: str
    reliable_change: float | None
    remission_below: float | None
    change_source: str
    higher_is_worse: bool = True
    # Critical items whose answer calls for an assessment at once, not within the working day
    # (ASQ's question 5: thoughts of taking one's life right now).
    acute_items: tuple[int, ...] = ()
    # False for a screen whose number means nothing to the patient (ASQ's count of "yes"):
    # she is thanked, not shown a score.
    score_shown_to_patient: bool = True
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def text_is_licensed(self) -> bool:
        return self.licence == "licensed-text"

    @property
    def answer_count(self) -> int:
        return sum(len(item.parts) for item in self.items)

    def first_position(self, number: int) -> int:
        """Where item ``number``'s (first) rating is among the answers."""
        return sum(len(item.parts) for item in self.items[: number - 1])

    def skipped_items(self, answers) -> set[int]:
        """The items these answers leave out (AUDIT: questions 2-8 after "Never" drinking)."""
        skipped = set()
        for item in self.items:
            if item.skip_when is not None:
                earlier, values = item.skip_when
                position = self.first_position(earlier)
                if position < len(answers) and answers[position] in values:
                    skipped.add(item.number)
        return skipped

    @property
    def minimum(self) -> float:
        return self.bands[0].min

    @property
    def maximum(self) -> float:
        return self.bands[-1].max

    def band_for(self, total: float) -> Band | None:
        return next((band for band in self.bands if band.min <= total <= band.max), None)


def _texts(table: dict, key: str, where: str, *, required: bool = True) -> dict[str, str]:
    value = table.get(key, {})
    if isinstance(value, str):
        value = {"sv": value, "en": value}
    if required and not (value.get("sv") and value.get("en")):
        raise DefinitionError(f"{where}: '{key}' needs Swedish (sv) and English (en) text.")
    return dict(value)


def _scales(data: dict, path: str) -> dict[str, Scale]:
    scales = {}
    for key, table in data.get("scales", {}).items():
        options = tuple(
            Option(int(option["value"]), _texts(option, "text", f"{path} scale {key}"))
            for option in table.get("options", [])
        )
        if not options:
            raise DefinitionError(f"{path}: scale '{key}' has no options.")
        scales[key] = Scale(key, options)
    return scales


def _items(data: dict, scales: dict[str, Scale], path: str, licensed: bool) -> tuple[Item, ...]:
    items = []
    for number, table in enumerate(data.get("items", []), start=1):
        where = f"{path} item {number}"
        if table.get("number", number) != number:
            raise DefinitionError(f"{where}: items must be numbered 1, 2, 3… in order.")
        parts_table = table.get("parts") or [{"key": "score", "scale": table.get("scale")}]
        parts = []
        for part in parts_table:
            if part.get("scale") not in scales:
                raise DefinitionError(f"{where}: unknown scale '{part.get('scale')}'.")
            text = _texts(part, "text", where, required=False)
            parts.append(Part(part["key"], scales[part["scale"]], text))
        weights = table.get("weights")
        items.append(
            Item(
                number=number,
                text=_texts(table, "text", where, required=not licensed),
                parts=tuple(parts),
                reverse=bool(table.get("reverse", False)),
                weights={int(k): int(v) for k, v in weights.items()} if weights else None,
                skip_when=_skip_when(table.get("skip_when"), items, where),
            )
        )
    if not items:
        raise DefinitionError(f"{path}: no items.")
    return tuple(items)


def _skip_when(table: dict | None, earlier: list[Item], where: str):
    """``skip_when = { item = 1, answers = [0] }``: an earlier item of one rating, and answers
    among its options."""
    if table is None:
        return None
    number, answers = table.get("item"), table.get("answers")
    if not isinstance(number, int) or not 1 <= number <= len(earlier) or not answers:
        raise DefinitionError(f"{where}: skip_when names an earlier item and its answers.")
    item = earlier[number - 1]
    if len(item.parts) != 1 or not set(answers) <= set(item.parts[0].scale.values):
        raise DefinitionError(f"{where}: skip_when's answers must be options of item {number}.")
    return number, frozenset(answers)


def parse_definition(data: dict, path: str = "<definition>") -> Definition:
    """Check a definition read from TOML (or converted from FHIR) and build the object."""
    try:
        licence = data["licence"]
        if licence not in ("free", "licensed-text"):
            raise DefinitionError(f"{path}: licence must be 'free' or 'licensed-text'.")
        scales = _scales(data, path)
        items = _items(data, scales, path, licensed=licence == "licensed-text")
        scoring = data["scoring"]
        missing = scoring.get("missing", {"rule": "refuse", "max_missing": 0})
        critical = data.get("critical", {})
        change = data.get("change", {})
        bands = tuple(
            Band(float(band["min"]), float(band["max"]), _texts(band, "label", f"{path} band"))
            for band in data["bands"]
        )
        subscales = tuple(
            Subscale(
                key=sub["key"],
                name=_texts(sub, "name", f"{path} subscale"),
                items=tuple(sub.get("items") or (item.number for item in items)),
                part=sub.get("part", ""),
            )
            for sub in scoring.get("subscales", [])
        )
        definition = Definition(
            code=data["code"],
            version=str(data["version"]),
            name=_texts(data, "name", path),
            licence=licence,
            licence_note=_texts(data, "licence_note", path, required=False),
            source=data["source"],
            instructions=_texts(data, "instructions", path, required=licence == "free"),
            items=items,
            method=scoring.get("method", "sum"),
            scoring_source=scoring["source"],
            missing_rule=missing["rule"],
            max_missing=int(missing.get("max_missing", 0)),
            missing_source=missing.get("source", scoring["source"]),
            bands=bands,
            subscales=subscales,
            bands_source=data["bands_source"],
            critical_items=tuple(critical.get("items", ())),
            critical_threshold=int(critical.get("threshold", 0)),
            critical_source=critical.get("source", ""),
            acute_items=tuple(critical.get("acute_items", ())),
            reliable_change=change.get("reliable_change"),
            remission_below=change.get("remission_below"),
            change_source=change.get("source", ""),
            higher_is_worse=bool(data.get("higher_is_worse", True)),
            score_shown_to_patient=bool(data.get("score_shown_to_patient", True)),
            raw=data,
        )
    except KeyError as missing_key:
        raise DefinitionError(f"{path}: missing {missing_key}.") from None
    _check(definition, path)
    return definition


def _check(definition: Definition, path: str) -> None:
    if definition.method not in ("sum", "product"):
        raise DefinitionError(f"{path}: scoring method must be 'sum' or 'product'.")
    if definition.missing_rule not in ("prorate", "refuse"):
        raise DefinitionError(f"{path}: missing-answer rule must be 'prorate' or 'refuse'.")
    numbers = {item.number for item in definition.items}
    for number in definition.critical_items:
        if number not in numbers:
            raise DefinitionError(f"{path}: critical item {number} does not exist.")
    for subscale in definition.subscales:
        if not set(subscale.items) <= numbers:
            raise DefinitionError(f"{path}: subscale '{subscale.key}' names a missing item.")
    for earlier, later in zip(definition.bands, definition.bands[1:], strict=False):
        if later.min <= earlier.max:
            raise DefinitionError(f"{path}: severity bands overlap or are out of order.")
    low, high = score_range(definition)
    if (definition.bands[0].min, definition.bands[-1].max) != (low, high):
        raise DefinitionError(f"{path}: the bands must cover the whole range {low}-{high}.")
    for earlier, later in zip(definition.bands, definition.bands[1:], strict=False):
        if later.min != earlier.max + 1:
            raise DefinitionError(f"{path}: a gap between bands at {earlier.max}.")
    if not set(definition.acute_items) <= set(definition.critical_items):
        raise DefinitionError(f"{path}: an acute item must be a critical item.")
    if definition.critical_items and not definition.critical_source:
        raise DefinitionError(f"{path}: the critical-item rule needs its source.")


def _item_scores(item: Item) -> list[list[int]]:
    """Every score each part of ``item`` can give, after reversal and weights."""
    scores = []
    for part in item.parts:
        values = part.scale.values
        if item.weights is not None:
            scores.append([item.weights[value] for value in values])
        elif item.reverse:
            scores.append([min(values) + max(values) - value for value in values])
        else:
            scores.append(list(values))
    return scores


def score_range(definition: Definition) -> tuple[float, float]:
    """The lowest and highest total the form can give (the manual's range)."""
    low = high = 0
    for item in definition.items:
        parts = _item_scores(item)
        if definition.method == "product":
            low += prod(min(scores) for scores in parts)
            high += prod(max(scores) for scores in parts)
        else:
            low += sum(min(scores) for scores in parts)
            high += sum(max(scores) for scores in parts)
    return float(low), float(high)


def load_file(path: Path) -> Definition:
    with path.open("rb") as file:
        try:
            data = tomllib.load(file)
        except tomllib.TOMLDecodeError as error:
            raise DefinitionError(f"{path.name}: {error}") from None
    return parse_definition(data, path.name)


@cache
def shipped_definitions() -> dict[str, Definition]:
    """Every definition shipped with the package, by code (the latest version of each)."""
    definitions = (load_file(path) for path in sorted(INSTRUMENT_DIR.glob("*.toml")))
    return {definition.code: definition for definition in definitions}


def shipped_definition(code: str) -> Definition:
    by_code = {key.upper(): value for key, value in shipped_definitions().items()}
    try:
        return by_code[code.upper()]
    except KeyError:
        known = ", ".join(sorted(shipped_definitions()))
        raise UnknownInstrument(f"Unknown instrument '{code}'. Known: {known}.") from None
