"""Who may open a view: ``@staff_required`` (password and second factor) or ``@patient_required``.

Staff pages with patient data are never shown before the second factor is verified.
"""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse


def staff_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("accounts:staff_login"))
        if not user.is_staff_member:
            raise Http404
        if not user.is_verified():
            return redirect_to_login(request.get_full_path(), reverse("accounts:two_factor"))
        return view(request, *args, **kwargs)

    return wrapper


def patient_required(view: Callable) -> Callable:
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("accounts:patient_sign_in"))
        if not user.is_patient:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper
