"""Seed the catalogues staff edit later: settlement milestones (docs/domain.md),
the review schedule, the RSTP cost table (2018, unverified: data, not code) and reminder rules."""

from decimal import Decimal

from django.db import migrations

# (day, title, description, only with children, basis) (docs/domain.md).
MILESTONES = [
    (-14, "Notice of Arrival received: final preparations",
     "Housing, seasonal clothing and an interpreter ready for arrival.", False, "S: NAT ≥ 10 working days before"),
    (0, "Airport reception, temporary housing, seasonal clothing",
     "Meet the family with an interpreter; check the Confirmation of Permanent Residence.", False, "S"),
    (1, "Start-up funds and month-1 income support given", "", False, "A"),
    (3, "Bank account opened", "", False, "C"),
    (7, "Provincial health card applied for; IFHP confirmed",
     "The Interim Federal Health Program bridges the provincial waiting period.", False, "C"),
    (7, "Social Insurance Number applied for", "", False, "C"),
    (7, "Canada Child Benefit applied for", "Processing takes up to two months.", True, "C"),
    (14, "Children registered in school", "", True, "C"),
    (30, "Settlement agency referral; family doctor found", "", False, "C"),
    (30, "Language assessment; classes started", "LINC or French classes.", False, "C"),
    (42, "Permanent housing", "RAP practice: within 4-6 weeks.", False, "A"),
    (180, "Employment plan", "Employment support and job search plan.", False, "C"),
    (180, "Travel loan repayment plan", "", False, "C"),
    (270, "Month-13 transition planning starts",
     "Plan with the family how they will manage without sponsor income support.", False, "S: RSTP"),
    (335, "Provincial social assistance contacted", "In the last month of support.", False, "C"),
    (365, "One-Year Window closes for non-accompanying family", "", False, "S"),
]

REVIEWS = [
    ("Month 3 review", 3, None),
    ("Month 6 review", 6, None),
    ("Month 9 review", 9, None),
    ("Review before the end of support", None, 30),
]

COST_TABLE = [  # family size, 12-month income support, start-up
    (1, "13200", "3300"), (2, "19700", "5100"), (3, "20400", "6300"),
    (4, "21200", "7500"), (5, "23700", "8600"), (6, "25700", "9800"),
]
COST_EXTRA = ("1600", "1100")
COST_SOURCE = "RSTP Sponsorship Cost Table, 1 May 2018 (unverified whether newer exists)"

REMINDER_RULES = [  # kind, days, repeat every, max count, recipients
    ("milestone_due", [-7], None, 1, ["coordinator"]),
    ("milestone_overdue", [1], 7, 4, ["coordinator", "case_worker"]),
    ("review_due", [-14], None, 1, ["coordinator", "case_worker"]),
    ("review_overdue", [7], None, 1, ["case_worker", "program_managers"]),
    ("period_ending", [-90, -30], None, 2, ["coordinator", "case_worker"]),
    ("month_13", [0], None, 1, ["coordinator", "case_worker"]),
    ("extension_pending", [3], None, 1, ["program_managers"]),
    ("urgent_concern", [0], None, 1, ["case_worker"]),
    ("weekly_digest", [0], None, 1, ["case_worker", "program_managers"]),
]


def seed(apps, schema_editor):
    MilestoneTemplate = apps.get_model("sponsorship", "MilestoneTemplate")
    ReviewTemplate = apps.get_model("sponsorship", "ReviewTemplate")
    CostTableEntry = apps.get_model("sponsorship", "CostTableEntry")
    ReminderRule = apps.get_model("sponsorship", "ReminderRule")
    for day, title, description, children, basis in MILESTONES:
        MilestoneTemplate.objects.get_or_create(
            title=title,
            defaults={"offset_days": day, "description": description,
                      "only_with_children": children, "basis": basis},
        )
    for label, month, before_end in REVIEWS:
        ReviewTemplate.objects.get_or_create(
            label=label, defaults={"at_month": month, "days_before_period_end": before_end}
        )
    for size, income, start_up in COST_TABLE:
        CostTableEntry.objects.get_or_create(
            family_size=size,
            defaults={"income_support": Decimal(income), "start_up": Decimal(start_up),
                      "source": COST_SOURCE},
        )
    CostTableEntry.objects.get_or_create(
        per_extra_person=True,
        defaults={"income_support": Decimal(COST_EXTRA[0]), "start_up": Decimal(COST_EXTRA[1]),
                  "source": COST_SOURCE},
    )
    for kind, days, repeat, max_count, recipients in REMINDER_RULES:
        ReminderRule.objects.get_or_create(
            kind=kind,
            defaults={"days": days, "repeat_every_days": repeat, "max_count": max_count,
                      "recipients": recipients},
        )


class Migration(migrations.Migration):
    dependencies = [("sponsorship", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
