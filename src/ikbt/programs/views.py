"""Writing programs in the browser: modules, pages, worksheets, quizzes, media, measurement
plan, preview as on a phone, publish, share, adopt and fork."""

import copy
import tempfile
from pathlib import Path

from django.contrib import messages
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from ikbt.accounts.decorators import staff_required
from ikbt.accounts.middleware import put_back_unsent, unsent_on_page
from ikbt.core.numbers import whole_number
from ikbt.programs import actions
from ikbt.programs.access import (
    author_region,
    author_region_ids,
    get_shared_version,
    get_version_for_author,
    may_read_version,
)
from ikbt.programs.forms import (
    WHEN_CHOICES,
    ForkForm,
    InsertBlockForm,
    MediaUploadForm,
    ModuleForm,
    NewKeyForm,
    NewModuleForm,
    PackageUploadForm,
    PageForm,
    ProgramCreateForm,
    QuizQuestionForm,
    QuizQuestionFormSet,
    VersionForm,
    WorksheetFieldForm,
    WorksheetFieldFormSet,
    WorksheetForm,
    read_only_once_published,
)
from ikbt.programs.models import Adoption, MediaFile, Program, ProgramVersion
from ikbt.programs.package import MANIFEST, package_zip, page_where, read_package
from ikbt.programs.rendering import VersionParts, instrument_codes, page_blocks, version_modules
from ikbt.programs.worksheets import worksheet_form


def _version_url(version: ProgramVersion) -> str:
    return reverse("programs:version", args=[version.program.slug, version.number])


def _refuse_if_published(request: HttpRequest, version: ProgramVersion):
    if version.is_published:
        messages.error(
            request, _("A published version cannot change. Make a new version to edit.")
        )
        return redirect(_version_url(version))
    return None


@staff_required
def program_list(request: HttpRequest) -> HttpResponse:
    region = author_region(request.user)
    importing = request.method == "POST" and "import" in request.POST
    form = ProgramCreateForm(request.POST if request.method == "POST" and not importing else None)
    import_form = PackageUploadForm(
        request.POST if importing else None, request.FILES if importing else None
    )
    if importing and import_form.is_valid():
        version = _imported(import_form, region)
        if version is not None:
            messages.success(
                request, _("The package is imported as a draft. Read it through, then publish.")
            )
            return redirect(_version_url(version))
    elif request.method == "POST" and not importing and form.is_valid():
        try:
            version = actions.program_create(region, **form.cleaned_data)
        except actions.ProgramError as error:
            form.add_error("slug", str(error))
        else:
            return redirect(_version_url(version))
    return _program_list_page(request, form=form, import_form=import_form)


def _program_list_page(
    request: HttpRequest,
    *,
    form: ProgramCreateForm | None = None,
    import_form: PackageUploadForm | None = None,
    fork_form: ForkForm | None = None,
    forked_program_id: int | None = None,
) -> HttpResponse:
    """The region's programs and those other regions share; a refused form shown with what
    was typed and why (``fork_form`` beside the shared program ``forked_program_id``)."""
    region = author_region(request.user)
    own = (
        Program.objects.filter(owner_region_id__in=author_region_ids(request.user))
        .select_related("owner_region", "forked_from__program")
        .prefetch_related("versions")
    )
    # Shared ones, and those her region adopted while they were: an adoption outlives the
    # sharing, as the units' offers of it do.
    shared = (
        Program.objects.filter(Q(shared=True) | Q(adoptions__region=region))
        .distinct()
        .exclude(owner_region_id__in=author_region_ids(request.user))
        .select_related("owner_region")
        .prefetch_related("versions")
    )
    adopted = set(Adoption.objects.filter(region=region).values_list("program_id", flat=True))
    return render(
        request,
        "programs/program_list.html",
        {
            "region": region,
            "own": [(program, _ordered(program)) for program in own],
            "shared": [(program, _latest_published(program)) for program in shared],
            "adopted": adopted,
            "form": form or ProgramCreateForm(),
            "import_form": import_form or PackageUploadForm(),
            "fork_form": fork_form or ForkForm(),
            "forked_program_id": forked_program_id,
        },
    )


def _imported(form: PackageUploadForm, region) -> ProgramVersion | None:
    """The uploaded package as a new draft of ``region``'s program; None with what is wrong
    in it on the form."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "package.zip"
        path.write_bytes(form.cleaned_data["package"].read())
        data, problems = read_package(path)
    for problem in problems:
        form.add_error("package", str(problem))
    if problems:
        return None
    try:
        return actions.program_import(data, region)
    except actions.ProgramError as error:
        form.add_error("package", str(error))
        return None


def _ordered(program: Program) -> list[ProgramVersion]:
    return sorted(program.versions.all(), key=lambda version: -version.number)


def _latest_published(program: Program) -> ProgramVersion | None:
    return next((v for v in _ordered(program) if v.is_published), None)


@staff_required
def version_detail(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = get_version_for_author(request.user, slug, number)
    # A copy, so a refused form's values never show as the version's (nor in its problems).
    form = read_only_once_published(
        VersionForm(request.POST or None, instance=copy.copy(version)), version
    )
    if request.method == "POST":
        refused = _refuse_if_published(request, version)
        if refused:
            return refused
        if form.is_valid():
            form.save()
            messages.success(request, _("Saved."))
            return redirect(_version_url(version))
    return _version_page(request, version, form=form)


def _version_page(request: HttpRequest, version: ProgramVersion, **forms) -> HttpResponse:
    """The version's page; ``forms`` are those sent back with what was typed and why it was
    not accepted (the others are empty)."""
    previous = actions.previous_published(version)
    context = {
        "version": version,
        "program": version.program,
        "form": read_only_once_published(VersionForm(instance=version), version),
        "modules": list(version.modules.order_by("position")),
        "worksheets": list(version.worksheets.all()),
        "quizzes": list(version.quizzes.all()),
        "media": list(version.media.all()),
        "plan": _plan_grid(version),
        "problems": _problems_to_fix(version) if not version.is_published else [],
        "module_form": NewModuleForm(auto_id=MODULE_FORM_ID),
        "key_form": NewKeyForm(auto_id=ITEM_FORM_ID),
        "upload_form": MediaUploadForm(),
        "previous": previous,
        "previous_patients": actions.enrollments_to_move(previous).count() if previous else 0,
        "adoptions": list(
            version.program.adoptions.select_related("region").order_by("region__name")
        ),
        **forms,
    }
    return render(request, "programs/version_detail.html", context)


def _problems_to_fix(version: ProgramVersion) -> list[dict]:
    """What stops publishing, each where the author fixes it: a page's or a worksheet's
    problem links to its editor, one in the program's settings to them (the package's file
    names are for files)."""
    pages = {
        page_where(page.title): reverse(
            "programs:page", args=[version.program.slug, version.number, module.key, page.key]
        )
        for module in version_modules(version)
        for page in module.pages.all()
    }
    pages |= {
        _("worksheet '%(key)s'") % {"key": key}: reverse(
            "programs:worksheet", args=[version.program.slug, version.number, key]
        )
        for key in version.worksheets.values_list("key", flat=True)
    }
    settings = {"where": _("About the program"), "url": "#settings-heading"}
    return [
        {
            **(settings if problem.where == MANIFEST else {"where": problem.where}),
            "url": pages.get(
                problem.where, "#settings-heading" if problem.where == MANIFEST else ""
            ),
            "line": problem.line if problem.where != MANIFEST else None,
            "message": problem.message,
        }
        for problem in actions.version_problems(version)
    ]


def _plan_grid(version: ProgramVersion) -> dict:
    chosen = set(version.measurement_plan.values_list("when", "instrument_code"))
    codes = instrument_codes()
    return {
        "codes": codes,
        "rows": [
            (when, label, [(code, (when, code) in chosen) for code in codes])
            for when, label in WHEN_CHOICES
        ],
    }


@staff_required
@require_POST
def version_action(request: HttpRequest, slug: str, number: int, action: str) -> HttpResponse:
    """The buttons on a version: publish, new version, share, add things."""
    version = get_version_for_author(request.user, slug, number)
    try:
        target = _do(request, version, action)
    except actions.PublishError as error:
        messages.error(request, str(error))
        target = None
    except actions.ProgramError as error:
        messages.error(request, str(error))
        target = None
    if isinstance(target, HttpResponse):
        return target
    return redirect(target or _version_url(version))


# The two "add" forms on a version's page ask for the same fields: ids of their own.
MODULE_FORM_ID = "module_%s"
ITEM_FORM_ID = "item_%s"


def _added(form, add):
    """What ``add`` made of the form's data, or None with the reason beside the key (a key the
    version already has) or the field at fault."""
    if not form.is_valid():
        return None
    try:
        return add(form.cleaned_data)
    except actions.ProgramError as error:
        form.add_error("key", str(error))
        return None


def _do(request: HttpRequest, version: ProgramVersion, action: str) -> str | HttpResponse | None:
    """Does what the button asks: where to go next, or the page again with a form's errors."""
    if action == "publish":
        actions.version_publish(version, request.user)
        messages.success(request, _("Published. Patients can now be started on this version."))
    elif action == "new-version":
        return _version_url(actions.version_new_draft(version.program))
    elif action == "share":
        actions.program_share(version.program, request.POST.get("shared") == "1")
    elif action == "add-module":
        form = NewModuleForm(request.POST, auto_id=MODULE_FORM_ID)
        module = _added(form, lambda data: actions.module_add(version, **data))
        if module is None:
            return _version_page(request, version, module_form=form)
        return reverse("programs:module", args=[version.program.slug, version.number, module.key])
    elif action in ("add-worksheet", "add-quiz"):
        form = NewKeyForm(request.POST, auto_id=ITEM_FORM_ID)
        add = actions.worksheet_add if action == "add-worksheet" else actions.quiz_add
        item = _added(form, lambda data: add(version, **data))
        if item is None:
            return _version_page(request, version, key_form=form)
        name = "programs:worksheet" if action == "add-worksheet" else "programs:quiz"
        return reverse(name, args=[version.program.slug, version.number, item.key])
    elif action == "upload":
        form = MediaUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return _version_page(request, version, upload_form=form)
        upload = form.cleaned_data["file"]
        actions.media_add(version, upload.name, upload.read())
        messages.success(request, _("The file is uploaded."))
    elif action == "plan":
        plan = {when: request.POST.getlist(f"plan-{when}") for when, _label in WHEN_CHOICES}
        actions.measurement_plan_set(
            version, {when: codes for when, codes in plan.items() if codes}
        )
        messages.success(request, _("The measurement plan is saved."))
    else:
        raise Http404
    return None


@staff_required
def move_patients(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """Moving the treatments on the previous published version to this one: a GET shows how
    many move at which units and regions, or why they cannot; the confirm button (POST)
    moves them."""
    version = get_version_for_author(request.user, slug, number)
    previous = actions.previous_published(version)
    if request.method == "POST":
        return _move_patients(request, previous, version)
    places = actions.enrollments_to_move_by_unit(previous) if previous else []
    return render(
        request,
        "programs/move_patients.html",
        {
            "version": version,
            "previous": previous,
            "places": places,
            "total": sum(place["count"] for place in places),
            "refused": actions.move_refused(previous, version) if previous else NO_PREVIOUS,
        },
    )


NO_PREVIOUS = gettext_lazy("There is no earlier published version to move patients from.")


def _move_patients(request: HttpRequest, previous, version: ProgramVersion) -> HttpResponse:
    try:
        if previous is None:
            raise actions.ProgramError(NO_PREVIOUS)
        moved = actions.enrollments_move(previous, version, by=request.user, request=request)
    except actions.ProgramError as error:
        messages.error(request, str(error))
        return redirect(request.path)
    messages.success(
        request,
        ngettext(
            "%(count)d treatment moved to this version.",
            "%(count)d treatments moved to this version.",
            moved,
        )
        % {"count": moved},
    )
    return redirect(_version_url(version))


@staff_required
def module_edit(request: HttpRequest, slug: str, number: int, key: str) -> HttpResponse:
    version = get_version_for_author(request.user, slug, number)
    module = get_object_or_404(version.modules, key=key)
    # Only the form whose button was pressed is bound; what was typed in the other comes back
    # in its boxes (unsent.js). A copy, so a refused title never shows as the module's.
    saving = request.method == "POST" and "save" in request.POST
    adding = request.method == "POST" and "add_page" in request.POST
    form = read_only_once_published(
        ModuleForm(request.POST if saving else None, instance=copy.copy(module)), version
    )
    page_form = NewKeyForm(request.POST if adding else None, prefix="page")
    put_back_unsent(unsent_on_page(request), form, page_form)
    if request.method == "POST":
        refused = _refuse_if_published(request, version)
        if refused:
            return refused
        if "remove" in request.POST:
            actions.draft_part_remove(module)
            messages.success(
                request, _("The module “%(title)s” is removed.") % {"title": module.title}
            )
            return redirect(_version_url(version))
        # One place up or down; anything else sent is ignored.
        step = {"-1": -1, "1": 1}.get(request.POST.get("move") or request.POST.get("move_page"))
        if "move" in request.POST and step is not None:
            actions.move(module, version.modules, step)
            return redirect(_version_url(version))
        if "move_page" in request.POST and step is not None:
            page = get_object_or_404(module.pages, key=request.POST.get("page", ""))
            actions.move(page, module.pages, step)
            return redirect(request.path)
        if adding and page_form.is_valid():
            try:
                page = actions.page_add(module, **page_form.cleaned_data)
            except actions.ProgramError as error:
                page_form.add_error("key", str(error))
            else:
                return redirect(_page_url(page))
        elif saving and form.is_valid():
            form.save()
            messages.success(request, _("Saved."))
            return redirect(request.path)
    return render(
        request,
        "programs/module_edit.html",
        {
            "version": version,
            "module": module,
            "form": form,
            "page_form": page_form,
            "pages": list(module.pages.order_by("position")),
        },
    )


def _page_url(page) -> str:
    version = page.module.version
    return reverse(
        "programs:page", args=[version.program.slug, version.number, page.module.key, page.key]
    )


@staff_required
def page_edit(request: HttpRequest, slug: str, number: int, key: str, page_key: str):
    version = get_version_for_author(request.user, slug, number)
    module = get_object_or_404(version.modules, key=key)
    page = get_object_or_404(module.pages.select_related("module"), key=page_key)
    # A copy, so what a refused form holds never shows as the page's title.
    form = read_only_once_published(
        PageForm(request.POST or None, instance=copy.copy(page)), version
    )
    # The block is inserted into the text as typed, in the same form: nothing typed is lost,
    # and a refused block leaves the text as it was.
    inserting = request.method == "POST" and "insert" in request.POST
    block_form = InsertBlockForm(request.POST if inserting else None, prefix="block")
    if request.method == "POST":
        refused = _refuse_if_published(request, version)
        if refused:
            return refused
        if request.htmx:
            return _preview_fragment(request, version, page, request.POST.get("source", ""))
        if "remove" in request.POST:
            actions.draft_part_remove(page)
            messages.success(
                request, _("The page “%(title)s” is removed.") % {"title": page.title}
            )
            return redirect(
                "programs:module", version.program.slug, version.number, page.module.key
            )
        if inserting and block_form.is_valid() and form.is_valid():
            form.instance.source = block_form.added_to(form.cleaned_data["source"])
            form.save()
            messages.success(request, _("The block is at the end of the page, and it is saved."))
            return redirect(request.path)
        if "save" in request.POST and form.is_valid():
            form.save()
            messages.success(request, _("Saved."))
            return redirect(request.path)
    # The preview shows the text in the editor, saved or not.
    shown = copy.copy(page)
    if form.is_bound:
        shown.source = form["source"].value() or ""
    return render(
        request,
        "programs/page_edit.html",
        {
            "version": version,
            "page": page,
            "form": form,
            "block_form": block_form,
            "blocks": page_blocks(shown, VersionParts(version)),
            "problems": [
                problem
                for problem in actions.version_problems(version)
                if problem.where == page_where(page.title)
            ],
        },
    )


def _preview_fragment(request, version, page, source: str) -> HttpResponse:
    page.source = source
    return render(
        request, "programs/_blocks.html", {"blocks": page_blocks(page, VersionParts(version))}
    )


@staff_required
def worksheet_edit(request: HttpRequest, slug: str, number: int, key: str) -> HttpResponse:
    version = get_version_for_author(request.user, slug, number)
    sheet = get_object_or_404(version.worksheets, key=key)
    form = WorksheetForm(
        request.POST or None, initial={"title": sheet.title, "instructions": sheet.instructions}
    )
    fields = WorksheetFieldFormSet(
        request.POST or None,
        initial=[WorksheetFieldForm.initial_for(field) for field in sheet.fields],
        prefix="field",
    )
    for shown in (form, *fields):
        read_only_once_published(shown, version)
    if request.method == "POST":
        refused = _refuse_if_published(request, version)
        if refused:
            return refused
        if "remove" in request.POST:
            actions.draft_part_remove(sheet)
            messages.success(
                request, _("The worksheet “%(title)s” is removed.") % {"title": sheet.title}
            )
            return redirect(_version_url(version))
        if form.is_valid() and fields.is_valid():
            sheet.title = form.cleaned_data["title"]
            sheet.instructions = form.cleaned_data["instructions"]
            # Every row kept but those marked for removal; a blank row has no cleaned data.
            sheet.fields = [
                row.as_field()
                for row in fields
                if row.cleaned_data and not row.cleaned_data.get("DELETE")
            ]
            sheet.save(update_fields=["title", "instructions", "fields"])
            messages.success(request, _("Saved."))
            return redirect(request.path)
    return render(
        request,
        "programs/worksheet_edit.html",
        {
            "version": version,
            "sheet": sheet,
            "form": form,
            "fields": fields,
            "preview": worksheet_form(sheet),
        },
    )


@staff_required
def quiz_edit(request: HttpRequest, slug: str, number: int, key: str) -> HttpResponse:
    version = get_version_for_author(request.user, slug, number)
    quiz = get_object_or_404(version.quizzes, key=key)
    form = NewKeyForm(request.POST or None, initial={"key": quiz.key, "title": quiz.title})
    questions = QuizQuestionFormSet(
        request.POST or None,
        initial=[QuizQuestionForm.initial_for(question) for question in quiz.questions],
        prefix="question",
    )
    for shown in (form, *questions):
        read_only_once_published(shown, version)
    if request.method == "POST":
        refused = _refuse_if_published(request, version)
        if refused:
            return refused
        if "remove" in request.POST:
            actions.draft_part_remove(quiz)
            messages.success(
                request, _("The quiz “%(title)s” is removed.") % {"title": quiz.title}
            )
            return redirect(_version_url(version))
        if form.is_valid() and questions.is_valid():
            quiz.title = form.cleaned_data["title"]
            quiz.questions = [
                row.as_question()
                for row in questions
                if row.cleaned_data and not row.cleaned_data.get("DELETE")
            ]
            quiz.save(update_fields=["title", "questions"])
            messages.success(request, _("Saved."))
            return redirect(request.path)
    return render(
        request,
        "programs/quiz_edit.html",
        {"version": version, "quiz": quiz, "form": form, "questions": questions},
    )


def _version_to_read(user, slug: str, number: int) -> tuple[ProgramVersion, bool]:
    """The version for its authors (True), or, once shared, for other regions' (False);
    otherwise 404."""
    try:
        return get_version_for_author(user, slug, number), True
    except Http404:
        return get_shared_version(user, slug, number), False


@staff_required
def package(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """The version as a package (zip): to keep, to improve outside the platform, or to
    import in another installation with ``ikbt program import``. For its authors, and for
    authors elsewhere once it is shared."""
    version, _is_author = _version_to_read(request.user, slug, number)
    response = HttpResponse(
        package_zip(actions.data_from_version(version)), content_type="application/zip"
    )
    response["Content-Disposition"] = f'attachment; filename="{slug}-v{number}.zip"'
    return response


@staff_required
def preview(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    """The version exactly as a patient on a phone sees it, one page at a time."""
    version, is_author = _version_to_read(request.user, slug, number)
    modules = list(version.modules.order_by("position").prefetch_related("pages"))
    pages = [
        (module, page)
        for module in modules
        for page in sorted(module.pages.all(), key=lambda p: p.position)
    ]
    if not pages:
        return render(
            request,
            "programs/preview.html",
            {"version": version, "current": None, "is_author": is_author},
        )
    index = min(max(whole_number(request.GET.get("sida")) or 1, 1), len(pages)) - 1
    module, page = pages[index]
    return render(
        request,
        "programs/preview.html",
        {
            "version": version,
            "title": version.title(translation.get_language()),
            "module": module,
            "current": page,
            "blocks": page_blocks(page, VersionParts(version), request.GET),
            "number": index + 1,
            "count": len(pages),
            "previous_page": index if index > 0 else None,
            "next_page": index + 2 if index + 1 < len(pages) else None,
            "is_author": is_author,
        },
    )


@staff_required
@require_POST
def adopt(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = get_shared_version(request.user, slug, number)
    try:
        actions.program_adopt(version.program, author_region(request.user), request.user)
        messages.success(request, _("Your region now offers this program as it is."))
    except actions.ProgramError as error:
        messages.error(request, str(error))
    return redirect("programs:list")


@staff_required
@require_POST
def fork(request: HttpRequest, slug: str, number: int) -> HttpResponse:
    version = get_shared_version(request.user, slug, number)
    form = ForkForm(request.POST)
    if form.is_valid():
        try:
            fork_version = actions.program_fork(
                version, author_region(request.user), form.cleaned_data["slug"]
            )
        except actions.ProgramError as error:
            form.add_error("slug", str(error))
        else:
            return redirect(_version_url(fork_version))
    # Refused: the list again, the short name typed and why beside the program's form.
    return _program_list_page(request, fork_form=form, forked_program_id=version.program_id)


def media(request: HttpRequest, media_id: int) -> FileResponse:
    """Program media: a published version's for signed-in staff (with the second factor), a
    draft's only for those who write the program, and for patients in treatment on the version
    the file belongs to."""
    item = get_object_or_404(MediaFile.objects.select_related("version__program"), pk=media_id)
    if not may_read_version(request.user, item.version):
        raise Http404
    return FileResponse(item.file.open("rb"), filename=item.name)
