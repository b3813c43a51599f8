"""Who may see which sponsorship, and what they may do: one scope per object type.

Two sides see sponsorships. In the sponsor portal, a person sees the sponsorships of the
groups they belong to, and nothing else: everyone else, staff included, gets 404, so a URL
does not even confirm that a case exists. On the staff side (the admin, reminders, the
digest), case-management staff see the sponsorships of the families in their case-file
scope (`staff_families`). Every list, detail page, inbox, reminder and admin queryset asks
the scope functions below (docs/domain.md "Who sees what"); every successful portal look-up
writes a `CaseFileAccess` row, so no view can forget it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from core.roles import CASE_WORKER, PROGRAM_MANAGER, has_role
from families.models import CaseFileAccess, Family
from sponsorship.models import (
    CheckIn,
    Disbursement,
    Extension,
    GroupMessage,
    Membership,
    Milestone,
    Reminder,
    Review,
    Sponsorship,
)

Role = Membership.Role
PORTAL = "portal"
STAFF = "staff"


# --- scopes ----------------------------------------------------------------------------------


def staff_families(user) -> QuerySet[Family] | None:
    """The families a staff member may see on the sponsorship side; None means all of them.

    The one hook for the case-file scope of families/ (which families a case worker is
    assigned, break-the-glass access): when families/ defines that scope, this returns it,
    and every staff-side list below follows. Until then, case-management staff see all
    families and everyone else none.
    """
    if has_role(user, PROGRAM_MANAGER, CASE_WORKER):
        return None
    return Family.objects.none()


def _group_ids(user) -> QuerySet:
    return Membership.objects.filter(user=user).values("group_id")


def sponsorship_scope(user, *, side: str = PORTAL, via: str = "") -> Q:
    """The condition "`user` may see this sponsorship" on a model reaching a sponsorship
    through `via` (e.g. "sponsorship__" for a milestone; "" for the sponsorship itself)."""
    if not getattr(user, "is_authenticated", False):
        return Q(pk__in=[])
    if side == PORTAL:
        return Q(**{f"{via}group_id__in": _group_ids(user)})
    families = staff_families(user)
    if families is None:  # every sponsorship (not Q(), which vanishes when OR-ed)
        return Q(**{f"{via}pk__isnull": False})
    return Q(**{f"{via}family_id__in": families.values("pk")})


def sponsorships_visible_to(user, *, side: str = PORTAL) -> QuerySet[Sponsorship]:
    return Sponsorship.objects.filter(sponsorship_scope(user, side=side))


def milestones_visible_to(user, *, side: str = PORTAL) -> QuerySet[Milestone]:
    return Milestone.objects.filter(sponsorship_scope(user, side=side, via="sponsorship__"))


def reviews_visible_to(user, *, side: str = PORTAL) -> QuerySet[Review]:
    return Review.objects.filter(sponsorship_scope(user, side=side, via="sponsorship__"))


def checkins_visible_to(user, *, side: str = PORTAL) -> QuerySet[CheckIn]:
    return CheckIn.objects.filter(sponsorship_scope(user, side=side, via="sponsorship__"))


def disbursements_visible_to(user, *, side: str = PORTAL) -> QuerySet[Disbursement]:
    return Disbursement.objects.filter(sponsorship_scope(user, side=side, via="sponsorship__"))


def extensions_visible_to(user, *, side: str = PORTAL) -> QuerySet[Extension]:
    return Extension.objects.filter(sponsorship_scope(user, side=side, via="sponsorship__"))


def group_messages_visible_to(user) -> QuerySet[GroupMessage]:
    """Messages from staff to the groups `user` belongs to."""
    if not getattr(user, "is_authenticated", False):
        return GroupMessage.objects.none()
    return GroupMessage.objects.filter(group_id__in=_group_ids(user))


def admin_scope(request, queryset: QuerySet, *, via: str = "", also: Q | None = None) -> QuerySet:
    """An admin queryset narrowed to the records the staff member may see. Someone the
    admin's permissions already refuse keeps the unnarrowed queryset, so they get the
    permission's 403 rather than a "no such record" redirect (roles decide actions, the
    scope decides records)."""
    opts = queryset.model._meta
    user = request.user
    if not (
        user.has_perm(f"{opts.app_label}.view_{opts.model_name}")
        or user.has_perm(f"{opts.app_label}.change_{opts.model_name}")
    ):
        return queryset
    scope = sponsorship_scope(user, side=STAFF, via=via)
    return queryset.filter(scope | also if also is not None else scope)


def side_of(user) -> str:
    """Where `user` sees sponsorships from: case-management staff on the staff side."""
    return STAFF if has_role(user, PROGRAM_MANAGER, CASE_WORKER) else PORTAL


def reminder_scope(user) -> Q:
    """A reminder `user` may read: addressed to them, not withdrawn, about a sponsorship they
    may still see (or about none, like the weekly digest of a staff member)."""
    about = sponsorship_scope(user, side=side_of(user), via="sponsorship__")
    return Q(recipient=user, cancelled_at__isnull=True) & (Q(sponsorship__isnull=True) | about)


def reminders_visible_to(user) -> QuerySet[Reminder]:
    if not getattr(user, "is_authenticated", False):
        return Reminder.objects.none()
    return Reminder.objects.filter(reminder_scope(user))


def may_receive(reminder: Reminder) -> bool:
    """Its recipient is still entitled to hear about it (checked again at send time): active,
    and the reminder's sponsorship (or group) still in their scope."""
    user = reminder.recipient
    if not user.is_active:
        return False
    if side_of(user) == STAFF:
        if reminder.sponsorship_id is None:
            return True
        return sponsorships_visible_to(user, side=STAFF).filter(pk=reminder.sponsorship_id).exists()
    if reminder.kind == Reminder.Kind.WEEKLY_DIGEST or reminder.group_id is None:
        return False
    return Membership.objects.filter(user=user, group_id=reminder.group_id).exists()


@dataclass(frozen=True)
class PortalAccess:
    """A group member's view of one sponsorship, and what their role lets them do."""

    sponsorship: Sponsorship
    role: str

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label)

    @property
    def can_edit_plan(self) -> bool:
        """Coordinators and treasurers tick off, add and ask to waive items."""
        return self.role in {Role.COORDINATOR, Role.TREASURER}

    @property
    def can_record_money(self) -> bool:
        return self.role == Role.TREASURER

    @property
    def can_name_responsible(self) -> bool:
        """The coordinator says which member answers for each plan item."""
        return self.role == Role.COORDINATOR

    @property
    def can_submit_review_input(self) -> bool:
        return self.role == Role.COORDINATOR

    @property
    def can_log_checkins(self) -> bool:
        """Any member may log a visit or call: members are often the ones who visit."""
        return True

    def require(self, allowed: bool) -> None:
        """Members of the group may know the page exists: a refused action is a 403."""
        if not allowed:
            raise PermissionDenied


def log_case_file_access(user, family_ids, *, page: str, action: str = "view") -> None:
    """One row per family shown, written on every view. Kept to one statement: a single row
    (most pages) is a plain INSERT, its own transaction in autocommit, without the
    BEGIN/COMMIT round trips `bulk_create` adds in case it needs several batches."""
    rows = [
        CaseFileAccess(user=user, family_id=fid, page=page[:200], action=action)
        for fid in dict.fromkeys(family_ids)
    ]
    if len(rows) == 1:
        rows[0].save(force_insert=True)
    elif rows:
        CaseFileAccess.objects.bulk_create(rows)


def get_sponsorship_for_user(
    user, public_id: uuid.UUID, *, page: str = "portal", action: str = "view"
) -> PortalAccess:
    """The sponsorship `public_id` of one of `user`'s groups, with their role; else 404."""
    if not user.is_authenticated:
        raise Http404
    role = Membership.objects.filter(user=user, group=OuterRef("group")).values("role")[:1]
    sponsorship = (
        sponsorships_visible_to(user)
        .with_period()  # type: ignore[attr-defined]  # SponsorshipQuerySet after filter()
        .select_related("family", "group")
        .annotate(portal_role=Subquery(role))
        .filter(public_id=public_id, portal_role__isnull=False)
        .first()
    )
    if sponsorship is None:
        raise Http404
    log_case_file_access(user, [sponsorship.family_id], page=page, action=action)
    return PortalAccess(sponsorship=sponsorship, role=sponsorship.portal_role)


def get_milestone_for_user(
    user, public_id: uuid.UUID, *, page: str = "portal", action: str = "view"
) -> tuple[Milestone, PortalAccess]:
    sponsorship_id = (
        milestones_visible_to(user)
        .filter(public_id=public_id)
        .values_list("sponsorship__public_id", flat=True)
        .first()
    )
    if sponsorship_id is None:
        raise Http404
    access = get_sponsorship_for_user(user, sponsorship_id, page=page, action=action)
    milestone = Milestone.objects.select_related(
        "completed_by", "waiver_requested_by", "responsible"
    ).get(public_id=public_id)
    milestone.sponsorship = access.sponsorship
    return milestone, access


def get_review_for_user(
    user, public_id: uuid.UUID, *, page: str = "portal", action: str = "view"
) -> tuple[Review, PortalAccess]:
    sponsorship_id = (
        reviews_visible_to(user)
        .filter(public_id=public_id)
        .values_list("sponsorship__public_id", flat=True)
        .first()
    )
    if sponsorship_id is None:
        raise Http404
    access = get_sponsorship_for_user(user, sponsorship_id, page=page, action=action)
    review = Review.objects.select_related("group_input_by").get(public_id=public_id)
    review.sponsorship = access.sponsorship
    return review, access
