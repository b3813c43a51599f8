"""Portal pages for evidence: the group's documents (list, upload) and the download view
shared by staff and group members (docs/documents.md)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from evidence import files, selectors, services
from evidence.access import get_document_for_user, get_target_for_upload, upload_targets
from evidence.forms import DocumentUploadForm
from sponsorship.access import get_sponsorship_for_user
from sponsorship.forms import apply_errors


@login_required
@require_http_methods(["GET", "POST"])
def documents(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    action = "change" if request.method == "POST" else "view"
    access = get_sponsorship_for_user(request.user, public_id, page=request.path, action=action)
    choices = selectors.target_choices(access)
    form = DocumentUploadForm(
        request.POST or None,
        request.FILES or None,
        targets=choices,
        initial={"target": request.GET.get("target", "")},
    )
    if request.method == "POST":
        access.require(bool(upload_targets(access)))
        target = get_target_for_upload(access, request.POST.get("target", ""))
        if form.is_valid():
            try:
                services.document_upload(
                    target=target,
                    kind=form.cleaned_data["kind"],
                    uploaded_file=form.cleaned_data["file"],
                    user=request.user,
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Document uploaded."))
                return redirect("evidence:documents", public_id=public_id)
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "evidence/documents.html",
        {
            "access": access,
            "sponsorship": access.sponsorship,
            "documents": selectors.documents_for_group(access.sponsorship),
            "form": form if choices else None,
            "section": "documents",
        },
        status=status,
    )


@login_required
def document_download(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    document = get_document_for_user(request.user, public_id, page=request.path)
    name = document.original_name or f"{document.public_id}.{document.extension}"
    response = HttpResponse(files.read_decrypted(document.blob_name), document.content_type)
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response
