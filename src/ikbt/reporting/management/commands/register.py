"""``ikbt register export --from DATE --to DATE --format csv|json --by USERNAME``.

Streams one record per treatment to standard output (or ``--output FILE``); memory stays flat.
Shows progress on a terminal. Every patient exported is written to the access log as an
export by the register officer named with ``--by``.
"""

import datetime
import sys

from django.core.management.base import BaseCommand, CommandError

from ikbt.accounts.models import User
from ikbt.organisations.models import StaffMembership, StaffRole
from ikbt.reporting.register import export_stream, treatments
from ikbt.treatment.models import Enrollment
from ikbt.treatment.outcome import summary_refresh

BAD_INPUT = 2


def _day(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            f"'{value}' is not a date (YYYY-MM-DD).", returncode=BAD_INPUT
        ) from None


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
        commands.add_parser(
            "refresh",
            help="Recompute every treatment's stored register summary (after an upgrade or a "
            "data repair; the platform keeps them current as it runs).",
        )

    def handle(self, *args, command: str, **options) -> None:
        if command == "refresh":
            count = 0
            # Streamed 2,000 at a time, so the memory stays the same for any number.
            everyone = Enrollment.objects.select_related("program_version", "patient")
            for enrollment in everyone.order_by("pk").iterator(chunk_size=2000):
                summary_refresh(enrollment)
                count += 1
                if count % 10_000 == 0:
                    self.stdout.write(f"{count} …")
            self.stdout.write(f"{count} treatment summaries refreshed.")
            return
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
        written = 0

        def progress(count: int) -> None:
            nonlocal written
            written = count
            if sys.stderr.isatty() and (count % 1000 == 0 or count == total):
                sys.stderr.write(f"\r{count}/{total} ({100 * count // max(total, 1)}%)")

        pieces = export_stream(
            officer,
            date_from,
            date_to,
            format=options["format"],
            identify=options["identify"],
            progress=progress,
            **selection,
        )
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8", newline="") as out:
                out.writelines(pieces)
        else:
            for piece in pieces:
                self.stdout.write(piece, ending="")
        self.stderr.write(f"\n{written} treatment(s) exported.")
