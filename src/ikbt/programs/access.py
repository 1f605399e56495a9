"""Who may write a program: program authors and region administrators of the owner region.
Everyone else gets 404 for a program's editing pages, as if it did not exist."""

from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404

from ikbt.accounts.models import User
from ikbt.organisations.models import Region, StaffMembership
from ikbt.organisations.roles import AUTHOR_ROLES
from ikbt.programs.models import Program, ProgramVersion


def author_region_ids(user: User) -> set[int]:
    return set(
        StaffMembership.objects.filter(user=user, role__in=AUTHOR_ROLES).values_list(
            "unit__region_id", flat=True
        )
    )


def author_region(user: User) -> Region:
    """The region the author writes for (the first, for the rare author of two regions)."""
    ids = author_region_ids(user)
    if not ids:
        raise Http404
    return Region.objects.filter(pk__in=ids).order_by("code").first()


def get_program_for_author(user: User, slug: str) -> Program:
    program = get_object_or_404(Program.objects.select_related("owner_region"), slug=slug)
    if program.owner_region_id not in author_region_ids(user):
        raise Http404
    return program


def get_version_for_author(user: User, slug: str, number: int) -> ProgramVersion:
    program = get_program_for_author(user, slug)
    return get_object_or_404(
        ProgramVersion.objects.select_related("program__owner_region"),
        program=program,
        number=number,
    )


def get_shared_version(user: User, slug: str, number: int) -> ProgramVersion:
    """A published version another region shares, for authors who adopt or fork it; and of
    one their region adopted while it was shared, which it still offers."""
    regions = author_region_ids(user)
    if not regions:
        raise Http404
    return get_object_or_404(
        ProgramVersion.objects.select_related("program__owner_region")
        .filter(Q(program__shared=True) | Q(program__adoptions__region_id__in=regions))
        .distinct(),
        program__slug=slug,
        number=number,
        status=ProgramVersion.Status.PUBLISHED,
    )


def may_read_version(user: User, version: ProgramVersion) -> bool:
    """Whether ``user`` may read ``version``'s content (its media): a published version any
    signed-in staff member (second factor verified), a draft only those who write the
    program, and patients the version they are in treatment on."""
    if not user.is_authenticated:
        return False
    if user.is_staff_member:
        return user.is_verified() and (
            version.is_published or version.program.owner_region_id in author_region_ids(user)
        )
    return user.is_patient and user.patient.enrollments.filter(program_version=version).exists()
