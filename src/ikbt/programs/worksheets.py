"""Worksheet fields: what a worksheet asks and how an answer is checked.

Kinds: ``text`` (a few lines), ``scale`` (``min`` to ``max`` with labels at the ends),
``list`` (as many short entries as the patient wants), ``table`` (rows with ``columns``,
for an activity schedule, an exposure hierarchy or a sleep diary).
"""

from django.utils.translation import gettext as _

from ikbt.core.numbers import whole_number

FIELD_KINDS = ("text", "scale", "list", "table")


def field_problems(fields: list[dict]) -> list[str]:
    """What is wrong with a worksheet's fields, in words an author understands."""
    if not fields:
        return [_("The worksheet has no fields.")]
    problems = []
    keys = [field.get("key", "") for field in fields]
    for index, field in enumerate(fields, start=1):
        name = field.get("label") or _("field %(number)d") % {"number": index}
        if not field.get("key"):
            problems.append(_("Field %(number)d has no key.") % {"number": index})
        if not field.get("label"):
            problems.append(_("Field %(number)d has no label.") % {"number": index})
        kind = field.get("kind")
        if kind not in FIELD_KINDS:
            problems.append(
                _("'%(name)s': unknown kind '%(kind)s' (use %(kinds)s).")
                % {"name": name, "kind": kind, "kinds": ", ".join(FIELD_KINDS)}
            )
        if kind == "table" and not field.get("columns"):
            problems.append(_("'%(name)s': a table needs columns.") % {"name": name})
        if kind == "scale" and not int(field.get("min", 0)) < int(field.get("max", 0)):
            problems.append(_("'%(name)s': a scale needs min below max.") % {"name": name})
    duplicates = {key for key in keys if key and keys.count(key) > 1}
    for key in sorted(duplicates):
        problems.append(_("The key '%(key)s' is used twice.") % {"key": key})
    return problems


def quiz_problems(questions: list[dict]) -> list[str]:
    if not questions:
        return [_("The quiz has no questions.")]
    problems = []
    for index, question in enumerate(questions, start=1):
        options = question.get("options") or []
        number = {"number": index}
        if not question.get("text"):
            problems.append(_("Question %(number)d has no text.") % number)
        if len(options) < 2:
            problems.append(_("Question %(number)d needs at least two options.") % number)
        if not 0 <= int(question.get("correct", -1)) < len(options):
            problems.append(
                _("Question %(number)d: 'correct' must name one of the options (from 0).") % number
            )
    return problems


EXTRA_TABLE_ROWS = 2


def typed(text: str) -> str:
    """What the patient typed, without null characters: no keyboard types one, and
    PostgreSQL cannot store one in text or JSON (an autosave must not fail on it)."""
    return text.replace("\x00", "")


def answers_from_post(fields: list[dict], post) -> dict:
    """A worksheet's answers from a submitted form: text as text, a list as its non-empty
    lines, a scale as a whole number, a table as its non-empty rows."""
    data: dict = {}
    for field in fields:
        key, kind = field["key"], field["kind"]
        if kind == "text":
            data[key] = typed(post.get(key, ""))
        elif kind == "list":
            data[key] = [
                line.strip() for line in typed(post.get(key, "")).splitlines() if line.strip()
            ]
        elif kind == "scale":
            value = whole_number(post.get(key, ""), signed=True)
            low, high = int(field.get("min", 0)), int(field.get("max", 10))
            data[key] = value if value is not None and low <= value <= high else None
        elif kind == "table":
            rows = []
            index = 0
            while f"{key}__{index}__0" in post:
                row = [
                    typed(post.get(f"{key}__{index}__{col}", "")).strip()
                    for col in range(len(field["columns"]))
                ]
                if any(row):
                    rows.append(row)
                index += 1
            data[key] = rows
    return data


def rows_for_form(field: dict, saved: list) -> list[list[tuple[str, str]]]:
    """The table's saved rows and two empty ones to write in, each cell as (column, text) so
    that every input can be named by its column."""
    columns = field.get("columns", [])
    rows = [list(row) + [""] * (len(columns) - len(row)) for row in (saved or [])]
    rows += [[""] * len(columns) for _ in range(EXTRA_TABLE_ROWS)]
    return [list(zip(columns, row, strict=False)) for row in rows]


def worksheet_form(sheet, answer=None) -> dict:
    """What the worksheet's form shows: each field with the patient's answer so far (none in
    the author's preview), a table's rows to write in and a scale's choices."""
    data = answer.data if answer else {}
    fields = []
    for field in sheet.fields:
        entry = {**field, "value": data.get(field["key"])}
        if field["kind"] == "list":
            entry["text"] = "\n".join(data.get(field["key"]) or [])
        if field["kind"] == "table":
            entry["rows"] = rows_for_form(field, data.get(field["key"]))
        if field["kind"] == "scale":
            entry["choices"] = list(range(int(field.get("min", 0)), int(field.get("max", 10)) + 1))
        fields.append(entry)
    return {
        "sheet": sheet,
        "fields": fields,
        "answer": answer,
        "revision": answer.revision if answer else 0,
    }


def put_back_typed(form: dict, kept: dict[str, str]) -> bool:
    """What the patient had typed in a worksheet when its Save came after she was signed out
    (kept by each box's id, ``ws-<sheet>-<field>``, and ``-<row>-<column>`` for a table's
    cell; a scale's choice by its group's: unsent.js), back in its boxes of ``form``
    (``worksheet_form``). Whether any was."""
    put_back = False
    for field in form["fields"]:
        box = f"ws-{form['sheet'].key}-{field['key']}"
        if field["kind"] in ("text", "list") and box in kept:
            field["value" if field["kind"] == "text" else "text"] = kept[box]
            put_back = True
        elif (
            field["kind"] == "scale"
            and whole_number(kept.get(box, ""), signed=True) in (field["choices"])
        ):
            field["value"] = whole_number(kept[box], signed=True)
            put_back = True
        elif field["kind"] == "table":
            for row_index, row in enumerate(field["rows"]):
                for column_index, (column, _text) in enumerate(row):
                    cell = kept.get(f"{box}-{row_index}-{column_index}")
                    if cell is not None:
                        row[column_index] = (column, cell)
                        put_back = True
    return put_back
