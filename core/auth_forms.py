from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


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
