"""Every change to programs: writing, publishing, sharing, adopting, forking, importing, and
moving patients to a new version. Only drafts change; a published version is frozen."""

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, Max, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ikbt.accounts.models import User
from ikbt.audit.actions import Action, log_rows, roles_text
from ikbt.organisations.models import Region, StaffMembership
from ikbt.organisations.roles import AUTHOR_ROLES
from ikbt.programs.models import (
    Adoption,
    MeasurementPoint,
    MediaFile,
    Module,
    Page,
    Program,
    ProgramVersion,
    Quiz,
    Worksheet,
)
from ikbt.programs.package import (
    MANIFEST,
    ModuleData,
    PageData,
    Problem,
    ProgramData,
    read_package,
    shipped_packages,
    validate,
)
from ikbt.treatment.models import Enrollment
from ikbt.treatment.outcome import primary_instrument, summary_refresh


class ProgramError(ValueError):
    """A change that cannot be made; the message says why, for the author."""


class PublishError(ProgramError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(
            ngettext(
                "%(count)d problem must be fixed before publishing.",
                "%(count)d problems must be fixed before publishing.",
                len(problems),
            )
            % {"count": len(problems)}
        )
        self.problems = problems


def ensure_draft(version: ProgramVersion) -> None:
    if version.is_published:
        raise ProgramError(_("A published version cannot change. Make a new version to edit."))


def data_from_version(version: ProgramVersion) -> ProgramData:
    """The version's content in the form packages and validation use."""
    modules = [
        ModuleData(
            key=module.key,
            title=module.title,
            unlock=module.unlock,
            week=module.unlock_week,
            homework=module.homework,
            therapist_guide=module.therapist_guide,
            pages=[
                # Its problems are placed by page_where, in the author's language.
                PageData(key=page.key, title=page.title, source=page.source)
                for page in module.pages.order_by("position")
            ],
        )
        for module in version.modules.order_by("position").prefetch_related("pages")
    ]
    measurement: dict[str, list[str]] = {}
    for point in version.measurement_plan.order_by("when", "instrument_code"):
        measurement.setdefault(point.when, []).append(point.instrument_code)
    ordered = {
        when: measurement[when] for when in MeasurementPoint.When.values if when in measurement
    }
    return ProgramData(
        slug=version.program.slug,
        title_sv=version.title_sv,
        title_en=version.title_en,
        condition=version.program.condition,
        target_group=version.program.target_group,
        planned_weeks=version.planned_weeks,
        primary_instrument=version.primary_instrument,
        licence=version.program.licence,
        description=version.description,
        safe_to_move_from_previous=version.safe_to_move_from_previous,
        measurement=ordered,
        modules=modules,
        worksheets={
            sheet.key: {
                "title": sheet.title,
                "instructions": sheet.instructions,
                "fields": sheet.fields,
            }
            for sheet in version.worksheets.all()
        },
        quizzes={
            quiz.key: {
                "title": quiz.title,
                "questions": quiz.questions,
            }
            for quiz in version.quizzes.all()
        },
        media={media.name: _read(media) for media in version.media.all()},
    )


def _read(media: MediaFile) -> bytes:
    with media.file.open("rb") as file:
        return file.read()


def _version_create(
    program: Program, data: ProgramData, *, safe_to_move_from_previous: bool = False
) -> ProgramVersion:
    """The next version of ``program``, a draft holding everything ``data`` describes."""
    version = ProgramVersion.objects.create(
        program=program,
        number=_next_number(program),
        title_sv=data.title_sv,
        title_en=data.title_en,
        description=data.description,
        planned_weeks=data.planned_weeks,
        primary_instrument=data.primary_instrument,
        safe_to_move_from_previous=safe_to_move_from_previous,
    )
    _fill_version(version, data)
    return version


def _fill_version(version: ProgramVersion, data: ProgramData) -> None:
    for position, module_data in enumerate(data.modules, start=1):
        module = Module.objects.create(
            version=version,
            position=position,
            key=module_data.key,
            title=module_data.title,
            unlock=module_data.unlock,
            unlock_week=module_data.week,
            homework=module_data.homework,
            therapist_guide=module_data.therapist_guide,
        )
        Page.objects.bulk_create(
            Page(module=module, position=index, key=page.key, title=page.title, source=page.source)
            for index, page in enumerate(module_data.pages, start=1)
        )
    Worksheet.objects.bulk_create(
        Worksheet(
            version=version,
            key=key,
            title=sheet["title"],
            instructions=sheet["instructions"],
            fields=sheet["fields"],
        )
        for key, sheet in data.worksheets.items()
    )
    Quiz.objects.bulk_create(
        Quiz(version=version, key=key, title=quiz["title"], questions=quiz["questions"])
        for key, quiz in data.quizzes.items()
    )
    MeasurementPoint.objects.bulk_create(
        MeasurementPoint(version=version, when=when, instrument_code=code)
        for when, codes in data.measurement.items()
        for code in codes
    )
    for name, content in data.media.items():
        media = MediaFile(version=version, name=name)
        media.file.save(name, ContentFile(content), save=False)
        media.save()


def _next_number(program: Program) -> int:
    return (program.versions.aggregate(last=Max("number"))["last"] or 0) + 1


@transaction.atomic
def program_create(
    region: Region, *, slug: str, title_sv: str, condition: str, target_group: str
) -> ProgramVersion:
    if Program.objects.filter(slug=slug).exists():
        raise ProgramError(_("The short name '%(slug)s' is taken.") % {"slug": slug})
    program = Program.objects.create(
        slug=slug, owner_region=region, condition=condition, target_group=target_group
    )
    return ProgramVersion.objects.create(program=program, number=1, title_sv=title_sv)


@transaction.atomic
def program_import(data: ProgramData, region: Region) -> ProgramVersion:
    """A package becomes a new draft version; an existing published version is never touched."""
    program = Program.objects.select_for_update().filter(slug=data.slug).first()
    if program is None:
        program = Program.objects.create(
            slug=data.slug,
            owner_region=region,
            condition=data.condition,
            target_group=data.target_group,
            licence=data.licence,
        )
    elif program.owner_region_id != region.pk:
        raise ProgramError(
            _("'%(slug)s' belongs to %(region)s; fork it to make a local variant.")
            % {"slug": data.slug, "region": program.owner_region}
        )
    return _version_create(
        program, data, safe_to_move_from_previous=data.safe_to_move_from_previous
    )


def version_problems(version: ProgramVersion) -> list[Problem]:
    """What stops ``version`` being published; for a version its patients may be moved to,
    also every key of the previous published version their progress and answers are kept by
    that it lacks."""
    problems = validate(data_from_version(version))
    previous = previous_published(version) if version.safe_to_move_from_previous else None
    if previous is not None:
        setting = ProgramVersion._meta.get_field("safe_to_move_from_previous").verbose_name
        problems += [
            Problem(
                where,
                _(
                    "%(what)s of version %(number)d is missing, and patients moved here would "
                    "lose what they have done in it. Give it its key again (a renamed key back "
                    "as it was), or untick “%(setting)s”."
                )
                % {"what": what, "number": previous.number, "setting": setting},
            )
            for where, what in keys_lost(previous, version)
        ]
    return problems


def previous_published(version: ProgramVersion) -> ProgramVersion | None:
    """The latest published version before ``version``: the one patients move from."""
    return (
        version.program.versions.filter(
            status=ProgramVersion.Status.PUBLISHED, number__lt=version.number
        )
        .order_by("-number")
        .first()
    )


def _answer_keys(version: ProgramVersion) -> tuple[list[str], dict[str, list[str]]]:
    """The keys patients' progress and answers are kept by: the modules' (``ModuleProgress``),
    and each worksheet's with its fields' (``WorksheetAnswer``). A quiz's answers are not
    kept, so its key is not among them."""
    modules = list(version.modules.order_by("position").values_list("key", flat=True))
    worksheets = {
        key: [field.get("key", "") for field in fields]
        for key, fields in version.worksheets.order_by("key").values_list("key", "fields")
    }
    return modules, worksheets


def keys_lost(source: ProgramVersion, target: ProgramVersion) -> list[tuple[str, str]]:
    """Each key of ``source`` that patients' progress or answers are kept by and ``target``
    lacks, as (where it is fixed, what it is): a module or a worksheet in the program, a
    worksheet's field in that worksheet."""
    modules, worksheets = _answer_keys(source)
    kept_modules, kept_worksheets = _answer_keys(target)
    lost = [
        (MANIFEST, _("the module '%(key)s'") % {"key": key})
        for key in modules
        if key not in kept_modules
    ]
    for key, fields in worksheets.items():
        if key not in kept_worksheets:
            lost.append((MANIFEST, _("the worksheet '%(key)s'") % {"key": key}))
            continue
        where = _("worksheet '%(key)s'") % {"key": key}  # as ``validate`` places its problems
        lost += [
            (
                where,
                _("the field '%(field)s' of the worksheet '%(key)s'")
                % {"field": field, "key": key},
            )
            for field in fields
            if field and field not in kept_worksheets[key]
        ]
    return lost


@transaction.atomic
def version_publish(version: ProgramVersion, user: User | None) -> ProgramVersion:
    version = ProgramVersion.objects.select_for_update().get(pk=version.pk)
    ensure_draft(version)
    problems = version_problems(version)
    if problems:
        raise PublishError(problems)
    version.status = ProgramVersion.Status.PUBLISHED
    version.published_at = timezone.now()
    version.published_by = user
    version.save(update_fields=["status", "published_at", "published_by"])
    return version


@transaction.atomic
def version_new_draft(program: Program) -> ProgramVersion:
    """The draft to edit: the open one, or a copy of the latest version."""
    program = Program.objects.select_for_update().get(pk=program.pk)
    latest = program.versions.order_by("-number").first()
    if latest is not None and not latest.is_published:
        return latest
    data = data_from_version(latest)
    return _version_create(program, data)


def shipped_programs_publish(
    owner: Region, owners: dict[str, Region] | None = None
) -> list[ProgramVersion]:
    """Import, publish and share every shipped package not yet in the database, owned by
    ``owner`` or by the region ``owners`` names for its slug."""
    published = []
    for path in shipped_packages():
        data, problems = read_package(path)
        if problems:
            raise PublishError(problems)
        if Program.objects.filter(slug=data.slug).exists():
            continue
        region = (owners or {}).get(data.slug, owner)
        version = version_publish(program_import(data, region), None)
        program_share(version.program, True)
        published.append(version)
    return published


def program_share(program: Program, shared: bool) -> None:
    program.shared = shared
    program.save(update_fields=["shared"])


def latest_published(program: Program) -> ProgramVersion | None:
    return (
        program.versions.filter(status=ProgramVersion.Status.PUBLISHED).order_by("-number").first()
    )


def program_adopt(program: Program, region: Region, user: User) -> Adoption:
    if program.owner_region_id == region.pk:
        raise ProgramError(_("Your region owns this program already."))
    if not program.shared or latest_published(program) is None:
        raise ProgramError(_("Only a shared, published program can be adopted."))
    adoption, _created = Adoption.objects.get_or_create(
        program=program, region=region, defaults={"adopted_by": user}
    )
    return adoption


@transaction.atomic
def program_fork(source: ProgramVersion, region: Region, slug: str) -> ProgramVersion:
    """A local variant owned by ``region`` that remembers the version it came from."""
    if not source.is_published or not (
        source.program.shared or source.program.owner_region_id == region.pk
    ):
        raise ProgramError(_("Only a published program shared with your region can be forked."))
    if Program.objects.filter(slug=slug).exists():
        raise ProgramError(_("The short name '%(slug)s' is taken.") % {"slug": slug})
    data = data_from_version(source)
    program = Program.objects.create(
        slug=slug,
        owner_region=region,
        condition=source.program.condition,
        target_group=source.program.target_group,
        licence=source.program.licence,
        forked_from=source,
    )
    return _version_create(program, data)


def enrollments_to_move(source: ProgramVersion) -> QuerySet[Enrollment]:
    """The treatments on ``source`` that a move takes along: those not ended."""
    return Enrollment.objects.filter(
        program_version=source,
        status__in=[Enrollment.Status.ACTIVE, Enrollment.Status.PAUSED],
    )


def enrollments_to_move_by_unit(source: ProgramVersion) -> list[dict]:
    """How many treatments a move takes along at each unit, with its region: what the author
    confirms. Counts only, no patient: one query."""
    return list(
        enrollments_to_move(source)
        .values("unit__region__name", "unit__name")
        .annotate(count=Count("pk"))
        .order_by("unit__region__name", "unit__name")
    )


def move_refused(source: ProgramVersion, target: ProgramVersion) -> str:
    """Why the patients on ``source`` cannot be moved to ``target``; "" when they can."""
    if target.program_id != source.program_id or target.number <= source.number:
        return _("Patients can only move to a later version of the same program.")
    if not target.is_published or not target.safe_to_move_from_previous:
        return _("The author has not marked this version as safe to move patients to.")
    lost = keys_lost(source, target)
    if lost:
        return _(
            "Patients cannot be moved to version %(number)d: their progress and answers are "
            "kept by keys it does not have: %(missing)s."
        ) % {"number": target.number, "missing": ", ".join(what for _where, what in lost)}
    return ""


@transaction.atomic
def enrollments_move(
    source: ProgramVersion,
    target: ProgramVersion,
    *,
    by: User,
    request: HttpRequest | None = None,
) -> int:
    """Move every active or paused patient on ``source`` to ``target``. Progress and
    worksheet answers are keyed by module, worksheet and field keys, so a move is refused
    while ``target`` lacks one of ``source``'s; nothing is deleted. Each moved treatment is
    written to the access log as a change by ``by``, at its unit, in ``by``'s author role."""
    refused = move_refused(source, target)
    if refused:
        raise ProgramError(refused)
    moving = list(enrollments_to_move(source).select_for_update())
    Enrollment.objects.filter(pk__in=[enrollment.pk for enrollment in moving]).update(
        program_version=target
    )
    role = _author_role(by, target.program)
    # At the treatment's unit, whose review it belongs to; the role names the author's region,
    # so that her log does not make a stranger seem one of her clinic's staff.
    log_rows(
        by,
        Action.CHANGE,
        [
            (enrollment.patient_id, enrollment.unit_id, role, str(enrollment.pk))
            for enrollment in moving
        ],
        detail=f"moved to program version {target.number}",
        object_type=Enrollment._meta.label,
        request=request,
    )
    # The register summary follows the primary questionnaire, the one thing of it a version
    # decides: refreshed only where the new version names another.
    if primary_instrument(Enrollment(program_version=source)) != primary_instrument(
        Enrollment(program_version=target)
    ):
        for enrollment in moving:
            enrollment.program_version = target
            summary_refresh(enrollment)
    return len(moving)


def _author_role(user: User, program: Program):
    """The roles ``user`` writes ``program`` in, with its region: "Program author (Region
    Östergötland)", as the access log keeps it (in Swedish, like every role there)."""
    roles = set(
        StaffMembership.objects.filter(
            user=user, unit__region_id=program.owner_region_id, role__in=AUTHOR_ROLES
        ).values_list("role", flat=True)
    )
    return format_lazy("{} ({})", roles_text(roles), program.owner_region.name)


# --- Editing a draft -----------------------------------------------------------------------


@transaction.atomic
def module_add(version: ProgramVersion, key: str, title: str) -> Module:
    ensure_draft(version)
    if version.modules.filter(key=key).exists():
        raise ProgramError(_("There is already a module with the key '%(key)s'.") % {"key": key})
    position = (version.modules.aggregate(last=Max("position"))["last"] or 0) + 1
    unlock = Module.Unlock.AT_START if position == 1 else Module.Unlock.AFTER_PREVIOUS
    return Module.objects.create(
        version=version, position=position, key=key, title=title, unlock=unlock
    )


@transaction.atomic
def page_add(module: Module, key: str, title: str) -> Page:
    ensure_draft(module.version)
    if module.pages.filter(key=key).exists():
        raise ProgramError(
            _("There is already a page with the key '%(key)s' in this module.") % {"key": key}
        )
    position = (module.pages.aggregate(last=Max("position"))["last"] or 0) + 1
    return Page.objects.create(module=module, position=position, key=key, title=title)


@transaction.atomic
def move(item: Module | Page, siblings, step: int) -> None:
    """Swap ``item`` with its neighbour above (step -1) or below (step 1)."""
    ordered = list(siblings.order_by("position"))
    index = next(i for i, sibling in enumerate(ordered) if sibling.pk == item.pk)
    other = index + step
    if not 0 <= other < len(ordered):
        return
    ordered[index], ordered[other] = ordered[other], ordered[index]
    for position, sibling in enumerate(ordered, start=1):
        if sibling.position != position:
            sibling.position = position
            sibling.save(update_fields=["position"])


@transaction.atomic
def draft_part_remove(part: Module | Page | Worksheet | Quiz) -> None:
    """Take a module (with its pages), a page, a worksheet or a quiz out of a draft. A page
    that still names a removed worksheet or quiz is listed among the problems to fix."""
    version = part.module.version if isinstance(part, Page) else part.version
    ensure_draft(version)
    part.delete()


def worksheet_add(version: ProgramVersion, key: str, title: str) -> Worksheet:
    ensure_draft(version)
    if version.worksheets.filter(key=key).exists():
        raise ProgramError(
            _("There is already a worksheet with the key '%(key)s'.") % {"key": key}
        )
    return Worksheet.objects.create(version=version, key=key, title=title)


def quiz_add(version: ProgramVersion, key: str, title: str) -> Quiz:
    ensure_draft(version)
    if version.quizzes.filter(key=key).exists():
        raise ProgramError(_("There is already a quiz with the key '%(key)s'.") % {"key": key})
    return Quiz.objects.create(version=version, key=key, title=title)


@transaction.atomic
def media_add(version: ProgramVersion, name: str, content: bytes) -> MediaFile:
    ensure_draft(version)
    version.media.filter(name=name).delete()
    media = MediaFile(version=version, name=name)
    media.file.save(name, ContentFile(content), save=False)
    media.save()
    return media


@transaction.atomic
def measurement_plan_set(version: ProgramVersion, plan: dict[str, list[str]]) -> None:
    ensure_draft(version)
    version.measurement_plan.all().delete()
    MeasurementPoint.objects.bulk_create(
        MeasurementPoint(version=version, when=when, instrument_code=code)
        for when, codes in plan.items()
        for code in codes
    )
