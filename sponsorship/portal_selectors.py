"""Reads for the sponsor portal: what a group sees of its sponsorship, in a fixed number of
queries whatever the number of milestones, payments or reminders (asserted in the tests).

What a group may see of the family is decided here, once: first names, the case code, and
the consented fields only while a matching consent is active. Templates receive these
summaries, never the case file.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TypeVar

from django.contrib.auth import get_user_model
from django.db.models import (
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    prefetch_related_objects,
)
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core import charts
from core.prepared import OneIdQuery
from core.summaries import cached
from families.models import CaseNote, Consent, Family, HouseholdMember
from sponsorship import portal_cache
from sponsorship.access import (
    group_messages_visible_to,
    reminders_visible_to,
    sponsorships_visible_to,
)
from sponsorship.budget import Budget, budgets_for
from sponsorship.catalogue_strings import catalogue_text
from sponsorship.models import (
    SCORE_FIELDS,
    ArrivalEstimate,
    CheckIn,
    FamilyIncome,
    GroupMessageRead,
    Membership,
    Milestone,
    Phase,
    Reminder,
    Review,
    Sponsorship,
)
from sponsorship.models import Review as ReviewModel

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
UPCOMING_COUNT = 5
T = TypeVar("T")


@dataclass(frozen=True)
class ContactForGroup:
    """HanVoice's own contact with the family as the group may see it: the date and how, and
    the concern only when the case worker chose to share it (else None)."""

    happened_on: datetime.date
    kind: str
    concern: str | None


def monitoring_for_group(sponsorship: Sponsorship) -> list[ContactForGroup]:
    return [
        ContactForGroup(
            happened_on=c.happened_on,
            kind=c.get_kind_display(),
            concern=c.concern if c.share_concern_with_group and c.concern else None,
        )
        for c in sponsorship.monitoring_contacts.order_by("-happened_on", "-pk")
    ]


# --- what a group sees of the family --------------------------------------------------------


@dataclass(frozen=True)
class FamilyForGroup:
    """The family as a sponsor group may see it. Fields the family has not consented to share
    are None, so a template cannot show them even by mistake."""

    case_code: str
    community: str
    languages: str
    interpreter_needed: bool
    first_names: list[str]
    member_count: int
    shared_topics: frozenset[str] = frozenset()
    medical_needs: str | None = None
    sgbv_notes: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    address: str | None = None
    consents_until: dict[str, datetime.date] = field(default_factory=dict)


def _first_names(members: Iterable[HouseholdMember]) -> list[str]:
    return [m.given_name for m in members if m.given_name]


def family_for_group(family: Family, today: datetime.date | None = None) -> FamilyForGroup:
    """First names and, only while consent is active (`Consent.objects.active()`), the medical
    needs, SGBV-related notes and contact details. Never the surname, date of birth,
    narrative, location or SGBV flag."""
    today = today or timezone.localdate()
    consents = (
        Consent.objects.active(today)
        .filter(family=family, audience=Consent.Audience.SPONSOR_GROUP)
        .values_list("topic", "expires_on")
    )
    until: dict[str, datetime.date] = {}
    for topic, expires_on in consents:
        until[topic] = max(expires_on, until.get(topic, expires_on))
    topics = frozenset(until)
    members = list(family.members.all())
    contact = Consent.Topic.CONTACT in topics
    return FamilyForGroup(
        case_code=family.case_code,
        community=family.community,
        languages=family.languages,
        interpreter_needed=family.interpreter_needed,
        first_names=_first_names(members),
        member_count=len(members),
        shared_topics=topics,
        medical_needs=family.medical_needs if Consent.Topic.MEDICAL in topics else None,
        sgbv_notes=family.sgbv_notes if Consent.Topic.SGBV in topics else None,
        contact_phone=family.contact_phone if contact else None,
        contact_email=family.contact_email if contact else None,
        address=family.address if contact else None,
        consents_until=until,
    )


def group_notes(family: Family, limit: int = 20) -> list[CaseNote]:
    """Case notes staff chose to share with the group (visibility "group"), newest first."""
    return list(
        CaseNote.objects.filter(family=family, visibility=CaseNote.Visibility.GROUP).order_by(
            "-written_on", "-pk"
        )[:limit]
    )


# --- dashboard -------------------------------------------------------------------------------


@dataclass
class SponsorshipSummary:
    sponsorship: Sponsorship
    role: str
    role_label: str
    first_names: list[str]
    current_month: int | None
    committed_months: int
    days_to_end: int | None
    days_to_month_13: int | None
    overdue: list[Milestone]
    upcoming: list[Milestone]
    open_count: int
    next_reviews: list[Review]
    budget: Budget | None

    @property
    def can_edit_plan(self) -> bool:
        return self.role in {Membership.Role.COORDINATOR, Membership.Role.TREASURER}


@dataclass
class InboxItem:
    kind: str  # "reminder" | "message"
    key: str  # what the mark-read form posts back
    at: datetime.datetime
    title: str
    body: str
    is_read: bool
    link: str | None = None
    case_code: str | None = None


@dataclass
class Dashboard:
    sponsorships: list[SponsorshipSummary]
    unread_count: int
    latest_unread: list[InboxItem]
    today: datetime.date


def portal_sponsorships(user) -> QuerySet:
    """The sponsorships of the groups `user` belongs to (staff without a membership: none)."""
    return sponsorships_visible_to(user).with_period().select_related("family", "group")  # type: ignore[attr-defined]  # SponsorshipQuerySet


def dashboard_for(user, today: datetime.date | None = None) -> Dashboard:
    """Everything the dashboard shows, in a fixed number of queries."""
    today = today or timezone.localdate()
    open_milestones = Milestone.objects.open().order_by("due_on", "pk")
    upcoming_reviews = Review.objects.filter(held_on__isnull=True).order_by("scheduled_for")
    # The user's role in each group rides along as a column: no separate Membership query.
    role = Membership.objects.filter(user=user, group=OuterRef("group")).values("role")[:1]
    sponsorships = list(
        portal_sponsorships(user)
        .annotate(portal_role=Subquery(role))
        .order_by("outcome", "-matched_on")
        .prefetch_related(
            Prefetch(
                "family__members",
                queryset=HouseholdMember.objects.order_by("-is_principal_applicant", "pk"),
            ),
            Prefetch("milestones", queryset=open_milestones, to_attr="open_milestones"),
            Prefetch("reviews", queryset=upcoming_reviews, to_attr="pending_reviews"),
        )
    )
    # The expected arrival matters only until the family arrives: no query once all have.
    prefetch_related_objects(
        [s for s in sponsorships if not s.arrival_date],
        Prefetch(
            "arrival_estimates",
            queryset=ArrivalEstimate.objects.order_by("-recorded_at", "-pk"),
            to_attr="latest_estimates",
        ),
    )
    role_labels = dict(Membership.Role.choices)
    for s in sponsorships:
        s.member_count = len(s.family.members.all())  # prefetched: no query for the size
    budgets = budgets_for([s for s in sponsorships if s.arrival_date], today)
    summaries = []
    for s in sponsorships:
        members = list(s.family.members.all())
        opened = s.open_milestones
        summaries.append(
            SponsorshipSummary(
                sponsorship=s,
                role=s.portal_role or Membership.Role.MEMBER,
                role_label=str(role_labels.get(s.portal_role, "")),
                first_names=_first_names(members),
                current_month=s.current_month(today),
                committed_months=s.committed_months,
                days_to_end=(s.support_ends_on - today).days if s.support_ends_on else None,
                days_to_month_13=s.days_to_month_13(today),
                overdue=[m for m in opened if m.due_on < today],
                upcoming=[m for m in opened if m.due_on >= today][:UPCOMING_COUNT],
                open_count=len(opened),
                next_reviews=s.pending_reviews[:2],
                budget=budgets.get(s.pk),
            )
        )
    unread = unread_count(user)
    return Dashboard(
        sponsorships=summaries,
        unread_count=unread,
        latest_unread=inbox_for(user, unread_only=True, limit=UPCOMING_COUNT) if unread else [],
        today=today,
    )


def _visible_sponsorships(user_id: int) -> QuerySet:
    user = get_user_model()(pk=user_id)
    role = Membership.objects.filter(user=user, group=OuterRef("group")).values("role")[:1]
    return (
        sponsorships_visible_to(user)
        .annotate(portal_role=Subquery(role))
        .order_by("pk")
        .values_list("pk", "family_id", "group_id", "portal_role")
    )


_VISIBLE = OneIdQuery(_visible_sponsorships)


def _visible_rows(user) -> list[tuple[int, int, int, str | None]]:
    """(sponsorship, family, group, the user's role) of each sponsorship the user may see
    now (`sponsorships_visible_to`): read on every request, so a summary kept for them never
    shows one they lost. Compiled once (core/prepared.py): this is most of the page's SQL."""
    if not user.is_authenticated:
        return []
    return [(s, f, g, r) for s, f, g, r in _VISIBLE.rows(user.pk)]


def dashboard_kept(
    user, present: Callable[[Dashboard], T], today: datetime.date | None = None
) -> tuple[Dashboard, T]:
    """`dashboard_for` and what `present` made of it (the page's content), kept in this
    process's memory until something they show changes (sponsorship/portal_cache.py): on
    most requests one small query (which sponsorships the user may see, and their role) and
    one cache round trip for the generations."""
    today = today or timezone.localdate()
    rows = _visible_rows(user)
    keys = [portal_cache.EVERYONE_KEY, portal_cache.generation_key("user", user.pk)]
    for kind, index in (("sponsorship", 0), ("family", 1), ("group", 2)):
        keys += [portal_cache.generation_key(kind, row[index]) for row in rows]
    rows_key = ",".join(f"{s}:{f}:{g}:{r}" for s, f, g, r in rows)
    key = f"portal:dashboard:{user.pk}:{today.isoformat()}:{get_language()}:{rows_key}"

    def build() -> tuple[Dashboard, T]:
        data = dashboard_for(user, today)
        return data, present(data)

    data, presented = cached(key, list(dict.fromkeys(keys)), build, local=True)
    visible = {row[0] for row in rows}
    if all(s.sponsorship.pk in visible for s in data.sponsorships):
        return data, presented
    # Built while a membership was being added and removed again: only what is visible.
    data = replace(data, sponsorships=[s for s in data.sponsorships if s.sponsorship.pk in visible])
    return data, present(data)


# --- settlement plan, reviews, check-ins ------------------------------------------------------

PHASE_ORDER = [
    Phase.BEFORE_ARRIVAL,
    Phase.FIRST_WEEK,
    Phase.FIRST_MONTH,
    Phase.FIRST_MONTHS,
    Phase.TOWARD_MONTH_13,
]


def plan_by_phase(sponsorship: Sponsorship) -> list[tuple[Phase, list[Milestone]]]:
    """The settlement plan grouped by phase (first week, first month, ...), in due order."""
    milestones = sponsorship.milestones.select_related("completed_by", "responsible").order_by(
        "due_on", "pk"
    )
    member_ids = set(
        Membership.objects.filter(group_id=sponsorship.group_id).values_list("user_id", flat=True)
    )
    if not sponsorship.arrival_date:  # day 0 is the expected arrival: read it once
        sponsorship.latest_estimates = list(sponsorship.arrival_estimates.all()[:1])  # type: ignore[attr-defined]  # read by the template
    phases: dict[Phase, list[Milestone]] = {p: [] for p in PHASE_ORDER}
    for m in milestones:
        m.sponsorship = sponsorship  # for `phase` without a query per row
        m.responsible_is_member = m.responsible_id in member_ids  # no query per row either
        phases[m.phase].append(m)
    return [(p, items) for p, items in phases.items() if items]


def member_choices(sponsorship: Sponsorship) -> list[tuple[int, str]]:
    """The group's members as the responsible-member field offers them: (user id, name)."""
    memberships = Membership.objects.filter(group_id=sponsorship.group_id).select_related("user")
    people = [(m.user.get_full_name() or m.user.email, m.user_id) for m in memberships]
    return [(pk, name) for name, pk in sorted(people, key=lambda p: p[0].casefold())]


def before_arrival_items(sponsorship: Sponsorship) -> list[Milestone]:
    """Open plan items due before the family lands (nothing once it has arrived)."""
    if sponsorship.arrival_date or not sponsorship.expected_arrival_on:
        return []
    return list(
        sponsorship.milestones.open()
        .filter(due_on__lte=sponsorship.expected_arrival_on)
        .order_by("due_on", "pk")
    )


@dataclass(frozen=True)
class IncomeLine:
    month_number: int
    who: str
    kind: str
    amount: Decimal


@dataclass(frozen=True)
class FamilyIncomeSummary:
    """The family's income as its group's treasurer sees it: first names only."""

    members: dict[int, HouseholdMember]
    member_choices: list[tuple[int, str]]
    lines: list[IncomeLine]

    def member(self, pk: int | None) -> HouseholdMember | None:
        return self.members.get(pk) if pk else None


def family_income_for_group(
    sponsorship: Sponsorship, today: datetime.date | None = None
) -> FamilyIncomeSummary:
    """Members (adults 18+ marked, each a line of their own) and the recorded income lines,
    newest month first. Two queries."""
    today = today or timezone.localdate()
    members = {m.pk: m for m in sponsorship.family.members.order_by("-is_principal_applicant")}
    choices = []
    for m in members.values():
        age = m.age_on(today)
        adult = age is None or age >= 18
        label = m.given_name or str(m.get_relationship_display())
        choices.append((m.pk, _("%(name)s (18+)") % {"name": label} if adult else label))
    kinds = dict(FamilyIncome.Kind.choices)
    family = _("The family")
    lines = [
        IncomeLine(
            month_number=row.month_number,
            who=(members[row.member_id].given_name if row.member_id in members else family),
            kind=str(kinds[row.kind]),
            amount=row.amount,
        )
        for row in FamilyIncome.objects.filter(sponsorship=sponsorship).order_by(
            "-month_number", "kind", "pk"
        )
    ]
    return FamilyIncomeSummary(members=members, member_choices=choices, lines=lines)


def reviews_for(sponsorship: Sponsorship) -> list[Review]:
    return list(sponsorship.reviews.order_by("scheduled_for", "pk"))


@dataclass(frozen=True)
class ScoreChart:
    """Review scores (1-5) over time: the geometry from core.charts.line_chart, drawn by the
    portal template, with the same numbers in a table for screen readers."""

    width: int
    height: int
    series: list[charts.LineSeries]
    x_labels: list[tuple[float, str]]
    y_ticks: list[tuple[float, int]]
    rows: list[Review]
    table: list[tuple[str, list[int | None]]]  # domain, its score at each review in `rows`
    left: int
    right: int


def score_chart(reviews: Iterable[Review]) -> ScoreChart | None:
    held = [r for r in reviews if r.held_on and any(v is not None for v in r.scores.values())]
    if not held:
        return None
    labels = {name: str(ReviewModel._meta.get_field(name).verbose_name) for name in SCORE_FIELDS}  # type: ignore[union-attr]  # SCORE_FIELDS are concrete fields
    plot = charts.line_chart(
        [
            (
                name,
                labels[name],
                [
                    (i, score, r.label)
                    for i, r in enumerate(held)
                    if (score := r.scores[name]) is not None
                ],
            )
            for name in SCORE_FIELDS
        ],
        x_labels=[r.label for r in held],  # as the list names them
        y_min=1,
        y_max=5,
    )
    return ScoreChart(
        width=plot.width,
        height=plot.height,
        series=plot.series,
        x_labels=plot.x_labels,
        y_ticks=plot.y_ticks,
        rows=held,
        table=[(labels[name], [r.scores[name] for r in held]) for name in SCORE_FIELDS],
        left=plot.left,
        right=plot.right,
    )


def checkins_for(sponsorship: Sponsorship) -> QuerySet:
    return sponsorship.checkins.select_related("logged_by", "acknowledged_by").order_by(
        "-happened_on", "-pk"
    )


def urgent_checkins_unacknowledged() -> QuerySet:
    """Urgent concerns no staff member has acknowledged yet, oldest first: the on-page notice
    for staff (the staff dashboard shows it alongside the e-mail from the reminders)."""
    return (
        CheckIn.objects.filter(concern_level=CheckIn.Concern.URGENT, acknowledged_at__isnull=True)
        .select_related("sponsorship__family__case_worker", "sponsorship__group", "logged_by")
        .order_by("created_at", "pk")
    )


# --- inbox ------------------------------------------------------------------------------------


def _reminders(user) -> QuerySet:
    return reminders_visible_to(user)


def _messages(user) -> QuerySet:
    read = GroupMessageRead.objects.filter(message=OuterRef("pk"), user=user)
    return group_messages_visible_to(user).annotate(is_read=Exists(read))


class _CountOf(Subquery):
    """COUNT(*) of a queryset as a scalar subquery (several counts in one SELECT)."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _counted)"
    output_field = IntegerField()


def unread_count(user) -> int:
    """Unread reminders plus unread group messages: one query with two counts, whatever
    the number of rows (every portal page shows it in the navigation)."""
    if not user.is_authenticated:
        return 0
    counts = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(
            unread_reminders=_CountOf(
                _reminders(user).filter(read_at__isnull=True).order_by().values("pk")
            ),
            unread_messages=_CountOf(_messages(user).filter(is_read=False).order_by().values("pk")),
        )
        .values_list("unread_reminders", "unread_messages")
        .first()
    )
    return sum(counts) if counts else 0


def _reminder_title(reminder: Reminder) -> str:
    return str(reminder.get_kind_display())


def _reminder_body(reminder: Reminder) -> str:
    if (milestone := reminder.milestone) is not None:
        return catalogue_text(milestone.title)
    if (review := reminder.review) is not None:
        return catalogue_text(review.label)
    return ""


def inbox_for(user, *, unread_only: bool = False, limit: int = 100) -> list[InboxItem]:
    """Reminders to the user and messages to their groups, newest first (two queries)."""
    from django.urls import reverse

    reminders = _reminders(user).select_related("milestone", "review", "sponsorship__family")
    messages = _messages(user).select_related("group")
    if unread_only:
        reminders = reminders.filter(read_at__isnull=True)
        messages = messages.filter(is_read=False)
    items = []
    for r in reminders.order_by("-created_at", "-pk")[:limit]:
        link = None
        if r.milestone_id:
            link = reverse("portal:milestone", kwargs={"public_id": r.milestone.public_id})
        elif r.sponsorship_id:
            link = reverse("portal:sponsorship", kwargs={"public_id": r.sponsorship.public_id})
        items.append(
            InboxItem(
                kind="reminder",
                key=f"reminder:{r.pk}",
                at=r.created_at,
                title=_reminder_title(r),
                body=_reminder_body(r),
                is_read=r.read_at is not None,
                link=link,
                case_code=r.sponsorship.family.case_code if r.sponsorship_id else None,
            )
        )
    for m in messages.order_by("-created_at", "-pk")[:limit]:
        items.append(
            InboxItem(
                kind="message",
                key=f"message:{m.public_id}",
                at=m.created_at,
                title=m.subject,
                body=m.body,
                is_read=m.is_read,
            )
        )
    items.sort(key=lambda item: item.at, reverse=True)
    return items[:limit]


__all__ = [
    "before_arrival_items",
    "family_income_for_group",
    "checkins_for",
    "dashboard_for",
    "dashboard_kept",
    "family_for_group",
    "group_notes",
    "inbox_for",
    "plan_by_phase",
    "portal_sponsorships",
    "reviews_for",
    "score_chart",
    "unread_count",
    "urgent_checkins_unacknowledged",
]
