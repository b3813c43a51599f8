"""Admin for reminders, reminder rules and notification preferences.

Reminders are the staff side of the outbox: every row, its state (pending, retrying,
failed, sent, cancelled), filters by kind, state and recipient, and a "resend" action.
Rows are written only by the sweep and the services: staff never add or delete one (a
deleted row would be written, and sent, again by the next sweep).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.roles import signed_in_user
from sponsorship import portal_cache, reminders
from sponsorship.access import admin_scope
from sponsorship.models import NotificationPreference, Reminder, ReminderRule

STATES = {
    "pending": Q(sent_at__isnull=True, cancelled_at__isnull=True, failed_at__isnull=True)
    & Q(attempts=0),
    "retrying": Q(sent_at__isnull=True, cancelled_at__isnull=True, failed_at__isnull=True)
    & Q(attempts__gt=0),
    "failed": Q(failed_at__isnull=False),
    "sent": Q(sent_at__isnull=False, emailed=True),
    "inbox": Q(sent_at__isnull=False, emailed=False),
    "cancelled": Q(cancelled_at__isnull=False),
}


def reminder_state(reminder: Reminder) -> tuple[str, str | Promise]:
    """(key, label) of a reminder's delivery state."""
    if reminder.failed_at:
        return "failed", _("Failed: gave up")
    if reminder.cancelled_at:
        return "cancelled", _("Cancelled")
    if reminder.sent_at:
        return ("sent", _("E-mailed")) if reminder.emailed else ("inbox", _("Inbox only"))
    if reminder.attempts:
        return "retrying", _("Retrying") if reminder.last_error else _("Sending")
    return "pending", _("Pending")


class StateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("pending", _("Pending")),
            ("retrying", _("Sending or retrying")),
            ("failed", _("Failed: gave up")),
            ("sent", _("E-mailed")),
            ("inbox", _("Inbox only (e-mail off)")),
            ("cancelled", _("Cancelled")),
        ]

    def queryset(self, request, queryset):
        condition = STATES.get(self.value() or "")
        return queryset.filter(condition) if condition is not None else queryset


class MineFilter(admin.SimpleListFilter):
    """The staff member's own inbox: reminders addressed to them."""

    title = _("inbox")
    parameter_name = "mine"

    def lookups(self, request, model_admin):
        return [("all", _("Addressed to me")), ("unread", _("Addressed to me, unread"))]

    def queryset(self, request, queryset):
        if self.value() == "all":
            return queryset.filter(recipient=request.user)
        if self.value() == "unread":
            return queryset.filter(recipient=request.user, read_at__isnull=True)
        return queryset


@admin.register(Reminder)
class ReminderAdmin(admin.ModelAdmin):
    # Few columns: the admin's sidebar and filters leave the table little room.
    list_display = ("kind", "case_code", "due_on", "recipient_email", "state", "attempts", "error")
    list_filter = (StateFilter, "kind", MineFilter, ("recipient", admin.RelatedOnlyFieldListFilter))
    search_fields = (
        "=sponsorship__family__case_code",
        "subject_key",
        "recipient__email",
        "group__name",
    )
    date_hierarchy = "due_on"
    list_select_related = ("recipient", "group", "sponsorship__family")
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Reminders about no sponsorship (the weekly digest) are shown to whoever may see the list.
        return admin_scope(
            request,
            super().get_queryset(request),
            via="sponsorship__",
            also=Q(sponsorship__isnull=True),
        )

    actions = ("resend", "mark_read")
    fieldsets = (
        (None, {"fields": ("kind", "subject_key", "due_on", "recipient", "case_code", "group")}),
        (
            _("Delivery"),
            {
                "fields": (
                    "state",
                    "created_at",
                    "claimed_at",
                    "sent_at",
                    "emailed",
                    "attempts",
                    "last_error",
                    "next_attempt_at",
                    "failed_at",
                    "cancelled_at",
                    "cancel_reason",
                    "read_at",
                )
            },
        ),
    )

    def get_readonly_fields(self, request, obj=None):
        return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("case code"), ordering="sponsorship__family__case_code")
    def case_code(self, obj: Reminder) -> str:
        return obj.sponsorship.family.case_code if obj.sponsorship else "—"

    @admin.display(description=_("recipient"), ordering="recipient__email")
    def recipient_email(self, obj: Reminder) -> str:
        return obj.recipient.email or obj.recipient.get_username()

    @admin.display(description=_("state"))
    def state(self, obj: Reminder) -> str:
        key, label = reminder_state(obj)
        css = {"failed": "danger", "retrying": "warning", "cancelled": "secondary"}.get(key)
        if css:
            return format_html('<strong class="reminder-state-{}">{}</strong>', key, label)
        return str(label)

    @admin.display(description=_("last error"))
    def error(self, obj: Reminder) -> str:
        return (obj.last_error[:60] + "…") if len(obj.last_error) > 60 else obj.last_error

    @admin.action(description=_("Send the selected reminders again"), permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Reminder]) -> None:
        count = 0
        for reminder in queryset:
            reminders.reminder_resend(reminder=reminder)
            self.log_change(request, reminder, "Resent")
            count += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d reminder queued to be sent again (it is re-checked before sending).",
                "%(count)d reminders queued to be sent again (each is re-checked before sending).",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Mark my selected reminders read"))
    def mark_read(self, request: HttpRequest, queryset: QuerySet[Reminder]) -> None:
        count = reminders.reminder_mark_read(
            user=signed_in_user(request), reminder_ids=queryset.values_list("pk", flat=True)
        )
        self.message_user(
            request,
            ngettext("%(count)d reminder marked read.", "%(count)d reminders marked read.", count)
            % {"count": count},
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Opening one's own reminder reads it, as in any inbox.
        Reminder.objects.filter(pk=object_id, recipient=request.user, read_at__isnull=True).update(
            read_at=timezone.now()
        )
        portal_cache.users_changed([request.user.pk])
        return super().change_view(request, object_id, form_url, extra_context)


class DaysField(forms.CharField):
    """Comma-separated whole numbers of days ("-90, -30") ↔ a JSON list."""

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        try:
            days = sorted(
                {int(part) for part in value.replace(";", ",").split(",") if part.strip()}
            )
        except ValueError as exc:
            raise forms.ValidationError(
                _("Enter whole numbers of days separated by commas, e.g. -90, -30.")
            ) from exc
        if not days:
            raise forms.ValidationError(_("Enter at least one day."))
        if any(abs(day) > 400 for day in days):
            raise forms.ValidationError(_("Days must be between -400 and 400."))
        return days


class ReminderRuleForm(forms.ModelForm):
    days = DaysField(
        label=_("days relative to the due date"),
        help_text=_("Negative before, positive after, comma-separated; e.g. -90, -30 or 1."),
    )
    recipients = forms.MultipleChoiceField(
        label=_("recipients"),
        choices=ReminderRule.Recipient.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = ReminderRule
        fields = ("enabled", "days", "repeat_every_days", "max_count", "recipients")

    def clean(self):
        super().clean()
        data = self.cleaned_data
        kind = self.instance.kind
        days = data.get("days") or []
        if data.get("max_count") is not None and len(days) > data["max_count"]:
            self.add_error(
                "max_count",
                _("At most must be at least the number of days listed (%(n)d).") % {"n": len(days)},
            )
        if kind == Reminder.Kind.URGENT_CONCERN and not data.get("enabled", True):
            self.add_error(
                "enabled", _("Urgent concerns cannot be turned off: they must reach someone.")
            )
        staff_only = {ReminderRule.Recipient.CASE_WORKER, ReminderRule.Recipient.PROGRAM_MANAGERS}
        if kind == Reminder.Kind.WEEKLY_DIGEST and set(data.get("recipients") or []) - set(
            staff_only
        ):
            self.add_error("recipients", _("The weekly digest goes to staff only."))
        return data


@admin.register(ReminderRule)
class ReminderRuleAdmin(admin.ModelAdmin):
    form = ReminderRuleForm
    list_display = ("kind", "enabled", "days", "repeat_every_days", "max_count", "recipients")
    list_filter = ("enabled",)
    readonly_fields = ("kind",)
    fields = ("kind", "enabled", "days", "repeat_every_days", "max_count", "recipients")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # one rule per kind, seeded by migration 0002

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "email_enabled")
    list_filter = ("kind", "email_enabled")
    search_fields = ("user__email",)
    list_select_related = ("user",)
    raw_id_fields = ("user",)
