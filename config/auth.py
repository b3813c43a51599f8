"""Sign-in by e-mail address for staff and sponsor group members alike."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS
from django.db.models import QuerySet
from django.http import HttpRequest

from core.prepared import OneIdQuery


def _user_columns() -> list[str]:
    return [f.attname for f in get_user_model()._meta.concrete_fields]


def _user_row(pk: int) -> QuerySet:
    return get_user_model().objects.filter(pk=pk).values_list(*_user_columns())


_USER_ROW = OneIdQuery(_user_row)


def _own_permissions(pk: int) -> QuerySet:
    return Permission.objects.filter(user=pk).values_list("content_type__app_label", "codename")


def _group_permissions(pk: int) -> QuerySet:
    return (
        Permission.objects.filter(group__user=pk)
        .values_list("content_type__app_label", "codename")
        .order_by()
    )


# ModelBackend's two permission reads (the admin asks for them on every page).
_PERMISSIONS = {"user": OneIdQuery(_own_permissions), "group": OneIdQuery(_group_permissions)}


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

    def get_user(self, user_id) -> User | None:
        """The signed-in account, read on every request: ModelBackend's, with the query
        compiled once per process (core/prepared.py, docs/performance.md)."""
        model = get_user_model()
        try:
            pk = model._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        rows = _USER_ROW.rows(pk)
        if not rows:
            return None
        user = model.from_db(DEFAULT_DB_ALIAS, _user_columns(), rows[0])
        return user if self.user_can_authenticate(user) else None

    def _get_permissions(self, user_obj, obj, from_name: str) -> set[str]:
        """ModelBackend's, with its two queries compiled once per process (a superuser's,
        every permission, stays ModelBackend's)."""
        if user_obj.is_superuser or not user_obj.is_active or user_obj.is_anonymous:
            return super()._get_permissions(user_obj, obj, from_name)  # type: ignore[misc]  # private, not in the stubs
        if obj is not None:
            return set()
        cache_name = f"_{from_name}_perm_cache"
        if not hasattr(user_obj, cache_name):
            rows = _PERMISSIONS[from_name].rows(user_obj.pk)
            setattr(user_obj, cache_name, {f"{app}.{codename}" for app, codename in rows})
        return getattr(user_obj, cache_name)
