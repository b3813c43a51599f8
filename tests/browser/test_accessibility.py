"""Every page each role can reach, in each language: axe-core finds no critical or serious
violation, and the Nu HTML Checker finds no error in the server's HTML.

Two depths. `make test` checks where every role lands, in each language (a quick check while
working). `make a11y` (its own step in CI) crawls: each role starts at its home and at every
admin changelist it may view (from the admin registry), and follows the links it is shown, one
page per URL name (plus the change pages of the demo's fullest family, sponsorship and pledge,
whose inlines are where forms go wrong). One browser; one tab, signed in as each role in turn.
The checkers come from the npm registry through tests/a11y/package.json (`make a11y-tools`);
without them (no npm or no java) the checks are skipped with the reason. See docs/accessibility.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import warnings
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count
from django.test import Client
from django.urls import Resolver404, resolve, reverse
from playwright.sync_api import Error as PlaywrightError

from families.models import Family
from fundraising.models import Pledge
from sponsorship.models import Sponsorship

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tests" / "a11y" / "node_modules"
AXE = TOOLS / "axe-core" / "axe.min.js"
VNU = TOOLS / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE_SOURCE = AXE.read_text(encoding="utf-8") if AXE.exists() else ""
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21aa", "best-practice"]
BLOCKING = {"critical", "serious"}
LANGUAGES = ["en", "fr", "ko"]
DEMO = "demo.hanvoice.test"
ROLES = {
    "program manager": f"manager@{DEMO}",
    "case worker": f"caseworker@{DEMO}",
    "fundraising staff": f"fundraising@{DEMO}",
    "coordinator": f"coordinator.harbourside@{DEMO}",
    "treasurer": f"treasurer.harbourside@{DEMO}",
    "member": f"member.harbourside@{DEMO}",
    "public": None,
}
# Links that are not pages to check: sign-out, language switch, downloads, off-site redirects.
SKIP_PREFIXES = ("/static/", "/media/", "/i18n/", "/admin/logout/", "/accounts/logout/")
SKIP_PARTS = ("/admin/r/", "/download", "/export", "/pdf/", ".csv", ".pdf", ".json", "/widget/")
PUBLIC_START = ["/give/", "/accounts/login/", "/accounts/password_reset/"]
MAX_PAGES_PER_ROLE = 160
# Django's own history and delete-confirmation pages: checked in English; in French and Korean
# only their words change, and skipping them keeps the check to a few minutes.
SAME_IN_EVERY_LANGUAGE = ("_history", "_delete", "_simple_history")
# While fixing a page: A11Y_ONLY=/admin/families/ A11Y_ROLES="case worker" narrows the crawl.
ONLY = os.environ.get("A11Y_ONLY", "")
ROLE_ONLY = [r for r in os.environ.get("A11Y_ROLES", "").split(",") if r]


def _tools_or_skip() -> None:
    if not AXE.exists():
        reason = "npm is not installed" if not shutil.which("npm") else "run `make a11y-tools`"
        pytest.skip(f"axe-core not installed ({reason}): accessibility checks skipped")


@dataclass
class Findings:
    pages: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    html: dict[str, str] = field(default_factory=dict)  # file name -> url


def _key(path: str) -> str | None:
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return None
    return match.view_name


def _wanted(base: str, href: str) -> str | None:
    if not href.startswith(base):
        return None
    path = href[len(base) :].split("#")[0]
    if not path.startswith("/") or path.startswith(SKIP_PREFIXES):
        return None
    if any(part in path for part in SKIP_PARTS):
        return None
    return path


def _start_pages(email: str | None) -> list[str]:
    if email is None:
        return list(PUBLIC_START)
    user = get_user_model().objects.get(email=email)
    if not user.is_staff:
        return ["/portal/", "/portal/inbox/", reverse("notification-preferences")]
    pages = ["/admin/", reverse("notification-preferences"), reverse("password_change")]
    for model in admin.site._registry:
        opts = model._meta
        if user.has_perm(f"{opts.app_label}.view_{opts.model_name}") or user.has_perm(
            f"{opts.app_label}.change_{opts.model_name}"
        ):
            pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    # The fullest case files: their inlines are the forms with the most rows.
    fullest = [
        Family.objects.annotate(n=Count("members")).order_by("-n").first(),
        Sponsorship.objects.annotate(n=Count("milestones")).order_by("-n").first(),
        Pledge.objects.annotate(n=Count("payments")).order_by("-n").first(),
    ]
    for obj in fullest:
        if obj is not None and user.has_perm(f"{obj._meta.app_label}.view_{obj._meta.model_name}"):
            opts = obj._meta
            pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
    return pages


def _sign_in(context, base: str, email: str | None, language: str) -> None:
    cookies = [{"name": "django_language", "value": language, "url": base}]
    if email:
        client = Client()
        client.force_login(get_user_model().objects.get(email=email))
        cookies.append(
            {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}
        )
    context.add_cookies(cookies)


# Reporting where a violation is (selectors, ancestry) is a third of axe's time on a large
# admin page: the check runs without it and runs again with it only when something is found.
AXE_RUN = """async ([tags, detail]) => {
    const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},
        resultTypes: ['violations'], selectors: detail, ancestry: false, xpath: false,
        elementRef: false, iframes: false});
    return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.length, target: detail ? v.nodes[0].target.join(' ') : ''}));
}"""


def _axe(page) -> list[dict]:
    page.add_script_tag(content=AXE_SOURCE)
    found = page.evaluate(AXE_RUN, [AXE_TAGS, False])
    if any(v["impact"] in BLOCKING for v in found):
        found = page.evaluate(AXE_RUN, [AXE_TAGS, True])
    return found


def _crawl(
    page, base: str, scope: str, label: str, starts, seen: set, out: Findings, html_dir, follow=True
):
    """Visit `starts` and (when `follow`) every link shown, one page per (scope, URL name)."""
    queue = deque((path, True) for path in starts if ONLY in path)
    count = 0
    while queue and count < MAX_PAGES_PER_ROLE:
        path, forced = queue.popleft()
        key = _key(path)
        if key is None or (not forced and (scope, key) in seen):
            continue
        if scope == "all" and key.endswith(SAME_IN_EVERY_LANGUAGE):
            continue
        seen.add((scope, key))
        try:
            response = page.goto(base + path)
        except PlaywrightError as exc:  # a file download is not a page
            if "Download is starting" in str(exc):
                continue
            raise
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        final = _wanted(base, page.url)
        if final is None:
            continue
        if final != path:  # redirected: check the page it landed on once
            final_key = _key(final)
            if (scope, final_key) in seen and final_key != key:
                continue
            seen.add((scope, final_key))
        count += 1
        where = f"{label}: {final}"
        out.pages.append(where)
        name = f"{len(out.html):04d}.html"
        (html_dir / name).write_text(response.text(), encoding="utf-8")
        out.html[name] = where
        for v in _axe(page):
            if v["impact"] in BLOCKING:
                out.violations.append(
                    f"{where} {v['impact']} {v['id']} x{v['nodes']} ({v['help']}) at {v['target']}"
                )
        if not follow:
            continue
        hrefs = page.eval_on_selector_all(
            "a[href]", "els => els.map(e => new URL(e.getAttribute('href'), document.baseURI).href)"
        )
        for href in hrefs:
            nxt = _wanted(base, href)
            if nxt is not None and ONLY in nxt and (k := _key(nxt)) and (scope, k) not in seen:
                queue.append((nxt, False))


def _vnu(html_dir: Path, out: Findings) -> list[str]:
    if not VNU.exists() or not shutil.which("java"):
        warnings.warn("java or vnu.jar missing: the Nu HTML check was skipped", stacklevel=1)
        return []
    result = subprocess.run(
        # A short-lived JVM: the quick compiler only and one collector thread halve its CPU
        # (most of it was the optimising compiler warming up for a run that ends in seconds).
        [
            "java",
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-jar",
            str(VNU),
            "--errors-only",
            "--format",
            "json",
            "--skip-non-html",
        ]
        + sorted(str(p) for p in html_dir.glob("*.html")),
        capture_output=True,
        text=True,
        timeout=600,
    )
    messages = json.loads(result.stderr or result.stdout or '{"messages": []}')["messages"]
    errors = []
    for m in messages:
        label = out.html.get(Path(urlsplit(m.get("url", "")).path).name, m.get("url"))
        errors.append(f"{label} line {m.get('lastLine')}: {m.get('message')}")
    return errors


def _check(
    language: str, roles: list[str], scoped: bool, follow: bool, base, tab, tmp_path, findings
) -> Findings:
    seen: set = set()
    for name in roles:
        if ROLE_ONLY and name not in ROLE_ONLY:
            continue
        page = tab(bypass_csp=True, viewport={"width": 1280, "height": 900})
        page.context.clear_cookies()  # the role before's session
        _sign_in(page.context, base, ROLES[name], language)
        starts = _start_pages(ROLES[name]) if follow else _home_pages(ROLES[name])
        scope = name if scoped else "all"
        label = f"[{language}] {name}"
        _crawl(page, base, scope, label, starts, seen, findings, tmp_path, follow=follow)
    return findings


def _home_pages(email: str | None) -> list[str]:
    """Where each role lands."""
    return _start_pages(email)[:1]


def _assert_clean(findings: Findings, nu_errors: list[str], least: int) -> None:
    assert len(findings.pages) > (0 if (ONLY or ROLE_ONLY) else least), findings.pages
    assert not findings.violations, "\n".join(findings.violations)
    assert not nu_errors, "\n".join(nu_errors)


@pytest.mark.parametrize(
    "language",
    # English in `make test`, the quick check while working; French and Korean with the
    # crawl in `make a11y` (each costs as much again: the demo seeded, every role signed in).
    [
        pytest.param(language, marks=[pytest.mark.crawl] if language != "en" else [])
        for language in LANGUAGES
    ],
)
def test_each_role_s_home_passes_axe_and_the_nu_checker(language, live_server, tab, tmp_path):
    """Where every role lands, in each language. `make a11y` crawls every page."""
    _tools_or_skip()
    call_command("seed_demo", "--force")
    found = Findings()
    _check(language, list(ROLES), True, False, live_server.url, tab, tmp_path, found)
    _assert_clean(found, _vnu(tmp_path, found), least=len(ROLES) - 1)


# The whole crawl (`make a11y`, its own step in CI: ~560 pages, a few minutes of axe).
# English: every page of every role, one test per role (so the test processes share them).
# French and Korean: every page once (the first role to reach it); the markup is the same,
# the words and their lengths differ.
CASES = [("en", role) for role in ROLES] + [(language, None) for language in LANGUAGES[1:]]


@pytest.mark.crawl
@pytest.mark.parametrize(
    ("language", "role"), CASES, ids=[f"{lang}-{role or 'every role'}" for lang, role in CASES]
)
def test_every_page_of_every_role_passes_axe_and_the_nu_checker(
    language, role, live_server, tab, tmp_path, artifacts_dir
):
    _tools_or_skip()
    roles = [role] if role else list(ROLES)
    if ROLE_ONLY and not set(roles) & set(ROLE_ONLY):
        pytest.skip("A11Y_ROLES leaves this role out")
    call_command("seed_demo", "--force")
    findings = _check(language, roles, bool(role), True, live_server.url, tab, tmp_path, Findings())
    nu_errors = _vnu(tmp_path, findings)
    report = {"pages": findings.pages, "axe": findings.violations, "nu": nu_errors}
    slug = f"{language}-{(role or 'every-role').replace(' ', '-')}"
    (artifacts_dir / f"a11y-{slug}.json").write_text(json.dumps(report, indent=1))
    _assert_clean(findings, nu_errors, least=2 if role else 20)


def test_the_checkers_find_what_they_are_there_to_find(browser, tmp_path):
    """The quick path (no selectors) still sees a violation and the detailed run names it;
    the Nu checker reads the files it is given."""
    _tools_or_skip()
    page = browser.new_page()
    page.set_content(
        '<!DOCTYPE html><html lang="en"><title>t</title><main><h1>t</h1>'
        '<input type="text"><p style="color:#ccc;background:#fff">faint</p></main></html>'
    )
    found = {v["id"]: v for v in _axe(page)}
    page.close()
    assert {"label", "color-contrast"} <= set(found)
    assert found["label"]["target"] == "input"
    (tmp_path / "0000.html").write_text('<!DOCTYPE html><html lang="en"><p for="x">no title')
    if VNU.exists() and shutil.which("java"):
        errors = _vnu(tmp_path, Findings(html={"0000.html": "broken page"}))
        assert errors and all(e.startswith("broken page") for e in errors), errors


# --- Pages no link leads to ----------------------------------------------------------------
# The crawl follows links with GET. These pages come after a POST, from an e-mail or with a
# token, or show a form's errors: each is reached as a person reaches it, then checked the
# same way (axe on the page shown, the Nu checker on the server's HTML of that response).


def _check_shown(page, response, where: str, out: Findings, html_dir: Path) -> None:
    assert response is not None and response.status < 500, where
    out.pages.append(where)
    name = f"{len(out.html):04d}.html"
    (html_dir / name).write_text(response.text(), encoding="utf-8")
    out.html[name] = where
    for v in _axe(page):
        if v["impact"] in BLOCKING:
            out.violations.append(
                f"{where} {v['impact']} {v['id']} x{v['nodes']} ({v['help']}) at {v['target']}"
            )


def _submit(page, selector: str = "main form[method=post] [type=submit]"):
    """Send the page's form and return the response of the page it leads to."""
    with page.expect_navigation() as shown:
        page.locator(selector).first.click()
    return shown.value


def _visit(page, base: str, path: str):
    return page.goto(base + path)


@pytest.mark.crawl
@pytest.mark.parametrize("language", LANGUAGES)
def test_pages_no_link_leads_to_pass_axe_and_the_nu_checker(
    language, live_server, browser, tmp_path, artifacts_dir, sponsorship, coordinator, case_worker,
    settings,
):  # fmt: skip
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    from fundraising import services as fundraising_services
    from fundraising.models import DonorLink
    from sponsorship import portal_services
    from tests.factories import CampaignFactory, MonthlyPledgeFactory, PledgeFactory

    _tools_or_skip()
    base, found = live_server.url, Findings()
    campaign = CampaignFactory()
    waiting = PledgeFactory(campaign=campaign, email="wes@example.org", confirmed_at=None)
    MonthlyPledgeFactory(campaign=campaign, email="vera@example.org")
    _, invitation = portal_services.invitation_create(
        email="new.member@example.org", group=sponsorship.group, role="member",
        invited_by=case_worker,
    )  # fmt: skip
    staff = get_user_model().objects.get(pk=case_worker.pk)
    staff.set_password("a long staff password 2026")
    staff.save()

    def context():
        made = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
        made.add_cookies([{"name": "django_language", "value": language, "url": base}])
        return made, made.new_page()

    # The public side: a pledge sent empty (its errors), then made (thank-you page); the
    # confirmation page from the e-mail; the donor's sign-in link and self-service page.
    public, page = context()
    _visit(page, base, f"/give/{campaign.slug}/")
    _check_shown(page, _submit(page), f"[{language}] pledge form with errors", found, tmp_path)
    page.locator("input[name=amount_choice][value='25']").check(force=True)
    for name, value in (("donor_name", "Mina Example"), ("email", "mina@example.org")):
        page.locator(f"[name={name}]").fill(value)
    page.locator("[name=address]").fill("12 Example Avenue\nToronto ON M4M 1A1")
    _check_shown(page, _submit(page), f"[{language}] pledge thank-you", found, tmp_path)
    assert "/give/thanks/" in page.url, page.url
    token = fundraising_services.pledge_confirm_token(waiting)
    shown = _visit(page, base, reverse("fundraising:pledge-confirm", args=[token]))
    _check_shown(page, shown, f"[{language}] pledge confirmation", found, tmp_path)
    shown = _visit(page, base, reverse("fundraising:donor-start"))
    _check_shown(page, shown, f"[{language}] donor sign-in", found, tmp_path)
    page.locator("[name=email]").fill("not an address")
    _check_shown(page, _submit(page), f"[{language}] donor sign-in with errors", found, tmp_path)
    fundraising_services.donor_link_request(email="vera@example.org", language=language)
    link = urlsplit(fundraising_services.donor_link_url(DonorLink.objects.latest("pk"))).path
    _check_shown(page, _visit(page, base, link), f"[{language}] donor link", found, tmp_path)
    _check_shown(page, _submit(page), f"[{language}] donor's own page", found, tmp_path)
    assert page.url.endswith("/give/donor/me/"), page.url

    # Accounts: sign-in refused, password reset sent and its link, the second factor.
    shown = _visit(page, base, "/accounts/login/")
    page.locator("[name=username]").fill("nobody@example.org")
    page.locator("[name=password]").fill("wrong password")
    _check_shown(page, _submit(page), f"[{language}] sign-in with errors", found, tmp_path)
    shown = _visit(page, base, "/accounts/password_reset/done/")
    _check_shown(page, shown, f"[{language}] password reset sent", found, tmp_path)
    uid = urlsafe_base64_encode(force_bytes(staff.pk))
    shown = _visit(
        page, base, f"/accounts/reset/{uid}/{default_token_generator.make_token(staff)}/"
    )
    _check_shown(page, shown, f"[{language}] password reset: new password", found, tmp_path)
    page.locator("[name=new_password1]").fill("one long password 2026")
    page.locator("[name=new_password2]").fill("another long password 2026")
    _check_shown(page, _submit(page), f"[{language}] new password with errors", found, tmp_path)
    shown = _visit(page, base, reverse("portal:invitation-accept", args=[invitation]))
    _check_shown(page, shown, f"[{language}] invitation", found, tmp_path)
    _check_shown(page, _submit(page), f"[{language}] invitation with errors", found, tmp_path)
    public.close()

    settings.STAFF_REQUIRE_2FA = True  # as in production: staff set up a second factor
    staff_context, page = context()
    _visit(page, base, "/accounts/login/")
    page.locator("[name=username]").fill(staff.email)
    page.locator("[name=password]").fill("a long staff password 2026")
    shown = _submit(page)
    assert "/accounts/second-factor/" in page.url, page.url
    _check_shown(page, shown, f"[{language}] second factor: set up", found, tmp_path)
    page.locator("[name=token]").fill("000000")
    _check_shown(page, _submit(page), f"[{language}] second factor with errors", found, tmp_path)
    # The backup codes page (reached from the account menu once signed in): its offer, then
    # the codes it shows once.
    settings.STAFF_REQUIRE_2FA = False
    shown = _visit(page, base, reverse("otp-backup-codes"))
    _check_shown(page, shown, f"[{language}] backup codes", found, tmp_path)
    _check_shown(page, _submit(page), f"[{language}] backup codes made", found, tmp_path)
    assert page.locator("main code, main li").count() > 0, page.url
    staff_context.close()

    # The portal's check-in form sent without its answers.
    portal, page = context()
    _sign_in(portal, base, coordinator.email, language)
    _visit(page, base, reverse("portal:checkins", args=[sponsorship.public_id]))
    page.locator("main a[href*='check-ins/new']").first.click()
    page.wait_for_load_state()
    _check_shown(page, _submit(page), f"[{language}] check-in with errors", found, tmp_path)
    assert page.locator(".is-invalid, .invalid-feedback").count() > 0  # its errors are shown
    portal.close()

    nu_errors = _vnu(tmp_path, found)
    report = {"pages": found.pages, "axe": found.violations, "nu": nu_errors}
    (artifacts_dir / f"a11y-unlinked-{language}.json").write_text(json.dumps(report, indent=1))
    _assert_clean(found, nu_errors, least=15)
