"""Replies held for a supervisor before a message kept its unit get the unit of the sender's
care relationship with the patient (the one going on, else the latest): whose supervisor reads
them and whose administrator may send them meanwhile (``ikbt.messaging.access``)."""

from django.db import migrations
from django.db.models import F


def held_reply_units(apps, schema_editor):
    Message = apps.get_model("messaging", "Message")
    CareRelationship = apps.get_model("patients", "CareRelationship")
    for message in Message.objects.filter(held_for_review=True, unit__isnull=True).select_related(
        "thread"
    ):
        relationship = (
            CareRelationship.objects.filter(
                patient_id=message.thread.patient_id, staff_id=message.sender_id
            )
            .order_by(F("ended_at").desc(nulls_first=True), "-pk")  # one going on first
            .first()
        )
        if relationship is not None:
            Message.objects.filter(pk=message.pk).update(unit_id=relationship.unit_id)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0004_message_unit"),
        ("patients", "0002_patient_notify_by_email_patient_notify_by_sms"),
    ]

    operations = [migrations.RunPython(held_reply_units, migrations.RunPython.noop)]
