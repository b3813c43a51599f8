"""Sign-in by e-mail address for staff and sponsor group members alike."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest


class EmailBackend(ModelBackend):
    """Authenticate with the e-mail address (case-insensitive) and password.

    The built-in User is kept (as healthchecks does); services that create users store
    the lower-cased address as both `username` and `email`, so addresses are unique.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs,
    ):
        email = (kwargs.get("email") or username or "").strip()
        if not email or password is None:
            return None
        user_model = get_user_model()
        user = user_model.objects.filter(email__iexact=email).order_by("pk").first()
        if user is None:
            user_model().set_password(password)  # same cost as a real check: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
