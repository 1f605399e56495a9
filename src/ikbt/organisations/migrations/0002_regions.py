"""All 21 Swedish regions with their official county codes (SCB länskoder)."""

import json
from pathlib import Path

from django.db import migrations

REGIONS_FILE = Path(__file__).resolve().parent.parent / "data" / "regions.json"


def load_regions(apps, schema_editor):
    Region = apps.get_model("organisations", "Region")
    for row in json.loads(REGIONS_FILE.read_text(encoding="utf-8")):
        Region.objects.update_or_create(code=row["code"], defaults={"name": row["name"]})


class Migration(migrations.Migration):
    dependencies = [("organisations", "0001_initial")]

    operations = [migrations.RunPython(load_regions, migrations.RunPython.noop)]
