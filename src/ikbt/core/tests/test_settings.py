"""The settings module as a server would start it: in a fresh process, from the environment."""

import os
import subprocess
import sys

BASE_ENV = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "ikbt.settings"}


def run_check(tmp_path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ikbt.manage", "check", "--deploy", "--fail-level", "WARNING"],
        env={**BASE_ENV, "IKBT_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_production_settings_pass_the_deploy_check(tmp_path):
    result = run_check(
        tmp_path,
        DEBUG="false",
        SECRET_KEY="a-long-random-production-secret-" + "x7Kq9" * 8,
        ALLOWED_HOSTS="ikbt.example.se",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_secret_key_is_required_without_debug(tmp_path):
    result = run_check(tmp_path, DEBUG="false", ALLOWED_HOSTS="ikbt.example.se")
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_misspelt_debug_stops_the_server(tmp_path):
    result = run_check(tmp_path, DEBUG="ture")
    assert result.returncode != 0
    assert "DEBUG='ture' is not a boolean" in result.stderr


def test_a_grace_period_of_fewer_than_three_heartbeats_stops_the_server(tmp_path):
    # A worker missing one beat (a slow database) would otherwise have its task run twice.
    result = run_check(
        tmp_path, DEBUG="true", TASK_WORKER_HEARTBEAT_SECONDS="10", TASK_WORKER_GRACE_SECONDS="20"
    )
    assert result.returncode != 0
    assert (
        "TASK_WORKER_GRACE_SECONDS must be at least three times TASK_WORKER_HEARTBEAT_SECONDS"
        in result.stderr
    )
