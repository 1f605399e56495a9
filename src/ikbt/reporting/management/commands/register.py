"""``ikbt register export --from DATE --to DATE --format csv|json --by USERNAME``.

Streams one record per treatment to standard output (or ``--output FILE``); memory stays flat.
Shows progress on a terminal. Every patient exported is written to the access log as an
export by the register officer named with ``--by``.
"""

import csv
import datetime
import json
import sys

from django.core.management.base import BaseCommand, CommandError

from ikbt.accounts.models import User
from ikbt.audit.models import AccessLogEntry
from ikbt.organisations.models import StaffMembership, StaffRole
from ikbt.reporting.register import FIELDS, records, treatments

BAD_INPUT = 2
LOG_BATCH = 500


def _day(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"'{value}' is not a date (YYYY-MM-DD).", returncode=BAD_INPUT
        ) from None


def log_export(officer: User, patient_ids: list[int], detail: str) -> None:
    AccessLogEntry.objects.bulk_create(
        AccessLogEntry(
            actor=officer,
            actor_name=officer.get_full_name() or officer.username,
            actor_role=str(StaffRole.REGISTER_OFFICER.label),
            patient_id=patient_id,
            action=AccessLogEntry.Action.EXPORT,
            object_type="treatment",
            detail=detail,
        )
        for patient_id in patient_ids
    )


class Command(BaseCommand):
    help = "Export treatments for the national quality register (SibeR), streamed."

    def add_arguments(self, parser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        export = commands.add_parser("export")
        export.add_argument("--from", dest="date_from", required=True)
        export.add_argument("--to", dest="date_to", required=True)
        export.add_argument("--format", choices=["csv", "json"], default="csv")
        export.add_argument("--region", help="A county code, e.g. 05.")
        export.add_argument("--include-running", action="store_true")
        export.add_argument(
            "--identify",
            action="store_true",
            help="Personal identity numbers instead of pseudonyms: only for SibeR's delivery.",
        )
        export.add_argument("--by", required=True, help="The register officer's username.")
        export.add_argument("--output", help="A file instead of standard output.")

    def handle(self, *args, **options) -> None:
        officer = User.objects.filter(username=options["by"], kind=User.Kind.STAFF).first()
        is_officer = StaffMembership.objects.filter(
            user=officer, role=StaffRole.REGISTER_OFFICER
        ).exists()
        if officer is None or not is_officer:
            raise CommandError("--by must name a register officer.", returncode=BAD_INPUT)
        date_from, date_to = _day(options["date_from"]), _day(options["date_to"])
        if date_to < date_from:
            raise CommandError("--to is before --from.", returncode=BAD_INPUT)
        selection = {"region": options["region"], "include_running": options["include_running"]}
        total = treatments(date_from, date_to, **selection).count()
        rows = records(date_from, date_to, identify=options["identify"], **selection)
        detail = (
            f"register export {date_from}..{date_to}, "
            f"{'identified' if options['identify'] else 'pseudonymised'}"
        )
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8", newline="") as out:
                written = self._write(out, options["format"], rows, total, officer, detail)
        else:
            written = self._write(self.stdout, options["format"], rows, total, officer, detail)
        self.stderr.write(f"{written} treatment(s) exported.")

    def _write(self, out, format_: str, rows, total: int, officer: User, detail: str) -> int:
        writer = csv.DictWriter(out, fieldnames=FIELDS) if format_ == "csv" else None
        if writer:
            writer.writeheader()
        else:
            out.write("[\n")
        pending: list[int] = []
        count = 0
        for patient_id, row in rows:
            if writer:
                writer.writerow(row)
            else:
                out.write((",\n" if count else "") + json.dumps(row, ensure_ascii=False))
            count += 1
            pending.append(patient_id)
            if len(pending) >= LOG_BATCH:
                log_export(officer, pending, detail)
                pending = []
            if sys.stderr.isatty():
                sys.stderr.write(f"\r{count}/{total}")
        if not writer:
            out.write("\n]\n")
        log_export(officer, pending, detail)
        return count
