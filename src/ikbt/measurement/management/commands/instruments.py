"""``ikbt instruments load`` and ``ikbt instruments import-text CODE FILE``."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ikbt.measurement.actions import (
    current_version,
    instrument_import_fhir,
    instruments_load,
    licensed_text_import,
)
from ikbt.measurement.models import InstrumentVersion


class Command(BaseCommand):
    help = "Load the shipped instrument definitions, or add licensed item text to one."

    def add_arguments(self, parser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        commands.add_parser("load", help="Store shipped definitions not yet in the database.")
        text = commands.add_parser(
            "import-text",
            help='Add item text held under licence: a JSON file {"items": [{"sv": …, "en": …}]}.',
        )
        text.add_argument("code")
        text.add_argument("file", type=Path)
        fhir = commands.add_parser(
            "import-fhir", help="Add an instrument from a FHIR Questionnaire (JSON) of choices."
        )
        fhir.add_argument("file", type=Path)

    def handle(self, *args, command: str, **options) -> None:
        if command == "load":
            added = instruments_load()
            self.stdout.write(f"Loaded {len(added)} new instrument version(s).")
            return
        if command == "import-fhir":
            try:
                data = json.loads(options["file"].read_text(encoding="utf-8"))
                version = instrument_import_fhir(data)
            except (OSError, ValueError) as error:
                raise CommandError(f"Could not import: {error}", returncode=2) from None
            self.stdout.write(f"Added {version}.")
            return
        try:
            version = current_version(options["code"])
        except InstrumentVersion.DoesNotExist:
            raise CommandError(f"Unknown instrument '{options['code']}'.", returncode=2) from None
        try:
            items = json.loads(options["file"].read_text(encoding="utf-8"))["items"]
            licensed_text_import(version, items)
        except (OSError, KeyError, ValueError) as error:
            raise CommandError(f"Could not import the text: {error}", returncode=2) from None
        self.stdout.write(f"Added the licensed text to {version}.")
