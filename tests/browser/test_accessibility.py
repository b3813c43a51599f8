"""Every page each role can reach, in each language: axe-core finds no critical or serious
violation, and the Nu HTML Checker finds no error in the server's HTML.

The pages are not a hand list: each role starts at its home and at every admin changelist it
may view (from the admin registry), and the crawl follows the links it is shown, one page per
URL name (plus the change pages of the demo's fullest family, sponsorship and pledge, whose
inlines are where forms go wrong). One browser, one context per role and language.
The checkers come from the npm registry through tools/a11y/package.json (`make a11y-tools`);
without them (no npm or no java) the checks are skipped with the reason. See docs/accessibility.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
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
TOOLS = ROOT / "tools" / "a11y" / "node_modules"
AXE = TOOLS / "axe-core" / "axe.min.js"
VNU = TOOLS / "vnu-jar" / "build" / "dist" / "vnu.jar"
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


def _axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                               resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.length, target: v.nodes[0].target.join(' ')}));
        }""",
        AXE_TAGS,
    )


def _crawl(page, base: str, scope: str, label: str, starts, seen: set, out: Findings, html_dir):
    """Visit `starts` and every link shown, one page per (scope, URL name)."""
    queue = deque((path, True) for path in starts if ONLY in path)
    count = 0
    while queue and count < MAX_PAGES_PER_ROLE:
        path, forced = queue.popleft()
        key = _key(path)
        if key is None or (not forced and (scope, key) in seen):
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
        hrefs = page.eval_on_selector_all(
            "a[href]", "els => els.map(e => new URL(e.getAttribute('href'), document.baseURI).href)"
        )
        for href in hrefs:
            nxt = _wanted(base, href)
            if nxt is not None and ONLY in nxt and (k := _key(nxt)) and (scope, k) not in seen:
                queue.append((nxt, False))


def _vnu(html_dir: Path, out: Findings) -> list[str]:
    if not VNU.exists() or not shutil.which("java"):
        return []
    result = subprocess.run(
        ["java", "-jar", str(VNU), "--errors-only", "--format", "json", "--skip-non-html"]
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


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_of_every_role_passes_axe_and_the_nu_checker(
    language, live_server, browser, tmp_path, artifacts_dir
):
    _tools_or_skip()
    call_command("seed_demo", "--force")
    base = live_server.url
    findings = Findings()
    seen: set = set()
    for role, email in ROLES.items():
        if ROLE_ONLY and role not in ROLE_ONLY:
            continue
        context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
        _sign_in(context, base, email, language)
        page = context.new_page()
        # English: every page of every role. French and Korean: every page once (the first
        # role to reach it); the markup is the same, the words and their lengths differ.
        scope = role if language == "en" else "all"
        label = f"[{language}] {role}"
        _crawl(page, base, scope, label, _start_pages(email), seen, findings, tmp_path)
        context.close()
    nu_errors = _vnu(tmp_path, findings)
    report = {"pages": findings.pages, "axe": findings.violations, "nu": nu_errors}
    (artifacts_dir / f"a11y-{language}.json").write_text(json.dumps(report, indent=1))
    assert len(findings.pages) > (20 if not (ONLY or ROLE_ONLY) else 0), findings.pages
    assert not findings.violations, "\n".join(findings.violations)
    assert not nu_errors, "\n".join(nu_errors)
