"""A patient's message is answered once a reply reaches her in its thread (being read is not
being answered). Messages from before are answered at the first reply sent after them; a
message no reply followed waits, as it does from now on."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def answered_by_later_replies(apps, schema_editor):
    Message = apps.get_model("messaging", "Message")
    first_reply = (
        Message.objects.filter(
            thread_id=OuterRef("thread_id"),
            sender__kind="staff",
            held_for_review=False,
            sent_at__gte=OuterRef("sent_at"),
        )
        .order_by("sent_at")
        .values("sent_at")[:1]
    )
    Message.objects.filter(sender__kind="patient").update(answered_at=Subquery(first_reply))


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0006_held_reply_sent_back"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="answered_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="answered"),
        ),
        migrations.RunPython(answered_by_later_replies, migrations.RunPython.noop),
    ]
