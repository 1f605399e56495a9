"""``ikbt demo_totp USERNAME``: print the current TOTP code of a demo user (DEBUG only)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from ikbt.accounts.actions import AUTHENTICATOR_DEVICE_NAME


class Command(BaseCommand):
    help = "Print the current second-factor code of a demo staff member (only with DEBUG on)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")

    def handle(self, *args, username: str, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_totp works only in the demo (DEBUG on).")
        device = TOTPDevice.objects.filter(
            user__username=username, name=AUTHENTICATOR_DEVICE_NAME, confirmed=True
        ).first()
        if device is None:
            raise CommandError(f"No confirmed TOTP device for {username!r}.")
        code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
        self.stdout.write(f"{code:0{device.digits}d}")
