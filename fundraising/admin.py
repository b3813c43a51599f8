"""The staff side of fundraising. Permissions come from the role groups (core/roles.py):
program managers and fundraising staff; case workers see none of it. Nothing is deleted.
"""

from __future__ import annotations

import json
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.admin_actions import staff_user
from core.admin_forms import LabelledTabularInline
from core.money import format_money
from fundraising import imports, selectors, services
from fundraising.forms import (
    CancelReplaceForm,
    DonorLookupForm,
    PaymentImportForm,
    ReceiptBrandingForm,
    RecordPaymentForm,
    YearEndForm,
    YearlyReceiptForm,
)
from fundraising.models import (
    Campaign,
    DonorEmail,
    Payment,
    Pledge,
    Receipt,
    ReceiptBranding,
    StripeEvent,
)


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


class NoDeleteMixin:
    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Campaign)
class CampaignAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = ["name", "goal", "received", "pledged_outstanding", "starts_on", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "slug",
                    "goal",
                    "cost_per_family",
                    "families_goal",
                    "starts_on",
                    "ends_on",
                    "suggested_amounts",
                    "is_active",
                    "auto_approve_wall",
                ]
            },
        ),
        (
            _("English (shown when a translation is missing)"),
            {"fields": ["name", "summary", "story", "thanks_text"]},
        ),
        (_("French"), {"fields": ["name_fr", "summary_fr", "story_fr", "thanks_text_fr"]}),
        (_("Korean"), {"fields": ["name_ko", "summary_ko", "story_ko", "thanks_text_ko"]}),
    ]

    def save_model(self, request, obj: Campaign, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        selectors.campaign_totals_invalidate(obj.pk)  # the public page shows the new text now
        if change and "slug" in form.changed_data and form.initial.get("slug"):
            selectors.campaign_forget(form.initial["slug"])  # the old address's cached copy

    @admin.display(description=_("received"))
    def received(self, obj: Campaign):
        return selectors.campaign_totals(obj).received

    @admin.display(description=_("pledged, not yet received"))
    def pledged_outstanding(self, obj: Campaign):
        return selectors.campaign_totals(obj).pledged_outstanding


class UnpaidFilter(admin.SimpleListFilter):
    title = _("payment")
    parameter_name = "paid"

    def lookups(self, request, model_admin):
        return [("none", _("Pledged, nothing received")), ("open", _("Not fully received"))]

    def queryset(self, request, queryset):
        has_payment = Payment.objects.filter(pledge=OuterRef("pk"))
        if self.value() == "none":
            return queryset.filter(status=Pledge.Status.PLEDGED).exclude(Exists(has_payment))
        if self.value() == "open":
            return queryset.filter(status__in=list(Pledge.OPEN_STATUSES))
        return queryset


class ConfirmationFilter(admin.SimpleListFilter):
    """Unconfirmed pledges count nowhere: staff see them apart (docs/fundraising.md)."""

    title = _("confirmation")
    parameter_name = "confirmed"

    def lookups(self, request, model_admin):
        return [
            ("no", _("Waiting for the donor's confirmation")),
            ("yes", _("Confirmed or paid")),
            ("expired", _("Expired, never confirmed")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(pk__in=selectors.pledges_unconfirmed().values("pk"))
        if self.value() == "yes":
            return queryset.filter(confirmed_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(status=Pledge.Status.EXPIRED)
        return queryset


class WallFilter(admin.SimpleListFilter):
    title = _("donor wall")
    parameter_name = "wall"

    def lookups(self, request, model_admin):
        return [
            ("review", _("Waiting for review")),
            ("shown", _("Approved")),
            ("declined", _("Declined")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "review":
            return queryset.filter(
                wall_approved_at__isnull=True,
                wall_declined_at__isnull=True,
                confirmed_at__isnull=False,
                status__in=list(Pledge.COUNTED_STATUSES),
            )
        if self.value() == "shown":
            return queryset.filter(wall_approved_at__isnull=False)
        if self.value() == "declined":
            return queryset.filter(wall_declined_at__isnull=False)
        return queryset


class PaymentInline(LabelledTabularInline):
    model = Payment
    extra = 0
    can_delete = False
    fields = ["received_on", "amount", "method", "method_reference"]
    readonly_fields = ("received_on", "amount", "method", "method_reference")
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Pledge)
class PledgeAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = [
        "reference",
        "donor_name",
        "email",
        "amount",
        "frequency",
        "months",
        "total_display",
        "status",
        "confirmed_display",
        "wall_display",
        "pledged_on",
        "campaign",
    ]
    list_filter = [
        ConfirmationFilter,
        WallFilter,
        UnpaidFilter,
        "status",
        "frequency",
        "campaign",
        "is_anonymous",
        "wants_receipt",
        "pays_by_card",
        ("renewal_failed_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["reference", "donor_name", "email", "stripe_subscription_id"]
    date_hierarchy = "pledged_on"
    list_select_related = ["campaign"]
    readonly_fields = [
        "reference",
        "public_id",
        "created_at",
        "pledged_on",
        "confirmed_at",
        "wall_approved_at",
        "wall_approved_by",
        "wall_declined_at",
        "wall_declined_by",
        "anonymised_at",
        "pays_by_card",
        "cover_fee",
        "stripe_subscription_id",
        "renewal_failed_at",
        "paused_at",
    ]
    inlines = [PaymentInline]
    actions = [
        "approve_for_wall",
        "decline_for_wall",
        "withdraw_from_wall",
        "record_payment",
        "cancel_pledges",
        "export_donor",
        "anonymise_donor",
    ]

    @admin.display(description=_("confirmed"), boolean=True, ordering="confirmed_at")
    def confirmed_display(self, obj: Pledge) -> bool:
        return obj.confirmed_at is not None

    @admin.display(description=_("on the wall"), boolean=True, ordering="wall_approved_at")
    def wall_display(self, obj: Pledge) -> bool:
        return obj.wall_approved_at is not None

    @admin.action(description=_("Approve for the donor wall"), permissions=["change"])
    def approve_for_wall(self, request: HttpRequest, queryset: QuerySet[Pledge]):
        count = services.pledges_wall_approve(
            pledges=list(queryset), approved_by=staff_user(request)
        )
        self.message_user(request, _("%d wall entr(ies) approved.") % count)

    @admin.action(description=_("Decline for the donor wall"), permissions=["change"])
    def decline_for_wall(self, request: HttpRequest, queryset: QuerySet[Pledge]):
        count = services.pledges_wall_decline(
            pledges=list(queryset), declined_by=staff_user(request)
        )
        self.message_user(request, _("%d wall entr(ies) declined.") % count)

    # --- one entry at a time, on the pledge's page (docs/fundraising.md "Donor wall") ---

    def get_urls(self):
        wall = path(
            "<path:object_id>/wall/",
            self.admin_site.admin_view(self.wall_view),
            name="fundraising_pledge_wall",
        )
        return [wall, *super().get_urls()]

    def wall_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Approve or decline this pledge's wall entry (POST from the buttons on its page)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        pledge = self.get_object(request, object_id)
        if pledge is None:
            raise Http404
        decision = request.POST.get("decision")
        if decision == "approve":
            services.pledges_wall_approve(pledges=[pledge], approved_by=staff_user(request))
            done = _("%s is approved for the donor wall.")
        elif decision == "decline":
            services.pledges_wall_decline(pledges=[pledge], declined_by=staff_user(request))
            done = _("%s is kept off the donor wall.")
        else:
            return HttpResponseBadRequest(_("Choose approve or decline."))
        self.message_user(request, done % pledge.reference, messages.SUCCESS)
        return HttpResponseRedirect(
            reverse("admin:fundraising_pledge_change", args=[quote(pledge.pk)]) + "#donor-wall"
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        pledge = self.get_object(request, object_id)
        if pledge is not None:
            extra_context = {**(extra_context or {}), "wall": self._wall_review(request, pledge)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _wall_review(self, request: HttpRequest, pledge: Pledge) -> dict:
        """The entry as the public wall would show it, where it stands, and who decided."""
        row = {name: getattr(pledge, name) for name in selectors.WALL_FIELDS}
        if pledge.wall_approved_at:
            state, at, by = "approved", pledge.wall_approved_at, pledge.wall_approved_by
        elif pledge.wall_declined_at:
            state, at, by = "declined", pledge.wall_declined_at, pledge.wall_declined_by
        else:
            state, at, by = "waiting", None, None
        return {
            "entry": selectors.wall_entry(row),
            "state": state,
            "decided_at": at,
            "decided_by": (by.get_full_name() or by.get_username()) if by else "",
            "shown": state == "approved"
            and pledge.confirmed_at is not None
            and pledge.status in Pledge.COUNTED_STATUSES,
            "action": reverse("admin:fundraising_pledge_wall", args=[quote(pledge.pk)]),
            "may_decide": self.has_change_permission(request, pledge),
        }

    @admin.action(description=_("Take off the donor wall"), permissions=["change"])
    def withdraw_from_wall(self, request: HttpRequest, queryset: QuerySet[Pledge]):
        count = services.pledges_wall_withdraw(pledges=list(queryset))
        self.message_user(request, _("%d wall entr(ies) taken off the wall.") % count)

    @admin.display(description=_("total"))
    def total_display(self, obj: Pledge):
        return obj.total

    def has_add_permission(self, request) -> bool:
        return False  # pledges come from donors through /give/ (or staff use that page too)

    @admin.action(description=_("Record a payment"), permissions=["change"])
    def record_payment(self, request: HttpRequest, queryset: QuerySet[Pledge]):
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one pledge."), messages.WARNING)
            return None
        pledge = queryset.get()
        form = RecordPaymentForm(
            request.POST if "apply" in request.POST else None, initial={"amount": pledge.amount}
        )
        if form.is_valid():
            try:
                services.payment_record(
                    pledge=pledge, recorded_by=staff_user(request), **form.cleaned_data
                )
            except ValidationError as exc:  # next to the field it is about
                by_field: list[tuple[str | None, list[ValidationError]]] = (
                    list(exc.error_dict.items())
                    if hasattr(exc, "error_dict")
                    else [(None, exc.error_list)]
                )
                for field, errors in by_field:
                    form.add_error(field if field in form.fields else None, errors)
            else:
                self.message_user(request, _("Payment recorded for %s.") % pledge.reference)
                return None
        paid = selectors.pledge_paid_total(pledge)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Record a payment for %s") % pledge.reference,
            "form": form,
            "pledge": pledge,
            # Who is paying and what is still owed, so the amount and date can be checked.
            "pledge_facts": [
                (_("Donor"), f"{pledge.donor_name} <{pledge.email}>"),
                (_("Pledged on"), date_format(pledge.pledged_on, "DATE_FORMAT")),
                (_("Pledge"), f"{format_money(pledge.amount)} × {pledge.months}"),
                (_("Received so far"), format_money(paid)),
                (_("Still owed"), format_money(max(pledge.total - paid, Decimal("0")))),
            ],
            "queryset": queryset,
            "action": "record_payment",
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/fundraising/action_form.html", context)

    @admin.action(description=_("Cancel the pledges"), permissions=["change"])
    def cancel_pledges(self, request: HttpRequest, queryset: QuerySet[Pledge]):
        for pledge in queryset:
            try:
                services.pledge_cancel(pledge=pledge)
            except ValidationError as exc:
                self.message_user(request, f"{pledge.reference}: {_errors(exc)}", messages.ERROR)

    @admin.action(description=_("Export donor data (JSON)"), permissions=["view"])
    def export_donor(self, request: HttpRequest, queryset: QuerySet[Pledge]):
        emails = sorted({p.email.lower() for p in queryset if p.email})
        data = [services.donor_export(email=email) for email in emails]
        response = HttpResponse(
            json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
        )
        stamp = timezone.localdate().isoformat()
        response["Content-Disposition"] = f'attachment; filename="donor-export-{stamp}.json"'
        return response

    @admin.action(
        description=_("Anonymise the donors (keeps financial records)"), permissions=["change"]
    )
    def anonymise_donor(self, request: HttpRequest, queryset: QuerySet[Pledge]):
        if "apply" not in request.POST:
            context = {
                **self.admin_site.each_context(request),
                "title": _("Anonymise these donors?"),
                "queryset": queryset,
                "action": "anonymise_donor",
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                "warning": _(
                    "Names, e-mail and postal addresses, messages and tributes are erased from "
                    "every pledge and payment of these donors. Amounts and dates are kept, and "
                    "issued receipts stay as issued (the law requires it). This cannot be undone."
                ),
            }
            return TemplateResponse(request, "admin/fundraising/action_form.html", context)
        emails = {p.email for p in queryset if p.email}
        count = sum(services.donor_anonymise(email=email) for email in emails)
        self.message_user(request, _("%d pledge(s) anonymised.") % count)
        return None


class ReceiptedFilter(admin.SimpleListFilter):
    title = _("receipt")
    parameter_name = "receipted"

    def lookups(self, request, model_admin):
        return [("no", _("Not yet receipted")), ("yes", _("Receipted"))]

    def queryset(self, request, queryset):
        active = Receipt.objects.filter(payments=OuterRef("pk"), cancelled_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(is_private_benevolence=False).exclude(Exists(active))
        if self.value() == "yes":
            return queryset.filter(Exists(active))
        return queryset


class PaymentAdminForm(forms.ModelForm):
    """The checks of services.payment_record, as form errors instead of a server error."""

    class Meta:
        model = Payment
        fields = [
            "campaign",
            "pledge",
            "donor_name",
            "donor_email",
            "donor_address",
            "amount",
            "received_on",
            "method",
            "method_reference",
            "advantage_amount",
            "advantage_description",
            "is_private_benevolence",
            "notes",
        ]

    def clean(self) -> dict:
        super().clean()
        cleaned = self.cleaned_data
        if self.instance.pk:
            return cleaned
        pledge, campaign = cleaned.get("pledge"), cleaned.get("campaign")
        received_on = cleaned.get("received_on")
        if pledge and pledge.status == Pledge.Status.CANCELLED:
            self.add_error("pledge", _("This pledge is cancelled: record the payment without it."))
        if pledge and campaign and pledge.campaign_id != campaign.pk:
            self.add_error("campaign", _("The pledge belongs to another campaign."))
        if received_on and received_on > timezone.localdate():
            self.add_error("received_on", _("A payment cannot be received in the future."))
        if cleaned.get("method") == Payment.Method.CARD:
            self.add_error(
                "method",
                _(
                    "Card payments are recorded from Stripe's notifications only: they appear "
                    "here by themselves once Stripe has taken the money."
                ),
            )
        return cleaned


@admin.register(Payment)
class PaymentAdmin(NoDeleteMixin, admin.ModelAdmin):
    form = PaymentAdminForm
    list_display = [
        "received_on",
        "donor_name",
        "amount",
        "method",
        "pledge",
        "is_private_benevolence",
        "campaign",
    ]
    list_filter = [ReceiptedFilter, "method", "is_private_benevolence", "campaign"]
    search_fields = ["donor_name", "donor_email", "pledge__reference", "method_reference"]
    date_hierarchy = "received_on"
    list_select_related = ["pledge", "campaign"]
    raw_id_fields = ["pledge"]
    readonly_fields = ["recorded_by", "created_at", "external_id", "refunded_amount"]
    actions = ["issue_receipt"]

    def get_urls(self):
        urls = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="fundraising_payment_import",
            )
        ]
        return urls + super().get_urls()

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Preview a CSV of payments, then import it (all or nothing, never twice)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PaymentImportForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            report = imports.payments_import(
                source=data["source"],
                text=data["content"],
                campaign=data["campaign"],
                dry_run="import" not in request.POST,
                recorded_by=request.user,
            )
            if report.recorded:
                self.message_user(request, _("%d payment(s) imported.") % report.recorded)
            form = PaymentImportForm(initial={**data, "content": data["content"]})
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import payments"),
            "form": form,
            "report": report,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/fundraising/import.html", context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "tools": [(reverse("admin:fundraising_payment_import"), _("Import payments"))],
        }
        return super().changelist_view(request, extra_context)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:  # money received is a fact: correct it with notes, not edits
            return [*self.readonly_fields, "amount", "received_on", "pledge", "campaign"]
        return self.readonly_fields

    def save_model(self, request, obj: Payment, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        fields = {
            name: getattr(obj, name)
            for name in [
                "amount",
                "received_on",
                "method",
                "campaign",
                "donor_name",
                "donor_email",
                "donor_address",
                "method_reference",
                "advantage_amount",
                "advantage_description",
                "is_private_benevolence",
                "notes",
            ]
        }
        saved = services.payment_record(
            pledge=obj.pledge, recorded_by=staff_user(request), **fields
        )
        obj.pk = saved.pk

    @admin.action(description=_("Issue an official receipt"), permissions=["change"])
    def issue_receipt(self, request: HttpRequest, queryset: QuerySet[Payment]):
        for payment in queryset:
            try:
                receipt = services.receipt_issue(payment=payment, issued_by=staff_user(request))
            except ValidationError as exc:
                self.message_user(request, f"{payment}: {_errors(exc)}", messages.ERROR)
            else:
                self.message_user(
                    request, _("Receipt No. %s issued and e-mailed.") % receipt.number
                )


class ReceiptStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            ("active", _("Valid")),
            ("cancelled", _("Cancelled")),
            ("replacement", _("Replacements")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(cancelled_at__isnull=True)
        if self.value() == "cancelled":
            return queryset.filter(cancelled_at__isnull=False)
        if self.value() == "replacement":
            return queryset.filter(replaces__isnull=False)
        return queryset


@admin.register(Receipt)
class ReceiptAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = [
        "number_display",
        "donor_name",
        "eligible_amount",
        "issued_on",
        "status_display",
        "pdf_link",
    ]
    list_filter = [ReceiptStatusFilter, "kind", "year"]
    search_fields = ["=serial", "donor_name", "donor_email"]
    date_hierarchy = "issued_on"
    actions = ["cancel_and_replace", "send_copy"]
    exclude = ["payments", "payment"]

    def has_add_permission(self, request) -> bool:
        return False  # issued from a payment, or as a yearly receipt (see the tools above)

    def has_change_permission(self, request, obj=None) -> bool:
        # Read-only: a receipt is never edited, only cancelled and replaced (an action).
        return False if obj is not None else super().has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name not in ("pdf",)]

    @admin.display(description=_("No."), ordering="serial")
    def number_display(self, obj: Receipt) -> str:
        return obj.number

    @admin.display(description=_("status"))
    def status_display(self, obj: Receipt) -> str | Promise:
        if obj.cancelled_at:
            return _("Cancelled")
        return _("Replacement") if obj.replaces_id else _("Issued")

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj: Receipt) -> str:
        url = reverse("admin:fundraising_receipt_pdf", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download"))

    def get_urls(self):
        urls = [
            path(
                "<int:pk>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="fundraising_receipt_pdf",
            ),
            path(
                "yearly/",
                self.admin_site.admin_view(self.yearly_view),
                name="fundraising_receipt_yearly",
            ),
            path(
                "reports/",
                self.admin_site.admin_view(self.reports_view),
                name="fundraising_reports",
            ),
            path(
                "year-end/",
                self.admin_site.admin_view(self.year_end_view),
                name="fundraising_receipt_year_end",
            ),
            path(
                "donor/",
                self.admin_site.admin_view(self.donor_view),
                name="fundraising_donor",
            ),
        ]
        return urls + super().get_urls()

    def pdf_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        receipt = get_object_or_404(Receipt, pk=pk)
        response = HttpResponse(bytes(receipt.pdf), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="receipt-{receipt.number}.pdf"'
        return response

    def yearly_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request) or not request.user.has_perm(
            "fundraising.add_receipt"
        ):
            raise PermissionDenied
        form = YearlyReceiptForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                receipt = services.receipt_issue_yearly(
                    issued_by=staff_user(request), **form.cleaned_data
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                self.message_user(request, _("Yearly receipt No. %s issued.") % receipt.number)
                return HttpResponseRedirect(reverse("admin:fundraising_receipt_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Issue a yearly receipt"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/fundraising/tool_form.html", context)

    def reports_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        unpaid = selectors.pledges_unpaid().select_related("campaign").order_by("pledged_on")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Fundraising reports"),
            "opts": self.model._meta,
            "unpaid": unpaid[:200],
            "unpaid_count": unpaid.count(),
            "counts": selectors.receipt_counts(),
            "by_month": selectors.received_by_month(),
            "not_receipted": selectors.payments_not_receipted().order_by("received_on")[:200],
        }
        return TemplateResponse(request, "admin/fundraising/reports.html", context)

    def donor_view(self, request: HttpRequest) -> HttpResponse:
        """Donor access request: all data held about one e-mail address, as JSON."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = DonorLookupForm(request.GET or None)
        if form.is_valid():
            data = services.donor_export(email=form.cleaned_data["email"])
            response = HttpResponse(
                json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
            )
            response["Content-Disposition"] = 'attachment; filename="donor-export.json"'
            return response
        context = {
            **self.admin_site.each_context(request),
            "title": _("Export a donor's data"),
            "form": form,
            "method": "get",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/fundraising/tool_form.html", context)

    @admin.action(description=_("E-mail the donor a copy (marked DUPLICATE)"), permissions=["view"])
    def send_copy(self, request: HttpRequest, queryset: QuerySet[Receipt]):
        if not request.user.has_perm("fundraising.add_receipt"):
            raise PermissionDenied
        for receipt in queryset:
            try:
                services.receipt_send_copy(receipt=receipt)
            except ValidationError as exc:
                self.message_user(request, _errors(exc), messages.ERROR)
            else:
                self.message_user(
                    request, _("A copy of receipt No. %s is on its way.") % receipt.number
                )

    def year_end_view(self, request: HttpRequest) -> HttpResponse:
        """Yearly receipts for every eligible donor: a preview first, then the run."""
        if not request.user.has_perm("fundraising.add_receipt"):
            raise PermissionDenied
        form = YearEndForm(request.POST or None)
        report = None
        if request.method == "POST" and form.is_valid():
            issue = "issue" in request.POST
            report = services.receipts_year_end(
                year=form.cleaned_data["year"], issued_by=request.user, dry_run=not issue
            )
            if issue:
                self.message_user(
                    request, _("%d yearly receipt(s) issued and e-mailed.") % len(report.issued)
                )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Year-end receipts"),
            "form": form,
            "report": report,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/fundraising/year_end.html", context)

    @admin.action(description=_("Cancel and replace"), permissions=["view"])
    def cancel_and_replace(self, request: HttpRequest, queryset: QuerySet[Receipt]):
        if not request.user.has_perm("fundraising.add_receipt"):
            raise PermissionDenied
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one receipt."), messages.WARNING)
            return None
        receipt = queryset.get()
        form = CancelReplaceForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                new = services.receipt_cancel_and_replace(
                    receipt=receipt, issued_by=staff_user(request), **form.cleaned_data
                )
            except ValidationError as exc:
                self.message_user(request, _errors(exc), messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("Receipt No. %(old)s cancelled; No. %(new)s issued.")
                    % {"old": receipt.number, "new": new.number},
                )
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Cancel and replace receipt No. %s") % receipt.number,
            "form": form,
            "queryset": queryset,
            "action": "cancel_and_replace",
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/fundraising/action_form.html", context)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "tools": [
                (reverse("admin:fundraising_receipt_yearly"), _("Issue a yearly receipt")),
                (reverse("admin:fundraising_receipt_year_end"), _("Year-end receipts")),
                (reverse("admin:fundraising_reports"), _("Reports")),
                (reverse("admin:fundraising_donor"), _("Export a donor's data")),
            ],
        }
        return super().changelist_view(request, extra_context)


@admin.register(DonorEmail)
class DonorEmailAdmin(NoDeleteMixin, admin.ModelAdmin):
    list_display = [
        "kind",
        "pledge",
        "receipt",
        "due_on",
        "sent_at",
        "attempts",
        "failed_at",
        "last_error",
    ]
    list_filter = [
        "kind",
        ("sent_at", admin.EmptyFieldListFilter),
        ("failed_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["pledge__reference"]
    list_select_related = ["pledge", "receipt"]
    actions = ["retry"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    @admin.action(description=_("Try sending again"), permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet[DonorEmail]):
        ids = list(queryset.filter(sent_at__isnull=True).values_list("pk", flat=True))
        DonorEmail.objects.filter(pk__in=ids).update(
            failed_at=None, claimed_at=None, attempts=0, next_attempt_at=None
        )
        sent = sum(services.donor_email_send(pk) for pk in ids)
        self.message_user(request, _("%d e-mail(s) sent.") % sent)


@admin.register(StripeEvent)
class StripeEventAdmin(NoDeleteMixin, admin.ModelAdmin):
    """Every card event Stripe sent, as received: "unmatched" ones need a staff member."""

    list_display = ["received_at", "type", "outcome", "pledge", "detail"]
    list_filter = ["outcome", "type"]
    search_fields = ["event_id", "pledge__reference", "detail"]
    list_select_related = ["pledge"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False if obj is not None else super().has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(ReceiptBranding)
class ReceiptBrandingAdmin(NoDeleteMixin, admin.ModelAdmin):
    """The logo and signature drawn on receipts issued from now on (one row)."""

    form = ReceiptBrandingForm
    fields = ["logo_file", "signature_file"]
    list_display = ["__str__", "updated_at"]

    def has_add_permission(self, request) -> bool:
        return super().has_add_permission(request) and not self.app_list_state()

    def app_list_state(self) -> bool:
        """What the add permission reads besides the user's: the admin's list of models is
        kept per value of it (config/sites.py)."""
        return ReceiptBranding.objects.exists()
