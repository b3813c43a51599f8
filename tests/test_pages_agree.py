"""Every page shows the same support period and the same money for one sponsorship on one day.

For generated sponsorships (arrival dates across month ends and leap days, extensions,
family sizes, payments for some months and not others, held and missed reviews) on a
generated day, this renders the staff sponsorship page, the portal dashboard and income
page, the group report (page and CSV), the staff dashboard, a reminder e-mail and the
evidence PDFs (the pack's summary and the settlement plan), reads the figures out of the
rendered text, and checks that they agree with each other and with the rule written out
plainly here (docs/domain.md "The support period" and "Money"), in-kind gifts on the
start-up line included.
"""

from __future__ import annotations

import calendar
import csv
import datetime
import io
import re
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone, translation
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from core.dates import add_months, shown
from core.roles import PROGRAM_MANAGER
from evidence.pack import summary_pdf
from evidence.plan import plan_content, plan_pdf
from sponsorship.models import Disbursement, Extension, InKindItem, Membership, Reminder
from sponsorship.reminders import reminder_deliver
from tests.factories import (
    HouseholdMemberFactory,
    MembershipFactory,
    SponsorGroupFactory,
    SponsorshipFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db

D = datetime.date
CENT = Decimal("0.01")
YEARLY = {1: 13200, 2: 19700, 3: 20400, 4: 21200, 5: 23700, 6: 25700}
START_UP = {1: 3300, 2: 5100, 3: 6300, 4: 7500, 5: 8600, 6: 9800}
AP_MONTHS = {  # Django's English "N" date format
    "Jan.": 1, "Feb.": 2, "March": 3, "April": 4, "May": 5, "June": 6, "July": 7,
    "Aug.": 8, "Sept.": 9, "Oct.": 10, "Nov.": 11, "Dec.": 12,
}  # fmt: skip
MONTHS = {calendar.month_name[n]: n for n in range(1, 13)}


# --- reading rendered pages -------------------------------------------------------------------


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text_of(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


def money_after(text: str, label: str) -> Decimal:
    found = re.search(re.escape(label) + r":?\s*(-?)\$([\d,]+\.\d\d)", text)
    assert found, f"no amount after {label!r} in {text[:3000]}"
    return Decimal(found.group(1) + found.group(2).replace(",", ""))


def ap_date_after(text: str, label: str) -> D:
    found = re.search(
        "(?i:" + re.escape(label) + r"):?\s*([A-Z][a-z]+\.?) (\d{1,2}), (\d{4})", text
    )
    assert found, f"no date after {label!r}"
    return D(int(found.group(3)), AP_MONTHS[found.group(1)], int(found.group(2)))


def long_date_after(text: str, label: str) -> D:
    found = re.search(
        re.escape(label) + r"\s*(?:[A-Z][a-z]+ )?(\d{1,2}) ([A-Z][a-z]+) (\d{4})", text
    )
    assert found, f"no date after {label!r} in {text}"
    return D(int(found.group(3)), MONTHS[found.group(2)], int(found.group(1)))


def pdf_text(content: bytes) -> str:
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return re.sub(r"\s+", " ", text)


# --- the rule, written out plainly ------------------------------------------------------------


# The kinds, written out from the program rules (not read from sponsorship.kinds): base
# months, the months the government pays, whether the sponsor owes start-up.
KIND_RULES = {
    "psr": (12, set(), True),
    "bvor": (12, set(range(2, 8)), True),
    "jas": (24, set(range(1, 37)), False),
}


def start_up_parts(size: int, kind: str, in_kind_given: Decimal) -> tuple[Decimal, Decimal]:
    """(cash, in kind) of the start-up line: goods stand for at most half of it, HanVoice's
    policy (docs/domain.md "Money"), and none when the group owes no start-up."""
    owes_start_up = KIND_RULES[kind][2]
    line = Decimal(START_UP[min(size, 6)] + 1100 * max(0, size - 6)) if owes_start_up else 0
    in_kind = min(in_kind_given, (Decimal(line) / 2).quantize(CENT, ROUND_HALF_UP))
    return Decimal(line) - in_kind, in_kind


def expected(
    arrival: D,
    extensions: list[int],
    size: int,
    paid: dict[int, Decimal],
    today: D,
    kind: str = "psr",
    in_kind_given: Decimal = Decimal(0),
):
    base, government, owes_start_up = KIND_RULES[kind]
    months = min(36, base + sum(extensions))
    yearly = Decimal(YEARLY[min(size, 6)] + 1600 * max(0, size - 6))
    start_up, start_up_in_kind = start_up_parts(size, kind, in_kind_given)
    monthly = (yearly / 12).quantize(CENT, ROUND_HALF_UP)
    plan = [Decimal(0) if n in government else monthly for n in range(1, months + 1)]
    sponsor_first_year = [n for n in range(1, 13) if n not in government]
    if sponsor_first_year and months >= 12:  # the last of them takes the reconciling cents
        share = (yearly * len(sponsor_first_year) / 12).quantize(CENT, ROUND_HALF_UP)
        plan[sponsor_first_year[-1] - 1] = share - monthly * (len(sponsor_first_year) - 1)
    current = 0
    while current < months and add_months(arrival, current) <= today:
        current += 1
    owed = sum(
        max(Decimal(0), plan[n - 1] - paid.get(n, Decimal(0))) for n in range(1, current + 1)
    )
    return {
        "month_13": add_months(arrival, months),
        "ends": add_months(arrival, months) - datetime.timedelta(days=1),
        "planned_to_date": start_up + sum(plan[:current]),
        "income_to_date": sum(plan[:current]),
        "owed": owed,  # start-up is paid in full in these scenarios
        "planned_total": start_up + sum(plan),
        "paid": start_up + sum(paid.values()),
        "start_up_cash": start_up,
        "start_up_in_kind": start_up_in_kind,
    }


# --- generated sponsorships -------------------------------------------------------------------

EDGE_ARRIVALS = [D(2024, 2, 29), D(2025, 1, 31), D(2025, 3, 31), D(2024, 8, 31), D(2025, 12, 31)]
scenario = st.fixed_dictionaries(
    {
        "arrival": st.one_of(
            st.sampled_from(EDGE_ARRIVALS),
            st.dates(min_value=D(2023, 6, 1), max_value=D(2026, 6, 30)),
        ),
        "after": st.integers(0, 1200),  # days from arrival to "today"
        "extensions": st.lists(st.integers(1, 12), max_size=2),
        "size": st.integers(1, 7),
        "paid_months": st.lists(st.integers(1, 14), max_size=6, unique=True),
        "short_by": st.sampled_from(["0", "0.01", "100"]),
        "held_reviews": st.booleans(),
        "kind": st.sampled_from(["psr", "bvor", "jas"]),
        # Goods given: none, part of the start-up line, more than half of it.
        "in_kind": st.sampled_from(["0", "436.51", "99999.00"]),
    }
)


def _build(data: dict):
    arrival = data["arrival"]
    group = SponsorGroupFactory()
    kind = data.get("kind", "psr")
    base, government, owes_start_up = KIND_RULES[kind]
    s = SponsorshipFactory(
        group=group,
        arrival_date=arrival,
        matched_on=arrival,
        family__vetted_on=arrival,
        kind=kind,
    )
    for _ in range(data["size"] - 1):
        HouseholdMemberFactory(family=s.family)
    pm = StaffFactory(roles=[PROGRAM_MANAGER])
    coordinator = MembershipFactory(group=group, role=Membership.Role.COORDINATOR).user
    now = timezone.now()
    for months in data["extensions"]:
        Extension.objects.create(
            sponsorship=s, months=months, reason="x", status="approved", requested_by=pm,
            decided_by=pm, decided_at=now,
        )  # fmt: skip
    size = data["size"]
    monthly = (Decimal(YEARLY[min(size, 6)] + 1600 * max(0, size - 6)) / 12).quantize(CENT)
    committed = min(36, base + sum(data["extensions"]))
    paid: dict[int, Decimal] = {}
    for month in data["paid_months"]:
        if month > committed or month in government:  # the government pays those
            continue
        amount = monthly - Decimal(data["short_by"])
        paid[month] = amount
        Disbursement.objects.create(
            sponsorship=s, month_number=month, amount=amount, paid_on=arrival, method="cash",
            recorded_by=coordinator,
        )  # fmt: skip
    in_kind_given = Decimal(data.get("in_kind", "0"))
    if in_kind_given:
        InKindItem.objects.create(
            sponsorship=s, description="Bunk bed", quantity=1, estimated_value=in_kind_given,
            recorded_by=coordinator,
        )  # fmt: skip
    if owes_start_up:  # the cash part of the start-up line, paid in full
        Disbursement.objects.create(
            sponsorship=s, kind=Disbursement.Kind.START_UP, month_number=1,
            amount=start_up_parts(size, kind, in_kind_given)[0], paid_on=arrival,
            method="cash", recorded_by=coordinator,
        )  # fmt: skip
    if data["held_reviews"]:
        s.reviews.filter(scheduled_for__lt=arrival + datetime.timedelta(days=400)).update(
            held_on=arrival + datetime.timedelta(days=95), outcome="on_track"
        )
    return s, pm, coordinator, paid


@settings(
    max_examples=12,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: pages are slow
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=scenario)
@example(  # the scenario: two people, day 100, months 1-2 and start-up paid
    data={
        "arrival": D(2024, 2, 29), "after": 100, "extensions": [], "size": 2,
        "paid_months": [1, 2], "short_by": "0", "held_reviews": False, "kind": "psr",
        "in_kind": "0",
    }
)  # fmt: skip
@example(  # a BVOR family in month 4 (government months 2-7), month 1 and start-up paid
    data={
        "arrival": D(2024, 2, 29), "after": 100, "extensions": [], "size": 2,
        "paid_months": [1, 2, 3], "short_by": "0", "held_reviews": False, "kind": "bvor",
        "in_kind": "436.51",
    }
)  # fmt: skip
@example(  # a JAS family in month 14 of 24: nothing for the sponsor to pay
    data={
        "arrival": D(2025, 1, 31), "after": 400, "extensions": [3], "size": 3,
        "paid_months": [], "short_by": "0", "held_reviews": True, "kind": "jas",
        "in_kind": "99999.00",
    }
)  # fmt: skip
@example(  # goods worth more than half of the start-up line: half of it stays cash
    data={
        "arrival": D(2025, 1, 31), "after": 40, "extensions": [], "size": 3,
        "paid_months": [1], "short_by": "0", "held_reviews": False, "kind": "psr",
        "in_kind": "99999.00",
    }
)  # fmt: skip
def test_every_page_shows_the_same_period_and_money(client, data, settings, tmp_path):
    settings.STORAGES = {  # the settlement plan's PDF is kept like a document
        **settings.STORAGES,
        "documents": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "documents")},
        },
    }
    today = data["arrival"] + datetime.timedelta(days=data["after"])
    noon = datetime.datetime.combine(
        today, datetime.time(12), tzinfo=timezone.get_current_timezone()
    )
    with time_machine.travel(noon, tick=False), transaction.atomic():
        _check(client, data, today)
        transaction.set_rollback(True)  # each example alone in the database


def _check(client, data: dict, today: D) -> None:
    s, pm, coordinator, paid = _build(data)
    want = expected(
        data["arrival"], data["extensions"], data["size"], paid, today, data.get("kind", "psr"),
        Decimal(data.get("in_kind", "0")),
    )  # fmt: skip
    has_in_kind = want["start_up_in_kind"] > 0

    # The staff sponsorship page.
    client.force_login(pm)
    admin = text_of(client.get(f"/admin/sponsorship/sponsorship/{s.pk}/change/").content.decode())
    assert ap_date_after(admin, "month 13 begins") == want["month_13"]
    assert ap_date_after(admin, "support ends on") == want["ends"]
    admin_money = {
        label: money_after(admin, label)
        for label in ("Planned to date", "Paid", "Owed this month", "Planned in all")
    }
    behind = money_after(admin, "Behind plan to date")
    income_paid = Decimal(
        re.search(r"Income support planned / paid \$[\d,.]+ / \$([\d,.]+)", admin)
        .group(1)
        .replace(",", "")
    )
    start_up = re.search(r"Start-up planned / paid \$([\d,.]+) / \$([\d,.]+)", admin)
    admin_start_up = {
        "cash": Decimal(start_up.group(1).replace(",", "")),
        "in kind": money_after(admin, "Start-up in kind") if has_in_kind else Decimal(0),
    }
    assert ("Start-up in kind" in admin) == has_in_kind

    # The staff dashboard: month 13 on the timeline; "behind plan" among the risks.
    dashboard = client.get("/admin/").content.decode()
    with translation.override("en"):
        assert f"Month 13: {shown(want['month_13'])}" in dashboard
    risk = re.search(re.escape(s.group.name) + r"</a>: ([^<]*)</li>", dashboard)
    assert ("income support behind plan" in (risk.group(1) if risk else "")) == (behind > 0)

    # The group report, page and CSV, over arrival → today for this group.
    query = {
        "date_from": data["arrival"].isoformat(),
        "date_to": today.isoformat(),
        "group": s.group_id,
    }
    report = text_of(client.get("/admin/reports/groups/", query).content.decode())
    rows = list(
        csv.reader(
            io.StringIO(
                client.get("/admin/reports/groups/", {**query, "format": "csv"}).content.decode()
            )
        )
    )
    header = next(r for r in rows if {"Sponsor group", "Income support planned"} <= set(r))
    row = rows[rows.index(header) + 1]
    csv_planned = Decimal(row[header.index("Income support planned")].strip("$").replace(",", ""))
    csv_paid = Decimal(row[header.index("Income support paid")].strip("$").replace(",", ""))
    csv_in_kind = Decimal(row[header.index("Start-up in kind")].strip("$").replace(",", ""))
    assert csv_in_kind == admin_start_up["in kind"]
    assert money_after(report, "Income support planned") == csv_planned
    assert csv_planned == want["income_to_date"]
    assert csv_paid == income_paid

    # The portal, as the group's coordinator.
    client.force_login(coordinator)
    income = text_of(client.get(f"/portal/{s.public_id}/income-support/").content.decode())
    portal_home = text_of(client.get("/portal/").content.decode())
    for label in ("Planned to date", "Paid", "Owed this month", "Planned in all"):
        assert money_after(income, label) == admin_money[label], label
    for label in ("Planned to date", "Paid", "Owed this month"):
        assert money_after(portal_home, label) == admin_money[label], label
    if has_in_kind:
        assert money_after(income, "Start-up in cash") == admin_start_up["cash"]
        assert money_after(income, "Start-up in kind") == admin_start_up["in kind"]
    elif KIND_RULES[data.get("kind", "psr")][2]:
        assert money_after(income, "Start-up") == admin_start_up["cash"]

    # The evidence PDFs: the pack's summary and the settlement plan.
    summary = pdf_text(summary_pdf(s, []))
    assert money_after(summary, "Start-up in cash") == admin_start_up["cash"]
    if has_in_kind:
        assert money_after(summary, "Start-up in kind") == admin_start_up["in kind"]
    else:
        assert "Start-up in kind" not in summary
    plan = pdf_text(plan_pdf(plan_content(s)))
    assert money_after(plan, "in-kind gifts count for") == admin_start_up["in kind"]
    assert money_after(plan, "Start-up") == admin_start_up["cash"] + admin_start_up["in kind"]
    if today < want["ends"]:
        assert ap_date_after(portal_home, "Support ends on") == want["ends"]
        assert ap_date_after(portal_home, "Month 13 begins on") == want["month_13"]

    # A reminder e-mail about the end of support.
    kind = Reminder.Kind.MONTH_13 if today >= want["month_13"] else Reminder.Kind.PERIOD_ENDING
    reminder = Reminder.objects.create(
        kind=kind,
        subject_key=f"period:{s.pk}:{want['month_13'].isoformat()}",
        due_on=today,
        recipient=coordinator,
        group=s.group,
        sponsorship=s,
    )
    mail.outbox.clear()
    assert reminder_deliver(reminder_id=reminder.pk) == "sent"
    body = mail.outbox[-1].body.replace("\n", " ")
    if kind == Reminder.Kind.PERIOD_ENDING:
        assert long_date_after(body, "committed support on") == want["ends"]
        assert long_date_after(body, "begins on") == want["month_13"]
    else:
        assert long_date_after(body, "Month 13 begins today (") == want["month_13"]
    assert (
        money_after(body, "Income support owed to the family today")
        == admin_money["Owed this month"]
    )

    # And all of them say what the rule says.
    assert admin_money == {
        "Planned to date": want["planned_to_date"],
        "Paid": want["paid"],
        "Owed this month": want["owed"],
        "Planned in all": want["planned_total"],
    }
    assert admin_start_up == {"cash": want["start_up_cash"], "in kind": want["start_up_in_kind"]}
