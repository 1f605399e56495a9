"""Requests refused before any view runs, and what every signed-in answer carries."""

from collections.abc import Callable

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers


class RefuseNullCharactersMiddleware:
    """A null character has no place in an address or its query: no keyboard types one, and
    PostgreSQL cannot compare text with one (the view's query would fail with a server error).
    Such a request answers 400 with the error page; forms already refuse them field by field.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.GET.lists()
        if "\x00" in request.path or any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in query
        ):
            raise SuspiciousOperation("A null character in the address.")
        return self.get_response(request)


class SignedInPagesNotStoredMiddleware:
    """What a signed-in person is shown (her treatment, her messages, a patient's record) is
    not kept by the browser or anything between: on a shared computer, "Back" after signing
    out must not bring it back. Answers that say how they may be cached keep that."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.user.is_authenticated and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response
