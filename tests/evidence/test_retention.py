"""Documents follow their case file: `apply_retention` archives a closed file and erases its
documents' bytes and names, and the words of HanVoice's monitoring contacts; a file still
within the retention period keeps them all."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from evidence import services
from evidence.models import Document
from families.models import Family, FamilyStatusChange
from sponsorship.models import MonitoringContact, Sponsorship
from tests.evidence.conftest import pdf_bytes

pytestmark = pytest.mark.django_db


def _close(sponsorship: Sponsorship, *, days_ago: int) -> Family:
    family = sponsorship.family
    Family.objects.filter(pk=family.pk).update(status=Family.Status.CLOSED)
    FamilyStatusChange.objects.create(
        family=family,
        from_status="arrived",
        to_status="closed",
        changed_at=timezone.now() - datetime.timedelta(days=days_ago),
    )
    return family


def _evidence(sponsorship: Sponsorship, user) -> tuple[Document, MonitoringContact]:
    document = services.document_upload(
        target=sponsorship.milestones.first(),
        kind=Document.Kind.RECEIPT,
        uploaded_file=SimpleUploadedFile("lease-apartment-4b.pdf", pdf_bytes()),
        user=user,
    )
    contact = MonitoringContact.objects.create(
        sponsorship=sponsorship,
        happened_on=sponsorship.arrival_date,
        kind=MonitoringContact.Kind.INTERPRETER,
        summary="Fictional summary naming the family's street",
        concern_level=MonitoringContact.Concern.CONCERN,
        concern="Fictional concern naming a relative",
        recorded_by=user,
    )
    return document, contact


def test_archiving_a_case_file_erases_its_documents_and_monitoring_words(
    settings, sponsorship, other_sponsorship, case_worker, _documents_in_tmp
):
    settings.RETENTION = {"case_file_years": 6, "access_log_years": 6, "donor_years": 7}
    old, old_contact = _evidence(sponsorship, case_worker)
    recent, recent_contact = _evidence(other_sponsorship, case_worker)
    _close(sponsorship, days_ago=7 * 366)
    _close(other_sponsorship, days_ago=400)
    assert len([p for p in _documents_in_tmp.rglob("*") if p.is_file()]) == 2

    call_command("apply_retention", stdout=io.StringIO())

    old.refresh_from_db()
    assert old.status == Document.Status.ERASED and old.erased_on == timezone.localdate()
    assert old.original_name is None and old.blob_name == ""
    (kept,) = [p for p in _documents_in_tmp.rglob("*") if p.is_file()]
    assert kept.name == recent.blob_name.split("/")[1]
    old_contact.refresh_from_db()
    assert old_contact.summary is None and old_contact.concern == "—"
    assert old_contact.concern_level == MonitoringContact.Concern.CONCERN

    recent.refresh_from_db()
    assert recent.status == Document.Status.CLEAN
    assert recent.original_name == "lease-apartment-4b.pdf"
    recent_contact.refresh_from_db()
    assert recent_contact.concern == "Fictional concern naming a relative"
