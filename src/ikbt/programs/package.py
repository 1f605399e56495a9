"""Program packages: a folder (or zip) of plain text that reads well in a diff.

    program.toml                 the manifest: titles, condition, target group, weeks, licence,
                                 measurement plan and the modules in order with their pages
    pages/<module>/<page>.md     one page: "# Title" on the first line, then Markdown with
                                 block lines (see ikbt.programs.blocks)
    worksheets/<key>.toml        a worksheet's title, instructions and fields
    quizzes/<key>.toml           a quiz's questions
    media/<name>                 images, audio and video, with transcripts as .txt files

``read_package`` turns a folder into ``ProgramData`` with every problem found (file and line);
``validate`` checks the same things for a version in the database before it is published.
"""

import io
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _

from ikbt.programs.blocks import KINDS, parse_page
from ikbt.programs.models import MOST_WEEKS, Condition, MeasurementPoint, Module, TargetGroup
from ikbt.programs.worksheets import field_problems, quiz_problems

MANIFEST = "program.toml"
PACKAGES = Path(__file__).resolve().parent / "packages"
EXAMPLE_PACKAGE = PACKAGES / "exempel"


def shipped_packages() -> list[Path]:
    """The program packages that come with the platform, the example first."""
    folders = sorted(path for path in PACKAGES.iterdir() if (path / MANIFEST).is_file())
    return sorted(folders, key=lambda path: path != EXAMPLE_PACKAGE)


@dataclass(frozen=True)
class Problem:
    where: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        return (
            f"{self.where}:{self.line}: {self.message}"
            if self.line
            else f"{self.where}: {self.message}"
        )


@dataclass
class PageData:
    key: str
    title: str
    source: str
    where: str = ""
    first_line: int = 1  # the file line the source starts on


@dataclass
class ModuleData:
    key: str
    title: str
    unlock: str = Module.Unlock.AFTER_PREVIOUS
    week: int | None = None
    homework: str = ""
    therapist_guide: str = ""
    pages: list[PageData] = field(default_factory=list)


@dataclass
class ProgramData:
    slug: str
    title_sv: str
    title_en: str = ""
    condition: str = ""
    target_group: str = TargetGroup.ADULTS
    planned_weeks: int = 12
    primary_instrument: str = ""
    licence: str = "CC BY-SA 4.0"
    description: str = ""
    safe_to_move_from_previous: bool = False
    measurement: dict[str, list[str]] = field(default_factory=dict)
    modules: list[ModuleData] = field(default_factory=list)
    worksheets: dict[str, dict] = field(default_factory=dict)
    quizzes: dict[str, dict] = field(default_factory=dict)
    media: dict[str, bytes] = field(default_factory=dict)


# --- Reading -------------------------------------------------------------------------------


def _files(path: Path) -> dict[str, bytes]:
    """Every file of a package folder or zip, by its path inside the package."""
    if path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [name for name in archive.namelist() if not name.endswith("/")]
            prefix = _common_root(names)
            return {name[len(prefix) :]: archive.read(name) for name in names}
    return {
        str(file.relative_to(path)): file.read_bytes()
        for file in sorted(path.rglob("*"))
        if file.is_file()
    }


def _common_root(names: list[str]) -> str:
    """A zip made of the folder itself has one top folder; read past it."""
    first = names[0].split("/", 1)[0] + "/" if names else ""
    if f"{first}{MANIFEST}" in names and all(name.startswith(first) for name in names):
        return first
    return ""


def _line_of(text: str, needle: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return None


def _toml(files: dict[str, bytes], name: str, problems: list[Problem]) -> dict:
    try:
        return tomllib.loads(files[name].decode("utf-8"))
    except KeyError:
        problems.append(Problem(name, _("missing file")))
    except UnicodeDecodeError:
        problems.append(Problem(name, _("not UTF-8 text")))
    except tomllib.TOMLDecodeError as error:
        problems.append(Problem(name, _("not valid TOML: %(error)s") % {"error": error}))
    return {}


def _page(files: dict[str, bytes], module_key: str, page_key: str, problems) -> PageData | None:
    name = f"pages/{module_key}/{page_key}.md"
    if name not in files:
        problems.append(Problem(name, _("missing page file (named in program.toml)")))
        return None
    text = files[name].decode("utf-8")
    first, _newline, rest = text.partition("\n")
    if not first.startswith("# "):
        problems.append(Problem(name, _('the first line must be the page title, "# Title"'), 1))
    return PageData(
        key=page_key,
        title=first.removeprefix("# ").strip(),
        source=rest.lstrip("\n").rstrip() + "\n" if rest.strip() else "",
        where=name,
        first_line=2 + (len(rest) - len(rest.lstrip("\n"))),
    )


def read_package(path: Path) -> tuple[ProgramData | None, list[Problem]]:
    problems: list[Problem] = []
    if not path.exists():
        return None, [Problem(str(path), _("no such folder or zip file"))]
    files = _files(path)
    manifest = _toml(files, MANIFEST, problems)
    if not manifest:
        return None, problems
    text = files[MANIFEST].decode("utf-8")
    title = manifest.get("title", {})
    data = ProgramData(
        slug=manifest.get("slug", ""),
        title_sv=title.get("sv", "") if isinstance(title, dict) else str(title),
        title_en=title.get("en", "") if isinstance(title, dict) else "",
        condition=manifest.get("condition", ""),
        target_group=manifest.get("target_group", TargetGroup.ADULTS),
        planned_weeks=int(manifest.get("planned_weeks", 12)),
        primary_instrument=manifest.get("primary_instrument", ""),
        licence=manifest.get("licence", "CC BY-SA 4.0"),
        description=manifest.get("description", "").strip(),
        safe_to_move_from_previous=bool(manifest.get("safe_to_move_from_previous", False)),
        measurement={
            point.get("when", ""): list(point.get("instruments", []))
            for point in manifest.get("measurement", [])
        },
    )
    for table in manifest.get("modules", []):
        module = ModuleData(
            key=table.get("key", ""),
            title=table.get("title", ""),
            unlock=table.get("unlock", Module.Unlock.AFTER_PREVIOUS),
            week=table.get("week"),
            homework=table.get("homework", "").strip(),
            therapist_guide=table.get("therapist_guide", "").strip(),
        )
        for page_key in table.get("pages", []):
            page = _page(files, module.key, page_key, problems)
            if page is not None:
                module.pages.append(page)
        data.modules.append(module)
    for name in sorted(files):
        folder, _slash, rest = name.partition("/")
        key = rest.removesuffix(".toml")
        if folder == "worksheets" and name.endswith(".toml"):
            sheet = _toml(files, name, problems)
            data.worksheets[key] = {
                "title": sheet.get("title", ""),
                "instructions": sheet.get("instructions", "").strip(),
                "fields": sheet.get("fields", []),
                "where": name,
            }
        elif folder == "quizzes" and name.endswith(".toml"):
            quiz = _toml(files, name, problems)
            data.quizzes[key] = {
                "title": quiz.get("title", ""),
                "questions": quiz.get("questions", []),
                "where": name,
            }
        elif folder == "media":
            data.media[rest] = files[name]
    problems += validate(data, manifest_text=text)
    return data, problems


# --- Checking ------------------------------------------------------------------------------


def validate(data: ProgramData, *, manifest_text: str = "", instruments=None) -> list[Problem]:
    """Everything an author must fix before publishing, each with where it is."""
    from ikbt.measurement.models import Instrument

    known = set(
        instruments
        if instruments is not None
        else Instrument.objects.values_list("code", flat=True)
    )
    problems: list[Problem] = []

    def manifest(message: str, needle: str = "") -> None:
        problems.append(
            Problem(MANIFEST, message, _line_of(manifest_text, needle) if needle else None)
        )

    if not data.slug:
        manifest(_("the program needs a slug (short name)"), "slug")
    if not data.title_sv:
        manifest(_("the program needs a Swedish title"), "title")
    if data.condition not in Condition.values:
        manifest(_("unknown condition '%(value)s'") % {"value": data.condition}, "condition")
    if data.target_group not in TargetGroup.values:
        manifest(
            _("unknown target group '%(value)s'") % {"value": data.target_group}, "target_group"
        )
    for when, codes in data.measurement.items():
        if when not in MeasurementPoint.When.values:
            manifest(_("unknown measurement time point '%(value)s'") % {"value": when}, when)
        for code in codes:
            if code not in known:
                manifest(_("the questionnaire '%(code)s' does not exist") % {"code": code}, code)
    if not data.primary_instrument:
        # The register reports a treatment's effect by it.
        manifest(
            _(
                "the program needs a primary outcome questionnaire, measured before the start "
                "and at the end"
            ),
            "primary_instrument",
        )
    elif data.primary_instrument not in known:
        manifest(
            _("the questionnaire '%(code)s' does not exist") % {"code": data.primary_instrument},
            "primary_instrument",
        )
    elif data.primary_instrument and not all(
        data.primary_instrument in data.measurement.get(when, []) for when in ("pre", "post")
    ):
        manifest(
            _(
                "the primary questionnaire '%(code)s' must be measured before start (pre) and "
                "at the end (post)"
            )
            % {"code": data.primary_instrument},
            "primary_instrument",
        )
    if not 1 <= data.planned_weeks <= MOST_WEEKS:
        manifest(
            _("the planned length must be 1 to %(most)d weeks") % {"most": MOST_WEEKS},
            "planned_weeks",
        )
    if not data.modules:
        manifest(_("the program has no modules"), "modules")
    _validate_modules(data, manifest, problems, known)
    for key, sheet in data.worksheets.items():
        where = sheet.get("where") or _("worksheet '%(key)s'") % {"key": key}
        problems += [Problem(where, message) for message in field_problems(sheet["fields"])]
    for key, quiz in data.quizzes.items():
        where = quiz.get("where") or _("quiz '%(key)s'") % {"key": key}
        problems += [Problem(where, message) for message in quiz_problems(quiz["questions"])]
    return problems


def _validate_modules(data: ProgramData, manifest, problems: list[Problem], known: set) -> None:
    keys = [module.key for module in data.modules]
    for position, module in enumerate(data.modules):
        name = {"module": module.key or module.title}
        if not module.key or keys.count(module.key) > 1:
            manifest(
                _("module '%(module)s': every module needs its own key") % name,
                module.title or "key",
            )
        if not module.title:
            manifest(_("module '%(module)s' has no title") % name, module.key)
        if module.unlock not in Module.Unlock.values:
            manifest(
                _("module '%(module)s': unknown unlock rule '%(rule)s'")
                % {**name, "rule": module.unlock},
                module.unlock,
            )
        if module.unlock == Module.Unlock.ON_WEEK and not (
            module.week and 1 <= int(module.week) <= data.planned_weeks
        ):
            manifest(
                _("module '%(module)s': unlock on a week needs a week from 1 to %(weeks)d")
                % {**name, "weeks": data.planned_weeks},
                module.key,
            )
        if position == 0 and module.unlock in (
            Module.Unlock.AFTER_PREVIOUS,
            Module.Unlock.AFTER_FEEDBACK,
        ):
            manifest(
                _("module '%(module)s': the first module has no previous module to wait for")
                % name,
                module.key,
            )
        if not module.pages:
            manifest(_("module '%(module)s' has no pages") % name, module.key)
        for page in module.pages:
            _validate_page(data, page, problems, known)


def page_where(title: str) -> str:
    """Where a page's problems are, for a page in the database (a package names its file)."""
    return _("page '%(title)s'") % {"title": title}


def _validate_page(data: ProgramData, page: PageData, problems: list[Problem], known: set) -> None:
    where = page.where or page_where(page.title)

    def problem(message: str, line: int | None) -> None:
        problems.append(Problem(where, message, page.first_line + line - 1 if line else None))

    if not page.title:
        problem(_("the page has no title"), None)
    blocks = parse_page(page.source)
    if not blocks:
        problem(_("the page is empty"), None)
    for block in blocks:
        named = {"name": block.argument}
        if block.kind == "invalid":
            problem(
                _("not a block line: %(line)r (write '::: kind argument')") % {"line": block.text},
                block.line,
            )
        elif block.kind not in ("text", *KINDS):
            problem(
                _("unknown block '%(kind)s' (use %(kinds)s)")
                % {"kind": block.kind, "kinds": ", ".join(KINDS)},
                block.line,
            )
        elif block.kind == "worksheet" and block.argument not in data.worksheets:
            problem(_("the worksheet '%(name)s' does not exist") % named, block.line)
        elif block.kind == "quiz" and block.argument not in data.quizzes:
            problem(_("the quiz '%(name)s' does not exist") % named, block.line)
        elif block.kind == "questionnaire" and block.argument not in known:
            problem(_("the questionnaire '%(name)s' does not exist") % named, block.line)
        elif block.kind in ("image", "audio", "video"):
            if block.argument not in data.media:
                problem(_("the media file '%(name)s' is missing") % named, block.line)
            if block.kind == "image" and not block.extra:
                problem(_("an image needs a description for screen readers after '|'"), block.line)
            if block.kind in ("audio", "video") and block.extra not in data.media:
                problem(
                    _("the %(kind)s block needs a transcript file after '|' (in media/)")
                    % {"kind": block.kind},
                    block.line,
                )


# --- Writing -------------------------------------------------------------------------------


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _multiline(text: str) -> str:
    return '"""\n' + text.replace("\\", "\\\\").replace('"""', '\\"""') + '\n"""'


def render_files(data: ProgramData) -> dict[str, bytes]:
    """The package's files, in the same layout ``read_package`` reads."""
    lines = [
        f"slug = {_quote(data.slug)}",
        f"title = {{ sv = {_quote(data.title_sv)}, en = {_quote(data.title_en)} }}",
        f"condition = {_quote(data.condition)}",
        f"target_group = {_quote(data.target_group)}",
        f"planned_weeks = {data.planned_weeks}",
        f"primary_instrument = {_quote(data.primary_instrument)}",
        f"licence = {_quote(data.licence)}",
        f"safe_to_move_from_previous = {'true' if data.safe_to_move_from_previous else 'false'}",
        f"description = {_multiline(data.description)}",
    ]
    for when, codes in data.measurement.items():
        lines += ["", "[[measurement]]", f"when = {_quote(when)}"]
        lines.append("instruments = [" + ", ".join(_quote(code) for code in codes) + "]")
    files: dict[str, bytes] = {}
    for module in data.modules:
        lines += [
            "",
            "[[modules]]",
            f"key = {_quote(module.key)}",
            f"title = {_quote(module.title)}",
        ]
        lines.append(f"unlock = {_quote(module.unlock)}")
        if module.week:
            lines.append(f"week = {int(module.week)}")
        lines.append("pages = [" + ", ".join(_quote(page.key) for page in module.pages) + "]")
        if module.homework:
            lines.append(f"homework = {_multiline(module.homework)}")
        if module.therapist_guide:
            lines.append(f"therapist_guide = {_multiline(module.therapist_guide)}")
        for page in module.pages:
            body = (
                f"# {page.title}\n\n{page.source.rstrip()}\n"
                if page.source.strip()
                else f"# {page.title}\n"
            )
            files[f"pages/{module.key}/{page.key}.md"] = body.encode()
    files[MANIFEST] = ("\n".join(lines) + "\n").encode()
    for key, sheet in data.worksheets.items():
        files[f"worksheets/{key}.toml"] = _worksheet_toml(sheet).encode()
    for key, quiz in data.quizzes.items():
        files[f"quizzes/{key}.toml"] = _quiz_toml(quiz).encode()
    for name, content in data.media.items():
        files[f"media/{name}"] = content
    return files


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    return _quote(str(value))


FIELD_ORDER = ["key", "label", "kind", "columns", "min", "max", "min_label", "max_label"]
QUESTION_ORDER = ["text", "options", "correct", "explanation"]


def _ordered(entry: dict, order: list[str]) -> list[tuple[str, object]]:
    """Keys in a fixed order (PostgreSQL's jsonb does not keep the order they were written in)."""
    known = [(name, entry[name]) for name in order if name in entry]
    return known + sorted((name, value) for name, value in entry.items() if name not in order)


def _worksheet_toml(sheet: dict) -> str:
    lines = [
        f"title = {_quote(sheet['title'])}",
        f"instructions = {_multiline(sheet['instructions'])}",
    ]
    for entry in sheet["fields"]:
        lines += ["", "[[fields]]"]
        lines += [f"{name} = {_value(value)}" for name, value in _ordered(entry, FIELD_ORDER)]
    return "\n".join(lines) + "\n"


def _quiz_toml(quiz: dict) -> str:
    lines = [f"title = {_quote(quiz['title'])}"]
    for question in quiz["questions"]:
        lines += ["", "[[questions]]"]
        lines += [
            f"{name} = {_value(value)}" for name, value in _ordered(question, QUESTION_ORDER)
        ]
    return "\n".join(lines) + "\n"


def package_zip(data: ProgramData) -> bytes:
    """The package as a zip with one folder named by the program's slug."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(render_files(data).items()):
            archive.writestr(f"{data.slug}/{name}", content)
    return buffer.getvalue()


def write_package(data: ProgramData, path: Path) -> None:
    """Write a folder, or a zip when ``path`` ends in .zip."""
    if path.suffix == ".zip":
        path.write_bytes(package_zip(data))
        return
    files = render_files(data)
    for name, content in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
