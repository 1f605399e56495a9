"""``ikbt kpi --region CODE --period 2026H1 [--json]``: a region's figures for scripts."""

import json

from django.core.management.base import BaseCommand, CommandError

from ikbt.organisations.models import Region
from ikbt.reporting.kpi import PeriodError, kpi

BAD_INPUT = 2


class Command(BaseCommand):
    help = "Print a region's key figures for a period (cells under 5 patients suppressed)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--region", required=True, help="County code, e.g. 05.")
        parser.add_argument("--period", required=True, help="2026, 2026H1, 2026Q3 or 2026-05.")
        parser.add_argument("--json", dest="as_json", action="store_true")

    def handle(self, *args, region: str, period: str, as_json: bool, **options) -> None:
        if not Region.objects.filter(code=region).exists():
            raise CommandError(f"No region with the code '{region}'.", returncode=BAD_INPUT)
        try:
            figures = kpi(region, period)
        except PeriodError as error:
            raise CommandError(str(error), returncode=BAD_INPUT) from None
        if as_json:
            self.stdout.write(json.dumps(figures, ensure_ascii=False, indent=2))
            return
        for key, value in figures.items():
            self.stdout.write(f"{key:<36} {value}")
