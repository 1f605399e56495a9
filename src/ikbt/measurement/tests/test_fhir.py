import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from ikbt.audit.models import AccessLogEntry
from ikbt.measurement import actions, fhir
from ikbt.measurement.fhir import FhirImportError
from ikbt.measurement.scoring import score


@pytest.fixture
def phq9(db):
    actions.instruments_load()
    return actions.current_version("PHQ-9")


@pytest.fixture
def submitted(phq9, patient):
    return actions.response_submit(
        actions.response_start(patient, phq9), [1, 2, 3, 0, 1, 2, 3, 0, 0]
    )


def test_questionnaire_validates_and_carries_every_item(phq9):
    resource = Questionnaire.model_validate_json(fhir.questionnaire(phq9).model_dump_json())
    assert resource.version == phq9.version
    assert [item.linkId for item in resource.item] == [str(n) for n in range(1, 10)]
    values = [option.valueCoding.code for option in resource.item[0].answerOption]
    assert values == ["0", "1", "2", "3"]


def test_audit_questions_two_to_eight_are_enabled_only_after_another_answer_than_never(db):
    actions.instruments_load()
    audit = actions.current_version("AUDIT")
    resource = Questionnaire.model_validate_json(fhir.questionnaire(audit).model_dump_json())
    rules = [
        [(when.question, when.operator, when.answerCoding.code) for when in item.enableWhen or []]
        for item in resource.item
    ]
    assert rules == [[]] + [[("1", "!=", "0")]] * 7 + [[]] * 2


def test_response_and_observation_validate(submitted, patient):
    response = QuestionnaireResponse.model_validate_json(
        fhir.questionnaire_response(submitted).model_dump_json()
    )
    assert response.status == "completed"
    assert response.subject.identifier.value == patient.personal_number
    assert [item.answer[0].valueCoding.code for item in response.item] == [
        "1",
        "2",
        "3",
        "0",
        "1",
        "2",
        "3",
        "0",
        "0",
    ]
    observation = Observation.model_validate_json(fhir.observation(submitted).model_dump_json())
    assert observation.valueInteger == 12
    assert observation.code.coding[0].code == "44261-6"
    assert observation.derivedFrom[0].reference == f"QuestionnaireResponse/{submitted.key}"


def test_round_trip_gives_an_instrument_that_scores_the_same(phq9, db):
    exported = json.loads(fhir.questionnaire(phq9).model_dump_json(exclude_none=True))
    exported["name"] = "PHQ9Imported"
    imported = actions.instrument_import_fhir(exported)

    answers = [1, 2, 3, 0, 1, 2, 3, 0, 0]
    assert score(imported.parsed, answers).total == score(phq9.parsed, answers).total == 12
    assert imported.item_text(9, "sv") == phq9.item_text(9, "sv")
    again = Questionnaire.model_validate_json(fhir.questionnaire(imported).model_dump_json())
    assert len(again.item) == 9


def test_import_refuses_free_text_items(db):
    with pytest.raises(FhirImportError, match="choices"):
        actions.instrument_import_fhir(
            {
                "resourceType": "Questionnaire",
                "status": "active",
                "name": "Fritext",
                "item": [{"linkId": "1", "type": "string", "text": "Berätta"}],
            }
        )


def test_import_keeps_the_skip_rule_and_refuses_other_conditions(db):
    actions.instruments_load()
    exported = json.loads(
        fhir.questionnaire(actions.current_version("AUDIT")).model_dump_json(exclude_none=True)
    )
    definition = fhir.definition_from_questionnaire(exported)
    assert [item.get("skip_when") for item in definition["items"]] == [None] + [
        {"item": 1, "answers": [0]}
    ] * 7 + [None] * 2
    exported["item"][1]["enableWhen"][0]["operator"] = "="
    with pytest.raises(FhirImportError, match="Item 2: only a condition that skips it"):
        fhir.definition_from_questionnaire(exported)


def test_import_command(tmp_path, phq9, capsys):
    exported = json.loads(fhir.questionnaire(phq9).model_dump_json(exclude_none=True))
    exported["name"] = "Kommando"
    path = tmp_path / "q.json"
    path.write_text(json.dumps(exported))
    call_command("instruments", "import-fhir", str(path))
    assert "Added Kommando" in capsys.readouterr().out
    with pytest.raises(CommandError) as error:
        call_command("instruments", "import-fhir", str(path))
    assert error.value.returncode == 2


def test_staff_download_is_logged_and_outsiders_get_404(
    therapist_client, outsider_client, submitted, therapist
):
    url = reverse("measurement:fhir_observation", args=[submitted.pk])
    answer = therapist_client.get(url)
    assert answer["Content-Type"].startswith("application/fhir+json")
    assert Observation.model_validate_json(answer.content).valueInteger == 12
    assert AccessLogEntry.objects.filter(actor=therapist, action="export").count() == 1
    assert outsider_client.get(url).status_code == 404
    qr = reverse("measurement:fhir_questionnaire_response", args=[submitted.pk])
    assert outsider_client.get(qr).status_code == 404
