"""Staff admin for documents: upload to a case file, a disbursement, a milestone, an in-kind
item or a review; see what waits for the malware scan and what was refused as infected."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.admin_actions import staff_user
from core.admin_forms import NativeDateInput
from core.roles import CASE_WORKER, PROGRAM_MANAGER, has_role
from evidence import services
from evidence.models import TARGETS, Document, PlanVersion, SponsorshipEvidence
from evidence.pack import evidence_pack_file
from evidence.selectors import plan_submissions, signature_statuses
from evidence.services import plan_version_current
from families.access import families_visible_to
from families.models import Family
from sponsorship.access import log_case_file_access
from sponsorship.models import Sponsorship


def _in_scope(request: HttpRequest, queryset: QuerySet, family_field: str) -> QuerySet:
    """Case-management staff see the case files they may open (families/access.py); other
    staff are refused by their permissions, with a 403 rather than a missing object."""
    if not has_role(request.user, PROGRAM_MANAGER, CASE_WORKER):
        return queryset
    return queryset.filter(**{f"{family_field}__in": families_visible_to(request.user)})


class DocumentAddForm(forms.ModelForm):
    """Staff choose one thing the document is evidence of and a file; the service checks,
    scans, encrypts and stores it (the same rules as the portal)."""

    file = forms.FileField(
        label=_("File"), help_text=_("PDF, JPEG, PNG or a phone's HEIC photo (kept as JPEG).")
    )

    class Meta:
        model = Document
        fields = ("kind", *TARGETS)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        # Only the case files this staff member may open (families/access.py): an id typed
        # into a raw-id box for another family is "not a valid choice", and nothing is kept.
        visible = families_visible_to(user) if user is not None else Family.objects.none()
        for name in TARGETS:
            field = self.fields[name]
            if isinstance(field, forms.ModelChoiceField):
                lookup = "pk__in" if name == "case_file" else "sponsorship__family__in"
                field.queryset = field.queryset.filter(**{lookup: visible})

    def clean(self) -> dict:
        data = super().clean() or {}
        chosen = [name for name in TARGETS if data.get(name)]
        if len(chosen) != 1:
            raise ValidationError(
                _(
                    "Choose exactly one: a case file, a disbursement, a milestone, an in-kind "
                    "item or a review."
                )
            )
        if self.errors or "file" not in data:
            return data
        try:
            # Upload now so a refusal lands next to the field; the admin then saves the row.
            self.instance = services.document_upload(
                target=data[chosen[0]],
                kind=data["kind"],
                uploaded_file=data["file"],
                user=self.user,
            )
        except ValidationError as exc:
            self.add_error("file", exc.error_dict.get("file", exc.messages))
        return data

    def _post_clean(self) -> None:
        """The service validated and saved the row; nothing more to construct."""


class PlanSubmissionForm(forms.Form):
    """The day HanVoice sent this plan version to IRCC with the sponsorship application."""

    version = forms.UUIDField(widget=forms.HiddenInput)
    submitted_on = forms.DateField(
        label=_("Submitted to IRCC on"),
        widget=NativeDateInput,
        help_text=_("Every member must have signed this version in the 90 days before this date."),
    )


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ("__str__", "family", "target", "status", "uploaded_at", "uploaded_by")
    list_filter = ("status", "kind")
    search_fields = ("family__case_code",)
    raw_id_fields = TARGETS
    date_hierarchy = "uploaded_at"
    readonly_fields = (
        "family",
        "sponsorship",
        *TARGETS,
        "kind",
        "original_name",
        "content_type",
        "size",
        "status",
        "scanned_at",
        "signature",
        "uploaded_by",
        "uploaded_at",
        "erased_on",
        "download",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request).select_related("family", "uploaded_by")
        return _in_scope(request, queryset, "family")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            form = DocumentAddForm

            class BoundForm(form):
                def __init__(self, *args, **inner):
                    super().__init__(*args, user=request.user, **inner)

            return BoundForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_fields(self, request: HttpRequest, obj=None):
        if obj is None:
            return ("kind", *TARGETS, "file")
        return self.readonly_fields

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Evidence is not edited: it is kept as uploaded (or erased by retention).
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        """The service already saved it (DocumentAddForm.clean)."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        family_id = (
            Document.objects.filter(pk=object_id).values_list("family_id", flat=True).first()
        )
        if family_id:
            log_case_file_access(request.user, [family_id], page=request.path)
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("evidence of"))
    def target(self, obj: Document) -> str:
        return obj.target_label

    @admin.display(description=_("file"))
    def download(self, obj: Document) -> str:
        if obj.status != Document.Status.CLEAN:
            return "-"
        url = reverse("evidence:document-download", args=[obj.public_id])
        return format_html('<a href="{}">{}</a>', url, _("Download"))


@admin.register(PlanVersion)
class PlanVersionAdmin(admin.ModelAdmin):
    """Versions are made when a member opens the plan to sign; kept as they were."""

    list_display = ("sponsorship", "content_hash", "created_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return _in_scope(request, super().get_queryset(request), "sponsorship__family")

    search_fields = ("sponsorship__family__case_code", "content_hash")
    list_select_related = ("sponsorship__family", "sponsorship__group")
    readonly_fields = ("sponsorship", "content_hash", "created_at", "pdf")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description=_("PDF"))
    def pdf(self, obj: PlanVersion) -> str:
        url = reverse("evidence:plan-pdf", args=[obj.public_id])
        return format_html('<a href="{}">{}</a>', url, _("Download"))


@admin.register(SponsorshipEvidence)
class SponsorshipEvidenceAdmin(admin.ModelAdmin):
    """Per sponsorship: who has and hasn't signed the current plan, its documents, and the
    evidence pack (program managers; each download logged as an export)."""

    list_display = ("__str__", "outcome", "arrival_date")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return _in_scope(request, super().get_queryset(request), "family")

    list_select_related = ("family", "group")
    search_fields = ("family__case_code", "group__name")
    fields = ("family", "group", "signatures", "submissions", "documents", "pack")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_urls(self):
        pack = self.admin_site.admin_view(self.pack_view)
        submit = self.admin_site.admin_view(self.submission_view)
        return [
            path("<int:object_id>/pack/", pack, name="evidence_sponsorshipevidence_pack"),
            path(
                "<int:object_id>/submission/",
                submit,
                name="evidence_sponsorshipevidence_submission",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        family_id = (
            Sponsorship.objects.filter(pk=object_id).values_list("family_id", flat=True).first()
        )
        if family_id:
            log_case_file_access(request.user, [family_id], page=request.path)
        return super().change_view(request, object_id, form_url, extra_context)

    def pack_view(self, request: HttpRequest, object_id: int) -> FileResponse:
        if not has_role(request.user, PROGRAM_MANAGER):
            raise PermissionDenied
        sponsorship = (
            Sponsorship.objects.with_period()
            .select_related("family", "group")
            .filter(pk=object_id)
            .first()
        )
        if sponsorship is None:
            raise Http404
        log_case_file_access(
            request.user, [sponsorship.family_id], page=request.path, action="export"
        )
        name = f"evidence-{sponsorship.family.case_code}-{timezone.localdate():%Y%m%d}.zip"
        # A temporary file (in memory only while small), streamed and closed, so deleted,
        # when the response is closed: a large pack is never all in memory (evidence/pack.py).
        response = FileResponse(
            evidence_pack_file(sponsorship),
            as_attachment=True,
            filename=name,
            content_type="application/zip",
        )
        response["Cache-Control"] = "no-store, private"
        return response

    def submission_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Record that the current plan version was submitted to IRCC (case-management staff
        with the family in scope; another family's is 404, as its case file)."""
        if not has_role(request.user, PROGRAM_MANAGER, CASE_WORKER):
            raise PermissionDenied
        sponsorship = (
            self.get_queryset(request)
            .select_related("family", "group")
            .filter(pk=object_id)
            .first()
        )
        if sponsorship is None:
            raise Http404
        action = "change" if request.method == "POST" else "view"
        log_case_file_access(
            request.user, [sponsorship.family_id], page=request.path, action=action
        )
        current = plan_version_current(sponsorship=sponsorship)
        form = PlanSubmissionForm(
            request.POST or None,
            initial={"version": current.public_id, "submitted_on": timezone.localdate()},
        )
        if request.method == "POST" and form.is_valid():
            version = PlanVersion.objects.filter(
                sponsorship=sponsorship, public_id=form.cleaned_data["version"]
            ).first()
            if version is None:
                raise Http404
            try:
                services.plan_submission_record(
                    version=version,
                    submitted_on=form.cleaned_data["submitted_on"],
                    user=staff_user(request),
                )
            except ValidationError as exc:
                form.add_error(None, exc)  # a dict of field errors lands on its fields
            else:
                messages.success(request, gettext("The submission to IRCC is recorded."))
                return redirect("admin:evidence_sponsorshipevidence_change", sponsorship.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Record the settlement plan's submission to IRCC"),
            "form": form,
            "opts": self.model._meta,
            "original": sponsorship,
            "version": current,
            "submission": plan_submissions(sponsorship).filter(version=current).first(),
            "statuses": signature_statuses(sponsorship, current),
        }
        status = 400 if form.is_bound and form.errors else 200
        return TemplateResponse(
            request, "admin/evidence/plan_submission.html", context, status=status
        )

    @admin.display(description=_("settlement plan signatures"))
    def signatures(self, obj: Sponsorship) -> str:
        version = plan_version_current(sponsorship=obj)
        rows = [
            (
                row.membership.user.get_full_name() or row.membership.user.email,
                row.membership.get_role_display(),
                row.label,
                row.acknowledgement.signed_on if row.acknowledgement else "-",
            )
            for row in signature_statuses(obj, version)
        ]
        head = format_html_join(
            "",
            '<th scope="col">{}</th>',
            [(_("Member"),), (_("Role"),), (_("Status"),), (_("Signed on"),)],
        )
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows)
        url = reverse("evidence:plan-pdf", args=[version.public_id])
        return format_html(
            "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>"
            '<div><a href="{}">{}</a></div><div><code>{}</code></div>',
            head,
            body,
            url,
            _("Current plan (PDF)"),
            version.content_hash,
        )

    @admin.display(description=_("submissions to IRCC"))
    def submissions(self, obj: Sponsorship) -> str:
        rows = [
            (
                submission.submitted_on,
                submission.version.content_hash[:12],
                submission.recorded_by.get_full_name() or submission.recorded_by.email,
                timezone.localtime(submission.recorded_at).date(),
            )
            for submission in plan_submissions(obj)
        ]
        url = reverse("admin:evidence_sponsorshipevidence_submission", args=[obj.pk])
        link = format_html('<div><a href="{}">{}</a></div>', url, _("Record a submission to IRCC"))
        if not rows:
            return format_html("<div>{}</div>{}", _("Not recorded as submitted yet."), link)
        head = format_html_join(
            "",
            '<th scope="col">{}</th>',
            [(_("Submitted on"),), (_("Plan version"),), (_("Recorded by"),), (_("Recorded on"),)],
        )
        body = format_html_join(
            "", "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>", rows
        )
        return format_html(
            "<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>{}", head, body, link
        )

    @admin.display(description=_("documents"))
    def documents(self, obj: Sponsorship) -> str:
        rows = [
            (
                reverse("admin:evidence_document_change", args=[d.pk]),
                d.get_kind_display(),
                d.get_status_display(),
                d.uploaded_at.date(),
            )
            for d in Document.objects.filter(sponsorship=obj).order_by("-uploaded_at")
        ]
        if not rows:
            return "-"
        return format_html_join("", '<div><a href="{}">{}</a> · {} · {}</div>', rows)

    @admin.display(description=_("evidence pack"))
    def pack(self, obj: Sponsorship) -> str:
        url = reverse("admin:evidence_sponsorshipevidence_pack", args=[obj.pk])
        return format_html(
            '<div><a class="button" href="{}">{}</a></div><div><small>{}</small></div>',
            url,
            _("Download the evidence pack (ZIP)"),
            _("Program managers only. Each download is written to the case file's access log."),
        )
