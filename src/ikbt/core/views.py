import sys

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.cache import never_cache

from ikbt.accounts.actions import language_choose
from ikbt.organisations.models import Region

# Seconds a browser or client is asked to wait before trying again when the database is away.
RETRY_AFTER_SECONDS = 10


def home(request: HttpRequest) -> HttpResponse:
    """The front door: staff go to their start page, patients to theirs."""
    user = request.user
    if user.is_authenticated and user.is_staff_member:
        return redirect("patients:staff_home")
    if user.is_authenticated and user.is_patient:
        return redirect("patients:patient_home")
    return render(
        request,
        "core/home.html",
        {
            "oidc_enabled": settings.PATIENT_OIDC_ENABLED,
            # Where someone seeking help registers: each region whose units take registrations.
            "regions": Region.objects.filter(units__offerings__is_open=True)
            .distinct()
            .order_by("name"),
        },
    )


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database answers, 503 when it does not (for load balancers)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")


def _error_page(title: str, text: str, status: int) -> HttpResponse:
    """An error page in the page's language, rendered without asking the database."""
    page = render_to_string("core/error.html", {"title": title, "text": text})
    return HttpResponse(page, status=status)


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    return _error_page(
        _("The address could not be read"),
        _("It holds characters the service does not accept. Go back and try again."),
        400,
    )


def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    return _error_page(
        _("Not allowed"), _("You cannot do this here. Go back, or go to the start page."), 403
    )


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    """The same page whether nothing is there or it is not yours to see (the access rules
    answer both alike)."""
    return _error_page(
        _("Page not found"),
        _(
            "There is no page at this address that you can open. Check the address, or go to "
            "the start page."
        ),
        404,
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent from a page that was open too long, or after signing out."""
    return _error_page(
        _("The form had expired"),
        _(
            "Nothing was saved. Go back: what you wrote is still in the form. Copy it, reload "
            "the page, and send it again."
        ),
        403,
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page, or a 503 asking to try again when the database could not be reached
    (a restart or a failover under way): nothing was saved, and the same request will work
    in a moment. Rendered without the request's context, which would ask the database."""
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        title = _("The service is restarting")
        text = _(
            "Nothing was saved. Please try again in a minute. If you were writing, go back: "
            "what you wrote is still in the form."
        )
        status = 503
    else:
        title = _("Something went wrong")
        text = _("The error has been logged. Please try again later.")
        status = 500
    response = _error_page(title, text, status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch, and the user's preferred language too: the texts and e-mails
    sent to them (a reminder, a notice) come in the language they chose."""
    response = i18n.set_language(request)
    if request.method == "POST":
        language_choose(request, request.POST.get("language", ""))
    return response
