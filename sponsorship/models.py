"""Sponsor groups and the support they give a family: the sponsorship, its support period,
settlement plan (milestones), self-sufficiency reviews, income support, check-ins, and the
reminders that keep everyone on time.

Derived facts (end of support, month N of M, month 13) are computed, never stored: only what
a person decided (an extension) or what happened (a payment, a check-in) is a row.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.functional import Promise, cached_property
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from core.encryption import EncryptedCharField, EncryptedTextField
from core.money import MONEY_FIELD
from core.outbox import OutboxRow
from families.models import Family
from sponsorship.kinds import KindRules, base_months_sql, rules_for
from sponsorship.period import (
    BASE_SUPPORT_MONTHS,
    MAX_EXTENSION_MONTHS,
    MAX_SUPPORT_MONTHS,
    Period,
    committed_months,
    month_13_sql,
)

__all__ = ["BASE_SUPPORT_MONTHS", "MAX_SUPPORT_MONTHS"]  # re-exported: the rule is in period.py

MONEY = MONEY_FIELD


class SponsorGroup(models.Model):
    class Kind(models.TextChoices):
        CONSTITUENT = "constituent", _("Constituent group")
        GROUP_OF_FIVE = "group_of_five", _("Group of Five")
        COMMUNITY = "community", _("Community sponsor")

    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied")
        SCREENING = "screening", _("Screening")
        APPROVED = "approved", _("Approved")
        ACTIVE = "active", _("Active")
        COMPLETED = "completed", _("Completed")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=150, unique=True)
    kind = models.CharField(_("kind"), max_length=15, choices=Kind.choices)
    community = models.CharField(_("community"), max_length=120)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.APPLIED
    )
    settlement_plan_approved_on = models.DateField(
        _("settlement plan approved on"), null=True, blank=True
    )
    settlement_plan_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("settlement plan approved by"),
    )
    financial_commitment = models.DecimalField(
        _("financial commitment (CAD)"), default=Decimal("0"), **MONEY
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("sponsor group")
        verbose_name_plural = _("sponsor groups")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(financial_commitment__gte=0),
                name="sponsorship_sponsorgroup_commitment_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["applied", "screening"])
                | Q(settlement_plan_approved_on__isnull=False),
                name="sponsorship_sponsorgroup_plan_approved_before_approval",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        COORDINATOR = "coordinator", _("Coordinator")
        TREASURER = "treasurer", _("Treasurer")
        MEMBER = "member", _("Member")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    group = models.ForeignKey(SponsorGroup, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=11, choices=Role.choices, default=Role.MEMBER)
    joined_on = models.DateField(default=timezone.localdate)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["group", "role", "user__email"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "group"], name="sponsorship_membership_one_per_user_group"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.group} · {self.get_role_display()}"

    @property
    def can_edit_plan(self) -> bool:
        return self.role in {self.Role.COORDINATOR, self.Role.TREASURER}


class Invitation(models.Model):
    """A single-use, expiring link for a new group member to set a password."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(_("e-mail address"))
    group = models.ForeignKey(SponsorGroup, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(
        _("role"), max_length=11, choices=Membership.Role.choices, default=Membership.Role.MEMBER
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="sponsorship_invitation_expires_after_creation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.group}"


class SponsorshipQuerySet(models.QuerySet):
    def with_period(self) -> SponsorshipQuerySet:
        """Annotate approved extension months (so `period` needs no extra query) and month
        13 in SQL (`Period.month_13_on`, the same rule) for filtering and ordering."""
        approved = Extension.objects.filter(
            sponsorship=models.OuterRef("pk"), status=Extension.Status.APPROVED
        )
        months = Coalesce(
            models.Subquery(
                approved.values("sponsorship").annotate(t=models.Sum("months")).values("t"),
                output_field=models.IntegerField(),
            ),
            models.Value(0),
        )
        return self.annotate(approved_extension_months=months).annotate(
            period_month_13_on=month_13_sql(
                "arrival_date", models.F("approved_extension_months"), base_months_sql()
            )
        )

    def active(self) -> SponsorshipQuerySet:
        return self.filter(outcome=Sponsorship.Outcome.ACTIVE)


class Sponsorship(models.Model):
    class Kind(models.TextChoices):
        PSR = "psr", _("Privately Sponsored Refugee (PSR)")
        JAS = "jas", _("Joint Assistance Sponsorship (JAS)")
        BVOR = "bvor", _("Blended Visa Office-Referred (BVOR)")

    class Outcome(models.TextChoices):
        ACTIVE = "active", _("Active")
        SELF_SUFFICIENT = "self_sufficient", _("Ended: self-sufficient")
        COMPLETED = "completed", _("Completed")
        BREAKDOWN = "breakdown", _("Breakdown")
        DEFAULT = "default", _("Default")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class BreakdownResolution(models.TextChoices):
        """What happens to the family after a breakdown (docs/domain.md "Outcomes")."""

        TRANSFER = "transfer", _("Transferred to another sponsor group")
        GOVERNMENT = "government", _("Government income support")
        OTHER = "other", _("Other arrangement")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    group = models.ForeignKey(SponsorGroup, on_delete=models.PROTECT, related_name="sponsorships")
    family = models.ForeignKey(Family, on_delete=models.PROTECT, related_name="sponsorships")
    kind = models.CharField(_("kind"), max_length=4, choices=Kind.choices, default=Kind.PSR)
    matched_on = models.DateField(_("matched on"), default=timezone.localdate)
    arrival_date = models.DateField(_("arrival date"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=15, choices=Outcome.choices, default=Outcome.ACTIVE
    )
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    end_reason = EncryptedTextField(_("reason"), blank=True)
    ircc_notified_on = models.DateField(_("IRCC told of the breakdown on"), null=True, blank=True)
    breakdown_resolution = models.CharField(
        _("after the breakdown"), max_length=10, choices=BreakdownResolution.choices, blank=True
    )
    continues = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="continued_by",
        verbose_name=_("continues the sponsorship"),
        help_text=_("After a breakdown, the sponsorship this one takes over from."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    objects = SponsorshipQuerySet.as_manager()

    class Meta:
        verbose_name = _("sponsorship")
        verbose_name_plural = _("sponsorships")
        ordering = ["-matched_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["family"],
                condition=Q(outcome="active"),
                name="sponsorship_sponsorship_one_active_per_family",
            ),
            models.CheckConstraint(
                condition=Q(outcome="active", ended_on__isnull=True)
                | (~Q(outcome="active") & Q(ended_on__isnull=False)),
                name="sponsorship_sponsorship_ended_on_iff_ended",
            ),
            models.CheckConstraint(
                # A group that takes over after a breakdown is matched after the arrival.
                condition=Q(arrival_date__isnull=True)
                | Q(arrival_date__gte=models.F("matched_on"))
                | Q(continues__isnull=False),
                name="sponsorship_sponsorship_arrival_after_match",
            ),
            models.CheckConstraint(
                condition=Q(
                    outcome="breakdown", ircc_notified_on__isnull=False, breakdown_resolution__gt=""
                )
                | (
                    ~Q(outcome="breakdown")
                    & Q(ircc_notified_on__isnull=True, breakdown_resolution="")
                ),
                name="sponsorship_sponsorship_breakdown_workflow",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.family.case_code} · {self.group.name}"

    # --- before arrival -------------------------------------------------------------------

    @property
    def expected_arrival(self) -> ArrivalEstimate | None:
        """The newest expected arrival (None once none was recorded). Rows are history: a
        delayed flight adds one, so the earlier dates stay on file."""
        prefetched = getattr(self, "latest_estimates", None)
        if prefetched is not None:
            return prefetched[0] if prefetched else None
        return self.arrival_estimates.order_by("-recorded_at", "-pk").first()

    @property
    def expected_arrival_on(self) -> datetime.date | None:
        estimate = self.expected_arrival
        return estimate.expected_on if estimate else None

    @property
    def day_zero(self) -> datetime.date | None:
        """Day 0 of the settlement timeline: the arrival, or before it the expected arrival."""
        return self.arrival_date or self.expected_arrival_on

    def days_to_arrival(self, today: datetime.date | None = None) -> int | None:
        """Days until the expected arrival (None once arrived or while unknown)."""
        if self.arrival_date or not self.expected_arrival_on:
            return None
        return (self.expected_arrival_on - (today or timezone.localdate())).days

    # --- the support period, derived --------------------------------------------------------

    @property
    def extension_months(self) -> int:
        annotated = getattr(self, "approved_extension_months", None)
        if annotated is not None:
            return int(annotated)
        return int(
            self.extensions.filter(status=Extension.Status.APPROVED).aggregate(
                total=models.Sum("months")
            )["total"]
            or 0
        )

    @property
    def kind_rules(self) -> KindRules:
        """What the kind changes: base months, government-paid months, start-up."""
        return rules_for(self.kind)

    @property
    def period(self) -> Period | None:
        """The support period (None before arrival): the one home of its dates."""
        if not self.arrival_date:
            return None
        return Period.of(self.arrival_date, self.extension_months, self.kind_rules.base_months)

    # Shortcuts to `period` for templates and lists.

    @property
    def committed_months(self) -> int:
        """Base months plus approved extensions, never more than the cap."""
        return committed_months(self.extension_months, self.kind_rules.base_months)

    @property
    def month_13_on(self) -> datetime.date | None:
        """The first day without sponsor income support ("month 13", after extensions)."""
        period = self.period
        return period.month_13_on if period else None

    @property
    def support_ends_on(self) -> datetime.date | None:
        """The last day of the committed support period."""
        period = self.period
        return period.ends_on if period else None

    def current_month(self, today: datetime.date | None = None) -> int | None:
        """Month N (1-based) of support on `today`; None before arrival."""
        period = self.period
        return period.month_on(today or timezone.localdate()) if period else None

    def months_remaining(self, today: datetime.date | None = None) -> int | None:
        """Whole months of committed support after the current one."""
        period = self.period
        return period.months_remaining(today or timezone.localdate()) if period else None

    def days_to_month_13(self, today: datetime.date | None = None) -> int | None:
        month_13_on = self.month_13_on
        if month_13_on is None:
            return None
        return (month_13_on - (today or timezone.localdate())).days

    @property
    def is_active(self) -> bool:
        return self.outcome == self.Outcome.ACTIVE


class ArrivalEstimate(models.Model):
    """When the family is expected to land, as known on a day: from IRCC's Notice of Arrival
    Transmission (NAT, about 10 days before the flight) or an estimate. Never changed: a
    delayed flight adds a row, so the history of the dates stays (docs/domain.md "Before
    arrival"). The newest row is the expected arrival until the arrival is confirmed."""

    class Source(models.TextChoices):
        NAT = "nat", _("Notice of Arrival Transmission (NAT)")
        ESTIMATE = "estimate", _("Estimate")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sponsorship = models.ForeignKey(
        Sponsorship, on_delete=models.CASCADE, related_name="arrival_estimates"
    )
    expected_on = models.DateField(_("expected arrival"))
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    nat_received_on = models.DateField(_("NAT received on"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("expected arrival")
        verbose_name_plural = _("expected arrivals")
        ordering = ["-recorded_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(source="nat", nat_received_on__isnull=False)
                | Q(source="estimate", nat_received_on__isnull=True),
                name="sponsorship_arrivalestimate_nat_date_iff_nat",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.expected_on} ({self.get_source_display()})"


class Extension(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("Awaiting approval")
        APPROVED = "approved", _("Approved")
        REFUSED = "refused", _("Refused")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sponsorship = models.ForeignKey(
        Sponsorship, on_delete=models.CASCADE, related_name="extensions"
    )
    months = models.PositiveSmallIntegerField(
        _("months"), validators=[MinValueValidator(1), MaxValueValidator(MAX_EXTENSION_MONTHS)]
    )
    reason = EncryptedTextField(_("reason"))
    status = models.CharField(
        _("status"), max_length=9, choices=Status.choices, default=Status.REQUESTED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_on = models.DateField(_("requested on"), default=timezone.localdate)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = EncryptedTextField(_("decision note"), blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("extension")
        verbose_name_plural = _("extensions")
        ordering = ["requested_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(months__gte=1, months__lte=MAX_EXTENSION_MONTHS),
                name="sponsorship_extension_months_1_to_24",
            ),
            models.CheckConstraint(
                condition=Q(status="requested", decided_at__isnull=True)
                | (~Q(status="requested") & Q(decided_at__isnull=False)),
                name="sponsorship_extension_decided_iff_not_requested",
            ),
        ]

    def __str__(self) -> str:
        return f"+{self.months} months ({self.get_status_display()})"


class PlanArea(models.TextChoices):
    """The areas of IRCC's settlement plan: the signed plan lists each item under its area,
    with the group member responsible for it (evidence/plan.py)."""

    RECEPTION = "reception", _("Reception")
    HOUSING = "housing", _("Housing")
    ORIENTATION = "orientation", _("Orientation and community")
    HEALTH = "health", _("Health")
    EDUCATION = "education", _("Education")
    LANGUAGE = "language", _("Language")
    EMPLOYMENT = "employment", _("Employment")
    INCOME_SUPPORT = "income_support", _("Income support")
    OTHER = "other", _("Other commitments")


def _area_field() -> models.CharField:
    return models.CharField(
        _("area of the settlement plan"),
        max_length=14,
        choices=PlanArea.choices,
        default=PlanArea.OTHER,
    )


class MilestoneTemplate(models.Model):
    """A settlement-plan item of the catalogue (data, editable by staff); day 0 = arrival."""

    title = models.CharField(_("title"), max_length=150)
    description = models.TextField(_("what to do"), blank=True)
    offset_days = models.SmallIntegerField(
        _("due (days after arrival)"), help_text=_("Negative: before arrival.")
    )
    only_with_children = models.BooleanField(_("only for families with children"), default=False)
    due_at_one_year_window = models.BooleanField(
        _("due when the One-Year Window closes"),
        default=False,
        help_text=_(
            "Due on the same calendar day a year after arrival (the day the One-Year Window "
            "closes) instead of a number of days after arrival."
        ),
    )
    basis = models.CharField(_("basis"), max_length=200, blank=True)
    area = _area_field()
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("milestone template")
        verbose_name_plural = _("milestone templates")
        ordering = ["offset_days", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(offset_days__gte=-90, offset_days__lte=MAX_SUPPORT_MONTHS * 31),
                name="sponsorship_milestonetemplate_offset_in_range",
            ),
            models.CheckConstraint(
                condition=Q(area__in=PlanArea.values),
                name="sponsorship_milestonetemplate_area_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} (day {self.offset_days})"


class Phase(models.TextChoices):
    """Phases of the settlement plan, derived from a milestone's offset from arrival."""

    BEFORE_ARRIVAL = "before", _("Before arrival")
    FIRST_WEEK = "week1", _("First week")
    FIRST_MONTH = "month1", _("First month")
    FIRST_MONTHS = "months", _("First months")
    TOWARD_MONTH_13 = "month13", _("Toward month 13")


def phase_for(offset_days: int) -> Phase:
    if offset_days < 0:
        return Phase.BEFORE_ARRIVAL
    if offset_days <= 7:
        return Phase.FIRST_WEEK
    if offset_days <= 31:
        return Phase.FIRST_MONTH
    if offset_days < 240:
        return Phase.FIRST_MONTHS
    return Phase.TOWARD_MONTH_13


class MilestoneQuerySet(models.QuerySet):
    def open(self) -> MilestoneQuerySet:
        return self.filter(completed_on__isnull=True, waived_on__isnull=True)

    def overdue(self, today: datetime.date | None = None) -> MilestoneQuerySet:
        return self.open().filter(due_on__lt=today or timezone.localdate())

    def reminded(self) -> MilestoneQuerySet:
        """Open milestones reminders are sent for: those of an active sponsorship, and the
        support-continuity items of one that broke down without a transfer (to government
        support or another arrangement), which staff follow once the group is gone
        (docs/domain.md "Outcomes"). The sweep and the check at send time both ask this."""
        return self.open().filter(
            Q(sponsorship__outcome=Sponsorship.Outcome.ACTIVE)
            | Q(
                continuity=True,
                sponsorship__outcome=Sponsorship.Outcome.BREAKDOWN,
                sponsorship__breakdown_resolution__in=[
                    Sponsorship.BreakdownResolution.GOVERNMENT,
                    Sponsorship.BreakdownResolution.OTHER,
                ],
            )
        )


class Milestone(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sponsorship = models.ForeignKey(
        Sponsorship, on_delete=models.CASCADE, related_name="milestones"
    )
    template = models.ForeignKey(
        MilestoneTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    title = models.CharField(_("title"), max_length=150)
    description = models.TextField(_("what to do"), blank=True)
    # The plan's area, from the template (or chosen when the group adds an item).
    area = _area_field()
    # Who in the sponsor group answers for this item. A user, not the Membership row: a
    # member who leaves the group (the membership deleted) stays named on the item, shown
    # as a former member, until a coordinator names someone else. Being a member of this
    # sponsorship's group is checked when someone is named (clean(), the service): a check
    # constraint cannot read another table, and the member may leave later anyway.
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("responsible member"),
    )
    due_on = models.DateField(_("due on"))
    completed_on = models.DateField(_("done on"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    notes = EncryptedTextField(_("notes"), blank=True)
    added_by_group = models.BooleanField(_("added by the sponsor group"), default=False)
    # Added by a breakdown (sponsorship_record_breakdown): still followed after the end.
    continuity = models.BooleanField(_("support-continuity item"), default=False)
    waiver_requested_on = models.DateField(_("waiver requested on"), null=True, blank=True)
    waiver_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    waiver_reason = EncryptedTextField(_("reason to waive"), null=True, blank=True)
    waived_on = models.DateField(_("waived on"), null=True, blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MilestoneQuerySet.as_manager()

    class Meta:
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        ordering = ["due_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(completed_on__isnull=True) | Q(waived_on__isnull=True),
                name="sponsorship_milestone_not_done_and_waived",
            ),
            models.CheckConstraint(
                condition=Q(waived_on__isnull=True) | Q(waiver_reason__isnull=False),
                name="sponsorship_milestone_waiver_has_reason",
            ),
            models.UniqueConstraint(
                fields=["sponsorship", "template"],
                condition=Q(template__isnull=False),
                name="sponsorship_milestone_one_per_template",
            ),
            models.CheckConstraint(
                condition=Q(area__in=PlanArea.values), name="sponsorship_milestone_area_valid"
            ),
        ]
        indexes = [
            # The reminder sweep and dashboards look for open milestones by due date.
            models.Index(
                fields=["due_on"],
                condition=Q(completed_on__isnull=True, waived_on__isnull=True),
                name="sponsorship_milestone_open_due",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.completed_on is None and self.waived_on is None

    def clean(self) -> None:
        """Whoever is newly named responsible is a member of this sponsorship's group (the
        admin's form and the portal's service both come here). A member named before who
        has since left is kept: the plan shows them as a former member."""
        super().clean()
        if self.responsible_id is None or not self.sponsorship_id:
            return
        unchanged = (
            self.pk is not None
            and Milestone.objects.filter(pk=self.pk, responsible_id=self.responsible_id).exists()
        )
        if unchanged:
            return
        group_id = Sponsorship.objects.filter(pk=self.sponsorship_id).values("group_id")
        if not Membership.objects.filter(
            user_id=self.responsible_id, group_id__in=group_id
        ).exists():
            raise ValidationError(
                {"responsible": _("Choose a member of this sponsor group.")},
                code="not_a_member",
            )

    def is_overdue(self, today: datetime.date | None = None) -> bool:
        return self.is_open and self.due_on < (today or timezone.localdate())

    @cached_property
    def responsible_is_member(self) -> bool:
        """False when the member named has left the group since (shown as a former member).
        The plan page sets it for all its items from one query (portal_selectors)."""
        return (
            self.responsible_id is not None
            and Membership.objects.filter(
                user_id=self.responsible_id, group__sponsorships=self.sponsorship_id
            ).exists()
        )

    @property
    def phase(self) -> Phase:
        day_zero = self.sponsorship.day_zero
        return phase_for((self.due_on - day_zero).days if day_zero else 0)


class ReviewTemplate(models.Model):
    """When self-sufficiency reviews are scheduled: at month N, or N days before a period end."""

    label = models.CharField(_("label"), max_length=100)
    at_month = models.PositiveSmallIntegerField(_("at the end of month"), null=True, blank=True)
    days_before_period_end = models.PositiveSmallIntegerField(
        _("days before each period end"), null=True, blank=True
    )
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("review template")
        verbose_name_plural = _("review templates")
        ordering = ["at_month", "days_before_period_end"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(at_month__isnull=False) & Q(days_before_period_end__isnull=True))
                | (Q(at_month__isnull=True) & Q(days_before_period_end__isnull=False)),
                name="sponsorship_reviewtemplate_month_xor_before_end",
            ),
            models.CheckConstraint(
                condition=Q(at_month__isnull=True)
                | Q(at_month__gte=1, at_month__lte=MAX_SUPPORT_MONTHS),
                name="sponsorship_reviewtemplate_month_1_to_36",
            ),
        ]

    def __str__(self) -> str:
        return self.label


SCORE = [MinValueValidator(1), MaxValueValidator(5)]
SCORE_FIELDS = ("income", "housing", "language", "employment", "health", "social")


class Review(models.Model):
    class Outcome(models.TextChoices):
        ON_TRACK = "on_track", _("On track")
        SELF_SUFFICIENT = "self_sufficient", _("Self-sufficient")
        EXTENSION_RECOMMENDED = "extension", _("Extension recommended")
        CONCERN = "concern", _("Concern")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sponsorship = models.ForeignKey(Sponsorship, on_delete=models.CASCADE, related_name="reviews")
    label = models.CharField(_("review"), max_length=100)
    scheduled_for = models.DateField(_("scheduled for"))
    held_on = models.DateField(_("held on"), null=True, blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    income = models.PositiveSmallIntegerField(_("income"), null=True, blank=True, validators=SCORE)
    housing = models.PositiveSmallIntegerField(
        _("housing"), null=True, blank=True, validators=SCORE
    )
    language = models.PositiveSmallIntegerField(
        _("language"), null=True, blank=True, validators=SCORE
    )
    employment = models.PositiveSmallIntegerField(
        _("employment"), null=True, blank=True, validators=SCORE
    )
    health = models.PositiveSmallIntegerField(_("health"), null=True, blank=True, validators=SCORE)
    social = models.PositiveSmallIntegerField(
        _("social connection"), null=True, blank=True, validators=SCORE
    )
    outcome = models.CharField(_("outcome"), max_length=15, choices=Outcome.choices, blank=True)
    notes = EncryptedTextField(_("notes"), null=True, blank=True)
    group_input = EncryptedTextField(_("the sponsor group's input"), blank=True)
    group_input_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    group_input_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("self-sufficiency review")
        verbose_name_plural = _("self-sufficiency reviews")
        ordering = ["scheduled_for", "pk"]
        constraints = [
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{f}__isnull": True}) | Q(**{f"{f}__gte": 1, f"{f}__lte": 5}),
                    name=f"sponsorship_review_{f}_score_1_to_5",
                )
                for f in SCORE_FIELDS
            ],
            models.CheckConstraint(
                condition=Q(held_on__isnull=True, outcome="")
                | Q(held_on__isnull=False) & ~Q(outcome=""),
                name="sponsorship_review_held_iff_outcome",
            ),
            models.UniqueConstraint(
                fields=["sponsorship", "scheduled_for"],
                name="sponsorship_review_one_per_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} · {self.scheduled_for}"

    @property
    def scores(self) -> dict[str, int | None]:
        return {f: getattr(self, f) for f in SCORE_FIELDS}


class CostTableEntry(models.Model):
    """The RSTP Sponsorship Cost Table (a planning estimate, data not code: docs/domain.md)."""

    family_size = models.PositiveSmallIntegerField(_("family size"), null=True, blank=True)
    per_extra_person = models.BooleanField(_("each extra person"), default=False)
    income_support = models.DecimalField(_("12-month income support"), **MONEY)
    start_up = models.DecimalField(_("start-up"), **MONEY)
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("cost table entry")
        verbose_name_plural = _("cost table")
        ordering = ["per_extra_person", "family_size"]
        constraints = [
            models.CheckConstraint(
                condition=Q(family_size__isnull=False, per_extra_person=False)
                | Q(family_size__isnull=True, per_extra_person=True),
                name="sponsorship_costtableentry_size_xor_extra",
            ),
            models.UniqueConstraint(
                fields=["family_size"], name="sponsorship_costtableentry_one_per_size"
            ),
            models.UniqueConstraint(
                fields=["per_extra_person"],
                condition=Q(per_extra_person=True),
                name="sponsorship_costtableentry_one_extra_row",
            ),
            models.CheckConstraint(
                condition=Q(income_support__gte=0, start_up__gte=0),
                name="sponsorship_costtableentry_amounts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return "+1" if self.per_extra_person else str(self.family_size)


def government_month_refusal(sponsorship: Sponsorship, month: int) -> str:
    """Why a sponsor payment of income support for a government-paid month is refused."""
    return _(
        "In a %(kind)s the government pays the income support of month %(month)s (months "
        "%(months)s), not the sponsor group. Record the group's own payments for the other "
        "months; extra help beyond the plan is not recorded as income support."
    ) % {
        "kind": sponsorship.get_kind_display(),
        "month": month,
        "months": sponsorship.kind_rules.government_months_text,
    }


class Disbursement(models.Model):
    """Income support (or start-up money) actually paid to the family."""

    class Kind(models.TextChoices):
        INCOME_SUPPORT = "income", _("Monthly income support")
        START_UP = "start_up", _("Start-up costs")

    class Method(models.TextChoices):
        CHEQUE = "cheque", _("Cheque")
        ETRANSFER = "etransfer", _("Interac e-Transfer")
        DIRECT_DEPOSIT = "deposit", _("Direct deposit")
        CASH = "cash", _("Cash")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sponsorship = models.ForeignKey(
        Sponsorship, on_delete=models.PROTECT, related_name="disbursements"
    )
    kind = models.CharField(
        _("kind"), max_length=8, choices=Kind.choices, default=Kind.INCOME_SUPPORT
    )
    month_number = models.PositiveSmallIntegerField(_("support month"))
    amount = models.DecimalField(_("amount (CAD)"), **MONEY)
    paid_on = models.DateField(_("paid on"))
    method = models.CharField(_("method"), max_length=9, choices=Method.choices)
    note = EncryptedCharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The form's one-time token: a double submit finds the row already there.
    request_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("disbursement")
        verbose_name_plural = _("disbursements")
        ordering = ["month_number", "paid_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="sponsorship_disbursement_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(month_number__gte=1, month_number__lte=MAX_SUPPORT_MONTHS),
                name="sponsorship_disbursement_month_1_to_36",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · month {self.month_number} · {self.amount}"

    def clean(self) -> None:
        """Shared by the portal's `disbursement_record` and the staff admin inline."""
        super().clean()
        errors: dict[str, str | Promise] = {}
        if self.amount is not None and self.amount <= 0:
            errors["amount"] = _("The amount must be more than $0.")
        if self.paid_on and self.paid_on > timezone.localdate():
            errors["paid_on"] = _("A payment cannot be recorded before it is made.")
        sponsorship = self.sponsorship if self.sponsorship_id else None
        if sponsorship is not None and self.month_number is not None:
            if sponsorship.arrival_date is None:
                errors["month_number"] = _(
                    "Income support starts on arrival; record the family's arrival first."
                )
            elif not 1 <= self.month_number <= sponsorship.committed_months:
                errors["month_number"] = _(
                    "Month %(month)s is outside the support period (months 1 to %(last)s)."
                ) % {"month": self.month_number, "last": sponsorship.committed_months}
            elif self.kind == self.Kind.INCOME_SUPPORT and (
                sponsorship.kind_rules.government_pays_income(self.month_number)
            ):
                errors["month_number"] = government_month_refusal(sponsorship, self.month_number)
        if (
            sponsorship is not None
            and self.kind == self.Kind.START_UP
            and not sponsorship.kind_rules.sponsor_owes_start_up
        ):
            errors["kind"] = _(
                "In a %(kind)s the government pays the start-up costs, not the sponsor group."
            ) % {"kind": sponsorship.get_kind_display()}
        if errors:
            raise ValidationError(errors)


class CheckIn(models.Model):
    """A visit or call logged by the sponsor group: how the family is doing."""

    class Kind(models.TextChoices):
        VISIT = "visit", _("Visit")
        CALL = "call", _("Phone or video call")
        MESSAGE = "message", _("Message")

    class Wellbeing(models.TextChoices):
        WELL = "well", _("Doing well")
        COPING = "coping", _("Coping")
        STRUGGLING = "struggling", _("Struggling")

    class Concern(models.TextChoices):
        NONE = "none", _("No concern")
        CONCERN = "concern", _("Concern for staff")
        URGENT = "urgent", _("Urgent: needs the case worker now")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sponsorship = models.ForeignKey(Sponsorship, on_delete=models.CASCADE, related_name="checkins")
    happened_on = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=7, choices=Kind.choices, default=Kind.VISIT)
    who = EncryptedCharField(_("who took part"), max_length=200)
    wellbeing = models.CharField(
        _("how the family is doing"), max_length=10, choices=Wellbeing.choices
    )
    summary = EncryptedTextField(_("summary"), null=True, blank=True)
    concern_level = models.CharField(
        _("concern"), max_length=7, choices=Concern.choices, default=Concern.NONE
    )
    concern = EncryptedTextField(_("concern for staff"), null=True, blank=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    request_token = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering = ["-happened_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(concern_level="none") | Q(concern__isnull=False),
                name="sponsorship_checkin_concern_described",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.happened_on}"


class GroupMessage(models.Model):
    """A message from HanVoice staff to a sponsor group (shown in the portal inbox)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    group = models.ForeignKey(SponsorGroup, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(_("subject"), max_length=150)
    body = EncryptedTextField(_("message"))
    created_at = models.DateTimeField(default=timezone.now)
    read_by: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="GroupMessageRead", related_name="+", blank=True
    )

    class Meta:
        verbose_name = _("message to a group")
        verbose_name_plural = _("messages to groups")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.subject


class GroupMessageRead(models.Model):
    message = models.ForeignKey(GroupMessage, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("message read")
        verbose_name_plural = _("messages read")
        constraints = [
            models.UniqueConstraint(
                fields=["message", "user"], name="sponsorship_groupmessageread_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} read by {self.user_id}"


class Reminder(OutboxRow):
    """One thing to tell one person, claimed and sent exactly once (docs/architecture.md,
    "The outbox": the delivery fields and their rules come from `core.outbox.OutboxRow`).

    The sweep writes rows under `sponsorship_reminder_once`; creating an existing row is a
    no-op. A cancelled row (no longer relevant) is closed like a sent one.
    """

    MESSAGE_KEY_PREFIX = "reminder"

    class Kind(models.TextChoices):
        MILESTONE_DUE = "milestone_due", _("Milestone due soon")
        MILESTONE_OVERDUE = "milestone_overdue", _("Milestone overdue")
        REVIEW_DUE = "review_due", _("Review coming")
        REVIEW_OVERDUE = "review_overdue", _("Review overdue")
        PERIOD_ENDING = "period_ending", _("Support period ending")
        MONTH_13 = "month_13", _("Month 13 begins")
        EXTENSION_PENDING = "extension_pending", _("Extension awaiting approval")
        URGENT_CONCERN = "urgent_concern", _("Urgent concern")
        WEEKLY_DIGEST = "weekly_digest", _("Weekly digest")
        MONITORING_DUE = "monitoring_due", _("HanVoice contact with the family due")
        MONITORING_OVERDUE = "monitoring_overdue", _("HanVoice contact with the family overdue")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    subject_key = models.CharField(
        max_length=64, help_text=_("What the reminder is about, e.g. 'milestone:42'.")
    )
    due_on = models.DateField(_("due on"))
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminders"
    )
    group = models.ForeignKey(
        SponsorGroup, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders"
    )
    sponsorship = models.ForeignKey(
        Sponsorship, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders"
    )
    milestone = models.ForeignKey(
        Milestone, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders"
    )
    review = models.ForeignKey(
        Review, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders"
    )
    extension = models.ForeignKey(
        Extension, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders"
    )
    checkin = models.ForeignKey(
        CheckIn, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders"
    )
    emailed = models.BooleanField(_("e-mailed"), default=False)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-due_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject_key", "due_on", "recipient"],
                name="sponsorship_reminder_once",
            ),
        ]
        indexes = [
            # The sender and the reconciler look for rows not yet sent.
            models.Index(
                fields=["created_at"],
                condition=Q(
                    sent_at__isnull=True, failed_at__isnull=True, cancelled_at__isnull=True
                ),
                name="sponsorship_reminder_pending",
            ),
            models.Index(fields=["recipient", "read_at"], name="sponsorship_reminder_inbox"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.subject_key} · {self.due_on}"

    @classmethod
    def open_q(cls) -> Q:
        return super().open_q() & Q(cancelled_at__isnull=True)


class ReminderRule(models.Model):
    """Lead time and recipients of a reminder kind: data, editable by staff."""

    class Recipient(models.TextChoices):
        COORDINATOR = "coordinator", _("Group coordinators")
        TREASURER = "treasurer", _("Group treasurers")
        MEMBERS = "members", _("All group members")
        CASE_WORKER = "case_worker", _("The family's case worker")
        PROGRAM_MANAGERS = "program_managers", _("Program managers")

    kind = models.CharField(_("kind"), max_length=20, choices=Reminder.Kind.choices, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    days = models.JSONField(
        _("days relative to the due date"),
        default=list,
        help_text=_("Negative before, positive after; e.g. [-90, -30] or [1]."),
    )
    repeat_every_days = models.PositiveSmallIntegerField(
        _("then repeat every (days)"), null=True, blank=True
    )
    max_count = models.PositiveSmallIntegerField(_("at most"), default=1)
    recipients = models.JSONField(_("recipients"), default=list)

    class Meta:
        verbose_name = _("reminder rule")
        verbose_name_plural = _("reminder rules")
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.get_kind_display()


class NotificationPreference(models.Model):
    """A user may turn off e-mail per reminder kind; the in-app inbox always gets it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_prefs"
    )
    kind = models.CharField(max_length=20, choices=Reminder.Kind.choices)
    email_enabled = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind"], name="sponsorship_notificationpreference_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {'e-mail' if self.email_enabled else 'inbox only'}"


class LanguagePreference(models.Model):
    """The language a person reads e-mails in (reminders are sent by a worker, which has no
    request to take a language from). Set at sign-in from the language they browse in, and
    on the e-mail preferences page."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="language_preference",
    )
    language = models.CharField(_("language for e-mails"), max_length=5, choices=settings.LANGUAGES)

    class Meta:
        verbose_name = _("language preference")
        verbose_name_plural = _("language preferences")
        constraints = [
            models.CheckConstraint(
                condition=Q(language__in=[code for code, _name in settings.LANGUAGES]),
                name="sponsorship_languagepreference_known_language",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.language}"


class InKindItem(models.Model):
    """Goods given to the family instead of money (furniture, a winter coat, a laptop).

    Their estimated value counts toward the start-up line of the budget as in-kind support:
    it lowers the cash the group must still pay but never replaces start-up support
    (docs/domain.md "Money"). A photo is kept as a Document attached to the item.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sponsorship = models.ForeignKey(
        Sponsorship, on_delete=models.PROTECT, related_name="in_kind_items"
    )
    description = models.CharField(_("what"), max_length=200)
    quantity = models.PositiveSmallIntegerField(_("quantity"), default=1)
    estimated_value = models.DecimalField(_("estimated value each (CAD)"), **MONEY)
    donated_by = models.CharField(_("donated by"), max_length=150, blank=True)
    given_on = models.DateField(_("given on"), default=timezone.localdate)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("in-kind item")
        ordering = ["given_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1), name="sponsorship_inkinditem_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(estimated_value__gte=0),
                name="sponsorship_inkinditem_value_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.description}"


class MonitoringContact(models.Model):
    """HanVoice's own contact with the family, independent of the sponsor group.

    The schedule (which months call for a contact) is data: MonitoringSchedule. A concern
    recorded here is shared with the group only when the case worker says so.
    """

    class Kind(models.TextChoices):
        PHONE = "phone", _("Phone call")
        VISIT = "visit", _("Visit")
        INTERPRETER = "interpreter", _("Visit or call with an interpreter")

    class Concern(models.TextChoices):
        NONE = "none", _("No concern")
        CONCERN = "concern", _("Concern")
        SERIOUS = "serious", _("Serious concern")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sponsorship = models.ForeignKey(
        Sponsorship, on_delete=models.PROTECT, related_name="monitoring_contacts"
    )
    schedule = models.ForeignKey(
        "MonitoringSchedule",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("scheduled contact"),
    )
    happened_on = models.DateField(_("date"))
    kind = models.CharField(_("how"), max_length=11, choices=Kind.choices)
    summary = EncryptedTextField(_("summary"), null=True, blank=True)
    concern_level = models.CharField(
        _("concern"), max_length=7, choices=Concern.choices, default=Concern.NONE
    )
    concern = EncryptedTextField(_("concern"), null=True, blank=True)
    share_concern_with_group = models.BooleanField(
        _("share the concern with the sponsor group"),
        default=False,
        help_text=_("Leave unticked when the family asked that the group not be told."),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("monitoring contact")
        ordering = ["-happened_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(concern_level="none") | Q(concern__isnull=False),
                name="sponsorship_monitoringcontact_concern_described",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.happened_on}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError  # as in Disbursement.clean

        super().clean()
        if self.happened_on and self.happened_on > timezone.localdate():
            raise ValidationError(
                {"happened_on": _("A contact cannot be recorded before it happens.")}
            )
        if self.concern_level != self.Concern.NONE and not self.concern:
            raise ValidationError({"concern": _("Describe the concern, or choose 'No concern'.")})


class MonitoringSchedule(models.Model):
    """When HanVoice contacts a family itself: a window of support months (data)."""

    label = models.CharField(_("label"), max_length=100)
    from_month = models.PositiveSmallIntegerField(_("from support month"))
    to_month = models.PositiveSmallIntegerField(_("to support month"))
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("monitoring schedule")
        verbose_name_plural = _("monitoring schedules")
        ordering = ["from_month", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(from_month__gte=1, to_month__gte=models.F("from_month"))
                & Q(to_month__lte=MAX_SUPPORT_MONTHS),
                name="sponsorship_monitoringschedule_months_in_order",
            ),
        ]

    def __str__(self) -> str:
        return self.label


class FormSubmission(models.Model):
    """A portal form's one-time token, consumed in the same transaction as the row the form
    wrote (sponsorship/submissions.py). Back + Save again, a double click or a retried
    request brings the same token: the second try finds this row and goes to what the first
    one wrote instead of writing it twice (docs/forms.md)."""

    token = models.UUIDField(unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    target = models.CharField(max_length=300, blank=True, default="")  # where the row is shown
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("form submission")
        verbose_name_plural = _("form submissions")

    def __str__(self) -> str:
        return str(self.token)


class RapRateQuerySet(models.QuerySet):
    def in_force(self, community: str, on: datetime.date) -> RapRateQuerySet:
        return self.filter(
            Q(effective_to__isnull=True) | Q(effective_to__gte=on),
            community__iexact=community.strip(),
            effective_from__lte=on,
        )


class RapRate(models.Model):
    """A Resettlement Assistance Program monthly rate of a community (or province) for a
    household size, from a date: after arrival, the legal floor of a family's monthly income
    support (docs/domain.md "The RAP floor"). Data staff keep up to date; none is seeded,
    because the rates change by province and year."""

    community = models.CharField(
        _("community or province"),
        max_length=120,
        help_text=_("As written in the family's community of settlement, e.g. Toronto."),
    )
    household_size = models.PositiveSmallIntegerField(
        _("household size"), validators=[MinValueValidator(1)]
    )
    monthly_amount = models.DecimalField(_("monthly rate (CAD)"), **MONEY)
    effective_from = models.DateField(_("in force from"))
    effective_to = models.DateField(_("in force until"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=200, blank=True)
    history = HistoricalRecords()

    objects = RapRateQuerySet.as_manager()

    class Meta:
        verbose_name = _("RAP rate")
        verbose_name_plural = _("RAP rates")
        ordering = ["community", "household_size", "-effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(monthly_amount__gt=0), name="sponsorship_raprate_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(household_size__gte=1), name="sponsorship_raprate_size_positive"
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True)
                | Q(effective_to__gte=models.F("effective_from")),
                name="sponsorship_raprate_ends_after_start",
            ),
            models.UniqueConstraint(
                fields=["community", "household_size", "effective_from"],
                name="sponsorship_raprate_one_per_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.community} · {self.household_size} · {self.monthly_amount}"

    def clean(self) -> None:
        super().clean()
        errors: dict[str, Any] = {}
        if self.monthly_amount is not None and self.monthly_amount <= 0:
            errors["monthly_amount"] = _(
                "A RAP rate is the least a family may receive each month: it must be more than $0."
            )
        if self.effective_to and self.effective_from and self.effective_to < self.effective_from:
            errors["effective_to"] = _("The rate cannot end before it comes into force.")
        if errors:
            raise ValidationError(errors)


class FamilyIncome(models.Model):
    """The family's own income in one support month, by member: net employment income (each
    adult 18+ on a line of their own), the Canada Child Benefit, other benefits. Recorded by
    the group's treasurer or the case worker; it decides whether support may be reduced
    (docs/domain.md "Family income")."""

    class Kind(models.TextChoices):
        EMPLOYMENT = "employment", _("Net employment income")
        CCB = "ccb", _("Canada Child Benefit")
        BENEFIT = "benefit", _("Other benefits")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sponsorship = models.ForeignKey(
        Sponsorship, on_delete=models.CASCADE, related_name="family_incomes"
    )
    month_number = models.PositiveSmallIntegerField(_("support month"))
    member = models.ForeignKey(
        "families.HouseholdMember",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("household member"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = models.DecimalField(_("amount (CAD, net)"), **MONEY)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("family income")
        verbose_name_plural = _("family income")
        ordering = ["month_number", "kind", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="sponsorship_familyincome_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(month_number__gte=1, month_number__lte=MAX_SUPPORT_MONTHS),
                name="sponsorship_familyincome_month_1_to_36",
            ),
            models.CheckConstraint(
                condition=~Q(kind="employment") | Q(member__isnull=False),
                name="sponsorship_familyincome_employment_by_member",
            ),
            models.UniqueConstraint(
                fields=["sponsorship", "month_number", "member", "kind"],
                name="sponsorship_familyincome_one_line",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · month {self.month_number} · {self.amount}"

    def clean(self) -> None:
        """Shared by `family_income_record` and the staff admin inline."""
        super().clean()
        errors: dict[str, Any] = {}
        if self.amount is not None and self.amount <= 0:
            errors["amount"] = _("The amount must be more than $0.")
        sponsorship = self.sponsorship if self.sponsorship_id else None
        if sponsorship is not None and self.month_number is not None:
            if sponsorship.arrival_date is None:
                errors["month_number"] = _(
                    "Income is recorded by support month, which starts on arrival; record the "
                    "family's arrival first."
                )
            elif not 1 <= self.month_number <= sponsorship.committed_months:
                errors["month_number"] = _(
                    "Month %(month)s is outside the sponsorship (months 1 to %(last)s)."
                ) % {"month": self.month_number, "last": sponsorship.committed_months}
        if self.kind == self.Kind.EMPLOYMENT and not self.member_id:
            errors["member"] = _("Employment income is recorded for the member who earned it.")
        if (
            sponsorship is not None
            and self.member is not None
            and self.member.family_id != sponsorship.family_id
        ):
            errors["member"] = _("This person is not a member of the sponsored family.")
        if errors:
            raise ValidationError(errors)


class SupportReduction(models.Model):
    """A month in which the sponsor pays less income support because the family earns: allowed
    only when net employment income exceeds 50% of that month's support, never because of the
    Canada Child Benefit, always with the reason (docs/domain.md "Family income")."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sponsorship = models.ForeignKey(
        Sponsorship, on_delete=models.CASCADE, related_name="support_reductions"
    )
    month_number = models.PositiveSmallIntegerField(_("support month"))
    amount = models.DecimalField(_("reduced by (CAD)"), **MONEY)
    reason = EncryptedTextField(_("reason"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("reduction of support")
        verbose_name_plural = _("reductions of support")
        ordering = ["month_number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="sponsorship_supportreduction_amount_positive"
            ),
            models.UniqueConstraint(
                fields=["sponsorship", "month_number"],
                name="sponsorship_supportreduction_one_per_month",
            ),
        ]

    def __str__(self) -> str:
        return f"month {self.month_number} · −{self.amount}"
