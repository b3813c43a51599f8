"""Staff admin for families and their case files.

Privacy (docs/domain.md): the family list shows the case code, never a name; names, dates of birth
and the narrative appear only on a family's change page, and every view of that page (and of
its history) is written to CaseFileAccess. Status moves only through the services (admin
actions), so every move is logged with who, when and why.

The case file is the base layer: this module imports no other app. The sponsorship side
(the list's group, month N of M and what is due, and the "Match" action) is added by
sponsorship/admin.py, which registers a subclass of `FamilyAdmin` (docs/architecture.md).
"""

from __future__ import annotations

import datetime

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from core.admin_actions import DateInput, action_with_form, not_in_future, run_service
from core.admin_forms import LabelledTabularInline
from core.roles import CASE_WORKER, PROGRAM_MANAGER, has_role
from families import services
from families.models import (
    CaseFileAccess,
    CaseNote,
    Consent,
    Family,
    FamilyStatusChange,
    HouseholdMember,
)


class ApproveForm(forms.Form):
    ircc_reference = forms.CharField(
        label=_("IRCC vetting reference"),
        required=False,
        help_text=_("Leave blank to keep the reference on file."),
    )
    vetted_on = forms.DateField(
        label=_("IRCC vetting completed on"),
        required=False,
        widget=DateInput,
        validators=[not_in_future],
        help_text=_("Leave blank to keep the date on file."),
    )


class CloseForm(forms.Form):
    reason = forms.CharField(label=_("Why is the case file closed?"), widget=forms.Textarea)


# --- inlines --------------------------------------------------------------------------------


class HouseholdMemberFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE", False)]
        principals = sum(bool(f.cleaned_data.get("is_principal_applicant")) for f in kept)
        if kept and principals != 1:
            raise ValidationError(
                _("A family has exactly one principal applicant (%(n)s are ticked).")
                % {"n": principals}
            )


class HouseholdMemberInline(LabelledTabularInline):
    model = HouseholdMember
    formset = HouseholdMemberFormSet
    fields = (
        "given_name",
        "family_name",
        "date_of_birth",
        "relationship",
        "is_principal_applicant",
        "arrived_on",
    )
    extra = 0
    can_delete = False  # members leave by a note, not by deleting history


class ConsentInline(LabelledTabularInline):
    model = Consent
    fields = ("topic", "audience", "given_on", "expires_on", "withdrawn_on", "details", "active")
    readonly_fields = ("active",)
    extra = 0
    can_delete = False

    @admin.display(description=_("active today"), boolean=True)
    def active(self, obj: Consent) -> bool | None:
        return obj.is_active() if obj.pk else None


class CaseNoteInline(admin.StackedInline):
    model = CaseNote
    fields = ("written_on", "visibility", "text", "author")
    readonly_fields = ("author",)
    extra = 0
    can_delete = False


class StatusChangeInline(LabelledTabularInline):
    model = FamilyStatusChange
    fields = ("changed_at", "from_status", "to_status", "changed_by", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("status history (who, when, why)")

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("changed_by")


# --- the family ----------------------------------------------------------------------------


class FamilyForm(forms.ModelForm):
    class Meta:
        model = Family
        fields = (
            "case_worker",
            "ircc_reference",
            "vetted_on",
            "current_location",
            "community",
            "languages",
            "interpreter_needed",
            "contact_phone",
            "contact_email",
            "address",
            "sgbv_survivor",
            "single_parent",
            "medical_priority",
            "medical_needs",
            "sgbv_notes",
            "narrative",
        )
        widgets = {"vetted_on": DateInput}

    def clean_vetted_on(self) -> datetime.date | None:
        day = self.cleaned_data.get("vetted_on")
        not_in_future(day)
        return day


def _case_management_staff(request: HttpRequest) -> bool:
    return has_role(request.user, PROGRAM_MANAGER, CASE_WORKER)


class LogsCaseFileViews:
    """For a ModelAdmin whose change page shows a family's case file: every view of the page
    (and of its history) is written to CaseFileAccess, only when the page was served."""

    def case_file_family(self, object_id: str) -> Family | None:
        return Family.objects.filter(pk=object_id).only("pk").first()

    def _log(self, request: HttpRequest, object_id: str, action: str) -> None:
        family = self.case_file_family(object_id)
        if family is not None and request.user.is_authenticated:
            services.case_file_access_log(
                family=family, user=request.user, page=request.path, action=action
            )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "POST" and response.status_code == 302:
            self._log(request, object_id, CaseFileAccess.Action.CHANGE)
        elif response.status_code == 200:
            self._log(request, object_id, CaseFileAccess.Action.VIEW)
        return response

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        if response.status_code == 200:
            self._log(request, object_id, CaseFileAccess.Action.VIEW)
        return response

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        response = super().history_form_view(request, object_id, version_id, extra_context)
        if response.status_code == 200:
            self._log(request, object_id, CaseFileAccess.Action.VIEW)
        return response


@admin.register(Family)
class FamilyAdmin(LogsCaseFileViews, SimpleHistoryAdmin):
    form = FamilyForm
    list_display: tuple[str, ...] = ("case_code", "status", "flags", "case_worker")
    list_filter = (
        "status",
        "sgbv_survivor",
        "single_parent",
        "medical_priority",
        "interpreter_needed",
        ("case_worker", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("case_code",)  # identifying fields are encrypted: search by case code
    list_select_related = ("case_worker",)
    list_per_page = 50
    readonly_fields = ("case_code", "status", "created_at", "who_viewed")
    inlines = (HouseholdMemberInline, ConsentInline, CaseNoteInline, StatusChangeInline)
    actions: tuple[str, ...] = ("start_vetting", "approve", "book_travel", "close")
    fieldsets = (
        (None, {"fields": ("case_code", "status", "case_worker", "created_at")}),
        (_("IRCC vetting"), {"fields": ("ircc_reference", "vetted_on")}),
        (
            _("Settlement"),
            {
                "fields": (
                    "current_location",
                    "community",
                    "languages",
                    "interpreter_needed",
                    "contact_phone",
                    "contact_email",
                    "address",
                )
            },
        ),
        (
            _("Priority and need-to-know"),
            {
                "fields": (
                    "sgbv_survivor",
                    "single_parent",
                    "medical_priority",
                    "medical_needs",
                    "sgbv_notes",
                    "narrative",
                )
            },
        ),
    )

    # --- access -------------------------------------------------------------------------

    def get_fieldsets(self, request: HttpRequest, obj: Family | None = None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None and has_role(request.user, PROGRAM_MANAGER):
            fieldsets.append((_("Who viewed this file"), {"fields": ("who_viewed",)}))
        return fieldsets

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "case_worker":
            from django.contrib.auth import get_user_model

            kwargs["queryset"] = (
                get_user_model()
                .objects.filter(
                    is_active=True,
                    is_staff=True,
                    groups__name__in=[CASE_WORKER, PROGRAM_MANAGER],
                )
                .distinct()
                .order_by("first_name", "email")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_actions(self, request: HttpRequest):
        actions = super().get_actions(request)
        if not _case_management_staff(request):
            return {}
        return actions

    @admin.display(description=_("flags"))
    def flags(self, obj: Family) -> str:
        names = []
        if obj.sgbv_survivor:
            names.append(gettext("SGBV"))
        if obj.single_parent:
            names.append(gettext("single parent"))
        if obj.medical_priority:
            names.append(gettext("medical"))
        return ", ".join(names) or "-"

    @admin.display(description=_("recent views and changes"))
    def who_viewed(self, obj: Family) -> str:
        if obj.pk is None:
            return "-"
        recent = obj.accesses.select_related("user")[:10]
        url = reverse("admin:families_casefileaccess_changelist") + f"?q={obj.case_code}"
        rows = format_html_join(
            "",
            "<li>{} · {} · {}</li>",
            (
                (
                    timezone.localtime(a.at).strftime("%Y-%m-%d %H:%M"),
                    a.user.get_full_name() or a.user.email,
                    a.get_action_display(),
                )
                for a in recent
            ),
        )
        return format_html(
            '<ul>{}</ul><a href="{}">{}</a>', rows, url, gettext("The whole access log")
        )

    # --- saving through the services -------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: Family, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
        else:
            services.family_create(created_by=request.user, family=obj)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        for instance in formset.save(commit=False):
            if isinstance(instance, CaseNote) and not instance.author_id:
                instance.author = request.user
            if isinstance(instance, Consent) and not instance.recorded_by_id:
                instance.recorded_by = request.user
            instance.save()
        formset.save_m2m()

    # --- actions: each calls a service ----------------------------------------------------

    @admin.action(description=_("Send to IRCC vetting"))
    def start_vetting(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_service(
            self,
            request,
            queryset,
            lambda f: services.family_start_vetting(family=f, changed_by=request.user),
            gettext("%(n)s family(ies) sent to vetting."),
        )

    @admin.action(description=_("Approve (IRCC vetting complete)"))
    def approve(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return action_with_form(
            self,
            request,
            queryset,
            form_class=ApproveForm,
            title=gettext("Approve after IRCC vetting"),
            submit_label=gettext("Approve"),
            apply=lambda f, data: services.family_approve(
                family=f,
                changed_by=request.user,
                ircc_reference=data["ircc_reference"] or None,
                vetted_on=data["vetted_on"],
            ),
        )

    @admin.action(description=_("Travel booked"))
    def book_travel(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_service(
            self,
            request,
            queryset,
            lambda f: services.family_book_travel(family=f, changed_by=request.user),
            gettext("%(n)s family(ies) marked as travel booked."),
        )

    @admin.action(description=_("Close the case file"))
    def close(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        return action_with_form(
            self,
            request,
            queryset,
            form_class=CloseForm,
            title=gettext("Close the case file"),
            submit_label=gettext("Close"),
            apply=lambda f, data: services.family_close(
                family=f, changed_by=request.user, reason=data["reason"]
            ),
        )


@admin.register(CaseFileAccess)
class CaseFileAccessAdmin(admin.ModelAdmin):
    """The access log: program managers read it; nobody edits or deletes it."""

    list_display = ("at", "family", "user", "action", "page")
    list_filter = ("action",)
    search_fields = ("family__case_code", "user__email")
    list_select_related = ("family", "user")
    date_hierarchy = "at"

    def has_module_permission(self, request: HttpRequest) -> bool:
        return has_role(request.user, PROGRAM_MANAGER)

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return has_role(request.user, PROGRAM_MANAGER)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
