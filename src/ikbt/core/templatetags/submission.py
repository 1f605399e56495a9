from uuid import uuid4

from django import template
from django.utils.html import format_html

from ikbt.core.submissions import FIELD

register = template.Library()


@register.simple_tag
def submission_field() -> str:
    """A hidden field naming this one filling-in of the form, so that sending it twice (a
    double click, a resent request, two tabs sending at once) does the work once
    (``ikbt.core.submissions.submitted_once``)."""
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, uuid4())
