from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def load_shipped_instruments(sender, using: str, **kwargs) -> None:
    """After ``migrate``, store shipped definitions not yet loaded (as Django does for
    content types): a new version of a file reaches the database with the next deploy."""
    from ikbt.measurement.actions import instruments_load

    if using == "default":
        instruments_load()


class MeasurementConfig(AppConfig):
    name = "ikbt.measurement"
    verbose_name = _("Measurement")

    def ready(self) -> None:
        post_migrate.connect(load_shipped_instruments, sender=self)
