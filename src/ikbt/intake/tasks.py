"""Assessment reminders: content-free, sent the day before."""

from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation
from django_tasks import task

from ikbt.intake.models import Slot
from ikbt.notifications.sms import send_sms


@task()
@transaction.atomic
def remind_assessment(slot_id: int) -> bool:
    """Remind the patient of a booked time. The text says only that there is a booked time;
    the patient signs in to see when and how. Nothing is sent for a time no longer booked or
    a registration decided meanwhile, and a booking is reminded of once however often the
    task runs."""
    slot = (
        Slot.objects.select_for_update(of=("self",))
        .select_related("registration__patient__user")
        .filter(pk=slot_id)
        .first()
    )
    if (
        slot is None
        or slot.registration is None
        or not slot.registration.is_waiting  # decided meanwhile: nothing to come to
        or slot.reminded_for == slot.booked_at
    ):
        return False
    slot.reminded_for = slot.booked_at
    slot.save(update_fields=["reminded_for"])
    patient = slot.registration.patient
    with translation.override(patient.user.language):
        body = render_to_string("intake/reminder.txt", using="text").strip()
        subject = render_to_string("intake/reminder_subject.txt", using="text").strip()
    if patient.mobile:
        send_sms(patient.mobile, body)
    elif patient.email:
        send_mail(subject, body, None, [patient.email])
    else:
        return False
    return True
