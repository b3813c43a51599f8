"""Reports: page, CSV and PDF show the same numbers; suppression; roles; filters; queries."""

from __future__ import annotations

import csv
import datetime
import io
import re
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from config import reports
from config.reports.base import money_text
from core.roles import CASE_WORKER, FUNDRAISING, PROGRAM_MANAGER
from families.models import CaseFileAccess, Family
from fundraising import selectors
from fundraising.models import Campaign, Payment
from sponsorship.models import SponsorGroup
from tests.config.bulk import build_program
from tests.factories import CampaignFactory, PaymentFactory, StaffFactory

pytestmark = pytest.mark.django_db
URLS = {
    "program": "/admin/reports/program/",
    "groups": "/admin/reports/groups/",
    "fundraising": "/admin/reports/fundraising/",
}


def _staff(role: str):
    from django.contrib.auth.models import Group

    return Group.objects.get(name=role).user_set.get(email__endswith="demo.hanvoice.test")


@pytest.fixture
def seeded(demo_pilot, db):
    """The demo pilot, built once for the module (tests/conftest.py)."""
    return demo_pilot


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode())))


# --- suppression ---------------------------------------------------------------------------------


def test_it_suppresses_counts_of_one_and_two_for_people_outside_hanvoice():
    assert reports.suppress(0) == 0
    assert reports.suppress(1) == "fewer than 3"
    assert reports.suppress(2) == "fewer than 3"
    assert reports.suppress(3) == 3
    assert reports.suppress(250) == 250


def test_it_shows_staff_every_count():
    assert [reports.suppress(n, reports.INTERNAL) for n in (0, 1, 2, 3)] == [0, 1, 2, 3]


def test_a_percentage_of_a_small_count_is_not_shown_outside():
    assert reports.base.percent(1, 2, reports.EXTERNAL) == "-"
    assert reports.base.percent(1, 2, reports.INTERNAL) == "50%"
    assert reports.base.percent(3, 4, reports.EXTERNAL) == "75%"
    assert reports.base.percent(0, 0, reports.INTERNAL) == "-"


# --- the three formats agree ---------------------------------------------------------------


@pytest.mark.parametrize("key", ["program", "groups", "fundraising"])
def test_the_csv_and_the_pdf_contain_what_the_page_shows(client, seeded, key):
    client.force_login(_staff(PROGRAM_MANAGER))
    page = client.get(URLS[key])
    assert page.status_code == 200
    report = page.context["report"]
    html = page.content.decode()
    assert html.count("<h1") == 1
    rows = _csv(client.get(URLS[key], {"format": "csv"}).content)
    flat = [cell for row in rows for cell in row]
    pdf = client.get(URLS[key], {"format": "pdf"})
    assert pdf["Content-Type"] == "application/pdf"
    text = re.sub(r"\s+", " ", _pdf_text(pdf.content))
    for label, value in report.summary:
        assert f'<th scope="row">{label}</th><td class="hv-num">{value}</td>' in html
        assert [label, str(value)] in rows
        assert f"{label} {value}" in text, (label, value)
    for table in report.tables:
        for row in table.rows:
            for value in row:
                shown = value.isoformat() if isinstance(value, datetime.date) else str(value)
                assert shown in flat
                assert shown.replace(" ", "") in text.replace(" ", ""), shown


def test_the_program_report_counts_what_happened(client, seeded):
    client.force_login(_staff(CASE_WORKER))
    report = client.get(URLS["program"]).context["report"]
    summary = dict(report.summary)
    # Demo: families 100 days in (4 months), 310 days in (11 months), a BVOR family 75 days
    # in (3 months) and a JAS family 200 days in (7 months).
    assert summary["Months of support delivered"] == 25
    assert summary["Families in the program"] == Family.objects.count()
    codes = [row[0] for row in report.tables[-1].rows]
    assert sorted(codes) == sorted(
        Family.objects.filter(status="arrived").values_list("case_code", flat=True)
    )


@pytest.mark.parametrize("key", ["program", "groups"])
def test_the_external_variant_has_no_case_codes_or_group_names(client, seeded, key):
    client.force_login(_staff(PROGRAM_MANAGER))
    query = {"audience": "external"}
    # The staff member's filter form lists the groups; the report below it must not.
    html = client.get(URLS[key], query).content.decode().rsplit("</form>", 1)[1]
    csv_text = client.get(URLS[key], {**query, "format": "csv"}).content.decode()
    pdf_text = _pdf_text(client.get(URLS[key], {**query, "format": "pdf"}).content)
    for text in (html, csv_text, pdf_text):
        assert "NK-" not in text
        assert "Maplewood" not in text and "Harbourside" not in text and "Prairie" not in text
        assert "fewer than 3" in text  # two arrived families, each count 1 or 2
    assert CaseFileAccess.objects.filter(action__in=["export", "download"]).count() == 0


def test_the_external_group_report_names_groups_by_letter(client, seeded):
    client.force_login(_staff(PROGRAM_MANAGER))
    report = client.get(URLS["groups"], {"audience": "external"}).context["report"]
    assert [row[0] for row in report.tables[0].rows] == ["Group A", "Group B", "Group C"]
    assert all(row[1] == "fewer than 3" for row in report.tables[0].rows)  # one or two each


def test_a_download_with_case_codes_is_logged_for_each_family(client, seeded):
    user = _staff(CASE_WORKER)
    client.force_login(user)
    arrived = set(Family.objects.filter(status="arrived").values_list("pk", flat=True))
    client.get(URLS["program"], {"format": "csv"})
    exported = CaseFileAccess.objects.filter(user=user, action="export")
    assert set(exported.values_list("family_id", flat=True)) == arrived
    assert exported.first().page == URLS["program"]
    client.get(URLS["groups"], {"format": "pdf"})
    downloaded = CaseFileAccess.objects.filter(user=user, action="download")
    assert set(downloaded.values_list("family_id", flat=True)) == arrived
    client.get(URLS["program"])  # the internal page lists case codes: a view of each file
    viewed = CaseFileAccess.objects.filter(user=user, action="view")
    assert set(viewed.values_list("family_id", flat=True)) == arrived
    assert CaseFileAccess.objects.filter(user=user).count() == 3 * len(arrived)


# --- roles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role,allowed",
    [
        (PROGRAM_MANAGER, {"program", "groups", "fundraising"}),
        (CASE_WORKER, {"program", "groups"}),
        (FUNDRAISING, {"fundraising"}),
    ],
)
def test_each_role_opens_only_its_reports(client, seeded, role, allowed):
    client.force_login(_staff(role))
    for key, url in URLS.items():
        for fmt in ("", "csv", "pdf"):
            response = client.get(url, {"format": fmt} if fmt else {})
            assert response.status_code == (200 if key in allowed else 403), (key, fmt)
    index = client.get("/admin/reports/").content.decode()
    for key, url in URLS.items():
        assert (url in index) == (key in allowed)


def test_outsiders_are_sent_to_the_sign_in_page(client, plain_user, other_member):
    for user in (None, plain_user, other_member):
        if user:
            client.force_login(user)
        for url in [*URLS.values(), "/admin/reports/"]:
            response = client.get(url, {"format": "csv"})
            assert response.status_code == 302
            assert "/admin/login/" in response["Location"]


def test_staff_without_a_role_see_no_report(client, db):

    client.force_login(StaffFactory())
    assert client.get("/admin/reports/").status_code == 403
    assert client.get(URLS["program"]).status_code == 403


# --- filters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query,field,message",
    [
        (
            {"date_from": "2026-05-01", "date_to": "2026-04-01"},
            "date_to",
            "The end date is before the start date.",
        ),
        (
            {"date_from": "2015-01-01", "date_to": "2025-12-31"},
            "date_to",
            "Choose a period of at most 10 years.",
        ),
        ({"date_from": "2014-12-31"}, "date_from", "Choose a date in 2015 or later"),
        ({"date_to": "2099-01-01"}, "date_to", "Choose a date no later than"),
        ({"date_from": "not a date"}, "date_from", "Enter a valid date."),
    ],
)
def test_it_refuses_an_unreasonable_period_next_to_the_field(
    client, program_manager, query, field, message
):
    client.force_login(program_manager)
    with time_machine.travel(datetime.date(2026, 6, 1), tick=False):
        for fmt in ("", "csv"):
            response = client.get(URLS["program"], {**query, "format": fmt})
            assert response.status_code == 400
            html = response.content.decode()
            assert f'id="id_{field}_errors"' in html
            assert message in html
            assert "report" not in response.context


def test_an_empty_period_shows_an_empty_chart_with_a_sentence(client, seeded):
    client.force_login(_staff(PROGRAM_MANAGER))
    for key, url in URLS.items():
        response = client.get(url, {"date_from": "2016-01-01", "date_to": "2016-12-31"})
        assert response.status_code == 200, key
        html = response.content.decode()
        if key != "program":  # the program report still shows today's families by stage
            assert "Nothing happened in this period" in html, key
        assert 'role="img"' in html
        assert client.get(url, {"date_from": "2016-01-01", "format": "pdf"}).status_code == 200


def test_the_group_filter_shows_one_group(client, seeded):

    client.force_login(_staff(PROGRAM_MANAGER))
    group = SponsorGroup.objects.get(name__startswith="Prairie")
    report = client.get(URLS["groups"], {"group": group.pk}).context["report"]
    assert [row[0] for row in report.tables[0].rows] == [group.name]
    assert ("Sponsor group", group.name) in report.filters


def test_the_campaign_filter_and_period_narrow_the_fundraising_report(client, seeded):

    other = CampaignFactory(slug="spring", name="Spring appeal")
    client.force_login(_staff(FUNDRAISING))
    north = Campaign.objects.get(slug="north-to-north")
    today = timezone.localdate()
    start = today - datetime.timedelta(days=60)
    report = client.get(
        URLS["fundraising"], {"campaign": north.pk, "date_from": start.isoformat()}
    ).context["report"]
    received = sum(  # net of refunds, as on the campaign meter
        p.amount - p.refunded_amount
        for p in Payment.objects.filter(campaign=north, received_on__gte=start)
    )
    assert dict(report.summary)["Received in the period"] == f"${received:,.2f}"
    assert [row[0] for row in report.tables[1].rows] == ["North to North"]
    html = client.get(URLS["fundraising"], {"campaign": north.pk}).content.decode()
    assert other.name not in html.rsplit("</form>", 1)[1]  # (the filter's list names it)
    pledge_table = report.tables[2]
    assert all(row[0].startswith("HV-") for row in pledge_table.rows)  # references, no names
    assert "Demo Donor" not in client.get(URLS["fundraising"], {"format": "csv"}).content.decode()


def test_the_fundraising_report_nets_refunds_as_the_campaign_meter_does(client, program_manager):
    campaign = CampaignFactory(slug="refunds", name="Refund appeal")
    march, april = datetime.date(2026, 3, 2), datetime.date(2026, 4, 1)
    PaymentFactory(pledge__campaign=campaign, amount=Decimal("100.00"), received_on=march)
    PaymentFactory(  # partly refunded
        pledge__campaign=campaign,
        amount=Decimal("60.00"),
        refunded_amount=Decimal("25.00"),
        received_on=march,
    )
    PaymentFactory(  # refunded in full
        pledge__campaign=campaign,
        amount=Decimal("40.00"),
        refunded_amount=Decimal("40.00"),
        received_on=april,
    )
    meter = selectors.campaign_totals(campaign).received
    assert meter == Decimal("135.00")  # 100 + 60 - 25 + 40 - 40
    kept = money_text(meter)

    client.force_login(program_manager)
    params = {"date_from": "2026-01-01", "date_to": "2026-06-30", "campaign": campaign.pk}
    report = client.get(URLS["fundraising"], params).context["report"]
    assert dict(report.summary)["Received in the period"] == kept
    by_month = {row[0]: row[1] for row in report.tables[0].rows}
    assert (by_month["2026-03"], by_month["2026-04"]) == (kept, money_text(Decimal("0")))
    assert [row[4] for row in report.tables[1].rows] == [kept]  # "Received in the period"
    assert sum(value for _label, value in report.chart.points) == meter

    rows = _csv(client.get(URLS["fundraising"], {**params, "format": "csv"}).content)
    assert ["Received in the period", kept] in rows and ["2026-03", kept, "2"] in rows
    pdf = client.get(URLS["fundraising"], {**params, "format": "pdf"})
    assert f"Received in the period {kept}" in re.sub(r"\s+", " ", _pdf_text(pdf.content))


# --- queries -------------------------------------------------------------------------------------


def _queries(client, url: str, params: dict) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_report_query_counts_do_not_grow_with_the_number_of_families(
    client, program_manager, django_assert_max_num_queries
):
    today = timezone.localdate()
    cases = [(url, {}) for url in URLS.values()]
    cases += [(URLS["program"], {"format": "csv"}), (URLS["groups"], {"format": "pdf"})]
    cases += [(URLS["groups"], {"audience": "external"})]
    with time_machine.travel(today, tick=False):
        build_program(5, today=today, user=program_manager, prefix="NK-2024")
        client.force_login(program_manager)
        small = [_queries(client, url, params) for url, params in cases]
        build_program(495, today=today, user=program_manager, prefix="NK-2025")
        large = [_queries(client, url, params) for url, params in cases]
        assert large == small
        for (url, params), n in zip(cases, small, strict=True):
            with django_assert_max_num_queries(n):
                client.get(url, params)
        report = client.get(URLS["program"]).context["report"]
        assert dict(report.summary)["Families in the program"] == 500


def test_the_external_group_report_shows_no_money_for_a_group_of_fewer_than_3_families(
    client, seeded
):
    client.force_login(_staff(PROGRAM_MANAGER))
    report = client.get(URLS["groups"], {"audience": "external"}).context["report"]
    for row in report.tables[0].rows:  # one family each: the cost table would give its size
        assert row[1] == "fewer than 3"
        assert not any(str(cell).startswith("$") for cell in row), row
    summary = dict(report.summary)
    # Four arrived families in all (the demo's BVOR and JAS families included): the totals of
    # the program may be shown; each group's own figures (one or two families) may not.
    assert str(summary["Income support planned"]).startswith("$")
    assert all(value == "-" for _label, value in report.chart.points)
    internal = client.get(URLS["groups"]).context["report"]
    assert any(str(cell).startswith("$") for cell in internal.tables[0].rows[0])


def test_a_csv_export_writes_formula_like_text_as_text(client, seeded):
    from sponsorship.models import SponsorGroup

    for group in SponsorGroup.objects.all():
        group.name = f'=HYPERLINK("http://evil.example","{group.pk}")'
        group.save(update_fields=["name"])
    client.force_login(_staff(PROGRAM_MANAGER))
    rows = _csv(client.get(URLS["groups"], {"format": "csv"}).content)
    cells = [cell for row in rows for cell in row]
    assert any(cell.startswith("'=HYPERLINK(") for cell in cells)
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+33 1 23", "'+33 1 23"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("Plain text", "Plain text"),
        (Decimal("-12.50"), Decimal("-12.50")),
        (-3, -3),
    ],
)
def test_the_cell_neutraliser(value, written):
    from core.spreadsheets import neutralise

    assert neutralise(value) == written
