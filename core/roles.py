"""Staff roles: Django groups created by a data migration (families/0001_staff_roles).

A leaf module (it imports no app), so every app may ask "is this user a case worker?"
without the apps knowing each other. Which models each role may touch follows the
access table in docs/architecture.md ("Who may do what") and is applied after every migrate.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

PROGRAM_MANAGER = "Program manager"
CASE_WORKER = "Case worker"
FUNDRAISING = "Fundraising staff"
STAFF_ROLES = (PROGRAM_MANAGER, CASE_WORKER, FUNDRAISING)

# role -> {app_label, or app_label.model: actions}; "delete" is deliberately absent for case
# files and money: nothing there is deleted, it is closed, cancelled or anonymised.
ROLE_PERMISSIONS: dict[str, dict[str, tuple[str, ...]]] = {
    PROGRAM_MANAGER: {
        "families": ("view", "add", "change"),
        "sponsorship": ("view", "add", "change", "delete"),
        "evidence": ("view", "add", "change"),
        "fundraising": ("view", "add", "change"),
        "auth": ("view",),
        # Unlocking an account locked by django-axes is deleting its access attempt; the
        # sign-in logs are read-only evidence.
        "axes.accessattempt": ("view", "delete"),
        "axes.accesslog": ("view",),
        "axes.accessfailurelog": ("view",),
    },
    CASE_WORKER: {
        "families": ("view", "add", "change"),
        "sponsorship": ("view", "add", "change"),
        "evidence": ("view", "add", "change"),
    },
    FUNDRAISING: {
        "fundraising": ("view", "add", "change"),
    },
}


def signed_in_user(request: HttpRequest) -> User:
    """The signed-in person behind a request to a page that requires signing in (the admin,
    the portal): anyone else is refused."""
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def has_role(user: User | AnonymousUser, *roles: str) -> bool:
    """True when the user is active staff in one of `roles` (superusers hold every role)."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    if user.is_superuser or isinstance(user, AnonymousUser):
        return not isinstance(user, AnonymousUser)
    return bool(role_names(user).intersection(roles))


def role_names(user: User) -> frozenset[str]:
    """The names of the user's groups, read once per request (one query, not one per check)."""
    names: frozenset[str] | None = getattr(user, "_role_names", None)
    if names is None:
        names = frozenset(user.groups.values_list("name", flat=True))
        setattr(user, "_role_names", names)  # noqa: B010 - a per-request memo on the user
    return names


def sync_role_permissions(**kwargs: Any) -> None:
    """Give each role group the model permissions of ROLE_PERMISSIONS (post_migrate)."""
    from django.contrib.auth.models import Group, Permission

    for role, apps in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for label, actions in apps.items():
            app_label, _dot, model = label.partition(".")
            perms = Permission.objects.filter(content_type__app_label=app_label)
            if model:
                perms = perms.filter(content_type__model=model)
            for perm in perms:
                if perm.codename.split("_", 1)[0] in actions:
                    wanted.append(perm)
        group.permissions.set(wanted)
