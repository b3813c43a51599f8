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
from django.conf import settings
from django.contrib import admin
from django.core import checks
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from core.admin_actions import (
    action_with_form,
    not_in_future,
    run_service,
    staff_user,
)
from core.admin_forms import LabelledTabularInline, NativeDateInput
from core.roles import CASE_WORKER, PROGRAM_MANAGER, has_role
from families import services
from families.access import families_visible_to, may_break_glass
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
        widget=NativeDateInput,
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


class ConsentInline(admin.StackedInline):
    """Stacked: seven fields side by side made the family page 1,907 px wide at 1280 px."""

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
        widgets = {"vetted_on": NativeDateInput}

    def clean_vetted_on(self) -> datetime.date | None:
        day = self.cleaned_data.get("vetted_on")
        not_in_future(day)
        return day


def _case_management_staff(request: HttpRequest) -> bool:
    return has_role(request.user, PROGRAM_MANAGER, CASE_WORKER)


class LogsCaseFileViews(admin.ModelAdmin):
    """For a ModelAdmin whose pages show a family's case file (docs/security.md,
    "Need-to-know"):

    - its queryset holds only the families `families_visible_to` the user (the one scope);
    - a case worker asking for an object of a family not assigned to them is sent to "open
      another family's file", where they state why (break the glass), instead of a 404;
    - every view of a change page, its history or an old version, and every family listed on
      a changelist page, is written to CaseFileAccess (only when the page was served; one
      INSERT per page, whatever the number of rows).

    `family_lookup` is the path from the model to its family ("" for Family itself). A wrong
    path filters the model's own ids by family ids, which agree only by chance (a fresh test
    database), so `check()` (`manage.py check`, and a test) refuses one that does not end at
    Family.
    """

    family_lookup = ""

    def _family_field(self, suffix: str = "") -> str:
        return f"{self.family_lookup}__{suffix}" if self.family_lookup else suffix

    def _lookup_end(self) -> type | None:
        """The model `family_lookup` leads to from this admin's model (None when it leads
        nowhere)."""
        model = self.model
        try:
            for hop in filter(None, self.family_lookup.split("__")):
                related = model._meta.get_field(hop).related_model
                if not isinstance(related, type):
                    return None
                model = related
        except FieldDoesNotExist:
            return None
        return model

    def check(self, **kwargs) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        model = self._lookup_end()
        if model is not Family:
            errors.append(
                checks.Error(
                    f"family_lookup {self.family_lookup!r} does not lead from "
                    f"{self.model._meta.label} to {Family._meta.label}.",
                    hint="Set family_lookup to the path of the model's family, "
                    'e.g. "sponsorship__family".',
                    obj=self.__class__,
                    id="families.E001",
                )
            )
        return errors

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        visible = families_visible_to(request.user).values("pk")
        return super().get_queryset(request).filter(**{self._family_field("pk__in"): visible})

    def case_file_family(self, object_id: str) -> Family | None:
        """The family of `object_id`, whoever asks (None when there is no such object)."""
        try:
            family_id = (
                self.model._base_manager.filter(pk=object_id)
                .values_list(self._family_field("pk"), flat=True)
                .first()
            )
        except (ValueError, TypeError, ValidationError):
            return None
        if family_id is None:
            return None
        return Family.objects.filter(pk=family_id).only("pk", "case_code").first()

    def _family_id_of(self, obj) -> int | None:
        if not self.family_lookup:
            return obj.pk
        *hops, last = self.family_lookup.split("__")
        for part in hops:
            obj = getattr(obj, part)
        return getattr(obj, f"{last}_id")

    def _glass_redirect(self, request: HttpRequest, object_id: str) -> HttpResponse | None:
        """A case worker asking for a file not assigned to them: state a reason first."""
        if not may_break_glass(request.user) or not self.has_view_permission(request):
            return None
        family = self.case_file_family(object_id)
        if family is None or families_visible_to(request.user).filter(pk=family.pk).exists():
            return None
        query = urlencode({"case_code": family.case_code, "next": request.get_full_path()})
        return redirect(f"{reverse('admin:families_family_open')}?{query}")

    def _log(self, request: HttpRequest, object_id: str, action: str) -> None:
        family = self.case_file_family(object_id)
        if family is not None and request.user.is_authenticated:
            services.case_file_access_log(
                family=family, user=staff_user(request), page=request.path, action=action
            )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if glass := self._glass_redirect(request, object_id):
            return glass
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "POST" and response.status_code == 302:
            self._log(request, object_id, CaseFileAccess.Action.CHANGE)
        elif response.status_code == 200:
            self._log(request, object_id, CaseFileAccess.Action.VIEW)
        return response

    def history_view(self, request, object_id, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied  # before the look-up: no "does not exist" for outsiders
        if glass := self._glass_redirect(request, object_id):
            return glass
        response = super().history_view(request, object_id, extra_context)
        if response.status_code == 200:
            self._log(request, object_id, CaseFileAccess.Action.VIEW)
        return response

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if glass := self._glass_redirect(request, object_id):
            return glass
        response = super().history_form_view(request, object_id, version_id, extra_context)
        if response.status_code == 200:
            self._log(request, object_id, CaseFileAccess.Action.VIEW)
        return response

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if response.status_code == 200 and changelist is not None:
            # The page's rows are evaluated here once and reused by the template.
            family_ids = [self._family_id_of(obj) for obj in changelist.result_list]
            now = timezone.now()
            CaseFileAccess.objects.bulk_create(
                [
                    CaseFileAccess(
                        family_id=family_id,
                        user=request.user,
                        page=request.path[:200],
                        action=CaseFileAccess.Action.LIST,
                        at=now,
                    )
                    for family_id in dict.fromkeys(family_ids)
                ]
            )
        return response


class BreakGlassForm(forms.Form):
    case_code = forms.CharField(label=_("Case code"), max_length=20)
    reason = forms.CharField(
        label=_("Why do you need this family's file?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=1000,
        help_text=_(
            "This family is not assigned to you. Your reason is recorded in the access log and "
            "shown to program managers; the file stays open to you for %(hours)s hours."
        ),
    )

    def __init__(self, *args, hours: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].help_text = self.fields["reason"].help_text % {"hours": hours}


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

    def get_urls(self):
        opened = path(
            "open/",
            self.admin_site.admin_view(self.open_view),
            name="families_family_open",
        )
        return [opened, *super().get_urls()]

    def open_view(self, request: HttpRequest) -> HttpResponse:
        """Open a family's file that is not assigned to you, stating why (break the glass)."""
        if not may_break_glass(request.user):
            raise PermissionDenied
        hours = settings.CASE_FILE_BREAK_GLASS_HOURS
        initial = {"case_code": request.GET.get("case_code", "")}
        form = BreakGlassForm(request.POST or None, initial=initial, hours=hours)
        wanted = request.POST.get("next") or request.GET.get("next") or ""
        if request.method == "POST" and form.is_valid():
            code = form.cleaned_data["case_code"].strip().upper()
            family = Family.objects.filter(case_code=code).first()
            if family is None:
                form.add_error("case_code", _("No family has this case code."))
            else:
                target = reverse("admin:families_family_change", args=[family.pk])
                safe = url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()})
                if safe and wanted.startswith(reverse("admin:index")):
                    target = wanted
                if families_visible_to(request.user).filter(pk=family.pk).exists():
                    return redirect(target)
                try:
                    services.case_file_break_glass(
                        family=family,
                        user=staff_user(request),
                        reason=form.cleaned_data["reason"],
                        page=request.path,
                    )
                except ValidationError as exc:
                    form.add_error(None, exc)  # a dict of field errors lands on its fields
                else:
                    return redirect(target)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Open another family's file"),
            "form": form,
            "next": wanted,
            "opts": self.model._meta,
        }
        status = 400 if form.is_bound and form.errors else 200
        return TemplateResponse(request, "admin/families/family/open.html", context, status=status)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "may_break_glass": may_break_glass(request.user)}
        return super().changelist_view(request, extra_context)

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
        recent = obj.accesses.exclude(action=CaseFileAccess.Action.LIST).select_related("user")[:10]
        url = reverse("admin:families_casefileaccess_changelist") + f"?q={obj.case_code}"
        rows = format_html_join(
            "",
            "<li>{} · {} · {}</li>",
            (
                (
                    timezone.localtime(a.at).strftime("%Y-%m-%d %H:%M"),
                    a.user.get_full_name() or a.user.email,
                    f"{a.get_action_display()}: {a.reason}" if a.reason else a.get_action_display(),
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
            services.family_create(created_by=staff_user(request), family=obj)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        for instance in formset.save(commit=False):
            if isinstance(instance, CaseNote) and not instance.author_id:
                instance.author = staff_user(request)
            if isinstance(instance, Consent) and not instance.recorded_by_id:
                instance.recorded_by = staff_user(request)
            instance.save()
        formset.save_m2m()

    # --- actions: each calls a service ----------------------------------------------------

    @admin.action(description=_("Send to IRCC vetting"))
    def start_vetting(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_service(
            self,
            request,
            queryset,
            lambda f: services.family_start_vetting(family=f, changed_by=staff_user(request)),
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
                changed_by=staff_user(request),
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
            lambda f: services.family_book_travel(family=f, changed_by=staff_user(request)),
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
                family=f, changed_by=staff_user(request), reason=data["reason"]
            ),
        )


@admin.register(CaseFileAccess)
class CaseFileAccessAdmin(admin.ModelAdmin):
    """The access log: program managers read it; nobody edits or deletes it."""

    list_display = ("at", "family", "user", "action", "reason", "page")
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
