"""Who wants which reminder by e-mail, and in which language."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from core.roles import CASE_WORKER, PROGRAM_MANAGER, has_role
from sponsorship.models import (
    LanguagePreference,
    NotificationPreference,
    ReminderRule,
)
from sponsorship.reminders.rules import GROUP_ROLES, Kind


def email_enabled(user_id: int, kind: str) -> bool:
    """E-mail is on unless the user turned it off for this kind (the inbox always shows it)."""
    pref = (
        NotificationPreference.objects.filter(user_id=user_id, kind=kind)
        .values_list("email_enabled", flat=True)
        .first()
    )
    return True if pref is None else pref


def kinds_for(user: User) -> list[str]:
    """The reminder kinds a user can receive: all for case-management staff; for a group
    member, those whose rule sends to group roles."""
    if has_role(user, PROGRAM_MANAGER, CASE_WORKER):
        return list(Kind.values)
    group_kinds = {
        rule.kind
        for rule in ReminderRule.objects.all()
        if set(rule.recipients or []) & {str(role) for role in GROUP_ROLES}
    }
    return [kind for kind in Kind.values if kind in group_kinds]


def email_preferences(user: User) -> dict[str, bool]:
    """Kind → e-mail on? for every kind the user can receive (default on)."""
    stored = dict(
        NotificationPreference.objects.filter(user=user).values_list("kind", "email_enabled")
    )
    return {kind: stored.get(kind, True) for kind in kinds_for(user)}


def email_language(user_id: int) -> str:
    """The language this person reads e-mails in (the site default when never set)."""
    stored = (
        LanguagePreference.objects.filter(user_id=user_id)
        .values_list("language", flat=True)
        .first()
    )
    return stored or settings.LANGUAGE_CODE


def language_preference_set(*, user: User, language: str) -> LanguagePreference:
    pref = LanguagePreference(user=user, language=language)
    pref.full_clean(validate_unique=False)
    LanguagePreference.objects.update_or_create(user=user, defaults={"language": language})
    return pref


def language_preference_remember(*, user: User, language: str) -> None:
    """At sign-in: keep the language the person browses in, unless they already chose one."""
    if language in dict(settings.LANGUAGES):
        LanguagePreference.objects.get_or_create(user=user, defaults={"language": language})


@transaction.atomic
def notification_preferences_set(*, user: User, email_kinds: Iterable[str]) -> dict[str, bool]:
    """Turn e-mail on for `email_kinds` and off for the user's other kinds. The in-app inbox
    is not affected: every reminder still appears there."""
    wanted = set(email_kinds)
    allowed = kinds_for(user)
    for kind in allowed:
        pref = NotificationPreference(user=user, kind=kind, email_enabled=kind in wanted)
        pref.full_clean(validate_unique=False, validate_constraints=False)
        NotificationPreference.objects.update_or_create(
            user=user, kind=kind, defaults={"email_enabled": kind in wanted}
        )
    return email_preferences(user)
