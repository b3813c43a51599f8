"""A raw pg_dump and the raw bytes in storage hold no plaintext of an uploaded document:
not its content, not its file name, not a signature's typed name (PostgreSQL only)."""

from __future__ import annotations

import shutil

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from evidence import services
from evidence.models import Document
from sponsorship.models import Disbursement
from tests.evidence.conftest import SECRET_TEXT, pdf_bytes
from tests.test_pg_dump import _dump

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="pg_dump needs PostgreSQL: run with DATABASE_URL=postgres://...",
    ),
    pytest.mark.skipif(not shutil.which("pg_dump"), reason="pg_dump is not installed"),
    pytest.mark.django_db(transaction=True),
]

SECRET_NAME = "Lease-Testa-Kimsecret-Apartment-4B.pdf"
SECRET_SIGNATURE = "Bob Signaturesecret Example"


def test_neither_the_dump_nor_storage_holds_a_document_in_plain_text(
    sponsorship, treasurer, member, _documents_in_tmp
):
    payment = Disbursement.objects.create(
        sponsorship=sponsorship,
        month_number=1,
        amount="1500.00",
        paid_on=sponsorship.arrival_date,
        method=Disbursement.Method.ETRANSFER,
        recorded_by=treasurer,
    )
    services.document_upload(
        target=payment,
        kind="lease",
        uploaded_file=SimpleUploadedFile(SECRET_NAME, pdf_bytes()),
        user=treasurer,
    )
    version = services.plan_version_current(sponsorship=sponsorship)
    services.plan_acknowledge(
        version=version, user=member, typed_name=SECRET_SIGNATURE, signed_on=timezone.localdate()
    )

    dump = _dump()
    assert "COPY public.evidence_document" in dump
    for secret in (SECRET_TEXT, SECRET_NAME, "Kimsecret", SECRET_SIGNATURE):
        assert secret not in dump, f"readable in a raw pg_dump: {secret}"

    stored = [p.read_bytes() for p in _documents_in_tmp.rglob("*") if p.is_file()]
    assert len(stored) == 2  # the receipt and the plan's PDF
    for raw in stored:
        assert SECRET_TEXT.encode() not in raw and b"%PDF" not in raw
        assert sponsorship.family.case_code.encode() not in raw
    assert Document.objects.get().original_name == SECRET_NAME
