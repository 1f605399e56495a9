"""A form sent twice does its work once.

A form that creates something (a message, a registration, time in the record) carries a
hidden, random submission id (``{% submission_field %}``). The view, decorated with
``submitted_once``, records the id in the same transaction as its own work. A second post with
the same id, whether after the first finished (a double click, a resent request) or at the same
time, does nothing and gets the first one's answer: the redirect to what was made. A post that
did not succeed (a form with errors) does not keep its id, so it can be corrected and sent again.

The unique index on the id decides between two posts at once: the second one's insert waits
for the first transaction and then fails, and the second post answers like a repeated one.
"""

import datetime
import uuid
from functools import wraps

from django.db import IntegrityError, transaction
from django.http import HttpResponseRedirect
from django.utils import timezone

from ikbt.core.models import FormSubmission

FIELD = "submission"
KEPT_FOR = datetime.timedelta(days=2)


def submitted_once(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            token = uuid.UUID(request.POST.get(FIELD, "")) if request.method == "POST" else None
        except ValueError:
            token = None
        if token is None or not request.user.is_authenticated:
            return view(request, *args, **kwargs)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    submission = FormSubmission.objects.create(token=token, user=request.user)
            except IntegrityError:
                earlier = FormSubmission.objects.filter(token=token, user=request.user).first()
                if earlier is None:  # someone else's id: not a repeat of this person's post
                    return view(request, *args, **kwargs)
                return HttpResponseRedirect(earlier.location)
            response = view(request, *args, **kwargs)
            if isinstance(response, HttpResponseRedirect):
                submission.location = response["Location"]
                submission.save(update_fields=["location"])
            else:
                submission.delete()
            return response

    return wrapper


def submissions_forget(now: datetime.datetime | None = None) -> int:
    """Forget submission ids older than two days; nobody double-clicks that slowly."""
    before = (now or timezone.now()) - KEPT_FOR
    deleted, _ = FormSubmission.objects.filter(created_at__lt=before).delete()
    return deleted
