"""Staff admin for sponsor groups, sponsorships, plans and reviews."""

from sponsorship import reminders_admin  # noqa: F401  (reminder admin lives in its own module)

from sponsorship import portal_admin  # noqa: E402,F401  # isort: skip (staff invite members)
