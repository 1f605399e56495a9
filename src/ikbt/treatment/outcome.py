"""A treatment's outcome per instrument: pre, post, change, reliable change, response and
remission, each by the rule the instrument's definition states.

- Reliable change: a change at least the definition's ``reliable_change`` (Jacobson NS,
  Truax P. J Consult Clin Psychol 1991;59:12-19), towards better (improvement) or worse
  (deterioration).
- Response: at least 50% better than before treatment (the convention in the iCBT trials,
  e.g. Hedman et al. 2014, and IAPT's "reliable improvement" reporting).
- Remission: the post score below the definition's ``remission_below``.
"""

from django.db.models import Sum

from ikbt.measurement.models import Response
from ikbt.patients.models import CareRelationship
from ikbt.treatment.models import Enrollment, TimeEntry

# Only scores on these occasions enter the register summary; weekly ones do not.
SUMMARY_OCCASIONS = ("screening", "pre", "post")


def _latest(responses: list[Response], occasions: tuple[str, ...]) -> Response | None:
    chosen = [response for response in responses if response.occasion in occasions]
    return max(chosen, key=lambda response: response.submitted_at, default=None)


def _before_and_after(responses: list[Response]) -> tuple[Response | None, Response | None]:
    """The latest score before treatment (pre, else screening) and the latest after it."""
    before = _latest(responses, ("pre",)) or _latest(responses, ("screening",))
    return before, _latest(responses, ("post",))


def _responses_by_code(enrollment: Enrollment) -> dict[str, list[Response]]:
    by_code: dict[str, list[Response]] = {}
    for response in Response.objects.filter(
        patient=enrollment.patient, status=Response.Status.SUBMITTED, total__isnull=False
    ).select_related("instrument_version__instrument"):
        by_code.setdefault(response.instrument_version.instrument.code, []).append(response)
    return by_code


def primary_instrument(enrollment: Enrollment) -> str:
    """The program version's primary questionnaire; without one named, the first
    (alphabetically) of its pre-treatment plan."""
    version = enrollment.program_version
    return version.primary_instrument or (
        version.measurement_plan.filter(when="pre")
        .order_by("instrument_code")
        .values_list("instrument_code", flat=True)
        .first()
        or ""
    )


def summary_fields(score_pre: int | None, outcome: dict) -> dict:
    """The register summary's scores and outcome, from ``judge``'s result ({} without one)."""
    return {
        "score_pre": score_pre,
        "score_post": outcome.get("post"),
        "reliable_improvement": outcome.get("reliable_improvement"),
        "reliable_deterioration": outcome.get("reliable_deterioration"),
        "responded": outcome.get("response"),
        "remission": outcome.get("remission"),
    }


def summary_refresh(enrollment: Enrollment) -> None:
    """Store the treatment's register summary (see ``Enrollment``): the primary
    questionnaire's scores and outcome, the therapist minutes and the responsible therapist.
    Called whenever one of them may have changed; safe to call any number of times."""
    code = primary_instrument(enrollment)
    before, after = _before_and_after(_responses_by_code(enrollment).get(code, []))
    outcome = (
        judge(after.instrument_version.parsed, before.total, after.total)
        if before and after
        else {}
    )
    therapist = (
        CareRelationship.objects.filter(
            patient=enrollment.patient,
            unit=enrollment.unit,
            role=CareRelationship.Role.RESPONSIBLE_THERAPIST,
        )
        .order_by("-started_at")
        .values_list("staff_id", flat=True)
        .first()
    )
    Enrollment.objects.filter(pk=enrollment.pk).update(
        primary_instrument=code,
        **summary_fields(before.total if before else None, outcome),
        therapist_minutes=TimeEntry.objects.filter(enrollment=enrollment).aggregate(
            total=Sum("minutes")
        )["total"]
        or 0,
        responsible_therapist_id=therapist,
    )


def summaries_refresh_for_patient(patient_id: int) -> None:
    for enrollment in Enrollment.objects.filter(patient_id=patient_id).select_related(
        "program_version", "patient"
    ):
        summary_refresh(enrollment)


def compute_outcome(enrollment: Enrollment) -> dict[str, dict]:
    outcome = {}
    for code, responses in sorted(_responses_by_code(enrollment).items()):
        before, after = _before_and_after(responses)
        if before is None or after is None:
            continue
        outcome[code] = judge(after.instrument_version.parsed, before.total, after.total)
    return outcome


def judge(definition, pre: int, post: int) -> dict:
    """The outcome of one questionnaire from its scores before and after treatment."""
    change = post - pre
    better = -change if definition.higher_is_worse else change
    reliable = definition.reliable_change
    return {
        "pre": pre,
        "post": post,
        "change": change,
        # A questionnaire with no reliable-change figure judges neither (None, not False).
        "reliable_improvement": better >= reliable if reliable is not None else None,
        "reliable_deterioration": -better >= reliable if reliable is not None else None,
        "response": pre > 0 and better >= 0.5 * pre if definition.higher_is_worse else None,
        "remission": (
            post < definition.remission_below if definition.remission_below is not None else None
        ),
    }
