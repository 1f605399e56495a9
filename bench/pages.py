"""Each page's own cost, in the process: where the load run's time goes.

    .venv/bin/python bench/pages.py            # about a minute; prints a table
    .venv/bin/python bench/pages.py caseload   # and a cProfile of that page

The same database as the load run (bench/server.py: the demo plus 40 patients per therapist,
production settings) is served in this process through Django's test client, which passes
through every middleware. Each page is asked 30 times after a first request that fills the
per-process caches; the median and the number of SQL queries are printed.
"""

import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server import database_recreate, server_env, site_prepare

WORK = Path(tempfile.gettempdir()) / "ikbt-pages"
ROUNDS = 30


def pages(scenario: dict) -> dict[str, tuple[str, str]]:
    """Name: (session, URL) for the first simulated patient and therapist; the floor is asked
    without a session, as in the load run."""
    patient, therapist = scenario["patients"][0], scenario["therapists"][0]
    return {
        "floor: one query, one template": ("", "/bench/floor/"),
        "therapist: caseload overview": (therapist["session"], therapist["caseload"]),
        "therapist: patient record": (therapist["session"], therapist["records"][0]),
        "therapist: message thread": (therapist["session"], therapist["threads"][0]),
        "patient: home": (patient["session"], patient["home"]),
        "patient: module page": (patient["session"], patient["module"]),
        "patient: questionnaire": (patient["session"], patient["questionnaire"]),
        "patient: message thread": (patient["session"], patient["thread"]),
    }


def main(profile: str = "") -> None:
    WORK.mkdir(exist_ok=True)
    env = server_env(database_recreate("ikbt_pages"), WORK / "data")
    print("preparing the database (demo, caseloads, sessions)…", flush=True)
    site_prepare(env, WORK / "scenario.json", 40)
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    print("| Page | Median | Queries |\n|---|---:|---:|")
    for name, (session, url) in pages(json.loads((WORK / "scenario.json").read_text())).items():
        if profile and profile not in name:
            continue
        client = Client(HTTP_HOST="127.0.0.1")
        if session:
            client.cookies["sessionid"] = session
        assert client.get(url).status_code == 200, name
        times = []
        for _ in range(ROUNDS):
            started = time.perf_counter()
            client.get(url)
            times.append(time.perf_counter() - started)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        print(f"| {name} | {statistics.median(times) * 1000:.1f} ms | {len(queries)} |")
        if profile:
            profiler = cProfile.Profile()
            with profiler:
                for _ in range(ROUNDS):
                    client.get(url)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main(*sys.argv[1:2])
