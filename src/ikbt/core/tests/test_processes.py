"""Real processes on one PostgreSQL database, as a region runs them (docs/deploy.md): task
workers (``ikbt worker``) killed in the middle of a batch, and two app servers (gunicorn) with
two workers sharing sessions and the task queue.

Every process gets the test database through ``DATABASE_URL``, so the test writes with
``transaction=True``: the processes see only what is committed. They run in their own process
groups, their output goes to files under ``tmp_path`` (shown when a wait times out), and the
``processes`` fixture ends every one of them, whatever happens to the test.
"""

import datetime
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from ikbt import factories
from ikbt.accounts.actions import sign_in_code_device
from ikbt.accounts.models import PatientCodeDevice
from ikbt.core.models import WorkerHeartbeat
from ikbt.notifications.tasks import request_sign_in_code

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: worker and server processes open the test database, and "
        "SQLite's test database lives in this process's memory",
    ),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

BIN = Path(sys.executable).parent
SIGN_IN = reverse("accounts:patient_sign_in")
CODE = reverse("accounts:patient_code")
HOME = reverse("patients:patient_home")
SIGN_OUT = reverse("accounts:sign_out")
SUCCESSFUL, RUNNING, READY = (
    TaskResultStatus.SUCCESSFUL,
    TaskResultStatus.RUNNING,
    TaskResultStatus.READY,
)
HEARTBEAT_SECONDS = 1
GRACE_SECONDS = 3


def database_url() -> str:
    """The test database (``test_…``) as a URL for the processes."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    return (
        f"postgres://{quote(db['USER'], safe='')}{password}@{db['HOST'] or 'localhost'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Processes:
    """The processes of one test, started with the test database and a file outbox."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.outbox = folder / "outbox"
        self.started: dict[str, subprocess.Popen] = {}
        self.env = {
            "PATH": os.environ["PATH"],
            "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "ikbt.settings",
            # Plain HTTP on 127.0.0.1: production settings would redirect to HTTPS and send
            # the session cookie only over HTTPS.
            "DEBUG": "true",
            # The same key on every server, as docs/deploy.md asks: it signs sessions.
            "SECRET_KEY": "processes-test-secret-key-shared-by-every-server-0123456789",
            "DATABASE_URL": database_url(),
            "TASKS_BACKEND": "database",
            "SMS_BACKEND": "file",
            "EMAIL_BACKEND": "file",
            "OUTBOX_DIR": str(self.outbox),
            "IKBT_DATA_DIR": str(folder),
            "TASK_WORKER_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
            "TASK_WORKER_GRACE_SECONDS": str(GRACE_SECONDS),
        }

    def start(self, name: str, *argv: str) -> subprocess.Popen:
        with (self.folder / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(  # noqa: S603 (our own commands from this virtualenv)
                argv,
                env=self.env,
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started[name] = process
        return process

    def worker(self, worker_id: str) -> subprocess.Popen:
        return self.start(
            worker_id,
            str(BIN / "ikbt"),
            "worker",
            "--no-reload",
            "--no-startup-delay",
            "--interval=0.1",
            f"--worker-id={worker_id}",
        )

    def server(self, name: str) -> str:
        port = free_port()
        self.start(
            name,
            str(BIN / "gunicorn"),
            "ikbt.wsgi:application",
            f"--bind=127.0.0.1:{port}",
            "--workers=2",
        )
        return f"http://127.0.0.1:{port}"

    def kill(self, name: str) -> None:
        """SIGKILL: no clean-up, no last heartbeat, as when a machine loses power."""
        process = self.started[name]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop(self, name: str) -> int:
        """SIGTERM, the way to stop a worker: it finishes its task and leaves."""
        process = self.started[name]
        process.send_signal(signal.SIGTERM)
        return process.wait(timeout=10)

    def end_all(self) -> None:
        running = [process for process in self.started.values() if process.poll() is None]
        for process in running:
            os.killpg(process.pid, signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.folder.glob("*.log"))
        )

    def wait_until(self, condition: Callable[[], bool], what: str, seconds: float = 45) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"Waited {seconds} s for {what}.\n{self.logs()}")
            time.sleep(0.05)

    def texts_by_recipient(self) -> dict[str, list[str]]:
        """The text messages in the file outbox, by recipient."""
        sent = defaultdict(list)
        for path in sorted((self.outbox / "sms").glob("*.txt")):
            header, _, body = path.read_text(encoding="utf-8").partition("\n\n")
            recipient = re.search(r"^To: (.+)$", header, re.MULTILINE).group(1)
            sent[recipient].append(body.strip())
        return dict(sent)


@pytest.fixture
def processes(tmp_path, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    started = Processes(tmp_path)
    yield started
    started.end_all()


def answered(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=5).status_code == 200
    except requests.RequestException:  # not listening yet, or still loading the app
        return False


def tasks_in_order() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.order_by("enqueued_at"))


def all_done(count: int) -> Callable[[], bool]:
    return lambda: DBTaskResult.objects.filter(status=SUCCESSFUL).count() == count


# --- A worker killed in the middle of a batch -----------------------------------------------


def test_a_worker_killed_mid_batch_leaves_every_task_done_exactly_once(processes, client):
    patients = [factories.PatientFactory(mobile=f"+467010{n:05d}") for n in range(8)]
    for patient in patients:  # each asks for a sign-in code: one task each
        assert client.post(SIGN_IN, {"personal_number": patient.personal_number}).url == CODE
    tasks = tasks_in_order()
    devices = [PatientCodeDevice.objects.get(user=patient.user) for patient in patients]
    assert [task.args_kwargs["args"] for task in tasks] == [[device.pk] for device in devices]

    # A worker that died an hour ago (no clean-up) left the first task running.
    an_hour_ago = timezone.now() - datetime.timedelta(hours=1)
    WorkerHeartbeat.objects.create(
        worker_id="lost-in-a-power-cut", started_at=an_hour_ago, beat_at=an_hour_ago
    )
    tasks[0].claim("lost-in-a-power-cut")
    DBTaskResult.objects.filter(pk=tasks[0].pk).update(started_at=an_hour_ago)

    # The fifth patient's code is locked here, so the first worker is caught inside that task.
    with transaction.atomic():
        PatientCodeDevice.objects.select_for_update().get(pk=devices[4].pk)
        processes.worker("first")
        processes.wait_until(
            lambda: DBTaskResult.objects.get(pk=tasks[4].pk).status == RUNNING,
            "the first worker to reach the fifth task",
        )
        assert [task.status for task in tasks_in_order()] == [SUCCESSFUL] * 4 + [RUNNING] + [
            READY
        ] * 3
        processes.kill("first")

    processes.worker("second")
    processes.wait_until(all_done(8), "the second worker to finish the batch")

    assert [(task.status, task.worker_ids, task.return_value) for task in tasks_in_order()] == [
        (SUCCESSFUL, ["lost-in-a-power-cut", "first"], True),
        (SUCCESSFUL, ["first"], True),
        (SUCCESSFUL, ["first"], True),
        (SUCCESSFUL, ["first"], True),
        (SUCCESSFUL, ["first", "second"], True),  # killed inside it, run again after the grace
        (SUCCESSFUL, ["second"], True),
        (SUCCESSFUL, ["second"], True),
        (SUCCESSFUL, ["second"], True),
    ]
    texts = processes.texts_by_recipient()
    assert {to: len(bodies) for to, bodies in texts.items()} == {p.mobile: 1 for p in patients}
    for patient, device in zip(patients, devices, strict=True):
        device.refresh_from_db()
        assert device.token in texts[patient.mobile][0]
        assert device.sent_until == device.valid_until
    # Stopped in good order, the second worker leaves no heartbeat; it removed the dead ones'.
    assert processes.stop("second") == 0
    assert WorkerHeartbeat.objects.count() == 0


# --- Two app servers and two workers on one database ----------------------------------------


def sign_in_page(browser: requests.Session, server: str) -> str:
    """Open the sign-in page (for the CSRF cookie) and return the form's CSRF value."""
    assert browser.get(f"{server}{SIGN_IN}", timeout=10).status_code == 200
    return browser.cookies["csrftoken"]


def ask_for_codes(patients: list) -> None:
    """A new sign-in code for each patient, as the sign-in page makes one; the tasks that send
    them are queued when the transaction commits (``request_sign_in_code``)."""
    with transaction.atomic():
        for patient in patients:
            device = sign_in_code_device(patient.user)
            device.generate_token(
                length=PatientCodeDevice.CODE_LENGTH, valid_secs=PatientCodeDevice.VALID_SECONDS
            )
            request_sign_in_code(device)


def test_two_servers_share_sessions_and_two_workers_run_each_task_once(processes, patient):
    one, two = processes.server("server-one"), processes.server("server-two")
    processes.worker("worker-a")
    processes.worker("worker-b")
    others = [factories.PatientFactory(mobile=f"+467020{n:05d}") for n in range(200)]
    processes.wait_until(lambda: answered(one) and answered(two), "both servers to answer")

    # Petra asks for a code on server one; a worker sends it; she enters it on server one.
    browser = requests.Session()
    csrf = sign_in_page(browser, one)
    answer = browser.post(
        f"{one}{SIGN_IN}",
        data={"csrfmiddlewaretoken": csrf, "personal_number": patient.personal_number},
        allow_redirects=False,
        timeout=10,
    )
    assert (answer.status_code, answer.headers["Location"]) == (302, CODE)
    processes.wait_until(all_done(1), "a worker to send Petra's code")
    (text,) = processes.texts_by_recipient()[patient.mobile]
    code = re.search(r"\b(\d{6})\b", text).group(1)
    answer = browser.post(
        f"{one}{CODE}",
        data={"csrfmiddlewaretoken": browser.cookies["csrftoken"], "code": code},
        allow_redirects=False,
        timeout=10,
    )
    assert (answer.status_code, answer.headers["Location"]) == (302, HOME)
    session_id = browser.cookies["sessionid"]

    # Server two knows the session: her own page, not the way to sign in.
    page = browser.get(f"{two}{HOME}", allow_redirects=False, timeout=10)
    assert page.status_code == 200
    assert "<h1>Välkommen, Petra</h1>" in page.text

    # She signs out on server two; server one no longer takes the session either.
    answer = browser.post(
        f"{two}{SIGN_OUT}",
        data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        allow_redirects=False,
        timeout=10,
    )
    assert (answer.status_code, answer.headers["Location"]) == (302, "/")
    stale = requests.get(
        f"{one}{HOME}", cookies={"sessionid": session_id}, allow_redirects=False, timeout=10
    )
    assert (stale.status_code, stale.headers["Location"]) == (302, f"{SIGN_IN}?next={HOME}")

    # 200 more patients get codes at once, sent while both workers poll.
    ask_for_codes(others)
    processes.wait_until(all_done(201), "the workers to run all 201 tasks")

    tasks = tasks_in_order()
    assert [(task.status, len(task.worker_ids)) for task in tasks] == [(SUCCESSFUL, 1)] * 201
    per_worker = Counter(task.worker_ids[0] for task in tasks)
    assert set(per_worker) == {"worker-a", "worker-b"}, per_worker
    texts = processes.texts_by_recipient()
    assert {to: len(bodies) for to, bodies in texts.items()} == {
        person.mobile: 1 for person in [patient, *others]
    }
