"""Replies held for a supervisor before a message kept its unit get the unit they were held
for: whose supervisor reads them and whose administrator may send them meanwhile
(``ikbt.messaging.access``). That is the unit of the sender's care relationship with the
patient where a supervisor reads her replies first; else the one going on that began first
(as the sender's reply was written from); else, with no care relationship of hers, a unit of
a supervision reading her replies where the patient is in care. None found: the reply keeps
no unit, and a supervisor of hers at every unit sends it."""

from django.db import migrations
from django.db.models import F


def held_reply_units(apps, schema_editor):
    Message = apps.get_model("messaging", "Message")
    CareRelationship = apps.get_model("patients", "CareRelationship")
    Supervision = apps.get_model("organisations", "Supervision")
    held = Message.objects.filter(held_for_review=True, unit__isnull=True).select_related("thread")
    for message in held:
        read_at = set(
            Supervision.objects.filter(
                supervisee_id=message.sender_id, review_messages=True, ended_on__isnull=True
            ).values_list("unit_id", flat=True)
        )
        relationships = list(
            CareRelationship.objects.filter(
                patient_id=message.thread.patient_id, staff_id=message.sender_id
            ).order_by(F("ended_at").desc(nulls_first=True), "started_at", "pk")
        )
        units = [relationship.unit_id for relationship in relationships]
        if not units:
            units = list(
                CareRelationship.objects.filter(
                    patient_id=message.thread.patient_id,
                    ended_at__isnull=True,
                    unit_id__in=read_at - {None},
                )
                .order_by("started_at", "pk")
                .values_list("unit_id", flat=True)
            )
        unit_id = next((unit for unit in units if unit in read_at), units[0] if units else None)
        if unit_id is not None:
            Message.objects.filter(pk=message.pk).update(unit_id=unit_id)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0004_message_unit"),
        ("organisations", "0009_training"),
        ("patients", "0002_patient_notify_by_email_patient_notify_by_sms"),
    ]

    operations = [migrations.RunPython(held_reply_units, migrations.RunPython.noop)]
