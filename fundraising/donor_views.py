"""Donor self-service pages: a sign-in link by e-mail, then the donor's own gifts. No password.

The signed-in e-mail lives in the session for DONOR_SESSION_MINUTES; every page filters by it
(fundraising/donor.py), so another donor's gift is simply not found (404).
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit

from fundraising import donor, selectors, services

logger = logging.getLogger(__name__)

SESSION_KEY = "fundraising_donor_email"
SESSION_UNTIL = "fundraising_donor_until"
DONOR_SESSION_MINUTES = 60


class DonorStartForm(forms.Form):
    email = forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        help_text=_("The address you gave with your gift."),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class AddressForm(forms.Form):
    address = forms.CharField(
        label=_("Postal address"),
        max_length=400,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
    )


def _signed_in_email(request: HttpRequest) -> str | None:
    email, until = request.session.get(SESSION_KEY), request.session.get(SESSION_UNTIL)
    if not email or not until or dt.datetime.fromisoformat(until) < timezone.now():
        return None
    return email


def _link_rate(group: str, request: HttpRequest) -> str:
    return getattr(settings, "FUNDRAISING_DONOR_LINK_RATE", "5/h")


@never_cache
@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=_link_rate, method="POST", block=False)
@ratelimit(key="post:email", rate=_link_rate, method="POST", block=False)
def start(request: HttpRequest) -> HttpResponse:
    """Ask for a sign-in link. Known or not, every address gets the same page."""
    form = DonorStartForm(request.POST or None)
    if request.method == "POST":
        if getattr(request, "limited", False):
            logger.warning("donor sign-in link requests rate-limited")
            return render(request, "fundraising/donor_start.html", {"limited": True}, status=429)
        if form.is_valid():
            services.donor_link_request(
                email=form.cleaned_data["email"],
                language=get_language() or settings.LANGUAGE_CODE,
            )
            return render(request, "fundraising/donor_start.html", {"sent": True})
    status = 400 if form.errors else 200
    return render(request, "fundraising/donor_start.html", {"form": form}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def link(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks (mail scanners open links and must not use them up); POST signs in, once."""
    if request.method == "GET":
        valid = services.donor_link_peek(token) is not None
        return render(
            request, "fundraising/donor_link.html", {"valid": valid}, status=200 if valid else 410
        )
    email = services.donor_link_use(token)
    if email is None:
        if _signed_in_email(request) is not None:
            # "Sign in" sent again (Back and resubmit, a double click): the first one signed
            # this browser in with the link, which is used up; go on to the donor's page.
            return redirect("fundraising:donor-home")
        return render(request, "fundraising/donor_link.html", {"valid": False}, status=410)
    request.session.cycle_key()
    request.session[SESSION_KEY] = email
    until = timezone.now() + dt.timedelta(minutes=DONOR_SESSION_MINUTES)
    request.session[SESSION_UNTIL] = until.isoformat()
    return redirect("fundraising:donor-home")


@never_cache
def home(request: HttpRequest) -> HttpResponse:
    email = _signed_in_email(request)
    if email is None:
        return redirect("fundraising:donor-start")
    pledges = list(selectors.donor_pledges(email).select_related("campaign").order_by("-pk"))
    for pledge in pledges:
        # For the template only: the page's view of each pledge, not stored.
        pledge.address_editable = donor.address_editable(pledge)  # type: ignore[attr-defined]
        pledge.address_form = AddressForm(initial={"address": pledge.address})  # type: ignore[attr-defined]
    context = {
        "email": email,
        "pledges": pledges,
        "payments": selectors.donor_payments(email)
        .select_related("pledge")
        .order_by("-received_on"),
        "receipts": donor.donor_receipts(email),
    }
    return render(request, "fundraising/donor_home.html", context)


ACTIONS = {
    "pause": donor.donor_pledge_pause,
    "resume": donor.donor_pledge_resume,
    "cancel": donor.donor_pledge_cancel,
}


@never_cache
@require_POST
def pledge_action(request: HttpRequest, public_id, action: str) -> HttpResponse:
    email = _signed_in_email(request)
    if email is None:
        return redirect("fundraising:donor-start")
    pledge = donor.donor_pledge(email, public_id)
    try:
        if action == "address":
            form = AddressForm(request.POST)
            if not form.is_valid():
                raise ValidationError(list(form.errors["address"]))
            donor.donor_address_correct(
                email=email, pledge=pledge, address=form.cleaned_data["address"]
            )
        elif action in ACTIONS:
            ACTIONS[action](email=email, pledge=pledge)
        else:
            return HttpResponse(status=404)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("fundraising:donor-home")


@never_cache
def receipt_pdf(request: HttpRequest, public_id) -> HttpResponse:
    email = _signed_in_email(request)
    if email is None:
        return redirect("fundraising:donor-start")
    receipt = donor.donor_receipt(email, public_id)
    # The original went out when it was issued: what the donor downloads is a copy, marked so.
    copy = services.receipt_copy_pdf(receipt)
    response = HttpResponse(copy, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="receipt-{receipt.number}.pdf"'
    return response


@never_cache
def export(request: HttpRequest) -> HttpResponse:
    email = _signed_in_email(request)
    if email is None:
        return redirect("fundraising:donor-start")
    data = services.donor_export(email=email)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = 'attachment; filename="my-gifts.json"'
    return response


@never_cache
@require_POST
def erase(request: HttpRequest) -> HttpResponse:
    email = _signed_in_email(request)
    if email is None:
        return redirect("fundraising:donor-start")
    if request.POST.get("confirm") != "yes":
        return redirect("fundraising:donor-home")
    services.donor_anonymise(email=email)
    request.session.flush()
    return render(request, "fundraising/donor_erased.html")


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    request.session.pop(SESSION_UNTIL, None)
    return redirect("fundraising:donor-start")
