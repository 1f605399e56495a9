from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from ikbt.core import views as core_views

# The admin (regions, units, staff roles) needs the second factor like every staff page.
admin.site.__class__ = OTPAdminSite

# Error pages in the user's language; a database that cannot be reached answers 503 with a
# retry message (see the views).
handler400 = "ikbt.core.views.bad_request"
handler403 = "ikbt.core.views.permission_denied"
handler404 = "ikbt.core.views.page_not_found"
handler500 = "ikbt.core.views.server_error"

urlpatterns = [
    path("", include("ikbt.core.urls")),
    path("konto/", include("ikbt.accounts.urls")),
    path("patienter/", include("ikbt.patients.urls")),
    path("loggar/", include("ikbt.audit.urls")),
    path("skattningar/", include("ikbt.measurement.urls")),
    path("program/", include("ikbt.programs.urls")),
    path("intag/", include("ikbt.intake.urls")),
    path("meddelanden/", include("ikbt.messaging.urls")),
    path("behandling/", include("ikbt.treatment.urls")),
    path("statistik/", include("ikbt.reporting.urls")),
    path("forskning/", include("ikbt.research.urls")),
    path("enheter/", include("ikbt.organisations.urls")),
    path("i18n/setlang/", core_views.set_language, name="set_language"),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("admin/", admin.site.urls),
]
