"""Housekeeping run with the reminders (``ikbt reminders``)."""

from django_tasks import task

from ikbt.core.submissions import submissions_forget


@task()
def forget_form_submissions() -> int:
    """Forget the ids of forms sent more than two days ago."""
    return submissions_forget()
