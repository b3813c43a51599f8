"""Staff record that a settlement plan version was submitted to IRCC: accepted only when every
current member signed that exact version in the 90 days before the submission date; kept
as recorded, shown on the evidence file page and in the pack's summary."""

from __future__ import annotations

import datetime
import io
import zipfile

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from evidence import services
from evidence.models import PlanSubmission
from evidence.selectors import signature_statuses
from families.models import CaseFileAccess

pytestmark = pytest.mark.django_db


def _name(user) -> str:
    return user.get_full_name() or user.email


def _sign(version, *users, on: datetime.date | None = None) -> None:
    for user in users:
        services.plan_acknowledge(
            version=version,
            user=user,
            typed_name=_name(user),
            signed_on=on or timezone.localdate(),
        )


@pytest.fixture
def members(coordinator, treasurer, member):
    return [coordinator, treasurer, member]


def test_a_submission_with_every_member_signed_is_recorded(sponsorship, members, case_worker):
    version = services.plan_version_current(sponsorship=sponsorship)
    _sign(version, *members)
    today = timezone.localdate()
    submission = services.plan_submission_record(
        version=version, submitted_on=today, user=case_worker
    )
    assert submission.version == version and submission.submitted_on == today
    assert submission.recorded_by == case_worker
    # One record per version, kept as it was.
    with pytest.raises(ValidationError, match="already recorded"):
        services.plan_submission_record(version=version, submitted_on=today, user=case_worker)
    submission.submitted_on = today - datetime.timedelta(days=1)
    with pytest.raises(ValueError, match="never changed"):
        submission.save()
    assert PlanSubmission.objects.get().submitted_on == today


def test_a_member_who_has_not_signed_is_named_and_nothing_is_kept(
    sponsorship, coordinator, treasurer, member, case_worker
):
    version = services.plan_version_current(sponsorship=sponsorship)
    _sign(version, coordinator, treasurer)
    with pytest.raises(ValidationError) as refused:
        services.plan_submission_record(
            version=version, submitted_on=timezone.localdate(), user=case_worker
        )
    message = " ".join(refused.value.messages)
    assert f"{_name(member)} (has not signed it)" in message
    assert _name(coordinator) not in message and _name(treasurer) not in message
    assert not PlanSubmission.objects.exists()


def test_a_signature_91_days_before_the_submission_date_is_stale(
    sponsorship, members, member, case_worker
):
    signed_day = timezone.localdate() - datetime.timedelta(days=120)
    with time_machine.travel(timezone.now() - datetime.timedelta(days=120), tick=False):
        version = services.plan_version_current(sponsorship=sponsorship)
        _sign(version, *members)
    # Counted back from the submission date, not from today.
    late = signed_day + datetime.timedelta(days=91)
    with pytest.raises(ValidationError) as refused:
        services.plan_submission_record(version=version, submitted_on=late, user=case_worker)
    message = " ".join(refused.value.messages)
    for user in members:
        assert f"{_name(user)} (signed more than 90 days before the submission date)" in message
    assert not PlanSubmission.objects.exists()
    # Day 90 still counts.
    on_time = signed_day + datetime.timedelta(days=90)
    services.plan_submission_record(version=version, submitted_on=on_time, user=case_worker)
    assert PlanSubmission.objects.get().submitted_on == on_time


@pytest.mark.parametrize(
    ("days", "message"),
    [(-1, "future"), (5, "did not exist yet")],
)
def test_a_date_in_the_future_or_before_the_version_is_refused(
    sponsorship, members, case_worker, days, message
):
    version = services.plan_version_current(sponsorship=sponsorship)
    _sign(version, *members)
    with pytest.raises(ValidationError, match=message):
        services.plan_submission_record(
            version=version,
            submitted_on=timezone.localdate() - datetime.timedelta(days=days),
            user=case_worker,
        )
    assert not PlanSubmission.objects.exists()


def test_a_signature_after_the_submission_date_did_not_go_to_ircc(
    sponsorship, coordinator, treasurer, member, case_worker
):
    with time_machine.travel(timezone.now() - datetime.timedelta(days=10), tick=False):
        version = services.plan_version_current(sponsorship=sponsorship)
        _sign(version, coordinator, treasurer)
    _sign(version, member)  # today
    with pytest.raises(ValidationError, match="signed after the submission date"):
        services.plan_submission_record(
            version=version,
            submitted_on=timezone.localdate() - datetime.timedelta(days=5),
            user=case_worker,
        )
    assert not PlanSubmission.objects.exists()


def test_a_changed_plan_is_refused_and_everyone_must_sign_the_new_one(
    sponsorship, members, case_worker
):
    first = services.plan_version_current(sponsorship=sponsorship)
    _sign(first, *members)
    milestone = sponsorship.milestones.first()
    milestone.due_on += datetime.timedelta(days=2)
    milestone.save()
    today = timezone.localdate()
    # The version the page was opened on is no longer the plan (no new version is stored).
    with pytest.raises(ValidationError) as refused:
        services.plan_submission_record(version=first, submitted_on=today, user=case_worker)
    message = " ".join(refused.value.messages)
    assert "the plan changed after this version" in message
    for user in members:
        assert _name(user) in message
    # The new plan: every member signed an earlier version.
    second = services.plan_version_current(sponsorship=sponsorship)
    with pytest.raises(ValidationError) as refused:
        services.plan_submission_record(version=second, submitted_on=today, user=case_worker)
    for user in members:
        assert f"{_name(user)} (signed an earlier version)" in " ".join(refused.value.messages)
    assert not PlanSubmission.objects.exists()
    _sign(second, *members)
    services.plan_submission_record(version=second, submitted_on=today, user=case_worker)
    assert PlanSubmission.objects.get().version == second


def test_after_submission_signatures_count_from_the_submission_date(
    sponsorship, members, member, case_worker
):
    version = services.plan_version_current(sponsorship=sponsorship)
    _sign(version, *members)
    services.plan_submission_record(
        version=version, submitted_on=timezone.localdate(), user=case_worker
    )
    with time_machine.travel(timezone.now() + datetime.timedelta(days=200), tick=False):
        statuses = {r.membership.user: r.status for r in signature_statuses(sponsorship, version)}
        assert set(statuses.values()) == {"signed"}
        # A changed plan still asks everyone to sign again.
        milestone = sponsorship.milestones.first()
        milestone.due_on += datetime.timedelta(days=1)
        milestone.save()
        new = services.plan_version_current(sponsorship=sponsorship)
        statuses = {r.membership.user: r.status for r in signature_statuses(sponsorship, new)}
        assert set(statuses.values()) == {"changed"}


# --- the admin: the evidence file page, the form, the pack -----------------------------------


def _submission_url(sponsorship) -> str:
    return reverse("admin:evidence_sponsorshipevidence_submission", args=[sponsorship.pk])


def test_a_case_worker_records_it_in_the_admin_and_it_shows_on_the_page_and_in_the_pack(
    client, sponsorship, members, case_worker, program_manager
):
    version = services.plan_version_current(sponsorship=sponsorship)
    _sign(version, *members)
    client.force_login(case_worker)
    change = reverse("admin:evidence_sponsorshipevidence_change", args=[sponsorship.pk])
    assert "Not recorded as submitted yet." in client.get(change).content.decode()
    form = client.get(_submission_url(sponsorship))
    assert form.status_code == 200 and str(version.public_id) in form.content.decode()
    day = timezone.localdate()
    response = client.post(
        _submission_url(sponsorship),
        {"version": version.public_id, "submitted_on": day.isoformat()},
    )
    assert response.status_code == 302
    submission = PlanSubmission.objects.get()
    assert submission.recorded_by == case_worker and submission.submitted_on == day
    assert CaseFileAccess.objects.filter(
        user=case_worker, family=sponsorship.family, action="change"
    ).exists()

    html = client.get(change).content.decode()
    assert '<th scope="col">Submitted on</th>' in html
    assert version.content_hash[:12] in html and _name(case_worker) in html
    # The form page now says it is recorded, and offers no second record.
    page = client.get(_submission_url(sponsorship)).content.decode()
    assert "is recorded as submitted to IRCC" in page and "Record the submission" not in page

    client.force_login(program_manager)
    pack = client.get(reverse("admin:evidence_sponsorshipevidence_pack", args=[sponsorship.pk]))
    archive = zipfile.ZipFile(io.BytesIO(pack.getvalue()))
    pdf = PdfReader(io.BytesIO(archive.read("summary.pdf")))
    text = " ".join(" ".join(page.extract_text() for page in pdf.pages).split())
    assert "Submissions to IRCC" in text
    assert day.isoformat() in text and _name(case_worker) in text


def test_the_admin_shows_who_must_sign_again_and_keeps_nothing(
    client, sponsorship, coordinator, treasurer, member, program_manager
):
    version = services.plan_version_current(sponsorship=sponsorship)
    _sign(version, coordinator, treasurer)
    client.force_login(program_manager)
    response = client.post(
        _submission_url(sponsorship),
        {"version": version.public_id, "submitted_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Must sign again" in html and f"{_name(member)} (has not signed it)" in html
    future = timezone.localdate() + datetime.timedelta(days=1)
    response = client.post(
        _submission_url(sponsorship),
        {"version": version.public_id, "submitted_on": future.isoformat()},
    )
    assert response.status_code == 400 and "cannot be in the future" in response.content.decode()
    assert not PlanSubmission.objects.exists()


def test_only_case_staff_with_the_family_in_scope_may_record(
    client, sponsorship, other_sponsorship, case_worker, fundraiser, treasurer, members
):
    """The case worker is not assigned the other family: 404, as for its case file."""
    theirs = services.plan_version_current(sponsorship=other_sponsorship)
    client.force_login(case_worker)
    assert client.get(_submission_url(other_sponsorship)).status_code == 404
    response = client.post(
        _submission_url(other_sponsorship),
        {"version": theirs.public_id, "submitted_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 404
    # Their version posted on our family's page: not this sponsorship's, 404 too.
    response = client.post(
        _submission_url(sponsorship),
        {"version": theirs.public_id, "submitted_on": timezone.localdate().isoformat()},
    )
    assert response.status_code == 404
    client.force_login(fundraiser)
    assert client.get(_submission_url(sponsorship)).status_code == 403
    client.force_login(treasurer)
    assert client.get(_submission_url(sponsorship)).status_code == 302  # the admin's sign-in
    assert not PlanSubmission.objects.exists()
    assert not CaseFileAccess.objects.filter(family=other_sponsorship.family).exists()
