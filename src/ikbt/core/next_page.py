"""Where to go after a form: the address the page asked for, if it is one of this site's."""

from urllib.parse import urlsplit

from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme


def next_page(request: HttpRequest, default: str) -> str:
    """The ``next`` the request carries (POST, else GET) where it is an address of this site,
    else the URL named ``default``: never a way off the site (an open redirect)."""
    return _next_on_this_site(request) or reverse(default)


def sent_from(request: HttpRequest) -> str:
    """The path of the page a form was sent from: the ``next`` it carries (a worksheet is sent
    to an address of its own, with its module page as ``next``), else the address it was sent
    to (a page that handles its own forms)."""
    return urlsplit(_next_on_this_site(request)).path or request.path


def _next_on_this_site(request: HttpRequest) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return ""
