"""Reads of the case file for staff pages and the (later) dashboard: set-based queries."""

from __future__ import annotations

import datetime

from django.db.models import Count

from families.models import Consent, Family


def families_by_status() -> dict[str, int]:
    """Every status with its number of families (zero included), in lifecycle order."""
    counts = dict(Family.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return {status: counts.get(status, 0) for status in Family.Status.values}


def consented_topics(family: Family, on: datetime.date | None = None) -> set[str]:
    """What the family currently agrees its sponsor group may see (sharing follows consent)."""
    return set(
        Consent.objects.active(on)
        .filter(family=family, audience=Consent.Audience.SPONSOR_GROUP)
        .values_list("topic", flat=True)
    )
