"""The e-mail with a link to choose a password: for a new colleague, or one who forgot theirs."""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tasks import task

from ikbt.accounts.models import User


def password_link(user: User) -> str:
    """A link that sets ``user``'s password once, valid for PASSWORD_RESET_TIMEOUT; it stops
    working when the password changes (Django's token covers the password hash)."""
    path = reverse(
        "accounts:set_password",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return settings.SITE_URL.rstrip("/") + path


@task()
def send_password_link(user_id: int, reset: bool = False, reopened: bool = False) -> bool:
    """E-mail the link. Running twice sends a second link, and either works: harmless.

    ``reset``: the sign-in was started over (``sign_in_reset``), and the e-mail says so;
    ``reopened``: a closed account was opened again, and it says that."""
    user = User.objects.filter(pk=user_id, kind=User.Kind.STAFF, is_active=True).first()
    if user is None or not user.email:
        return False
    context = {
        "user": user,
        "link": password_link(user),
        "days": settings.PASSWORD_RESET_TIMEOUT // (24 * 3600),
        # Someone who has never signed in is new; one whose sign-in was started over is not.
        "new": user.last_login is None and not user.has_usable_password() and not reset,
        "reset": reset and not reopened,
        "reopened": reopened,
    }
    with translation.override(user.language):
        subject = render_to_string(
            "accounts/email/password_link_subject.txt", context, using="text"
        ).strip()
        body = render_to_string("accounts/email/password_link_body.txt", context, using="text")
    send_mail(subject, body, None, [user.email])
    return True
