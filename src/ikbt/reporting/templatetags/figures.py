"""How a figure of the statistics is written on the page (its files keep the numbers)."""

from django import template
from django.utils import formats
from django.utils.translation import get_language

register = template.Library()


@register.filter
def share(value) -> str:
    """A share of 1 as a percentage, the way the page's language writes one: 0.583 is
    "58 %" in Swedish and "58%" in English; a hidden figure (None) "–"."""
    if value is None:
        return "–"
    percent = formats.number_format(round(value * 100))
    return f"{percent}\u00a0%" if get_language() == "sv" else f"{percent}%"
