"""FHIR R4 (R4B, the 4.3 release of R4) in and out, checked with ``fhir.resources``.

An instrument version is a ``Questionnaire``, a response a ``QuestionnaireResponse`` and its
total an ``Observation`` derived from it. A ``Questionnaire`` whose items are choices, each
option with a numeric value, can be read back as a new instrument definition.
"""

import re

from django.conf import settings
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from ikbt.measurement.models import InstrumentVersion, Response

ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
# Swedish personal identity and coordination numbers (Skatteverket's OIDs, as used by Inera).
PERSONAL_NUMBER_SYSTEM = "urn:oid:1.2.752.129.2.1.3.1"
COORDINATION_NUMBER_SYSTEM = "urn:oid:1.2.752.129.2.1.3.3"


class FhirImportError(ValueError):
    pass


def questionnaire_url(code: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}/fhir/Questionnaire/{code}"


def _link_id(number: int, part_key: str, parts: int) -> str:
    return str(number) if parts == 1 else f"{number}.{part_key}"


def questionnaire(version: InstrumentVersion) -> Questionnaire:
    definition = version.parsed
    items = []
    for item in definition.items:
        text = version.item_text(item.number, "sv")
        for part in item.parts:
            entry = {
                "linkId": _link_id(item.number, part.key, len(item.parts)),
                "type": "choice",
                "required": True,
                "answerOption": [
                    {
                        "valueCoding": {
                            "code": str(option.value),
                            "display": option.text["sv"],
                            "extension": [{"url": ORDINAL_VALUE, "valueDecimal": option.value}],
                        }
                    }
                    for option in part.scale.options
                ],
            }
            label = " – ".join(filter(None, [text, part.text.get("sv", "")]))
            if label:
                entry["text"] = label
            if item.skip_when is not None:  # asked only where the earlier answer is another
                earlier, values = item.skip_when
                entry["enableWhen"] = [
                    {"question": str(earlier), "operator": "!=", "answerCoding": {"code": str(v)}}
                    for v in sorted(values)
                ]
                entry["enableBehavior"] = "all"
            items.append(entry)
    return Questionnaire.model_validate(
        {
            "resourceType": "Questionnaire",
            "id": re.sub(r"[^A-Za-z0-9.-]", "-", f"{definition.code}-{definition.version}"),
            "url": questionnaire_url(definition.code),
            "version": definition.version,
            "name": re.sub(r"[^A-Za-z0-9]", "", definition.code),
            "title": definition.name["sv"],
            "status": "active",
            "language": "sv",
            "description": definition.source,
            "copyright": definition.licence_note.get("sv") or None,
            "item": items,
        }
    )


def _subject(response: Response) -> dict:
    patient = response.patient
    system = (
        COORDINATION_NUMBER_SYSTEM if patient.is_coordination_number else PERSONAL_NUMBER_SYSTEM
    )
    return {
        "identifier": {"system": system, "value": patient.personal_number},
        "display": patient.full_name,
    }


def questionnaire_response(response: Response) -> QuestionnaireResponse:
    version = response.instrument_version
    definition = version.parsed
    items, position = [], 0
    for item in definition.items:
        for part in item.parts:
            value = response.answers[position] if position < len(response.answers) else None
            position += 1
            if value is None:
                continue
            option = next(option for option in part.scale.options if option.value == value)
            items.append(
                {
                    "linkId": _link_id(item.number, part.key, len(item.parts)),
                    "answer": [
                        {"valueCoding": {"code": str(value), "display": option.text["sv"]}}
                    ],
                }
            )
    resource = {
        "resourceType": "QuestionnaireResponse",
        "id": str(response.key),
        "questionnaire": f"{questionnaire_url(definition.code)}|{definition.version}",
        "status": "completed" if response.is_submitted else "in-progress",
        "subject": _subject(response),
        "authored": (response.submitted_at or response.started_at).isoformat(),
        "item": items or None,
    }
    if response.filled_in_by is not None:
        resource["author"] = {"display": response.filled_in_by.get_full_name()}
    return QuestionnaireResponse.model_validate(resource)


def observation(response: Response) -> Observation:
    """The total score, derived from the response; subscales as components."""
    if not response.is_submitted or response.total is None:
        raise ValueError("Only a scored, submitted response has an observation.")
    definition = response.instrument_version.parsed
    loinc = definition.raw.get("loinc_total")
    coding = [{"system": "http://loinc.org", "code": loinc}] if loinc else None
    return Observation.model_validate(
        {
            "resourceType": "Observation",
            "id": f"{response.key}-total",
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "survey",
                        }
                    ]
                }
            ],
            "code": {"coding": coding, "text": f"{definition.code} total score"},
            "subject": _subject(response),
            "effectiveDateTime": response.submitted_at.isoformat(),
            "valueInteger": response.total,
            "interpretation": (
                [{"text": response.band_labels["sv"]}] if response.band_labels else None
            ),
            "derivedFrom": [{"reference": f"QuestionnaireResponse/{response.key}"}],
            "component": [
                {"code": {"text": f"{definition.code} {key}"}, "valueInteger": value}
                for key, value in response.subscales.items()
                if value is not None
            ]
            or None,
        }
    )


def _option_value(option: dict) -> int:
    coding = option.get("valueCoding") or {}
    for extension in coding.get("extension", []) + option.get("extension", []):
        if extension.get("url") == ORDINAL_VALUE:
            return int(extension["valueDecimal"])
    if "valueInteger" in option:
        return int(option["valueInteger"])
    try:
        return int(coding.get("code", ""))
    except ValueError:
        raise FhirImportError(
            "Every answer option needs a numeric value (ordinalValue or a numeric code)."
        ) from None


def definition_from_questionnaire(data: dict) -> dict:
    """A definition (the format of the TOML files) from a FHIR Questionnaire.

    Scoring is the plain sum of the options' values and no answer may be missing, the only
    rule a Questionnaire itself states; bands, critical items and sources are for the
    instrument's owner to add before clinical use.
    """
    resource = Questionnaire.model_validate(data)
    items = [item for item in resource.item or [] if item.type in ("choice", "coding")]
    if not items or len(items) != len(resource.item or []):
        raise FhirImportError("Only questionnaires whose items are all choices can be imported.")
    scales, definition_items = {}, []
    numbers = {item.linkId: number for number, item in enumerate(items, start=1)}
    for number, item in enumerate(items, start=1):
        options = [
            {
                "value": _option_value(option.model_dump(exclude_none=True)),
                "text": {"sv": _display(option), "en": _display(option)},
            }
            for option in item.answerOption or []
        ]
        if not options:
            raise FhirImportError(f"Item {item.linkId} has no answer options.")
        scales[f"item{number}"] = {"options": options}
        text = item.text or item.linkId
        entry = {"scale": f"item{number}", "text": {"sv": text, "en": text}}
        if item.enableWhen:
            entry["skip_when"] = _skip_when(item, numbers, number)
        definition_items.append(entry)
    lowest = sum(min(o["value"] for o in scale["options"]) for scale in scales.values())
    highest = sum(max(o["value"] for o in scale["options"]) for scale in scales.values())
    source = resource.url or resource.publisher or "FHIR Questionnaire"
    title = resource.title or resource.name or "Questionnaire"
    return {
        "code": resource.name or resource.id or title,
        "version": resource.version or "1",
        "licence": "free",
        "source": source,
        "name": {"sv": title, "en": title},
        "licence_note": {"sv": resource.copyright or "", "en": resource.copyright or ""},
        "instructions": {"sv": resource.description or title, "en": resource.description or title},
        "scales": scales,
        "items": definition_items,
        "scoring": {"method": "sum", "source": f"Sum of option values ({source})"},
        "bands_source": "The Questionnaire states no severity bands: one band, the whole range.",
        "bands": [{"min": lowest, "max": highest, "label": {"sv": "Summa", "en": "Total"}}],
    }


def _skip_when(item, numbers: dict[str, int], number: int) -> dict:
    """An item asked unless an earlier one has certain answers (``enableWhen`` with "!=" on
    one earlier item, all to hold): the definitions' ``skip_when``. Other conditions are not
    a rule the definitions can state."""
    conditions = item.enableWhen
    questions = {condition.question for condition in conditions}
    earlier = numbers.get(next(iter(questions)))
    answers = [
        condition.answerCoding.code if condition.answerCoding else condition.answerInteger
        for condition in conditions
    ]
    if (
        len(questions) != 1
        or earlier is None
        or earlier >= number
        or any(condition.operator != "!=" for condition in conditions)
        or (len(conditions) > 1 and item.enableBehavior != "all")
        or not all(str(answer).isdigit() for answer in answers)
    ):
        raise FhirImportError(
            f"Item {item.linkId}: only a condition that skips it after certain answers to "
            "one earlier item can be imported."
        )
    return {"item": earlier, "answers": sorted(int(answer) for answer in answers)}


def _display(option) -> str:
    coding = option.valueCoding
    if coding is not None:
        return coding.display or coding.code or ""
    return str(option.valueString or option.valueInteger or "")
