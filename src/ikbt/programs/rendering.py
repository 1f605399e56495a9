"""A page as the patient sees it: its blocks with what each needs, fetched once per version.

A published version never changes (``actions.ensure_draft``), so what a patient's pages need of
it (modules with their pages, worksheets, quizzes, media) is read once per process and kept,
keyed by the version and the moment it was published. A draft is read afresh every time.
"""

import functools

from django.urls import reverse

from ikbt.core.numbers import whole_number
from ikbt.measurement.models import Instrument, InstrumentVersion
from ikbt.programs.blocks import parse_page, render_markdown
from ikbt.programs.models import Module, Page, ProgramVersion
from ikbt.programs.worksheets import worksheet_form


class VersionParts:
    """The worksheets, quizzes, media and questionnaires of one version, looked up by key."""

    def __init__(self, version: ProgramVersion) -> None:
        self.worksheets = {sheet.key: sheet for sheet in version.worksheets.all()}
        self.quizzes = {quiz.key: quiz for quiz in version.quizzes.all()}
        self.media = {media.name: media for media in version.media.all()}

    @property
    def instruments(self) -> set[str]:
        """Asked only by a page that has a questionnaire block, afresh each time."""
        return set(Instrument.objects.values_list("code", flat=True))

    def media_url(self, name: str) -> str:
        media = self.media.get(name)
        return reverse("programs:media", args=[media.pk]) if media else ""

    def transcript(self, name: str) -> str:
        media = self.media.get(name)
        if media is None:
            return ""
        with media.file.open("rb") as file:
            return file.read().decode("utf-8", errors="replace")


def version_parts(version: ProgramVersion) -> VersionParts:
    """The version's parts, kept per process once it is published."""
    if not version.is_published:
        return VersionParts(version)
    return _published_parts(version.pk, version.published_at)


@functools.lru_cache(maxsize=64)
def _published_parts(version_id: int, published_at) -> VersionParts:
    return VersionParts(ProgramVersion.objects.get(pk=version_id))


def version_modules(version: ProgramVersion) -> list[Module]:
    """The version's modules in order, each with its pages fetched; kept once published."""
    if not version.is_published:
        return _modules(version.pk)
    return _published_modules(version.pk, version.published_at)


def _modules(version_id: int) -> list[Module]:
    return list(
        Module.objects.filter(version_id=version_id).order_by("position").prefetch_related("pages")
    )


@functools.lru_cache(maxsize=64)
def _published_modules(version_id: int, published_at) -> list[Module]:
    return _modules(version_id)


def quiz_questions(quiz, sent) -> list[dict]:
    """A quiz's questions, each with what the reader chose when the quiz was sent back from
    its page (``sent``: the page's GET parameters then, else None; nothing is stored) and
    whether it is right. ``chosen`` is None for a question not answered or a quiz not sent."""
    questions = []
    for number, question in enumerate(quiz.questions, start=1):
        options = question.get("options", [])
        chosen = whole_number(sent.get(f"q{number}")) if sent is not None else None
        if chosen is not None and chosen >= len(options):
            chosen = None
        correct = question.get("correct")
        questions.append(
            {
                **question,
                "number": number,
                "chosen": chosen,
                "right": chosen is not None and chosen == correct,
                "right_option": options[correct] if correct in range(len(options)) else "",
            }
        )
    return questions


def page_blocks(
    page: Page, parts: VersionParts, query=None, worksheet_answers: dict | None = None
) -> list[dict]:
    """The page's blocks with what each shows. ``query`` (the request's GET parameters) makes
    quizzes answerable on the page; without it they are shown as in the editor, to look at.
    ``worksheet_answers`` (by worksheet key) fill in a patient's worksheets; without them
    they are empty, as in the author's preview."""
    blocks = []
    for block in parse_page(page.source):
        entry = {"kind": block.kind, "line": block.line, "argument": block.argument}
        if block.kind == "text":
            entry["html"] = render_markdown(block.text)
        elif block.kind == "image":
            entry |= {"url": parts.media_url(block.argument), "alt": block.extra}
        elif block.kind in ("audio", "video"):
            entry |= {
                "url": parts.media_url(block.argument),
                "transcript": parts.transcript(block.extra),
            }
        elif block.kind == "worksheet":
            sheet = parts.worksheets.get(block.argument)
            answer = (worksheet_answers or {}).get(block.argument)
            entry |= {"worksheet": sheet, "form": worksheet_form(sheet, answer) if sheet else None}
        elif block.kind == "quiz":
            quiz = parts.quizzes.get(block.argument)
            entry["quiz"] = quiz
            entry["answerable"] = query is not None
            entry["sent"] = query is not None and query.get("quiz") == block.argument
            entry["questions"] = (
                quiz_questions(quiz, query if entry["sent"] else None) if quiz else []
            )
            # The page's own parameters (the preview's page number) go along with the answers.
            entry["keep"] = [
                (name, value)
                for name, value in (query or {}).items()
                if name != "quiz" and not (name[:1] == "q" and name[1:].isdigit())
            ]
        elif block.kind == "questionnaire":
            entry["code"] = block.argument
            entry["exists"] = block.argument in parts.instruments
            entry["start_url"] = None  # the patient's page sets where "Fill in" goes
        # What the block names is not in the version (a draft's typo): the page says so.
        entry["missing"] = (
            (block.kind in ("image", "audio", "video") and not entry["url"])
            or (block.kind == "worksheet" and entry["worksheet"] is None)
            or (block.kind == "quiz" and entry["quiz"] is None)
            or (block.kind == "questionnaire" and not entry["exists"])
        )
        blocks.append(entry)
    return blocks


def instrument_codes() -> list[str]:
    return sorted(set(InstrumentVersion.objects.values_list("instrument__code", flat=True)))
