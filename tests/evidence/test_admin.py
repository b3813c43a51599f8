"""Staff upload documents in the admin with the portal's rules, see refused ones, and can
neither edit nor delete evidence."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from evidence.models import Document
from families.models import CaseFileAccess
from tests.evidence.conftest import pdf_bytes

pytestmark = pytest.mark.django_db


def _add(client, family, data: bytes, name: str = "signed-undertaking.pdf"):
    return client.post(
        reverse("admin:evidence_document_add"),
        {"kind": "form", "case_file": family.pk, "file": SimpleUploadedFile(name, data)},
    )


def test_a_case_worker_uploads_a_signed_form_to_a_case_file(client, case_worker, sponsorship):
    client.force_login(case_worker)
    response = _add(client, sponsorship.family, pdf_bytes())
    assert response.status_code == 302, response.content.decode()[:2000]
    document = Document.objects.get()
    assert document.case_file == sponsorship.family and document.sponsorship is None
    assert document.uploaded_by == case_worker and document.status == Document.Status.CLEAN

    change = client.get(reverse("admin:evidence_document_change", args=[document.pk]))
    assert change.status_code == 200 and "signed-undertaking.pdf" in change.content.decode()
    assert CaseFileAccess.objects.filter(user=case_worker, family=sponsorship.family).exists()
    delete = client.get(reverse("admin:evidence_document_delete", args=[document.pk]))
    assert delete.status_code == 403


def test_the_admin_refuses_a_bad_file_next_to_the_field(client, case_worker, sponsorship):
    client.force_login(case_worker)
    response = _add(client, sponsorship.family, b"MZ" + b"\x00" * 100, "form.pdf")
    assert response.status_code == 200
    assert "Only PDF, JPEG and PNG" in response.content.decode()
    assert not Document.objects.exists()


def test_the_admin_wants_exactly_one_target(client, case_worker, sponsorship):
    client.force_login(case_worker)
    response = client.post(
        reverse("admin:evidence_document_add"),
        {"kind": "form", "file": SimpleUploadedFile("a.pdf", pdf_bytes())},
    )
    assert "Choose exactly one" in response.content.decode()
    assert not Document.objects.exists()


def test_a_case_worker_cannot_upload_to_a_case_file_outside_their_scope(
    client, case_worker, sponsorship, other_sponsorship
):
    """The other family is not assigned to this case worker: its case file and its
    milestones are neither offered nor accepted when their ids are typed in."""
    client.force_login(case_worker)
    page = client.get(reverse("admin:evidence_document_add")).content.decode()
    assert sponsorship.family.case_code in page
    assert other_sponsorship.family.case_code not in page
    theirs = other_sponsorship.milestones.first()
    for field, value in (("case_file", other_sponsorship.family.pk), ("milestone", theirs.pk)):
        response = client.post(
            reverse("admin:evidence_document_add"),
            {"kind": "form", field: value, "file": SimpleUploadedFile("a.pdf", pdf_bytes())},
        )
        assert response.status_code == 200
        assert "Select a valid choice" in response.content.decode()
    assert not Document.objects.exists()
    assert not CaseFileAccess.objects.filter(family=other_sponsorship.family).exists()


def test_a_program_manager_uploads_to_any_familys_milestone(
    client, program_manager, other_sponsorship
):
    client.force_login(program_manager)
    milestone = other_sponsorship.milestones.first()
    response = client.post(
        reverse("admin:evidence_document_add"),
        {
            "kind": "form",
            "milestone": milestone.pk,
            "file": SimpleUploadedFile("a.pdf", pdf_bytes()),
        },
    )
    assert response.status_code == 302
    assert Document.objects.get().milestone == milestone
