from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.db import transaction
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from core.tasks import send_password_reset


class EmailAuthenticationForm(AuthenticationForm):
    """Sign in with an e-mail address; the field keeps the name `username` for django-axes."""

    username = forms.EmailField(
        label=_("E-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("That e-mail address and password don't match. Please try again."),
    }


class AdminEmailAuthenticationForm(AdminAuthenticationForm):
    """The admin's sign-in, by e-mail address like everywhere else."""

    username = EmailAuthenticationForm.base_fields["username"]
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": _(
            "That e-mail address and password don't match a staff account. Please try again."
        ),
    }


class DeferredPasswordResetForm(PasswordResetForm):
    """ "Forgot my password": the request only queues the e-mail, after commit.

    Looking the address up and sending the link happen in the Celery worker
    (core.tasks.send_password_reset), so the page answers in the same time whether or not
    the address has an account: response times no longer tell who is a user.
    """

    def save(  # type: ignore[override]  # the templates and token are the task's business
        self,
        domain_override: str | None = None,
        use_https: bool = False,
        request: HttpRequest | None = None,
        **kwargs: object,
    ) -> None:
        email = self.cleaned_data["email"]
        domain = domain_override or (request.get_host() if request else "")
        language = translation.get_language()
        transaction.on_commit(
            lambda: send_password_reset.delay(
                email=email, domain=domain, use_https=use_https, language=language
            )
        )
