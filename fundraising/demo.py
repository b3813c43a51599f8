"""Fictional demo data for the campaign (called by `manage.py seed_demo`)."""


def seed() -> None:
    """Idempotent: running it twice changes nothing."""
