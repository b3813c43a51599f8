"""Documents: checked by their bytes, encrypted at rest, served only to the case file's scope
with a download logged; bad input refused next to the field with nothing stored."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from core.roles import CASE_WORKER
from evidence import files, services
from evidence.models import Document
from families.models import CaseFileAccess
from sponsorship.models import Disbursement, InKindItem
from tests.evidence.conftest import EICAR, SECRET_TEXT, heic_bytes, image_bytes, pdf_bytes
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db


def _disbursement(sponsorship, user) -> Disbursement:
    return Disbursement.objects.create(
        sponsorship=sponsorship,
        month_number=1,
        amount="1500.00",
        paid_on=sponsorship.arrival_date,
        method=Disbursement.Method.ETRANSFER,
        recorded_by=user,
    )


def _upload(target, user, data: bytes, name: str = "rent-receipt.pdf") -> Document:
    return services.document_upload(
        target=target,
        kind=Document.Kind.RECEIPT,
        uploaded_file=SimpleUploadedFile(name, data),
        user=user,
    )


def _stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_an_upload_is_encrypted_at_rest_with_its_name(sponsorship, treasurer, _documents_in_tmp):
    document = _upload(_disbursement(sponsorship, treasurer), treasurer, pdf_bytes())

    assert document.status == Document.Status.CLEAN
    assert document.content_type == "application/pdf"
    assert document.family_id == sponsorship.family_id
    assert document.sponsorship == sponsorship
    (stored,) = _stored_files(_documents_in_tmp)
    raw = stored.read_bytes()
    assert SECRET_TEXT.encode() not in raw and b"%PDF" not in raw
    assert "rent-receipt" not in stored.name
    assert Document.objects.get(pk=document.pk).original_name == "rent-receipt.pdf"


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "empty.pdf", "empty"),
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200, "invoice.pdf", "Only PDF, JPEG"),
        (b"#!/bin/sh\nrm -rf /\n", "receipt.pdf", "Only PDF, JPEG"),
        (
            b"%PDF-1.4\n1 0 obj << /Type /Catalog /OpenAction << /S /JavaScript "
            b"/JS (app.alert(1)) >> >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
            "form.pdf",
            "script",
        ),
        (
            b"%PDF-1.4\n1 0 obj << /Names << /J#61vaScript 2 0 R >> >> endobj\n%%EOF",
            "a.pdf",
            "script",
        ),
        (pdf_bytes(), "../../etc/receipt.pdf", "cannot contain"),
        (pdf_bytes(), "receipt\u202efdp.exe", "control characters"),
        (pdf_bytes(), "receipt\x00.pdf", "control characters"),
        (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64, "IMG_0001.HEIC", "HEIC photo could not"),
        (b"\x00\x00\x00\x1cftypavif" + b"\x00" * 64, "IMG_0002.avif", "AVIF"),
    ],
)
def test_bad_files_are_refused_with_a_message_and_nothing_is_stored(
    sponsorship, treasurer, _documents_in_tmp, data, name, message
):
    target = _disbursement(sponsorship, treasurer)
    with pytest.raises(ValidationError) as refused:
        services.document_upload(
            target=target,
            kind=Document.Kind.RECEIPT,
            uploaded_file=SimpleUploadedFile("x", data) if not name else _named(name, data),
            user=treasurer,
        )
    assert message in " ".join(refused.value.message_dict["file"])
    assert not Document.objects.exists()
    assert _stored_files(_documents_in_tmp) == []


def _named(name: str, data: bytes):
    upload = SimpleUploadedFile("placeholder", data)
    upload._name = name  # Django would strip the path: the service must refuse it anyway
    return upload


class _Huge:
    """A 200 MB upload that is never read: the size is refused before the bytes."""

    name = "scan.pdf"
    size = 200 * 1024 * 1024

    def read(self, size=-1):
        raise AssertionError("a file over the limit must not be read")


def test_a_200_mb_file_is_refused_before_it_is_read(sponsorship, treasurer, _documents_in_tmp):
    with pytest.raises(ValidationError, match="larger than"):
        services.document_upload(
            target=_disbursement(sponsorship, treasurer),
            kind="receipt",
            uploaded_file=_Huge(),
            user=treasurer,
        )
    assert not Document.objects.exists()


def test_the_size_limit_comes_from_settings(settings, sponsorship, treasurer):
    settings.DOCUMENT_MAX_BYTES = 100
    with pytest.raises(ValidationError, match="larger than 100"):
        _upload(_disbursement(sponsorship, treasurer), treasurer, image_bytes("PNG") + b"\0" * 100)


def test_jpeg_and_png_are_accepted_by_their_bytes_whatever_the_name(sponsorship, treasurer):
    target = _disbursement(sponsorship, treasurer)
    assert _upload(target, treasurer, image_bytes("JPEG"), "photo.pdf").content_type == "image/jpeg"
    assert _upload(target, treasurer, image_bytes("PNG"), "scan").content_type == "image/png"


@pytest.mark.parametrize(
    ("data", "sent", "downloaded"),
    [
        (pdf_bytes(), "invoice.exe", "invoice.exe.pdf"),
        (image_bytes("PNG"), "scan", "scan.png"),
        (image_bytes("JPEG"), "photo.JPEG", "photo.JPEG"),
        (pdf_bytes(), "lease.PDF", "lease.PDF"),
    ],
)
def test_a_download_is_named_for_the_type_its_bytes_are(
    client, sponsorship, treasurer, data, sent, downloaded
):
    document = _upload(_disbursement(sponsorship, treasurer), treasurer, data, sent)
    client.force_login(treasurer)
    response = client.get(reverse("evidence:document-download", args=[document.public_id]))
    assert response["Content-Disposition"] == f'attachment; filename="{downloaded}"'


# --- the portal: who uploads, who downloads ----------------------------------------------


def _page(sponsorship) -> str:
    return reverse("evidence:documents", args=[sponsorship.public_id])


def _post(client, sponsorship, target_key: str, data: bytes, name: str = "receipt.pdf"):
    return client.post(
        _page(sponsorship),
        {"target": target_key, "kind": "receipt", "file": SimpleUploadedFile(name, data)},
    )


def test_a_treasurer_uploads_a_receipt_and_another_member_downloads_it(
    client, sponsorship, treasurer, member
):
    payment = _disbursement(sponsorship, treasurer)
    client.force_login(treasurer)
    response = _post(client, sponsorship, f"disbursement:{payment.public_id}", pdf_bytes())
    assert response.status_code == 302
    document = Document.objects.get()
    assert document.disbursement == payment and document.uploaded_by == treasurer

    client.force_login(member)
    page = client.get(_page(sponsorship))
    assert "receipt.pdf" in page.content.decode()
    download = client.get(reverse("evidence:document-download", args=[document.public_id]))
    assert download.status_code == 200
    assert download.content == pdf_bytes()
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="receipt.pdf"'
    assert "no-store" in download["Cache-Control"]
    assert (
        CaseFileAccess.objects.filter(
            user=member, family=sponsorship.family, action="download"
        ).count()
        == 1
    )


def test_other_groups_outsiders_and_fundraisers_get_404(
    client, sponsorship, treasurer, other_member, plain_user, fundraiser, case_worker
):
    document = _upload(_disbursement(sponsorship, treasurer), treasurer, pdf_bytes())
    url = reverse("evidence:document-download", args=[document.public_id])
    for outsider in (other_member, plain_user, fundraiser):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
        assert client.get(_page(sponsorship)).status_code == 404
    assert not CaseFileAccess.objects.filter(action="download").exists()
    client.logout()
    assert client.get(url).status_code == 302  # to sign-in, which says nothing of the file
    client.force_login(case_worker)
    assert client.get(url).status_code == 200


def test_another_groups_member_sees_a_page_not_found_that_names_nothing(
    client, sponsorship, treasurer, other_member
):
    document = _upload(_disbursement(sponsorship, treasurer), treasurer, pdf_bytes())
    client.force_login(other_member)
    for url in (
        _page(sponsorship),
        reverse("evidence:document-download", args=[document.public_id]),
    ):
        response = client.get(url, headers={"accept-language": "fr"})
        assert response.status_code == 404
        html = response.content.decode()
        assert "Page introuvable" in html and 'lang="fr"' in html
        assert sponsorship.family.case_code not in html and "receipt" not in html


def test_an_upload_to_another_groups_disbursement_is_404_and_stores_nothing(
    client, sponsorship, other_sponsorship, treasurer, other_member, _documents_in_tmp
):
    theirs = _disbursement(other_sponsorship, other_member)
    client.force_login(treasurer)
    response = _post(client, sponsorship, f"disbursement:{theirs.public_id}", pdf_bytes())
    assert response.status_code == 404
    assert not Document.objects.exists() and _stored_files(_documents_in_tmp) == []


def test_money_evidence_is_the_treasurers_and_plan_evidence_the_coordinators(
    client, sponsorship, treasurer, coordinator, member
):
    payment = _disbursement(sponsorship, treasurer)
    milestone = sponsorship.milestones.first()
    client.force_login(member)
    assert (
        _post(client, sponsorship, f"disbursement:{payment.public_id}", pdf_bytes()).status_code
        == 403
    )
    client.force_login(coordinator)
    assert (
        _post(client, sponsorship, f"disbursement:{payment.public_id}", pdf_bytes()).status_code
        == 404
    )
    assert (
        _post(client, sponsorship, f"milestone:{milestone.public_id}", pdf_bytes()).status_code
        == 302
    )
    client.force_login(treasurer)
    assert (
        _post(client, sponsorship, f"milestone:{milestone.public_id}", pdf_bytes()).status_code
        == 404
    )
    assert Document.objects.get().milestone == milestone


@pytest.mark.parametrize("role", ["treasurer", "coordinator"])
def test_in_kind_photos_and_review_evidence_go_to_their_item(
    request, client, sponsorship, treasurer, role
):
    """Each target the issue names, through the portal: an in-kind item's photo (treasurer or
    coordinator) and a review's document (coordinator only); shown with what they are of."""
    uploader = request.getfixturevalue(role)
    sofa = InKindItem.objects.create(
        sponsorship=sponsorship,
        description="Sofa",
        quantity=1,
        estimated_value="250.00",
        recorded_by=treasurer,
    )
    review = sponsorship.reviews.first()
    client.force_login(uploader)
    photo = _post(client, sponsorship, f"in_kind_item:{sofa.public_id}", image_bytes(), "s.jpg")
    assert photo.status_code == 302
    on_review = _post(client, sponsorship, f"review:{review.public_id}", pdf_bytes(), "r.pdf")
    assert on_review.status_code == (302 if role == "coordinator" else 404)
    assert Document.objects.get(in_kind_item=sofa).content_type == "image/jpeg"
    assert Document.objects.filter(review=review).count() == (role == "coordinator")
    page = client.get(_page(sponsorship)).content.decode()
    assert "1 × Sofa" in page
    assert (review.label in page) == (role == "coordinator")


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"MZ" + b"\x00" * 300, "receipt.pdf", "Only PDF, JPEG and PNG"),
        (b"%PDF-1.4\n<< /OpenAction << /JS (x) >> >>\n%%EOF", "r.pdf", "script"),
        (EICAR, "eicar.pdf", "Only PDF, JPEG and PNG"),
    ],
)
def test_the_portal_shows_a_refusal_next_to_the_field(
    client, sponsorship, treasurer, _documents_in_tmp, data, name, message
):
    payment = _disbursement(sponsorship, treasurer)
    client.force_login(treasurer)
    response = _post(client, sponsorship, f"disbursement:{payment.public_id}", data, name)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and "data-error-summary" in html and "invalid-feedback" in html
    assert 'href="#id_file"' in html  # the summary links to the field (the GOV.UK pattern)
    assert not Document.objects.exists() and _stored_files(_documents_in_tmp) == []


def _raw_multipart(fields: dict[str, str], file_name: str, data: bytes) -> tuple[bytes, str]:
    """A multipart body written by hand: Django's test client would drop a path itself."""
    boundary = "HanVoiceTestBoundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"'
        "\r\nContent-Type: application/pdf\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../../etc/receipt.pdf", "cannot contain / or"),
        ("..\\..\\bad.pdf", "cannot contain / or"),
        ("C:\\Users\\x\\receipt.pdf", "cannot contain / or"),
        ("receipt\u202efdp.exe", "control characters"),
        ("bad\x07name.pdf", "control characters"),
    ],
)
def test_over_http_a_name_with_path_parts_or_control_characters_is_refused_at_the_field(
    client, sponsorship, treasurer, _documents_in_tmp, name, message
):
    """Django's multipart parser would drop them silently; the name as sent is checked
    (core/uploads.py), so the sender is told and nothing is kept."""
    payment = _disbursement(sponsorship, treasurer)
    client.force_login(treasurer)
    body, content_type = _raw_multipart(
        {"target": f"disbursement:{payment.public_id}", "kind": "receipt"}, name, pdf_bytes()
    )
    response = client.post(_page(sponsorship), body, content_type=content_type)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and "invalid-feedback" in html
    assert not Document.objects.exists() and _stored_files(_documents_in_tmp) == []


def test_over_http_a_plain_name_is_kept_as_sent(client, sponsorship, treasurer):
    payment = _disbursement(sponsorship, treasurer)
    client.force_login(treasurer)
    body, content_type = _raw_multipart(
        {"target": f"disbursement:{payment.public_id}", "kind": "receipt"},
        "Reçu loyer mai 2026 (1).pdf",
        pdf_bytes(),
    )
    response = client.post(_page(sponsorship), body, content_type=content_type)
    assert response.status_code == 302
    assert Document.objects.get().original_name == "Reçu loyer mai 2026 (1).pdf"


def test_a_file_over_the_limit_is_refused_in_the_portal_next_to_the_field(
    settings, client, sponsorship, treasurer, _documents_in_tmp
):
    """The 200 MB case over HTTP, with the limit lowered so the test sends a small file."""
    settings.DOCUMENT_MAX_BYTES = 1024
    payment = _disbursement(sponsorship, treasurer)
    client.force_login(treasurer)
    big = pdf_bytes() + b"%" * 2048
    response = _post(client, sponsorship, f"disbursement:{payment.public_id}", big)
    assert response.status_code == 400
    html = response.content.decode()
    assert "The file is larger than 1.0\xa0KB" in html and "invalid-feedback" in html
    assert not Document.objects.exists() and _stored_files(_documents_in_tmp) == []


def test_an_empty_upload_is_refused_in_the_portal(client, sponsorship, treasurer):
    payment = _disbursement(sponsorship, treasurer)
    client.force_login(treasurer)
    response = _post(client, sponsorship, f"disbursement:{payment.public_id}", b"")
    assert response.status_code == 400
    assert not Document.objects.exists()


# --- quarantine while the scanner is unreachable --------------------------------------------


def test_while_clamd_is_unreachable_an_upload_waits_unserved(
    settings, client, sponsorship, treasurer, member, tmp_path
):
    settings.CLAMAV_SOCKET = str(tmp_path / "no-clamd.sock")
    document = _upload(_disbursement(sponsorship, treasurer), treasurer, pdf_bytes())
    assert document.status == Document.Status.QUARANTINED
    client.force_login(member)
    url = reverse("evidence:document-download", args=[document.public_id])
    assert client.get(url).status_code == 404
    assert services.documents_scan_quarantined() == {"quarantined": 1}
    document.refresh_from_db()
    assert document.status == Document.Status.QUARANTINED and document.blob_name


# --- retention ------------------------------------------------------------------------------


def test_documents_are_erased_with_the_case_file(sponsorship, treasurer, _documents_in_tmp):
    document = _upload(_disbursement(sponsorship, treasurer), treasurer, pdf_bytes())
    assert _stored_files(_documents_in_tmp)
    today = timezone.localdate() + datetime.timedelta(days=1)
    assert services.documents_erase(family=sponsorship.family, today=today) == 1
    document.refresh_from_db()
    assert document.status == Document.Status.ERASED
    assert document.original_name is None and document.blob_name == ""
    assert _stored_files(_documents_in_tmp) == []


def test_reencrypt_rewrites_stored_documents_with_the_newest_key(
    settings, client, sponsorship, treasurer, _documents_in_tmp
):
    document = _upload(_disbursement(sponsorship, treasurer), treasurer, pdf_bytes())
    old_blob = document.blob_name
    settings.FIELD_ENCRYPTION_KEYS = [
        "a-brand-new-key-for-rotation",
        *settings.FIELD_ENCRYPTION_KEYS,
    ]
    call_command("reencrypt", stdout=io.StringIO())
    document.refresh_from_db()
    assert document.blob_name != old_blob
    settings.FIELD_ENCRYPTION_KEYS = ["a-brand-new-key-for-rotation"]  # the old key dropped
    client.force_login(treasurer)
    response = client.get(reverse("evidence:document-download", args=[document.public_id]))
    assert response.content == pdf_bytes()
    assert [p.name for p in _stored_files(_documents_in_tmp)] == [document.blob_name.split("/")[1]]


def test_a_case_worker_not_assigned_to_the_family_gets_404(client, sponsorship, treasurer):
    document = _upload(_disbursement(sponsorship, treasurer), treasurer, pdf_bytes())
    stranger = StaffFactory(email="other.cw@hanvoice.test", roles=[CASE_WORKER])
    client.force_login(stranger)
    url = reverse("evidence:document-download", args=[document.public_id])
    assert client.get(url).status_code == 404
    assert not CaseFileAccess.objects.filter(user=stranger).exists()


def test_a_heic_photo_from_a_phone_is_kept_as_a_jpeg_with_its_name(
    sponsorship, treasurer, _documents_in_tmp
):
    heic = heic_bytes((64, 48))
    assert heic[4:12] == b"ftypheic"
    # Decided by the bytes: the name says nothing about the type.
    document = _upload(_disbursement(sponsorship, treasurer), treasurer, heic, "IMG_0001.dat")

    assert document.content_type == "image/jpeg"
    assert document.original_name == "IMG_0001.jpg"
    kept = files.read_decrypted(document.blob_name)
    assert kept[:3] == b"\xff\xd8\xff" and document.size == len(kept)
    with Image.open(io.BytesIO(kept)) as photo:
        assert (photo.format, photo.size) == ("JPEG", (64, 48))
        assert not photo.getexif()  # no EXIF: a phone's would say where the family lives
    (stored,) = _stored_files(_documents_in_tmp)
    assert b"ftypheic" not in stored.read_bytes() and b"JFIF" not in stored.read_bytes()


def test_a_jpeg_is_kept_as_it_came():
    jpeg = image_bytes("JPEG")
    assert files.convert_phone_photo(jpeg, "IMG_0003.HEIC") == (jpeg, "IMG_0003.HEIC")
    assert files.jpeg_name("IMG_0001.HEIC") == "IMG_0001.jpg"
    assert files.jpeg_name("receipt.march.heif") == "receipt.march.jpg"


def test_a_heic_larger_than_pillows_pixel_limit_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(ValidationError, match="HEIC photo could not be read"):
        files.convert_phone_photo(heic_bytes((64, 48)), "IMG_0004.HEIC")
