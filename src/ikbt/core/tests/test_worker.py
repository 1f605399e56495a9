"""Heartbeats and abandoned tasks, in this process (SQLite and PostgreSQL). The same with real
worker processes killed mid-batch is in ``test_processes.py`` (PostgreSQL)."""

import contextlib
import datetime
import signal

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from ikbt import factories
from ikbt.accounts.actions import sign_in_code_device
from ikbt.accounts.models import PatientCodeDevice
from ikbt.core.actions import abandoned_tasks_requeue, worker_beat, worker_start
from ikbt.core.models import WorkerHeartbeat
from ikbt.notifications import sms
from ikbt.notifications.tasks import send_sign_in_code

LONG_AGO = timezone.now() - datetime.timedelta(hours=1)


@pytest.fixture(autouse=True)
def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.TASK_WORKER_GRACE_SECONDS = 30
    sms.outbox.clear()


def code_task(mobile: str) -> DBTaskResult:
    patient = factories.PatientFactory(mobile=mobile)
    device = sign_in_code_device(patient.user)
    device.generate_token(valid_secs=PatientCodeDevice.VALID_SECONDS)
    return send_sign_in_code.enqueue(device.pk).db_result


def claimed(task: DBTaskResult, worker_id: str, at: datetime.datetime) -> DBTaskResult:
    task.claim(worker_id)
    DBTaskResult.objects.filter(pk=task.pk).update(started_at=at)
    return task


def status(task: DBTaskResult) -> str:
    task.refresh_from_db()
    return task.status


def test_a_task_of_a_silent_worker_is_queued_again(db):
    WorkerHeartbeat.objects.create(worker_id="dead", started_at=LONG_AGO, beat_at=LONG_AGO)
    task = claimed(code_task("+46701000001"), "dead", LONG_AGO)

    assert abandoned_tasks_requeue("default") == [str(task.pk)]
    assert status(task) == TaskResultStatus.READY
    assert task.worker_ids == ["dead"]
    assert not WorkerHeartbeat.objects.filter(worker_id="dead").exists()


def test_a_task_of_a_beating_worker_is_left_running(db):
    worker_start("alive")
    worker_beat("alive")
    task = claimed(code_task("+46701000002"), "alive", LONG_AGO)  # a long task

    assert abandoned_tasks_requeue("default") == []
    assert status(task) == TaskResultStatus.RUNNING


def test_a_young_claim_of_a_worker_without_heartbeat_is_left_running(db):
    task = claimed(code_task("+46701000003"), "not-beating-yet", timezone.now())

    assert abandoned_tasks_requeue("default") == []
    assert status(task) == TaskResultStatus.RUNNING


def test_a_worker_restarting_under_its_id_takes_back_its_own_task(db):
    worker_start("fixed-id")
    task = claimed(code_task("+46701000004"), "fixed-id", timezone.now())

    assert abandoned_tasks_requeue("default", restarting_worker_id="fixed-id") == [str(task.pk)]
    assert status(task) == TaskResultStatus.READY


# The worker closes its database connection between tasks, as a request does: the test's own
# transaction must not be open around it.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_worker_runs_an_abandoned_task_once_and_leaves_no_heartbeat(settings):
    settings.TASK_WORKER_HEARTBEAT_SECONDS = 3600  # only the beats at start and stop
    WorkerHeartbeat.objects.create(worker_id="dead", started_at=LONG_AGO, beat_at=LONG_AGO)
    abandoned = claimed(code_task("+46701000005"), "dead", LONG_AGO)
    waiting = code_task("+46701000006")

    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        call_command("worker", "--batch", "--no-startup-delay", "--worker-id", "w1", verbosity=0)
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)

    abandoned.refresh_from_db()
    waiting.refresh_from_db()
    assert (abandoned.status, abandoned.worker_ids) == (
        TaskResultStatus.SUCCESSFUL,
        ["dead", "w1"],
    )
    assert (waiting.status, waiting.worker_ids) == (TaskResultStatus.SUCCESSFUL, ["w1"])
    assert sorted(message.to for message in sms.outbox) == ["+46701000005", "+46701000006"]
    assert WorkerHeartbeat.objects.count() == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_worker_outlasts_the_database_going_away(settings, monkeypatch, caplog):
    """A locked SQLite or a PostgreSQL restarting stopped the worker for good, and every
    notice after it waited for someone to start it again: now it waits and goes on."""
    from django.db.utils import OperationalError
    from django_tasks_db.management.commands import db_worker

    from ikbt.core.management.commands import worker

    settings.TASK_WORKER_HEARTBEAT_SECONDS = 3600
    monkeypatch.setattr(worker, "DATABASE_RETRY_SECONDS", 0)
    waiting = code_task("+46701000007")
    run = db_worker.Command.handle
    failures = iter([OperationalError("database is locked")])

    def handle_after_a_failure(self, *args, **options):
        for failure in failures:
            raise failure
        return run(self, *args, **options)

    monkeypatch.setattr(db_worker.Command, "handle", handle_after_a_failure)
    handlers = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        with caplog.at_level("WARNING", logger="ikbt.core.management.commands.worker"):
            call_command(
                "worker", "--batch", "--no-startup-delay", "--worker-id", "w2", verbosity=0
            )
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
    assert status(waiting) == TaskResultStatus.SUCCESSFUL
    assert "Worker w2 lost the database (OperationalError); trying again" in caplog.text


def test_the_worker_gives_up_on_a_database_that_stays_away(db, monkeypatch):
    """A fault that does not pass (an unmigrated database, a wrong password) ends the worker
    with the error after DATABASE_GIVE_UP_SECONDS, instead of a warning every two seconds."""
    from django.db.utils import OperationalError
    from django_tasks_db.management.commands import db_worker

    from ikbt.core.management.commands import worker

    clock = iter(range(0, 10_000, 2))
    monkeypatch.setattr(worker.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(worker.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(worker, "Heartbeat", lambda *args: contextlib.nullcontext())

    def no_such_table(self, *args, **options):
        raise OperationalError("no such table: django_tasks_database_dbtaskresult")

    monkeypatch.setattr(db_worker.Command, "handle", no_such_table)
    with pytest.raises(OperationalError, match="no such table"):
        call_command("worker", "--batch", "--no-startup-delay", "--worker-id", "w3", verbosity=0)


def test_a_worker_that_ran_a_while_before_failing_starts_its_patience_anew(db, monkeypatch):
    """Failures spread over days, each after a long run, are each the database away for a
    moment: the worker gives up only on five minutes of failing with no run between."""
    from django.db.utils import OperationalError
    from django_tasks_db.management.commands import db_worker

    from ikbt.core.management.commands import worker

    # Each call is read twice (its start, its failure): three long runs, then only failures.
    times = [0, 3600, 3600, 7200, 7200, 10800]
    times += list(range(10800, 20000, 2))
    clock = iter(times)
    monkeypatch.setattr(worker.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(worker.time, "sleep", lambda seconds: None)
    monkeypatch.setattr(worker, "Heartbeat", lambda *args: contextlib.nullcontext())
    calls = []

    def locked(self, *args, **options):
        calls.append(1)
        raise OperationalError("database is locked")

    monkeypatch.setattr(db_worker.Command, "handle", locked)
    with pytest.raises(OperationalError):
        call_command("worker", "--batch", "--no-startup-delay", "--worker-id", "w4", verbosity=0)
    # Three long runs, then a spell from 10800 of quick failures four seconds apart (each
    # call reads the clock twice): about 300 / 4 more.
    assert 3 + 70 < len(calls) < 3 + 80
