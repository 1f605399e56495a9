from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ikbt.patients.models import Patient


class Thread(models.Model):
    """A conversation between a patient and their care team about one subject."""

    patient = models.ForeignKey(
        Patient, on_delete=models.PROTECT, related_name="threads", verbose_name=_("patient")
    )
    subject = models.CharField(_("subject"), max_length=200)
    created_at = models.DateTimeField(_("started"), default=timezone.now)
    last_message_at = models.DateTimeField(_("last message"), default=timezone.now)

    class Meta:
        ordering = ["-last_message_at"]
        verbose_name = _("message thread")
        verbose_name_plural = _("message threads")

    def __str__(self) -> str:
        return self.subject


class MessageQuerySet(models.QuerySet):
    def unread_by_patient(self, patient) -> "MessageQuerySet":
        """What the care team wrote to ``patient`` that she has not opened (replies held for
        a supervisor have not reached her)."""
        return self.filter(
            thread__patient=patient, read_at__isnull=True, held_for_review=False
        ).exclude(sender__kind="patient")


class Message(models.Model):
    thread = models.ForeignKey(
        Thread, on_delete=models.CASCADE, related_name="messages", verbose_name=_("thread")
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("sender"),
    )
    body = models.TextField(_("message"))
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated as overdue"), null=True, blank=True)
    # A patient's message waits for an answer until a reply reaches her in the thread, or a
    # staff member says it needs none: being read is not being answered.
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    held_for_review = models.BooleanField(
        _("waiting for the supervisor"),
        default=False,
        help_text=_("Not shown to the patient until the supervisor has read and released it."),
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("released by"),
    )
    # A held reply the supervisor sent back to its writer, with what to change: still held,
    # and never shown to the patient; the writer changes it and it waits again. Each change
    # counts a revision, so that what is sent on or sent back is the text that was read.
    review_comment = models.TextField(_("the supervisor's comment"), blank=True)
    returned_at = models.DateTimeField(_("sent back to the writer"), null=True, blank=True)
    revised_at = models.DateTimeField(_("changed by the writer"), null=True, blank=True)
    revision = models.PositiveIntegerField(_("revision"), default=1)
    # Where a staff member wrote it from (the unit of her care relationship): whose
    # supervisor reads it first, and whose administrator may send it meanwhile.
    unit = models.ForeignKey(
        "organisations.CareUnit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("written at"),
    )

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["sent_at", "pk"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [models.Index(fields=["thread", "sent_at"])]

    def __str__(self) -> str:
        return f"{self.sender} {self.sent_at:%Y-%m-%d %H:%M}"

    @property
    def from_patient(self) -> bool:
        return self.sender.is_patient
