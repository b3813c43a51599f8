"""Template filters for durations (the sign-in lockout page says how long to wait)."""

from __future__ import annotations

import datetime

from django import template

register = template.Library()


@register.filter
def minutes(value: datetime.timedelta | None) -> int:
    """Whole minutes of a timedelta, rounded up (a 90-second wait reads "2 minutes")."""
    if not value:
        return 0
    return -(-int(value.total_seconds()) // 60)
