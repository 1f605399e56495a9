"""Who may register for what, read from the personal identity number and the unit's rules.

Adult programs are for people who have turned 18 (from the day of the 18th birthday); youth
programs for ages 12 to 17, with a guardian's consent. Every refusal says why and where to
turn instead.
"""

import datetime
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from ikbt.intake.models import Offering, Registration
from ikbt.patients.models import Patient
from ikbt.programs.models import TargetGroup

ADULT_AGE = 18
YOUTH_MIN_AGE = 12


@dataclass(frozen=True)
class Refusal:
    reason: str
    where_to: str
    kind: str = ""  # "region": she lives elsewhere (the page may link to her region's)
    field: str = ""  # the registration form's box whose answer refused her (shown beside it)


def refusal_for(
    patient: Patient,
    offering: Offering,
    today: datetime.date,
    *,
    listed_here: bool = True,
    lives_here: bool | None = None,
) -> Refusal | None:
    """Why ``patient`` cannot register for ``offering`` today, or None if they can.

    Where she lives is known for a patient the region already has; someone signing in with
    e-identification for the first time says it herself (``lives_here``), as she says whether
    she is listed at the unit."""
    age = patient.age_on(today)
    if not offering.is_open:
        return Refusal(
            _("This unit is not taking new registrations for the program just now."),
            _("Try another unit on the region's e-service page, or call 1177 for advice."),
        )
    if offering.program.target_group == TargetGroup.ADULTS and age < ADULT_AGE:
        return Refusal(
            _("This program is for adults, from the day you turn 18."),
            _(
                "Young people get help from a program for young people (the region's e-service "
                "page lists those it offers), the youth clinic (ungdomsmottagning) or the school "
                "health service."
            ),
        )
    if offering.program.target_group == TargetGroup.YOUTH and not (
        YOUTH_MIN_AGE <= age < ADULT_AGE
    ):
        if age >= ADULT_AGE:
            return Refusal(
                _("This program is for young people aged 12 to 17."),
                _("Choose a program for adults on the region's e-service page."),
            )
        return Refusal(
            _("This program is for young people aged 12 to 17."),
            _(
                "Children under 12 get help through child health care or child and adolescent "
                "psychiatry (BUP). Read more at 1177.se."
            ),
        )
    # Where she lives: as the region knows it, else as she says (None: not asked yet).
    home = patient.home_region_id
    if home is None and lives_here is not False:
        home = offering.unit.region_id
    if offering.intake == Offering.Intake.RESIDENTS and home != offering.unit.region_id:
        return Refusal(
            _("This unit takes patients who live in %(region)s.")
            % {"region": offering.unit.region},
            # Only her word that she lives elsewhere: the box may have been missed.
            _(
                "If you live in %(region)s, tick that you do. If you live elsewhere, your own "
                "region offers internet treatment too: find it through 1177.se."
            )
            % {"region": offering.unit.region}
            if patient.home_region_id is None
            else _("Your own region offers internet treatment too: find it through 1177.se."),
            kind="region",
            field="lives_here" if lives_here is False else "",
        )
    if offering.intake == Offering.Intake.LISTED and not listed_here:
        return Refusal(
            _("This unit takes patients who are listed at %(unit)s.") % {"unit": offering.unit},
            _("Register through the health centre you are listed at."),
            field="listed_here",
        )
    if Registration.objects.filter(
        patient=patient,
        offering__program=offering.program,
        status__in=[Registration.Status.SUBMITTED, Registration.Status.BOOKED],
    ).exists():
        return Refusal(
            _("You already have a registration for this program waiting."),
            _("See where it stands on your registrations page."),
        )
    return None


def needs_guardian(patient: Patient, offering: Offering, today: datetime.date) -> bool:
    return offering.program.target_group == TargetGroup.YOUTH and patient.age_on(today) < ADULT_AGE
