"""A treatment's outcome per instrument: pre, post, change, reliable change, response and
remission, each by the rule the instrument's definition states.

- Reliable change: a change at least the definition's ``reliable_change`` (Jacobson NS,
  Truax P. J Consult Clin Psychol 1991;59:12-19), towards better (improvement) or worse
  (deterioration).
- Response: at least 50% better than before treatment (the convention in the iCBT trials,
  e.g. Hedman et al. 2014, and IAPT's "reliable improvement" reporting).
- Remission: the post score below the definition's ``remission_below``.
"""

from ikbt.measurement.models import Response
from ikbt.treatment.models import Enrollment

PRE = ("pre", "screening")
POST = ("post",)


def _score(responses: list[Response], occasions: tuple[str, ...], latest: bool) -> Response | None:
    chosen = [response for response in responses if response.occasion in occasions]
    if not chosen:
        return None
    chosen.sort(key=lambda response: response.submitted_at)
    return chosen[-1] if latest else chosen[0]


def compute_outcome(enrollment: Enrollment) -> dict[str, dict]:
    responses = list(
        Response.objects.filter(
            patient=enrollment.patient, status=Response.Status.SUBMITTED, total__isnull=False
        ).select_related("instrument_version__instrument")
    )
    by_code: dict[str, list[Response]] = {}
    for response in responses:
        by_code.setdefault(response.instrument_version.instrument.code, []).append(response)
    outcome = {}
    for code, rows in sorted(by_code.items()):
        pre = _score(rows, ("pre",), latest=True) or _score(rows, ("screening",), latest=True)
        post = _score(rows, POST, latest=True)
        if pre is None or post is None:
            continue
        outcome[code] = judge(post.instrument_version.parsed, pre.total, post.total)
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
        "reliable_improvement": reliable is not None and better >= reliable,
        "reliable_deterioration": reliable is not None and -better >= reliable,
        "response": pre > 0 and better >= 0.5 * pre if definition.higher_is_worse else None,
        "remission": (
            post < definition.remission_below if definition.remission_below is not None else None
        ),
    }
