"""Celery tasks for documents (scheduled in config/celery.py)."""

from celery import shared_task

from evidence.services import documents_scan_quarantined


@shared_task
def scan_quarantined_documents() -> dict[str, int]:
    """Scan the uploads that waited while clamd was unreachable (every 5 minutes)."""
    return documents_scan_quarantined()
