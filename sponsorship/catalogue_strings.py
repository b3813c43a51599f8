"""The English of the seeded catalogues, for the translators.

Milestone and review titles live in the database (copied from the catalogue seeded by
`sponsorship/migrations/0002_seed_catalogues.py` when a plan is generated), so makemessages
cannot see them. Listing them here puts them in the .po files; `catalogue_text()` and the
`{{ value|catalogue }}` filter look them up when a page is shown. The database keeps English.

KEEP IN SYNC with MILESTONES and REVIEWS in the migration (a test compares them). A title
staff edit later, or one a group types, is not here and is shown as written.
"""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop

MILESTONE_TITLES = [
    gettext_noop("Notice of Arrival received: final preparations"),
    gettext_noop("Airport reception, temporary housing, seasonal clothing"),
    gettext_noop("Start-up funds and month-1 income support given"),
    gettext_noop("Bank account opened"),
    gettext_noop("Provincial health card applied for; IFHP confirmed"),
    gettext_noop("Social Insurance Number applied for"),
    gettext_noop("Canada Child Benefit applied for"),
    gettext_noop("Children registered in school"),
    gettext_noop("Settlement agency referral; family doctor found"),
    gettext_noop("Language assessment; classes started"),
    gettext_noop("Permanent housing"),
    gettext_noop("Employment plan"),
    gettext_noop("Travel loan repayment plan"),
    gettext_noop("Month-13 transition planning starts"),
    gettext_noop("Provincial social assistance contacted"),
    gettext_noop("One-Year Window closes for non-accompanying family"),
]

MILESTONE_DESCRIPTIONS = [
    gettext_noop("Housing, seasonal clothing and an interpreter ready for arrival."),
    gettext_noop(
        "Meet the family with an interpreter; check the Confirmation of Permanent Residence."
    ),
    gettext_noop("The Interim Federal Health Program bridges the provincial waiting period."),
    gettext_noop("Processing takes up to two months."),
    gettext_noop("LINC or French classes."),
    gettext_noop("RAP practice: within 4-6 weeks."),
    gettext_noop("Employment support and job search plan."),
    gettext_noop("Plan with the family how they will manage without sponsor income support."),
    gettext_noop("In the last month of support."),
]

REVIEW_LABELS = [
    gettext_noop("Month 3 review"),
    gettext_noop("Month 6 review"),
    gettext_noop("Month 9 review"),
    gettext_noop("Review before the end of support"),
]


def catalogue_text(value: str) -> str:
    """`value` in the active language when it is a catalogue text, else `value` unchanged."""
    if not value or not isinstance(value, str):
        return value
    return gettext(value)
