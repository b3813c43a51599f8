"""Portal pages as a group member sees them: forms that validate next to the field and store
nothing when invalid, privacy of the case file, and constant query counts."""

from __future__ import annotations

import datetime
import re
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from core.admin_forms import in_words
from families.models import CaseFileAccess, CaseNote, Consent
from sponsorship.models import CheckIn, Disbursement, GroupMessage, Milestone, Reminder, Review
from tests.factories import ConsentFactory, HouseholdMemberFactory, SponsorshipFactory

pytestmark = pytest.mark.django_db


def _html(response) -> str:
    return response.content.decode()


def _field_error(html: str, field: str) -> str:
    """The error text crispy renders next to `field` (id error_1_id_<field>)."""
    match = re.search(rf'id="error_\d+_id_{field}"[^>]*>(.*?)</', html, re.S)
    return re.sub(r"<[^>]+>", "", match.group(1)).strip() if match else ""


# --- the dashboard ----------------------------------------------------------------------------


def test_the_dashboard_shows_month_n_of_m_dates_overdue_and_money(client, member, sponsorship):
    client.force_login(member)
    html = _html(client.get(reverse("portal:dashboard")))
    assert sponsorship.family.case_code in html
    assert "Month 4 of 12" in html
    assert '<progress id="progress-' in html and 'max="12" value="4"' in html
    assert "Support ends on" in html and "Month 13 begins on" in html
    # reception etc. are past due in the fixture (pre-arrival items are scheduled only from an
    # expected arrival, never on arrival day)
    assert "8 overdue items" in html
    assert "Owed this month" in html and "$7,700.00" in html
    assert html.count("<h1") == 1


def test_the_dashboard_shows_first_names_only(client, member, sponsorship):
    child = HouseholdMemberFactory(family=sponsorship.family, given_name="Minji")
    principal = sponsorship.family.members.get(is_principal_applicant=True)
    client.force_login(member)
    html = _html(client.get(reverse("portal:dashboard")))
    assert "Minji" in html and principal.given_name in html
    assert child.family_name not in html  # "Testfamily"


def test_the_dashboard_lists_unread_reminders_and_messages(
    client, member, sponsorship, case_worker
):
    milestone = sponsorship.milestones.first()
    Reminder.objects.create(
        kind="milestone_overdue",
        subject_key=f"milestone:{milestone.pk}",
        due_on=timezone.localdate(),
        recipient=member,
        sponsorship=sponsorship,
        milestone=milestone,
    )
    GroupMessage.objects.create(
        group=sponsorship.group, sender=case_worker, subject="Tax clinic", body="Saturday"
    )
    client.force_login(member)
    html = _html(client.get(reverse("portal:dashboard")))
    assert "2 unread reminders and messages" in html
    assert "Milestone overdue" in html and "Tax clinic" in html


def _bulk(sponsorship, user, n: int, start: int = 0) -> None:
    today = timezone.localdate()
    Milestone.objects.bulk_create(
        Milestone(sponsorship=sponsorship, title=f"Item {i}", due_on=today + datetime.timedelta(i))
        for i in range(n)
    )
    Disbursement.objects.bulk_create(
        Disbursement(
            sponsorship=sponsorship,
            month_number=1 + i % 4,
            amount=Decimal("10"),
            paid_on=today,
            method="cash",
            recorded_by=user,
        )
        for i in range(n)
    )
    Reminder.objects.bulk_create(
        Reminder(kind="milestone_due", subject_key=f"x:{i}", due_on=today, recipient=user)
        for i in range(start, start + n)
    )
    GroupMessage.objects.bulk_create(
        GroupMessage(group=sponsorship.group, sender=user, subject=f"S{i}", body="b")
        for i in range(n)
    )


@pytest.mark.parametrize(
    "url_name",
    ["portal:dashboard", "portal:plan", "portal:income-support", "portal:inbox"],
)
def test_the_query_count_does_not_grow_with_the_data(
    client, treasurer, sponsorship, django_assert_max_num_queries, url_name
):
    client.force_login(treasurer)
    args = [] if url_name in {"portal:dashboard", "portal:inbox"} else [sponsorship.public_id]
    url = reverse(url_name, args=args)
    _bulk(sponsorship, treasurer, 5)
    client.get(url)  # warm the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    _bulk(sponsorship, treasurer, 45, start=5)
    with django_assert_max_num_queries(len(small)):
        assert client.get(url).status_code == 200


# What the dashboard reads, whatever the size of the program or of the group's own files.
# Kept (sponsorship/portal_cache.py): session, user, which sponsorships the user may see (with
# their role), and the access-log INSERT. Rebuilt after a change: also the group's
# sponsorships, household members, open milestones, pending reviews, payments summed, the
# cost table, the unread count (one query), the unread reminders and messages (two); plus the
# expected arrivals (one, for "Arriving in N days") while one of the families is still waiting.
DASHBOARD_QUERIES_KEPT = 4
DASHBOARD_QUERIES = 13


@pytest.mark.parametrize("waiting", [False, True], ids=["all arrived", "one waiting"])
def test_the_dashboard_reads_a_fixed_number_of_queries_at_two_program_sizes(
    client, treasurer, sponsorship, django_assert_num_queries, waiting
):
    from django.core.cache import cache

    today = timezone.localdate()
    queries = DASHBOARD_QUERIES + (1 if waiting else 0)
    if waiting:
        SponsorshipFactory(group=sponsorship.group, arrival_date=None)
    client.force_login(treasurer)
    url = reverse("portal:dashboard")
    _bulk(sponsorship, treasurer, 5)
    for _ in range(3):  # the rest of the program: other groups' sponsorships
        SponsorshipFactory(arrival_date=today - datetime.timedelta(days=30))
    client.get(url)  # warm the session
    logged = CaseFileAccess.objects.filter(family=sponsorship.family).count()
    cache.clear()  # every generation gone: rebuilt
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200
    with django_assert_num_queries(DASHBOARD_QUERIES_KEPT):
        assert client.get(url).status_code == 200
    _bulk(sponsorship, treasurer, 45, start=5)
    for _ in range(12):
        SponsorshipFactory(arrival_date=today - datetime.timedelta(days=200))
    cache.clear()
    with django_assert_num_queries(queries):
        html = _html(client.get(url))
    assert "unread reminders and messages" in html
    with django_assert_num_queries(DASHBOARD_QUERIES_KEPT):
        assert _html(client.get(url)).count("unread reminders and messages") == 1
    # The access log keeps its row per view: one for each of the four views measured.
    assert CaseFileAccess.objects.filter(family=sponsorship.family).count() == logged + 4


# --- what the family consented to share -------------------------------------------------------


def _family_with_secrets(sponsorship):
    family = sponsorship.family
    family.medical_needs = "Asthma inhaler daily"
    family.sgbv_notes = "Prefers female volunteers"
    family.contact_phone = "416-555-0199"
    family.narrative = "Crossed the border in 2019"
    family.current_location = "Bangkok IDC"
    family.sgbv_survivor = True
    family.save()
    return family


def test_consented_fields_are_absent_from_the_html_without_consent(client, member, sponsorship):
    _family_with_secrets(sponsorship)
    ConsentFactory(
        family=sponsorship.family,
        topic=Consent.Topic.MEDICAL,
        withdrawn_on=timezone.localdate(),
    )
    ConsentFactory(
        family=sponsorship.family,
        topic=Consent.Topic.SGBV,
        given_on=timezone.localdate() - datetime.timedelta(days=400),
        expires_on=timezone.localdate() - datetime.timedelta(days=1),
    )
    client.force_login(member)
    html = _html(client.get(reverse("portal:sponsorship", args=[sponsorship.public_id])))
    for secret in ("Asthma", "female volunteers", "416-555", "Crossed", "Bangkok", "Testfamily"):
        assert secret not in html
    assert "SGBV survivor" not in html
    assert "has not agreed to share" in html


def test_consented_fields_appear_only_while_consent_is_active(client, member, sponsorship):
    _family_with_secrets(sponsorship)
    ConsentFactory(family=sponsorship.family, topic=Consent.Topic.MEDICAL)
    ConsentFactory(family=sponsorship.family, topic=Consent.Topic.CONTACT)
    client.force_login(member)
    html = _html(client.get(reverse("portal:sponsorship", args=[sponsorship.public_id])))
    assert "Asthma inhaler daily" in html and "416-555-0199" in html
    assert "female volunteers" not in html  # no SGBV consent
    assert "Crossed" not in html and "Bangkok" not in html


def test_an_empty_family_page_says_what_is_empty(client, member, sponsorship):
    """No consent and no note: each section says so instead of showing a heading alone."""
    client.force_login(member)
    html = _html(client.get(reverse("portal:sponsorship", args=[sponsorship.public_id])))
    shared = html.split('id="shared-heading"')[1].split("</section>")[0]
    assert "has not agreed to share medical, SGBV-related or contact details" in shared
    notes = html.split('id="notes-heading"')[1].split("</section>")[0]
    assert "No notes shared with the group yet." in notes


def test_a_consent_with_nothing_written_under_it_says_so(client, member, sponsorship):
    ConsentFactory(family=sponsorship.family, topic=Consent.Topic.MEDICAL)  # medical_needs empty
    client.force_login(member)
    html = _html(client.get(reverse("portal:sponsorship", args=[sponsorship.public_id])))
    shared = html.split('id="shared-heading"')[1].split("</section>")[0]
    assert 'data-empty="shared"' in shared
    assert "Nothing has been written down yet under what the family agreed to share." in shared
    assert "has not agreed to share" not in shared


@pytest.mark.parametrize(
    ("page", "empty"),
    [
        ("portal:checkins", "No check-ins logged yet."),
        (
            "portal:inbox",
            "Nothing here yet. Reminders and messages from HanVoice will appear here.",
        ),
    ],
)
def test_empty_portal_lists_say_they_are_empty(client, member, sponsorship, page, empty):
    client.force_login(member)
    args = [] if page == "portal:inbox" else [sponsorship.public_id]
    assert empty in _html(client.get(reverse(page, args=args)))


def test_before_arrival_the_plan_money_and_reviews_say_when_they_start(client, member, group):
    waiting = SponsorshipFactory(group=group, arrival_date=None)
    client.force_login(member)
    for page, empty in [
        ("portal:plan", "The plan is created when the family arrives."),
        ("portal:income-support", "Income support starts when the family arrives."),
        ("portal:reviews", "Reviews are scheduled when the family arrives."),
    ]:
        assert empty in _html(client.get(reverse(page, args=[waiting.public_id]))), page


def test_group_visible_case_notes_are_shown_and_staff_notes_are_not(
    client, member, sponsorship, case_worker
):
    family = sponsorship.family
    CaseNote.objects.create(family=family, author=case_worker, text="Shared: school meeting")
    CaseNote.objects.filter(text__isnull=False).update(visibility="staff")
    CaseNote.objects.create(
        family=family, author=case_worker, text="Group: dentist booked", visibility="group"
    )
    client.force_login(member)
    html = _html(client.get(reverse("portal:sponsorship", args=[sponsorship.public_id])))
    assert "Group: dentist booked" in html
    assert "school meeting" not in html


# --- settlement plan --------------------------------------------------------------------------


def test_a_coordinator_ticks_a_milestone_off(client, coordinator, sponsorship):
    milestone = sponsorship.milestones.filter(completed_on__isnull=True).first()
    client.force_login(coordinator)
    url = reverse("portal:milestone-complete", args=[milestone.public_id])
    today = timezone.localdate().isoformat()
    response = client.post(url, {"completed_on": today, "note": "Done at the branch"})
    assert response.status_code == 302
    milestone.refresh_from_db()
    assert milestone.completed_on == timezone.localdate()
    html = _html(client.get(response["Location"]))
    assert "Marked done" in html and "Done at the branch" in html


def test_a_future_done_date_is_refused_next_to_the_field(client, coordinator, sponsorship):
    milestone = sponsorship.milestones.filter(completed_on__isnull=True).first()
    client.force_login(coordinator)
    future = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    response = client.post(
        reverse("portal:milestone-complete", args=[milestone.public_id]),
        {"completed_on": future},
    )
    assert response.status_code == 200
    assert "future" in _field_error(_html(response), "completed_on")
    milestone.refresh_from_db()
    assert milestone.completed_on is None


def test_the_plan_groups_milestones_by_phase(client, member, sponsorship):
    client.force_login(member)
    html = _html(client.get(reverse("portal:plan", args=[sponsorship.public_id])))
    positions = [html.index(p) for p in ("First week", "First month", "Toward month 13")]
    assert positions == sorted(positions)
    assert "Add an item" not in html  # members read and add notes only


def test_a_member_adds_a_note_but_cannot_tick_off(client, member, sponsorship):
    milestone = sponsorship.milestones.first()
    client.force_login(member)
    page = _html(client.get(reverse("portal:milestone", args=[milestone.public_id])))
    assert "Mark as done" not in page and "Add note" in page
    client.post(
        reverse("portal:milestone-note", args=[milestone.public_id]), {"text": "Bank is Tuesday"}
    )
    milestone.refresh_from_db()
    assert "Bank is Tuesday" in milestone.notes


def test_a_coordinator_adds_a_group_item_and_asks_for_a_waiver(client, coordinator, sponsorship):
    client.force_login(coordinator)
    due = (timezone.localdate() + datetime.timedelta(days=20)).isoformat()
    url = reverse("portal:milestone-add", args=[sponsorship.public_id])
    assert client.post(url, {"title": "Library cards", "due_on": due}).status_code == 302
    assert client.post(url, {"title": "Library cards", "due_on": due}).status_code == 302
    item = sponsorship.milestones.get(title="Library cards")
    assert item.added_by_group
    response = client.post(
        reverse("portal:milestone-waiver", args=[item.public_id]), {"reason": "Not needed"}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.waiver_reason == "Not needed"


def test_an_item_due_outside_the_support_period_is_refused(client, coordinator, sponsorship):
    client.force_login(coordinator)
    late = (sponsorship.support_ends_on + datetime.timedelta(days=30)).isoformat()
    response = client.post(
        reverse("portal:milestone-add", args=[sponsorship.public_id]),
        {"title": "Too late", "due_on": late},
    )
    assert response.status_code == 200
    assert "support period" in _field_error(_html(response), "due_on")
    assert not sponsorship.milestones.filter(title="Too late").exists()
    # The dates in the message read like every other date on the page, not "2026-07-22".
    assert sponsorship.arrival_date.isoformat() not in _field_error(_html(response), "due_on")
    assert date_format(sponsorship.arrival_date, "DATE_FORMAT") in _field_error(
        _html(response), "due_on"
    )


# --- check-ins --------------------------------------------------------------------------------


def _checkin_post(token=None, **overrides):
    data = {
        "request_token": str(token or uuid.uuid4()),
        "happened_on": timezone.localdate().isoformat(),
        "kind": "visit",
        "who": "Bob",
        "wellbeing": "coping",
        "summary": "Tired but hopeful",
        "concern_level": "none",
        "concern": "",
    }
    data.update(overrides)
    return data


def test_a_double_submitted_check_in_is_stored_once(client, member, sponsorship):
    client.force_login(member)
    url = reverse("portal:checkin-create", args=[sponsorship.public_id])
    token = uuid.uuid4()
    assert client.post(url, _checkin_post(token)).status_code == 302
    assert client.post(url, _checkin_post(token)).status_code == 302
    assert CheckIn.objects.filter(sponsorship=sponsorship).count() == 1
    html = _html(client.get(reverse("portal:checkins", args=[sponsorship.public_id])))
    assert "Tired but hopeful" in html


def test_the_check_in_form_carries_a_one_time_token(client, member, sponsorship):
    client.force_login(member)
    url = reverse("portal:checkin-create", args=[sponsorship.public_id])
    first = re.search(r'name="request_token" value="([^"]+)"', _html(client.get(url))).group(1)
    second = re.search(r'name="request_token" value="([^"]+)"', _html(client.get(url))).group(1)
    assert uuid.UUID(first) != uuid.UUID(second)


def test_an_urgent_concern_without_words_is_refused_next_to_the_field(client, member, sponsorship):
    client.force_login(member)
    response = client.post(
        reverse("portal:checkin-create", args=[sponsorship.public_id]),
        _checkin_post(concern_level="urgent"),
    )
    assert response.status_code == 200
    assert "Describe the concern" in _field_error(_html(response), "concern")
    assert not CheckIn.objects.exists()


def test_an_urgent_concern_reaches_the_case_worker(
    client, member, sponsorship, case_worker, django_capture_on_commit_callbacks, mailoutbox
):
    client.force_login(member)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("portal:checkin-create", args=[sponsorship.public_id]),
            _checkin_post(concern_level="urgent", concern="Eviction notice"),
            follow=True,
        )
    assert "case worker has been alerted" in _html(response)
    urgent = Reminder.objects.get(kind=Reminder.Kind.URGENT_CONCERN)
    assert urgent.recipient == case_worker and urgent.sent_at is not None
    assert [m.to for m in mailoutbox] == [[case_worker.email]]
    assert "URGENT" in mailoutbox[0].subject and "Eviction" not in mailoutbox[0].subject


# --- income support ---------------------------------------------------------------------------


def _pay_post(token=None, **overrides):
    data = {
        "request_token": str(token or uuid.uuid4()),
        "kind": "income",
        "month_number": "4",
        "amount": "1100.00",
        "paid_on": timezone.localdate().isoformat(),
        "method": "etransfer",
        "note": "",
    }
    data.update(overrides)
    return data


def test_a_treasurer_records_a_payment_once(client, treasurer, sponsorship):
    client.force_login(treasurer)
    url = reverse("portal:disbursement-create", args=[sponsorship.public_id])
    token = uuid.uuid4()
    assert client.post(url, _pay_post(token)).status_code == 302
    assert client.post(url, _pay_post(token)).status_code == 302
    assert Disbursement.objects.get().recorded_by == treasurer
    html = _html(client.get(reverse("portal:income-support", args=[sponsorship.public_id])))
    assert "$1,100.00" in html and "Owed this month" in html and "$6,600.00" in html


def _pay(sponsorship, treasurer, kind: str, month: int, amount: Decimal) -> None:
    Disbursement.objects.create(
        sponsorship=sponsorship,
        kind=kind,
        month_number=month,
        amount=amount,
        paid_on=timezone.localdate(),
        method="etransfer",
        recorded_by=treasurer,
    )


@pytest.mark.parametrize("ahead", [False, True])
def test_paid_above_planned_to_date_is_explained_only_when_it_is(
    client, treasurer, sponsorship, ahead
):
    """Month 4: start-up and months 1-4 paid as planned; with month 5 paid too, "Paid" is above
    "Planned to date", and the page says how that can be (and by how much)."""
    from sponsorship.budget import budget_for

    budget = budget_for(sponsorship)
    assert budget.current_month == 4
    _pay(sponsorship, treasurer, "start_up", 1, budget.start_up_planned)
    for month in budget.months[: 5 if ahead else 4]:
        _pay(sponsorship, treasurer, "income", month.number, month.planned)
    client.force_login(treasurer)
    html = _html(client.get(reverse("portal:income-support", args=[sponsorship.public_id])))

    explained = 'data-explains="paid-above-plan"' in html
    assert explained is ahead
    assert ("the start-up in full and every month that has begun" in html) is ahead
    assert "spreads the year evenly" not in html
    if ahead:
        assert f"Paid is ${budget.months[4].planned:,} more than planned to date" in html


@pytest.mark.parametrize(
    ("language", "text"),
    [("fr", "Le prévu à ce jour compte déjà"), ("ko", "현재까지 계획액에는")],
)
def test_the_paid_above_plan_explanation_is_translated(
    client, treasurer, sponsorship, language, text
):
    from sponsorship.budget import budget_for

    budget = budget_for(sponsorship)
    _pay(sponsorship, treasurer, "start_up", 1, budget.start_up_planned)
    for month in budget.months[:5]:
        _pay(sponsorship, treasurer, "income", month.number, month.planned)
    client.force_login(treasurer)
    url = reverse("portal:income-support", args=[sponsorship.public_id])
    html = _html(client.get(url, HTTP_ACCEPT_LANGUAGE=language))
    assert 'data-explains="paid-above-plan"' in html
    assert text in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "-10", "greater than or equal to 0.01"),
        ("amount", "99999", "more than twice the plan"),
        ("amount", "abc", "Enter a number"),
        ("paid_on", "2999-01-01", "future"),
    ],
)
def test_a_bad_payment_is_refused_next_to_the_field(
    client, treasurer, sponsorship, field, value, message
):
    client.force_login(treasurer)
    response = client.post(
        reverse("portal:disbursement-create", args=[sponsorship.public_id]),
        _pay_post(**{field: value}),
    )
    assert response.status_code == 200
    assert message in _field_error(_html(response), field)
    assert not Disbursement.objects.exists()


def test_a_coordinator_cannot_record_money(client, coordinator, sponsorship):
    client.force_login(coordinator)
    url = reverse("portal:disbursement-create", args=[sponsorship.public_id])
    assert client.post(url, _pay_post()).status_code == 403
    assert not Disbursement.objects.exists()


# --- reviews ----------------------------------------------------------------------------------


def test_reviews_show_scores_as_an_svg_chart_with_a_table(client, member, sponsorship):
    first, second = sponsorship.reviews.order_by("scheduled_for")[:2]
    for review, income in ((first, 2), (second, 4)):
        Review.objects.filter(pk=review.pk).update(
            held_on=review.scheduled_for, outcome="on_track", income=income, housing=3
        )
    client.force_login(member)
    html = _html(client.get(reverse("portal:reviews", args=[sponsorship.public_id])))
    assert "<svg" in html and "<title" in html and "<desc" in html
    assert "<polyline" in html and "style=" not in html
    assert "<table" in html and ">4</td>" in html
    assert "On track" in html


def test_a_coordinator_sends_the_groups_input(client, coordinator, sponsorship):
    review = sponsorship.reviews.filter(held_on__isnull=True).first()
    client.force_login(coordinator)
    url = reverse("portal:review-input", args=[review.public_id])
    assert client.post(url, {"text": ""}).status_code == 200
    response = client.post(url, {"text": "Rent is covered; English improving."})
    assert response.status_code == 302
    review.refresh_from_db()
    assert review.group_input.startswith("Rent is covered")


# --- inbox ------------------------------------------------------------------------------------


def test_the_inbox_lists_and_marks_read(client, member, sponsorship, case_worker):
    reminder = Reminder.objects.create(
        kind="review_due", subject_key="review:1", due_on=timezone.localdate(), recipient=member
    )
    message = GroupMessage.objects.create(
        group=sponsorship.group, sender=case_worker, subject="Welcome", body="Hi all"
    )
    GroupMessage.objects.create(
        group=sponsorship.group, sender=case_worker, subject="Second", body="More"
    )
    client.force_login(member)
    html = _html(client.get(reverse("portal:inbox")))
    assert "Review coming" in html and "Welcome" in html
    assert ">3<span" in html.replace(" ", "")  # the unread badge
    client.post(reverse("portal:inbox-read"), {"item": [f"reminder:{reminder.pk}"]})
    client.post(reverse("portal:inbox-read"), {"item": [f"message:{message.public_id}", "bad"]})
    reminder.refresh_from_db()
    assert reminder.read_at is not None
    html = _html(client.get(reverse("portal:inbox")))
    assert ">1<span" in html.replace(" ", "")
    client.post(reverse("portal:inbox-read"), {"all": "1"})
    assert "badge rounded-pill" not in _html(client.get(reverse("portal:inbox")))


def test_the_inbox_shows_nothing_of_another_group(client, other_member, sponsorship, case_worker):
    GroupMessage.objects.create(
        group=sponsorship.group, sender=case_worker, subject="Private to Maple", body="x"
    )
    client.force_login(other_member)
    assert "Private to Maple" not in _html(client.get(reverse("portal:inbox")))


def test_portal_pages_have_no_inline_style_or_script(client, treasurer, sponsorship):
    client.force_login(treasurer)
    for name in ["portal:sponsorship", "portal:plan", "portal:income-support", "portal:reviews"]:
        html = _html(client.get(reverse(name, args=[sponsorship.public_id])))
        assert "style=" not in html
        assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
        assert html.count("<h1") == 1


@pytest.mark.parametrize("language", ["en", "fr", "ko"])
def test_the_portal_s_dates_are_written_out_in_words_under_the_picker(
    client, coordinator, sponsorship, language
):
    """As in the admin (core.admin_forms.NativeDateInput): the picker shows the browser's
    order, so the chosen date is also said in words; a date sent back with an error keeps
    its words, and the page loads the script that writes them as a date is picked."""
    milestone = sponsorship.milestones.filter(completed_on__isnull=True).first()
    client.force_login(coordinator)
    client.cookies["django_language"] = language
    page = _html(client.get(reverse("portal:milestone", args=[milestone.public_id])))
    assert 'id="id_completed_on_format"' in page and "data-date-words" in page
    assert "config/date-words" in page
    future = timezone.localdate() + datetime.timedelta(days=400)
    response = client.post(
        reverse("portal:milestone-complete", args=[milestone.public_id]),
        {"completed_on": future.isoformat()},
    )
    with translation.override(language):
        words = in_words(future)  # "Wednesday, March 4, 2026", "mercredi 4 mars 2026", ...
    assert words and words in _html(response)
