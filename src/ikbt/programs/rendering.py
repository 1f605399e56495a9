"""A page as the patient sees it: its blocks with what each needs, fetched once per version."""

from django.urls import reverse

from ikbt.measurement.models import Instrument, InstrumentVersion
from ikbt.programs.blocks import parse_page, render_markdown
from ikbt.programs.models import Page, ProgramVersion


class VersionParts:
    """The worksheets, quizzes, media and questionnaires of one version, looked up by key."""

    def __init__(self, version: ProgramVersion) -> None:
        self.worksheets = {sheet.key: sheet for sheet in version.worksheets.all()}
        self.quizzes = {quiz.key: quiz for quiz in version.quizzes.all()}
        self.media = {media.name: media for media in version.media.all()}
        self.instruments = set(Instrument.objects.values_list("code", flat=True))

    def media_url(self, name: str) -> str:
        media = self.media.get(name)
        return reverse("programs:media", args=[media.pk]) if media else ""

    def transcript(self, name: str) -> str:
        media = self.media.get(name)
        if media is None:
            return ""
        with media.file.open("rb") as file:
            return file.read().decode("utf-8", errors="replace")


def page_blocks(page: Page, parts: VersionParts) -> list[dict]:
    blocks = []
    for block in parse_page(page.source):
        entry = {"kind": block.kind, "line": block.line}
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
            entry["worksheet"] = parts.worksheets.get(block.argument)
        elif block.kind == "quiz":
            entry["quiz"] = parts.quizzes.get(block.argument)
        elif block.kind == "questionnaire":
            entry["code"] = block.argument
            entry["exists"] = block.argument in parts.instruments
        blocks.append(entry)
    return blocks


def instrument_codes() -> list[str]:
    return sorted(set(InstrumentVersion.objects.values_list("instrument__code", flat=True)))
