"""PostgreSQL restarted in the middle of a write load.

    .venv/bin/python bench/faults.py      # about 1 minute; restarts this machine's PostgreSQL

Patients send messages through gunicorn (production settings) from several threads, back to
back. After a few seconds PostgreSQL is restarted (``pg_ctlcluster … restart``: a fast
shutdown that cuts every connection). The run then checks, in the database:

- every message acknowledged with a redirect (the form's success answer) is there, once;
- every failed request was a clean 503 carrying the retry message and a Retry-After header
  (no 500, no dropped connection);
- how long after PostgreSQL accepted connections again the first message went through.

Writes figures to bench/results/faults.json and into docs/reliability.md between its markers.
Do not run it while a test suite uses the same PostgreSQL.
"""

import json
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server import BENCH, ROOT, Gunicorn, database_recreate, server_env, site_prepare

REPORT = ROOT / "docs" / "reliability.md"
RESULTS = BENCH / "results" / "faults.json"
BEGIN, END = "<!-- restart:begin -->", "<!-- restart:end -->"
DATABASE = "ikbt_faults"
WORK = Path(tempfile.gettempdir()) / "ikbt-faults"
SENDERS = 8
RETRY_TEXT = "Nothing was saved"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def cluster() -> str:
    return sorted(Path("/etc/postgresql").iterdir())[0].name


def postgres_ready(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=1) as connection:
            connection.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return False


class Sender(threading.Thread):
    """One patient sending numbered messages back to back until told to stop."""

    def __init__(self, number: int, server: str, patient: dict, csrf: str, stop) -> None:
        super().__init__()
        self.number, self.server, self.patient, self.csrf, self.stop = (
            number,
            server,
            patient,
            csrf,
            stop,
        )
        self.acknowledged: list[tuple[float, str]] = []
        self.failures: list[tuple[float, str]] = []
        self.opener = urllib.request.build_opener(NoRedirect)

    def run(self) -> None:
        sequence = 0
        while not self.stop.is_set():
            sequence += 1
            body = f"fault-{self.number}-{sequence}"
            request = urllib.request.Request(  # noqa: S310  (our server on loopback)
                self.server + self.patient["thread"],
                data=urllib.parse.urlencode({"body": body}).encode(),
                headers={
                    "Cookie": f"sessionid={self.patient['session']}; csrftoken={self.csrf}",
                    "X-CSRFToken": self.csrf,
                },
            )
            try:
                with self.opener.open(request, timeout=30) as answer:
                    self.failures.append((time.monotonic(), f"{answer.status} (not a redirect)"))
            except urllib.error.HTTPError as answer:
                text = answer.read().decode("utf-8", "replace")
                if answer.code == 302:
                    self.acknowledged.append((time.monotonic(), body))
                elif answer.code == 503 and RETRY_TEXT in text and answer.headers["Retry-After"]:
                    self.failures.append((time.monotonic(), "503 with retry message"))
                else:
                    self.failures.append((time.monotonic(), f"{answer.code} unclean"))
                    time.sleep(0.05)
            except OSError as error:
                self.failures.append((time.monotonic(), f"connection error: {error}"))
                time.sleep(0.05)


def run() -> dict:
    WORK.mkdir(exist_ok=True)
    scenario_path = WORK / "scenario.json"
    database_url = database_recreate(DATABASE)
    env = server_env(database_url, WORK / "data")
    print("preparing the database…", flush=True)
    site_prepare(env, scenario_path, SENDERS)
    scenario = json.loads(scenario_path.read_text())
    with Gunicorn(env, 5, WORK / "gunicorn.log") as server:
        stop = threading.Event()
        senders = [
            Sender(number, server.url, patient, scenario["csrf"], stop)
            for number, patient in enumerate(scenario["patients"][:SENDERS])
        ]
        for sender in senders:
            sender.start()
        time.sleep(5)
        print("restarting PostgreSQL…", flush=True)
        restart_started = time.monotonic()
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", cluster(), "main", "restart"],
            check=True,
        )
        while not postgres_ready(database_url):
            time.sleep(0.05)
        postgres_back = time.monotonic()
        time.sleep(10)
        stop.set()
        for sender in senders:
            sender.join()
    acknowledged = [body for sender in senders for _, body in sender.acknowledged]
    failures = [failure for sender in senders for failure in sender.failures]
    with psycopg.connect(database_url) as connection:
        stored = dict(
            connection.execute(
                "SELECT body, count(*) FROM messaging_message WHERE body LIKE 'fault-%%' "
                "GROUP BY body"
            ).fetchall()
        )
    lost = [body for body in acknowledged if body not in stored]
    doubled = [body for body, count in stored.items() if count > 1]
    first_after = min(
        (
            moment
            for sender in senders
            for moment, _ in sender.acknowledged
            if moment > postgres_back
        ),
        default=None,
    )
    kinds: dict[str, int] = {}
    for _, kind in failures:
        kinds[kind] = kinds.get(kind, 0) + 1
    error_moments = [moment for moment, _ in failures]
    return {
        "measured": datetime.now().astimezone().isoformat(timespec="minutes"),
        "command": "python bench/faults.py",
        "senders": SENDERS,
        "acknowledged": len(acknowledged),
        "stored": sum(stored.values()),
        "lost": len(lost),
        "doubled": len(doubled),
        "failures": kinds,
        "restart_seconds": round(postgres_back - restart_started, 2),
        "first_after_seconds": (round(first_after - postgres_back, 2) if first_after else None),
        "error_window_seconds": (
            round(max(error_moments) - min(error_moments), 2) if error_moments else 0
        ),
    }


def report(result: dict) -> str:
    failures = ", ".join(f"{count} × {kind}" for kind, count in result["failures"].items())
    return f"""{BEGIN}
Measured {result["measured"]} with `{result["command"]}` ({result["senders"]} patients sending
messages back to back through gunicorn, PostgreSQL restarted after 5 s):

| What | Result |
|---|---|
| Messages acknowledged (302) | {result["acknowledged"]} |
| Acknowledged messages missing from the database | {result["lost"]} |
| Messages stored twice | {result["doubled"]} |
| Messages in the database (acknowledged or not) | {result["stored"]} |
| Failed requests | {failures or "none"} |
| PostgreSQL restart (command start to accepting connections) | {result["restart_seconds"]} s |
| First acknowledged message after PostgreSQL was back | {result["first_after_seconds"]} s |
| Time from the first to the last failed request | {result["error_window_seconds"]} s |
{END}"""


def main() -> None:
    started = time.monotonic()
    result = run()
    print(json.dumps(result, indent=1))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    text = REPORT.read_text()
    before, rest = text.split(BEGIN, 1)
    REPORT.write_text(before + report(result) + rest.split(END, 1)[1])
    print(f"written to {REPORT.relative_to(ROOT)} in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
