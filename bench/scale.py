"""National scale: the statistics page, the national comparison and a year's register export
on PostgreSQL with synthetic treatments across the 21 regions (issue 8).

    .venv/bin/python bench/scale.py                       # 500,000 treatments, from scratch
    .venv/bin/python bench/scale.py --treatments 20000    # a quick run
    .venv/bin/python bench/scale.py --reuse               # measure again on the data there

It creates the database (``--database``, default ikbt_bench) on the PostgreSQL at
127.0.0.1:5432, migrates it, times ``ikbt generate``, then measures, each in its own process:
the statistics page of the largest region and of Östergötland and the national comparison
(median and slowest of five requests after one warm-up, with their SQL query counts), and a
year's register export (wall time and the process's peak memory from ``/usr/bin/time``). The
figures go to ``bench/results/scale.json`` and into ``docs/performance.md``.
"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IKBT = ROOT / ".venv" / "bin" / "ikbt"
RESULTS = ROOT / "bench" / "results" / "scale.json"
REPORT = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- scale:begin -->", "<!-- scale:end -->"
UNTIL = "2026-11-01"
PERIOD = "2026H1"
EXPORT_YEAR = 2025


def environment(database: str) -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-" + "k" * 50,
        "ALLOWED_HOSTS": "testserver",
        "IKBT_DATA_DIR": "/tmp/ikbt-bench",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
    }


def run(command: list, env: dict, **options) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=env, check=True, text=True, **options)


def machine() -> dict:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        line.split()[1]
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    server = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc", "show server_version"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(int(memory) / 1024 / 1024, 1),
        "postgresql": server,
        "python": platform.python_version(),
    }


def timed_requests() -> dict:
    """In a process set up for the bench database: the pages, as a signed-in viewer."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ikbt.settings")
    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from ikbt.accounts.models import User
    from ikbt.organisations.models import CareUnit, Region, StaffMembership, StaffRole

    largest = Region.objects.order_by("-population").first()
    viewer, _ = User.objects.get_or_create(username="bench-regionadmin")
    for region in (largest, Region.objects.get(code="05")):
        unit = CareUnit.objects.filter(region=region).first()
        StaffMembership.objects.get_or_create(user=viewer, unit=unit, role=StaffRole.REGION_ADMIN)
    client = Client()
    client.force_login(viewer)
    device, _ = TOTPDevice.objects.get_or_create(user=viewer, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()

    pages = {
        f"statistics, {largest.name}": f"/statistik/?region={largest.code}&period={PERIOD}",
        "statistics, Region Östergötland": f"/statistik/?region=05&period={PERIOD}",
        "national comparison": f"/statistik/riket/?period={PERIOD}",
    }
    figures = {}
    for name, url in pages.items():
        # secure=True: production settings send plain HTTP to HTTPS.
        assert client.get(url, secure=True).status_code == 200, url  # warm-up
        seconds = []
        for _ in range(5):
            with CaptureQueriesContext(connection) as queries:
                began = time.perf_counter()
                answer = client.get(url, secure=True)
                seconds.append(time.perf_counter() - began)
            assert answer.status_code == 200
        figures[name] = {
            "url": url,
            "median_s": round(statistics.median(seconds), 3),
            "slowest_s": round(max(seconds), 3),
            "queries": len(queries),
        }
    officer, _ = User.objects.get_or_create(username="bench-register")
    StaffMembership.objects.get_or_create(
        user=officer,
        unit=CareUnit.objects.filter(region__code="05").first(),
        role=StaffRole.REGISTER_OFFICER,
    )
    return figures


def export(env: dict) -> dict:
    output = Path("/tmp/ikbt-bench/register.csv")
    output.parent.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    done = run(
        ["/usr/bin/time", "-f", "peak_kb=%M", IKBT, "register", "export",
         "--from", f"{EXPORT_YEAR}-01-01", "--to", f"{EXPORT_YEAR}-12-31",
         "--by", "bench-register", "--output", str(output)],
        env,
        capture_output=True,
    )  # fmt: skip
    seconds = time.monotonic() - began
    peak = int(re.search(r"peak_kb=(\d+)", done.stderr)[1])
    rows = sum(1 for _ in output.open(encoding="utf-8")) - 1
    return {
        "year": EXPORT_YEAR,
        "records": rows,
        "seconds": round(seconds, 1),
        "peak_memory_mb": round(peak / 1024, 1),
        "file_mb": round(output.stat().st_size / 1024 / 1024, 1),
    }


def counts(env: dict) -> dict:
    tables = ["treatment_enrollment", "measurement_response", "messaging_message",
              "intake_registration", "patients_patient"]  # fmt: skip
    sql = " union all ".join(f"select '{table}', count(*) from {table}" for table in tables)  # noqa: S608 (fixed names)
    database = env["DATABASE_URL"].rsplit("/", 1)[1]
    out = run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-Atc", sql], env,
              capture_output=True).stdout  # fmt: skip
    rows = dict(line.split("|") for line in out.splitlines())
    size = run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-Atc",
                "select pg_size_pretty(pg_database_size(current_database()))"], env,
               capture_output=True).stdout.strip()  # fmt: skip
    return {"rows": {name: int(value) for name, value in rows.items()}, "database_size": size}


def report(results: dict) -> None:
    lines = [
        BEGIN,
        f"Measured {results['measured']} with `{results['command']}` on "
        f"{results['machine']['cores']} cores ({results['machine']['cpu']}), "
        f"{results['machine']['memory_gib']} GiB, PostgreSQL {results['machine']['postgresql']}.",
        "",
        f"`ikbt generate --treatments {results['treatments']} --seed {results['seed']}` took "
        f"**{results['generate_seconds']} s** ({results['database']['database_size']}; rows: "
        + ", ".join(f"{name} {count:,}" for name, count in results["database"]["rows"].items())
        + ").",
        "",
        "| Page | Median | Slowest of 5 | SQL queries |",
        "|---|---|---|---|",
    ]
    for name, page in results["pages"].items():
        lines.append(
            f"| {name} (`{page['url']}`) | {page['median_s']} s | {page['slowest_s']} s | "
            f"{page['queries']} |"
        )
    export = results["export"]
    lines += [
        "",
        f"Register export of {export['year']} (`ikbt register export --from "
        f"{export['year']}-01-01 --to {export['year']}-12-31`): {export['records']:,} records, "
        f"{export['file_mb']} MB file, {export['seconds']} s, peak memory "
        f"**{export['peak_memory_mb']} MB** (`/usr/bin/time`, the whole process).",
        END,
    ]
    text = REPORT.read_text(encoding="utf-8") if REPORT.exists() else "# Performance\n"
    section = "\n".join(lines)
    if BEGIN in text:
        text = re.sub(f"{re.escape(BEGIN)}.*?{re.escape(END)}", lambda _m: section, text,
                      flags=re.DOTALL)  # fmt: skip
    else:
        text = text.rstrip() + "\n\n## National scale (issue 8)\n\n" + section + "\n"
    REPORT.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--treatments", type=int, default=500_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", default="ikbt_bench")
    parser.add_argument("--reuse", action="store_true", help="Measure the data already there.")
    parser.add_argument("--pages", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pages:
        print(json.dumps(timed_requests()))
        return
    env = environment(args.database)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if args.reuse:
        generate_seconds = previous.get("generate_seconds")
    else:
        for sql in (
            f"DROP DATABASE IF EXISTS {args.database}",
            f"CREATE DATABASE {args.database}",
        ):
            run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], env)
        run([IKBT, "migrate", "-v0"], env)
        began = time.monotonic()
        run([IKBT, "generate", "--treatments", str(args.treatments), "--seed", str(args.seed),
             "--until", UNTIL, "--synthetic-database"], env)  # fmt: skip
        generate_seconds = round(time.monotonic() - began, 1)
    run([IKBT, "collectstatic", "--noinput", "-v0"], env)  # production settings need it
    pages = json.loads(
        run([sys.executable, __file__, "--pages"], env, capture_output=True, cwd=ROOT).stdout
    )
    results = {
        "measured": time.strftime("%Y-%m-%d"),
        "command": "python bench/scale.py" + (f" --treatments {args.treatments}"
                                              if args.treatments != 500_000 else ""),
        "machine": machine(),
        "treatments": args.treatments,
        "seed": args.seed,
        "generate_seconds": generate_seconds,
        "database": counts(env),
        "pages": pages,
        "export": export(env),
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    report(results)
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
