"""Every detail the code writes into the access log is shown in the reader's language."""

import ast
from pathlib import Path

from django.utils import translation

from ikbt.audit.models import DETAIL_NAMES, AccessLogEntry

SOURCE = Path(__file__).resolve().parents[2]
# The helpers that pass their argument on as the detail, and its position.
DETAIL_ARGUMENT = {"_log": 4, "_log_study": 3}


def written_details() -> set[str]:
    """The plain strings the code passes as an access log detail: ``detail="…"`` anywhere,
    and the detail argument of the helpers that write one (both branches of an ``if``)."""
    found = set()
    for path in SOURCE.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            values = [keyword.value for keyword in node.keywords if keyword.arg == "detail"]
            position = DETAIL_ARGUMENT.get(getattr(node.func, "id", ""))
            if position is not None and len(node.args) > position:
                values.append(node.args[position])
            for value in values:
                branches = [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]
                found |= {
                    branch.value
                    for branch in branches
                    if isinstance(branch, ast.Constant) and isinstance(branch.value, str)
                }
    return found


def test_every_detail_the_code_writes_has_a_name_to_show():
    written = written_details()
    assert {"treatment record", "caseload", "module locked", "resumed", "study closed"} <= written
    assert sorted(written - set(DETAIL_NAMES)) == []


def test_details_read_in_swedish():
    entry = AccessLogEntry(detail="treatment record", object_type="patients.Patient")
    other = AccessLogEntry(detail="study S1 participants (pseudonymised)")
    with translation.override("sv"):
        assert entry.detail_shown == "behandlingsjournal"
        assert entry.what_for_patient == "behandlingsjournal"
        assert other.detail_shown == "deltagare i studie S1, utan namn"
        export = AccessLogEntry(detail="study S1 wide export (pseudonymised)")
        assert export.detail_shown == "export av studie S1, utan namn"


def test_details_with_a_part_of_their_own_read_in_the_readers_language():
    written = {
        "decision: not_suitable": "anmälan besvarad: hänvisad till annan vård",
        "decision: no_show": "registrerat att patienten uteblev",
        "moved to unit 4": "anmälan flyttad",
        "moved to program version 3": "behandlingen flyttad till en ny version av sitt program",
        "treatment moved to unit 4, therapist 9": "behandlingen flyttad",
        "treatment ended: completed": "behandlingen avslutad",
        "extended 2 weeks": "behandlingen förlängd (2 v.)",
        "included in study S1": "inkluderad i studie S1",
        "randomised in study S1": "randomiserad i studie S1",
        "time recorded": "nedlagd tid registrerad",
    }
    with translation.override("sv"):
        for detail, shown in written.items():
            entry = AccessLogEntry(detail=detail, object_type="treatment.Enrollment")
            assert (entry.detail_shown, entry.what_for_patient) == (shown, shown)
