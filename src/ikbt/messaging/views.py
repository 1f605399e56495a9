"""Secure messages between a patient and their care team."""

from django import forms
from django.contrib import messages as flash
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ikbt.accounts.decorators import patient_required, staff_required
from ikbt.accounts.middleware import unsent_on_page
from ikbt.accounts.models import User
from ikbt.core.numbers import whole_number
from ikbt.core.submissions import submitted_once
from ikbt.messaging import actions
from ikbt.messaging.access import releaser_for
from ikbt.messaging.models import Thread
from ikbt.patients.access import get_patient_for_staff
from ikbt.patients.models import CareRelationship
from ikbt.programs.worksheets import typed
from ikbt.treatment.models import ReplyTemplate

ANSWER_WITHIN_WORKING_DAYS = 2


MESSAGE_LENGTH = 5000


class MessageForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Message"),
        widget=forms.Textarea(attrs={"rows": 5}),
        max_length=MESSAGE_LENGTH,
    )

    def __init__(self, *args, label=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if label:
            self.fields["body"].label = label


class NewThreadForm(MessageForm):
    subject = forms.CharField(label=gettext_lazy("Subject"), max_length=200)
    field_order = ["subject", "body"]


def _threads(patient, reader_is_patient: bool):
    other_side = (
        ~Q(messages__sender__kind=User.Kind.PATIENT)
        if reader_is_patient
        else Q(messages__sender__kind=User.Kind.PATIENT)
    )
    threads = Thread.objects.filter(patient=patient).annotate(
        unread=Count(
            "messages",
            filter=other_side & Q(messages__read_at__isnull=True, messages__held_for_review=False),
        )
    )
    if reader_is_patient:
        return threads
    # Staff see where replies wait for the supervisor (the patient does not see them).
    return threads.annotate(held=Count("messages", filter=Q(messages__held_for_review=True)))


@patient_required
@submitted_once
def inbox(request: HttpRequest) -> HttpResponse:
    patient = request.user.patient
    kept = unsent_on_page(request) if request.method == "GET" else {}  # after a time-out
    form = NewThreadForm(
        request.POST or None,
        initial={"subject": kept.get("subject", ""), "body": kept.get("body", "")},
    )
    if kept:
        flash.info(request, _("What you wrote before you were signed out is in the box: send it."))
    team = list(
        CareRelationship.objects.active().filter(patient=patient).select_related("staff", "unit")
    )
    closed = "" if team else _no_one_to_write_to(patient)
    if request.method == "POST" and closed:
        form.add_error(None, closed)  # her care ended meanwhile: what she wrote stays
    elif request.method == "POST" and form.is_valid():
        thread = actions.thread_start(
            patient, request.user, form.cleaned_data["subject"], form.cleaned_data["body"]
        )
        flash.success(request, _("Your message is sent."))
        return redirect("messaging:thread", thread_id=thread.pk)
    return render(
        request,
        "messaging/inbox.html",
        {
            "threads": list(_threads(patient, True)),
            "form": form,
            "team": team,
            "closed": closed,
            "answer_days": ANSWER_WITHIN_WORKING_DAYS,
        },
    )


def _no_one_to_write_to(patient) -> str:
    """Why a patient with no care team (before her treatment, or after it) cannot send a
    message: no one would read it. With the phone number of the unit she last registered at."""
    unit = next(
        (
            registration.offering.unit
            for registration in patient.registrations.select_related("offering__unit").order_by(
                "-registered_at"
            )[:1]
        ),
        None,
    )
    closed = _(
        "You have no care team to write to just now: messages are for the time of your treatment."
    )
    if unit is not None and unit.phone:
        closed += " " + _("Questions: call %(unit)s on %(phone)s.") % {
            "unit": unit.name,
            "phone": unit.phone,
        }
    return closed


def _thread_page(
    request,
    thread: Thread,
    template: str,
    back: str,
    extra: dict,
    unit=None,
    initial=None,
    closed: str = "",
) -> HttpResponse:
    """``unit``: where a staff member opened the patient, which their reply is written from
    and held replies are sent on from; ``initial``: what the reply box starts with;
    ``closed``: why no reply can be sent (the patient has no care team)."""
    # Staff: the box is what the patient reads.
    label = _("Message to the patient") if unit is not None else None
    unsent = unsent_on_page(request)
    if request.method == "GET" and unsent.get("body"):  # sent after a time-out
        initial = {"body": unsent["body"]}
        flash.info(request, _("What you wrote before you were signed out is in the box: send it."))
    elif unsent.get("id_body"):  # typed when another of the page's forms was sent
        initial = {"body": unsent["id_body"]}
    form = MessageForm(request.POST or None, initial=initial, label=label)
    kept = {}  # a comment or a changed reply refused, with what was typed
    if request.method == "POST" and unit is not None and "release" in request.POST:
        # Sent already (a second click) is no error: the action does nothing again.
        held = get_object_or_404(thread.messages, pk=whole_number(request.POST["release"]))
        was_held = held.held_for_review
        try:
            actions.message_release(
                held,
                request.user,
                revision=whole_number(request.POST.get("revision", "")),
                request=request,
            )
        except PermissionError:
            raise Http404 from None
        except actions.StaleReply as error:
            flash.error(request, str(error))
        else:
            if was_held:
                flash.success(request, _("The reply is sent to the patient."))
        return redirect(request.path)
    if (
        request.method == "POST"
        and unit is not None
        and ("return" in request.POST or "revise" in request.POST)
    ):
        kept = _held_reply_change(request, thread)
        if not kept:
            return redirect(request.path)
    if request.method == "POST" and unit is not None and "no_reply" in request.POST:
        # Marked already (a second click) is no error: nothing waits any more.
        actions.messages_need_no_reply(
            thread,
            request.user,
            unit=unit,
            last_shown=whole_number(request.POST["no_reply"]) or 0,
            request=request,
        )
        flash.success(request, _("Marked: the patient's messages here need no reply."))
        return redirect(request.path)
    if request.method == "POST" and closed:
        form.add_error(None, closed)  # her care ended meanwhile: what she wrote stays
    elif request.method == "POST" and not kept and form.is_valid():
        sent = actions.message_send(
            thread, request.user, form.cleaned_data["body"], request=request, unit=unit
        )
        _say_sent(request, held=sent.held_for_review)
        return redirect(request.path)
    actions.messages_mark_read(thread, request.user)
    shown = thread.messages.select_related("sender").order_by("sent_at", "pk")
    if request.user.is_patient:
        shown = shown.filter(held_for_review=False)
    thread_messages = list(shown)
    # A comment on a held reply, or a change to it, typed when another form was sent.
    for message in thread_messages:
        message.unsent_comment = unsent.get(f"comment-{message.pk}", "")
        revision = unsent.get(f"revised-{message.pk}", "").replace("\r\n", "\n")
        message.unsent_revision = revision if revision != message.body else ""
    return render(
        request,
        template,
        {
            "thread": thread,
            "thread_messages": thread_messages,
            # Staff: whether a message of the patient's waits for an answer (read or not) with
            # no reply on its way to her (one held for the supervisor answers it once sent).
            "awaits_answer": unit is not None
            and any(m.from_patient and m.answered_at is None for m in thread_messages)
            and not any(m.held_for_review for m in thread_messages),
            **_may_change(request.user, unit, thread_messages),
            "kept": kept,
            "form": MessageForm(
                initial={"body": kept["text"]} if kept.get("to_reply_box") else initial,
                label=label,
            )
            if kept
            else form,
            "back": back,
            "closed": closed,
            **extra,
        },
    )


def _held_reply_change(request: HttpRequest, thread: Thread) -> dict:
    """A held reply sent back to its writer with a comment, or changed by its writer. Done:
    {} (the page is asked again); refused: what was typed, for which reply, and why."""
    sending_back = "return" in request.POST
    held = get_object_or_404(
        thread.messages, pk=whole_number(request.POST["return" if sending_back else "revise"])
    )
    # A browser counts a line break as one character and sends two.
    text = typed(request.POST.get("comment" if sending_back else "revised", "")).replace(
        "\r\n", "\n"
    )
    kept = {"pk": held.pk, "text": text, "sending_back": sending_back}
    if not text.strip():
        error = _("Write what should be changed.") if sending_back else _("Write the reply.")
        return kept | {"error": error}
    if len(text) > MESSAGE_LENGTH:
        return kept | {"error": _("At most %(most)d characters.") % {"most": MESSAGE_LENGTH}}
    try:
        if sending_back:
            done = actions.message_return(
                held,
                request.user,
                text,
                revision=whole_number(request.POST.get("revision", "")) or 0,
                request=request,
            )
        else:
            done = actions.message_revise(held, request.user, text, request=request)
    except PermissionError:
        raise Http404 from None
    except actions.StaleReply as error:
        return kept | {"error": str(error)}
    if not done:  # what she wrote goes into the reply box, to send as a message of its own
        return kept | {
            "error": _("The reply has reached the patient already: it is not changed."),
            "to_reply_box": not sending_back,
        }
    flash.success(
        request,
        _("The reply is sent back with your comment.")
        if sending_back
        else _("The reply is changed. It waits for the supervisor again."),
    )
    return {}


def _say_sent(request: HttpRequest, *, held: bool) -> None:
    if held:
        flash.success(
            request,
            _(
                "Saved. Your supervisor (or the unit's administrator while your supervisor "
                "is away) reads it before the patient gets it."
            ),
        )
    else:
        flash.success(request, _("The message is sent."))


def _may_change(user: User, unit, thread_messages: list) -> dict:
    """The held replies on the page that ``user`` may send on, and send back (their buttons
    show on those)."""
    held = [message for message in thread_messages if message.held_for_review]
    if unit is None or not held:
        return {"releasable": set(), "returnable": set()}
    releaser = releaser_for(user, held)
    # A reply sent back waits for its writer's change: not sent back again.
    return {
        "releasable": {message.pk for message in held if releaser.may_send_on(message)},
        "returnable": {
            message.pk
            for message in held
            if message.returned_at is None and releaser.may_send_back(message)
        },
    }


@patient_required
@submitted_once
def thread(request: HttpRequest, thread_id: int) -> HttpResponse:
    thread = get_object_or_404(Thread, pk=thread_id, patient__user=request.user)
    has_team = CareRelationship.objects.active().filter(patient=thread.patient).exists()
    return _thread_page(
        request,
        thread,
        "messaging/thread.html",
        "messaging:inbox",
        {"answer_days": ANSWER_WITHIN_WORKING_DAYS},
        closed="" if has_team else _no_one_to_write_to(thread.patient),
    )


@staff_required
@submitted_once
def patient_threads(request: HttpRequest, patient_id: int) -> HttpResponse:
    access = get_patient_for_staff(request, patient_id, detail="messages")
    form = NewThreadForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        thread = actions.thread_start(
            access.patient,
            request.user,
            form.cleaned_data["subject"],
            form.cleaned_data["body"],
            request=request,
            unit=access.unit,
        )
        _say_sent(request, held=thread.messages.filter(held_for_review=True).exists())
        return redirect("messaging:staff_thread", thread_id=thread.pk)
    threads = list(_threads(access.patient, False))
    return render(
        request,
        "messaging/patient_threads.html",
        {"patient": access.patient, "threads": threads, "form": form},
    )


@staff_required
@submitted_once
def staff_thread(request: HttpRequest, thread_id: int) -> HttpResponse:
    patient_id = Thread.objects.filter(pk=thread_id).values_list("patient_id", flat=True).first()
    if patient_id is None:
        raise Http404
    access = get_patient_for_staff(request, patient_id, detail="message thread")
    thread = Thread.objects.get(pk=thread_id)
    # Her own reply templates; one chosen without scripts starts the reply box.
    templates = list(ReplyTemplate.objects.filter(owner=request.user))
    chosen = next((t for t in templates if str(t.pk) == request.GET.get("mall")), None)
    return _thread_page(
        request,
        thread,
        "messaging/staff_thread.html",
        "",
        {"patient": access.patient, "templates": templates},
        unit=access.unit,
        initial={"body": chosen.text} if chosen else None,
    )
