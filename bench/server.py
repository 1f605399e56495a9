"""Open iKBT served the way a region runs it, for the load and fault runs: a PostgreSQL
database of its own, production settings (DEBUG off, static files collected), gunicorn with
several sync workers, and a scenario of signed-in patients and therapists (bench/scenario.py).

The bench/ folder is on the server's Python path so that ``load_settings`` can add the floor
view (one query, one template) beside the application's own pages.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
BIN = Path(sys.executable).parent
POSTGRES = "postgres://postgres@127.0.0.1:5432"


def database_recreate(name: str) -> str:
    """An empty database called ``name``; returns its URL."""
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{POSTGRES}/{name}"


def server_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """Production settings on plain HTTP over loopback (no TLS proxy in front)."""
    return {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "bench-" + "k" * 60,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "DATABASE_URL": database_url,
        "DATABASE_CONN_MAX_AGE": "60",
        "IKBT_DATA_DIR": str(data_dir),
        "TASKS_BACKEND": "database",
        "SMS_BACKEND": "file",
        "EMAIL_BACKEND": "file",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "load_settings",
        "PYTHONPATH": str(BENCH),
        **extra,
    }


def ikbt(env: dict[str, str], *args: str) -> None:
    subprocess.run([BIN / "ikbt", *args], env=env, check=True, stdout=subprocess.DEVNULL)


def site_prepare(env: dict[str, str], scenario: Path, patients_per_therapist: int) -> None:
    """Migrate, load the demo, collect static files, write the scenario, and give the
    planner its statistics (as autovacuum would have on a database in use)."""
    ikbt(env, "migrate", "--noinput")
    ikbt(env, "demo")
    ikbt(env, "collectstatic", "--noinput")
    subprocess.run(
        [sys.executable, BENCH / "scenario.py", scenario, str(patients_per_therapist)],
        env=env,
        check=True,
    )
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Gunicorn:
    """``gunicorn ikbt.wsgi`` in the background, ready when /healthz answers."""

    def __init__(self, env: dict[str, str], workers: int, log: Path) -> None:
        self.env, self.workers, self.log = env, workers, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Gunicorn":
        self.process = subprocess.Popen(
            [
                BIN / "gunicorn",
                "ikbt.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--access-logfile",
                "-",
                "--access-logformat",
                '%(s)s %(m)s "%(U)s" %(M)s',
            ],
            env=self.env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                # Our own server on loopback, over http.
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):  # noqa: S310
                    return self
            except OSError:
                time.sleep(0.3)
        self.__exit__()
        raise RuntimeError(f"gunicorn did not start; see {self.log}")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
