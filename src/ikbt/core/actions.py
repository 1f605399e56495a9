"""Task workers' heartbeats, and taking back the tasks of workers that died.

django-tasks-db marks a task RUNNING when a worker claims it and SUCCESSFUL or FAILED when the
worker is done. A worker killed in between (SIGKILL, out of memory, a machine losing power)
leaves the task RUNNING for ever. ``ikbt worker`` therefore beats (``worker_beat``) and, after
every beat, queues again the tasks of workers that have stopped beating
(``abandoned_tasks_requeue``). Our tasks take ids, fetch fresh and mark what they did under a
row lock, so running a task again after its worker died does nothing twice in the database.
"""

import datetime
import logging
import os
import socket

from django.conf import settings
from django.db import transaction
from django.db.models.functions import Now
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from ikbt.core.models import WorkerHeartbeat

logger = logging.getLogger(__name__)


def grace_period() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.TASK_WORKER_GRACE_SECONDS)


def worker_start(worker_id: str) -> None:
    """Record a worker starting: a fresh heartbeat row, written before it claims anything."""
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "host": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": Now(),
            "beat_at": Now(),
        },
    )


def worker_beat(worker_id: str) -> None:
    """Record that the worker is alive now (the database's clock). A row removed because the
    worker was silent too long is written again."""
    if not WorkerHeartbeat.objects.filter(worker_id=worker_id).update(beat_at=Now()):
        worker_start(worker_id)


def worker_stop(worker_id: str) -> None:
    """A worker leaving in good order: it finished its task, so nothing of it is abandoned."""
    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


def abandoned_tasks_requeue(
    backend_name: str, restarting_worker_id: str | None = None
) -> list[str]:
    """Queue again (status READY) every running task of ``backend_name`` whose worker is gone;
    return their ids.

    A task is abandoned when the worker that claimed it last (the last of its ``worker_ids``)
    has not beaten for ``TASK_WORKER_GRACE_SECONDS`` and the claim is older than that (a worker
    beats before it claims, so a younger claim has a live worker), or when that worker is
    ``restarting_worker_id``: a worker starting under the id of an earlier process has nothing
    running yet. The tasks are locked (``FOR UPDATE SKIP LOCKED``; SQLite lets one writer in at
    a time), so two workers never take back the same task and a task whose worker is saving
    its result right now is left alone. Heartbeats of dead workers are removed.
    """
    cutoff = Now() - grace_period()
    claimed_before = timezone.now() - grace_period()
    requeued = []
    with transaction.atomic():
        alive = set(
            WorkerHeartbeat.objects.filter(beat_at__gte=cutoff).values_list("worker_id", flat=True)
        )
        alive.discard(restarting_worker_id)
        running = (
            DBTaskResult.objects.running()
            .filter(backend_name=backend_name)
            .select_for_update(skip_locked=True)
            .only("id", "status", "worker_ids", "started_at")
        )
        for task in running:
            worker_id = task.worker_ids[-1] if task.worker_ids else ""
            young_claim = task.started_at > claimed_before
            if worker_id in alive or (young_claim and worker_id != restarting_worker_id):
                continue
            task.status = TaskResultStatus.READY
            task.save(update_fields=["status"])
            requeued.append(str(task.id))
            logger.warning("Task %s was abandoned by worker %s: queued again.", task.id, worker_id)
        WorkerHeartbeat.objects.filter(beat_at__lt=cutoff).delete()
    return requeued
