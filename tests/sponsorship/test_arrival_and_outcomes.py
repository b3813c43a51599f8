"""Before arrival (the expected arrival and its history), confirming the arrival, and the two
outcomes that are not a normal end: default and breakdown."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from config.reports.program import program_report
from core.dates import add_months
from families.models import Family
from sponsorship import services
from sponsorship.models import ArrivalEstimate, Milestone, Sponsorship
from sponsorship.reminders import reminder_sweep
from tests.factories import SponsorGroupFactory, SponsorshipFactory

pytestmark = pytest.mark.django_db

NAT = ArrivalEstimate.Source.NAT
ESTIMATE = ArrivalEstimate.Source.ESTIMATE


def _today() -> datetime.date:
    return timezone.localdate()


def _days(n: int) -> datetime.date:
    return _today() + datetime.timedelta(days=n)


@pytest.fixture
def matched(group, case_worker):
    """Our group's sponsorship of a family that has not landed yet."""
    s = SponsorshipFactory(group=group, matched_on=_days(-20))
    s.family.case_worker = case_worker
    s.family.save()
    return s


def _pre_arrival(s: Sponsorship) -> Milestone:
    return s.milestones.get(template__offset_days=-14)


# --- the expected arrival ----------------------------------------------------------------------


def test_a_nat_schedules_the_pre_arrival_items_and_books_the_travel(matched, case_worker):
    services.sponsorship_set_expected_arrival(
        sponsorship=matched,
        expected_on=_days(30),
        source=NAT,
        nat_received_on=_today(),
        recorded_by=case_worker,
    )
    matched.refresh_from_db()
    matched.family.refresh_from_db()
    assert matched.expected_arrival_on == _days(30)
    assert matched.family.status == Family.Status.TRAVEL
    assert _pre_arrival(matched).due_on == _days(16)
    # Only the items before arrival exist: day 0 is not known yet.
    assert set(matched.milestones.values_list("template__offset_days", flat=True)) == {-14}
    assert matched.current_month() is None and matched.support_ends_on is None


def test_a_flight_delayed_twice_moves_the_dates_twice_and_keeps_the_history(matched, case_worker):
    for day, note in ((30, ""), (37, "flight delayed"), (45, "delayed again")):
        services.sponsorship_set_expected_arrival(
            sponsorship=matched,
            expected_on=_days(day),
            source=ESTIMATE,
            note=note,
            recorded_by=case_worker,
        )
    assert _pre_arrival(matched).due_on == _days(31)
    assert list(matched.arrival_estimates.values_list("expected_on", flat=True)) == [
        _days(45),
        _days(37),
        _days(30),
    ]
    assert matched.milestones.count() == 1  # moved, never duplicated


def test_a_pre_arrival_item_is_never_overdue_before_its_date_and_is_reminded(
    matched, case_worker, coordinator
):
    services.sponsorship_set_expected_arrival(
        sponsorship=matched,
        expected_on=_days(21),
        source=NAT,
        nat_received_on=_today(),
        recorded_by=case_worker,
    )
    item = _pre_arrival(matched)
    assert item.due_on == _days(7)
    assert not Milestone.objects.overdue(_today()).filter(pk=item.pk).exists()
    # The "due soon" reminder fires 7 days before, like any other item.
    reminder_sweep(today=_today())
    assert matched.reminders.filter(kind="milestone_due", milestone=item).exists()
    assert not matched.reminders.filter(kind="milestone_overdue").exists()


def test_a_nat_days_before_the_flight_schedules_the_items_today_not_overdue(matched, case_worker):
    services.sponsorship_set_expected_arrival(
        sponsorship=matched,
        expected_on=_days(8),
        source=NAT,
        nat_received_on=_today(),
        recorded_by=case_worker,
    )
    assert _pre_arrival(matched).due_on == _today()
    assert not Milestone.objects.overdue(_today()).exists()


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({"expected_on": -1, "source": ESTIMATE}, "expected_on", "in the past"),
        ({"expected_on": 400, "source": ESTIMATE}, "expected_on", "more than a year ahead"),
        ({"expected_on": 20, "source": NAT}, "nat_received_on", "Notice of Arrival was received"),
        (
            {"expected_on": 20, "source": NAT, "nat_received_on": 1},
            "nat_received_on",
            "in the future",
        ),
        (
            {"expected_on": 20, "source": ESTIMATE, "nat_received_on": 0},
            "nat_received_on",
            "An estimate has no Notice of Arrival date",
        ),
    ],
)
def test_bad_expected_arrivals_are_refused_next_to_the_field(
    matched, case_worker, kwargs, field, message
):
    args = {
        "expected_on": _days(kwargs["expected_on"]),
        "source": kwargs["source"],
        "nat_received_on": (
            _days(kwargs["nat_received_on"]) if "nat_received_on" in kwargs else None
        ),
    }
    with pytest.raises(ValidationError) as refused:
        services.sponsorship_set_expected_arrival(
            sponsorship=matched, recorded_by=case_worker, **args
        )
    assert message in " ".join(refused.value.message_dict[field])
    assert not ArrivalEstimate.objects.exists() and not matched.milestones.exists()


def test_the_expected_arrival_cannot_change_once_the_arrival_is_confirmed(sponsorship, case_worker):
    with pytest.raises(ValidationError, match="already confirmed"):
        services.sponsorship_set_expected_arrival(
            sponsorship=sponsorship,
            expected_on=_days(5),
            source=ESTIMATE,
            recorded_by=case_worker,
        )


# --- confirming the arrival --------------------------------------------------------------------


def test_the_actual_arrival_sets_day_0_and_the_plan_follows_it(matched, case_worker):
    services.sponsorship_set_expected_arrival(
        sponsorship=matched, expected_on=_days(10), source=ESTIMATE, recorded_by=case_worker
    )
    ArrivalEstimate.objects.update(expected_on=_days(-3))  # the family landed 3 days ago...
    actual = _days(-5)  # ...earlier than expected
    services.sponsorship_record_arrival(
        sponsorship=matched, arrival_date=actual, recorded_by=case_worker
    )
    matched.refresh_from_db()
    assert matched.arrival_date == actual and matched.current_month(_today()) == 1
    bank = matched.milestones.get(template__offset_days=3)
    assert bank.due_on == actual + datetime.timedelta(days=3)
    assert matched.reviews.order_by("scheduled_for").first().scheduled_for == add_months(actual, 3)
    assert matched.milestones.filter(template__offset_days=-14).count() == 1  # not re-created


def test_an_arrival_without_an_expected_date_creates_nothing_already_overdue(matched, case_worker):
    services.sponsorship_record_arrival(
        sponsorship=matched, arrival_date=_today(), recorded_by=case_worker
    )
    assert not Milestone.objects.overdue(_today()).exists()
    assert not matched.milestones.filter(template__offset_days__lt=0).exists()


def test_an_arrival_more_than_30_days_before_the_expected_date_is_refused(matched, case_worker):
    services.sponsorship_set_expected_arrival(
        sponsorship=matched, expected_on=_days(40), source=ESTIMATE, recorded_by=case_worker
    )
    with pytest.raises(ValidationError) as refused:
        services.sponsorship_record_arrival(
            sponsorship=matched, arrival_date=_days(-1), recorded_by=case_worker
        )
    assert "more than 30 days before" in refused.value.message_dict["arrival_date"][0]
    matched.refresh_from_db()
    assert matched.arrival_date is None


# --- default and breakdown ---------------------------------------------------------------------


def test_default_is_its_own_outcome_with_its_date_and_reason(sponsorship, case_worker):
    services.sponsorship_end(
        sponsorship=sponsorship,
        outcome=Sponsorship.Outcome.DEFAULT,
        ended_by=case_worker,
        reason="No proof of monthly payments could be shown.",
        ended_on=_today(),
    )
    sponsorship.refresh_from_db()
    assert (sponsorship.outcome, sponsorship.ended_on) == ("default", _today())
    assert sponsorship.end_reason.startswith("No proof")


def test_a_breakdown_needs_its_workflow_not_a_plain_end(sponsorship, case_worker):
    with pytest.raises(ValidationError, match="Record a breakdown"):
        services.sponsorship_end(
            sponsorship=sponsorship,
            outcome=Sponsorship.Outcome.BREAKDOWN,
            ended_by=case_worker,
            reason="x",
        )


def test_a_breakdown_to_government_support_closes_with_continuity_items(sponsorship, case_worker):
    carries_on = services.sponsorship_record_breakdown(
        sponsorship=sponsorship,
        ircc_notified_on=_days(-2),
        resolution=Sponsorship.BreakdownResolution.GOVERNMENT,
        reason="The group dissolved.",
        recorded_by=case_worker,
    )
    sponsorship.refresh_from_db()
    assert carries_on == sponsorship
    assert (sponsorship.outcome, sponsorship.ircc_notified_on) == ("breakdown", _days(-2))
    assert sponsorship.family.status == Family.Status.CLOSED
    continuity = sponsorship.milestones.filter(template__isnull=True)
    assert continuity.count() == 4
    assert continuity.order_by("due_on").first().due_on == _today()


def test_a_breakdown_transfer_continues_the_same_period_with_the_new_group(
    sponsorship, case_worker
):
    open_before = sponsorship.milestones.open().count()
    new_group = SponsorGroupFactory(name="Second Circle")
    carries_on = services.sponsorship_record_breakdown(
        sponsorship=sponsorship,
        ircc_notified_on=_today(),
        resolution=Sponsorship.BreakdownResolution.TRANSFER,
        new_group=new_group,
        reason="The family moved to another city.",
        recorded_by=case_worker,
    )
    assert carries_on.group == new_group and carries_on.continues == sponsorship
    assert carries_on.arrival_date == sponsorship.arrival_date
    assert carries_on.current_month() == sponsorship.current_month()  # the same month N
    assert carries_on.is_active and carries_on.family.status == Family.Status.ARRIVED
    # Open plan items move to the new group, with the four continuity items.
    assert carries_on.milestones.open().count() == open_before + 4
    assert not sponsorship.milestones.open().exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"ircc_notified_on": 3}, "ircc_notified_on"),
        ({"resolution": "nowhere"}, "resolution"),
        ({"reason": " "}, "reason"),
        ({"resolution": "transfer"}, "new_group"),
    ],
)
def test_bad_breakdowns_are_refused_next_to_the_field(sponsorship, case_worker, kwargs, field):
    args = {
        "ircc_notified_on": _today(),
        "resolution": Sponsorship.BreakdownResolution.OTHER,
        "reason": "Why.",
    } | kwargs
    if isinstance(args["ircc_notified_on"], int):
        args["ircc_notified_on"] = _days(args["ircc_notified_on"])
    with pytest.raises(ValidationError) as refused:
        services.sponsorship_record_breakdown(
            sponsorship=sponsorship, recorded_by=case_worker, **args
        )
    assert field in refused.value.message_dict
    sponsorship.refresh_from_db()
    assert sponsorship.is_active and not sponsorship.milestones.filter(template=None).exists()


# --- what the group and staff see -------------------------------------------------------------


def test_the_portal_says_arriving_in_n_days_with_what_to_prepare(
    client, coordinator, matched, case_worker
):
    services.sponsorship_set_expected_arrival(
        sponsorship=matched,
        expected_on=_days(12),
        source=NAT,
        nat_received_on=_today(),
        recorded_by=case_worker,
    )
    client.force_login(coordinator)
    for url in (
        reverse("portal:dashboard"),
        reverse("portal:sponsorship", args=[matched.public_id]),
    ):
        html = client.get(url).content.decode()
        assert "Arriving in 12 days" in html
        assert "Notice of Arrival received: final preparations" in html
    html = client.get(reverse("portal:sponsorship", args=[matched.public_id])).content.decode()
    assert "What to prepare before the family lands" in html
    assert "Housing, seasonal clothing and an interpreter ready for arrival." in html


def test_the_admin_action_sets_the_expected_arrival_and_refuses_next_to_the_field(
    client, case_worker, matched
):
    client.force_login(case_worker)
    url = reverse("admin:sponsorship_sponsorship_changelist")
    data = {
        "action": "set_expected_arrival",
        "_selected_action": [matched.pk],
        "apply": "1",
        "source": "estimate",
        "expected_on": _days(-3).isoformat(),
    }
    response = client.post(url, data)
    html = response.content.decode()
    assert response.status_code == 200 and "is in the past" in html
    assert "errornote" in html and not ArrivalEstimate.objects.exists()
    response = client.post(url, data | {"expected_on": _days(25).isoformat()})
    assert response.status_code == 302
    assert matched.arrival_estimates.get().expected_on == _days(25)
    page = client.get(reverse("admin:sponsorship_sponsorship_change", args=[matched.pk]))
    assert "arriving in 25 days" in page.content.decode()


def test_the_program_report_counts_default_and_breakdowns_by_what_happened(
    sponsorship, other_sponsorship, case_worker
):
    services.sponsorship_end(
        sponsorship=sponsorship,
        outcome=Sponsorship.Outcome.DEFAULT,
        ended_by=case_worker,
        reason="No proof of payments.",
    )
    services.sponsorship_record_breakdown(
        sponsorship=other_sponsorship,
        ircc_notified_on=_today(),
        resolution=Sponsorship.BreakdownResolution.GOVERNMENT,
        reason="The group dissolved.",
        recorded_by=case_worker,
    )
    report = program_report(date_from=_days(-30), date_to=_today())
    tables = {t.title: {str(r[0]): r[1] for r in t.rows} for t in report.tables}
    ended = tables["Sponsorships ended in the period, by outcome"]
    assert (ended["Default"], ended["Breakdown"]) == (1, 1)
    after = tables["Breakdowns in the period, by what happened next"]
    assert after["Government income support"] == 1
    assert after["Transferred to another sponsor group"] == 0
