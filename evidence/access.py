"""Who may see and add documents (one helper per object type, like sponsorship/access.py).

A document is in the case file's scope: staff who may open the family's case file
(families.access.families_visible_to: program managers, the assigned case worker, a case
worker who broke the glass) and members of the sponsorship's group; everyone else gets 404.
Each download writes a CaseFileAccess row.
"""

from __future__ import annotations

import uuid

from django.http import Http404

from evidence.models import Document
from families.access import families_visible_to
from sponsorship.access import PortalAccess, log_case_file_access
from sponsorship.models import Disbursement, InKindItem, Membership, Milestone, Review

Role = Membership.Role
# Money evidence is the treasurer's; plan evidence the coordinator's (docs/documents.md).
TARGET_ROLES: dict[str, set[str]] = {
    "disbursement": {Role.TREASURER},
    "in_kind_item": {Role.TREASURER, Role.COORDINATOR},
    "milestone": {Role.COORDINATOR},
    "review": {Role.COORDINATOR},
}
TARGET_MODELS: dict[str, type[Disbursement | InKindItem | Milestone | Review]] = {
    "disbursement": Disbursement,
    "in_kind_item": InKindItem,
    "milestone": Milestone,
    "review": Review,
}


def get_document_for_user(user, public_id: uuid.UUID, *, page: str) -> Document:
    """A clean document the user may download, logged as a download; else 404."""
    if not user.is_authenticated:
        raise Http404
    document = (
        Document.objects.servable().select_related("family").filter(public_id=public_id).first()
    )
    if document is None:
        raise Http404
    # Staff: the case file's own scope (assigned, or the glass broken; families/access.py).
    staff = families_visible_to(user).filter(pk=document.family_id).exists()
    member = (
        document.sponsorship_id is not None
        and Membership.objects.filter(
            user=user, group__sponsorships=document.sponsorship_id
        ).exists()
    )
    if not (staff or member):
        raise Http404
    log_case_file_access(user, [document.family_id], page=page, action="download")
    return document


def upload_targets(access: PortalAccess) -> list[str]:
    """The kinds of thing this member may attach evidence to."""
    return [name for name, roles in TARGET_ROLES.items() if access.role in roles]


def get_target_for_upload(access: PortalAccess, key: str):
    """`key` is "<target>:<public_id>" from the form; a target outside this sponsorship (an
    id changed by hand) is 404, a target the role may not use is 404 too."""
    name, _sep, raw_id = key.partition(":")
    if name not in upload_targets(access):
        raise Http404
    try:
        public_id = uuid.UUID(raw_id)
    except ValueError as exc:
        raise Http404 from exc
    target = (
        TARGET_MODELS[name]
        ._default_manager.filter(public_id=public_id, sponsorship=access.sponsorship)
        .first()
    )
    if target is None:
        raise Http404
    target.sponsorship = access.sponsorship
    return target
