from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WorkerHeartbeat(models.Model):
    """A task worker's last sign of life (``ikbt worker``).

    The worker writes it before it claims its first task and then every
    ``TASK_WORKER_HEARTBEAT_SECONDS`` from a thread of its own, so a long task does not look like
    a dead worker. Times come from the database's clock, so servers with skewed clocks agree.
    A running task whose worker has been silent for ``TASK_WORKER_GRACE_SECONDS`` is queued
    again (``ikbt.core.actions.abandoned_tasks_requeue``).
    """

    worker_id = models.CharField(_("worker id"), max_length=64, primary_key=True)
    host = models.CharField(_("host"), max_length=255, blank=True)
    pid = models.PositiveIntegerField(_("process id"), null=True, blank=True)
    started_at = models.DateTimeField(_("started"))
    beat_at = models.DateTimeField(_("last heartbeat"), db_index=True)

    class Meta:
        verbose_name = _("task worker heartbeat")
        verbose_name_plural = _("task worker heartbeats")

    def __str__(self) -> str:
        return self.worker_id


class FormSubmission(models.Model):
    """One sending of a form that creates something, by its hidden random id, and where its
    success answer led (``ikbt.core.submissions``). Kept two days."""

    token = models.UUIDField(_("submission id"), primary_key=True)
    user = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    location = models.CharField(_("answered with"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("sent"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("form submission")
        verbose_name_plural = _("form submissions")

    def __str__(self) -> str:
        return str(self.token)
