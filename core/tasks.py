"""Celery tasks of the ground package (the apps keep theirs in their own tasks.py)."""

from __future__ import annotations

from celery import shared_task
from django.contrib.auth.forms import PasswordResetForm
from django.utils import translation


@shared_task
def send_password_reset(*, email: str, domain: str, use_https: bool, language: str) -> None:
    """Send Django's password-reset e-mail to `email` if it belongs to an active account
    (nothing otherwise), with links to `domain`. Queued by core.auth_forms."""
    form = PasswordResetForm({"email": email})
    if not form.is_valid():
        return
    with translation.override(language):
        form.save(domain_override=domain, use_https=use_https)
