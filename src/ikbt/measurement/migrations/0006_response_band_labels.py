from django.db import migrations, models


def band_labels_fill(apps, schema_editor):
    """Responses scored before the field existed get each language's name of their band, from
    the definition of the version they were answered on (one UPDATE per band); one whose band
    the definition no longer names keeps the Swedish name it was scored with."""
    InstrumentVersion = apps.get_model("measurement", "InstrumentVersion")
    Response = apps.get_model("measurement", "Response")
    for version in InstrumentVersion.objects.all():
        for band in version.definition.get("bands", []):
            label = band["label"]
            labels = {"sv": label, "en": label} if isinstance(label, str) else dict(label)
            Response.objects.filter(
                instrument_version=version, total__gte=band["min"], total__lte=band["max"]
            ).update(band_labels=labels)
    for response in Response.objects.filter(band_labels={}).exclude(band_label=""):
        response.band_labels = {"sv": response.band_label}
        response.save(update_fields=["band_labels"])


class Migration(migrations.Migration):
    dependencies = [
        ("measurement", "0005_riskflag_notified_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="response",
            name="band_labels",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="The severity band's name as scored, by language code.",
                verbose_name="severity",
            ),
        ),
        migrations.RunPython(band_labels_fill, migrations.RunPython.noop),
        migrations.RemoveField(model_name="response", name="band_label"),
    ]
