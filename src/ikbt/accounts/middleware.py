"""Idle and absolute session time-outs.

A session ends after ``SESSION_IDLE_TIMEOUT`` without a request (30 minutes) and at the latest
``SESSION_ABSOLUTE_TIMEOUT`` after sign-in (12 hours), whatever the activity. The sign-in time
is written by ``ikbt.accounts.actions.start_session``
(or, for a session that began elsewhere, at its first request).
"""

from collections.abc import Callable
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from ikbt.core.next_page import sent_from

SIGNED_IN_AT = "ikbt_signed_in_at"
LAST_SEEN_AT = "ikbt_last_seen_at"
LAST_SEEN_PRECISION_SECONDS = 60
# A message or a note sent after the time-out is not sent; it is kept in the session (on
# the server) for the same person, and put back in its box when she signs in again.
UNSENT = "ikbt_unsent"
UNSENT_FIELDS = ("body", "subject", "note", "homework_report")
# On a page of several forms (the treatment record), the text in the other forms' boxes goes
# along with the form that is sent, as "unsent:<the box's id>" (unsent.js), and is put back:
# from the POST where the page comes back refused, from the session where the form's answer
# is a redirect to the same page (SessionTimeoutMiddleware keeps it there).
UNSENT_ON_PAGE = "unsent:"
# The sent form's own boxes, by id: kept only when the session has timed out.
SENT = "sent:"
# Who the session timed out for (in the session that follows): their forms sent after that.
SIGNED_OUT = "ikbt_signed_out"
# The language chosen on this browser before signing in, to become the user's at sign-in.
LANGUAGE_CHOSEN = "ikbt_language_chosen"


class Unsent(dict):
    """What was typed in a page's boxes, by the box's id or name; ``after_time_out``: kept
    because the session had timed out (the page says so), not over a form's redirect."""

    after_time_out = False


def unsent_on_page(request: HttpRequest) -> Unsent:
    """What ``request.user`` had typed in this page's boxes, by the box's id or name: sent
    along with another of the page's forms (now shown again), or kept over a redirect or a
    time-out. Kept text is given once."""
    if request.method == "POST":
        return Unsent(_unsent_sent_along(request))
    kept = request.session.get(UNSENT)
    if not kept or kept["user"] != request.user.pk or kept["path"] != request.path:
        return Unsent()
    del request.session[UNSENT]
    unsent = Unsent(kept["fields"])
    unsent.after_time_out = kept.get("after_time_out", False)
    return unsent


def put_back_unsent(unsent: dict[str, str], *forms) -> None:
    """The boxes of the forms not sent start with what was kept of them (by the box's id)."""
    for form in forms:
        if form.is_bound:
            continue
        for field in form:
            if field.auto_id in unsent:
                form.initial[field.name] = unsent[field.auto_id]


def _unsent_sent_along(request: HttpRequest, prefix: str = UNSENT_ON_PAGE) -> dict[str, str]:
    return {
        name.removeprefix(prefix): text
        for name, text in request.POST.items()
        if name.startswith(prefix) and text.strip()
    }


def _forged(request: HttpRequest) -> bool:
    """Whether a POST lacks this browser's CSRF token, as the view would find: its text is
    kept for no one (this middleware answers before the view's check runs)."""
    return CsrfViewMiddleware(lambda request: None).process_view(request, None, (), {}) is not None


class SessionTimeoutMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            expired = self._expired(request)
            if expired:
                unsent = {
                    name: request.POST[name]
                    for name in UNSENT_FIELDS
                    if request.method == "POST" and request.POST.get(name, "").strip()
                }
                if request.method == "POST":
                    unsent |= _unsent_sent_along(request) | _unsent_sent_along(request, SENT)
                if unsent and _forged(request):
                    unsent = {}  # kept for no one: not sent from this site's page
                user_id, is_patient = request.user.pk, request.user.is_patient
                page = sent_from(request)
                logout(request)
                # Who was signed out here: a form of theirs sent after this is kept for them.
                request.session[SIGNED_OUT] = {
                    "user": user_id,
                    "is_patient": is_patient,
                    "at": timezone.now().timestamp(),
                }
                if unsent:
                    return self._keep_until_signed_in(request, page, unsent, expired)
                messages.info(request, expired)
                return redirect("core:home")
            now = timezone.now().timestamp()
            # Written at most once a minute, so a page view does not always save the session.
            if now - request.session.get(LAST_SEEN_AT, 0) >= LAST_SEEN_PRECISION_SECONDS:
                request.session[LAST_SEEN_AT] = now
        elif request.method == "POST" and self._just_signed_out(request):
            # A form of a page open when the session timed out, sent after another request
            # (an autosave) met the time-out: what unsent.js carried is kept the same way.
            unsent = _unsent_sent_along(request) | _unsent_sent_along(request, SENT)
            if unsent and not _forged(request):
                return self._keep_until_signed_in(request, sent_from(request), unsent)
        response = self.get_response(request)
        if request.method == "POST" and request.user.is_authenticated:
            self._keep_unsent_over_redirect(request, response)
        return response

    @staticmethod
    def _just_signed_out(request: HttpRequest) -> bool:
        """Whether the session timed out on this browser less than an idle time-out ago: a
        form sent later is from a page left open long after, and no one's to keep."""
        signed_out = request.session.get(SIGNED_OUT)
        return signed_out is not None and (
            timezone.now().timestamp() - signed_out.get("at", 0)
            < settings.SESSION_IDLE_TIMEOUT.total_seconds()
        )

    @staticmethod
    def _keep_until_signed_in(
        request: HttpRequest, page: str, unsent: dict[str, str], expired: str = ""
    ) -> HttpResponse:
        """What was typed waits in the session (on the server) for the person signed out, to
        be put back on ``page``, where signing in again leads."""
        signed_out = request.session[SIGNED_OUT]
        kept = request.session.get(UNSENT)
        if kept and (kept["user"], kept["path"]) == (signed_out["user"], page):
            unsent = {**kept["fields"], **unsent}  # a second form of the page: both kept
        request.session[UNSENT] = {
            "user": signed_out["user"],
            "path": page,
            "fields": unsent,
            "after_time_out": True,
        }
        kept = _("What you were writing was not sent: sign in again, and it is back in its box.")
        messages.info(request, f"{expired} {kept}" if expired else kept)
        sign_in = (
            "accounts:patient_sign_in" if signed_out["is_patient"] else "accounts:staff_login"
        )
        return redirect(f"{reverse(sign_in)}?next={quote(page)}")

    @staticmethod
    def _keep_unsent_over_redirect(request: HttpRequest, response: HttpResponse) -> None:
        """A form answered by a redirect to the page it was sent from: the text of the page's
        other boxes, sent along with it, waits there for the same person."""
        if response.status_code not in (301, 302, 303):
            return
        page = sent_from(request)
        if urlsplit(response["Location"]).path != page:
            return
        fields = _unsent_sent_along(request)
        if fields:
            request.session[UNSENT] = {"user": request.user.pk, "path": page, "fields": fields}

    def _expired(self, request: HttpRequest) -> str:
        now = timezone.now().timestamp()
        signed_in_at = request.session.setdefault(SIGNED_IN_AT, now)
        last_seen_at = request.session.get(LAST_SEEN_AT, now)
        absolute = settings.SESSION_ABSOLUTE_TIMEOUT.total_seconds()
        idle = settings.SESSION_IDLE_TIMEOUT.total_seconds()
        if now - signed_in_at > absolute:
            return _("You were signed out because you had been signed in for %(hours)d hours.") % {
                "hours": absolute // 3600
            }
        if now - last_seen_at > idle:
            return _("You were signed out after %(minutes)d minutes without activity.") % {
                "minutes": idle // 60
            }
        return ""
