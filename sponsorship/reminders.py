"""Reminders: the sweep that writes what is due as rows, and the delivery that claims and
sends each row exactly once (STYLE.md rule 13)."""

from __future__ import annotations

from sponsorship.models import CheckIn


def notify_urgent_concern(*, checkin: CheckIn) -> None:
    """Tell the family's case worker at once about an urgent concern from a check-in.

    Called by the portal inside the check-in's transaction; delivery is queued on commit.
    """
