"""Who may take part in a study, read from data: age from the personal identity number and
the latest submitted totals of the study's screening questionnaires. The exclusion criteria
are clinical judgement; the including therapist confirms them (see ``actions``)."""

import datetime

from django.utils.translation import gettext as _

from ikbt.measurement.models import Response
from ikbt.patients.models import Patient
from ikbt.research.models import Study


def age_refusal(study: Study, age: int) -> str | None:
    if age < study.min_age:
        return _("The study includes people from the age of %(age)s.") % {"age": study.min_age}
    if study.max_age is not None and age > study.max_age:
        return _("The study includes people up to the age of %(age)s.") % {"age": study.max_age}
    return None


def latest_screening(patient: Patient, codes: list[str]) -> dict[str, Response]:
    """The latest submitted response per questionnaire code (one query)."""
    responses = (
        Response.objects.filter(
            patient=patient,
            status=Response.Status.SUBMITTED,
            instrument_version__instrument__code__in=codes,
        )
        .select_related("instrument_version__instrument")
        .order_by("-submitted_at", "-pk")
    )
    latest: dict[str, Response] = {}
    for response in responses:
        latest.setdefault(response.instrument_version.instrument.code, response)
    return latest


def refusals_for(
    study: Study, patient: Patient, day: datetime.date
) -> tuple[list[str], list[Response]]:
    """Why ``patient`` cannot be included on ``day`` (empty if they can), and the screening
    responses the decision rested on."""
    refusals = []
    refusal = age_refusal(study, patient.age_on(day))
    if refusal:
        refusals.append(refusal)
    criteria = list(study.screening.all())
    latest = latest_screening(patient, [criterion.instrument_code for criterion in criteria])
    for criterion in criteria:
        response = latest.get(criterion.instrument_code)
        values = {"code": criterion.instrument_code}
        if response is None or response.total is None:
            refusals.append(_("There is no submitted %(code)s to screen by.") % values)
            continue
        values["total"] = response.total
        if criterion.min_total is not None and response.total < criterion.min_total:
            values["limit"] = criterion.min_total
            refusals.append(
                _("%(code)s is %(total)s; the study includes from %(limit)s.") % values
            )
        if criterion.max_total is not None and response.total > criterion.max_total:
            values["limit"] = criterion.max_total
            refusals.append(
                _("%(code)s is %(total)s; the study includes up to %(limit)s.") % values
            )
    return refusals, list(latest.values())
