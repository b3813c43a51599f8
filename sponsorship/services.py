"""Writes to sponsorships: each service sets its transaction boundary, validates with
`full_clean()` and refuses with a `ValidationError` a case worker can act on."""

from __future__ import annotations

import datetime
import hashlib
import secrets
import uuid
from collections.abc import Iterable
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.dates import add_months
from core.roles import CASE_WORKER, PROGRAM_MANAGER, has_role
from families.models import Family
from families.services import family_transition
from sponsorship.models import (
    BASE_SUPPORT_MONTHS,
    MAX_SUPPORT_MONTHS,
    CheckIn,
    Disbursement,
    Extension,
    GroupMessage,
    GroupMessageRead,
    Invitation,
    Membership,
    Milestone,
    MilestoneTemplate,
    Reminder,
    Review,
    ReviewTemplate,
    SponsorGroup,
    Sponsorship,
)


def _has_children(sponsorship: Sponsorship, on: datetime.date) -> bool:
    members = sponsorship.family.members.all()
    return any(m.relationship == "child" or ((m.age_on(on) or 99) < 18) for m in members)


def review_dates(sponsorship: Sponsorship) -> list[tuple[str, datetime.date]]:
    """The review schedule from the ReviewTemplate catalogue and the current support period:
    at month N (the end of month N after arrival), and N days before each period end (the
    original 12 months and the end after each approved extension)."""
    arrival = sponsorship.arrival_date
    if arrival is None:
        return []
    period_ends = [add_months(arrival, 12)]
    running = 12
    for extension in sponsorship.extensions.filter(status="approved").order_by("requested_on"):
        running = min(36, running + extension.months)
        period_ends.append(add_months(arrival, running))
    dates: dict[datetime.date, str] = {}
    for template in ReviewTemplate.objects.filter(is_active=True):
        if template.at_month:
            if template.at_month < sponsorship.committed_months:
                dates.setdefault(add_months(arrival, template.at_month), template.label)
        else:
            for end in period_ends:
                day = end - datetime.timedelta(days=template.days_before_period_end)
                dates.setdefault(day, template.label)
    return sorted(((label, day) for day, label in dates.items()), key=lambda pair: pair[1])


@transaction.atomic
def plan_generate(*, sponsorship: Sponsorship) -> tuple[int, int]:
    """Create the settlement plan (milestones) and review schedule after arrival.

    Idempotent: a milestone per template and a review per date are created once
    (named unique constraints), so calling it again after an extension adds only what
    is new. Returns (milestones created, reviews created).
    """
    arrival = sponsorship.arrival_date
    if arrival is None:
        return (0, 0)
    with_children = _has_children(sponsorship, arrival)
    existing_templates = set(
        sponsorship.milestones.filter(template__isnull=False).values_list("template_id", flat=True)
    )
    milestones = [
        Milestone(
            sponsorship=sponsorship,
            template=template,
            title=template.title,
            description=template.description,
            due_on=arrival + datetime.timedelta(days=template.offset_days),
        )
        for template in MilestoneTemplate.objects.filter(is_active=True)
        if template.pk not in existing_templates
        and (with_children or not template.only_with_children)
    ]
    Milestone.objects.bulk_create(milestones)
    existing_days = set(sponsorship.reviews.values_list("scheduled_for", flat=True))
    reviews = [
        Review(sponsorship=sponsorship, label=label, scheduled_for=day)
        for label, day in review_dates(sponsorship)
        if day not in existing_days
    ]
    Review.objects.bulk_create(reviews)
    return (len(milestones), len(reviews))


def _refuse_future(day: datetime.date | None, what: str) -> None:
    if day is not None and day > timezone.localdate():
        raise ValidationError(
            _("%(what)s cannot be in the future (%(day)s).") % {"what": what, "day": day}
        )


def _require_staff(user: AbstractBaseUser, *roles: str) -> None:
    if not has_role(user, *roles):
        if roles == (PROGRAM_MANAGER,):
            raise ValidationError(_("Only a program manager can do this."))
        raise ValidationError(_("Only HanVoice case-management staff can do this."))


# --- sponsor groups -------------------------------------------------------------------------

G = SponsorGroup.Status
GROUP_TRANSITIONS: dict[str, frozenset[str]] = {
    G.APPLIED: frozenset({G.SCREENING, G.WITHDRAWN}),
    G.SCREENING: frozenset({G.APPROVED, G.WITHDRAWN}),
    G.APPROVED: frozenset({G.ACTIVE, G.WITHDRAWN}),
    G.ACTIVE: frozenset({G.COMPLETED, G.WITHDRAWN}),
    G.COMPLETED: frozenset(),
    G.WITHDRAWN: frozenset(),
}


@transaction.atomic
def sponsor_group_transition(
    *, group: SponsorGroup, to_status: str, changed_by: AbstractBaseUser
) -> SponsorGroup:
    """Move a group along applied → screening → approved → active → completed / withdrawn."""
    _require_staff(changed_by, PROGRAM_MANAGER, CASE_WORKER)
    locked = SponsorGroup.objects.select_for_update().get(pk=group.pk)
    if to_status not in GROUP_TRANSITIONS[locked.status]:
        raise ValidationError(
            _("Sponsor group “%(name)s” is “%(current)s”; it cannot become “%(target)s”.")
            % {"name": locked.name, "current": G(locked.status).label, "target": G(to_status).label}
        )
    if to_status in (G.COMPLETED, G.WITHDRAWN) and locked.sponsorships.active().exists():
        raise ValidationError(
            _("Sponsor group “%(name)s” still supports a family: end that sponsorship first.")
            % {"name": locked.name}
        )
    locked.status = to_status
    locked.full_clean()
    locked.save(update_fields=["status"])
    group.status = locked.status
    return locked


@transaction.atomic
def sponsor_group_approve(
    *,
    group: SponsorGroup,
    approved_by: AbstractBaseUser,
    plan_approved_on: datetime.date | None = None,
) -> SponsorGroup:
    """HanVoice approves a screened group and its settlement plan (program managers only)."""
    _require_staff(approved_by, PROGRAM_MANAGER)
    plan_approved_on = plan_approved_on or timezone.localdate()
    _refuse_future(plan_approved_on, _("The settlement plan approval date"))
    if G.APPROVED not in GROUP_TRANSITIONS[group.status]:
        raise ValidationError(
            _(
                "Sponsor group “%(name)s” is “%(current)s”: only a group in screening can be "
                "approved."
            )
            % {"name": group.name, "current": G(group.status).label}
        )
    group.settlement_plan_approved_on = plan_approved_on
    group.settlement_plan_approved_by = approved_by
    group.save(update_fields=["settlement_plan_approved_on", "settlement_plan_approved_by"])
    return sponsor_group_transition(group=group, to_status=G.APPROVED, changed_by=approved_by)


# --- matching, arrival, the end -------------------------------------------------------------


@transaction.atomic
def sponsorship_match(
    *,
    family: Family,
    group: SponsorGroup,
    matched_by: AbstractBaseUser,
    kind: str = Sponsorship.Kind.PSR,
    matched_on: datetime.date | None = None,
    reason: str = "",
) -> Sponsorship:
    """Match an approved, vetted family with an approved (or active) sponsor group."""
    _require_staff(matched_by, PROGRAM_MANAGER, CASE_WORKER)
    matched_on = matched_on or timezone.localdate()
    _refuse_future(matched_on, _("The match date"))
    family = Family.objects.select_for_update().get(pk=family.pk)
    group = SponsorGroup.objects.select_for_update().get(pk=group.pk)
    if family.status != Family.Status.APPROVED:
        raise ValidationError(
            _("Family %(code)s is “%(status)s”: only an approved family can be matched.")
            % {"code": family.case_code, "status": Family.Status(family.status).label}
        )
    if not (family.ircc_reference and family.vetted_on):
        raise ValidationError(
            _("Family %(code)s has no IRCC vetting reference and date on file.")
            % {"code": family.case_code}
        )
    if group.status not in (G.APPROVED, G.ACTIVE) or not group.settlement_plan_approved_on:
        raise ValidationError(
            _(
                "Sponsor group “%(name)s” is “%(status)s”: only an approved or active group with "
                "an approved settlement plan can be matched."
            )
            % {"name": group.name, "status": G(group.status).label}
        )
    if matched_on < family.vetted_on:
        raise ValidationError(_("A family cannot be matched before IRCC vetting was completed."))
    sponsorship = Sponsorship(family=family, group=group, kind=kind, matched_on=matched_on)
    sponsorship.full_clean()
    try:
        with transaction.atomic():
            sponsorship.save()
    except IntegrityError as exc:  # a concurrent match won the one-active-sponsorship race
        raise ValidationError(
            _("Family %(code)s already has an active sponsorship.") % {"code": family.case_code}
        ) from exc
    family_transition(
        family=family,
        to_status=Family.Status.MATCHED,
        changed_by=matched_by,
        reason=reason or _("Matched with %(group)s.") % {"group": group.name},
    )
    if group.status == G.APPROVED:
        group.status = G.ACTIVE
        group.save(update_fields=["status"])
    return sponsorship


@transaction.atomic
def sponsorship_record_arrival(
    *, sponsorship: Sponsorship, arrival_date: datetime.date, recorded_by: AbstractBaseUser
) -> tuple[int, int]:
    """The family landed: set the arrival date, move the family to `arrived`, and create the
    settlement plan and review schedule. Returns (milestones, reviews) created."""
    _require_staff(recorded_by, PROGRAM_MANAGER, CASE_WORKER)
    sponsorship = (
        Sponsorship.objects.select_for_update().select_related("family").get(pk=sponsorship.pk)
    )
    code = sponsorship.family.case_code
    if not sponsorship.is_active:
        raise ValidationError(_("This sponsorship has ended; arrival cannot be recorded."))
    if sponsorship.arrival_date is not None:
        raise ValidationError(
            _("Family %(code)s's arrival was already recorded (%(day)s).")
            % {"code": code, "day": sponsorship.arrival_date}
        )
    if arrival_date > timezone.localdate():
        raise ValidationError(
            _("An arrival cannot be recorded before it happens: %(day)s is in the future.")
            % {"day": arrival_date}
        )
    if arrival_date < sponsorship.matched_on:
        raise ValidationError(
            _("The arrival date (%(day)s) is before the match (%(matched)s).")
            % {"day": arrival_date, "matched": sponsorship.matched_on}
        )
    family_transition(
        family=sponsorship.family,
        to_status=Family.Status.ARRIVED,
        changed_by=recorded_by,
        reason=_("Arrived in Canada on %(day)s.") % {"day": arrival_date},
    )
    sponsorship.arrival_date = arrival_date
    sponsorship.full_clean()
    sponsorship.save(update_fields=["arrival_date"])
    # The principal applicant's arrival opens the One-Year Window for later joiners.
    principal = sponsorship.family.members.filter(is_principal_applicant=True).first()
    if principal is not None and principal.arrived_on is None:
        principal.arrived_on = arrival_date
        principal.save(update_fields=["arrived_on"])
    return plan_generate(sponsorship=sponsorship)


END_OUTCOMES = (
    Sponsorship.Outcome.SELF_SUFFICIENT,
    Sponsorship.Outcome.COMPLETED,
    Sponsorship.Outcome.BREAKDOWN,
    Sponsorship.Outcome.WITHDRAWN,
)


@transaction.atomic
def sponsorship_end(
    *,
    sponsorship: Sponsorship,
    outcome: str,
    ended_by: AbstractBaseUser,
    reason: str,
    ended_on: datetime.date | None = None,
) -> Sponsorship:
    """Record how a sponsorship ended.

    - self-sufficient (early): needs a held review that concluded so;
    - completed: only once the committed support period has run out;
    - breakdown / withdrawn: a reason is required.
    After arrival the case file is closed; before arrival the family goes back to
    `approved` so it can be matched with another group.
    """
    _require_staff(ended_by, PROGRAM_MANAGER, CASE_WORKER)
    sponsorship = (
        # No with_period() here: PostgreSQL refuses FOR UPDATE with an aggregate.
        Sponsorship.objects.select_for_update()
        .select_related("family", "group")
        .get(pk=sponsorship.pk)
    )
    ended_on = ended_on or timezone.localdate()
    _refuse_future(ended_on, _("The end date"))
    if outcome not in END_OUTCOMES:
        raise ValidationError(_("Choose how the sponsorship ended."))
    if not sponsorship.is_active:
        raise ValidationError(_("This sponsorship has already ended."))
    if not reason.strip():
        raise ValidationError(_("Say why the sponsorship ends."))
    if ended_on < sponsorship.matched_on:
        raise ValidationError(_("A sponsorship cannot end before it was matched."))
    arrived = sponsorship.arrival_date is not None
    if outcome == Sponsorship.Outcome.SELF_SUFFICIENT:
        concluded = sponsorship.reviews.filter(
            held_on__isnull=False,
            held_on__lte=ended_on,
            outcome=Review.Outcome.SELF_SUFFICIENT,
        ).exists()
        if not concluded:
            raise ValidationError(
                _(
                    "Ending early as self-sufficient needs a held self-sufficiency review that "
                    "concluded so. Record that review first."
                )
            )
    if outcome == Sponsorship.Outcome.COMPLETED and (
        not arrived or ended_on < sponsorship.support_ends_on
    ):
        raise ValidationError(
            _(
                "The support period has not run out yet (it ends on %(day)s). To end it earlier, "
                "record a self-sufficiency review, a breakdown or a withdrawal."
            )
            % {"day": sponsorship.support_ends_on or "-"}
        )
    if arrived and ended_on < sponsorship.arrival_date:
        raise ValidationError(_("A sponsorship cannot end before the family arrived."))
    sponsorship.outcome = outcome
    sponsorship.ended_on = ended_on
    sponsorship.end_reason = reason
    sponsorship.full_clean()
    sponsorship.save(update_fields=["outcome", "ended_on", "end_reason"])
    family_transition(
        family=sponsorship.family,
        to_status=Family.Status.CLOSED if arrived else Family.Status.APPROVED,
        changed_by=ended_by,
        reason=_("Sponsorship ended (%(outcome)s): %(reason)s")
        % {"outcome": Sponsorship.Outcome(outcome).label, "reason": reason},
    )
    return sponsorship


# --- extensions -----------------------------------------------------------------------------


@transaction.atomic
def extension_request(
    *, sponsorship: Sponsorship, months: int, reason: str, requested_by: AbstractBaseUser
) -> Extension:
    """Ask for more months of support; refused when it would pass 36 months in total."""
    sponsorship = Sponsorship.objects.select_for_update().get(pk=sponsorship.pk)
    if not sponsorship.is_active or sponsorship.arrival_date is None:
        raise ValidationError(
            _("Only an active sponsorship of a family that has arrived can be extended.")
        )
    if not reason.strip():
        raise ValidationError(_("Say why the family needs more months of support."))
    pending = sum(
        sponsorship.extensions.filter(status=Extension.Status.REQUESTED).values_list(
            "months", flat=True
        )
    )
    _refuse_past_cap(sponsorship, months + pending)
    extension = Extension(
        sponsorship=sponsorship, months=months, reason=reason, requested_by=requested_by
    )
    extension.full_clean()
    extension.save()
    return extension


def _refuse_past_cap(sponsorship: Sponsorship, more_months: int) -> None:
    current = BASE_SUPPORT_MONTHS + sponsorship.extension_months
    if current + more_months > MAX_SUPPORT_MONTHS:
        raise ValidationError(
            _(
                "Support cannot go past %(max)s months in total: it is %(current)s months now, "
                "and %(more)s more (with any pending requests) would make %(total)s."
            )
            % {
                "max": MAX_SUPPORT_MONTHS,
                "current": current,
                "more": more_months,
                "total": current + more_months,
            }
        )


@transaction.atomic
def extension_approve(
    *, extension: Extension, approved_by: AbstractBaseUser, note: str = ""
) -> Extension:
    """A program manager approves an extension; the new period end gets its review."""
    if not has_role(approved_by, PROGRAM_MANAGER):
        raise ValidationError(_("Only a program manager can approve an extension."))
    sponsorship = Sponsorship.objects.select_for_update().get(pk=extension.sponsorship_id)
    extension = Extension.objects.select_for_update().get(pk=extension.pk)
    if extension.status != Extension.Status.REQUESTED:
        raise ValidationError(
            _("This extension was already decided (%(status)s).")
            % {"status": extension.get_status_display()}
        )
    if not sponsorship.is_active:
        raise ValidationError(_("This sponsorship has ended; it cannot be extended."))
    _refuse_past_cap(sponsorship, extension.months)
    extension.status = Extension.Status.APPROVED
    extension.decided_by = approved_by
    extension.decided_at = timezone.now()
    extension.decision_note = note
    extension.full_clean()
    extension.save()
    plan_generate(sponsorship=sponsorship)
    return extension


@transaction.atomic
def extension_refuse(*, extension: Extension, refused_by: AbstractBaseUser, note: str) -> Extension:
    if not has_role(refused_by, PROGRAM_MANAGER):
        raise ValidationError(_("Only a program manager can decide on an extension."))
    extension = Extension.objects.select_for_update().get(pk=extension.pk)
    if extension.status != Extension.Status.REQUESTED:
        raise ValidationError(_("This extension was already decided."))
    if not note.strip():
        raise ValidationError(_("Say why the extension is refused; the group will see it."))
    extension.status = Extension.Status.REFUSED
    extension.decided_by = refused_by
    extension.decided_at = timezone.now()
    extension.decision_note = note
    extension.full_clean()
    extension.save()
    return extension


# --- reviews and milestones -----------------------------------------------------------------


@transaction.atomic
def review_record(
    *,
    review: Review,
    held_on: datetime.date,
    reviewer: AbstractBaseUser,
    outcome: str,
    notes: str = "",
    **scores: int | None,
) -> Review:
    """Record a held self-sufficiency review: scores 1-5 per domain and its outcome."""
    _require_staff(reviewer, PROGRAM_MANAGER, CASE_WORKER)
    _refuse_future(held_on, _("The review date"))
    unknown = set(scores) - {"income", "housing", "language", "employment", "health", "social"}
    if unknown:
        raise ValueError(f"unknown score fields: {sorted(unknown)}")
    if not outcome:
        raise ValidationError(_("Choose the review's outcome."))
    review = Review.objects.select_for_update().get(pk=review.pk)
    review.held_on = held_on
    review.reviewer = reviewer
    review.outcome = outcome
    review.notes = notes or None
    for field, value in scores.items():
        setattr(review, field, value)
    review.full_clean()
    review.save()
    return review


@transaction.atomic
def milestone_waive(*, milestone: Milestone, waived_by: AbstractBaseUser, reason: str) -> Milestone:
    """Staff agree a settlement-plan item does not apply (e.g. a waiver the group asked for)."""
    _require_staff(waived_by, PROGRAM_MANAGER, CASE_WORKER)
    milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
    reason = (reason or milestone.waiver_reason).strip()
    if not reason:
        raise ValidationError(_("Say why this milestone is waived."))
    if milestone.completed_on is not None:
        raise ValidationError(_("“%(title)s” is already done.") % {"title": milestone.title})
    if milestone.waived_on is not None:
        raise ValidationError(_("“%(title)s” is already waived.") % {"title": milestone.title})
    milestone.waived_on = timezone.localdate()
    milestone.waived_by = waived_by
    milestone.waiver_reason = reason
    milestone.full_clean()
    milestone.save(update_fields=["waived_on", "waived_by", "waiver_reason"])
    return milestone


# --- portal services (sponsor group actions) ---
#
# Who may do what is the view's job (sponsorship/access.py); these services enforce what
# must hold whoever calls them: dates inside the support period and not in the future,
# amounts within a sanity bound of the plan, single-use invitations, one row per request token.


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
    *, sponsorship: Sponsorship, user, title: str, due_on: datetime.date, description: str = ""
) -> Milestone:
    """Add the group's own item to the settlement plan (e.g. "Winter tires for the car").

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
    milestone = Milestone(
        sponsorship=sponsorship,
        title=title,
        description=description.strip(),
        due_on=due_on,
        added_by_group=True,
    )
    milestone.full_clean()
    milestone.save()
    return milestone


@transaction.atomic
def milestone_request_waiver(*, milestone: Milestone, user, reason: str) -> Milestone:
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


def _note_line(user, text: str) -> str:
    who = user.get_full_name() or user.get_username()
    return f"{timezone.localdate().isoformat()} · {who}: {' '.join(text.split())}"


def _append_note(notes: str, user, text: str) -> str:
    line = _note_line(user, text)
    if notes.splitlines() and notes.splitlines()[-1] == line:
        return notes  # the same note by the same person today: a double submit
    return f"{notes}\n{line}" if notes else line


@transaction.atomic
def milestone_add_note(*, milestone: Milestone, user, text: str) -> Milestone:
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
    user,
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
        from sponsorship.reminders import notify_urgent_concern

        notify_urgent_concern(checkin=checkin)
    return checkin


@transaction.atomic
def disbursement_record(
    *,
    sponsorship: Sponsorship,
    user,
    kind: str,
    month_number: int,
    amount: Decimal,
    paid_on: datetime.date,
    method: str,
    note: str = "",
    request_token: uuid.UUID | None = None,
) -> Disbursement:
    """Record income support (or start-up money) paid to the family, against the plan."""
    from sponsorship.portal_selectors import budget_plan

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

    plan = budget_plan(sponsorship)
    if kind == Disbursement.Kind.START_UP:
        already = sponsorship.disbursements.filter(kind=kind).aggregate(t=models.Sum("amount"))
        planned = plan.start_up
    else:
        already = sponsorship.disbursements.filter(kind=kind, month_number=month_number).aggregate(
            t=models.Sum("amount")
        )
        planned = plan.monthly
    bound = planned * DISBURSEMENT_SANITY_FACTOR
    if (already["t"] or Decimal("0")) + amount > bound:
        raise ValidationError(
            {
                "amount": _(
                    "That is more than twice the plan (%(planned)s). Check the amount; "
                    "for an exceptional payment, ask your case worker."
                )
                % {"planned": f"${planned:,.2f}"}
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
def review_submit_group_input(*, review: Review, user, text: str) -> Review:
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
    from core import emails
    from core.roles import CASE_WORKER, PROGRAM_MANAGER, has_role

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
    user=None,
):
    """Use an invitation: create the account (or use the signed-in one with the same address)
    and the membership. Single use: the row is locked and marked accepted."""
    invitation = (
        Invitation.objects.select_for_update().filter(token_hash=_token_hash(token)).first()
    )
    problem = invitation_problem(invitation)
    if problem:
        raise ValidationError(problem)
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
    user,
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
    return changed + len(rows)
