"""Who may see and do what in the sponsor portal (one helper per object type).

Only members of the sponsor group reach a sponsorship's pages: everyone else, staff
included, gets 404, so a URL does not even confirm that a case exists. Staff work in the
admin. Every successful look-up writes a `CaseFileAccess` row, so no view can forget it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.http import Http404

from families.models import CaseFileAccess
from sponsorship.models import Membership, Milestone, Review, Sponsorship

Role = Membership.Role


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
        Sponsorship.objects.with_period()
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
        Milestone.objects.filter(public_id=public_id)
        .values_list("sponsorship__public_id", flat=True)
        .first()
    )
    if sponsorship_id is None:
        raise Http404
    access = get_sponsorship_for_user(user, sponsorship_id, page=page, action=action)
    milestone = Milestone.objects.select_related("completed_by", "waiver_requested_by").get(
        public_id=public_id
    )
    milestone.sponsorship = access.sponsorship
    return milestone, access


def get_review_for_user(
    user, public_id: uuid.UUID, *, page: str = "portal", action: str = "view"
) -> tuple[Review, PortalAccess]:
    sponsorship_id = (
        Review.objects.filter(public_id=public_id)
        .values_list("sponsorship__public_id", flat=True)
        .first()
    )
    if sponsorship_id is None:
        raise Http404
    access = get_sponsorship_for_user(user, sponsorship_id, page=page, action=action)
    review = Review.objects.select_related("group_input_by").get(public_id=public_id)
    review.sponsorship = access.sponsorship
    return review, access
