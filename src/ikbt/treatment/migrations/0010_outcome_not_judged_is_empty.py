"""Stored register summaries judged "not reliably improved" (and "not in remission") where the
primary questionnaire has no reliable-change figure (or remission cut-off): they are left
empty now, as ``treatment.outcome.judge`` leaves them, so that the statistics' shares are of
the treatments that can be judged."""

from django.db import migrations


def empty_what_cannot_be_judged(apps, schema_editor):
    InstrumentVersion = apps.get_model("measurement", "InstrumentVersion")
    Enrollment = apps.get_model("treatment", "Enrollment")
    change = {}
    for version in InstrumentVersion.objects.select_related("instrument").order_by("pk"):
        change[version.instrument.code] = version.definition.get("change", {})  # latest wins
    codes = set(Enrollment.objects.values_list("primary_instrument", flat=True).distinct())
    for code in codes - {""}:
        figures = change.get(code, {})
        if figures.get("reliable_change") is None:
            Enrollment.objects.filter(primary_instrument=code).update(
                reliable_improvement=None, reliable_deterioration=None
            )
        if figures.get("remission_below") is None:
            Enrollment.objects.filter(primary_instrument=code).update(remission=None)


class Migration(migrations.Migration):
    dependencies = [
        ("measurement", "0006_response_band_labels"),
        ("treatment", "0009_statistics_by_unit"),
    ]

    operations = [
        migrations.RunPython(empty_what_cannot_be_judged, migrations.RunPython.noop),
    ]
