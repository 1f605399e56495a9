"""The load run: gunicorn on PostgreSQL, locust on loopback, our pages against the floor.

    .venv/bin/python bench/load.py               # about 5 minutes; writes docs/performance.md

1. A database of its own (``ikbt_load``) gets the demo plus a caseload of 40 patients for
   every demo therapist (bench/scenario.py), and gunicorn serves it with production settings.
2. Capacity: the floor (a bare view, one query, one template: bench/floor_urls.py), the
   therapist's caseload overview and the patient's module page, each alone, with enough
   simulated people sending requests back to back to keep every gunicorn worker busy. The
   figure that matters is each page's requests per second as a share of the floor's.
3. The national peak: patients and therapists doing their mixed work at 60 requests per
   second in all, with the floor among them, reporting p50, p95 and p99 and errors per page.

Both parts run against the same server in the same run. Results go to
bench/results/load.json and into docs/performance.md between its load markers.
"""

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from server import BENCH, BIN, ROOT, Gunicorn, database_recreate, server_env, site_prepare

REPORT = ROOT / "docs" / "performance.md"
RESULTS = BENCH / "results" / "load.json"
BEGIN, END = "<!-- load:begin -->", "<!-- load:end -->"
DATABASE = "ikbt_load"
WORK = Path(tempfile.gettempdir()) / "ikbt-load"
SPAWN_SECONDS = 5
CAPACITY_PAGES = {
    "Floor": "floor: one query, one template",
    "CaseloadOnly": "therapist: caseload overview",
    "ModulePageOnly": "patient: module page",
}


def locust(url: str, classes: list[str], users: int, seconds: int, name: str, rate=0.0) -> dict:
    """Run locust headless and return its statistics per page name (and "Aggregated").

    The people arrive over the first five seconds, and the figures count from when the last
    has arrived (--reset-stats): each patient opens her module page as she arrives, and
    everyone arriving at once would be a burst no real evening has."""
    prefix = WORK / name
    subprocess.run(
        [
            BIN / "locust",
            "-f",
            BENCH / "locustfile.py",
            "--headless",
            "--only-summary",
            "--host",
            url,
            "--users",
            str(users),
            "--spawn-rate",
            str(users / SPAWN_SECONDS),
            "--reset-stats",
            "--run-time",
            f"{seconds + SPAWN_SECONDS}s",
            "--csv",
            prefix,
            "--loglevel",
            "WARNING",
            *classes,
        ],
        env={
            **os.environ,
            "IKBT_SCENARIO": str(WORK / "scenario.json"),
            "IKBT_USER_RATE": str(rate),
        },
        check=False,  # locust exits 1 when a request failed; the failures are in the figures
        stdout=subprocess.DEVNULL,
    )
    with open(f"{prefix}_stats.csv") as file:
        return {
            row["Name"]: {
                "requests": int(row["Request Count"]),
                "errors": int(row["Failure Count"]),
                "rps": round(float(row["Requests/s"]), 1),
                "p50": float(row["50%"]),
                "p95": float(row["95%"]),
                "p99": float(row["99%"]),
            }
            for row in csv.DictReader(file)
        }


def machine(database_url: str, workers: int) -> dict:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = int(Path("/proc/meminfo").read_text().split()[1])
    with psycopg.connect(database_url) as connection:
        postgres = connection.execute("SHOW server_version").fetchone()[0]
    return {
        "cpu": f"{os.cpu_count()} × {model}",
        "memory": f"{memory_kb / 1024 / 1024:.0f} GiB",
        "python": platform.python_version(),
        "postgresql": postgres,
        "server": f"gunicorn, {workers} sync workers, DEBUG off, persistent connections (60 s)",
        "load generator": "locust (FastHttpUser) on the same machine, over loopback",
    }


def run(args) -> dict:
    WORK.mkdir(exist_ok=True)
    scenario = WORK / "scenario.json"
    database_url = f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
    env = server_env(database_url, WORK / "data")
    database_recreate(DATABASE)
    print("preparing the database (demo, caseloads, sessions)…", flush=True)
    site_prepare(env, scenario, args.caseload)
    with Gunicorn(env, args.workers, WORK / "gunicorn.log") as server:
        print(f"serving on {server.url} with {args.workers} workers", flush=True)
        locust(server.url, ["Patient", "Therapist", "Floor"], 20, 10, "warmup", rate=2.0)
        capacity = {}
        for cls, name in CAPACITY_PAGES.items():
            stats = locust(server.url, [cls], args.concurrency, args.seconds, f"capacity-{cls}")
            capacity[name] = stats[name]
            print(f"capacity  {name:40} {stats[name]['rps']:7.1f} req/s", flush=True)
        floor = capacity[CAPACITY_PAGES["Floor"]]["rps"]
        for figures in capacity.values():
            figures["share_of_floor"] = round(figures["rps"] / floor, 2)
        people = round(args.rate / args.person_rate)
        peak = locust(
            server.url,
            ["Patient", "Therapist", "Floor"],
            people,
            args.seconds * 2,
            "peak",
            rate=args.person_rate,
        )
        for name, figures in peak.items():
            print(
                f"peak      {name:40} {figures['rps']:6.1f} req/s  p50 {figures['p50']:4.0f}"
                f"  p95 {figures['p95']:4.0f}  p99 {figures['p99']:4.0f} ms"
                f"  errors {figures['errors']}",
                flush=True,
            )
    return {
        "measured": datetime.now().astimezone().isoformat(timespec="minutes"),
        "command": "python bench/load.py",
        "machine": machine(database_url, args.workers),
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "peak_rate": args.rate,
        "people_at_peak": people,
        "capacity": capacity,
        "peak": peak,
    }


def report(result: dict) -> str:
    capacity_rows = "\n".join(
        f"| {name} | {figures['rps']:.0f} | {figures['share_of_floor']:.2f} | "
        f"{figures['p50']:.0f} | {figures['p95']:.0f} | {figures['p99']:.0f} | "
        f"{figures['errors']} |"
        for name, figures in result["capacity"].items()
    )
    peak_rows = "\n".join(
        f"| {name} | {figures['requests']} | {figures['rps']:.1f} | {figures['p50']:.0f} | "
        f"{figures['p95']:.0f} | {figures['p99']:.0f} | {figures['errors']} |"
        for name, figures in sorted(result["peak"].items(), key=lambda row: row[0] == "Aggregated")
    )
    machine_rows = "\n".join(f"- {key}: {value}" for key, value in result["machine"].items())
    return f"""{BEGIN}
Measured {result["measured"]} with `{result["command"]}` on:

{machine_rows}

**Capacity**: each page alone, {result["concurrency"]} simulated people sending requests back
to back for {result["seconds"]} s (latencies in ms).

| Page | Requests/s | Share of the floor | p50 | p95 | p99 | Errors |
|---|---:|---:|---:|---:|---:|---:|
{capacity_rows}

**National peak**: {result["people_at_peak"]} simulated patients, therapists and floor
visitors at {result["peak_rate"]} requests per second in all, for {result["seconds"] * 2} s
(latencies in ms).

| Page | Requests | Requests/s | p50 | p95 | p99 | Errors |
|---|---:|---:|---:|---:|---:|---:|
{peak_rows}
{END}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--rate", type=float, default=60.0, help="requests per second at peak")
    parser.add_argument("--person-rate", type=float, default=1.0)
    parser.add_argument("--caseload", type=int, default=40, help="patients per therapist")
    args = parser.parse_args()
    started = time.monotonic()
    result = run(args)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    text = REPORT.read_text()
    if BEGIN in text:
        before, rest = text.split(BEGIN, 1)
        text = before + report(result) + rest.split(END, 1)[1]
    else:
        text += "\n" + report(result) + "\n"
    REPORT.write_text(text)
    print(f"written to {REPORT.relative_to(ROOT)} in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
