"""Waiting times from the times each intake step recorded: mean, median and 90th percentile."""

import math
import statistics
from dataclasses import dataclass

from django.utils import timezone

from ikbt.intake.models import Registration
from ikbt.programs.models import program_titles


@dataclass(frozen=True)
class Summary:
    count: int
    mean: float | None
    median: float | None
    p90: float | None


def summarise(days: list[int]) -> Summary:
    if not days:
        return Summary(0, None, None, None)
    ordered = sorted(days)
    # Nearest-rank 90th percentile: the smallest value with at least 90% of values at or below.
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
    # The median of an even count is a half day or a whole one: written alike, "13.0" and
    # "13.5", not "13" beside "13.0".
    median = float(statistics.median(days))
    return Summary(len(days), round(statistics.fmean(days), 1), median, p90)


def waiting_times(registrations) -> list[dict]:
    """One row per unit and program: the three waits and how many wait beyond the limit."""
    now = timezone.now()
    groups: dict[tuple, dict] = {}
    for registration in registrations.select_related("offering__unit", "offering__program"):
        offering = registration.offering
        group = groups.setdefault(
            (offering.unit.name, offering.program.slug),
            {
                "offering": offering,
                "to_assessment": [],
                "to_start": [],
                "assessment_to_start": [],
                "over_limit": 0,
                "waiting": 0,
            },
        )
        local_registered = timezone.localdate(registration.registered_at)
        if registration.assessed_at:
            group["to_assessment"].append(
                (registration.assessed_at - registration.registered_at).days
            )
        if registration.start_date and registration.status == Registration.Status.ACCEPTED:
            group["to_start"].append((registration.start_date - local_registered).days)
            if registration.assessed_at:
                group["assessment_to_start"].append(
                    (registration.start_date - timezone.localdate(registration.assessed_at)).days
                )
        if registration.is_waiting:
            group["waiting"] += 1
            if registration.waiting_days(now) > offering.waiting_limit_days:
                group["over_limit"] += 1
    titles = program_titles(group["offering"].program for group in groups.values())
    return [
        {
            "offering": group["offering"],
            "program_title": titles[group["offering"].program_id],
            "to_assessment": summarise(group["to_assessment"]),
            "assessment_to_start": summarise(group["assessment_to_start"]),
            "to_start": summarise(group["to_start"]),
            "waiting": group["waiting"],
            "over_limit": group["over_limit"],
        }
        for _, group in sorted(groups.items())
    ]
