"""The access matrix: every URL of the project, requested as every role of the cast.

The URL resolver is walked, so a new view is covered automatically: a URL missing from the
tables below FAILS, and the failure prints the line to add (with the statuses it observed,
to be checked against the access table in docs/architecture.md before pasting).

- Site URLs (`MATRIX`): one line per URL, one expected result per role. Objects in URLs
  belong to ANOTHER group than the requester's (group B's coordinator asks for group A's
  sponsorship, group A's member for group B's); staff ask for existing objects. The column
  `own` is the positive control: group B's coordinator on group B's own objects.
- Admin URLs: every registered ModelAdmin's changelist, add, change, history and delete
  pages are checked generically against `ADMIN_MODELS` (who may view / add / delete, by
  model); the admin's other URLs (index, login, tools, reports) are lines in `MATRIX`.

Expected results: 200, 403, 404, 405 (wrong method), 410, LOGIN (302 to the sign-in page),
ADMIN_LOGIN (302 to the admin sign-in), BREAK_GLASS (302 to "open another family's file",
where a case worker states why they open a family not assigned to them), 302 (another
redirect).

Need-to-know: the cast's case worker is assigned group A's family and not group B's. Every
admin page of a case file (family, sponsorship, milestone, extension) is requested for an
object of each, as every staff role (`test_case_workers_see_assigned_files_and_break_the_glass
_for_others`).
"""

from __future__ import annotations

import datetime
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from config.middleware import PASSWORD_ONLY_STAFF_MAY_OPEN
from config.models import BreachRecord
from core.roles import CASE_WORKER, FUNDRAISING, PROGRAM_MANAGER
from evidence import services as evidence_services
from families.admin import LogsCaseFileViews
from families.models import CaseFileAccess
from fundraising import demo as fundraising_demo
from fundraising import services as fundraising_services
from fundraising.models import DonorEmail, Receipt, ReceiptBranding, StripeEvent
from sponsorship import portal_services
from sponsorship import services as sponsorship_services
from sponsorship.models import CheckIn, Membership, NotificationPreference, RapRate, Reminder
from tests.factories import (
    MembershipFactory,
    PledgeFactory,
    SponsorGroupFactory,
    SponsorshipFactory,
    StaffFactory,
    UserFactory,
)

LOGIN = "LOGIN"
ADMIN_LOGIN = "ADMIN_LOGIN"
BREAK_GLASS = "BREAK_GLASS"  # 302 to "open another family's file" (state a reason first)
SECOND_FACTOR = "SECOND_FACTOR"  # 302 to the second-factor page

ROLES = (
    "anonymous",
    "donor",
    "member_a",
    "coordinator_b",
    "own",
    "case_worker",
    "fundraiser",
    "program_manager",
)
STAFF = ("case_worker", "fundraiser", "program_manager")

# fmt: off
# URL name (or pattern when unnamed): (method, anonymous, donor, member_a, coordinator_b, own,
#                                      case_worker, fundraiser, program_manager)
MATRIX: dict[str, tuple] = {
    "home":                          ("GET", 302, 302, 302, 302, 302, 302, 302, 302),
    "healthz":                       ("GET", 200, 200, 200, 200, 200, 200, 200, 200),
    "set_language":                  ("POST", 302, 302, 302, 302, 302, 302, 302, 302),
    "login":                         ("GET", 200, 200, 302, 302, 302, 302, 302, 302),
    "logout":                        ("POST", LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),  # noqa: E501
    "password_change":               ("GET", LOGIN, LOGIN, 200, 200, 200, 200, 200, 200),
    "password_change_done":          ("GET", LOGIN, LOGIN, 200, 200, 200, 200, 200, 200),
    "password_reset":                ("GET", 200, 200, 200, 200, 200, 200, 200, 200),
    "password_reset_done":           ("GET", 200, 200, 200, 200, 200, 200, 200, 200),
    "password_reset_confirm":        ("GET", 200, 200, 200, 200, 200, 200, 200, 200),
    "password_reset_complete":       ("GET", 200, 200, 200, 200, 200, 200, 200, 200),
    # Staff set up or enter their code here (2FA is off in tests: see test_second_factor.py).
    "otp-verify":                    ("GET", LOGIN, LOGIN, 302, 302, 302, 200, 200, 200),
    # Staff make new backup codes for the second factor (shown once).
    "otp-backup-codes":              ("GET", LOGIN, LOGIN, 302, 302, 302, 200, 200, 200),
    "notification-preferences":      ("GET", LOGIN, LOGIN, 200, 200, 200, 200, 200, 200),
    # Public pages; the thank-you page is a capability link (its UUID is the secret).
    "fundraising:index":             ("GET", 302, 302, 302, 302, 302, 302, 302, 302),
    "fundraising:campaign":          ("GET", 200, 200, 200, 200, 200, 200, 200, 200),
    "fundraising:progress-json":     ("GET", 200, 200, 200, 200, 200, 200, 200, 200),
    "fundraising:widget":            ("GET", 200, 200, 200, 200, 200, 200, 200, 200),
    "fundraising:pledge-thanks":     ("GET", 200, 200, 200, 200, 200, 200, 200, 200),
    "fundraising:reminders-stop":    ("GET", 200, 200, 200, 200, 200, 200, 200, 200),
    "fundraising:pledge-confirm":    ("GET", 200, 200, 200, 200, 200, 200, 200, 200),
    # Donor self-service: a sign-in link by e-mail, then the session; staff accounts mean nothing.
    "fundraising:donor-start":       ("GET", 200, 200, 200, 200, 200, 200, 200, 200),
    "fundraising:donor-link":        ("GET", 410, 410, 410, 410, 410, 410, 410, 410),
    "fundraising:donor-home":        ("GET", 302, 302, 302, 302, 302, 302, 302, 302),
    "fundraising:donor-pledge-action": ("POST", 302, 302, 302, 302, 302, 302, 302, 302),
    "fundraising:donor-receipt":     ("GET", 302, 302, 302, 302, 302, 302, 302, 302),
    "fundraising:donor-export":      ("GET", 302, 302, 302, 302, 302, 302, 302, 302),
    "fundraising:donor-erase":       ("POST", 302, 302, 302, 302, 302, 302, 302, 302),
    "fundraising:donor-sign-out":    ("POST", 302, 302, 302, 302, 302, 302, 302, 302),
    # Stripe's webhook: absent without Stripe keys (as in tests); signed requests only.
    "fundraising:stripe-webhook":    ("POST", 404, 404, 404, 404, 404, 404, 404, 404),
    # The sponsor portal: another group's objects are 404, staff included (they use the admin).
    "portal:dashboard":              ("GET", LOGIN, LOGIN, 200, 200, 200, 200, 200, 200),
    "portal:inbox":                  ("GET", LOGIN, LOGIN, 200, 200, 200, 200, 200, 200),
    "portal:inbox-read":             ("POST", LOGIN, LOGIN, 302, 302, 302, 302, 302, 302),
    "portal:inbox-read (GET)":       ("GET", LOGIN, LOGIN, 405, 405, 405, 405, 405, 405),
    "portal:invitation-accept":      ("GET", 200, 200, 200, 200, 200, 200, 200, 200),
    "portal:sponsorship":            ("GET", LOGIN, LOGIN, 404, 404, 200, 404, 404, 404),
    "portal:plan":                   ("GET", LOGIN, LOGIN, 404, 404, 200, 404, 404, 404),
    "portal:milestone-add":          ("GET", LOGIN, LOGIN, 404, 404, 200, 404, 404, 404),
    "portal:checkins":               ("GET", LOGIN, LOGIN, 404, 404, 200, 404, 404, 404),
    "portal:checkin-create":         ("GET", LOGIN, LOGIN, 404, 404, 200, 404, 404, 404),
    "portal:income-support":         ("GET", LOGIN, LOGIN, 404, 404, 200, 404, 404, 404),
    "portal:disbursement-create":    ("GET", LOGIN, LOGIN, 404, 404, 403, 404, 404, 404),
    "portal:family-income":          ("GET", LOGIN, LOGIN, 404, 404, 403, 404, 404, 404),
    "portal:reviews":                ("GET", LOGIN, LOGIN, 404, 404, 200, 404, 404, 404),
    "portal:milestone":              ("GET", LOGIN, LOGIN, 404, 404, 200, 404, 404, 404),
    "portal:milestone-complete":     ("POST", LOGIN, LOGIN, 404, 404, 200, 404, 404, 404),
    "portal:milestone-complete (GET)": ("GET", LOGIN, LOGIN, 405, 405, 405, 405, 405, 405),
    "portal:milestone-note":         ("POST", LOGIN, LOGIN, 404, 404, 200, 404, 404, 404),
    "portal:milestone-waiver":       ("POST", LOGIN, LOGIN, 404, 404, 200, 404, 404, 404),
    # An empty POST is "no one named": valid, saved, redirected.
    "portal:milestone-responsible":  ("POST", LOGIN, LOGIN, 404, 404, 302, 404, 404, 404),
    "portal:review-input":           ("GET", LOGIN, LOGIN, 404, 404, 200, 404, 404, 404),
    # Evidence: the group's documents and plan; a document or a plan's PDF also opens to
    # case-management staff (the case file's scope), never to fundraising staff.
    "evidence:documents":            ("GET", LOGIN, LOGIN, 404, 404, 200, 404, 404, 404),
    "evidence:document-download":    ("GET", LOGIN, LOGIN, 404, 404, 200, 200, 404, 200),
    "evidence:plan-acknowledge":     ("GET", LOGIN, LOGIN, 404, 404, 200, 404, 404, 404),
    "evidence:plan-pdf":             ("GET", LOGIN, LOGIN, 404, 404, 200, 200, 404, 200),
    # The admin's own pages (model pages are checked against ADMIN_MODELS below).
    # A case worker opens a family not assigned to them by stating why (break the glass).
    "admin:families_family_open":    ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, 403, 403),  # noqa: E501
    "admin:index":                   ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, 200, 200),  # noqa: E501
    # Reports: program and group for case staff, fundraising for money staff (docs/architecture.md).
    "admin:reports":            ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, 200, 200),  # noqa: E501
    "admin:report-program":     ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, 403, 200),  # noqa: E501
    "admin:report-groups":      ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, 403, 200),  # noqa: E501
    "admin:report-fundraising": ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 200, 200),  # noqa: E501
    "admin:login":                   ("GET", 200, 200, 200, 200, 200, 302, 302, 302),
    "admin:logout":                  ("POST", 302, 302, 302, 302, 302, LOGIN, LOGIN, LOGIN),
    "admin:password_change":         ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, 200, 200),  # noqa: E501
    "admin:password_change_done":    ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, 200, 200),  # noqa: E501
    "admin:autocomplete":            ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 403),  # noqa: E501
    "admin:jsi18n":                  ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, 200, 200),  # noqa: E501
    "admin:view_on_site":            ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 404, 404, 404),  # noqa: E501
    "admin:app_list":                ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, 404, 200),  # noqa: E501
    "admin/(?P<url>.*)$":            ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 404, 404, 404),  # noqa: E501
    "admin:auth_user_password_change": ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 403),  # noqa: E501
    "admin:otp_totp_totpdevice_config": ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 403),  # noqa: E501
    "admin:otp_totp_totpdevice_qrcode": ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 403),  # noqa: E501
    "admin:fundraising_receipt_pdf":    ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 200, 200),  # noqa: E501
    "admin:fundraising_receipt_yearly": ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 200, 200),  # noqa: E501
    "admin:fundraising_receipt_year_end": ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 200, 200),  # noqa: E501
    "admin:fundraising_payment_import": ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 200, 200),  # noqa: E501
    "admin:fundraising_reports":        ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 200, 200),  # noqa: E501
    # One pledge's wall entry approved or declined (POST; without a decision: 400).
    "admin:fundraising_pledge_wall":    ("POST", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 400, 400),  # noqa: E501
    "admin:fundraising_donor":          ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 200, 200),  # noqa: E501
    # The evidence pack: program managers only (an export of the whole file).
    "admin:evidence_sponsorshipevidence_pack": ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 403, 403, 200),  # noqa: E501
    # Recording the plan's submission to IRCC: case-management staff with the family in scope.
    "admin:evidence_sponsorshipevidence_submission": ("GET", ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, 200, 403, 200),  # noqa: E501
}
# fmt: on

# URL keyword arguments per URL name, given the cast and the requesting role. Objects are
# another group's (see the module docstring); `own` asks for its own group's.


def _theirs(cast: Cast, role: str) -> Objects:
    if role == "member_a":
        return cast.b
    if role == "own":
        return cast.b
    return cast.a  # coordinator_b, staff, anonymous visitors: group A's objects


URL_KWARGS = {
    "password_reset_confirm": lambda cast, role: {"uidb64": "MQ", "token": "set-password"},
    "fundraising:campaign": lambda cast, role: {"slug": cast.campaign.slug},
    "fundraising:progress-json": lambda cast, role: {"slug": cast.campaign.slug},
    "fundraising:widget": lambda cast, role: {"slug": cast.campaign.slug},
    "fundraising:pledge-thanks": lambda cast, role: {"public_id": cast.pledge.public_id},
    "fundraising:reminders-stop": lambda cast, role: {"token": cast.stop_token},
    "fundraising:pledge-confirm": lambda cast, role: {"token": cast.confirm_token},
    "fundraising:donor-link": lambda cast, role: {"token": "not-a-link"},
    "fundraising:donor-pledge-action": lambda cast, role: {
        "public_id": cast.pledge.public_id,
        "action": "pause",
    },
    "fundraising:donor-receipt": lambda cast, role: {"public_id": cast.receipt.public_id},
    "portal:invitation-accept": lambda cast, role: {"token": cast.invitation_token},
    "portal:sponsorship": lambda cast, role: {"public_id": _theirs(cast, role).sponsorship},
    "portal:plan": lambda cast, role: {"public_id": _theirs(cast, role).sponsorship},
    "portal:milestone-add": lambda cast, role: {"public_id": _theirs(cast, role).sponsorship},
    "portal:checkins": lambda cast, role: {"public_id": _theirs(cast, role).sponsorship},
    "portal:checkin-create": lambda cast, role: {"public_id": _theirs(cast, role).sponsorship},
    "portal:income-support": lambda cast, role: {"public_id": _theirs(cast, role).sponsorship},
    "portal:disbursement-create": lambda cast, role: {"public_id": _theirs(cast, role).sponsorship},
    "portal:family-income": lambda cast, role: {"public_id": _theirs(cast, role).sponsorship},
    "portal:reviews": lambda cast, role: {"public_id": _theirs(cast, role).sponsorship},
    "portal:milestone": lambda cast, role: {"public_id": _theirs(cast, role).milestone},
    "portal:milestone-complete": lambda cast, role: {"public_id": _theirs(cast, role).milestone},
    "portal:milestone-note": lambda cast, role: {"public_id": _theirs(cast, role).milestone},
    "portal:milestone-waiver": lambda cast, role: {"public_id": _theirs(cast, role).milestone},
    "portal:milestone-responsible": lambda cast, role: {"public_id": _theirs(cast, role).milestone},
    "portal:review-input": lambda cast, role: {"public_id": _theirs(cast, role).review},
    "admin:view_on_site": lambda cast, role: {
        "content_type_id": ContentType.objects.get_for_model(cast.family_a).pk,
        "object_id": cast.family_a.pk,
    },
    "admin:app_list": lambda cast, role: {"app_label": "families"},
    "admin/(?P<url>.*)$": lambda cast, role: {"url": "no-such-page/"},
    "admin:auth_user_password_change": lambda cast, role: {"id": cast.users["member_a"].pk},
    "admin:otp_totp_totpdevice_config": lambda cast, role: {"pk": cast.totp_device.pk},
    "admin:otp_totp_totpdevice_qrcode": lambda cast, role: {"pk": cast.totp_device.pk},
    "admin:fundraising_receipt_pdf": lambda cast, role: {"pk": cast.receipt.pk},
    "admin:fundraising_pledge_wall": lambda cast, role: {"object_id": cast.pledge.pk},
    "evidence:documents": lambda cast, role: {"public_id": _theirs(cast, role).sponsorship},
    "evidence:document-download": lambda cast, role: {"public_id": _theirs(cast, role).document},
    "evidence:plan-acknowledge": lambda cast, role: {"public_id": _theirs(cast, role).sponsorship},
    "evidence:plan-pdf": lambda cast, role: {"public_id": _theirs(cast, role).plan_version},
    "admin:evidence_sponsorshipevidence_pack": lambda cast, role: {
        "object_id": _theirs(cast, role).sponsorship_pk
    },
    "admin:evidence_sponsorshipevidence_submission": lambda cast, role: {
        "object_id": _theirs(cast, role).sponsorship_pk
    },
}

# --- admin model pages -----------------------------------------------------------------------
PM, CW, FR = "program_manager", "case_worker", "fundraiser"


@dataclass(frozen=True)
class AdminAccess:
    """Who may open a model's changelist/change/history (view), add page and delete page."""

    view: frozenset[str]
    add: frozenset[str] = frozenset()
    delete: frozenset[str] = frozenset()


def _a(view=(), add=(), delete=()) -> AdminAccess:
    return AdminAccess(frozenset(view), frozenset(add), frozenset(delete))


CASE_STAFF = (PM, CW)
MONEY_STAFF = (PM, FR)

# fmt: off
ADMIN_MODELS: dict[str, AdminAccess] = {
    "auth.group":                   _a(view=[PM]),
    "auth.user":                    _a(view=[PM]),
    "otp_totp.totpdevice":          _a(),
    "otp_static.staticdevice":      _a(),
    "axes.accessattempt":           _a(view=[PM], delete=[PM]),  # delete = unlock
    "axes.accesslog":               _a(view=[PM]),
    "axes.accessfailurelog":        _a(view=[PM]),
    "families.family":              _a(view=CASE_STAFF, add=CASE_STAFF),
    "families.casefileaccess":      _a(view=[PM]),
    "sponsorship.sponsorgroup":     _a(view=CASE_STAFF, add=CASE_STAFF, delete=[PM]),
    "sponsorship.sponsorship":      _a(view=CASE_STAFF, delete=[PM]),  # added by matching
    "sponsorship.extension":        _a(view=CASE_STAFF, delete=[PM]),  # requested by action
    "sponsorship.milestone":        _a(view=CASE_STAFF, delete=[PM]),  # generated plan
    "sponsorship.checkin":          _a(view=CASE_STAFF),  # read-only: the group's own words
    "sponsorship.milestonetemplate": _a(view=CASE_STAFF, add=CASE_STAFF, delete=[PM]),
    "sponsorship.reviewtemplate":   _a(view=CASE_STAFF, add=CASE_STAFF, delete=[PM]),
    "sponsorship.costtableentry":   _a(view=CASE_STAFF, add=CASE_STAFF, delete=[PM]),
    "sponsorship.raprate":          _a(view=CASE_STAFF, add=CASE_STAFF, delete=[PM]),
    "sponsorship.invitation":       _a(view=CASE_STAFF, add=CASE_STAFF),
    "fundraising.campaign":         _a(view=MONEY_STAFF, add=MONEY_STAFF),
    "fundraising.pledge":           _a(view=MONEY_STAFF),  # pledges come through /give/
    "fundraising.payment":          _a(view=MONEY_STAFF, add=MONEY_STAFF),
    "fundraising.receipt":          _a(view=MONEY_STAFF),
    "fundraising.donoremail":       _a(view=MONEY_STAFF),
    "fundraising.stripeevent":      _a(view=MONEY_STAFF),  # written by the webhook only
    "fundraising.receiptbranding":  _a(view=MONEY_STAFF),  # one row: added once, then edited
    "sponsorship.reminder":         _a(view=CASE_STAFF),  # written by the sweep, never by hand
    "sponsorship.reminderrule":     _a(view=CASE_STAFF),  # seeded; edited, never added
    "sponsorship.notificationpreference": _a(view=CASE_STAFF, add=CASE_STAFF, delete=[PM]),
    "config.breachrecord":          _a(view=[PM], add=[PM]),
    "sponsorship.monitoringschedule": _a(view=CASE_STAFF, add=CASE_STAFF, delete=[PM]),
    "evidence.document":            _a(view=CASE_STAFF, add=CASE_STAFF),  # never deleted
    "evidence.planversion":         _a(view=CASE_STAFF),  # made when a member opens the plan
    "evidence.sponsorshipevidence": _a(view=CASE_STAFF),
}
# fmt: on
ADMIN_ROLES = ("member_a", *STAFF)
ADMIN_ACTIONS = ("changelist", "add", "change", "history", "delete", "simple_history")

# --- the cast ---------------------------------------------------------------------------------


@dataclass
class Objects:
    sponsorship: uuid.UUID
    milestone: uuid.UUID
    review: uuid.UUID
    document: uuid.UUID
    plan_version: uuid.UUID
    sponsorship_pk: int


@dataclass
class Cast:
    users: dict
    a: Objects
    b: Objects
    family_a: object  # assigned to the case worker
    family_b: object  # not assigned to them
    campaign: object
    pledge: object
    stop_token: str
    confirm_token: str
    invitation_token: str
    totp_device: object
    receipt: object
    sessions: dict = field(default_factory=dict)  # role -> session key, see _sign_in_once


def _objects(sponsorship) -> Objects:
    milestone = sponsorship.milestones.first()
    document = evidence_services.document_upload(
        target=milestone,
        kind="form",
        uploaded_file=SimpleUploadedFile("matrix.pdf", b"%PDF-1.4\n%%EOF\n"),
        user=sponsorship.family.case_worker or Membership.objects.first().user,
    )
    return Objects(
        sponsorship=sponsorship.public_id,
        milestone=milestone.public_id,
        review=sponsorship.reviews.first().public_id,
        document=document.public_id,
        plan_version=evidence_services.plan_version_current(sponsorship=sponsorship).public_id,
        sponsorship_pk=sponsorship.pk,
    )


def _build_cast() -> Cast:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    campaign = fundraising_demo.seed()
    today = timezone.localdate()
    group_a, group_b = SponsorGroupFactory(name="Group A"), SponsorGroupFactory(name="Group B")
    case_worker = StaffFactory(email="cw@matrix.test", roles=[CASE_WORKER])
    sponsorship_a = SponsorshipFactory(
        group=group_a, arrival_date=today - datetime.timedelta(days=100)
    )
    sponsorship_b = SponsorshipFactory(
        group=group_b, arrival_date=today - datetime.timedelta(days=40)
    )
    sponsorship_a.family.case_worker = case_worker
    sponsorship_a.family.save(update_fields=["case_worker"])
    coordinator_b = MembershipFactory(
        group=group_b, role=Membership.Role.COORDINATOR, user__email="cb@matrix.test"
    ).user
    users = {
        "member_a": MembershipFactory(
            group=group_a, role=Membership.Role.MEMBER, user__email="ma@matrix.test"
        ).user,
        "coordinator_b": coordinator_b,
        "own": coordinator_b,
        "case_worker": case_worker,
        "fundraiser": StaffFactory(email="fr@matrix.test", roles=[FUNDRAISING]),
        "program_manager": StaffFactory(email="pm@matrix.test", roles=[PROGRAM_MANAGER]),
    }
    pledge = PledgeFactory(campaign=campaign, email="donor@matrix.test")
    invitee = UserFactory.build(email="new.member@matrix.test")
    _invitation, token = portal_services.invitation_create(
        email=invitee.email, group=group_a, role=Membership.Role.MEMBER, invited_by=case_worker
    )
    # One row of every other registered model, so that each has a change page to open.
    totp = TOTPDevice.objects.create(user=users["program_manager"], name="phone")
    StaticDevice.objects.create(user=users["program_manager"], name="backup")
    AccessAttempt.objects.create(
        username="ma@matrix.test", ip_address="10.0.0.1", failures_since_start=5
    )
    AccessLog.objects.create(username="ma@matrix.test", ip_address="10.0.0.1")
    AccessFailureLog.objects.create(username="ma@matrix.test", ip_address="10.0.0.1")
    CaseFileAccess.objects.create(user=case_worker, family=sponsorship_a.family, page="matrix")
    sponsorship_services.extension_request(
        sponsorship=sponsorship_b, months=3, reason="Matrix", requested_by=coordinator_b
    )

    for s in (sponsorship_a, sponsorship_b):  # the check-in page the urgent e-mail links to
        CheckIn.objects.create(
            sponsorship=s,
            happened_on=today,
            who="Matrix",
            wellbeing=CheckIn.Wellbeing.WELL,
            logged_by=case_worker,
        )
    Reminder.objects.create(
        kind=Reminder.Kind.MILESTONE_DUE,
        subject_key="matrix:1",
        due_on=today,
        recipient=case_worker,
        sponsorship=sponsorship_b,
    )
    NotificationPreference.objects.create(
        user=case_worker, kind=Reminder.Kind.WEEKLY_DIGEST, email_enabled=False
    )
    RapRate.objects.create(
        community="Toronto",
        household_size=1,
        monthly_amount=Decimal("1000.00"),
        effective_from=today,
    )
    BreachRecord.objects.create(
        occurred_on=today,
        data_affected=BreachRecord.Data.choices[0][0],
        risk=BreachRecord.Risk.choices[0][0],
        what_happened="A fictional record for the access matrix.",
        recorded_by=users["program_manager"],
    )
    if not DonorEmail.objects.exists():
        fundraising_services.pledge_create(
            campaign=campaign,
            donor_name="Mail Donor",
            email="mail@matrix.test",
            amount=pledge.amount,
            pledged_on=today,
        )
    ReceiptBranding.objects.create()
    StripeEvent.objects.create(
        event_id="evt_matrix",
        type="invoice.paid",
        created=timezone.now(),
        outcome=StripeEvent.Outcome.UNMATCHED,
        payload={"id": "evt_matrix"},
    )
    return Cast(
        users=users,
        a=_objects(sponsorship_a),
        b=_objects(sponsorship_b),
        family_a=sponsorship_a.family,
        family_b=sponsorship_b.family,
        campaign=campaign,
        pledge=pledge,
        stop_token=fundraising_services.reminders_stop_token(pledge),
        confirm_token=fundraising_services.pledge_confirm_token(pledge),
        invitation_token=token,
        totp_device=totp,
        receipt=Receipt.objects.first(),
    )


@pytest.fixture(scope="module")
def cast(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once for the module inside a transaction that is rolled back at the end; each
    test's own transaction nests inside it (as a savepoint). Documents go to a temporary
    folder, unscanned (no clamd here: tests/evidence covers scanning)."""
    documents = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path_factory.mktemp("matrix-documents"))},
    }
    with (
        override_settings(STORAGES={**settings.STORAGES, "documents": documents}, CLAMAV_SOCKET=""),
        django_db_blocker.unblock(),
        transaction.atomic(),
    ):
        built = _build_cast()
        built.sessions = _sign_in_once(built.users)
        yield built
        transaction.set_rollback(True)


def _sign_in_once(users: dict) -> dict[str, str]:
    """One session per role for the whole module (signing in costs a session row, a new key,
    django-axes' log and last_login: ~8 ms, paid ~1,300 times before)."""
    sessions = {}
    for role, user in users.items():
        client = Client()
        client.force_login(user)
        sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return sessions


class _IsolatedClient(Client):
    """Each request sees the cast as built and leaves nothing behind (its own savepoint, rolled
    back): a shared session that a request signs out or changes is back for the next one."""

    def request(self, **request):
        with transaction.atomic():
            response = super().request(**request)
            transaction.set_rollback(True)
        return response


def _client(cast: Cast, role: str) -> Client:
    client = _IsolatedClient()
    if role in cast.sessions:
        client.cookies[settings.SESSION_COOKIE_NAME] = cast.sessions[role]
    return client


def _outcome(response) -> int | str:
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith(reverse("admin:login")):
            return ADMIN_LOGIN
        if location.startswith(reverse("login")):
            return LOGIN
        if location.startswith(reverse("admin:families_family_open")):
            return BREAK_GLASS
        if location.startswith(reverse("otp-verify")):
            return SECOND_FACTOR
    return response.status_code


# --- walking the resolver ---------------------------------------------------------------------


def _walk(patterns, prefix: str = "", namespace: str | None = None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = namespace
            if pattern.namespace:
                ns = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            name = pattern.name and (f"{namespace}:{pattern.name}" if namespace else pattern.name)
            yield prefix + str(pattern.pattern), name


def _model_page_names() -> set[str]:
    names = set()
    for model in admin.site._registry:
        info = f"{model._meta.app_label}_{model._meta.model_name}"
        names.update(f"admin:{info}_{action}" for action in ADMIN_ACTIONS)
    return names


def _model_prefixes() -> tuple[str, ...]:
    return tuple(f"admin/{m._meta.app_label}/{m._meta.model_name}/" for m in admin.site._registry)


def site_urls() -> list[tuple[str, str]]:
    """(key, route) of every URL outside the admin's model pages; the first route wins."""
    seen_routes: set[str] = set()
    urls = []
    model_names, model_prefixes = _model_page_names(), _model_prefixes()
    for route, name in _walk(get_resolver().url_patterns):
        if route in seen_routes:
            continue  # shadowed by an earlier pattern (e.g. our rate-limited sign-in)
        seen_routes.add(route)
        if name in model_names:
            continue
        if name is None and route.startswith(model_prefixes):
            continue  # the admin's redirect from <id>/ to <id>/change/
        urls.append((name or route, route))
    return urls


SITE_URLS = site_urls()


def _suggestion(key: str, observed: list) -> str:
    method = "GET"
    cells = ", ".join(str(o) if isinstance(o, int) else o for o in observed)
    return f'    "{key}": ("{method}", {cells}),'


def _request(client: Client, method: str, path: str):
    return client.post(path) if method == "POST" else client.get(path)


def _path(key: str, cast: Cast, role: str) -> str:
    name = key.removesuffix(" (GET)")
    kwargs = URL_KWARGS[name](cast, role) if name in URL_KWARGS else {}
    if re.search(r"[(<]", name):  # an unnamed pattern: its route is the key
        return "/admin/" + kwargs.get("url", "")
    return reverse(name, kwargs=kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize("key,route", SITE_URLS, ids=[k for k, _r in SITE_URLS])
def test_it_answers_every_url_as_the_table_says(cast, key, route):
    if key not in MATRIX:
        observed = []
        for role in ROLES:
            try:
                path = _path(key, cast, role)
            except Exception:  # noqa: BLE001 - needs URL_KWARGS: say so below
                observed = None
                break
            observed.append(_outcome(_request(_client(cast, role), "GET", path)))
        hint = (
            _suggestion(key, observed)
            if observed
            else f'    "{key}": ("GET", ...),  # and add its kwargs to URL_KWARGS'
        )
        pytest.fail(
            f"URL /{route} ({key}) is not in the access matrix. Check what each role should "
            f"get (docs/architecture.md, 'Who may see what') and add to MATRIX in "
            f"tests/test_access_matrix.py:\n{hint}"
        )
    keys = [key] + [k for k in MATRIX if k == f"{key} (GET)"]
    mismatches = []
    for row_key in keys:
        method, *expected = MATRIX[row_key]
        for role, want in zip(ROLES, expected, strict=True):
            path = _path(row_key, cast, role)
            got = _outcome(_request(_client(cast, role), method, path))
            if got != want:
                mismatches.append(f"{method} {path} as {role}: expected {want}, got {got}")
    assert not mismatches, "\n".join(mismatches)


def test_every_line_of_the_table_is_a_url_that_exists():
    keys = {key for key, _route in SITE_URLS}
    stale = [k for k in MATRIX if k.removesuffix(" (GET)") not in keys]
    assert not stale, f"MATRIX lines for URLs that no longer exist: {stale}"


# --- admin model pages, generically ----------------------------------------------------------


def _version_page(model, obj, info: str) -> dict[str, str]:
    """django-simple-history's page of one old version, for models whose admin keeps it."""
    if not hasattr(model, "history"):
        return {}
    version = (
        model.history.filter(**{model._meta.pk.attname: obj.pk}).order_by("history_id").first()
    )
    if version is None:
        return {}
    try:
        path = reverse(f"{info}_simple_history", args=[quote(obj.pk), version.history_id])
    except NoReverseMatch:
        return {}  # the model keeps history, its admin shows none
    return {"version": path}


REGISTERED = sorted(f"{m._meta.app_label}.{m._meta.model_name}" for m in admin.site._registry)


def _assigned_to_case_worker(cast: Cast, model, obj) -> bool:
    """True unless `obj` belongs to a case file not assigned to the cast's case worker."""
    model_admin = admin.site._registry[model]
    if not hasattr(model_admin, "family_lookup"):
        return True  # not a case-file page
    family = model_admin.case_file_family(obj.pk)
    return family is None or family.case_worker_id == cast.users["case_worker"].pk


def _expected_admin(access: AdminAccess, action: str, role: str, assigned: bool = True):
    if role not in STAFF:
        return ADMIN_LOGIN
    page_of_the_file = action in ("change", "history", "version")
    if role == CW and not assigned and page_of_the_file and role in access.view:
        return BREAK_GLASS
    allowed = {
        "changelist": access.view,
        "change": access.view,  # view-only staff see a read-only page
        "history": access.view,
        "add": access.add,
        "delete": access.delete,
        "version": access.view,  # an old version holds old values: same rule as the file
    }[action]
    return 200 if role in allowed else 403


@pytest.mark.django_db
@pytest.mark.parametrize("label", REGISTERED)
def test_it_opens_each_admin_model_page_only_for_the_right_staff(cast, label):
    if label not in ADMIN_MODELS:
        pytest.fail(
            f"{label} is registered in the admin but not in ADMIN_MODELS of "
            f'tests/test_access_matrix.py: add a line such as\n    "{label}": _a(view=[PM]),'
        )
    model = next(m for m in admin.site._registry if m._meta.label_lower == label)
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None, f"the cast has no {label} to open a change page of: add one"
    info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    paths = {
        "changelist": reverse(f"{info}_changelist"),
        **_version_page(model, obj, info),
        "add": reverse(f"{info}_add"),
        "change": reverse(f"{info}_change", args=[quote(obj.pk)]),
        "history": reverse(f"{info}_history", args=[quote(obj.pk)]),
        "delete": reverse(f"{info}_delete", args=[quote(obj.pk)]),
    }
    clients = {role: _client(cast, role) for role in ADMIN_ROLES}
    assigned = _assigned_to_case_worker(cast, model, obj)
    mismatches = []
    for action, path in paths.items():
        for role in ADMIN_ROLES:
            want = _expected_admin(ADMIN_MODELS[label], action, role, assigned)
            got = _outcome(clients[role].get(path))
            if got != want:
                mismatches.append(f"GET {path} ({action}) as {role}: expected {want}, got {got}")
    assert not mismatches, "\n".join(mismatches)


def test_it_has_no_admin_line_for_a_model_no_longer_registered():
    assert not set(ADMIN_MODELS) - set(REGISTERED)


def test_a_made_up_thank_you_link_is_404(client, db):
    assert client.get(reverse("fundraising:pledge-thanks", args=[uuid.uuid4()])).status_code == 404


# --- need-to-know: assigned and unassigned case files -------------------------------------------

CASE_FILE_MODELS = sorted(
    f"{m._meta.app_label}.{m._meta.model_name}"
    for m, model_admin in admin.site._registry.items()
    if hasattr(model_admin, "family_lookup")
)


@pytest.mark.parametrize("label", CASE_FILE_MODELS)
def test_each_case_file_page_knows_the_way_to_its_family(label):
    """A wrong `family_lookup` compares the model's own ids with family ids: right only by
    chance, in a fresh database (SQLite numbers each test from 1, PostgreSQL does not)."""
    model = next(m for m in admin.site._registry if m._meta.label_lower == label)
    assert [e.msg for e in admin.site._registry[model].check() if e.id == "families.E001"] == []


def test_a_case_file_page_without_the_way_to_its_family_is_refused():
    for lookup in ("", "sponsorship", "sponsorship__group", "sponsorship__nothing"):
        page = type("Lost", (LogsCaseFileViews,), {"family_lookup": lookup})
        errors = page(CheckIn, admin.site).check()
        assert [e.id for e in errors if e.id == "families.E001"] == ["families.E001"], lookup


def _object_of(model, family):
    model_admin = admin.site._registry[model]
    lookup = model_admin._family_field("pk")
    return model._default_manager.filter(**{lookup: family.pk}).order_by("pk").first()


@pytest.mark.django_db
@pytest.mark.parametrize("label", CASE_FILE_MODELS)
def test_case_workers_see_assigned_files_and_break_the_glass_for_others(cast, label):
    assert {"families.family", "sponsorship.sponsorship", "sponsorship.milestone"} <= set(
        CASE_FILE_MODELS
    )
    model = next(m for m in admin.site._registry if m._meta.label_lower == label)
    info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    from sponsorship import services as sponsorship_services

    if label == "sponsorship.extension" and _object_of(model, cast.family_a) is None:
        sponsorship_services.extension_request(
            sponsorship=cast.family_a.sponsorships.get(),
            months=2,
            reason="Matrix A",
            requested_by=cast.users["case_worker"],
        )
    want = {
        # (assigned, role): outcome of the change, history and version pages
        (True, CW): 200,
        (False, CW): BREAK_GLASS,
        (True, PM): 200,
        (False, PM): 200,
        (True, FR): 403,
        (False, FR): 403,
    }
    clients = {role: _client(cast, role) for role in STAFF}
    mismatches = []
    for assigned, family in ((True, cast.family_a), (False, cast.family_b)):
        obj = _object_of(model, family)
        assert obj is not None, f"the cast has no {label} of {family}"
        paths = [
            reverse(f"{info}_change", args=[quote(obj.pk)]),
            reverse(f"{info}_history", args=[quote(obj.pk)]),
            *_version_page(model, obj, info).values(),
        ]
        for path in paths:
            for role in STAFF:
                got = _outcome(clients[role].get(path))
                if got != want[(assigned, role)]:
                    mismatches.append(
                        f"GET {path} (assigned={assigned}) as {role}: "
                        f"expected {want[(assigned, role)]}, got {got}"
                    )
    listing = clients[CW].get(reverse(f"{info}_changelist")).content.decode()
    if cast.family_b.case_code in listing:
        mismatches.append(f"{info}_changelist shows the unassigned family to the case worker")
    if cast.family_a.case_code not in listing:
        mismatches.append(f"{info}_changelist hides the assigned family from the case worker")
    everything = clients[PM].get(reverse(f"{info}_changelist")).content.decode()
    if cast.family_b.case_code not in everything:
        mismatches.append(f"{info}_changelist hides a family from the program manager")
    assert not mismatches, "\n".join(mismatches)


# --- staff who typed only their password ---------------------------------------------------------
# A role of its own: every staff member before the second factor. Each URL answers them as
# it answers an anonymous visitor where that is a public page (200), and otherwise only with
# the way to the second factor: no page, no POST, nothing changed.


@pytest.mark.django_db
@pytest.mark.parametrize("key,route", SITE_URLS, ids=[k for k, _r in SITE_URLS])
def test_staff_without_a_second_factor_reach_only_public_pages(cast, settings, key, route):
    settings.STAFF_REQUIRE_2FA = True
    keys = [key] + [k for k in MATRIX if k == f"{key} (GET)"]
    mismatches = []
    for row_key in keys:
        method, anonymous, *_others = MATRIX[row_key]
        for role in STAFF:
            path = _path(row_key, cast, role)
            got = _outcome(_request(_client(cast, role), method, path))
            public = anonymous == 200 or got == anonymous
            if got == SECOND_FACTOR or public or row_key in PASSWORD_ONLY_STAFF_MAY_OPEN:
                continue
            mismatches.append(f"{method} {path} as {role} (password only): got {got}")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.django_db
@pytest.mark.parametrize("label", REGISTERED)
def test_staff_without_a_second_factor_open_no_admin_model_page(cast, settings, label):
    settings.STAFF_REQUIRE_2FA = True
    model = next(m for m in admin.site._registry if m._meta.label_lower == label)
    obj = model._default_manager.order_by("pk").first()
    info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    paths = [
        reverse(f"{info}_changelist"),
        reverse(f"{info}_add"),
        reverse(f"{info}_change", args=[quote(obj.pk)]),
        reverse(f"{info}_history", args=[quote(obj.pk)]),
    ]
    got = {
        (path, role): _outcome(_client(cast, role).get(path)) for path in paths for role in STAFF
    }
    assert set(got.values()) == {SECOND_FACTOR}, got
