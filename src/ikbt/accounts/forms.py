from django import forms
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ikbt.patients.personal_number import PersonalNumberField


class StaffLoginForm(AuthenticationForm):
    """Username and password; only staff accounts sign in here (patients use e-id or a code)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _(
            "The username or password is wrong. After %(limit)s failed tries the account is "
            "locked for a while."
        ),
    }

    def __init__(self, *args, failure_limit: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.failure_limit = failure_limit
        self.fields["username"].label = _("Username")
        self.fields["password"].label = _("Password")

    def get_invalid_login_error(self) -> ValidationError:
        return ValidationError(
            self.error_messages["invalid_login"],
            code="invalid_login",
            params={"limit": self.failure_limit},
        )

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if not user.is_staff_member:
            raise self.get_invalid_login_error()


class OneTimeCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].replace(" ", "").replace("-", "")
        if not code.isdigit():
            raise ValidationError(_("The code has only digits."), code="format")
        return code


class PatientSignInForm(forms.Form):
    personal_number = PersonalNumberField()


class PasswordChoiceForm(SetPasswordForm):
    """The password chosen with an e-mailed link, saved on its own: an e-mail address a
    region administrator changes at the same moment is not written back over."""

    def save(self, commit: bool = True):
        self.user.set_password(self.cleaned_data["new_password1"])
        if commit:
            self.user.save(update_fields=["password"])
        return self.user
