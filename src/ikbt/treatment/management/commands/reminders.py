"""``ikbt reminders``: queue the reminder, nudge and escalation tasks for the worker.

Run it every 15 minutes (cron or a systemd timer) beside ``ikbt worker``; with
``--now`` it runs them in this process instead. Every task is safe to run twice.
"""

from django.core.management.base import BaseCommand

from ikbt.core.tasks import forget_form_submissions
from ikbt.measurement.tasks import escalate_risk_flags
from ikbt.treatment.tasks import (
    escalate_overdue_replies,
    nudge_inactive_patients,
    remind_due_questionnaires,
)

TASKS = [
    remind_due_questionnaires,
    nudge_inactive_patients,
    escalate_overdue_replies,
    escalate_risk_flags,
    forget_form_submissions,
]


class Command(BaseCommand):
    help = "Queue (or with --now, run) reminders, nudges and escalations."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--now", action="store_true", help="Run here instead of queueing.")

    def handle(self, *args, now: bool, **options) -> None:
        for job in TASKS:
            if now:
                self.stdout.write(f"{job.name}: {job.call()}")
            else:
                job.enqueue()
                self.stdout.write(f"{job.name}: queued")
