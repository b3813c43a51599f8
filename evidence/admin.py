"""Staff admin for documents: upload to a case file, a disbursement, a milestone, an in-kind
item or a review; see what waits for the malware scan and what was refused as infected."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from evidence import services
from evidence.models import TARGETS, Document


class DocumentAddForm(forms.ModelForm):
    """Staff choose one thing the document is evidence of and a file; the service checks,
    scans, encrypts and stores it (the same rules as the portal)."""

    file = forms.FileField(label=_("File"), help_text=_("PDF, JPEG or PNG."))

    class Meta:
        model = Document
        fields = ("kind", *TARGETS)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self) -> dict:
        data = super().clean()
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
        return super().get_queryset(request).select_related("family", "uploaded_by")

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

    @admin.display(description=_("evidence of"))
    def target(self, obj: Document) -> str:
        return str(Document._meta.get_field(obj.target_name).verbose_name)

    @admin.display(description=_("file"))
    def download(self, obj: Document) -> str:
        if obj.status != Document.Status.CLEAN:
            return "-"
        url = reverse("evidence:document-download", args=[obj.public_id])
        return format_html('<a href="{}">{}</a>', url, _("Download"))
