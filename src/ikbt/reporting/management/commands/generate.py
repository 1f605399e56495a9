"""``ikbt generate --treatments N --seed S``: synthetic treatments across all 21 regions, for
benchmarks and load tests. Refuses a production database (DEBUG off) unless told otherwise."""

import datetime
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ikbt.reporting.synthetic import Generator

BAD_INPUT = 2


class Command(BaseCommand):
    help = "Fill the database with synthetic treatments across all 21 regions (repeatable)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--treatments", type=int, required=True)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--until", help="The last day of the generated history (default: today)."
        )
        parser.add_argument("--years", type=int, default=5, help="How many years back.")
        parser.add_argument("--batch", type=int, default=20_000)
        parser.add_argument(
            "--synthetic-database",
            action="store_true",
            help="Confirm that this database is for tests even though DEBUG is off.",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["synthetic_database"]:
            raise CommandError(
                "Synthetic patients do not belong in a production database: run with "
                "DEBUG=true, or add --synthetic-database on a database made for tests.",
                returncode=BAD_INPUT,
            )
        if options["treatments"] < 1:
            raise CommandError("--treatments must be at least 1.", returncode=BAD_INPUT)
        try:
            until = datetime.date.fromisoformat(options["until"]) if options["until"] else None
        except ValueError:
            raise CommandError(
                "--until must be a date (YYYY-MM-DD).", returncode=BAD_INPUT
            ) from None
        began = time.monotonic()

        def progress(done: int, total: int) -> None:
            if sys.stderr.isatty():
                width = 30
                filled = width * done // total
                sys.stderr.write(
                    f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} treatments "
                    f"({time.monotonic() - began:.0f} s)"
                )
                sys.stderr.flush()

        written = Generator(
            options["treatments"],
            seed=options["seed"],
            until=until,
            years=options["years"],
            batch=options["batch"],
            progress=progress,
        ).run()
        if sys.stderr.isatty():
            sys.stderr.write("\n")
        for label, count in written.items():
            self.stdout.write(f"{label:<28} {count:>10}")
        self.stdout.write(f"Generated in {time.monotonic() - began:.1f} s.")
