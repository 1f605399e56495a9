"""``ikbt demo_eid``: a stand-in for the region's e-identification in the demo (DEBUG only).

A new patient signs in to register with e-identification (BankID or Freja eID through the
region's broker, over OpenID Connect); the demo has none, so `make demo` runs this one beside
the web server: oidc-provider-mock on 127.0.0.1, where a person is chosen with one click
instead of identified. Never run it anywhere but on a demo machine.
"""

import contextlib
import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ikbt.patients.personal_number import make_personal_number

DEMO_EID_PORT = 9400


def demo_eid_people(today: datetime.date | None = None) -> list[dict]:
    """The people the stand-in knows: a new adult and a new 15-year-old (the youth program
    asks for a guardian), neither yet a patient of the demo."""
    today = today or timezone.localdate()
    fifteen = today.replace(year=today.year - 15, day=min(today.day, 28))
    return [
        {
            "sub": "karl",
            "personal_identity_number": make_personal_number("19900315", 871),
            "given_name": "Karl",
            "family_name": "Nyström",
        },
        {
            "sub": "ella",
            "personal_identity_number": make_personal_number(fifteen.strftime("%Y%m%d"), 872),
            "given_name": "Ella",
            "family_name": "Nyström",
        },
    ]


def demo_eid_app():
    """The provider as a WSGI application, knowing ``demo_eid_people``."""
    import oidc_provider_mock

    people = [
        oidc_provider_mock.User(sub=person["sub"], claims=person) for person in demo_eid_people()
    ]
    return oidc_provider_mock.app(user_claims=people)


class Command(BaseCommand):
    help = "Run the demo's stand-in e-identification provider (only with DEBUG on)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=DEMO_EID_PORT)

    def handle(self, *args, port: int, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_eid works only in the demo (DEBUG on).")
        from werkzeug.serving import make_server

        server = make_server("127.0.0.1", port, demo_eid_app())
        self.stdout.write(f"Demo e-identification on http://127.0.0.1:{port}/")
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the demo
            server.serve_forever()
