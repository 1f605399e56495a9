"""The SQL queries of every list page at 1, 10, 100 and 1,000 rows: they must be equal.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/query_counts.py
    .venv/bin/python bench/query_counts.py 1 10 100   # SQLite, other row counts

On SQLite a list of 100 rows or more costs one query more than on PostgreSQL: the access-log
rows the page writes (one per patient shown) go in one INSERT on PostgreSQL, but SQLite's limit
on bound parameters splits it into batches.

Each list page has a test that fills it with rows and pins its number of queries with
``django_assert_num_queries`` (the suite runs them with a few rows). This runs the same tests
with the row counts asked for (``IKBT_LIST_ROWS``), records each page's query count, prints
them as a table and writes it into ``docs/performance.md``.
"""

import os
import re
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- queries:begin -->", "<!-- queries:end -->"
# The list pages' query-count tests (test function, the page it measures).
PAGES = {
    "test_staff_list_query_count_is_fixed": "patients: staff's patient list",
    "test_my_access_log_query_count_is_fixed": "audit: the patient's access log",
    "test_review_query_count_is_fixed": "audit: access-log review",
    "test_review_sample_query_count_is_fixed": "audit: access-log random sample",
    "test_measurement_page_query_count_is_fixed": "measurement: a patient's scores",
    "test_thread_query_count_is_fixed": "messaging: a thread",
    "test_a_thread_with_held_replies_keeps_its_query_count": (
        "messaging: a thread with replies held for the supervisor"
    ),
    "test_queue_query_count_is_fixed": "intake: the triage queue",
    "test_caseload_query_count_is_fixed": "treatment: the therapist's caseload",
    "test_record_query_count_is_fixed": "treatment: the treatment record",
    "test_study_list_query_count_is_fixed": "research: the study list",
    "test_participant_list_query_count_is_fixed": "research: participants",
    "test_recruitment_page_query_count_is_fixed": "research: recruitment figures",
    "test_unit_page_query_count_is_fixed": (
        "organisations: a unit's staff, training and supervision"
    ),
}


class QueryCounts:
    """Records, per test and row count, the number of queries each page ran: it wraps
    pytest-django's ``django_assert_num_queries`` (which still asserts the pinned number)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, int], str] = {}
        self.current: tuple[str, int] | None = None

    def pytest_runtest_setup(self, item) -> None:
        params = getattr(item, "callspec", None)
        self.current = (item.originalname, next(iter(params.params.values()))) if params else None

    def install(self) -> None:
        from contextlib import contextmanager

        from pytest_django import fixtures

        pinned = fixtures._assert_num_queries

        @contextmanager
        def counting(config, num, *args, **kwargs):
            with pinned(config, num, *args, **kwargs) as queries:
                yield queries
                if self.current:
                    self.counts[self.current] = str(len(queries))

        fixtures._assert_num_queries = counting


def main() -> None:
    rows = [int(value) for value in sys.argv[1:]] or [1, 10, 100, 1000]
    os.environ["IKBT_LIST_ROWS"] = ",".join(map(str, rows))
    recorder = QueryCounts()
    recorder.install()
    began = time.monotonic()
    selection = " or ".join(PAGES)
    code = pytest.main(["-q", "-p", "no:randomly", str(ROOT / "src"), "-k", selection],
                       plugins=[recorder])  # fmt: skip
    missing = sorted({name for name in PAGES} - {name for name, _rows in recorder.counts})
    header = "| Page | " + " | ".join(f"{count:,} rows" for count in rows) + " | Equal |"
    lines = [header, "|---" * (len(rows) + 2) + "|"]
    for name, page in PAGES.items():
        counts = [recorder.counts.get((name, count), "–") for count in rows]
        equal = "yes" if len(set(counts)) == 1 and "–" not in counts else "**no**"
        lines.append(f"| {page} | " + " | ".join(counts) + f" | {equal} |")
    table = "\n".join(lines)
    print(table)
    if missing:
        print("Not measured (no such test):", ", ".join(missing))
    database = (
        "PostgreSQL" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    )
    section = (
        f"{BEGIN}\nMeasured {time.strftime('%Y-%m-%d')} with `python bench/query_counts.py` "
        f"({time.monotonic() - began:.0f} s, {database}):\n\n{table}\n{END}"
    )
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else "# Performance\n"
    if BEGIN in text:
        text = re.sub(f"{re.escape(BEGIN)}.*?{re.escape(END)}", lambda _m: section, text,
                      flags=re.DOTALL)  # fmt: skip
    else:
        text = text.rstrip() + "\n\n## Queries per list page\n\n" + section + "\n"
    REPORT.write_text(text, encoding="utf-8")
    sys.exit(code)


if __name__ == "__main__":
    main()
