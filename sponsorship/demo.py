"""Fictional demo data for families and sponsorships (called by `manage.py seed_demo`)."""


def seed() -> None:
    """Idempotent: running it twice changes nothing."""
