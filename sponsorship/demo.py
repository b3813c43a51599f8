"""Fictional demo data for families and sponsorships (called by `manage.py seed_demo`).

The five-family pilot in different stages (one of them with its flight expected next
month), a BVOR and a JAS sponsorship, three sponsor groups with members, and a demo user in
each staff role. Every name is obviously fictional ("…demo"). Everything goes through
the services, so the demo data obeys the same rules as real data. Dates are relative to
today, so the stages stay true whenever it runs.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from core.dates import add_months
from core.roles import CASE_WORKER, FUNDRAISING, PROGRAM_MANAGER
from families import services as family_services
from families.models import CaseNote, Consent, Family, HouseholdMember
from sponsorship import services
from sponsorship.models import (
    ArrivalEstimate,
    CheckIn,
    Disbursement,
    Membership,
    SponsorGroup,
    Sponsorship,
)

DEMO_PASSWORD = "demo-password-2026"
DEMO_DOMAIN = "demo.hanvoice.test"

STAFF = [  # e-mail local part, first name, last name, role
    ("manager", "Pat", "Managerdemo", PROGRAM_MANAGER),
    ("caseworker", "Casey", "Workerdemo", CASE_WORKER),
    ("fundraising", "Frankie", "Fundsdemo", FUNDRAISING),
]

GROUPS = [  # name, kind, community, commitment
    ("Maplewood Demo Circle", SponsorGroup.Kind.CONSTITUENT, "Toronto", "32000"),
    ("Harbourside Demo Five", SponsorGroup.Kind.GROUP_OF_FIVE, "Vancouver", "28700"),
    ("Prairie Demo Community Sponsors", SponsorGroup.Kind.COMMUNITY, "Winnipeg", "35500"),
]
GROUP_ROLES = [
    ("coordinator", "Cora", Membership.Role.COORDINATOR),
    ("treasurer", "Tessa", Membership.Role.TREASURER),
    ("member", "Mona", Membership.Role.MEMBER),
]


def _user(local: str, first: str, last: str, *, staff: bool = False, role: str | None = None):
    email = f"{local}@{DEMO_DOMAIN}"
    user, created = get_user_model().objects.get_or_create(
        username=email,
        defaults={"email": email, "first_name": first, "last_name": last, "is_staff": staff},
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def _groups(manager) -> list[SponsorGroup]:
    groups = []
    for name, kind, community, commitment in GROUPS:
        group = SponsorGroup.objects.filter(name=name).first()
        if group is None:
            group = SponsorGroup.objects.create(
                name=name, kind=kind, community=community, financial_commitment=Decimal(commitment)
            )
            services.sponsor_group_transition(
                group=group, to_status=SponsorGroup.Status.SCREENING, changed_by=manager
            )
            services.sponsor_group_approve(
                group=group,
                approved_by=manager,
                plan_approved_on=timezone.localdate() - datetime.timedelta(days=400),
            )
        slug = name.split()[0].lower()
        for local, first, role in GROUP_ROLES:
            user = _user(f"{local}.{slug}", first, f"{name.split()[0]}demo")
            Membership.objects.get_or_create(user=user, group=group, defaults={"role": role})
        groups.append(group)
    return groups


def _family(case_worker, manager, principal: str, *, children: list[str], **fields) -> Family:
    family = family_services.family_create(created_by=manager, case_worker=case_worker, **fields)
    given, surname = principal.split()
    family_services.household_member_add(
        family=family,
        given_name=given,
        family_name=surname,
        date_of_birth=datetime.date(1989, 3, 14),
        relationship=HouseholdMember.Relationship.PRINCIPAL,
        is_principal_applicant=True,
    )
    for i, child in enumerate(children):
        family_services.household_member_add(
            family=family,
            given_name=child,
            family_name=surname,
            date_of_birth=datetime.date(2014 + 2 * i, 6, 1),
            relationship=HouseholdMember.Relationship.CHILD,
        )
    return family


def _approved(family: Family, manager, vetted_days_ago: int, today: datetime.date) -> None:
    family_services.family_start_vetting(family=family, changed_by=manager)
    family_services.family_approve(
        family=family,
        changed_by=manager,
        ircc_reference=f"DEMO-IRCC-{family.pk:04d}",
        vetted_on=today - datetime.timedelta(days=vetted_days_ago),
    )


def _arrived(
    family: Family,
    group: SponsorGroup,
    manager,
    *,
    days_ago: int,
    today: datetime.date,
    kind: str = Sponsorship.Kind.PSR,
) -> Sponsorship:
    arrival = today - datetime.timedelta(days=days_ago)
    _approved(family, manager, days_ago + 60, today)
    sponsorship = services.sponsorship_match(
        family=family,
        group=group,
        matched_by=manager,
        matched_on=arrival - datetime.timedelta(days=30),
        kind=kind,
    )
    family_services.family_book_travel(family=family, changed_by=manager)
    services.sponsorship_record_arrival(
        sponsorship=sponsorship, arrival_date=arrival, recorded_by=manager
    )
    sponsorship.refresh_from_db()
    return sponsorship


def _arrival_of(sponsorship: Sponsorship) -> datetime.date:
    """The demo pays and records consent only for families that have landed."""
    if sponsorship.arrival_date is None:
        raise ValueError(f"{sponsorship.family.case_code} has not arrived")
    return sponsorship.arrival_date


def _pay(
    sponsorship: Sponsorship, treasurer, months: int, monthly: str, start_up: str = ""
) -> None:
    """Start-up (when given) and months 1..`months` of income support."""
    arrival = _arrival_of(sponsorship)
    if start_up:
        Disbursement.objects.create(
            sponsorship=sponsorship,
            kind=Disbursement.Kind.START_UP,
            month_number=1,
            amount=Decimal(start_up),
            paid_on=arrival,
            method=Disbursement.Method.CHEQUE,
            recorded_by=treasurer,
        )
    for month in range(1, months + 1):
        Disbursement.objects.create(
            sponsorship=sponsorship,
            month_number=month,
            amount=Decimal(monthly),
            paid_on=arrival + datetime.timedelta(days=30 * (month - 1)),
            method=Disbursement.Method.DIRECT_DEPOSIT,
            recorded_by=treasurer,
        )


def _complete_plan_until(
    sponsorship: Sponsorship, user, today: datetime.date, *, leave_open: str = ""
) -> None:
    """Mark past milestones done (the portal's job in real life), except `leave_open`."""
    for milestone in sponsorship.milestones.filter(due_on__lt=today, completed_on__isnull=True):
        if leave_open and milestone.title.startswith(leave_open):
            continue
        milestone.completed_on = milestone.due_on
        milestone.completed_by = user
        milestone.save(update_fields=["completed_on", "completed_by"])
    for review in sponsorship.reviews.filter(scheduled_for__lt=today, held_on__isnull=True):
        services.review_record(
            review=review,
            held_on=review.scheduled_for,
            reviewer=user,
            outcome="on_track",
            notes="Fictional demo review.",
            income=3,
            housing=4,
            language=2,
            employment=2,
            health=4,
            social=3,
        )


def _families(staff: dict, groups: list[SponsorGroup]) -> None:
    manager, case_worker = staff[PROGRAM_MANAGER], staff[CASE_WORKER]
    today = timezone.localdate()
    common = {"languages": "Korean", "interpreter_needed": True}

    _family(
        case_worker,
        manager,
        "Testa Kimdemo",
        children=["Junia Kimdemo"],
        current_location="Bangkok (fictional)",
        community="Toronto",
        sgbv_survivor=True,
        single_parent=True,
        narrative="Fictional demo narrative: referred to the pilot this month.",
        **common,
    )

    vetting = _family(
        case_worker,
        manager,
        "Demi Leedemo",
        children=[],
        current_location="Bangkok (fictional)",
        community="Vancouver",
        medical_priority=True,
        **common,
    )
    family_services.family_start_vetting(
        family=vetting, changed_by=case_worker, reason="Sent to IRCC (demo)."
    )

    matched = _family(
        case_worker,
        manager,
        "Fakey Parkdemo",
        children=["Tiny Parkdemo", "Wee Parkdemo"],
        current_location="Bangkok (fictional)",
        community="Toronto",
        sgbv_survivor=True,
        **common,
    )
    _approved(matched, manager, 40, today)
    expected = services.sponsorship_match(
        family=matched,
        group=groups[0],
        matched_by=manager,
        matched_on=today - datetime.timedelta(days=20),
    )
    # The flight is expected next month: the pre-arrival items are scheduled from it.
    services.sponsorship_set_expected_arrival(
        sponsorship=expected,
        expected_on=add_months(today, 1) + datetime.timedelta(days=5),
        source=ArrivalEstimate.Source.ESTIMATE,
        note="Fictional demo estimate.",
        recorded_by=case_worker,
    )

    month4 = _family(
        case_worker,
        manager,
        "Mocky Choidemo",
        children=["Smol Choidemo"],
        current_location="Vancouver (fictional)",
        community="Vancouver",
        single_parent=True,
        **common,
    )
    s4 = _arrived(month4, groups[1], manager, days_ago=100, today=today)
    treasurer4 = groups[1].memberships.get(role=Membership.Role.TREASURER).user
    _complete_plan_until(s4, case_worker, today, leave_open="Permanent housing")
    _pay(s4, treasurer4, months=4, monthly="1700.00", start_up="7500.00")
    family_services.consent_record(
        family=month4,
        topic=Consent.Topic.MEDICAL,
        given_on=_arrival_of(s4),
        expires_on=_arrival_of(s4) + datetime.timedelta(days=365),
        recorded_by=case_worker,
        details="Fictional: the group may know about the medical appointments.",
    )
    family_services.case_note_add(
        family=month4,
        author=case_worker,
        text="Fictional demo note: housing search is slow; the group is looking at two flats.",
        visibility=CaseNote.Visibility.GROUP,
    )
    coordinator4 = groups[1].memberships.get(role=Membership.Role.COORDINATOR).user
    CheckIn.objects.create(
        sponsorship=s4,
        happened_on=today - datetime.timedelta(days=10),
        who="Cora, Mona",
        wellbeing=CheckIn.Wellbeing.COPING,
        summary="Fictional demo check-in.",
        logged_by=coordinator4,
    )

    month11 = _family(
        case_worker,
        manager,
        "Sampla Handemo",
        children=["Mini Handemo", "Kiddo Handemo"],
        current_location="Winnipeg (fictional)",
        community="Winnipeg",
        sgbv_survivor=True,
        single_parent=True,
        **common,
    )
    s5 = _arrived(month11, groups[2], manager, days_ago=310, today=today)
    treasurer5 = groups[2].memberships.get(role=Membership.Role.TREASURER).user
    _complete_plan_until(s5, case_worker, today)
    _pay(s5, treasurer5, months=11, monthly="1770.00", start_up="8600.00")
    services.extension_request(
        sponsorship=s5,
        months=6,
        reason="Fictional demo: language classes run until spring; employment not yet found.",
        requested_by=groups[2].memberships.get(role=Membership.Role.COORDINATOR).user,
    )


def _kinds(staff: dict, groups: list[SponsorGroup]) -> None:
    """A BVOR family in a government-paid month (the group paid start-up and month 1) and a
    JAS family (24 months; the government pays income support, the group settlement)."""
    manager, case_worker = staff[PROGRAM_MANAGER], staff[CASE_WORKER]
    today = timezone.localdate()
    common = {"languages": "Korean", "interpreter_needed": True}
    bvor = _family(
        case_worker,
        manager,
        "Sandy Yoondemo",
        children=["Pip Yoondemo"],
        current_location="Toronto (fictional)",
        community="Toronto",
        **common,
    )
    s_bvor = _arrived(
        bvor, groups[0], manager, days_ago=75, today=today, kind=Sponsorship.Kind.BVOR
    )
    _complete_plan_until(s_bvor, case_worker, today)
    treasurer = groups[0].memberships.get(role=Membership.Role.TREASURER).user
    _pay(s_bvor, treasurer, 1, "1641.67", start_up="5100.00")
    jas = _family(
        case_worker,
        manager,
        "Placeo Kangdemo",
        children=["Tot Kangdemo", "Bub Kangdemo"],
        current_location="Winnipeg (fictional)",
        community="Winnipeg",
        medical_priority=True,
        **common,
    )
    s_jas = _arrived(jas, groups[2], manager, days_ago=200, today=today, kind=Sponsorship.Kind.JAS)
    _complete_plan_until(s_jas, case_worker, today)


def seed() -> None:
    """Idempotent: running it twice changes nothing."""
    staff = {
        role: _user(local, first, last, staff=True, role=role) for local, first, last, role in STAFF
    }
    groups = _groups(staff[PROGRAM_MANAGER])
    # The five families are created once, as a block: identifying fields are encrypted, so
    # "is this demo family already here?" is answered by its demo case worker.
    if not Family.objects.filter(case_worker=staff[CASE_WORKER]).exists():
        _families(staff, groups)
    if not Sponsorship.objects.filter(
        kind__in=[Sponsorship.Kind.BVOR, Sponsorship.Kind.JAS], group__in=groups
    ).exists():
        _kinds(staff, groups)
