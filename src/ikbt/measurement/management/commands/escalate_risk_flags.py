from django.core.management.base import BaseCommand

from ikbt.measurement.tasks import escalate_risk_flags


class Command(BaseCommand):
    help = "Send risk flags left open for a working day to the unit administrators (run often)."

    def handle(self, *args, **options) -> None:
        count = escalate_risk_flags.call()
        self.stdout.write(f"Escalated {count} risk flag(s).")
