"""The public side: /give/. No account, nothing about any family, no donor's e-mail or address."""

from __future__ import annotations

import logging
import time
from typing import Any

import stripe
from csp.decorators import csp_replace
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.views.decorators.cache import cache_control, cache_page, never_cache
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit

from core import kept_pages
from core.page_slots import fill_csrf_slot, fill_token_slots, render_with_csrf_slot
from fundraising import card, selectors, services
from fundraising.forms import PledgeForm
from fundraising.models import Campaign, Pledge

logger = logging.getLogger(__name__)


def _pledge_rate(group: str, request: HttpRequest) -> str:
    return getattr(settings, "FUNDRAISING_PLEDGE_RATE", "20/h")


def _campaign_context(campaign: Campaign) -> dict:
    """Lazy: the page's cached fragments (`{% cache %}`) usually need neither query."""
    return {
        "campaign": campaign,
        "totals": SimpleLazyObject(lambda: selectors.campaign_totals_cached(campaign)),
        "wall": SimpleLazyObject(lambda: selectors.donor_wall(campaign)),
        "site_url": settings.SITE_URL,
    }


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    campaigns = list(selectors.campaigns_active()[:20])
    if len(campaigns) == 1:
        return redirect("fundraising:campaign", slug=campaigns[0].slug)
    return render(request, "fundraising/index.html", {"campaigns": campaigns})


def _allow_checkout(response: HttpResponse) -> HttpResponse:
    """The form's POST may end at Stripe's payment page: let the CSP's form-action allow it."""
    if card.card_enabled():
        response._csp_update = {"form-action": [card.checkout_origin()]}  # type: ignore[attr-defined]  # django-csp reads it
    return response


@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=_pledge_rate, method="POST", block=False)
def campaign(request: HttpRequest, slug: str) -> HttpResponse:
    """The campaign page (GET) and the pledge form's submission (POST)."""
    return _allow_checkout(_campaign(request, slug))


def _campaign(request: HttpRequest, slug: str) -> HttpResponse:
    if request.method == "GET":
        return _campaign_page(request, slug)
    campaign = selectors.campaign_for_pledge(slug)
    if campaign is None:
        raise Http404
    context: dict[str, Any] = {"campaign": campaign}
    if getattr(request, "limited", False):
        logger.warning("pledge form rate-limited (campaign %s)", campaign.slug)
        return render(request, "fundraising/rate_limited.html", context, status=429)
    else:
        form = context["form"] = PledgeForm(
            request.POST, campaign=campaign, card=card.card_enabled()
        )
        if form.is_spam:
            logger.info("pledge form honeypot filled (campaign %s)", campaign.slug)
            return render(request, "fundraising/received.html", context)
        if form.is_valid():
            pledge = _create_pledge(request, campaign, form)
            if pledge is not None and pledge.pays_by_card:
                return _to_checkout(request, pledge)
            if pledge is not None:
                return redirect("fundraising:pledge-thanks", public_id=pledge.public_id)
    context |= _campaign_context(campaign)
    return render(request, "fundraising/campaign.html", context, status=400)


# The public page is the same for every anonymous visitor but for two tokens (CSRF and the
# form's idempotency token): it is rendered once per campaign and language with slots that
# each request fills (core/page_slots.py). A hit costs one cache read and no query, and the
# page is offered to the WSGI layer, which answers the next visits like this one in front of
# the middleware chain while this process keeps its copy (core/kept_pages.py). Signed-in
# staff and visitors with pending messages get a page rendered for them.
def _campaign_page(request: HttpRequest, slug: str) -> HttpResponse:
    cacheable = not request.GET and not kept_pages.personal(request.COOKIES)
    key = selectors.campaign_page_key(slug, get_language() or settings.LANGUAGE_CODE)
    html = selectors.campaign_page_cached(key) if cacheable else None
    if html is None:
        campaign = get_object_or_404(Campaign, slug=slug, is_active=True)
        context = _campaign_context(campaign) | {"form_html": _blank_form_html(campaign)}
        if not cacheable:
            return render(request, "fundraising/campaign.html", context)
        html = render_with_csrf_slot("fundraising/campaign.html", context, request)
        selectors.campaign_page_store(key, html)
    seconds = selectors.campaign_page_kept_until(key) - time.monotonic()
    kept_pages.offer(request, html, token_slot=_TOKEN_PLACEHOLDER, seconds=seconds)
    html = fill_csrf_slot(html, request)
    return HttpResponse(fill_token_slots(html, _TOKEN_PLACEHOLDER))


# The blank form is the same for every visitor but its idempotency token: rendering it with
# crispy costs ~60 ms, so it is rendered once per campaign and language, with a placeholder
# token that each request replaces with a fresh one.
_TOKEN_PLACEHOLDER = "00000000-0000-4000-8000-000000000000"
FORM_CACHE_SECONDS = 600


def _blank_form_html(campaign: Campaign) -> str:
    language = get_language() or settings.LANGUAGE_CODE
    with_card = card.card_enabled()
    key = f"fundraising:form:v2:{campaign.pk}:{campaign.suggested_amounts}:{language}:{with_card}"
    html = cache.get(key)
    if html is None:
        form = PledgeForm(
            campaign=campaign, card=with_card, initial={"idempotency_key": _TOKEN_PLACEHOLDER}
        )
        html = render_to_string("fundraising/includes/_pledge_form.html", {"form": form})
        cache.set(key, html, FORM_CACHE_SECONDS)
    # Safe: rendered by our own template with autoescaping. The token placeholder is replaced
    # per request by _campaign_page.
    return mark_safe(html)  # noqa: S308


def _to_checkout(request: HttpRequest, pledge: Pledge) -> HttpResponse:
    """Send the donor to Stripe's payment page; if Stripe cannot be reached, say how to pay."""
    thanks = settings.SITE_URL + reverse("fundraising:pledge-thanks", args=[pledge.public_id])
    campaign_url = settings.SITE_URL + reverse("fundraising:campaign", args=[pledge.campaign.slug])
    try:
        url = card.checkout_start(
            pledge=pledge, success_url=f"{thanks}?card=1", cancel_url=campaign_url
        )
    except stripe.StripeError as exc:
        logger.warning("checkout not opened for %s: %s", pledge.reference, type(exc).__name__)
        return redirect(reverse("fundraising:pledge-thanks", args=[pledge.public_id]) + "?card=0")
    response = HttpResponseRedirect(url)
    response.status_code = 303  # after a POST: the payment page is fetched with GET
    return response


def _create_pledge(request: HttpRequest, campaign: Campaign, form: PledgeForm) -> Pledge | None:
    data = form.cleaned_data
    try:
        pledge, _created = services.pledge_create_once(
            idempotency_key=data["idempotency_key"],
            campaign=campaign,
            donor_name=data["donor_name"],
            email=data["email"],
            address=data["address"],
            wants_receipt=data["wants_receipt"],
            amount=data["amount"],
            frequency=data["frequency"],
            months=data["months"],
            is_anonymous=data["show_name"] == "anonymous",
            public_message=data["public_message"],
            tribute_kind=data["tribute_kind"],
            tribute_name=data["tribute_name"],
            consent_to_contact=data["consent_to_contact"],
            language=get_language() or settings.LANGUAGE_CODE,
            pays_by_card=data["pays_by_card"],
            cover_fee=data.get("cover_fee", False),
        )
    except ValidationError as exc:  # e.g. the campaign closed while the donor was typing
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, exc)
        return None
    return pledge


@never_cache
@require_GET
def pledge_thanks(request: HttpRequest, public_id) -> HttpResponse:
    """Only whoever holds the pledge's UUID link (the donor) sees this page; others get 404."""
    pledge = get_object_or_404(Pledge.objects.select_related("campaign"), public_id=public_id)
    context = {
        "pledge": pledge,
        "charity": settings.CHARITY,
        "card_returned": request.GET.get("card") == "1",
        "card_failed": request.GET.get("card") == "0",
        "card_paid": pledge.payments.filter(method="card").exists(),
    }
    return render(request, "fundraising/thanks.html", context)


@csrf_exempt  # Stripe signs its requests; the signature is checked instead of a CSRF token
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's events: the only way card money enters the books (fundraising/card.py)."""
    if not card.card_enabled():
        return HttpResponse(status=404)
    signature = request.headers.get("Stripe-Signature", "")
    try:
        card.webhook_receive(payload=request.body, signature=signature)
    except card.BadWebhook:
        return HttpResponse(status=400)
    return HttpResponse(status=200)


@never_cache
@require_http_methods(["GET", "POST"])
def pledge_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The e-mailed confirmation link. GET asks (mail scanners follow links); POST confirms."""
    context: dict[str, object]
    try:
        if request.method == "POST":
            pledge, newly = services.pledge_confirm(token=token)
            context = {"pledge": pledge, "state": "confirmed" if newly else "already"}
        else:
            pledge = services.pledge_from_confirm_token(token)
            state = "already" if pledge.is_confirmed else "ask"
            if state == "ask" and pledge.status not in Pledge.OPEN_STATUSES:
                raise services.ConfirmationRefused("closed", pledge)
            context = {"pledge": pledge, "state": state}
    except services.ConfirmationRefused as refused:
        status = 404 if refused.reason == "invalid" else 410
        context = {"state": refused.reason, "pledge": refused.pledge}
        return render(request, "fundraising/confirm.html", context, status=status)
    return render(request, "fundraising/confirm.html", context)


@require_GET
@cache_control(public=True, max_age=selectors.TOTALS_CACHE_SECONDS)
@cache_page(selectors.TOTALS_CACHE_SECONDS)
def progress_json(request: HttpRequest, slug: str) -> JsonResponse:
    campaign = get_object_or_404(Campaign, slug=slug, is_active=True)
    totals = selectors.campaign_totals_cached(campaign)
    body = {"campaign": campaign.name, "slug": campaign.slug, "currency": "CAD"}
    body |= totals.as_json()
    body["url"] = settings.SITE_URL + reverse("fundraising:campaign", args=[campaign.slug])
    response = JsonResponse(body)
    response["Access-Control-Allow-Origin"] = "*"  # public numbers, meant for other sites
    return response


@require_GET
@xframe_options_exempt  # outside cache_page: these mark every response, cached or not
@csp_replace({"frame-ancestors": ["*"]})  # type: ignore[arg-type]  # django-csp's decorator is untyped
@cache_control(public=True, max_age=selectors.TOTALS_CACHE_SECONDS)
@cache_page(selectors.TOTALS_CACHE_SECONDS)
def widget(request: HttpRequest, slug: str) -> HttpResponse:
    """The meter alone, for HanVoice's website and partner churches to embed in an iframe."""
    campaign = get_object_or_404(Campaign, slug=slug, is_active=True)
    return render(request, "fundraising/widget.html", _campaign_context(campaign))


@never_cache
@csrf_exempt  # RFC 8058 one-click unsubscribe POSTs come from mail clients, without a token
@require_http_methods(["GET", "POST"])
def reminders_stop(request: HttpRequest, token: str) -> HttpResponse:
    pledge = services.reminders_stop(token=token)
    if pledge is None:
        return render(request, "fundraising/reminders_stop.html", {"invalid": True}, status=404)
    return render(request, "fundraising/reminders_stop.html", {"pledge": pledge})
