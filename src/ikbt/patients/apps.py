from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatientsConfig(AppConfig):
    name = "ikbt.patients"
    verbose_name = _("Patients")
