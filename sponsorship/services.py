"""Writes to sponsorships: each service sets its transaction boundary, validates with
`full_clean()` and refuses with a `ValidationError` a case worker can act on."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.roles import CASE_WORKER, PROGRAM_MANAGER, has_role
from families.models import Family, one_year_window_closes
from families.services import family_transition
from sponsorship.models import (
    Extension,
    Milestone,
    MilestoneTemplate,
    Review,
    ReviewTemplate,
    SponsorGroup,
    Sponsorship,
)
from sponsorship.period import MAX_SUPPORT_MONTHS, Period


def _has_children(sponsorship: Sponsorship, on: datetime.date) -> bool:
    members = sponsorship.family.members.all()
    return any(m.relationship == "child" or ((m.age_on(on) or 99) < 18) for m in members)


def milestone_due_on(template: MilestoneTemplate, arrival: datetime.date) -> datetime.date:
    """When a catalogue item falls due for a family that arrived on `arrival`: `offset_days`
    after arrival, or the day the One-Year Window closes (a calendar rule, not a day count:
    docs/domain.md "The One-Year Window")."""
    if template.due_at_one_year_window:
        return one_year_window_closes(arrival)
    return arrival + datetime.timedelta(days=template.offset_days)


def review_schedule(
    period: Period, templates: Iterable[ReviewTemplate]
) -> list[tuple[str, datetime.date]]:
    """Review dates from the catalogue: at the end of month N, and N days before each period
    end (the base period and the end after each approved extension)."""
    dates: dict[datetime.date, str] = {}
    for template in templates:
        if template.at_month:
            if template.at_month < period.committed_months:
                dates.setdefault(period.month_starts_on(template.at_month + 1), template.label)
        else:
            for end in period.period_ends():
                day = end - datetime.timedelta(days=template.days_before_period_end)
                dates.setdefault(day, template.label)
    return sorted(((label, day) for day, label in dates.items()), key=lambda pair: pair[1])


def review_dates(sponsorship: Sponsorship) -> list[tuple[str, datetime.date]]:
    """The review schedule of `sponsorship`'s current support period."""
    if sponsorship.arrival_date is None:
        return []
    approved = sponsorship.extensions.filter(status=Extension.Status.APPROVED)
    period = Period(
        sponsorship.arrival_date,
        tuple(approved.order_by("requested_on", "pk").values_list("months", flat=True)),
        sponsorship.kind_rules.base_months,
    )
    return review_schedule(period, ReviewTemplate.objects.filter(is_active=True))


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
            due_on=milestone_due_on(template, arrival),
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


def _require_staff(user: User, *roles: str) -> None:
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
    *, group: SponsorGroup, to_status: str, changed_by: User
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
    approved_by: User,
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
    matched_by: User,
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
    *, sponsorship: Sponsorship, arrival_date: datetime.date, recorded_by: User
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
    ended_by: User,
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
    *, sponsorship: Sponsorship, months: int, reason: str, requested_by: User
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
    current = sponsorship.committed_months
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
def extension_approve(*, extension: Extension, approved_by: User, note: str = "") -> Extension:
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
def extension_refuse(*, extension: Extension, refused_by: User, note: str) -> Extension:
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
    reviewer: User,
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
def milestone_waive(*, milestone: Milestone, waived_by: User, reason: str) -> Milestone:
    """Staff agree a settlement-plan item does not apply (e.g. a waiver the group asked for)."""
    _require_staff(waived_by, PROGRAM_MANAGER, CASE_WORKER)
    milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
    reason = (reason or milestone.waiver_reason or "").strip()
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
