"""Synthetic national data for benchmarks and load tests (``ikbt generate``).

Every one of the 21 regions gets primary care centres (in proportion to its population), a
youth clinic and a child and adolescent psychiatry unit, therapists, and the shipped programs
on offer. Each treatment has its patient, interest registration, responsible therapist,
primary-questionnaire answers (screening, before, weekly, after and follow-ups, scored by the
platform's own scoring so totals agree with the answers), messages, therapist time and module
progress. Drop-out, waiting times and score trajectories follow the shape of Swedish iCBT
figures (about one in five drops out; median wait about two weeks; half improve reliably).

Rows are written in batches: ``COPY`` on PostgreSQL, ``bulk_create`` elsewhere. The same
seed, count and end date give the same data.
"""

import datetime
import math
import random
import uuid
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone

from ikbt.accounts.models import User
from ikbt.intake.models import Offering, Registration
from ikbt.measurement.actions import current_version
from ikbt.measurement.models import InstrumentVersion, Response
from ikbt.measurement.scoring import score
from ikbt.messaging.models import Message, Thread
from ikbt.organisations.models import CareUnit, Region, StaffMembership, StaffRole
from ikbt.patients.models import CareRelationship, Patient
from ikbt.patients.personal_number import make_personal_number
from ikbt.programs.actions import latest_published, shipped_programs_publish
from ikbt.programs.models import Condition, Program, TargetGroup
from ikbt.treatment.models import EndReason, Enrollment, ModuleProgress, TimeEntry
from ikbt.treatment.outcome import judge, summary_fields

# Shares of treatments per condition, roughly as Swedish regions report them.
CONDITION_WEIGHTS = {
    Condition.ANXIETY: 22,
    Condition.DEPRESSION: 22,
    Condition.WORRY: 9,
    Condition.INSOMNIA: 10,
    Condition.STRESS: 7,
    Condition.EXHAUSTION: 8,
    Condition.PANIC: 7,
    Condition.SOCIAL_ANXIETY: 7,
    Condition.YOUTH_ANXIETY: 8,
}
GIVEN_NAMES = ["Anna", "Erik", "Maria", "Lars", "Sara", "Johan", "Fatima", "Ali", "Elin", "Nils"]
FAMILY_NAMES = ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson"]
WEEK = datetime.timedelta(weeks=1)
DAY = datetime.timedelta(days=1)


class Table:
    """Rows of one model, written in batches; ids are given here so rows can refer to each
    other before they are written."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.fields = [field for field in model._meta.concrete_fields]
        self.rows: list[dict] = []
        self.next_id = (model.objects.aggregate(last=models.Max("pk"))["last"] or 0) + 1
        self.written = 0

    def add(self, **values) -> int:
        values["id"] = self.next_id
        self.next_id += 1
        self.rows.append(values)
        return values["id"]

    def flush(self) -> None:
        if not self.rows:
            return
        if connection.vendor == "postgresql":
            self._copy()
        else:
            self.model.objects.bulk_create(
                [self.model(**row) for row in self.rows], batch_size=500
            )
        self.written += len(self.rows)
        self.rows = []

    def _copy(self) -> None:
        from psycopg.types.json import Jsonb

        columns = ", ".join(connection.ops.quote_name(field.column) for field in self.fields)
        table = connection.ops.quote_name(self.model._meta.db_table)
        # What each column takes when a row does not say: its default, worked out once.
        fixed = {
            field.attname: field.get_default()
            for field in self.fields
            if not callable(field.default) or field.default in (dict, list)
        }
        json_fields = {
            field.attname for field in self.fields if isinstance(field, models.JSONField)
        }
        sql = f"COPY {table} ({columns}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in self.rows:
                values = []
                for field in self.fields:
                    name = field.attname
                    if name in row:
                        value = row[name]
                    elif name in fixed:
                        value = fixed[name]
                    else:
                        value = field.get_default()
                    values.append(Jsonb(value) if name in json_fields else value)
                copy.write_row(values)


@dataclass
class Site:
    unit: CareUnit
    therapists: list[int]
    versions: list  # the published program versions the unit offers


@dataclass
class Trajectory:
    instrument: InstrumentVersion
    slots: list[tuple[tuple[int, ...], bool, bool]]  # (values, reverse, critical) per answer


class Generator:
    def __init__(
        self,
        treatments: int,
        *,
        seed: int = 1,
        until: datetime.date | None = None,
        years: int = 5,
        batch: int = 20_000,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.count = treatments
        # Repeatable synthetic data, not secrets: a seeded generator is what is wanted here.
        self.random = random.Random(seed)  # noqa: S311  # nosec B311
        self.until = until or timezone.localdate()
        self.first_day = self.until - datetime.timedelta(days=365 * years)
        self.batch = batch
        self.progress = progress or (lambda done, total: None)
        self.serials: dict[str, int] = {}
        self.trajectories: dict[str, Trajectory] = {}
        self.answer_sets: dict[tuple, list] = {}
        self.zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        self.password = make_password(None)  # nobody can sign in as a generated patient

    # --- The organisation ------------------------------------------------------------

    def _sites(self) -> dict[str, list[Site]]:
        owner = Region.objects.get(code="05")
        shipped_programs_publish(owner)
        versions = [
            version
            for version in map(latest_published, Program.objects.order_by("slug"))
            if version is not None
        ]
        adult = [v for v in versions if v.program.target_group == TargetGroup.ADULTS]
        youth = [v for v in versions if v.program.target_group == TargetGroup.YOUTH]
        sites: dict[str, list[Site]] = {}
        for region in Region.objects.order_by("code"):
            centres = max(2, min(40, (region.population or 100_000) // 60_000))
            kinds = [(CareUnit.Kind.PRIMARY_CARE, f"Vårdcentralen {n}", adult)
                     for n in range(1, centres + 1)]  # fmt: skip
            kinds += [
                (CareUnit.Kind.YOUTH_CLINIC, "Ungdomsmottagningen", youth),
                (CareUnit.Kind.CHILD_PSYCHIATRY, "BUP", youth),
            ]
            sites[region.code] = []
            for index, (kind, name, offered) in enumerate(kinds, start=1):
                unit, _ = CareUnit.objects.get_or_create(
                    region=region,
                    name=f"{name} ({region.name}, syntetisk)",
                    defaults={"kind": kind, "hsa_id": f"SE23210000{region.code}-S{index:03d}"},
                )
                for version in offered:
                    Offering.objects.get_or_create(unit=unit, program=version.program)
                therapists = []
                for number in range(1, 4 if kind == CareUnit.Kind.PRIMARY_CARE else 3):
                    user, created = User.objects.get_or_create(
                        username=f"syntetisk-{unit.pk}-{number}",
                        defaults={
                            "first_name": self.random.choice(GIVEN_NAMES),
                            "last_name": f"Behandlare {number}",
                            "kind": User.Kind.STAFF,
                            "password": self.password,
                        },
                    )
                    if created:
                        StaffMembership.objects.create(
                            user=user, unit=unit, role=StaffRole.THERAPIST
                        )
                    therapists.append(user.pk)
                if offered:
                    sites[region.code].append(Site(unit, therapists, offered))
        return sites

    # --- Scores ---------------------------------------------------------------------

    def _trajectory(self, code: str) -> Trajectory:
        if code not in self.trajectories:
            instrument = current_version(code)
            definition = instrument.parsed
            slots = [
                (part.scale.values, item.reverse, item.number in definition.critical_items)
                for item in definition.items
                for part in item.parts
            ]
            self.trajectories[code] = Trajectory(instrument, slots)
        return self.trajectories[code]

    def _scored(self, trajectory: Trajectory, severity: float):
        """Answers near ``severity`` and their score. Each step of 2% of the range keeps up to
        six sets of answers, scored once: scoring every response anew would make half a
        million treatments take an hour."""
        step = round(severity * 50)
        variants = self.answer_sets.setdefault((trajectory.instrument.pk, step), [])
        if len(variants) < 6:
            answers = self._answers(trajectory, step / 50)
            variants.append((answers, score(trajectory.instrument.parsed, answers)))
            return variants[-1]
        return self.random.choice(variants)

    def _answers(self, trajectory: Trajectory, severity: float) -> list[int]:
        """Answers whose total lies near ``severity`` (0 none, 1 the most) of the range."""
        definition = trajectory.instrument.parsed
        answers = []
        for values, reverse, critical in trajectory.slots:
            level = 1 - severity if reverse and definition.higher_is_worse else severity
            low, high = min(values), max(values)
            wanted = low + (high - low) * min(1.0, max(0.0, level + self.random.gauss(0, 0.15)))
            value = min(values, key=lambda option: abs(option - wanted))
            if critical:  # no synthetic risk answers: they would each need a human's review
                value = min(value, max(low, definition.critical_threshold - 1))
            answers.append(value)
        return answers

    # --- Treatments -----------------------------------------------------------------

    def _personal_number(self, birth: datetime.date) -> str:
        key = birth.strftime("%Y%m%d")
        serial = self.serials.get(key, 0)
        self.serials[key] = serial + 1
        # Serials from 800 up: apart from the demo's and the tests' numbers.
        return make_personal_number(key, 800 + serial % 200)

    def run(self) -> dict[str, int]:
        sites = self._sites()
        regions = list(Region.objects.order_by("code"))
        weights = [region.population or 100_000 for region in regions]
        existing = set(Patient.objects.values_list("personal_number", flat=True))
        tables = {
            model: Table(model)
            for model in (
                User, Patient, Registration, Enrollment, CareRelationship, Response,
                Thread, Message, TimeEntry, ModuleProgress,
            )
        }  # fmt: skip
        module_keys = {}
        for region_sites in sites.values():
            for site in region_sites:
                for version in site.versions:
                    if version.pk not in module_keys:
                        module_keys[version.pk] = list(
                            version.modules.order_by("position").values_list("key", flat=True)
                        )
        offerings = {
            (unit, program): pk
            for pk, unit, program in Offering.objects.values_list("pk", "unit_id", "program_id")
        }
        span = (self.until - self.first_day).days
        candidates = {}
        for code, region_sites in sites.items():
            every = [(site, version) for site in region_sites for version in site.versions]
            for condition in CONDITION_WEIGHTS:
                candidates[code, condition] = [
                    (site, version)
                    for site, version in every
                    if version.program.condition == condition
                ] or every
        for done in range(1, self.count + 1):
            region = self.random.choices(regions, weights)[0]
            condition = self.random.choices(
                list(CONDITION_WEIGHTS), list(CONDITION_WEIGHTS.values())
            )[0]
            site, version = self.random.choice(candidates[region.code, condition])
            # More treatments in later years: the service grows year on year.
            start = self.first_day + datetime.timedelta(
                days=int(span * self.random.random() ** 0.8)
            )
            self._treatment(tables, site, version, start, module_keys[version.pk], offerings,
                            existing)  # fmt: skip
            if done % self.batch == 0 or done == self.count:
                with transaction.atomic():
                    for table in tables.values():
                        table.flush()
                self.progress(done, self.count)
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), list(tables)):
                cursor.execute(sql)
            if connection.vendor == "postgresql" and connection.get_autocommit():
                # Fresh statistics, so the planner knows the tables grew a thousandfold, and
                # the visibility map, so counting can read the indexes alone.
                for model in tables:
                    table = connection.ops.quote_name(model._meta.db_table)
                    cursor.execute(f"VACUUM ANALYZE {table}")
        return {model._meta.label: table.written for model, table in tables.items()}

    def _moment(self, day: datetime.date, hour: int | None = None) -> datetime.datetime:
        hour = hour if hour is not None else self.random.randint(7, 21)
        return datetime.datetime.combine(
            day, datetime.time(hour, self.random.randint(0, 59)), tzinfo=self.zone
        )

    def _treatment(self, tables, site, version, start, modules, offerings, existing) -> None:
        r = self.random
        youth = version.program.target_group == TargetGroup.YOUTH
        age = r.randint(12, 17) if youth else int(min(80, max(18, r.gauss(38, 13))))
        birth = start - datetime.timedelta(days=365 * age + r.randint(30, 330))
        number = self._personal_number(birth)
        while number in existing:
            number = self._personal_number(birth)
        existing.add(number)
        given, family = r.choice(GIVEN_NAMES), r.choice(FAMILY_NAMES)
        wait = max(1, int(r.lognormvariate(math.log(14), 0.5)))
        registered = self._moment(start - wait * DAY)
        user = tables[User].add(
            username=f"patient-{number}",
            kind=User.Kind.PATIENT,
            first_name=given,
            last_name=family,
            password=self.password,
            date_joined=registered,
        )
        patient = tables[Patient].add(
            user_id=user,
            personal_number=number,
            given_name=given,
            family_name=family,
            home_region_id=site.unit.region_id,
            created_at=registered,
        )
        therapist = r.choice(site.therapists)
        accepted = self._moment(start - max(1, wait // 3) * DAY)
        tables[Registration].add(
            patient_id=patient,
            offering_id=offerings[(site.unit.pk, version.program_id)],
            status=Registration.Status.ACCEPTED,
            registered_at=registered,
            consent_treatment_at=registered,
            register_opt_out=r.random() < 0.03,
            assessed_at=self._moment(start - max(1, wait // 2) * DAY),
            decided_at=accepted,
            decided_by_id=therapist,
            start_date=start,
        )
        started = self._moment(start, 8)
        planned_end = start + version.planned_weeks * WEEK
        running = planned_end > self.until
        fate = r.random()
        if running:
            reason, weeks = "", max(0, (self.until - start).days // 7)
        elif fate < 0.72:
            reason, weeks = EndReason.COMPLETED, version.planned_weeks + r.randint(-1, 2)
        elif fate < 0.93:
            reason, weeks = EndReason.DROPPED_OUT, r.randint(1, 8)
        else:
            reason, weeks = EndReason.REFERRED, r.randint(2, 8)
        ended = None if running else self._moment(start + weeks * WEEK, 16)
        enrollment = tables[Enrollment].add(
            patient_id=patient,
            unit_id=site.unit.pk,
            program_version_id=version.pk,
            status=Enrollment.Status.ACTIVE if running else Enrollment.Status.ENDED,
            started_at=started,
            ended_at=ended,
            planned_end=planned_end,
            end_reason=reason,
        )
        tables[CareRelationship].add(
            patient_id=patient,
            staff_id=therapist,
            unit_id=site.unit.pk,
            role=CareRelationship.Role.RESPONSIBLE_THERAPIST,
            started_at=accepted,
            ended_at=ended,
        )
        summary = self._scores(
            tables, patient, site, version, start, registered, weeks, reason, running
        )
        minutes = self._contact(
            tables, patient, user, therapist, enrollment, start, weeks, modules, reason
        )
        # The register summary summary_refresh would store, from the same scores and minutes.
        row = tables[Enrollment].rows[-1]
        row.update(summary, therapist_minutes=minutes, responsible_therapist_id=therapist)

    def _scores(self, tables, patient, site, version, start, registered, weeks, reason, running):
        r = self.random
        trajectory = self._trajectory(version.primary_instrument or "PHQ-9")
        pre = min(0.95, max(0.3, r.gauss(0.55, 0.12)))
        # How much of the symptom load the treatment takes away, if followed to the end.
        gain = r.gauss(0.5 if reason == EndReason.COMPLETED else 0.2, 0.3)
        gain = min(0.95, max(-0.4, gain))

        def severity(week: float) -> float:
            done = (1 - math.exp(-week / 4)) / (1 - math.exp(-12 / 4))
            return max(0.0, pre * (1 - gain * min(1.0, done)))

        occasions = [("screening", registered, pre), ("pre", self._moment(start - 2 * DAY), pre)]
        occasions += [
            ("weekly", self._moment(start + week * WEEK), severity(week))
            for week in range(1, weeks + 1)
            if r.random() < 0.85
        ]
        if not running and r.random() < (0.9 if reason == EndReason.COMPLETED else 0.4):
            occasions.append(("post", self._moment(start + weeks * WEEK + DAY), severity(weeks)))
            for months, share in ((3, 0.55), (6, 0.3), (12, 0.3)):
                day = start + weeks * WEEK + months * 30 * DAY
                if day < self.until and r.random() < share:
                    drift = severity(weeks) + r.gauss(0, 0.05)
                    occasions.append((f"follow_up_{months}", self._moment(day), drift))
        totals: dict[str, int] = {}
        for occasion, moment, level in occasions:
            answers, result = self._scored(trajectory, level)
            totals[occasion] = result.total
            tables[Response].add(
                # Seeded, and apart from the keys of any earlier run into the same database.
                key=uuid.UUID(int=r.getrandbits(64) << 64 | tables[Response].next_id),
                patient_id=patient,
                instrument_version_id=trajectory.instrument.pk,
                answers=answers,
                status=Response.Status.SUBMITTED,
                unit_id=site.unit.pk,
                started_at=moment,
                due_at=moment,
                occasion=occasion,
                submitted_at=moment,
                total=result.total,
                band_labels=dict(result.band.label) if result.band else {},
                subscales=result.subscales,
                critical=result.critical,
            )
        code = trajectory.instrument.instrument.code
        outcome = (
            judge(trajectory.instrument.parsed, totals["pre"], totals["post"])
            if "post" in totals
            else {}
        )
        return {"primary_instrument": code, **summary_fields(totals.get("pre"), outcome)}

    def _contact(
        self, tables, patient, user, therapist, enrollment, start, weeks, modules, reason
    ):
        r = self.random
        last = start + max(1, weeks) * WEEK
        thread = tables[Thread].add(
            patient_id=patient,
            subject="Veckans arbete",
            created_at=self._moment(start),
            last_message_at=self._moment(last),
        )
        for sender, count in ((user, r.randint(0, max(1, weeks // 2))), (therapist, weeks)):
            for _ in range(count):
                sent = self._moment(start + r.randint(0, max(1, weeks) * 7) * DAY)
                tables[Message].add(
                    thread_id=thread,
                    sender_id=sender,
                    body="Syntetiskt meddelande.",
                    sent_at=sent,
                    read_at=sent + datetime.timedelta(hours=r.randint(1, 48)),
                )
        minutes = 0
        for week in range(1, weeks + 1, 2):
            minutes += (spent := r.randint(10, 30))
            tables[TimeEntry].add(
                enrollment_id=enrollment,
                staff_id=therapist,
                day=start + week * WEEK,
                minutes=spent,
                what="Återkoppling",
            )
        share = weeks / 12 if reason != EndReason.COMPLETED else 1.0
        completed = min(len(modules), round(len(modules) * min(1.0, share)))
        for index, key in enumerate(modules[:completed]):
            done = self._moment(start + (index * max(1, weeks) // max(1, len(modules))) * WEEK)
            tables[ModuleProgress].add(
                enrollment_id=enrollment,
                module_key=key,
                completed_at=done,
                reported_at=done,
                feedback_at=done + DAY,
                feedback_by_id=therapist,
            )
        return minutes
