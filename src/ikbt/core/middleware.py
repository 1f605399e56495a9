"""Requests refused before any view runs."""

from collections.abc import Callable

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse


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
