"""The evidence pack: a ZIP with a PDF summary and the sponsorship's documents, for program
managers only, logged as an export, never holding another family's data."""

from __future__ import annotations

import io
import os
import tempfile
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfReader

from evidence import services
from evidence.models import Document
from families.models import CaseFileAccess
from sponsorship.models import Disbursement, InKindItem, MonitoringContact
from tests.evidence.conftest import image_bytes, pdf_bytes

pytestmark = pytest.mark.django_db


def _payment(sponsorship, user) -> Disbursement:
    return Disbursement.objects.create(
        sponsorship=sponsorship,
        month_number=1,
        amount="1500.00",
        paid_on=sponsorship.arrival_date,
        method=Disbursement.Method.ETRANSFER,
        recorded_by=user,
    )


def _upload(target, user, data, name):
    return services.document_upload(
        target=target, kind="receipt", uploaded_file=SimpleUploadedFile(name, data), user=user
    )


@pytest.fixture
def two_families(sponsorship, other_sponsorship, treasurer, other_member, case_worker):
    _upload(_payment(sponsorship, treasurer), treasurer, pdf_bytes("OURS-RENT"), "rent-may.pdf")
    item = InKindItem.objects.create(
        sponsorship=sponsorship,
        description="Sofa",
        quantity=1,
        estimated_value="250.00",
        donated_by="Neighbours",
        recorded_by=treasurer,
    )
    _upload(item, treasurer, image_bytes(), "sofa.jpg")
    _upload(sponsorship.family, case_worker, pdf_bytes("OURS-FORM"), "signed-form.pdf")
    MonitoringContact.objects.create(
        sponsorship=sponsorship,
        happened_on=sponsorship.arrival_date,
        kind=MonitoringContact.Kind.INTERPRETER,
        recorded_by=case_worker,
    )
    theirs = _payment(other_sponsorship, other_member)
    _upload(theirs, other_member, pdf_bytes("THEIRS-RENT"), "their-rent.pdf")
    _upload(other_sponsorship.family, case_worker, pdf_bytes("THEIRS-FORM"), "their-form.pdf")
    return sponsorship


def test_a_program_manager_downloads_the_pack_with_only_this_family(
    client, program_manager, two_families, other_sponsorship
):
    sponsorship = two_families
    client.force_login(program_manager)
    url = reverse("admin:evidence_sponsorshipevidence_pack", args=[sponsorship.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "no-store" in response["Cache-Control"]
    assert response["Content-Disposition"].startswith("attachment; filename=")
    assert sponsorship.family.case_code in response["Content-Disposition"]
    assert response.streaming
    archive = zipfile.ZipFile(io.BytesIO(response.getvalue()))
    names = archive.namelist()
    assert names[0] == "summary.pdf"
    # The current settlement plan's PDF (checked against its stored SHA-256), then the files.
    assert [n for n in names if n.startswith("plan/")] == [names[1]]
    assert len([n for n in names if n.startswith("documents/")]) == 3
    assert any("rent-may" in n for n in names) and any(n.endswith(".jpg") for n in names)
    blob = b"".join(archive.read(n) for n in names if n.startswith("documents/"))
    assert b"OURS-RENT" in blob and b"OURS-FORM" in blob
    assert b"THEIRS" not in blob and b"their" not in blob

    text = "".join(
        page.extract_text() for page in PdfReader(io.BytesIO(archive.read("summary.pdf"))).pages
    )
    for heading in (
        "Settlement plan",
        "Income support: planned and paid by month",
        "Milestones",
        "Self-sufficiency reviews",
        "HanVoice monitoring contacts",
        "Signatures",
    ):
        assert heading in text
    assert sponsorship.family.case_code in text
    assert other_sponsorship.family.case_code not in text
    assert "Sofa" in text and "$1,500.00" in text
    assert (
        CaseFileAccess.objects.filter(
            user=program_manager, family=sponsorship.family, action="export"
        ).count()
        == 1
    )
    assert not CaseFileAccess.objects.filter(family=other_sponsorship.family).exists()


def test_case_workers_and_group_members_cannot_download_the_pack(
    client, case_worker, treasurer, two_families
):
    url = reverse("admin:evidence_sponsorshipevidence_pack", args=[two_families.pk])
    client.force_login(case_worker)
    assert client.get(url).status_code == 403
    client.force_login(treasurer)
    assert client.get(url).status_code == 302  # the admin sends non-staff to its sign-in
    assert not CaseFileAccess.objects.filter(action="export").exists()


def test_staff_see_who_has_and_has_not_signed(client, program_manager, two_families, treasurer):
    client.force_login(program_manager)
    url = reverse("admin:evidence_sponsorshipevidence_change", args=[two_families.pk])
    html = client.get(url).content.decode()
    assert "Not signed" in html and treasurer.get_full_name() in html
    # A table a screen reader can read: each cell announced with its column's header.
    for header in ("Member", "Role", "Status", "Signed on"):
        assert f'<th scope="col">{header}</th>' in html
    assert Document.objects.filter(sponsorship=two_families).count() == 2


def test_a_pack_larger_than_its_spool_is_written_to_a_temporary_file_streamed_and_deleted(
    client, program_manager, sponsorship, treasurer, monkeypatch, tmp_path
):
    """Documents larger than the in-memory spool: the ZIP moves to a temporary file on
    disk, streams in blocks with its length, comes out complete, and is gone afterwards."""
    from evidence import admin as evidence_admin
    from evidence import pack

    # Random bytes that do not compress, without "/": with it, 360 KB of noise holds a PDF
    # name such as /JS about once in fifty runs, and the upload is rightly refused.
    noise = [os.urandom(120_000).replace(b"/", b"_") for _ in range(3)]
    big = [pdf_bytes(f"BIG-{i}-" + "x" * 2000) + noise[i] for i in range(3)]
    payment = _payment(sponsorship, treasurer)
    for i, data in enumerate(big):
        _upload(payment, treasurer, data, f"receipt-{i}.pdf")
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool_dir))
    monkeypatch.setattr(pack, "PACK_SPOOL_MAX_BYTES", 64 * 1024)
    made = []

    def recording(sponsorship):
        spooled = pack.evidence_pack_file(sponsorship)
        made.append(spooled)
        return spooled

    monkeypatch.setattr(evidence_admin, "evidence_pack_file", recording)
    client.force_login(program_manager)
    url = reverse("admin:evidence_sponsorshipevidence_pack", args=[sponsorship.pk])
    response = client.get(url)
    assert response.status_code == 200 and response.streaming
    (spooled,) = made
    assert spooled._rolled  # past the spool's size: on disk, not in memory
    assert not spooled.closed
    chunks = list(response.streaming_content)
    assert len(chunks) > 1  # streamed in blocks, not one body
    body = b"".join(chunks)
    assert int(response["Content-Length"]) == len(body) > sum(map(len, big))
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    stored = sorted(archive.read(n) for n in archive.namelist() if n.startswith("documents/"))
    assert stored == sorted(big)
    # Closed with the response (the client closes it once read): the file is deleted.
    assert spooled.closed
    assert list(spool_dir.iterdir()) == []
    assert CaseFileAccess.objects.filter(user=program_manager, action="export").count() == 1


def test_a_pack_that_fails_while_written_leaves_no_temporary_file(
    client, program_manager, sponsorship, treasurer, monkeypatch, tmp_path
):
    from evidence import files as evidence_files
    from evidence import pack

    _upload(_payment(sponsorship, treasurer), treasurer, pdf_bytes("RENT"), "rent.pdf")
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool_dir))
    monkeypatch.setattr(pack, "PACK_SPOOL_MAX_BYTES", 1024)
    made = []
    real = tempfile.SpooledTemporaryFile

    def recording(*args, **kwargs):
        made.append(real(*args, **kwargs))
        return made[-1]

    def broken(blob_name):
        raise OSError("storage unreachable")

    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", recording)
    monkeypatch.setattr(evidence_files, "read_decrypted", broken)
    with pytest.raises(OSError, match="storage unreachable"):
        pack.evidence_pack_file(sponsorship)
    (spooled,) = made
    assert spooled.closed and list(spool_dir.iterdir()) == []
