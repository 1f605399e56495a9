"""The application's own settings plus the floor view (bench/floor_urls.py), for the load run."""

from pathlib import Path

from ikbt.settings import *  # noqa: F403

ROOT_URLCONF = "floor_urls"
TEMPLATES[0]["DIRS"] = [Path(__file__).parent / "templates"]  # noqa: F405
