"""Reads of the fundraising app: every total is a `Sum()` in the database.

The dashboard (config-level) reads `campaign_totals`, `received_by_month`,
`pledges_unpaid` and `receipt_counts`; the public page reads the cached totals.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict, dataclass
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.cache.utils import make_template_fragment_key
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.db.models.signals import post_delete, post_save

from core import charts, kept_pages
from fundraising.models import ZERO, Campaign, Payment, Pledge, Receipt

TOTALS_CACHE_SECONDS = 30
MONEY_FIELD: DecimalField[Decimal, Decimal] = DecimalField(max_digits=14, decimal_places=2)
# Money kept: a refund (or a lost dispute) takes its part out of every total.
NET = F("amount") - F("refunded_amount")
NET_VIA_PLEDGE = F("payments__amount") - F("payments__refunded_amount")


@dataclass(frozen=True)
class CampaignTotals:
    goal: Decimal
    received: Decimal
    pledged_outstanding: Decimal  # pledged, not yet received
    donors: int
    cost_per_family: Decimal

    @property
    def families_funded(self) -> Decimal:
        """Received ÷ cost per family, rounded down to one decimal: never overstate."""
        if self.cost_per_family <= 0:
            return Decimal("0.0")
        return (self.received / self.cost_per_family).quantize(Decimal("0.1"), ROUND_DOWN)

    @property
    def received_percent(self) -> Decimal:
        return charts.meter_shares(self.received, self.pledged_outstanding, self.goal)[0]

    @property
    def pledged_percent(self) -> Decimal:
        """Share of the goal pledged but not received, capped so both fit in 100%."""
        return charts.meter_shares(self.received, self.pledged_outstanding, self.goal)[1]

    def as_json(self) -> dict:
        data = {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(self).items()}
        data["families_funded"] = str(self.families_funded)
        data["received_percent"] = str(self.received_percent)
        data["pledged_percent"] = str(self.pledged_percent)
        return data


def _money_sum(expression, **kwargs):
    return Coalesce(
        Sum(expression, output_field=MONEY_FIELD, **kwargs), ZERO, output_field=MONEY_FIELD
    )


def received_sum(**kwargs):
    """Money received and kept (NET: refunds and lost disputes taken out), summed over
    payments: the campaign meter, the dashboard, the admin totals and the reports all add
    payments up with this, so they agree."""
    return _money_sum(NET, **kwargs)


def campaign_totals(campaign: Campaign) -> CampaignTotals:
    """Two aggregate queries, whatever the number of pledges and payments.

    An unconfirmed pledge counts for nothing: neither "pledged" nor a donor (docs/fundraising.md).
    """
    open_statuses = list(Pledge.OPEN_STATUSES)
    pledges = Pledge.objects.filter(campaign=campaign).aggregate(
        open_total=_money_sum(F("amount") * F("months"), filter=Pledge.counted_q()),
        donors=Count(
            "email",
            distinct=True,
            filter=Q(status__in=list(Pledge.COUNTED_STATUSES), confirmed_at__isnull=False),
        ),
    )
    payments = Payment.objects.filter(campaign=campaign).aggregate(
        received=received_sum(),
        received_on_open=received_sum(
            filter=Q(pledge__status__in=open_statuses, pledge__confirmed_at__isnull=False),
        ),
        unpledged_donors=Count("id", filter=Q(pledge__isnull=True)),
    )
    cents = Decimal("0.01")
    outstanding = max(ZERO, pledges["open_total"] - payments["received_on_open"]).quantize(cents)
    return CampaignTotals(
        goal=campaign.goal,
        received=Decimal(payments["received"]).quantize(cents),
        pledged_outstanding=outstanding,
        donors=pledges["donors"] + payments["unpledged_donors"],
        cost_per_family=campaign.cost_per_family,
    )


def _totals_key(campaign_id: int) -> str:
    return f"fundraising:totals:{campaign_id}"


def campaign_totals_cached(campaign: Campaign) -> CampaignTotals:
    """The public page's totals: cached briefly, deleted by the services that change them."""
    key = _totals_key(campaign.pk)
    totals = cache.get(key)
    if totals is None:
        totals = campaign_totals(campaign)
        cache.set(key, totals, TOTALS_CACHE_SECONDS)
    return totals


PAGE_FRAGMENTS = ("fundraising-campaign-top", "fundraising-campaign-wall")


# Deleted whenever a money figure may have changed: a summary built before carries the old
# value and is rebuilt (the staff dashboard's money panels, config/dashboard.py).
FIGURES_GENERATION_KEY = "fundraising:figures:generation"


def money_figures_changed() -> None:
    """A pledge, payment, receipt or campaign changed outside `campaign_totals_invalidate`
    (which does this too, in the same cache round trip)."""
    cache.delete(FIGURES_GENERATION_KEY)


def campaign_totals_invalidate(campaign_id: int, *, slug: str | None = None) -> None:
    """Forget the cached totals and the public page's cached fragments (every language), and
    every summary of the money figures. Callers holding the campaign pass its slug and save a
    query."""
    keys = [_totals_key(campaign_id), FIGURES_GENERATION_KEY]
    if slug is None:
        slug = Campaign.objects.filter(pk=campaign_id).values_list("slug", flat=True).first()
    for language, _name in settings.LANGUAGES:
        keys.append(campaign_page_key(slug, language))
        for fragment in PAGE_FRAGMENTS:
            keys.append(make_template_fragment_key(fragment, [campaign_id, language]))
    cache.delete_many(keys)
    _local_pages.clear()  # this process's copies; other processes' expire within seconds
    kept_pages.forget()  # and those answered in front of the middleware (core/kept_pages.py)


# Seconds a campaign read for a pledge POST may be kept; saving or deleting it drops it at
# once (connect_signals), so this only bounds a bulk UPDATE nobody makes today.
CAMPAIGN_CACHE_SECONDS = 30


def _campaign_key(slug: str) -> str:
    return f"fundraising:campaign:v1:{slug}"


def campaign_for_pledge(slug: str) -> Campaign | None:
    """The active campaign a pledge form posts to, from the cache when it is there: every
    pledge POST needs it, and a campaign changes a few times in its life. None when there is
    no active campaign of that name (not cached: a made-up address costs its query)."""
    key = _campaign_key(slug)
    campaign = cache.get(key)
    if campaign is None:
        campaign = Campaign.objects.filter(slug=slug, is_active=True).first()
        if campaign is not None:
            cache.set(key, campaign, CAMPAIGN_CACHE_SECONDS)
    return campaign


def campaign_forget(slug: str) -> None:
    cache.delete(_campaign_key(slug))


def campaign_changed(sender, instance: Campaign, **kwargs) -> None:
    """Signal receiver: a campaign was saved or deleted (closed, renamed, its amounts
    changed): the next pledge reads it again."""
    campaign_forget(instance.slug)


def connect_signals() -> None:
    """Called once by the app's AppConfig.ready()."""
    post_save.connect(campaign_changed, sender=Campaign, dispatch_uid="fundraising-campaign-save")
    post_delete.connect(
        campaign_changed, sender=Campaign, dispatch_uid="fundraising-campaign-delete"
    )


def campaign_page_key(slug: str | None, language: str) -> str:
    return f"fundraising:page:v1:{slug}:{language}"


# The rendered public page, also kept in each web process for a few seconds: when a campaign
# link goes viral every hit would otherwise be a Redis round trip (a third of the page's cost
# under load). Keys are only ever set for an existing active campaign × language, so the dict
# stays tiny. A pledge clears this process's copies at once; other processes show the new
# totals within FUNDRAISING_PAGE_LOCAL_SECONDS (the embeddable meter lags 30 s by design).
_local_pages: dict[str, tuple[float, str]] = {}


def campaign_page_cached(key: str) -> str | None:
    seconds = settings.FUNDRAISING_PAGE_LOCAL_SECONDS
    if seconds > 0:
        found = _local_pages.get(key)
        if found is not None and found[0] > time.monotonic():
            return found[1]
    html = cache.get(key)
    if html is not None and seconds > 0:
        _local_pages[key] = (time.monotonic() + seconds, html)
    return html


def campaign_page_kept_until(key: str) -> float:
    """Until when (time.monotonic()) this process may show its copy of the page; 0 if it
    keeps none. A copy kept elsewhere from it (core/kept_pages.py) must not outlive it."""
    found = _local_pages.get(key)
    return found[0] if found is not None else 0.0


def campaign_page_store(key: str, html: str) -> None:
    cache.set(key, html, TOTALS_CACHE_SECONDS)
    if settings.FUNDRAISING_PAGE_LOCAL_SECONDS > 0:
        _local_pages[key] = (time.monotonic() + settings.FUNDRAISING_PAGE_LOCAL_SECONDS, html)


def campaigns_active() -> QuerySet[Campaign]:
    return Campaign.objects.filter(is_active=True).order_by("-starts_on")


def donor_wall(campaign: Campaign, limit: int = 30) -> list[dict]:
    """Newest supporters, as plain dicts holding only what may be public.

    Only confirmed (or paid) pledges whose entry staff approved. An anonymous donor's name
    never leaves the database, and neither does their tribute: "Anonymous, in memory of <a
    family name>" can say who gave.
    """
    rows = (
        Pledge.objects.filter(
            campaign=campaign,
            status__in=list(Pledge.COUNTED_STATUSES),
            confirmed_at__isnull=False,
            wall_approved_at__isnull=False,
        )
        .order_by("-created_at")
        .values(*WALL_FIELDS)[:limit]
    )
    return [wall_entry(row) for row in rows]


WALL_FIELDS = ("is_anonymous", "donor_name", "public_message", "tribute_kind", "tribute_name")


def wall_entry(row: dict) -> dict:
    """What of a pledge (its WALL_FIELDS) the public wall shows: the wall itself, and the
    preview staff approve or decline on the pledge's admin page."""
    return {
        "name": None if row["is_anonymous"] else row["donor_name"],
        "message": row["public_message"],
        "tribute_kind": "" if row["is_anonymous"] else row["tribute_kind"],
        "tribute_name": "" if row["is_anonymous"] else row["tribute_name"],
    }


def pledge_paid_total(pledge: Pledge) -> Decimal:
    return Payment.objects.filter(pledge=pledge).aggregate(total=received_sum())["total"]


def pledges_unpaid(campaign: Campaign | None = None) -> QuerySet[Pledge]:
    """Pledged but not (fully) received: confirmed open pledges with what is still owed."""
    qs = Pledge.objects.filter(Pledge.counted_q())
    if campaign is not None:
        qs = qs.filter(campaign=campaign)
    # A correlated subquery, not a joined Sum: callers aggregate `owed` across pledges, and
    # PostgreSQL refuses an aggregate over an aggregate.
    paid = (
        Payment.objects.filter(pledge=OuterRef("pk"))
        .order_by()
        .values("pledge")
        .annotate(total=Sum(NET))
        .values("total")
    )
    return qs.annotate(
        paid=Coalesce(Subquery(paid, output_field=MONEY_FIELD), ZERO, output_field=MONEY_FIELD)
    ).annotate(owed=F("amount") * F("months") - F("paid"))


def pledges_unconfirmed() -> QuerySet[Pledge]:
    """Pledges waiting for the donor's confirmation: counted nowhere until confirmed or paid."""
    return Pledge.objects.filter(status=Pledge.Status.PLEDGED, confirmed_at__isnull=True)


def payments_not_receipted() -> QuerySet[Payment]:
    """Receiptable payments without an active receipt (the admin's "to receipt" report).

    Refunded or disputed card payments are not gifts (yet): they wait, or are never receipted.
    """
    active = Receipt.objects.filter(payments=OuterRef("pk"), cancelled_at__isnull=True)
    return Payment.objects.filter(
        is_private_benevolence=False,
        refunded_amount=ZERO,
        disputed_at__isnull=True,
        via_qualified_donee="",
    ).exclude(Exists(active))


def receipt_counts(year: int | None = None) -> dict[str, int | Decimal]:
    qs = Receipt.objects.all()
    if year is not None:
        qs = qs.filter(year=year)
    counts = qs.aggregate(
        issued=Count("id", filter=Q(cancelled_at__isnull=True)),
        cancelled=Count("id", filter=Q(cancelled_at__isnull=False)),
        eligible_total=_money_sum("eligible_amount", filter=Q(cancelled_at__isnull=True)),
    )
    counts["payments_not_receipted"] = payments_not_receipted().count()
    return counts


def received_by_month(campaign: Campaign | None = None, since: dt.date | None = None) -> list[dict]:
    """[{"month": date(2026, 1, 1), "total": Decimal}, ...], one query."""
    qs = Payment.objects.all()
    if campaign is not None:
        qs = qs.filter(campaign=campaign)
    if since is not None:
        qs = qs.filter(received_on__gte=since)
    return list(
        qs.annotate(month=TruncMonth("received_on"))
        .values("month")
        .annotate(total=received_sum())
        .order_by("month")
    )


def donor_pledges(email: str) -> QuerySet[Pledge]:
    return Pledge.objects.filter(email__iexact=email) if email else Pledge.objects.none()


def donor_payments(email: str) -> QuerySet[Payment]:
    if not email:
        return Payment.objects.none()
    return Payment.objects.filter(Q(donor_email__iexact=email) | Q(pledge__email__iexact=email))
