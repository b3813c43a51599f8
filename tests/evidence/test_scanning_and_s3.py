"""The real parts: clamd (a signature made by sigtool from the EICAR string) refuses
malware and clears the quarantine when it returns; documents round-trip through a real
S3 server (moto on loopback) as ciphertext."""

from __future__ import annotations

import contextlib

import boto3
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.clamav import scan_bytes
from evidence import files, services
from evidence.models import Document
from sponsorship.models import Disbursement
from tests.evidence.conftest import EICAR, SECRET_TEXT, pdf_bytes

pytestmark = pytest.mark.django_db


def _payment(sponsorship, user) -> Disbursement:
    return Disbursement.objects.create(
        sponsorship=sponsorship,
        month_number=1,
        amount="1500.00",
        paid_on=sponsorship.arrival_date,
        method=Disbursement.Method.CHEQUE,
        recorded_by=user,
    )


def _upload(target, user, data: bytes, name="receipt.pdf") -> Document:
    return services.document_upload(
        target=target, kind="receipt", uploaded_file=SimpleUploadedFile(name, data), user=user
    )


def test_clamd_answers_clean_and_infected(clamd_socket):
    assert not scan_bytes(clamd_socket, pdf_bytes()).infected
    verdict = scan_bytes(clamd_socket, EICAR)
    assert verdict.infected and "eicar" in verdict.signature.lower()


@pytest.mark.parametrize(
    "data", [EICAR, pdf_bytes() + b"\n" + EICAR], ids=["eicar-string", "eicar-inside-a-pdf"]
)
def test_an_infected_upload_is_refused_and_recorded_for_staff(
    settings, clamd_socket, sponsorship, treasurer, _documents_in_tmp, data
):
    settings.CLAMAV_SOCKET = clamd_socket
    with pytest.raises(ValidationError, match="malware"):
        _upload(_payment(sponsorship, treasurer), treasurer, data)
    refused = Document.objects.get()
    assert refused.status == Document.Status.INFECTED and refused.blob_name == ""
    assert "eicar" in refused.signature.lower()
    assert not [p for p in _documents_in_tmp.rglob("*") if p.is_file()]


def test_the_portal_refuses_eicar_next_to_the_field(
    settings, clamd_socket, client, sponsorship, treasurer
):
    settings.CLAMAV_SOCKET = clamd_socket
    payment = _payment(sponsorship, treasurer)
    client.force_login(treasurer)
    response = client.post(
        reverse("evidence:documents", args=[sponsorship.public_id]),
        {
            "target": f"disbursement:{payment.public_id}",
            "kind": "receipt",
            "file": SimpleUploadedFile("receipt.pdf", EICAR),
        },
    )
    assert response.status_code == 400
    assert "contains malware" in response.content.decode()
    assert not Document.objects.servable().exists()


def test_malware_found_in_the_quarantine_is_deleted_never_served(
    settings,
    clamd_socket,
    sponsorship,
    treasurer,
    tmp_path,
    _documents_in_tmp,
    django_capture_on_commit_callbacks,
):
    settings.CLAMAV_SOCKET = str(tmp_path / "down.sock")
    waiting = _upload(_payment(sponsorship, treasurer), treasurer, pdf_bytes() + EICAR)
    settings.CLAMAV_SOCKET = clamd_socket
    with django_capture_on_commit_callbacks(execute=True):
        assert services.documents_scan_quarantined() == {"infected": 1}
    waiting.refresh_from_db()
    assert waiting.status == Document.Status.INFECTED and waiting.blob_name == ""
    assert not [p for p in _documents_in_tmp.rglob("*") if p.is_file()]


def test_a_clean_upload_is_scanned_and_served(
    settings, clamd_socket, client, sponsorship, treasurer
):
    settings.CLAMAV_SOCKET = clamd_socket
    document = _upload(_payment(sponsorship, treasurer), treasurer, pdf_bytes())
    assert document.status == Document.Status.CLEAN and document.scanned_at is not None
    client.force_login(treasurer)
    url = reverse("evidence:document-download", args=[document.public_id])
    assert client.get(url).content == pdf_bytes()


def test_the_quarantine_is_scanned_when_clamd_returns(
    settings, clamd_socket, client, sponsorship, treasurer, tmp_path
):
    settings.CLAMAV_SOCKET = str(tmp_path / "down.sock")
    waiting = _upload(_payment(sponsorship, treasurer), treasurer, pdf_bytes())
    assert waiting.status == Document.Status.QUARANTINED
    settings.CLAMAV_SOCKET = clamd_socket
    assert services.documents_scan_quarantined() == {"clean": 1}
    waiting.refresh_from_db()
    assert waiting.status == Document.Status.CLEAN
    client.force_login(treasurer)
    assert (
        client.get(reverse("evidence:document-download", args=[waiting.public_id])).status_code
        == 200
    )


@pytest.fixture
def s3_documents(settings, s3_endpoint):
    bucket = "hanvoice-documents-test"
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": s3_endpoint,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "location": "documents",
                "default_acl": "private",
                "file_overwrite": False,
            },
        },
    }
    return client, bucket


def test_documents_round_trip_through_an_s3_server_as_ciphertext(
    s3_documents, client, sponsorship, treasurer, member
):
    s3, bucket = s3_documents
    document = _upload(_payment(sponsorship, treasurer), treasurer, pdf_bytes(), "lease.pdf")
    key = f"documents/{document.blob_name}"
    raw = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert SECRET_TEXT.encode() not in raw and b"%PDF" not in raw
    assert "lease" not in key

    client.force_login(member)
    response = client.get(reverse("evidence:document-download", args=[document.public_id]))
    assert response.status_code == 200 and response.content == pdf_bytes()

    services.documents_erase(family=sponsorship.family, today=sponsorship.arrival_date)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount", 0)
    assert listed == 0
    assert files.storage().exists(document.blob_name) is False
