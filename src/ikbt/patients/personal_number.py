"""Swedish personal identity numbers (personnummer) and coordination numbers (samordningsnummer).

The check digit and the date are validated by the maintained ``personnummer`` library; this
module adds what the clinic needs on top: one stored form (12 digits, ``YYYYMMDDNNNN``), a
message that tells the person *what* is wrong, and a refusal of birth dates in the future.
Coordination numbers carry the day of birth plus 60 (Skatteverket, SKV 707).
"""

import datetime
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from personnummer import personnummer
from personnummer.personnummer import Personnummer

# YYMMDD-NNNN, YYMMDD+NNNN (100 years or older), YYYYMMDDNNNN, YYYYMMDD-NNNN, YYMMDDNNNN.
SHAPE = re.compile(r"^(\d{2})?(\d{2})(\d{2})(\d{2})([-+]?)(\d{3})(\d)$")


def _has_real_date(match: re.Match, century: str) -> bool:
    day = int(match[4])
    day = day - 60 if day > 60 else day
    try:
        datetime.date(int(century + match[2]), int(match[3]), day)
    except ValueError:
        return False
    return True


def parse_personal_number(value: str) -> Personnummer:
    """Return the parsed number or raise ``ValidationError`` saying what is wrong with it."""
    text = re.sub(r"\s", "", str(value))
    match = SHAPE.match(text)
    if not match:
        raise ValidationError(
            _("Write the personal identity number as YYYYMMDD-XXXX (12 digits)."),
            code="format",
        )
    try:
        number = personnummer.parse(text)
    except personnummer.PersonnummerException:
        if not _has_real_date(match, match[1] or "20"):
            raise ValidationError(
                _("The personal identity number does not contain a real date."), code="date"
            ) from None
        raise ValidationError(
            _("The last digit (check digit) does not match. Check the number for typos."),
            code="check_digit",
        ) from None
    if number.get_date() > timezone.localdate():
        raise ValidationError(
            _("The personal identity number has a birth date in the future."), code="future"
        )
    return number


def age_on(stored: str, day: datetime.date) -> int:
    """The age on ``day`` of the person a stored number (12 digits) belongs to."""
    born = parse_personal_number(stored).get_date()
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def normalise_personal_number(value: str) -> str:
    """The stored form: ``YYYYMMDDNNNN``."""
    return parse_personal_number(value).format(long_format=True)


def format_personal_number(stored: str) -> str:
    """The displayed form: ``YYYYMMDD-NNNN``."""
    return f"{stored[:8]}-{stored[8:]}"


def validate_stored_personal_number(value: str) -> None:
    if not re.fullmatch(r"\d{12}", value or ""):
        raise ValidationError(_("Store personal identity numbers as 12 digits."), code="stored")
    parse_personal_number(value)


def luhn_check_digit(nine_digits: str) -> str:
    """The check digit of YYMMDDNNN, by the Luhn algorithm (Skatteverket, SKV 704)."""
    total = 0
    for index, char in enumerate(nine_digits):
        value = int(char) * (2 - index % 2)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def make_personal_number(birth_date: str, serial: int) -> str:
    """A valid 12-digit number for ``YYYYMMDD`` and a three-digit serial (demo and test data).

    Add 60 to the day for a coordination number.
    """
    body = f"{birth_date[2:]}{serial:03d}"
    return f"{birth_date}{serial:03d}{luhn_check_digit(body)}"


class PersonalNumberField(forms.CharField):
    """A form field that accepts the usual ways of writing the number and cleans to 12 digits."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("max_length", 15)
        kwargs.setdefault("label", _("Personal identity number"))
        kwargs.setdefault("help_text", _("12 digits, YYYYMMDD-XXXX"))
        super().__init__(**kwargs)
        self.widget.attrs.update({"autocomplete": "off", "inputmode": "numeric"})

    def clean(self, value: str) -> str:
        value = super().clean(value)
        if value in self.empty_values:
            return value
        return normalise_personal_number(value)
