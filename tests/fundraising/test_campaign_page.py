"""The public pledge page: /give/<slug>/."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from fundraising import selectors, services
from fundraising.forms import PledgeForm
from fundraising.models import DonorEmail, Pledge
from tests.factories import CampaignFactory, PledgeFactory

pytestmark = pytest.mark.django_db


def url(campaign) -> str:
    return reverse("fundraising:campaign", args=[campaign.slug])


def valid_data(**overrides) -> dict:
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "website": "",
        "amount_choice": "50",
        "other_amount": "",
        "frequency": "one_time",
        "months": "12",
        "donor_name": "Ada Example",
        "email": "ada@example.org",
        "wants_receipt": "on",
        "address": "1 Example Street\nToronto ON M5V 1A1",
        "show_name": "show",
        "public_message": "Welcome home",
        "tribute_kind": "",
        "tribute_name": "",
    }
    data.update(overrides)
    return data


def test_it_shows_the_story_the_meter_and_the_form(client, campaign):
    response = client.get(url(campaign))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<h1") == 1
    assert "Second paragraph of the story." in html
    assert "Pledged, not yet received" in html
    assert 'name="idempotency_key"' in html
    assert "family_id" not in html and "families/" not in html


def test_it_redirects_the_index_to_the_only_active_campaign(client, campaign):
    response = client.get(reverse("fundraising:index"))
    assert response.status_code == 302
    assert response["Location"] == url(campaign)


def test_it_lists_campaigns_when_there_are_several(client, campaign):
    CampaignFactory(slug="second", name="Second campaign")
    response = client.get(reverse("fundraising:index"))
    assert response.status_code == 200
    assert "Second campaign" in response.content.decode()


def test_it_records_a_monthly_pledge_and_thanks_the_donor(
    client, campaign, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(campaign),
            valid_data(frequency="monthly", months="12", amount_choice="other", other_amount="25"),
        )
    pledge = Pledge.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("fundraising:pledge-thanks", args=[pledge.public_id])
    assert (pledge.amount, pledge.months, pledge.total) == (Decimal("25.00"), 12, Decimal("300.00"))
    assert pledge.status == Pledge.Status.PLEDGED
    thanks = client.get(response["Location"]).content.decode()
    assert pledge.reference in thanks
    assert "give@hanvoice.ca" in thanks
    assert "ada@example.org" not in thanks and "Example Street" not in thanks
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["ada@example.org"]
    assert pledge.reference in message.subject and "Example Street" not in message.subject
    assert pledge.reference in message.body and "give@hanvoice.ca" in message.body
    row = DonorEmail.objects.get()
    assert row.kind == DonorEmail.Kind.CONFIRMATION and row.sent_at is not None


def test_it_records_one_pledge_for_a_double_click(client, campaign):
    data = valid_data()
    first = client.post(url(campaign), data)
    second = client.post(url(campaign), data)
    assert Pledge.objects.count() == 1
    assert first["Location"] == second["Location"]


# A pledge POST: the campaign, then in one transaction (a savepoint inside the test's) the
# pledge and its confirmation row. No look-up of the token, the reference or the campaign
# again: the unique constraints decide (tests above and below), the campaign is in hand.
PLEDGE_POST_QUERIES = 5


@pytest.mark.parametrize("pledges", [5, 50])
def test_it_records_a_pledge_in_a_fixed_number_of_queries(
    client, campaign, pledges, django_assert_num_queries, django_capture_on_commit_callbacks
):
    PledgeFactory.create_batch(pledges, campaign=campaign)
    with (
        django_capture_on_commit_callbacks() as callbacks,
        django_assert_num_queries(PLEDGE_POST_QUERIES),
    ):
        response = client.post(url(campaign), valid_data())
    pledge = Pledge.objects.get(email="ada@example.org")
    assert response["Location"] == reverse("fundraising:pledge-thanks", args=[pledge.public_id])
    assert DonorEmail.objects.filter(pledge=pledge, kind=DonorEmail.Kind.CONFIRMATION).exists()
    # The e-mail queued on commit; nothing cached is dropped: an unconfirmed pledge counts in
    # no total, wall or money summary (see the test of the cached totals below).
    assert len(callbacks) == 1


def test_it_draws_a_new_reference_when_the_random_one_is_taken(client, campaign, monkeypatch):
    taken = PledgeFactory(campaign=campaign).reference
    fresh = iter([taken, "HV-ABCD-EFGH"])
    # The field's default as Django keeps it (a cached property of the field).
    monkeypatch.setattr(Pledge._meta.get_field("reference"), "_get_default", lambda: next(fresh))
    response = client.post(url(campaign), valid_data())
    assert response.status_code == 302
    assert Pledge.objects.get(email="ada@example.org").reference == "HV-ABCD-EFGH"


def test_it_shows_a_normal_page_to_a_bot_and_stores_nothing(client, campaign):
    response = client.post(url(campaign), valid_data(website="http://spam.example"))
    assert response.status_code == 200
    assert "Thank you" in response.content.decode()
    assert Pledge.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount_choice": "other", "other_amount": "0"}, "other_amount"),
        ({"amount_choice": "other", "other_amount": "-10"}, "other_amount"),
        ({"amount_choice": "other", "other_amount": "4.99"}, "other_amount"),
        ({"amount_choice": "other", "other_amount": "100000.01"}, "other_amount"),
        ({"amount_choice": "other", "other_amount": "10.123"}, "other_amount"),
        ({"amount_choice": "other", "other_amount": "NaN"}, "other_amount"),
        ({"amount_choice": "other", "other_amount": "1e3"}, "other_amount"),
        ({"amount_choice": "other", "other_amount": ""}, "other_amount"),
        ({"amount_choice": "7"}, "amount_choice"),
        ({"frequency": "monthly", "months": "0"}, "months"),
        ({"frequency": "monthly", "months": "37"}, "months"),
        ({"email": "not-an-email"}, "email"),
        ({"donor_name": "x" * 121}, "donor_name"),
        ({"public_message": "x" * 281}, "public_message"),
        ({"address": ""}, "address"),
        ({"donor_name": "Ada\x07"}, "donor_name"),
        ({"tribute_kind": "memory", "tribute_name": ""}, "tribute_name"),
    ],
)
def test_it_refuses_bad_input_next_to_the_field(client, campaign, overrides, field):
    response = client.post(url(campaign), valid_data(**overrides))
    assert response.status_code == 400
    assert Pledge.objects.count() == 0
    form = response.context["form"]
    assert field in form.errors
    assert f'id="error_1_id_{field}"' in response.content.decode() or field == "amount_choice"


def test_it_needs_no_address_when_the_donor_declines_a_receipt(client, campaign):
    data = valid_data(address="")
    del data["wants_receipt"]
    assert client.post(url(campaign), data).status_code == 302
    assert Pledge.objects.get().wants_receipt is False


def test_it_hides_anonymous_donors_names_everywhere_in_the_html(client, campaign):
    approved = timezone.now()
    PledgeFactory(
        campaign=campaign,
        donor_name="Zelda Hiddenname",
        is_anonymous=True,
        wall_approved_at=approved,
    )
    PledgeFactory(
        campaign=campaign,
        donor_name="Vera Shown",
        public_message="Bienvenue",
        wall_approved_at=approved,
    )
    html = client.get(url(campaign)).content.decode()
    assert "Hiddenname" not in html and "Zelda" not in html
    assert "Anonymous" in html
    assert "Vera Shown" in html and "Bienvenue" in html


def test_it_never_shows_e_mail_or_postal_addresses_on_public_pages(client, campaign):
    pledge = PledgeFactory(campaign=campaign, email="secret@example.org", address="77 Hidden Road")
    pages = [
        url(campaign),
        reverse("fundraising:progress-json", args=[campaign.slug]),
        reverse("fundraising:widget", args=[campaign.slug]),
        reverse("fundraising:pledge-thanks", args=[pledge.public_id]),
    ]
    for page in pages:
        body = client.get(page).content.decode()
        assert "secret@example.org" not in body and "Hidden Road" not in body, page


def test_it_hides_another_pledge_behind_404(client, campaign):
    PledgeFactory(campaign=campaign)
    assert client.get(reverse("fundraising:pledge-thanks", args=[uuid.uuid4()])).status_code == 404
    assert client.get("/give/thanks/1/").status_code == 404


def test_it_serves_progress_json_to_other_sites(client, campaign):
    PledgeFactory(campaign=campaign, amount=Decimal("100"))
    response = client.get(reverse("fundraising:progress-json", args=[campaign.slug]))
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "max-age=30" in response["Cache-Control"]
    body = response.json()
    assert body["pledged_outstanding"] == "100.00" and body["received"] == "0.00"
    assert body["goal"] == "250000.00"


def test_it_lets_other_sites_frame_the_widget_only(client, campaign):
    for _ in range(2):  # the second response comes from the cache: same headers
        widget = client.get(reverse("fundraising:widget", args=[campaign.slug]))
        assert widget.status_code == 200
        assert "X-Frame-Options" not in widget
        assert "frame-ancestors *" in widget["Content-Security-Policy"]
    page = client.get(url(campaign))
    assert page["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]


def test_it_needs_no_inline_script_or_style(client, campaign):
    html = client.get(url(campaign)).content.decode()
    csp = client.get(url(campaign))["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "<script>" not in html and "style=" not in html and "<style" not in html


def test_it_rate_limits_pledges_per_address(client, campaign, settings):
    settings.FUNDRAISING_PLEDGE_RATE = "2/h"
    for _ in range(2):
        assert client.post(url(campaign), valid_data()).status_code == 302
    response = client.post(url(campaign), valid_data())
    assert response.status_code == 429
    assert Pledge.objects.count() == 2
    assert client.get(url(campaign)).status_code == 200  # reading is never limited


@pytest.mark.parametrize("pledges", [5, 500])
def test_it_reads_the_page_in_a_constant_number_of_queries(
    client, campaign, pledges, django_assert_max_num_queries
):
    PledgeFactory.create_batch(pledges, campaign=campaign)
    # The campaign, two aggregates for the totals, one for the donor wall.
    with django_assert_max_num_queries(4):
        assert client.get(url(campaign)).status_code == 200
    # Within the cache's life, the page comes from the cache: no query at all.
    with django_assert_max_num_queries(0):
        assert client.get(url(campaign)).status_code == 200


def test_it_refreshes_the_cached_totals_when_a_pledge_is_confirmed(
    client, campaign, django_capture_on_commit_callbacks
):
    client.get(url(campaign))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url(campaign), valid_data(amount_choice="250"))
    # Not confirmed yet: the totals the page shows (cached) count nothing.
    assert selectors.campaign_totals_cached(campaign).pledged_outstanding == 0
    assert "Ada Example" not in client.get(url(campaign)).content.decode()
    pledge = Pledge.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.pledge_confirm(token=services.pledge_confirm_token(pledge))
        services.pledges_wall_approve(pledges=[pledge], approved_by=None)
    body = client.get(reverse("fundraising:progress-json", args=[campaign.slug])).json()
    assert body["pledged_outstanding"] == "250.00"
    page = client.get(url(campaign)).content.decode()
    assert "Ada Example" in page and "$250" in page


def test_it_refuses_pledges_once_the_campaign_has_ended(client, campaign):
    import datetime as dt

    campaign.ends_on = dt.date(2026, 1, 31)
    campaign.save()
    response = client.post(url(campaign), valid_data())
    assert response.status_code == 400
    assert "closed to new pledges" in response.content.decode()
    assert Pledge.objects.count() == 0


def test_a_campaign_closed_or_ended_after_a_pledge_refuses_the_next_one(client, campaign):
    """The campaign a pledge posts to is kept in the cache: saving it drops that copy."""
    import datetime as dt

    assert client.post(url(campaign), valid_data()).status_code == 302  # read and kept
    campaign.ends_on = dt.date(2026, 1, 31)
    campaign.save()
    data = valid_data(idempotency_key=str(uuid.uuid4()))
    response = client.post(url(campaign), data)
    assert response.status_code == 400
    assert "closed to new pledges" in response.content.decode()
    campaign.ends_on = None
    campaign.is_active = False
    campaign.save()
    data = valid_data(idempotency_key=str(uuid.uuid4()))
    assert client.post(url(campaign), data).status_code == 404
    assert Pledge.objects.count() == 1


def test_it_gives_every_visitor_a_fresh_form_token(client, campaign):
    import re

    pattern = re.compile(r'name="idempotency_key" value="([0-9a-f-]{36})"')
    first = pattern.search(client.get(url(campaign)).content.decode()).group(1)
    second = pattern.search(client.get(url(campaign)).content.decode()).group(1)
    assert first != second
    assert uuid.UUID(first).version == 4


def test_it_serves_a_cached_page_whose_form_still_passes_csrf(campaign):
    import re

    from django.test import Client

    warm = Client(enforce_csrf_checks=True)
    warm.get(url(campaign))  # renders and caches the page
    visitor = Client(enforce_csrf_checks=True)
    html = visitor.get(url(campaign)).content.decode()  # served from the cache
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    assert "placeholder" not in html
    response = visitor.post(
        url(campaign), valid_data(idempotency_key=key) | {"csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert Pledge.objects.count() == 1


def test_it_renders_a_personal_page_for_signed_in_staff(client, campaign, fundraiser):
    client.get(url(campaign))  # cached for anonymous visitors
    client.force_login(fundraiser)
    assert "Sign out" in client.get(url(campaign)).content.decode()


def test_it_caches_the_page_separately_for_each_language(client, campaign):
    for _ in range(2):  # the second round is served from the cache
        for language in ("ko", "fr", "en"):
            html = client.get(url(campaign), HTTP_ACCEPT_LANGUAGE=language).content.decode()
            assert f'<html lang="{language}">' in html


def test_each_pledge_form_has_its_own_choice_fields(campaign):
    """The choice fields share their choices with the class's (SharedChoiceField): replacing
    one form's choices or widget attributes changes no other form."""
    first = PledgeForm(campaign=campaign)
    second = PledgeForm(campaign=CampaignFactory(slug="other", suggested_amounts="7,8"))
    assert first.fields["amount_choice"] is not second.fields["amount_choice"]
    assert first.fields["amount_choice"].widget is not second.fields["amount_choice"].widget
    first.fields["frequency"].choices = [("one_time", "Once")]
    first.fields["show_name"].widget.attrs["data-x"] = "1"
    third = PledgeForm(campaign=campaign)
    assert [value for value, _ in third.fields["frequency"].choices] == ["one_time", "monthly"]
    assert "data-x" not in third.fields["show_name"].widget.attrs
    assert [value for value, _ in second.fields["amount_choice"].choices][:2] == ["7", "8"]
    assert [value for value, _ in third.fields["amount_choice"].choices] != ["7", "8", "other"]
    assert 'value="monthly"' in str(third["frequency"])
