from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "ikbt.reporting"
    verbose_name = _("Quality register and statistics")
