"""What drops the portal dashboard's kept summaries (docs/performance.md, "Portal dashboard").

A member's dashboard is kept in the memory of the web process (`core.summaries.cached`,
`local=True`) under the generations of everything it shows: each of their sponsorships,
each family, each group, the member's own inbox and role, and the whole portal (the cost
table, the reminder sweep). The cache holds only those random tokens, never case data.

Saving or deleting a row the page shows drops its generation at once and again on commit
(a page rebuilt in between read the data from before the commit), through the signals
connected here. Services that write in bulk (`bulk_create`, a queryset `update()`) send no
signal and call the `*_changed` functions below themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models import Model
from django.db.models.signals import m2m_changed

from core.summaries import drop_now_and_on_commit, on_save_or_delete
from families.models import Family, HouseholdMember
from sponsorship.models import (
    ArrivalEstimate,
    CostTableEntry,
    Disbursement,
    Extension,
    GroupMessage,
    GroupMessageRead,
    InKindItem,
    Membership,
    Milestone,
    Reminder,
    Review,
    SponsorGroup,
    Sponsorship,
)

# Every member's dashboard: the cost table (every budget), the daily reminder sweep.
EVERYONE_KEY = "portal:generation"


def generation_key(kind: str, pk: object) -> str:
    """The generation of one sponsorship, family, group or user ("user": their inbox, their
    roles and memberships)."""
    return f"portal:{kind}:{pk}:generation"


def _changed(kind: str, ids: Iterable[object]) -> None:
    drop_now_and_on_commit(*[generation_key(kind, pk) for pk in dict.fromkeys(ids) if pk])


def sponsorships_changed(ids: Iterable[int]) -> None:
    _changed("sponsorship", ids)


def families_changed(ids: Iterable[int]) -> None:
    _changed("family", ids)


def users_changed(ids: Iterable[int]) -> None:
    """Their inbox (reminders, messages read), memberships or roles changed."""
    _changed("user", ids)


def everyone_changed() -> None:
    drop_now_and_on_commit(EVERYONE_KEY)


# The model whose rows the dashboard shows -> (which generation, the attribute naming it).
DEPENDS: dict[type[Model], tuple[str, str]] = {
    Sponsorship: ("sponsorship", "pk"),
    Milestone: ("sponsorship", "sponsorship_id"),
    Review: ("sponsorship", "sponsorship_id"),
    Disbursement: ("sponsorship", "sponsorship_id"),
    InKindItem: ("sponsorship", "sponsorship_id"),
    Extension: ("sponsorship", "sponsorship_id"),
    ArrivalEstimate: ("sponsorship", "sponsorship_id"),
    Family: ("family", "pk"),
    HouseholdMember: ("family", "family_id"),
    SponsorGroup: ("group", "pk"),
    GroupMessage: ("group", "group_id"),
    Reminder: ("user", "recipient_id"),
    GroupMessageRead: ("user", "user_id"),
    Membership: ("user", "user_id"),
}


def row_changed(sender: type[Model], instance: Model, **kwargs: object) -> None:
    """Signal receiver: a row the dashboard shows was saved or deleted."""
    if sender is CostTableEntry:
        everyone_changed()
        return
    if sender is get_user_model():
        users_changed([instance.pk])
        return
    kind, attribute = DEPENDS[sender]
    _changed(kind, [getattr(instance, attribute)])


def roles_changed(sender: type[Model], instance: Model, **kwargs: object) -> None:
    """Signal receiver: an account's roles (auth groups) changed, which decides the side its
    reminders are read from; from the group's side, `pk_set` names the accounts."""
    if kwargs.get("action") not in {"post_add", "post_remove", "post_clear"}:
        return
    if isinstance(instance, get_user_model()):
        users_changed([instance.pk])
    elif isinstance(kwargs.get("pk_set"), set | frozenset):
        users_changed(kwargs["pk_set"])  # type: ignore[arg-type]  # a set of user ids
    else:  # a group's accounts cleared: nobody says whose
        everyone_changed()


def connect_signals() -> None:
    """Called once by the sponsorship AppConfig.ready()."""
    user_model = get_user_model()
    on_save_or_delete(row_changed, [*DEPENDS, CostTableEntry, user_model], "portal")
    m2m_changed.connect(
        roles_changed, sender=user_model.groups.through, dispatch_uid="portal-user-roles"
    )
