"""``ikbt program export|import|validate|list``: programs as plain-text packages."""

import json as _json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ikbt.organisations.models import Region
from ikbt.programs.actions import (
    ProgramError,
    PublishError,
    data_from_version,
    program_import,
    version_publish,
)
from ikbt.programs.models import Program
from ikbt.programs.package import read_package, write_package

BAD_INPUT = 2


class Command(BaseCommand):
    help = "Export, import, validate and list treatment programs as plain-text packages."

    def add_arguments(self, parser) -> None:
        commands = parser.add_subparsers(dest="command", required=True)
        export = commands.add_parser("export", help="Write a program's latest version.")
        export.add_argument("slug")
        export.add_argument("path", type=Path, help="A folder, or a file ending in .zip.")
        export.add_argument("--version", type=int, help="A version number (default: latest).")
        imported = commands.add_parser("import", help="Add a package as a new draft version.")
        imported.add_argument("path", type=Path)
        imported.add_argument("--region", required=True, help="The owner region's county code.")
        imported.add_argument("--publish", action="store_true", help="Publish it at once.")
        validate = commands.add_parser("validate", help="List a package's problems.")
        validate.add_argument("path", type=Path)
        listing = commands.add_parser("list", help="Every program, one line each.")
        listing.add_argument("--json", action="store_true")

    def handle(self, *args, command: str, **options) -> None:
        getattr(self, f"_{command}")(**options)

    def _export(self, slug: str, path: Path, version: int | None, **options) -> None:
        program = Program.objects.filter(slug=slug).first()
        versions = program.versions.order_by("-number") if program else None
        chosen = (
            versions.filter(number=version).first() if version else (versions and versions.first())
        )
        if not chosen:
            raise CommandError(
                f"No program '{slug}'" + (f" version {version}." if version else "."),
                returncode=BAD_INPUT,
            )
        write_package(data_from_version(chosen), path)
        self.stdout.write(f"Wrote {chosen} to {path}.")

    def _problems(self, path: Path):
        data, problems = read_package(path)
        if problems:
            for problem in problems:
                self.stderr.write(str(problem))
            raise CommandError(f"{len(problems)} problem(s) in {path}.", returncode=BAD_INPUT)
        return data

    def _validate(self, path: Path, **options) -> None:
        data = self._problems(path)
        self.stdout.write(f"{path}: {data.slug} is valid ({len(data.modules)} modules).")

    def _import(self, path: Path, region: str, publish: bool, **options) -> None:
        data = self._problems(path)
        owner = Region.objects.filter(code=region).first()
        if owner is None:
            raise CommandError(f"No region with the code '{region}'.", returncode=BAD_INPUT)
        try:
            version = program_import(data, owner)
            if publish:
                version = version_publish(version, None)
        except PublishError as error:
            raise CommandError("; ".join(map(str, error.problems)), returncode=BAD_INPUT) from None
        except ProgramError as error:
            raise CommandError(str(error), returncode=BAD_INPUT) from None
        state = "published" if version.is_published else "a draft"
        self.stdout.write(f"Imported {version} ({state}).")

    def _list(self, json: bool, **options) -> None:
        rows = []
        for program in Program.objects.select_related("owner_region").prefetch_related("versions"):
            latest = max(program.versions.all(), key=lambda version: version.number, default=None)
            if latest is None:
                continue
            rows.append(
                {
                    "slug": program.slug,
                    "title": latest.title_sv,
                    "condition": program.condition,
                    "target_group": program.target_group,
                    "weeks": latest.planned_weeks,
                    "primary_instrument": latest.primary_instrument,
                    "modules": latest.modules.count(),
                    "version": latest.number,
                    "status": latest.status,
                    "owner_region": program.owner_region.code,
                }
            )
        if json:
            self.stdout.write(_json.dumps(rows, ensure_ascii=False, indent=2))
            return
        for row in rows:
            self.stdout.write(
                f"{row['slug']:<24} v{row['version']:<3} {row['status']:<10} "
                f"{row['condition']:<15} {row['target_group']:<7} {row['weeks']:>2} weeks "
                f"{row['modules']:>2} modules  {row['title']}"
            )
