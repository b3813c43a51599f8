"""The sponsor portal (/portal/): short views that fetch through an access helper (404 for
outsiders, a CaseFileAccess row for every look-up), validate a form, call a service and
redirect (post/redirect/get, so a reload does not post again)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit import ALL
from django_ratelimit.decorators import ratelimit

from core.auth_forms import DeferredPasswordResetForm, EmailAuthenticationForm
from core.page_slots import fill_csrf_slot, render_with_csrf_slot
from core.roles import signed_in_user
from sponsorship import portal_selectors as selectors
from sponsorship import portal_services
from sponsorship.access import (
    PortalAccess,
    get_milestone_for_user,
    get_review_for_user,
    get_sponsorship_for_user,
    log_case_file_access,
)
from sponsorship.budget import budget_for
from sponsorship.forms import (
    CheckInForm,
    DisbursementForm,
    FamilyIncomeForm,
    InvitationAcceptForm,
    MilestoneAddForm,
    MilestoneCompleteForm,
    MilestoneNoteForm,
    MilestoneResponsibleForm,
    MilestoneWaiverForm,
    ReviewInputForm,
    apply_errors,
)
from sponsorship.models import Milestone
from sponsorship.submissions import page_token, submit_once, with_new_token
from sponsorship.templatetags import form_tokens

DASHBOARD_CONTENT = "sponsorship/portal/includes/_dashboard_content.html"


def _rate(name: str, default: str):
    """Rates are read per request, so deployments (and tests) can tune them in settings."""
    return lambda group, request: getattr(settings, name, default)


def ratelimited(request: HttpRequest, exception: Exception) -> HttpResponse:
    """django-ratelimit's RATELIMIT_VIEW: a polite page, status 429."""
    return render(request, "429.html", status=429)


# --- accounts: sign-in and password reset, rate limited per IP -------------------------------


class SignInView(auth_views.LoginView):
    """One sign-in page for everyone; each lands on their own home unless a `next` page was
    asked for: staff on the admin's dashboard, sponsor group members on the portal."""

    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True

    def get_default_redirect_url(self) -> str:
        if self.request.user.is_staff:
            return reverse("admin:index")
        return super().get_default_redirect_url()


sign_in = ratelimit(key="ip", rate=_rate("PORTAL_SIGN_IN_RATE", "10/m"), method="POST")(
    SignInView.as_view()
)
password_reset = ratelimit(
    key="ip", rate=_rate("PORTAL_PASSWORD_RESET_RATE", "5/15m"), method="POST"
)(auth_views.PasswordResetView.as_view(form_class=DeferredPasswordResetForm))


def _render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    if "unread_count" not in context:  # not setdefault: its default would be counted anyway
        context["unread_count"] = selectors.unread_count(request.user)
    return render(request, template, context, status=status)


def _page(request: HttpRequest) -> str:
    return request.path


def _once(request: HttpRequest, form, write: Callable[[dict], tuple[str, Callable[[], None]]]):
    """Run a form's write at most once per form token (sponsorship/submissions.py).

    `write(data)` writes and returns (URL of what it wrote, a function adding the success
    message). Returns the redirect, or None with the refusal next to the fields."""
    data = dict(form.cleaned_data)
    token = data.pop("request_token", None)
    announce: list[Callable[[], None]] = []

    def run() -> str:
        target, message = write(data)
        announce.append(message)
        return target

    try:
        done = submit_once(token=token, user=request.user, write=run)
    except ValidationError as exc:
        apply_errors(form, exc)
        return None
    if done.first:
        announce[0]()
    else:
        messages.info(
            request,
            _("This was already saved when you first sent the form: nothing was added twice."),
        )
    return redirect(done.target)


# --- dashboard and the sponsorship overview ---------------------------------------------------


@dataclass
class _KeptDashboard:
    """What the dashboard keeps with its data (docs/performance.md, "Portal dashboard"): the
    content, request-free with form tokens in slots, and the whole page around it, rendered
    by the first request that has no query string and no message to show."""

    content: str
    page: str | None = None


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    def keep(data: selectors.Dashboard) -> _KeptDashboard:
        context = {"dashboard": data, "user": request.user, "form_token_slot": form_tokens.SLOT}
        return _KeptDashboard(render_to_string(DASHBOARD_CONTENT, context))

    data, kept = selectors.dashboard_kept(request.user, keep)
    log_case_file_access(
        request.user, [s.sponsorship.family_id for s in data.sponsorships], page=_page(request)
    )
    context = {
        "content": mark_safe(kept.content),  # noqa: S308 - our template's output
        "unread_count": data.unread_count,
    }
    # A message (after a form was saved) or a query string makes the page differ: rendered
    # for this request. `len` reads the messages without marking them shown.
    html: str
    if request.GET or len(messages.get_messages(request)):
        html = render_to_string("sponsorship/portal/dashboard.html", context, request=request)
    else:
        if kept.page is None:
            kept.page = render_with_csrf_slot("sponsorship/portal/dashboard.html", context, request)
        html = fill_csrf_slot(kept.page, request)
    return HttpResponse(form_tokens.fresh_form_tokens(html))


@login_required
def sponsorship_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    access = get_sponsorship_for_user(request.user, public_id, page=_page(request))
    sponsorship = access.sponsorship
    return _render(
        request,
        "sponsorship/portal/sponsorship.html",
        {
            "access": access,
            "sponsorship": sponsorship,
            "family": selectors.family_for_group(sponsorship.family),
            "notes": selectors.group_notes(sponsorship.family),
            "prepare": selectors.before_arrival_items(sponsorship),
            "today": timezone.localdate(),
            "section": "overview",
        },
    )


# --- settlement plan --------------------------------------------------------------------------


@login_required
def plan(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    access = get_sponsorship_for_user(request.user, public_id, page=_page(request))
    return _render(
        request,
        "sponsorship/portal/plan.html",
        {
            "access": access,
            "sponsorship": access.sponsorship,
            "phases": selectors.plan_by_phase(access.sponsorship),
            "today": timezone.localdate(),
            "section": "plan",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def milestone_add(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    access = get_sponsorship_for_user(
        request.user, public_id, page=_page(request), action=_action(request)
    )
    access.require(access.can_edit_plan)
    members = selectors.member_choices(access.sponsorship) if access.can_name_responsible else None
    form = MilestoneAddForm(request.POST or None, token=page_token(request), members=members)

    def write(data: dict):
        user_id = data.pop("responsible", None)
        milestone = portal_services.milestone_add_group_item(
            sponsorship=access.sponsorship,
            user=signed_in_user(request),
            responsible=get_user_model().objects.get(pk=user_id) if user_id else None,
            **data,
        )
        return reverse("portal:plan", args=[public_id]), lambda: messages.success(
            request, _("Added to the plan: %(title)s") % {"title": milestone}
        )

    if request.method == "POST" and form.is_valid() and (done := _once(request, form, write)):
        return done
    return _render(
        request,
        "sponsorship/portal/milestone_add.html",
        {"access": access, "sponsorship": access.sponsorship, "form": form, "section": "plan"},
    )


def _action(request: HttpRequest) -> str:
    return "change" if request.method == "POST" else "view"


def _milestone_page(
    request: HttpRequest, milestone: Milestone, access: PortalAccess, **forms
) -> HttpResponse:
    context = {
        "access": access,
        "sponsorship": access.sponsorship,
        "milestone": milestone,
        "complete_form": forms.get("complete_form")
        or MilestoneCompleteForm(token=page_token(request, "complete")),
        "note_form": forms.get("note_form") or MilestoneNoteForm(token=page_token(request, "note")),
        "waiver_form": forms.get("waiver_form")
        or MilestoneWaiverForm(token=page_token(request, "waiver")),
        "responsible_form": forms.get("responsible_form")
        or _responsible_form(milestone, token=page_token(request, "responsible")),
        "today": timezone.localdate(),
        "section": "plan",
    }
    return _render(request, "sponsorship/portal/milestone.html", context)


@login_required
def milestone_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    milestone, access = get_milestone_for_user(request.user, public_id, page=_page(request))
    return _milestone_page(request, milestone, access)


def _milestone_action(request, public_id, form_class, form_key, call, allowed, done_message):
    milestone, access = get_milestone_for_user(
        request.user, public_id, page=_page(request), action="change"
    )
    access.require(allowed(access))
    form = form_class(request.POST)

    def write(data: dict):
        call(milestone, data)
        target = with_new_token(reverse("portal:milestone", args=[public_id]))
        return target, lambda: messages.success(request, done_message)

    if form.is_valid() and (done := _once(request, form, write)):
        return done
    return _milestone_page(request, milestone, access, **{form_key: form})


def _responsible_form(milestone: Milestone, *args, **kwargs) -> MilestoneResponsibleForm:
    return MilestoneResponsibleForm(
        *args,
        members=selectors.member_choices(milestone.sponsorship),
        current=milestone.responsible,
        **kwargs,
    )


@login_required
@require_POST
def milestone_responsible(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The coordinator names who answers for an item (coordinators only: 403 to the other
    members, 404 to everyone else)."""
    milestone, access = get_milestone_for_user(
        request.user, public_id, page=_page(request), action="change"
    )
    access.require(access.can_name_responsible)
    form = _responsible_form(milestone, request.POST)

    def write(data: dict):
        user_id = data["responsible"]
        portal_services.milestone_set_responsible(
            milestone=milestone,
            responsible=get_user_model().objects.get(pk=user_id) if user_id else None,
        )
        target = with_new_token(reverse("portal:milestone", args=[public_id]))
        return target, lambda: messages.success(
            request, _("Saved. The plan changed: every member is asked to sign it again.")
        )

    if form.is_valid() and (done := _once(request, form, write)):
        return done
    return _milestone_page(request, milestone, access, responsible_form=form)


@login_required
@require_POST
def milestone_complete(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    return _milestone_action(
        request,
        public_id,
        MilestoneCompleteForm,
        "complete_form",
        lambda m, data: portal_services.milestone_complete(
            milestone=m, user=signed_in_user(request), **data
        ),
        lambda access: access.can_edit_plan,
        _("Marked done. Thank you!"),
    )


@login_required
@require_POST
def milestone_note(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    return _milestone_action(
        request,
        public_id,
        MilestoneNoteForm,
        "note_form",
        lambda m, data: portal_services.milestone_add_note(
            milestone=m, user=signed_in_user(request), **data
        ),
        lambda access: True,
        _("Note added."),
    )


@login_required
@require_POST
def milestone_waiver(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    return _milestone_action(
        request,
        public_id,
        MilestoneWaiverForm,
        "waiver_form",
        lambda m, data: portal_services.milestone_request_waiver(
            milestone=m, user=signed_in_user(request), **data
        ),
        lambda access: access.can_edit_plan,
        _("Waiver requested: HanVoice staff will decide and let you know."),
    )


# --- check-ins --------------------------------------------------------------------------------


@login_required
def checkins(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    access = get_sponsorship_for_user(request.user, public_id, page=_page(request))
    page = Paginator(selectors.checkins_for(access.sponsorship), 20).get_page(
        request.GET.get("page")
    )
    return _render(
        request,
        "sponsorship/portal/checkins.html",
        {
            "access": access,
            "sponsorship": access.sponsorship,
            "page": page,
            "monitoring": selectors.monitoring_for_group(access.sponsorship),
            "section": "checkins",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def checkin_create(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    access = get_sponsorship_for_user(
        request.user, public_id, page=_page(request), action=_action(request)
    )
    access.require(access.can_log_checkins and access.sponsorship.is_active)
    form = CheckInForm(request.POST or None, token=page_token(request))

    def write(data: dict):
        token = form.cleaned_data["request_token"]
        checkin = portal_services.checkin_create(
            sponsorship=access.sponsorship,
            user=signed_in_user(request),
            request_token=token,
            **data,
        )

        def announce() -> None:
            if checkin.concern_level == checkin.Concern.URGENT:
                messages.warning(
                    request,
                    _("Check-in saved. The family's case worker has been alerted right away."),
                )
            else:
                messages.success(request, _("Check-in saved. Thank you!"))

        return (
            f"{reverse('portal:checkins', args=[public_id])}#checkin-{checkin.public_id}",
            announce,
        )

    if request.method == "POST" and form.is_valid() and (done := _once(request, form, write)):
        return done
    return _render(
        request,
        "sponsorship/portal/checkin_form.html",
        {"access": access, "sponsorship": access.sponsorship, "form": form, "section": "checkins"},
    )


# --- income support ---------------------------------------------------------------------------


@login_required
def income_support(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    access = get_sponsorship_for_user(request.user, public_id, page=_page(request))
    sponsorship = access.sponsorship
    payments = sponsorship.disbursements.select_related("recorded_by").order_by("-paid_on", "-pk")
    budget = budget_for(sponsorship) if sponsorship.arrival_date else None
    return _render(
        request,
        "sponsorship/portal/income_support.html",
        {
            "access": access,
            "sponsorship": sponsorship,
            "budget": budget,
            "in_kind_items": sponsorship.in_kind_items.order_by("given_on", "pk"),
            "payments": payments,
            "section": "money",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def disbursement_create(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    access = get_sponsorship_for_user(
        request.user, public_id, page=_page(request), action=_action(request)
    )
    sponsorship = access.sponsorship
    access.require(access.can_record_money and sponsorship.arrival_date is not None)
    form = DisbursementForm(
        request.POST or None,
        token=page_token(request),
        committed_months=sponsorship.committed_months,
        current_month=sponsorship.current_month(),
    )

    def write(data: dict):
        token = form.cleaned_data["request_token"]
        portal_services.disbursement_record(
            sponsorship=sponsorship, user=signed_in_user(request), request_token=token, **data
        )
        target = reverse("portal:income-support", args=[public_id])
        return target, lambda: messages.success(request, _("Payment recorded."))

    if request.method == "POST" and form.is_valid() and (done := _once(request, form, write)):
        return done
    return _render(
        request,
        "sponsorship/portal/disbursement_form.html",
        {
            "access": access,
            "sponsorship": sponsorship,
            "form": form,
            "budget": budget_for(sponsorship),
            "section": "money",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def family_income(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The treasurer records the family's own income by month (each adult 18+ on a line of
    their own); it decides whether support may be reduced (docs/domain.md "Family income")."""
    access = get_sponsorship_for_user(
        request.user, public_id, page=_page(request), action=_action(request)
    )
    sponsorship = access.sponsorship
    access.require(access.can_record_money and sponsorship.arrival_date is not None)
    summary = selectors.family_income_for_group(sponsorship)
    form = FamilyIncomeForm(
        request.POST or None,
        committed_months=sponsorship.committed_months,
        current_month=sponsorship.current_month(),
        members=summary.member_choices,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            portal_services.family_income_record(
                sponsorship=sponsorship,
                month_number=data["month_number"],
                kind=data["kind"],
                amount=data["amount"],
                member=summary.member(data["member"]),
                recorded_by=signed_in_user(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Income recorded."))
            return redirect("portal:family-income", public_id=public_id)
    return _render(
        request,
        "sponsorship/portal/family_income.html",
        {
            "access": access,
            "sponsorship": sponsorship,
            "summary": summary,
            "form": form,
            "section": "money",
        },
    )


# --- reviews ----------------------------------------------------------------------------------


@login_required
def reviews(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    access = get_sponsorship_for_user(request.user, public_id, page=_page(request))
    rows = selectors.reviews_for(access.sponsorship)
    return _render(
        request,
        "sponsorship/portal/reviews.html",
        {
            "access": access,
            "sponsorship": access.sponsorship,
            "reviews": rows,
            "chart": selectors.score_chart(rows),
            "today": timezone.localdate(),
            "section": "reviews",
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def review_input(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    review, access = get_review_for_user(
        request.user, public_id, page=_page(request), action=_action(request)
    )
    access.require(access.can_submit_review_input and review.held_on is None)
    form = ReviewInputForm(
        request.POST or None, initial={"text": review.group_input}, token=page_token(request)
    )

    def write(data: dict):
        portal_services.review_submit_group_input(
            review=review, user=signed_in_user(request), text=data["text"]
        )
        target = reverse("portal:reviews", args=[access.sponsorship.public_id])
        return target, lambda: messages.success(
            request, _("Thank you: the group's input is with HanVoice.")
        )

    if request.method == "POST" and form.is_valid() and (done := _once(request, form, write)):
        return done
    return _render(
        request,
        "sponsorship/portal/review_input.html",
        {
            "access": access,
            "sponsorship": access.sponsorship,
            "review": review,
            "form": form,
            "section": "reviews",
        },
    )


# --- inbox ------------------------------------------------------------------------------------


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    return _render(
        request,
        "sponsorship/portal/inbox.html",
        {"items": selectors.inbox_for(request.user), "inbox_page": True},
    )


@login_required
@require_POST
def inbox_read(request: HttpRequest) -> HttpResponse:
    reminder_ids: list[int] = []
    message_ids: list[uuid.UUID] = []
    for key in request.POST.getlist("item"):
        kind, _sep, value = key.partition(":")
        try:
            if kind == "reminder":
                reminder_ids.append(int(value))
            elif kind == "message":
                message_ids.append(uuid.UUID(value))
        except ValueError:
            continue
    portal_services.inbox_mark_read(
        user=signed_in_user(request),
        reminder_ids=reminder_ids,
        message_ids=message_ids,
        everything="all" in request.POST,
    )
    return redirect("portal:inbox")


# --- joining: invitations ---------------------------------------------------------------------


@ratelimit(key="ip", rate=_rate("PORTAL_INVITATION_RATE", "20/h"), method=ALL)
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = portal_services.invitation_for_token(token)
    problem = portal_services.invitation_problem(invitation)
    if invitation is None or problem:  # no invitation always has a problem
        status = 404 if invitation is None else 410
        return render(
            request, "registration/invitation_invalid.html", {"problem": problem}, status=status
        )
    has_account = get_user_model().objects.filter(email__iexact=invitation.email).exists()
    signed_in_as_invitee = (
        request.user.is_authenticated and request.user.email.lower() == invitation.email.lower()
    )
    form = InvitationAcceptForm(request.POST or None) if not has_account else None
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            user = portal_services.invitation_accept(
                token=token,
                password=form.cleaned_data["password1"] if form else None,
                first_name=form.cleaned_data["first_name"] if form else "",
                last_name=form.cleaned_data["last_name"] if form else "",
                user=request.user if isinstance(request.user, User) else None,
            )
        except ValidationError as exc:
            if form is None:
                messages.error(request, " ".join(exc.messages))
                return redirect("portal:invitation-accept", token=token)
            apply_errors(form, exc)
        else:
            if not signed_in_as_invitee:
                login(request, user, backend="config.auth.EmailBackend")
            messages.success(
                request,
                _("Welcome to %(group)s on the HanVoice sponsor portal.")
                % {"group": invitation.group.name},
            )
            return redirect("portal:dashboard")
    return render(
        request,
        "registration/invitation_accept.html",
        {
            "invitation": invitation,
            "form": form,
            "has_account": has_account,
            "signed_in_as_invitee": signed_in_as_invitee,
        },
    )
