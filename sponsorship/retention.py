"""Retention for the sponsorship side of an archived case file: erase free-text notes that
may identify the family (reviews, check-ins, HanVoice's monitoring contacts), keep dates,
scores, amounts and outcomes."""

from __future__ import annotations

from django.db import transaction

from families.models import Family
from families.retention import ERASED
from sponsorship import portal_cache
from sponsorship.models import CheckIn, MonitoringContact, Review


@transaction.atomic
def sponsorship_records_erase(*, family: Family) -> None:
    # family_archive (families/) erased the names with update(): no signal told the portal.
    portal_cache.families_changed([family.pk])
    Review.objects.filter(sponsorship__family=family).update(notes=None, group_input=ERASED)
    Review.history.filter(sponsorship__family=family).delete()
    CheckIn.objects.filter(sponsorship__family=family).update(
        summary=None, concern=None, who=ERASED
    )
    # A described concern stays marked as one (a constraint), its words do not.
    contacts = MonitoringContact.objects.filter(sponsorship__family=family)
    contacts.update(summary=None)
    contacts.filter(concern__isnull=False).update(concern=ERASED)
