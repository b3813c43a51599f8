"""Staff admin for sponsor groups, sponsorships, plans and reviews.

Lifecycle changes (approve a group, record arrival, extend, end) are admin actions that call
the services, so the rules and the refusals are the same everywhere. Derived facts (month N
of M, end of support, budget) are read-only fields computed from the annotations of
`sponsorships_overview`, so the list's query count does not grow with the data.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import DateField, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from core.admin_actions import (
    action_with_form,
    not_in_future,
    run_service,
    staff_user,
)
from core.admin_forms import LabelledChangelistMixin, LabelledTabularInline, NativeDateInput
from core.dates import add_months, months_between, shown
from core.money import format_money
from families.admin import FamilyAdmin, LogsCaseFileViews
from families.models import Family, HouseholdMember
from sponsorship import reminders_admin  # noqa: F401  (reminder admin lives in its own module)
from sponsorship import services as sponsorship_services
from sponsorship.access import admin_scope
from sponsorship.budget import budget_for
from sponsorship.models import (
    MAX_SUPPORT_MONTHS,
    ArrivalEstimate,
    CheckIn,
    CostTableEntry,
    Disbursement,
    Extension,
    FamilyIncome,
    InKindItem,
    Membership,
    Milestone,
    MilestoneTemplate,
    MonitoringContact,
    MonitoringSchedule,
    RapRate,
    Review,
    ReviewTemplate,
    SponsorGroup,
    Sponsorship,
    SupportReduction,
)
from sponsorship.period import MAX_EXTENSION_MONTHS
from sponsorship.rap import RapTable, family_income, sponsorship_floor_flags
from sponsorship.selectors import annotate_support, period_summary

# --- the family list's sponsorship side -----------------------------------------------------


class MatchForm(forms.Form):
    group = forms.ModelChoiceField(
        label=_("Sponsor group"),
        queryset=SponsorGroup.objects.filter(
            status__in=[SponsorGroup.Status.APPROVED, SponsorGroup.Status.ACTIVE]
        ),
        help_text=_("Only approved or active groups with an approved settlement plan."),
    )
    kind = forms.ChoiceField(
        label=_("Kind of sponsorship"),
        choices=Sponsorship.Kind.choices,
        initial=Sponsorship.Kind.PSR,
    )
    matched_on = forms.DateField(
        label=_("Matched on"), widget=NativeDateInput, validators=[not_in_future]
    )


class SponsoredFamilyAdmin(FamilyAdmin):
    """The family admin with what only the sponsorship side knows: the active sponsorship's
    group, month N of M and what is due, and the "Match" action. Registered in place of
    families' own `FamilyAdmin`, so the case-file app imports no other app."""

    list_display = (
        "case_code",
        "status",
        "group_name",
        "support_month",
        "next_due",
        "overdue",
        "flags",
        "case_worker",
    )
    actions = ("start_vetting", "approve", "match", "book_travel", "close")

    # --- the list: constant queries whatever the number of families -----------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        today = timezone.localdate()
        active = Sponsorship.objects.filter(family=OuterRef("pk"), outcome="active")
        qs = super().get_queryset(request)
        qs = annotate_support(qs, today, families=True)
        return qs.annotate(
            active_group_name=Subquery(active.values("group__name")[:1]),
            active_arrival=Subquery(active.values("arrival_date")[:1], output_field=DateField()),
            active_sponsorship_pk=Subquery(active.values("pk")[:1], output_field=IntegerField()),
        )

    @admin.display(description=_("sponsor group"), ordering="active_group_name")
    def group_name(self, obj: Family) -> str:
        return getattr(obj, "active_group_name", None) or "-"

    @admin.display(description=_("support"))
    def support_month(self, obj: Family) -> str:
        if not getattr(obj, "active_sponsorship_pk", None):
            return "-"
        # A transient sponsorship carrying the annotations: the period rules stay in one place.
        transient = Sponsorship(arrival_date=obj.active_arrival)  # type: ignore[attr-defined]  # from the queryset's annotate()
        transient.approved_extension_months = obj.approved_extension_months  # type: ignore[attr-defined]  # from the queryset's annotate()
        return period_summary(transient)

    @admin.display(description=_("next due"), ordering="next_due_on")
    def next_due(self, obj: Family) -> str:
        if not getattr(obj, "next_due_on", None):
            return "-"
        return f"{obj.next_due_on:%Y-%m-%d} · {obj.next_due_title}"  # type: ignore[attr-defined]  # from the queryset's annotate()

    @admin.display(description=_("overdue"))
    def overdue(self, obj: Family) -> int:
        return getattr(obj, "overdue_milestones", 0) + getattr(obj, "overdue_reviews", 0)

    @admin.action(description=_("Match with a sponsor group"))
    def match(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return action_with_form(
            self,
            request,
            queryset,
            form_class=MatchForm,
            title=gettext("Match with a sponsor group"),
            submit_label=gettext("Match"),
            initial={"matched_on": timezone.localdate()},
            apply=lambda f, data: sponsorship_services.sponsorship_match(
                family=f,
                group=data["group"],
                kind=data["kind"],
                matched_on=data["matched_on"],
                matched_by=staff_user(request),
            ),
        )


admin.site.unregister(Family)
admin.site.register(Family, SponsoredFamilyAdmin)


# --- sponsor groups -----------------------------------------------------------------------


class MembershipInline(LabelledTabularInline):
    model = Membership
    fields = ("user", "role", "joined_on")
    autocomplete_fields = ()
    raw_id_fields = ("user",)
    extra = 0


@admin.register(SponsorGroup)
class SponsorGroupAdmin(SimpleHistoryAdmin):
    list_display = (
        "name",
        "kind",
        "community",
        "status",
        "settlement_plan_approved_on",
        "financial_commitment",
    )
    list_filter = ("status", "kind", "community")
    search_fields = ("name", "community")
    readonly_fields = ("status", "settlement_plan_approved_on", "settlement_plan_approved_by")
    inlines = (MembershipInline,)
    actions = ("start_screening", "approve_group", "withdraw_group", "complete_group")
    list_select_related = ("settlement_plan_approved_by",)

    def _move(self, request: HttpRequest, queryset: QuerySet, to: str, done: str) -> None:
        run_service(
            self,
            request,
            queryset,
            lambda g: sponsorship_services.sponsor_group_transition(
                group=g, to_status=to, changed_by=staff_user(request)
            ),
            done,
        )

    @admin.action(description=_("Start screening"))
    def start_screening(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._move(
            request,
            queryset,
            SponsorGroup.Status.SCREENING,
            gettext("%(n)s group(s) in screening."),
        )

    @admin.action(description=_("Approve group and settlement plan"))
    def approve_group(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_service(
            self,
            request,
            queryset,
            lambda g: sponsorship_services.sponsor_group_approve(
                group=g, approved_by=staff_user(request)
            ),
            gettext("%(n)s group(s) approved."),
        )

    @admin.action(description=_("Mark as withdrawn"))
    def withdraw_group(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._move(
            request, queryset, SponsorGroup.Status.WITHDRAWN, gettext("%(n)s group(s) withdrawn.")
        )

    @admin.action(description=_("Mark as completed"))
    def complete_group(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._move(
            request, queryset, SponsorGroup.Status.COMPLETED, gettext("%(n)s group(s) completed.")
        )


# --- sponsorships and their plan ----------------------------------------------------------


class MilestoneInline(LabelledTabularInline):
    model = Milestone
    fields = (
        "title",
        "area",
        "due_on",
        "completed_on",
        "responsible_member",
        "notes",
        "waiver",
        "added_by_group",
    )
    # The responsible member is named on the milestone's own page (its choices are the group).
    readonly_fields = ("waiver", "added_by_group", "responsible_member")
    extra = 0
    can_delete = False
    show_change_link = True
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 1, "cols": 40})}
    }

    @admin.display(description=_("waiver"))
    def waiver(self, obj: Milestone) -> str:
        if obj.waived_on:
            return gettext("waived on %(day)s") % {"day": shown(obj.waived_on)}
        if obj.waiver_requested_on:
            return gettext("requested on %(day)s") % {"day": shown(obj.waiver_requested_on)}
        return "-"

    @admin.display(description=_("responsible member"))
    def responsible_member(self, obj: Milestone) -> str:
        return responsible_label(obj)


def responsible_label(milestone: Milestone) -> str:
    if milestone.responsible is None:
        return "-"
    name = milestone.responsible.get_full_name() or milestone.responsible.email
    if milestone.responsible_is_member:
        return name
    return gettext("%(name)s (former member)") % {"name": name}


class ReviewInline(admin.StackedInline):
    model = Review
    fields = (
        ("label", "scheduled_for"),
        ("held_on", "reviewer", "outcome"),
        ("income", "housing", "language", "employment", "health", "social"),
        "income_against_floor",
        "notes",
        "group_input",
    )
    readonly_fields = ("group_input", "income_against_floor")
    extra = 0
    can_delete = False

    @admin.display(description=_("income against the RAP floor"))
    def income_against_floor(self, obj: Review) -> str:
        """The family's own income in the last full month before the review, against the RAP
        rate of its community (self-sufficient: at or above it; the CCB is not counted)."""
        sponsorship = obj.sponsorship if obj.pk else None
        if sponsorship is None or sponsorship.arrival_date is None:
            return "-"
        month = max(1, months_between(sponsorship.arrival_date, obj.scheduled_for))
        income = family_income([sponsorship.pk]).get(sponsorship.pk, {}).get(month)
        size = sponsorship.family.members.count()
        floor = RapTable.load([sponsorship.family.community]).floor(
            sponsorship.family.community, size, add_months(sponsorship.arrival_date, month - 1)
        )
        own = income.own_income if income else Decimal("0")
        parts = [
            gettext("Month %(n)s: own income %(own)s (CCB %(ccb)s not counted)")
            % {
                "n": month,
                "own": format_money(own),
                "ccb": format_money(income.ccb if income else 0),
            },
        ]
        if floor is None:
            parts.append(gettext("no RAP rate on file for the community"))
        else:
            verdict = (
                gettext("at or above the floor") if own >= floor else gettext("below the floor")
            )
            parts.append(
                gettext("RAP floor %(floor)s: %(verdict)s")
                % {"floor": format_money(floor), "verdict": verdict}
            )
        return " · ".join(parts)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "reviewer":
            from django.contrib.auth import get_user_model

            kwargs["queryset"] = get_user_model().objects.filter(is_staff=True, is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class DisbursementInline(LabelledTabularInline):
    """Validated by Disbursement.clean() (amount > 0, month within the support period),
    the same rule the portal's `disbursement_record` uses."""

    model = Disbursement
    fields = ("kind", "month_number", "amount", "paid_on", "method", "note", "recorded_by")
    readonly_fields = ("recorded_by",)
    extra = 0
    can_delete = False


class InKindItemInline(LabelledTabularInline):
    """Goods given instead of money; their value lowers the start-up cash still to give
    (never below the floor of docs/evidence.md). Photos are documents attached to the item."""

    model = InKindItem
    fields = ("description", "quantity", "estimated_value", "donated_by", "given_on")
    extra = 0
    can_delete = False


class MonitoringContactInline(admin.StackedInline):
    """HanVoice's own contacts with the family (the case worker's, not the group's)."""

    model = MonitoringContact
    fields = (
        ("happened_on", "kind", "schedule"),
        "summary",
        ("concern_level", "share_concern_with_group"),
        "concern",
        "recorded_by",
    )
    readonly_fields = ("recorded_by",)
    extra = 0
    can_delete = False


class FamilyIncomeInline(LabelledTabularInline):
    """The family's own income by support month, validated by FamilyIncome.clean() (a month
    inside the sponsorship; employment income on the line of the member who earned it)."""

    model = FamilyIncome
    fields = ("month_number", "member", "kind", "amount", "recorded_by")
    readonly_fields = ("recorded_by",)
    extra = 0
    verbose_name_plural = _("the family's own income")

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "member":
            match = request.resolver_match
            object_id = match.kwargs.get("object_id") if match else None  # None on "add"
            sponsorships = (
                Sponsorship.objects.filter(pk=object_id)
                if object_id
                else Sponsorship.objects.none()
            )
            family_id = sponsorships.values("family_id")
            kwargs["queryset"] = HouseholdMember.objects.filter(family_id__in=family_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class SupportReductionInline(LabelledTabularInline):
    model = SupportReduction
    fields = ("month_number", "amount", "reason", "decided_by", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # through the "Reduce support in a month" action (the 50% rule)


class ExtensionInline(LabelledTabularInline):
    model = Extension
    fields = ("months", "reason", "status", "requested_by", "requested_on", "decided_by")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # requested through the "Request an extension" action (36-month cap)


class ArrivalForm(forms.Form):
    arrival_date = forms.DateField(
        label=_("Arrived in Canada on"), widget=NativeDateInput, validators=[not_in_future]
    )


class ExpectedArrivalForm(forms.Form):
    expected_on = forms.DateField(label=_("Expected arrival"), widget=NativeDateInput)
    source = forms.ChoiceField(label=_("Source"), choices=ArrivalEstimate.Source.choices)
    nat_received_on = forms.DateField(
        label=_("NAT received on"),
        widget=NativeDateInput,
        required=False,
        help_text=_("Only when the date comes from IRCC's Notice of Arrival Transmission."),
    )
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=300,
        help_text=_("e.g. “flight delayed”. No names or places."),
    )


class ReductionForm(forms.Form):
    month_number = forms.IntegerField(
        label=_("Support month"), min_value=1, max_value=MAX_SUPPORT_MONTHS
    )
    amount = forms.DecimalField(
        label=_("Reduce support by (CAD)"), min_value=Decimal("0.01"), decimal_places=2
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea)


class BreakdownForm(forms.Form):
    ircc_notified_on = forms.DateField(
        label=_("IRCC told on"), widget=NativeDateInput, validators=[not_in_future]
    )
    resolution = forms.ChoiceField(
        label=_("What happens to the family"), choices=Sponsorship.BreakdownResolution.choices
    )
    new_group = forms.ModelChoiceField(
        label=_("Group that takes over"),
        queryset=SponsorGroup.objects.filter(
            status__in=[SponsorGroup.Status.APPROVED, SponsorGroup.Status.ACTIVE]
        ),
        required=False,
        help_text=_("Only for a transfer to another sponsor group."),
    )
    ended_on = forms.DateField(
        label=_("Ended on"), widget=NativeDateInput, validators=[not_in_future]
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea)


class EndForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[
            c
            for c in Sponsorship.Outcome.choices
            if c[0] not in (Sponsorship.Outcome.ACTIVE, Sponsorship.Outcome.BREAKDOWN)
        ],
        help_text=_(
            "Default: the sponsor cannot show it met its duties. A breakdown has its own action."
        ),
    )
    ended_on = forms.DateField(
        label=_("Ended on"), widget=NativeDateInput, validators=[not_in_future]
    )
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea)


class ExtensionRequestForm(forms.Form):
    months = forms.IntegerField(
        label=_("Months to add"), min_value=1, max_value=MAX_EXTENSION_MONTHS
    )
    reason = forms.CharField(label=_("Why the family needs more support"), widget=forms.Textarea)


@admin.register(Sponsorship)
class SponsorshipAdmin(LogsCaseFileViews, SimpleHistoryAdmin):
    """A sponsorship's page shows the family's plan, reviews and money: part of the case
    file, so its views are logged against the family like the family's own page."""

    family_lookup = "family"

    list_display = (
        "case_code",
        "group",
        "kind",
        "arrival_date",
        "month_of",
        "next_due",
        "overdue",
        "outcome",
    )
    list_filter = ("outcome", "kind", "group")
    search_fields = ("family__case_code", "group__name")
    list_select_related = ("family", "group")
    list_per_page = 50
    readonly_fields = (
        "family",
        "group",
        "matched_on",
        "arrival_date",
        "outcome",
        "ended_on",
        "end_reason",
        "month_of",
        "support_ends_on",
        "month_13_on",
        "remaining",
        "budget",
        "expected_arrival",
        "ircc_notified_on",
        "breakdown_resolution",
        "continues",
        "continued_by",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "family",
                    "group",
                    "kind",
                    "matched_on",
                    "expected_arrival",
                    "arrival_date",
                )
            },
        ),
        (
            _("Support period"),
            {"fields": ("month_of", "remaining", "support_ends_on", "month_13_on")},
        ),
        (_("Income support"), {"fields": ("budget",)}),
        (
            _("Outcome"),
            {
                "fields": (
                    "outcome",
                    "ended_on",
                    "end_reason",
                    "ircc_notified_on",
                    "breakdown_resolution",
                    "continues",
                    "continued_by",
                )
            },
        ),
    )
    inlines = (
        MilestoneInline,
        ReviewInline,
        DisbursementInline,
        FamilyIncomeInline,
        SupportReductionInline,
        InKindItemInline,
        MonitoringContactInline,
        ExtensionInline,
    )
    actions = (
        "set_expected_arrival",
        "record_arrival",
        "request_extension",
        "end_sponsorship",
        "record_breakdown",
        "reduce_support",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a sponsorship starts by matching a family (Families → "Match")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        qs = admin_scope(request, super().get_queryset(request))
        return annotate_support(qs, timezone.localdate())

    @admin.display(description=_("case code"), ordering="family__case_code")
    def case_code(self, obj: Sponsorship) -> str:
        return obj.family.case_code

    @admin.display(description=_("expected arrival"))
    def expected_arrival(self, obj: Sponsorship) -> str:
        """The current expected date and every earlier one (a delayed flight keeps its
        history); "-" once nothing was recorded."""
        estimates = list(obj.arrival_estimates.select_related("recorded_by")) if obj.pk else []
        if not estimates:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    e.expected_on,
                    e.get_source_display(),
                    e.nat_received_on or "-",
                    e.note or "-",
                    f"{e.recorded_at:%Y-%m-%d} · {e.recorded_by}",
                )
                for e in estimates
            ),
        )
        current = estimates[0]
        days = obj.days_to_arrival()
        summary = (
            gettext("%(day)s (arriving in %(n)s days)")
            % {"day": shown(current.expected_on), "n": days}
            if days is not None
            else shown(current.expected_on)
        )
        return format_html(
            "<p><strong>{}</strong></p><table><thead><tr><th>{}</th><th>{}</th><th>{}</th>"
            "<th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            summary,
            gettext("Expected arrival"),
            gettext("Source"),
            gettext("NAT received on"),
            gettext("Note"),
            gettext("Recorded"),
            rows,
        )

    @admin.display(description=_("continued by"))
    def continued_by(self, obj: Sponsorship) -> str:
        successor = Sponsorship.objects.filter(continues=obj).select_related("group").first()
        return str(successor.group) if successor else "-"

    @admin.display(description=_("support"))
    def month_of(self, obj: Sponsorship) -> str:
        return period_summary(obj)

    @admin.display(description=_("months remaining"))
    def remaining(self, obj: Sponsorship) -> str:
        months = obj.months_remaining()
        return "-" if months is None else str(months)

    @admin.display(description=_("support ends on"))
    def support_ends_on(self, obj: Sponsorship) -> str:
        return date_format(obj.support_ends_on) if obj.support_ends_on else "-"

    @admin.display(description=_("month 13 begins"))
    def month_13_on(self, obj: Sponsorship) -> str:
        return date_format(obj.month_13_on) if obj.month_13_on else "-"

    @admin.display(description=_("next due"), ordering="next_due_on")
    def next_due(self, obj: Sponsorship) -> str:
        if not getattr(obj, "next_due_on", None):
            return "-"
        return f"{obj.next_due_on:%Y-%m-%d} · {obj.next_due_title}"  # type: ignore[attr-defined]  # from the queryset's annotate()

    @admin.display(description=_("overdue"))
    def overdue(self, obj: Sponsorship) -> int:
        return obj.overdue_milestones + obj.overdue_reviews  # type: ignore[attr-defined]  # from the queryset's annotate()

    @admin.display(description=_("planned vs paid"))
    def budget(self, obj: Sponsorship) -> str:
        if obj.pk is None:
            return "-"
        b = budget_for(obj)
        cad = format_money

        # The portal's words and the portal's figures: both read the one Budget.
        rows = [
            (gettext("Family size"), b.family_size),
            (gettext("Monthly income support (plan)"), cad(b.monthly)),
            (gettext("Planned to date"), cad(b.planned_to_date)),
            (gettext("Paid"), cad(b.paid_total)),
            (gettext("Owed this month"), cad(b.owed_this_month)),
            (gettext("Behind plan to date"), cad(b.behind_by)),
            (
                gettext("Income support planned / paid"),
                f"{cad(b.income_planned)} / {cad(b.income_paid)}",
            ),
            (
                gettext("Start-up planned / paid"),
                f"{cad(b.start_up_planned)} / {cad(b.start_up_paid)}",
            ),
            *(
                [(gettext("Start-up in kind"), cad(b.start_up_in_kind))]
                if b.start_up_in_kind
                else []
            ),
            *([(gettext("In-kind gifts in all"), cad(b.in_kind_given))] if b.in_kind_given else []),
            (gettext("Planned in all"), cad(b.planned_total)),
        ]
        rules = b.kind_rules
        if rules.government_months:
            what = (
                gettext("income support in months %(months)s (%(source)s)")
                if rules.sponsor_owes_start_up
                else gettext("income support in months %(months)s and start-up (%(source)s)")
            )
            rows.append(
                (
                    gettext("Paid by the government"),
                    what % {"months": rules.government_months_text, "source": rules.source},
                )
            )
        table = format_html_join("", "<tr><th scope='row'>{}</th><td>{}</td></tr>", rows)
        return format_html(
            "<table>{}</table>{}<p class='help'>{}</p>",
            table,
            self._floor_flags(obj, b),
            gettext(
                # xgettext:no-python-format
                "The plan uses the RSTP cost table (an estimate). After arrival the floor is the "
                "RAP rate of the community; support may be reduced only once net employment "
                "income exceeds 50% of monthly support, and never because of the Canada Child "
                "Benefit."
            ),
        )

    def _floor_flags(self, obj: Sponsorship, budget) -> str:
        """Months planned or paid below the RAP floor of the family's community."""
        flags = sponsorship_floor_flags(obj, budget) if obj.arrival_date else []
        if not flags:
            return ""
        items = format_html_join(
            "",
            "<li>{}</li>",
            (
                (
                    (
                        gettext(
                            "Month %(n)s planned at %(amount)s, below the RAP floor of %(floor)s"
                        )
                        if f.what == "planned"
                        else gettext(
                            "Month %(n)s paid %(amount)s, below the RAP floor of %(floor)s"
                        )
                    )
                    % {
                        "n": f.month,
                        "amount": format_money(f.amount),
                        "floor": format_money(f.floor),
                    },
                )
                for f in flags
            ),
        )
        return format_html(
            "<div class='rap-floor'><p class='errornote'>{}</p><ul>{}</ul></div>",
            gettext("Below the RAP floor"),
            items,
        )

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        for instance in formset.save(commit=False):
            if (
                isinstance(instance, Disbursement | InKindItem | MonitoringContact | FamilyIncome)
                and not instance.recorded_by_id
            ):
                instance.recorded_by = staff_user(request)
            instance.save()
        formset.save_m2m()

    @admin.action(description=_("Set the expected arrival"))
    def set_expected_arrival(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return action_with_form(
            self,
            request,
            queryset,
            form_class=ExpectedArrivalForm,
            title=gettext("Set the expected arrival"),
            submit_label=gettext("Save the expected arrival"),
            initial={"source": ArrivalEstimate.Source.NAT},
            explanation=gettext(
                "The pre-arrival items of the settlement plan are scheduled from this date and "
                "move with it. Change it as often as the flight moves; earlier dates are kept."
            ),
            apply=lambda s, data: sponsorship_services.sponsorship_set_expected_arrival(
                sponsorship=s,
                expected_on=data["expected_on"],
                source=data["source"],
                nat_received_on=data["nat_received_on"],
                note=data["note"],
                recorded_by=staff_user(request),
            ),
        )

    @admin.action(description=_("Record a breakdown"))
    def record_breakdown(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return action_with_form(
            self,
            request,
            queryset,
            form_class=BreakdownForm,
            title=gettext("Record a breakdown"),
            submit_label=gettext("Record the breakdown"),
            initial={"ended_on": timezone.localdate()},
            explanation=gettext(
                "IRCC declared that the sponsor cannot or will not meet its undertaking. "
                "Support-continuity items are added to the plan of whoever carries on."
            ),
            apply=lambda s, data: sponsorship_services.sponsorship_record_breakdown(
                sponsorship=s,
                ircc_notified_on=data["ircc_notified_on"],
                resolution=data["resolution"],
                new_group=data["new_group"],
                ended_on=data["ended_on"],
                reason=data["reason"],
                recorded_by=staff_user(request),
            ),
        )

    @admin.action(description=_("Reduce support in a month"))
    def reduce_support(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return action_with_form(
            self,
            request,
            queryset,
            form_class=ReductionForm,
            title=gettext("Reduce support in a month"),
            submit_label=gettext("Record the reduction"),
            explanation=gettext(
                "Allowed only when the family's net employment income that month is more than "
                "half of the month's support; the Canada Child Benefit never counts. Record the "
                "family's income first."
            ),
            apply=lambda s, data: sponsorship_services.support_reduction_record(
                sponsorship=s,
                month_number=data["month_number"],
                amount=data["amount"],
                reason=data["reason"],
                decided_by=staff_user(request),
            ),
        )

    @admin.action(description=_("Record arrival in Canada"))
    def record_arrival(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return action_with_form(
            self,
            request,
            queryset,
            form_class=ArrivalForm,
            title=gettext("Record arrival in Canada"),
            submit_label=gettext("Record arrival"),
            initial={"arrival_date": timezone.localdate()},
            explanation=gettext(
                "The day the family landed is day 0: it starts the support period and creates "
                "the settlement plan after arrival and the review schedule from that day, "
                "whatever the expected date was."
            ),
            apply=lambda s, data: sponsorship_services.sponsorship_record_arrival(
                sponsorship=s, arrival_date=data["arrival_date"], recorded_by=staff_user(request)
            ),
        )

    @admin.action(description=_("Request an extension"))
    def request_extension(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return action_with_form(
            self,
            request,
            queryset,
            form_class=ExtensionRequestForm,
            title=gettext("Request an extension"),
            submit_label=gettext("Request"),
            explanation=gettext(
                "A program manager approves extensions; support never goes past 36 months."
            ),
            apply=lambda s, data: sponsorship_services.extension_request(
                sponsorship=s,
                months=data["months"],
                reason=data["reason"],
                requested_by=staff_user(request),
            ),
        )

    @admin.action(description=_("End the sponsorship"))
    def end_sponsorship(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return action_with_form(
            self,
            request,
            queryset,
            form_class=EndForm,
            title=gettext("End the sponsorship"),
            submit_label=gettext("End"),
            initial={"ended_on": timezone.localdate()},
            apply=lambda s, data: sponsorship_services.sponsorship_end(
                sponsorship=s,
                outcome=data["outcome"],
                ended_on=data["ended_on"],
                reason=data["reason"],
                ended_by=staff_user(request),
            ),
        )


class DecisionNoteForm(forms.Form):
    note = forms.CharField(label=_("Note for the group"), widget=forms.Textarea, required=False)


@admin.register(Extension)
class ExtensionAdmin(LogsCaseFileViews, SimpleHistoryAdmin):
    family_lookup = "sponsorship__family"
    list_display = ("sponsorship", "months", "status", "requested_on", "requested_by", "decided_by")
    list_filter = ("status",)
    search_fields = ("sponsorship__family__case_code",)
    list_select_related = (
        "sponsorship__family",
        "sponsorship__group",
        "requested_by",
        "decided_by",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return admin_scope(request, super().get_queryset(request), via="sponsorship__")

    readonly_fields = (
        "sponsorship",
        "months",
        "reason",
        "status",
        "requested_by",
        "requested_on",
        "decided_by",
        "decided_at",
        "decision_note",
    )
    actions = ("approve_extension", "refuse_extension")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Approve extension (program managers)"))
    def approve_extension(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return action_with_form(
            self,
            request,
            queryset,
            form_class=DecisionNoteForm,
            title=gettext("Approve extension"),
            submit_label=gettext("Approve"),
            apply=lambda e, data: sponsorship_services.extension_approve(
                extension=e, approved_by=staff_user(request), note=data["note"]
            ),
        )

    @admin.action(description=_("Refuse extension (program managers)"))
    def refuse_extension(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return action_with_form(
            self,
            request,
            queryset,
            form_class=DecisionNoteForm,
            title=gettext("Refuse extension"),
            submit_label=gettext("Refuse"),
            apply=lambda e, data: sponsorship_services.extension_refuse(
                extension=e, refused_by=staff_user(request), note=data["note"]
            ),
        )


class WaiveForm(forms.Form):
    reason = forms.CharField(
        label=_("Why it is waived"),
        widget=forms.Textarea,
        required=False,
        help_text=_("Leave blank to use the reason the group gave."),
    )


class MilestoneDueFilter(admin.SimpleListFilter):
    """Open / overdue milestones (the dashboard's "overdue by group" links here)."""

    title = _("due")
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("overdue", _("Overdue")), ("open", _("Open")), ("done", _("Done or waived"))]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "overdue":
            return queryset.overdue(today).filter(sponsorship__outcome="active")
        if self.value() == "open":
            return queryset.open()
        if self.value() == "done":
            return queryset.exclude(completed_on__isnull=True, waived_on__isnull=True)
        return queryset


@admin.register(Milestone)
class MilestoneAdmin(LogsCaseFileViews, admin.ModelAdmin):
    family_lookup = "sponsorship__family"
    list_display = (
        "title",
        "case_code",
        "group",
        "area",
        "due_on",
        "responsible_member",
        "completed_on",
        "waiver_requested_on",
    )
    list_filter = (
        MilestoneDueFilter,
        "area",
        ("sponsorship__group", admin.RelatedOnlyFieldListFilter),
        ("waiver_requested_on", admin.EmptyFieldListFilter),
        "added_by_group",
        "continuity",
    )
    search_fields = ("sponsorship__family__case_code", "title")
    list_select_related = ("sponsorship__family", "sponsorship__group", "responsible")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return admin_scope(request, super().get_queryset(request), via="sponsorship__")

    @admin.display(description=_("responsible member"))
    def responsible_member(self, obj: Milestone) -> str:
        return responsible_label(obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        """The responsible member is chosen among the sponsorship's group (and whoever is
        named now, if they left since); Milestone.clean checks it again on save."""
        form = super().get_form(request, obj, change=change, **kwargs)
        field = form.base_fields.get("responsible")
        if field is not None and obj is not None:
            from django.contrib.auth import get_user_model

            field.queryset = (
                get_user_model()
                .objects.filter(
                    Q(memberships__group__sponsorships=obj.sponsorship_id)
                    | Q(pk=obj.responsible_id)
                )
                .distinct()
            )
        return form

    readonly_fields = (
        "sponsorship",
        "template",
        "continuity",
        "waiver_requested_on",
        "waiver_requested_by",
        "waived_on",
        "waived_by",
        "completed_by",
    )
    actions = ("waive",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("case code"), ordering="sponsorship__family__case_code")
    def case_code(self, obj: Milestone) -> str:
        return obj.sponsorship.family.case_code

    @admin.display(description=_("sponsor group"))
    def group(self, obj: Milestone) -> str:
        return obj.sponsorship.group.name

    @admin.action(description=_("Waive (approve the group's waiver request)"))
    def waive(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return action_with_form(
            self,
            request,
            queryset,
            form_class=WaiveForm,
            title=gettext("Waive milestone"),
            submit_label=gettext("Waive"),
            apply=lambda m, data: sponsorship_services.milestone_waive(
                milestone=m, waived_by=staff_user(request), reason=data["reason"]
            ),
        )


# --- catalogues (data staff edit) -----------------------------------------------------------


@admin.register(CheckIn)
class CheckInAdmin(LogsCaseFileViews, admin.ModelAdmin):
    """A check-in as the group logged it: where the urgent-concern e-mail leads. Read-only
    (the group's own words); addressed by its public id, as in the e-mail's link."""

    family_lookup = "sponsorship__family"
    list_display = ("happened_on", "case_code", "group", "kind", "wellbeing", "concern_level")
    list_filter = ("concern_level", "kind")
    search_fields = ("sponsorship__family__case_code", "sponsorship__group__name")
    list_select_related = ("sponsorship__family", "sponsorship__group")
    date_hierarchy = "happened_on"
    fields = (
        "sponsorship",
        "happened_on",
        "kind",
        "who",
        "wellbeing",
        "summary",
        "concern_level",
        "concern",
        "logged_by",
        "acknowledged_by",
        "acknowledged_at",
    )
    readonly_fields = fields

    @staticmethod
    def _lookup(object_id: str) -> dict:
        try:  # the e-mail links by public id, never by the row's number
            return {"public_id": uuid.UUID(str(object_id))}
        except ValueError:
            return {"pk": int(object_id)} if str(object_id).isdigit() else {"pk__in": []}

    def case_file_family(self, object_id: str) -> Family | None:
        key = {f"sponsorships__checkins__{k}": v for k, v in self._lookup(object_id).items()}
        return Family.objects.filter(**key).only("pk", "case_code").first()

    def get_object(self, request, object_id, from_field=None):
        key = self._lookup(object_id)
        if from_field is not None or "public_id" not in key:
            return super().get_object(request, object_id, from_field)
        return self.get_queryset(request).filter(**key).first()

    @admin.display(description=_("case code"), ordering="sponsorship__family__case_code")
    def case_code(self, obj: CheckIn) -> str:
        return obj.sponsorship.family.case_code

    @admin.display(description=_("sponsor group"), ordering="sponsorship__group__name")
    def group(self, obj: CheckIn) -> str:
        return obj.sponsorship.group.name

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MilestoneTemplate)
class MilestoneTemplateAdmin(LabelledChangelistMixin, admin.ModelAdmin):
    list_display = ("title", "area", "offset_days", "only_with_children", "basis", "is_active")
    list_editable = ("area", "offset_days", "is_active")
    list_filter = ("is_active", "area", "only_with_children")
    search_fields = ("title",)


@admin.register(MonitoringSchedule)
class MonitoringScheduleAdmin(admin.ModelAdmin):
    """When HanVoice itself contacts each family (support months): data, not code."""

    list_display = ("label", "from_month", "to_month", "is_active")


@admin.register(ReviewTemplate)
class ReviewTemplateAdmin(admin.ModelAdmin):
    list_display = ("label", "at_month", "days_before_period_end", "is_active")
    list_filter = ("is_active",)


@admin.register(RapRate)
class RapRateAdmin(SimpleHistoryAdmin):
    """The RAP rates: the legal floor of monthly income support after arrival, by community
    and household size, from a date (validated by RapRate.clean: more than $0)."""

    list_display = (
        "community",
        "household_size",
        "monthly_amount",
        "effective_from",
        "effective_to",
        "source",
    )
    list_filter = ("community",)
    search_fields = ("community",)


@admin.register(CostTableEntry)
class CostTableEntryAdmin(admin.ModelAdmin):
    list_display = ("__str__", "income_support", "start_up", "source")


from sponsorship import portal_admin  # noqa: E402,F401  # isort: skip (staff invite members)
