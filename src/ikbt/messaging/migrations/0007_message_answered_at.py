"""A patient's message is answered once a reply reaches her in its thread (being read is not
being answered). Messages from before are answered at the first reply sent after them; one no
reply followed counts as handled when it was read (the rule until now), so that old thank-yous
are not escalated as overdue the day this is deployed. One neither answered nor read waits."""

from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce


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
    Message.objects.filter(sender__kind="patient").update(
        answered_at=Coalesce(Subquery(first_reply), F("read_at"))
    )


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
