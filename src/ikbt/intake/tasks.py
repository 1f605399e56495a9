"""Assessment reminders: content-free, sent the day before."""

from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation
from django_tasks import task

from ikbt.intake.models import Slot
from ikbt.notifications.sms import send_sms


@task()
def remind_assessment(slot_id: int) -> bool:
    """Remind the patient of a booked time. The text says only that there is a booked time;
    the patient signs in to see when and how. Nothing is sent for a time no longer booked."""
    slot = Slot.objects.select_related("registration__patient__user").filter(pk=slot_id).first()
    if slot is None or slot.registration is None:
        return False
    patient = slot.registration.patient
    with translation.override(patient.user.language):
        body = render_to_string("intake/reminder.txt").strip()
        subject = render_to_string("intake/reminder_subject.txt").strip()
    if patient.mobile:
        send_sms(patient.mobile, body)
    elif patient.email:
        send_mail(subject, body, None, [patient.email])
    else:
        return False
    return True
