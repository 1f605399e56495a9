"""The ``ikbt`` console command: Django's manage.py for this project."""

import os
import sys

# Commands that need no secret key: they serve no request and sign nothing.
OFFLINE_COMMANDS = {"score"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ikbt.settings")
    if len(sys.argv) > 1 and sys.argv[1] in OFFLINE_COMMANDS:
        os.environ["IKBT_OFFLINE_COMMAND"] = "1"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
