"""Writes to the case file: each service sets its transaction, validates, says why it refuses."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from families.models import CaseCodeSequence, Family


def _next_case_code(year: int) -> str:
    """NK-<year>-<NNN>: the counter row is locked, so concurrent creations never share a code
    and a code is never reused (the counter only goes up)."""
    sequence, _ = CaseCodeSequence.objects.select_for_update().get_or_create(year=year)
    sequence.last_number += 1
    sequence.save(update_fields=["last_number"])
    return f"NK-{year}-{sequence.last_number:03d}"


@transaction.atomic
def family_create(**fields) -> Family:
    """Register a referred family with a fresh case code (other fields as keyword arguments)."""
    family = Family(**fields)
    family.case_code = _next_case_code(timezone.localdate().year)
    family.full_clean()
    family.save()
    return family
