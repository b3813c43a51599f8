"""The weekly digest: everything open for one person, in one message."""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.db.models import Q
from django.urls import reverse

from core.roles import PROGRAM_MANAGER, has_role
from sponsorship.access import STAFF, sponsorship_scope
from sponsorship.models import (
    Extension,
    Milestone,
    Review,
    Sponsorship,
)
from sponsorship.reminders.content import safe_milestone_title, site_link, staff_link


def digest_context(user, today: datetime.date) -> dict:
    """Overdue and due-next-week items for the staff member, by group, case codes only.

    Program managers see every active sponsorship; a case worker sees the families
    assigned to them. A constant number of queries, whatever the program's size.
    """
    week_end = today + datetime.timedelta(days=7)
    scope = sponsorship_scope(user, side=STAFF, via="sponsorship__")
    scope &= Q(sponsorship__outcome=Sponsorship.Outcome.ACTIVE)
    if not has_role(user, PROGRAM_MANAGER):  # what is theirs to act on, within what they see
        scope &= Q(sponsorship__family__case_worker=user)
    related = ("sponsorship__group", "sponsorship__family")
    items: dict[tuple[str, str], list[dict]] = defaultdict(list)

    def add(obj, kind: str, day: datetime.date, state: str, **extra) -> None:
        s = obj.sponsorship
        items[(s.group.name, s.family.case_code)].append(
            {"kind": kind, "date": day, "state": state, "days": (today - day).days, **extra}
        )

    for m in Milestone.objects.open().filter(scope, due_on__lt=week_end).select_related(*related):
        state = "overdue" if m.due_on < today else "due"
        add(m, "milestone", m.due_on, state, title=safe_milestone_title(m))
    reviews = Review.objects.filter(scope, held_on__isnull=True, scheduled_for__lt=week_end)
    for r in reviews.select_related(*related):
        state = "overdue" if r.scheduled_for < today else "due"
        add(r, "review", r.scheduled_for, state, title=r.label)
    pending = Extension.objects.filter(scope, status=Extension.Status.REQUESTED)
    for e in pending.select_related(*related):
        add(e, "extension", e.requested_on, "pending", months=e.months)

    groups: dict[str, list[dict]] = defaultdict(list)
    for (group_name, case_code), entries in sorted(items.items()):
        entries.sort(key=lambda entry: entry["date"])
        groups[group_name].append({"case_code": case_code, "items": entries})
    counts = defaultdict(int)
    for entries in items.values():
        for entry in entries:
            counts[entry["state"]] += 1
    return {
        "recipient_first_name": user.first_name,
        "today": today,
        "week_end": week_end,
        "groups": [{"name": name, "families": fams} for name, fams in groups.items()],
        "overdue_count": counts["overdue"],
        "due_count": counts["due"],
        "pending_count": counts["pending"],
        "link": staff_link(None),
        "preferences_link": site_link(reverse("notification-preferences")),
    }
