"""Which families' case files a staff member may open (docs/security.md, "Need-to-know").

One scope function for families; the admin querysets of every case-file page (families,
sponsorships, milestones, extensions) filter through it:

- program managers: every family;
- case workers: the families assigned to them, plus any file they opened in the last
  `CASE_FILE_BREAK_GLASS_HOURS` by stating a reason (a `CaseFileAccess` row with action
  "break the glass", shown to program managers);
- everyone else (fundraising staff, sponsor groups): none.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.roles import CASE_WORKER, PROGRAM_MANAGER, has_role
from families.models import CaseFileAccess, Family

User = AbstractBaseUser | AnonymousUser


def glass_broken_since() -> datetime.datetime:
    return timezone.now() - datetime.timedelta(hours=settings.CASE_FILE_BREAK_GLASS_HOURS)


def families_visible_to(user: User) -> QuerySet[Family]:
    """The families whose case file `user` may open now."""
    if has_role(user, PROGRAM_MANAGER):
        return Family.objects.all()
    if has_role(user, CASE_WORKER):
        opened = CaseFileAccess.objects.filter(
            user=user, action=CaseFileAccess.Action.BREAK_GLASS, at__gte=glass_broken_since()
        ).values("family_id")
        return Family.objects.filter(Q(case_worker=user) | Q(pk__in=opened))
    return Family.objects.none()


def may_break_glass(user: User) -> bool:
    """Case workers may open an unassigned file by stating why; others need no glass (program
    managers see all) or get none (fundraising staff never see a case file)."""
    return has_role(user, CASE_WORKER) and not has_role(user, PROGRAM_MANAGER)
