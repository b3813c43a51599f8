"""The retention policy for case files (settings.RETENTION; SECURITY.md).

A closed case file is archived once the retention period has passed since it was closed:
identifying fields are erased (and their history rows purged, since history keeps old
values), while the case code, dates, statuses and outcomes remain for statistics.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Max, QuerySet

from families.models import CaseFileAccess, CaseNote, Consent, Family, HouseholdMember

ERASED = "—"


def years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def case_files_due_for_archive(*, today: datetime.date, years: int) -> QuerySet[Family]:
    """Closed, not archived, and closed on or before `today` minus `years`."""
    return (
        Family.objects.filter(status=Family.Status.CLOSED, archived_on__isnull=True)
        .annotate(closed_at=Max("status_changes__changed_at"))
        .filter(closed_at__date__lte=years_before(today, years))
    )


@transaction.atomic
def family_archive(*, family: Family, today: datetime.date) -> None:
    """Erase the identifying fields of one closed case file, keeping what statistics need."""
    Family.objects.filter(pk=family.pk).update(
        ircc_reference=None,
        current_location=None,
        narrative=None,
        medical_needs=None,
        sgbv_notes=None,
        contact_phone=None,
        contact_email=None,
        address=None,
        archived_on=today,
    )
    HouseholdMember.objects.filter(family=family).update(
        given_name=ERASED, family_name=None, date_of_birth=None
    )
    CaseNote.objects.filter(family=family).update(text=ERASED)
    Consent.objects.filter(family=family).update(details=None)
    # History rows hold the old values: keep none of them for an archived file.
    Family.history.filter(id=family.pk).delete()
    HouseholdMember.history.filter(family_id=family.pk).delete()
    CaseNote.history.filter(family_id=family.pk).delete()
    Consent.history.filter(family_id=family.pk).delete()


def access_log_prune(*, today: datetime.date, years: int) -> int:
    """Delete access-log rows older than the retention period; returns how many."""
    cutoff = years_before(today, years)
    deleted, _ = CaseFileAccess.objects.filter(at__date__lt=cutoff).delete()
    return deleted
