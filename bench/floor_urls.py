"""The floor: a bare Django view that runs one query and renders one template, served by the
same processes, settings and middleware as the application's pages. Our pages' throughput is
reported as a share of this one's."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from ikbt.organisations.models import CareUnit
from ikbt.urls import handler400, handler403, handler404, handler500  # noqa: F401  (the same error pages)
from ikbt.urls import urlpatterns as application


def floor(request: HttpRequest) -> HttpResponse:
    return render(request, "floor.html", {"unit": CareUnit.objects.order_by("pk").first()})


urlpatterns = [path("bench/floor/", floor), *application]
