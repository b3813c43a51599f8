"""Portal pages for evidence: the group's documents (list, upload) and the download view
shared by staff and group members (docs/documents.md)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from evidence import files, selectors, services
from evidence.access import get_document_for_user, get_target_for_upload, upload_targets
from evidence.forms import DocumentUploadForm, PlanAcknowledgeForm
from evidence.models import PlanVersion
from families.access import families_visible_to
from sponsorship.access import get_sponsorship_for_user, log_case_file_access
from sponsorship.forms import apply_errors
from sponsorship.submissions import page_token, submit_once, with_new_token


def _fresh_form(public_id: uuid.UUID) -> str:
    """The documents page with a new form token: the next upload is a new one."""
    return with_new_token(reverse("evidence:documents", kwargs={"public_id": public_id}))


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
        token=page_token(request),
        initial={"target": request.GET.get("target", "")},
    )
    if request.method == "POST":
        access.require(bool(upload_targets(access)))
        target = get_target_for_upload(access, request.POST.get("target", ""))
        if form.is_valid() and (done := _upload_once(request, form, target, public_id)):
            return done
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


def _upload_once(request: HttpRequest, form: DocumentUploadForm, target, public_id: uuid.UUID):
    """Check and scan the file, then keep it at most once per form token: Back + Upload
    again or a double click lands on the documents page with one row (docs/forms.md).
    Returns the redirect, or None with the refusal next to the field."""
    try:
        checked = services.document_check(
            target=target,
            kind=form.cleaned_data["kind"],
            uploaded_file=form.cleaned_data["file"],
            user=request.user,
        )
        done = submit_once(
            token=form.cleaned_data.get("request_token"),
            user=request.user,
            write=lambda: (
                f"{_fresh_form(public_id)}#doc-{services.document_keep(checked).public_id}"
            ),
        )
    except ValidationError as exc:
        apply_errors(form, exc)
        return None
    if done.first:
        messages.success(request, _("Document uploaded."))
    else:
        messages.info(
            request,
            _("This was already saved when you first sent the form: nothing was added twice."),
        )
    return redirect(done.target)


def _attachment(content: bytes, content_type: str, name: str) -> HttpResponse:
    """A download that no browser renders inline and no cache keeps."""
    response = HttpResponse(content, content_type)
    response["Content-Disposition"] = content_disposition_header(True, name) or ""
    response["Cache-Control"] = "no-store, private"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def document_download(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    document = get_document_for_user(request.user, public_id, page=request.path)
    content = files.read_decrypted(document.blob_name)
    return _attachment(content, document.content_type, document.download_name)


# --- the settlement plan: read it, sign it ----------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def plan_acknowledge(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    action = "change" if request.method == "POST" else "view"
    access = get_sponsorship_for_user(request.user, public_id, page=request.path, action=action)
    version = services.plan_version_current(sponsorship=access.sponsorship)
    statuses = selectors.signature_statuses(access.sponsorship, version)
    mine = next((row for row in statuses if row.membership.user_id == request.user.pk), None)
    form = PlanAcknowledgeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_acknowledge(version=version, user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Thank you: your signature is recorded."))
            return redirect("evidence:plan-acknowledge", public_id=public_id)
    return render(
        request,
        "evidence/plan_acknowledge.html",
        {
            "access": access,
            "sponsorship": access.sponsorship,
            "version": version,
            "statuses": statuses,
            "mine": mine,
            "form": form,
            "today": timezone.localdate(),
            "section": "plan",
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
def plan_pdf(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """A version's PDF, for the group's members and case-management staff (else 404)."""
    version = (
        PlanVersion.objects.select_related("sponsorship__family")
        .filter(public_id=public_id)
        .first()
    )
    if version is None:
        raise Http404
    family_id = version.sponsorship.family_id
    if not families_visible_to(request.user).filter(pk=family_id).exists():
        get_sponsorship_for_user(
            request.user, version.sponsorship.public_id, page=request.path, action="download"
        )
    else:
        log_case_file_access(
            request.user, [version.sponsorship.family_id], page=request.path, action="download"
        )
    try:
        content = services.plan_version_pdf(version=version)
    except services.PlanPdfChanged:
        # Reported (logged as an error); the person sees why there is no file, not a file.
        return render(request, "evidence/plan_pdf_changed.html", {"version": version}, status=500)
    name = f"settlement-plan-{version.content_hash[:12]}.pdf"
    return _attachment(content, "application/pdf", name)
