"""A page's content: Markdown text with block lines between, one block per line.

    ::: image andning.png | En kvinna som andas lugnt      (alt text after the bar)
    ::: audio andning.mp3 | andning.txt                     (transcript file after the bar)
    ::: video exponering.mp4 | exponering.txt
    ::: worksheet aktivitetsschema
    ::: quiz vad-ar-angest
    ::: questionnaire PHQ-9

Text is rendered from Markdown and then sanitised with nh3 (the Rust ammonia library), so no
script, style or event handler an author (or an imported package) writes reaches a patient.
"""

import functools
import re
from dataclasses import dataclass

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe

BLOCK_LINE = re.compile(
    r"^:::\s*(?P<kind>[a-z]+)\s+(?P<argument>[^|]+?)\s*(?:\|\s*(?P<extra>.*?))?\s*$"
)
KINDS = ("image", "audio", "video", "worksheet", "quiz", "questionnaire")
ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "h2", "h3", "h4", "blockquote",
    "a", "hr", "table", "thead", "tbody", "tr", "th", "td", "code", "pre",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"scope"}}


@dataclass(frozen=True)
class Block:
    kind: str  # "text" or one of KINDS
    line: int  # first line of the block in the page's source, from 1
    text: str = ""
    argument: str = ""
    extra: str = ""


def parse_page(source: str) -> list[Block]:
    """Split a page's source into text blocks and block lines, keeping line numbers."""
    blocks: list[Block] = []
    text_lines: list[str] = []
    text_start = 1

    def flush() -> None:
        if "".join(text_lines).strip():
            blocks.append(Block("text", text_start, text="\n".join(text_lines).strip()))

    for number, line in enumerate(source.splitlines(), start=1):
        if line.startswith(":::"):
            flush()
            text_lines, text_start = [], number + 1
            match = BLOCK_LINE.match(line)
            if match is None:
                blocks.append(Block("invalid", number, text=line))
            else:
                blocks.append(
                    Block(
                        match["kind"],
                        number,
                        argument=match["argument"],
                        extra=match["extra"] or "",
                    )
                )
        else:
            if not text_lines:
                text_start = number
            text_lines.append(line)
    flush()
    return blocks


@functools.lru_cache(maxsize=4096)
def render_markdown(text: str) -> SafeString:
    """Markdown to sanitised HTML. Kept per process by text: a module page renders the same
    paragraphs for every patient."""
    html = markdown.markdown(text, extensions=["tables", "sane_lists"], output_format="html")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"https", "http", "mailto", "tel"},
        link_rel="noopener noreferrer",
    )
    # Sanitised by nh3 just above.
    return mark_safe(clean)  # noqa: S308  # nosec B308 B703
