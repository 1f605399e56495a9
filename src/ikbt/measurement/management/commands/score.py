"""``ikbt score CODE --answers 1,2,3,...``: score answers with a shipped instrument, as JSON.

Answers are the values as ticked on the form, in item order (for items with two ratings,
such as LSAS-SR, both ratings of item 1 first). An empty place (``1,,3``) is an unanswered
item. Bad input prints what is wrong and exits with status 2.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from ikbt.measurement.definitions import UnknownInstrument, shipped_definition
from ikbt.measurement.scoring import ScoringError, score, score_as_json

BAD_INPUT = 2


def parse_answers(text: str) -> list[int | None]:
    answers = []
    for position, value in enumerate(text.split(","), start=1):
        value = value.strip()
        if value in ("", "-"):
            answers.append(None)
            continue
        try:
            answers.append(int(value))
        except ValueError:
            raise CommandError(
                f"Answer {position} ('{value}') is not a whole number.", returncode=BAD_INPUT
            ) from None
    return answers


class Command(BaseCommand):
    help = "Score answers to a rating scale and print the result as one JSON object."
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser) -> None:
        parser.add_argument("code", help="Instrument code, for example PHQ-9.")
        parser.add_argument(
            "--answers", required=True, help="Item values in item order, comma-separated."
        )
        parser.add_argument("--language", choices=["sv", "en"], default="en")

    def handle(self, *args, code: str, answers: str, language: str, **options) -> None:
        try:
            definition = shipped_definition(code)
            result = score(definition, parse_answers(answers))
        except (UnknownInstrument, ScoringError) as error:
            raise CommandError(str(error).strip("'\""), returncode=BAD_INPUT) from None
        self.stdout.write(
            json.dumps(score_as_json(definition, result, language), ensure_ascii=False)
        )
