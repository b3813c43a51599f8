"""Writes made by sponsor groups in the portal: plan items, check-ins, income support,
review input, invitations and the inbox.

Who may do what is the view's job (sponsorship/access.py); these services enforce what
must hold whoever calls them: dates inside the support period and not in the future,
amounts within a sanity bound of the plan, single-use invitations, one row per request token.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
import uuid
from collections.abc import Iterable
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core import emails
from core.money import format_money
from core.roles import CASE_WORKER, PROGRAM_MANAGER, has_role
from sponsorship import portal_cache
from sponsorship.budget import budget_for
from sponsorship.models import (
    CheckIn,
    Disbursement,
    GroupMessage,
    GroupMessageRead,
    Invitation,
    Membership,
    Milestone,
    PlanArea,
    Reminder,
    Review,
    SponsorGroup,
    Sponsorship,
    government_month_refusal,
)
from sponsorship.reminders import notify_urgent_concern
from sponsorship.services import family_income_record as family_income_record  # staff's rule

INVITATION_DAYS = 7
# A disbursement may exceed the cost-table plan (sponsors must pay at least the local RAP
# rate, which can be higher) but not absurdly: a month's payments, or all start-up payments,
# may total at most this multiple of the planned amount.
DISBURSEMENT_SANITY_FACTOR = Decimal("2")


def _period_bounds(sponsorship: Sponsorship) -> tuple[datetime.date, datetime.date]:
    """First and last day on which group activity may be dated: the match (or the arrival)
    through today, and never after the end of committed support."""
    start = sponsorship.matched_on
    today = timezone.localdate()
    end = min(today, sponsorship.support_ends_on) if sponsorship.support_ends_on else today
    return start, end


def _day(day: datetime.date) -> str:
    """A date in a message, as every page shows dates: in the reader's language."""
    return date_format(day, "DATE_FORMAT")


def _refuse_outside(day: datetime.date, sponsorship: Sponsorship, field: str) -> None:
    start, end = _period_bounds(sponsorship)
    if day > timezone.localdate():
        raise ValidationError({field: _("This date is in the future.")})
    if day < start or day > end:
        raise ValidationError(
            {
                field: _("Choose a date between %(start)s and %(end)s (the support period).")
                % {"start": _day(start), "end": _day(end)}
            }
        )


def _refuse_closed(milestone: Milestone) -> None:
    if milestone.waived_on:
        raise ValidationError(_("HanVoice has waived this item: it needs nothing more."))


@transaction.atomic
def milestone_complete(
    *, milestone: Milestone, user, completed_on: datetime.date, note: str = ""
) -> Milestone:
    """Mark a settlement-plan item done. Submitting the same completion twice is a no-op."""
    milestone = (
        Milestone.objects.select_for_update().select_related("sponsorship").get(pk=milestone.pk)
    )
    _refuse_closed(milestone)
    if milestone.completed_on:
        if milestone.completed_on == completed_on:
            return milestone  # a double submit: already recorded
        raise ValidationError(
            _("This item was already marked done on %(day)s.")
            % {"day": _day(milestone.completed_on)}
        )
    _refuse_outside(completed_on, milestone.sponsorship, "completed_on")
    milestone.completed_on = completed_on
    milestone.completed_by = user
    if note.strip():
        milestone.notes = _append_note(milestone.notes, user, note)
    milestone.full_clean()
    milestone.save(update_fields=["completed_on", "completed_by", "notes"])
    return milestone


@transaction.atomic
def milestone_add_group_item(
    *,
    sponsorship: Sponsorship,
    user,
    title: str,
    due_on: datetime.date,
    description: str = "",
    area: str = PlanArea.OTHER,
    responsible: User | None = None,
) -> Milestone:
    """Add the group's own item to the settlement plan (e.g. "Winter tires for the car"),
    with the member who answers for it if one is named (a member of the group only).

    The same title on the same due date is one item: a double submit returns it."""
    title = title.strip()
    if not title:
        raise ValidationError({"title": _("Give the item a title.")})
    start = sponsorship.arrival_date or sponsorship.matched_on
    end = sponsorship.support_ends_on
    if due_on < start or (end and due_on > end):
        raise ValidationError(
            {
                "due_on": _("Choose a due date between %(start)s and %(end)s (the support period).")
                % {"start": _day(start), "end": _day(end) if end else "…"}
            }
        )
    existing = sponsorship.milestones.filter(
        added_by_group=True, title__iexact=title, due_on=due_on
    ).first()
    if existing:
        return existing
    # A responsible member who is not in the group is refused by Milestone.clean().
    milestone = Milestone(
        sponsorship=sponsorship,
        title=title,
        description=description.strip(),
        due_on=due_on,
        area=area,
        responsible=responsible,
        added_by_group=True,
    )
    milestone.full_clean()
    milestone.save()
    return milestone


@transaction.atomic
def milestone_set_responsible(*, milestone: Milestone, responsible: User | None) -> Milestone:
    """Name the group member who answers for a plan item, or no one (None).

    Only a member of the sponsorship's group can be named. A different name is a different
    plan: the members are asked to acknowledge it again (evidence/plan.py)."""
    milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
    _refuse_closed(milestone)
    if (
        responsible is not None
        and not Membership.objects.filter(
            user=responsible, group__sponsorships=milestone.sponsorship_id
        ).exists()
    ):
        raise ValidationError(
            {"responsible": _("Choose a member of this sponsor group.")}, code="not_a_member"
        )
    milestone.responsible = responsible
    milestone.full_clean()
    milestone.save(update_fields=["responsible"])
    return milestone


@transaction.atomic
def milestone_request_waiver(*, milestone: Milestone, user: User, reason: str) -> Milestone:
    """Ask HanVoice staff to waive an item (a case worker decides in the admin)."""
    milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why this item should be waived.")})
    _refuse_closed(milestone)
    if milestone.completed_on:
        raise ValidationError(_("This item is already done: there is nothing to waive."))
    if milestone.waiver_requested_on:
        if milestone.waiver_reason == reason:
            return milestone  # a double submit
        raise ValidationError(_("A waiver was already requested; HanVoice staff will decide."))
    milestone.waiver_requested_on = timezone.localdate()
    milestone.waiver_requested_by = user
    milestone.waiver_reason = reason
    milestone.full_clean()
    milestone.save(update_fields=["waiver_requested_on", "waiver_requested_by", "waiver_reason"])
    return milestone


def _note_line(user: User, text: str) -> str:
    who = user.get_full_name() or user.get_username()
    return f"{timezone.localdate().isoformat()} · {who}: {' '.join(text.split())}"


def _append_note(notes: str, user: User, text: str) -> str:
    line = _note_line(user, text)
    if notes.splitlines() and notes.splitlines()[-1] == line:
        return notes  # the same note by the same person today: a double submit
    return f"{notes}\n{line}" if notes else line


@transaction.atomic
def milestone_add_note(*, milestone: Milestone, user: User, text: str) -> Milestone:
    """Any member may add a dated, signed note to an item (the plan's running record)."""
    if not text.strip():
        raise ValidationError({"text": _("Write the note first.")})
    if len(text) > 2000:
        raise ValidationError({"text": _("Keep a note under 2,000 characters.")})
    milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
    milestone.notes = _append_note(milestone.notes, user, text)
    milestone.full_clean()
    milestone.save(update_fields=["notes"])
    return milestone


@transaction.atomic
def checkin_create(
    *,
    sponsorship: Sponsorship,
    user: User,
    happened_on: datetime.date,
    kind: str,
    who: str,
    wellbeing: str,
    summary: str = "",
    concern_level: str = CheckIn.Concern.NONE,
    concern: str = "",
    request_token: uuid.UUID | None = None,
) -> CheckIn:
    """Log a visit or call. An urgent concern reaches the case worker at once.

    `request_token` is the form's one-time token: submitting it again returns the row
    already written instead of a second one."""
    if request_token:
        existing = CheckIn.objects.filter(request_token=request_token).first()
        if existing:
            if existing.sponsorship_id != sponsorship.pk:
                raise ValidationError(_("This form was already used. Reload the page."))
            return existing
    if not sponsorship.is_active:
        raise ValidationError(_("This sponsorship has ended: check-ins can no longer be logged."))
    _refuse_outside(happened_on, sponsorship, "happened_on")
    if concern_level != CheckIn.Concern.NONE and not concern.strip():
        raise ValidationError({"concern": _("Describe the concern so staff can act on it.")})
    checkin = CheckIn(
        sponsorship=sponsorship,
        happened_on=happened_on,
        kind=kind,
        who=who.strip(),
        wellbeing=wellbeing,
        summary=summary.strip() or None,
        concern_level=concern_level,
        concern=concern.strip() or None,
        logged_by=user,
        request_token=request_token,
    )
    checkin.full_clean()
    checkin.save()
    if checkin.concern_level == CheckIn.Concern.URGENT:
        notify_urgent_concern(checkin=checkin)
    return checkin


@transaction.atomic
def disbursement_record(
    *,
    sponsorship: Sponsorship,
    user: User,
    kind: str,
    month_number: int,
    amount: Decimal,
    paid_on: datetime.date,
    method: str,
    note: str = "",
    request_token: uuid.UUID | None = None,
) -> Disbursement:
    """Record income support (or start-up money) paid to the family, against the plan."""

    if request_token:
        existing = Disbursement.objects.filter(request_token=request_token).first()
        if existing:
            if existing.sponsorship_id != sponsorship.pk:
                raise ValidationError(_("This form was already used. Reload the page."))
            return existing
    # Lock the sponsorship so two treasurers' payments are checked against the bound in turn.
    Sponsorship.objects.select_for_update().filter(pk=sponsorship.pk).first()
    if sponsorship.arrival_date is None:
        raise ValidationError(_("Income support starts when the family arrives."))
    if amount is None or amount <= 0:
        raise ValidationError({"amount": _("Enter an amount greater than zero.")})
    if not 1 <= month_number <= sponsorship.committed_months:
        raise ValidationError(
            {
                "month_number": _("Choose a support month from 1 to %(months)s.")
                % {"months": sponsorship.committed_months}
            }
        )
    if kind == Disbursement.Kind.INCOME_SUPPORT and sponsorship.kind_rules.government_pays_income(
        month_number
    ):
        raise ValidationError({"month_number": government_month_refusal(sponsorship, month_number)})
    if kind == Disbursement.Kind.START_UP and not sponsorship.kind_rules.sponsor_owes_start_up:
        raise ValidationError(
            {
                "kind": _(
                    "In a %(kind)s the government pays the start-up costs, not the sponsor group."
                )
                % {"kind": sponsorship.get_kind_display()}
            }
        )
    current = sponsorship.current_month() or 1
    if month_number > current + 1:
        raise ValidationError(
            {
                "month_number": _(
                    "Month %(month)s has not started: record payments up to next month only."
                )
                % {"month": month_number}
            }
        )
    if paid_on < sponsorship.arrival_date - datetime.timedelta(days=14):
        raise ValidationError(
            {"paid_on": _("Payments start at most two weeks before the family arrives.")}
        )
    if paid_on > timezone.localdate():
        raise ValidationError({"paid_on": _("This date is in the future.")})
    if sponsorship.support_ends_on and paid_on > sponsorship.support_ends_on:
        raise ValidationError({"paid_on": _("This date is after the end of the support period.")})

    budget = budget_for(sponsorship)
    if kind == Disbursement.Kind.START_UP:
        already, planned = budget.start_up_paid, budget.start_up_planned
    else:
        month = budget.months[month_number - 1]
        already, planned = month.paid, month.planned
    bound = planned * DISBURSEMENT_SANITY_FACTOR
    if already + amount > bound:
        raise ValidationError(
            {
                "amount": _(
                    "That is more than twice the plan (%(planned)s). Check the amount; "
                    "for an exceptional payment, ask your case worker."
                )
                % {"planned": format_money(planned)}
            }
        )
    disbursement = Disbursement(
        sponsorship=sponsorship,
        kind=kind,
        month_number=month_number,
        amount=amount,
        paid_on=paid_on,
        method=method,
        note=note.strip(),
        recorded_by=user,
        request_token=request_token,
    )
    disbursement.full_clean()
    disbursement.save()
    return disbursement


@transaction.atomic
def review_submit_group_input(*, review: Review, user: User, text: str) -> Review:
    """The coordinator's input before a self-sufficiency review (may be revised until held)."""
    review = Review.objects.select_for_update().get(pk=review.pk)
    text = text.strip()
    if not text:
        raise ValidationError({"text": _("Write the group's input first.")})
    if review.held_on:
        raise ValidationError(_("This review has already been held: its record is closed."))
    review.group_input = text
    review.group_input_by = user
    review.group_input_at = timezone.now()
    review.full_clean()
    review.save(update_fields=["group_input", "group_input_by", "group_input_at"])
    return review


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def invitation_create(
    *, email: str, group: SponsorGroup, role: str, invited_by, days: int = INVITATION_DAYS
) -> tuple[Invitation, str]:
    """Invite someone to a sponsor group; e-mail them a single-use link (sent on commit).

    Returns the invitation and the raw token (only its hash is stored). Earlier unused
    invitations for the same address and group stop working."""

    if not has_role(invited_by, PROGRAM_MANAGER, CASE_WORKER):
        raise ValidationError(_("Only program managers and case workers can invite members."))
    email = get_user_model().objects.normalize_email(email.strip()).lower()
    if group.status in {SponsorGroup.Status.COMPLETED, SponsorGroup.Status.WITHDRAWN}:
        raise ValidationError({"group": _("This group is no longer active.")})
    if Membership.objects.filter(group=group, user__email__iexact=email).exists():
        raise ValidationError({"email": _("This person is already a member of the group.")})
    now = timezone.now()
    Invitation.objects.filter(
        email__iexact=email, group=group, accepted_at__isnull=True, expires_at__gt=now
    ).update(expires_at=now)
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        email=email,
        group=group,
        role=role,
        token_hash=_token_hash(token),
        invited_by=invited_by,
        created_at=now,
        expires_at=now + datetime.timedelta(days=days),
    )
    invitation.full_clean()
    invitation.save()
    from django.urls import reverse

    context = {
        "group_name": group.name,
        "role": invitation.get_role_display(),
        "accept_url": reverse("portal:invitation-accept", kwargs={"token": token}),
        "expires_at": invitation.expires_at,
        "days": days,
    }
    transaction.on_commit(lambda: emails.send("invitation", [email], context))
    return invitation, token


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation a link's token opens, or None (unknown tokens and used ones alike)."""
    return Invitation.objects.select_related("group").filter(token_hash=_token_hash(token)).first()


def invitation_problem(invitation: Invitation | None) -> str | None:
    """Why an invitation link can't be used, in words for the invitee; None when it can."""
    if invitation is None:
        return _("This invitation link is not valid. Check that you copied all of it.")
    if invitation.accepted_at:
        return _("This invitation has already been used. Sign in with your e-mail address.")
    if invitation.expires_at <= timezone.now():
        return _("This invitation has expired. Ask HanVoice staff to send you a new one.")
    return None


@transaction.atomic
def invitation_accept(
    *,
    token: str,
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    user: User | None = None,
):
    """Use an invitation: create the account (or use the signed-in one with the same address)
    and the membership. Single use: the row is locked and marked accepted."""
    invitation = (
        Invitation.objects.select_for_update().filter(token_hash=_token_hash(token)).first()
    )
    problem = invitation_problem(invitation)
    if invitation is None or problem:  # no invitation always has a problem
        raise ValidationError(problem or "")
    user_model = get_user_model()
    existing = user_model.objects.filter(email__iexact=invitation.email).order_by("pk").first()
    if existing is not None:
        if user is None or not user.is_authenticated or user.pk != existing.pk:
            raise ValidationError(
                _("An account with this e-mail address exists: sign in first, then open the link.")
            )
        account = existing
    else:
        if not password:
            raise ValidationError({"password1": _("Choose a password.")})
        account = user_model(
            username=invitation.email,
            email=invitation.email,
            first_name=first_name.strip(),
            last_name=last_name.strip(),
        )
        try:
            validate_password(password, account)
        except ValidationError as exc:
            raise ValidationError({"password1": exc.messages}) from exc
        account.set_password(password)
        account.full_clean()
        account.save()
    Membership.objects.get_or_create(
        user=account, group=invitation.group, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.accepted_user = account
    invitation.save(update_fields=["accepted_at", "accepted_user"])
    return account


@transaction.atomic
def inbox_mark_read(
    *,
    user: User,
    reminder_ids: Iterable[int] = (),
    message_ids: Iterable[uuid.UUID] = (),
    everything: bool = False,
) -> int:
    """Mark the user's reminders and their groups' messages read. Returns how many changed.

    Only the user's own reminders and messages of groups they belong to are touched:
    anything else named is ignored."""
    now = timezone.now()
    reminders = Reminder.objects.filter(recipient=user, read_at__isnull=True)
    messages = GroupMessage.objects.filter(group__memberships__user=user).exclude(
        groupmessageread__user=user
    )
    if not everything:
        reminders = reminders.filter(pk__in=list(reminder_ids))
        messages = messages.filter(public_id__in=list(message_ids))
    changed = reminders.update(read_at=now)
    rows = [GroupMessageRead(message=m, user=user, read_at=now) for m in messages.distinct()]
    GroupMessageRead.objects.bulk_create(rows, ignore_conflicts=True)
    portal_cache.users_changed([user.pk])  # update() and bulk_create send no signal
    return changed + len(rows)
