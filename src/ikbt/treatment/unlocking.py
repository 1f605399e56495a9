"""Which modules a patient can open, by each module's unlocking rule.

- at the start of treatment;
- when the previous module is done;
- when the therapist has given feedback on the previous module;
- from a given week of treatment (week 1 is the first seven days).

A module the therapist unlocked by hand is open whatever its rule.
"""

import datetime

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from ikbt.programs.models import Module
from ikbt.treatment.models import Enrollment, ModuleProgress


def unlocked_module_keys(
    enrollment: Enrollment,
    modules: list[Module],
    progress: dict[str, ModuleProgress],
    now: datetime.datetime | None = None,
) -> list[str]:
    now = now or timezone.now()
    week = enrollment.week(now)
    # Before the first day of treatment only what the therapist opened by hand is open.
    started = enrollment.has_started(now)
    unlocked = []
    previous: ModuleProgress | None = None
    for index, module in enumerate(modules):
        row = progress.get(module.key)
        by_rule = (
            module.unlock == Module.Unlock.AT_START
            or (module.unlock == Module.Unlock.ON_WEEK and week >= (module.unlock_week or 1))
            or (
                module.unlock == Module.Unlock.AFTER_PREVIOUS
                and (index == 0 or (previous is not None and previous.completed_at is not None))
            )
            or (
                module.unlock == Module.Unlock.AFTER_FEEDBACK
                and (index == 0 or (previous is not None and previous.feedback_at is not None))
            )
        )
        by_hand = row is not None and row.unlocked_by_hand_at is not None
        is_open = by_hand or (started and by_rule)
        if is_open:
            unlocked.append(module.key)
        previous = row
    return unlocked


def unlocked_modules(enrollment: Enrollment, now: datetime.datetime | None = None) -> list[str]:
    modules = list(enrollment.program_version.modules.order_by("position"))
    progress = {row.module_key: row for row in enrollment.progress.all()}
    return unlocked_module_keys(enrollment, modules, progress, now)


def when_it_opens(
    enrollment: Enrollment,
    module: Module,
    previous: Module | None,
    previous_progress: ModuleProgress | None = None,
) -> str:
    """What a patient reads beside a module she cannot open yet: when, or after what.

    Before the treatment starts, a module whose rule is already met (the previous module,
    opened by hand, is finished or has feedback) opens on the first day.
    """
    rule_met = module.unlock == Module.Unlock.AT_START or previous is None
    if previous_progress is not None:
        rule_met = rule_met or (
            module.unlock == Module.Unlock.AFTER_PREVIOUS
            and previous_progress.completed_at is not None
        )
        rule_met = rule_met or (
            module.unlock == Module.Unlock.AFTER_FEEDBACK
            and previous_progress.feedback_at is not None
        )
    if not enrollment.has_started() and rule_met:
        return _("opens on %(date)s, when your treatment starts") % {
            "date": formats.date_format(timezone.localdate(enrollment.started_at), "j F")
        }
    if module.unlock == Module.Unlock.ON_WEEK:
        week = module.unlock_week or 1
        # The moment its week begins, as ``Enrollment.week`` counts (a clock change between
        # the start and then moves the local day, not the rule).
        day = timezone.localdate(enrollment.started_at + datetime.timedelta(weeks=week - 1))
        return _("opens on %(date)s, in week %(week)d") % {
            "date": formats.date_format(day, "j F"),
            "week": week,
        }
    if previous is not None and module.unlock == Module.Unlock.AFTER_PREVIOUS:
        return _("opens when you have finished “%(module)s”") % {"module": previous.title}
    if previous is not None and module.unlock == Module.Unlock.AFTER_FEEDBACK:
        return _("opens when your therapist has given feedback on “%(module)s”") % {
            "module": previous.title
        }
    return _("opens when your therapist opens it for you")
