"""Writes to sponsorships: each service sets its transaction boundary, validates with
`full_clean()` and refuses with a `ValidationError` a case worker can act on."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.dates import add_months, shown
from core.money import format_money
from core.roles import CASE_WORKER, PROGRAM_MANAGER, has_role
from families.models import Family, HouseholdMember, one_year_window_closes
from families.services import family_transition
from sponsorship import portal_cache
from sponsorship.budget import budget_for
from sponsorship.models import (
    ArrivalEstimate,
    Extension,
    FamilyIncome,
    Membership,
    Milestone,
    MilestoneTemplate,
    PlanArea,
    Review,
    ReviewTemplate,
    SponsorGroup,
    Sponsorship,
    SupportReduction,
)
from sponsorship.period import MAX_SUPPORT_MONTHS, Period
from sponsorship.rap import EMPLOYMENT_SHARE, family_income, reduction_allowed


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
        elif template.days_before_period_end is not None:  # a constraint: one or the other
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

    Pre-arrival items (negative offsets) are scheduled from the expected arrival
    (`schedule_before_arrival`), never here: created on arrival day they would already be
    overdue. Nothing falls due before the group was matched (a group that takes over after
    a breakdown is not late for what its predecessor did).
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
            area=template.area,
            due_on=milestone_due_on(template, arrival),
        )
        for template in MilestoneTemplate.objects.filter(is_active=True, offset_days__gte=0)
        if template.pk not in existing_templates
        and (with_children or not template.only_with_children)
    ]
    milestones = [m for m in milestones if m.due_on >= sponsorship.matched_on]
    Milestone.objects.bulk_create(milestones)
    existing_days = set(sponsorship.reviews.values_list("scheduled_for", flat=True))
    reviews = [
        Review(sponsorship=sponsorship, label=label, scheduled_for=day)
        for label, day in review_dates(sponsorship)
        if day not in existing_days and day >= sponsorship.matched_on
    ]
    Review.objects.bulk_create(reviews)
    portal_cache.sponsorships_changed([sponsorship.pk])  # bulk_create sends no signal
    return (len(milestones), len(reviews))


def schedule_before_arrival(
    *, sponsorship: Sponsorship, expected_on: datetime.date, previous: datetime.date | None
) -> int:
    """Schedule the pre-arrival items of the catalogue from the expected arrival, and move
    the open ones when the date moves (a delayed flight): catalogue items to their offset
    from the new date, items the group added by as many days as the flight moved. Returns
    the number of milestones created."""
    today = timezone.localdate()
    with_children = _has_children(sponsorship, expected_on)
    open_items = list(
        sponsorship.milestones.open().select_related("template").filter(due_on__lt=previous)
        if previous
        else []
    )
    for milestone in open_items:
        if milestone.template is not None and milestone.template.offset_days < 0:
            milestone.due_on = expected_on + datetime.timedelta(days=milestone.template.offset_days)
        elif milestone.template is None and previous is not None:  # open_items needs previous
            milestone.due_on += expected_on - previous
        else:
            continue
        milestone.save(update_fields=["due_on"])
    existing = set(
        sponsorship.milestones.filter(template__isnull=False).values_list("template_id", flat=True)
    )
    created = [
        Milestone(
            sponsorship=sponsorship,
            template=template,
            title=template.title,
            description=template.description,
            area=template.area,
            due_on=max(today, expected_on + datetime.timedelta(days=template.offset_days)),
        )
        for template in MilestoneTemplate.objects.filter(is_active=True, offset_days__lt=0)
        if template.pk not in existing and (with_children or not template.only_with_children)
    ]
    Milestone.objects.bulk_create(created)
    portal_cache.sponsorships_changed([sponsorship.pk])  # bulk_create sends no signal
    return len(created)


def _refuse_future(day: datetime.date | None, what: str) -> None:
    if day is not None and day > timezone.localdate():
        raise ValidationError(
            _("%(what)s cannot be in the future (%(day)s).") % {"what": what, "day": shown(day)}
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


ARRIVAL_EARLIER_THAN_EXPECTED_DAYS = 30


def _refuse_inactive_or_arrived(sponsorship: Sponsorship) -> None:
    if not sponsorship.is_active:
        raise ValidationError(_("This sponsorship has ended; its arrival cannot change."))
    if sponsorship.arrival_date is not None:
        raise ValidationError(
            _("Family %(code)s's arrival was already confirmed (%(day)s).")
            % {"code": sponsorship.family.case_code, "day": shown(sponsorship.arrival_date)}
        )


@transaction.atomic
def sponsorship_set_expected_arrival(
    *,
    sponsorship: Sponsorship,
    expected_on: datetime.date,
    source: str,
    recorded_by: User,
    nat_received_on: datetime.date | None = None,
    note: str = "",
) -> ArrivalEstimate:
    """Record when the family is expected to land (from the NAT or an estimate); editable
    until the arrival is confirmed. Each change is a new row (the history of a delayed
    flight stays); the pre-arrival items of the plan are scheduled from, or moved to, the
    new date. A NAT means the flight is booked: the family moves to "travel booked"."""
    _require_staff(recorded_by, PROGRAM_MANAGER, CASE_WORKER)
    sponsorship = (
        Sponsorship.objects.select_for_update().select_related("family").get(pk=sponsorship.pk)
    )
    _refuse_inactive_or_arrived(sponsorship)
    today = timezone.localdate()
    errors: dict[str, str] = {}
    if expected_on < today:
        errors["expected_on"] = _(
            "The expected arrival (%(day)s) is in the past. If the family has landed, confirm "
            "the arrival instead."
        ) % {"day": shown(expected_on)}
    elif expected_on > add_months(today, 12):
        errors["expected_on"] = _(
            "The expected arrival (%(day)s) is more than a year ahead; enter it once IRCC gives "
            "a date within the year."
        ) % {"day": shown(expected_on)}
    if source == ArrivalEstimate.Source.NAT:
        if nat_received_on is None:
            errors["nat_received_on"] = _("Enter the day the Notice of Arrival was received.")
        elif nat_received_on > today:
            errors["nat_received_on"] = _("The Notice of Arrival cannot be received in the future.")
        elif nat_received_on < sponsorship.matched_on:
            errors["nat_received_on"] = _(
                "The Notice of Arrival (%(day)s) is dated before the match (%(matched)s)."
            ) % {"day": shown(nat_received_on), "matched": shown(sponsorship.matched_on)}
    elif nat_received_on is not None:
        errors["nat_received_on"] = _(
            "An estimate has no Notice of Arrival date: choose the NAT as the source, or leave "
            "this empty."
        )
    if errors:
        raise ValidationError(errors)
    previous = sponsorship.expected_arrival_on
    estimate = ArrivalEstimate(
        sponsorship=sponsorship,
        expected_on=expected_on,
        source=source,
        nat_received_on=nat_received_on,
        note=note.strip(),
        recorded_by=recorded_by,
    )
    estimate.full_clean()
    estimate.save()
    schedule_before_arrival(sponsorship=sponsorship, expected_on=expected_on, previous=previous)
    if source == ArrivalEstimate.Source.NAT and sponsorship.family.status == Family.Status.MATCHED:
        family_transition(
            family=sponsorship.family,
            to_status=Family.Status.TRAVEL,
            changed_by=recorded_by,
            reason=_("Notice of Arrival received: arrival expected on %(day)s.")
            % {"day": shown(expected_on)},
        )
    return estimate


@transaction.atomic
def sponsorship_record_arrival(
    *, sponsorship: Sponsorship, arrival_date: datetime.date, recorded_by: User
) -> tuple[int, int]:
    """The family landed: the arrival date is day 0. Moves the family to `arrived` and
    creates the settlement plan after arrival and the review schedule from the actual date
    (which may differ from the expected one). Returns (milestones, reviews) created."""
    _require_staff(recorded_by, PROGRAM_MANAGER, CASE_WORKER)
    sponsorship = (
        Sponsorship.objects.select_for_update().select_related("family").get(pk=sponsorship.pk)
    )
    _refuse_inactive_or_arrived(sponsorship)
    if arrival_date > timezone.localdate():
        raise ValidationError(
            {
                "arrival_date": _(
                    "An arrival cannot be recorded before it happens: %(day)s is in the future. "
                    "Record the expected arrival instead."
                )
                % {"day": shown(arrival_date)}
            }
        )
    if arrival_date < sponsorship.matched_on:
        raise ValidationError(
            {
                "arrival_date": _("The arrival date (%(day)s) is before the match (%(matched)s).")
                % {"day": shown(arrival_date), "matched": shown(sponsorship.matched_on)}
            }
        )
    expected = sponsorship.expected_arrival_on
    if expected and arrival_date < expected - datetime.timedelta(
        days=ARRIVAL_EARLIER_THAN_EXPECTED_DAYS
    ):
        raise ValidationError(
            {
                "arrival_date": _(
                    "%(day)s is more than %(n)s days before the expected arrival (%(expected)s): "
                    "check the date."
                )
                % {
                    "day": shown(arrival_date),
                    "n": ARRIVAL_EARLIER_THAN_EXPECTED_DAYS,
                    "expected": shown(expected),
                }
            }
        )
    family_transition(
        family=sponsorship.family,
        to_status=Family.Status.ARRIVED,
        changed_by=recorded_by,
        reason=_("Arrived in Canada on %(day)s.") % {"day": shown(arrival_date)},
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
    Sponsorship.Outcome.DEFAULT,
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
    - default (the sponsor cannot show it met its duties) / withdrawn: a reason is required;
    - breakdown is a workflow of its own: `sponsorship_record_breakdown`.
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
    if outcome == Sponsorship.Outcome.BREAKDOWN:
        raise ValidationError(
            {
                "outcome": _(
                    "A breakdown is recorded with the day IRCC was told and what happens to the "
                    "family: use “Record a breakdown”."
                )
            }
        )
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
    ends_on = sponsorship.support_ends_on  # None before arrival
    if outcome == Sponsorship.Outcome.COMPLETED and (ends_on is None or ended_on < ends_on):
        raise ValidationError(
            _(
                "The support period has not run out yet (it ends on %(day)s). To end it earlier, "
                "record a self-sufficiency review, a breakdown or a withdrawal."
            )
            % {"day": shown(sponsorship.support_ends_on)}
        )
    if sponsorship.arrival_date is not None and ended_on < sponsorship.arrival_date:
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


# Support-continuity items after a breakdown: (days after the breakdown, title, what to do).
CONTINUITY_MILESTONES: tuple[tuple[int, str, str, str], ...] = (
    (
        0,
        gettext_noop("Family told what happens next, with an interpreter"),
        gettext_noop("Explain the change of support to the family in their language."),
        PlanArea.ORIENTATION,
    ),
    (
        7,
        gettext_noop("Next month's income support confirmed without a gap"),
        gettext_noop("Confirm who pays the next month and on what day."),
        PlanArea.INCOME_SUPPORT,
    ),
    (
        14,
        gettext_noop("Settlement plan and records handed over"),
        gettext_noop("Open plan items, receipts and the review schedule go to whoever takes over."),
        PlanArea.ORIENTATION,
    ),
    (
        30,
        gettext_noop("Check-in with the family after the change"),
        gettext_noop("Make sure housing, income and health coverage continue."),
        PlanArea.OTHER,
    ),
)


def _group_for_transfer(new_group: SponsorGroup | None, old_group_id: int) -> SponsorGroup:
    """The group that takes the family over, or the reason it cannot."""
    if new_group is None:
        raise ValidationError({"new_group": _("Choose the sponsor group that takes over.")})
    if new_group.pk == old_group_id:
        raise ValidationError(
            {"new_group": _("The family is transferred to another group, not the same one.")}
        )
    if new_group.status not in (G.APPROVED, G.ACTIVE) or not new_group.settlement_plan_approved_on:
        raise ValidationError(
            {
                "new_group": _(
                    "Sponsor group “%(name)s” is “%(status)s”: only an approved or active group "
                    "with an approved settlement plan can take over."
                )
                % {"name": new_group.name, "status": G(new_group.status).label}
            }
        )
    return new_group


@transaction.atomic
def sponsorship_record_breakdown(
    *,
    sponsorship: Sponsorship,
    ircc_notified_on: datetime.date,
    resolution: str,
    reason: str,
    recorded_by: User,
    ended_on: datetime.date | None = None,
    new_group: SponsorGroup | None = None,
) -> Sponsorship:
    """IRCC declared that the sponsor cannot or will not meet its undertaking.

    The sponsorship ends as a breakdown with the day IRCC was told and what happens to the
    family: transferred to another group (a new sponsorship continues the same support
    period from the same arrival; the open plan items and reviews move to it), government
    income support, or another arrangement. Support-continuity milestones are created on
    the sponsorship that carries on (the new one), or on this one otherwise. Returns the
    sponsorship that continues (the new one on a transfer, else this one)."""
    _require_staff(recorded_by, PROGRAM_MANAGER, CASE_WORKER)
    sponsorship = (
        Sponsorship.objects.select_for_update()
        .select_related("family", "group")
        .get(pk=sponsorship.pk)
    )
    ended_on = ended_on or timezone.localdate()
    today = timezone.localdate()
    if not sponsorship.is_active:
        raise ValidationError(_("This sponsorship has already ended."))
    errors: dict[str, str] = {}
    if ircc_notified_on > today:
        errors["ircc_notified_on"] = _("IRCC cannot be told in the future (%(day)s).") % {
            "day": shown(ircc_notified_on)
        }
    elif ircc_notified_on < sponsorship.matched_on:
        errors["ircc_notified_on"] = _("This date is before the match (%(matched)s).") % {
            "matched": shown(sponsorship.matched_on)
        }
    if ended_on > today:
        errors["ended_on"] = _("The end date cannot be in the future (%(day)s).") % {
            "day": shown(ended_on)
        }
    elif ended_on < sponsorship.matched_on or (
        sponsorship.arrival_date and ended_on < sponsorship.arrival_date
    ):
        errors["ended_on"] = _("A sponsorship cannot end before it began.")
    if resolution not in Sponsorship.BreakdownResolution.values:
        errors["resolution"] = _("Choose what happens to the family.")
    if not reason.strip():
        errors["reason"] = _("Say why the sponsorship broke down.")
    if errors:
        raise ValidationError(errors)
    taker = (
        _group_for_transfer(new_group, sponsorship.group_id)
        if resolution == Sponsorship.BreakdownResolution.TRANSFER
        else None
    )
    arrived = sponsorship.arrival_date is not None
    sponsorship.outcome = Sponsorship.Outcome.BREAKDOWN
    sponsorship.ended_on = ended_on
    sponsorship.end_reason = reason
    sponsorship.ircc_notified_on = ircc_notified_on
    sponsorship.breakdown_resolution = resolution
    sponsorship.full_clean()
    sponsorship.save()
    carries_on = sponsorship
    if taker is not None:
        new_group = SponsorGroup.objects.select_for_update().get(pk=taker.pk)
        carries_on = Sponsorship(
            family=sponsorship.family,
            group=new_group,
            kind=sponsorship.kind,
            matched_on=ended_on,
            arrival_date=sponsorship.arrival_date,
            continues=sponsorship,
        )
        carries_on.full_clean()
        carries_on.save()
        sponsorship.milestones.open().update(sponsorship=carries_on)
        sponsorship.reviews.filter(held_on__isnull=True).update(sponsorship=carries_on)
        if new_group.status == G.APPROVED:
            new_group.status = G.ACTIVE
            new_group.save(update_fields=["status"])
    else:
        family_transition(
            family=sponsorship.family,
            to_status=Family.Status.CLOSED if arrived else Family.Status.APPROVED,
            changed_by=recorded_by,
            reason=_("Sponsorship broke down (%(what)s): %(reason)s")
            % {"what": Sponsorship.BreakdownResolution(resolution).label, "reason": reason},
        )
    Milestone.objects.bulk_create(
        Milestone(
            sponsorship=carries_on,
            title=title,  # English in the database, shown translated (catalogue_strings)
            description=description,
            due_on=ended_on + datetime.timedelta(days=days),
            area=area,
            continuity=True,
        )
        for days, title, description, area in CONTINUITY_MILESTONES
    )
    # Items moved with update() and added with bulk_create: no signal.
    portal_cache.sponsorships_changed([sponsorship.pk, carries_on.pk])
    return carries_on


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


# --- the family's own income and reductions of support --------------------------------------


def _require_staff_or_treasurer(user: User, sponsorship: Sponsorship) -> None:
    """The case worker (or a program manager), or the group's treasurer."""
    if has_role(user, PROGRAM_MANAGER, CASE_WORKER):
        return
    if Membership.objects.filter(
        user=user, group_id=sponsorship.group_id, role=Membership.Role.TREASURER
    ).exists():
        return
    raise ValidationError(_("Only the group's treasurer or HanVoice staff can record this."))


def month_support(sponsorship: Sponsorship, month_number: int) -> Decimal:
    """The sponsor's planned income support for support month `month_number` (the budget's
    figure: 0 in a month the government pays)."""
    months = budget_for(sponsorship).months
    if not 1 <= month_number <= len(months):
        return Decimal("0")
    return months[month_number - 1].planned


@transaction.atomic
def family_income_record(
    *,
    sponsorship: Sponsorship,
    month_number: int,
    kind: str,
    amount: Decimal,
    recorded_by: User,
    member: HouseholdMember | None = None,
) -> FamilyIncome:
    """Record (or correct) one line of the family's income in a support month: net
    employment income per member (each adult 18+ on a line of their own), the Canada Child
    Benefit, other benefits."""
    _require_staff_or_treasurer(recorded_by, sponsorship)
    sponsorship = Sponsorship.objects.select_for_update().get(pk=sponsorship.pk)
    line = FamilyIncome.objects.filter(
        sponsorship=sponsorship, month_number=month_number, kind=kind, member=member
    ).first() or FamilyIncome(
        sponsorship=sponsorship, month_number=month_number, kind=kind, member=member
    )
    line.amount = amount
    line.recorded_by = recorded_by
    line.full_clean(validate_unique=False)
    line.save()
    return line


@transaction.atomic
def support_reduction_record(
    *,
    sponsorship: Sponsorship,
    month_number: int,
    amount: Decimal,
    reason: str,
    decided_by: User,
) -> SupportReduction:
    """Pay less income support in a month because the family earns: allowed only when the
    family's net employment income that month exceeds 50% of the month's support; the
    Canada Child Benefit never counts; the reason is kept."""
    _require_staff_or_treasurer(decided_by, sponsorship)
    sponsorship = Sponsorship.objects.select_for_update().get(pk=sponsorship.pk)
    if sponsorship.arrival_date is None or not 1 <= month_number <= sponsorship.committed_months:
        raise ValidationError(
            {
                "month_number": _(
                    "Month %(month)s is outside the sponsorship (months 1 to %(last)s)."
                )
                % {"month": month_number, "last": sponsorship.committed_months}
            }
        )
    if not reason.strip():
        raise ValidationError({"reason": _("Say why support is reduced this month.")})
    support = month_support(sponsorship, month_number)
    if support <= 0:
        raise ValidationError(
            {
                "month_number": _(
                    "The sponsor pays no income support in month %(month)s: there is nothing "
                    "to reduce."
                )
                % {"month": month_number}
            }
        )
    income = family_income([sponsorship.pk]).get(sponsorship.pk, {}).get(month_number)
    if not reduction_allowed(support, income):
        employment = income.employment if income else Decimal("0")
        message = _(
            "Support may be reduced only when the family's net employment income is more than "
            "half of the month's support (more than %(half)s of %(support)s); in month "
            "%(month)s it is %(employment)s."
        ) % {
            "half": format_money(support * EMPLOYMENT_SHARE),
            "support": format_money(support),
            "month": month_number,
            "employment": format_money(employment),
        }
        if income and income.ccb:
            message += " " + _("The Canada Child Benefit never reduces support.")
        raise ValidationError({"amount": message})
    if amount is None or amount <= 0 or amount > support:
        raise ValidationError(
            {
                "amount": _("The reduction must be more than $0 and at most %(support)s.")
                % {"support": format_money(support)}
            }
        )
    reduction = SupportReduction.objects.filter(
        sponsorship=sponsorship, month_number=month_number
    ).first() or SupportReduction(sponsorship=sponsorship, month_number=month_number)
    reduction.amount = amount
    reduction.reason = reason.strip()
    reduction.decided_by = decided_by
    reduction.full_clean(validate_unique=False)
    reduction.save()
    return reduction
