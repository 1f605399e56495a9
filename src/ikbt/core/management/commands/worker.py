"""``ikbt worker``: django-tasks-db's worker, with a heartbeat and recovery of abandoned tasks.

It takes every option of ``db_worker`` (``--queue-name``, ``--interval``, ``--batch``,
``--worker-id``, ...) and runs its worker unchanged. Beside it, a thread writes the worker's
heartbeat every ``TASK_WORKER_HEARTBEAT_SECONDS`` and then queues again the tasks left running
by workers silent for ``TASK_WORKER_GRACE_SECONDS`` (``ikbt.core.actions``). The heartbeat has
a thread of its own so that a task taking longer than the grace period is not taken for
abandoned. Stop a worker with SIGTERM: it finishes its task and removes its heartbeat.
"""

import logging
import os
import threading
import time
from types import TracebackType

from django.conf import settings
from django.db import close_old_connections, connections
from django.db.utils import OperationalError
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from ikbt.core.actions import abandoned_tasks_requeue, worker_beat, worker_start, worker_stop

logger = logging.getLogger(__name__)

DATABASE_RETRY_SECONDS = 2
# Failures for this long with no run between them are not the database away for a moment;
# a worker that ran this long before failing had the database meanwhile.
DATABASE_GIVE_UP_SECONDS = 300
DATABASE_RAN_SECONDS = 60


class Heartbeat:
    """While open: the worker's heartbeat, and abandoned tasks queued again after each beat."""

    def __init__(self, worker_id: str, backend_name: str) -> None:
        self.worker_id = worker_id
        self.backend_name = backend_name
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="heartbeat", daemon=True)

    def __enter__(self) -> "Heartbeat":
        # An earlier process under the same id may have died with a task: take it back first.
        abandoned_tasks_requeue(self.backend_name, restarting_worker_id=self.worker_id)
        worker_start(self.worker_id)
        self.thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stopped.set()
        self.thread.join(timeout=settings.TASK_WORKER_HEARTBEAT_SECONDS)
        worker_stop(self.worker_id)

    def _beat(self) -> None:
        try:
            while not self.stopped.wait(settings.TASK_WORKER_HEARTBEAT_SECONDS):
                self._beat_once()
        finally:
            connections.close_all()

    def _beat_once(self) -> None:
        # A failed beat must not end the thread: the worker would go on claiming tasks
        # without a heartbeat, and other workers would take them back while they run.
        try:
            close_old_connections()
            worker_beat(self.worker_id)
            abandoned_tasks_requeue(self.backend_name)
        except Exception:
            logger.exception("Heartbeat of worker %s failed; trying again.", self.worker_id)


class Command(db_worker.Command):
    help = (
        "Run background tasks (django-tasks-db's worker) with a heartbeat; queue again the "
        "tasks of workers that died."
    )

    def handle(self, *args, **options) -> None:
        reloading = options["reload"] and not options["batch"]
        if reloading and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            # This process only watches the code and restarts the child that does the work.
            return super().handle(*args, **options)
        with Heartbeat(options["worker_id"], options["backend_name"]):
            failing_since = None
            while True:
                started = time.monotonic()
                try:
                    super().handle(*args, **options)
                    return None
                except OperationalError as error:
                    now = time.monotonic()
                    if failing_since is None or now - started > DATABASE_RAN_SECONDS:
                        failing_since = now  # the first failure, or it ran a while before it
                    # Not a moment but a fault (no table, a wrong password): give up, loudly.
                    if now - failing_since > DATABASE_GIVE_UP_SECONDS:
                        raise
                    # The database away for a moment (PostgreSQL restarting, SQLite locked by
                    # another writer): the worker waits and goes on, as the web servers do,
                    # instead of leaving every notice unsent until someone restarts it.
                    logger.warning(
                        "Worker %s lost the database (%s); trying again in %s s.",
                        options["worker_id"],
                        type(error).__name__,
                        DATABASE_RETRY_SECONDS,
                    )
                    close_old_connections()
                    time.sleep(DATABASE_RETRY_SECONDS)
