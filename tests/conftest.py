"""The cast of users (one per role of docs/architecture.md, "Who may see what") and suite-wide
set-up.

- program_manager, case_worker, fundraiser: HanVoice staff in their role groups.
- member, coordinator, treasurer: members of our `group` (which runs `sponsorship`);
  other_member: coordinator of `other_group` (which runs `other_sponsorship`): must see
  nothing of ours.
- client of an anonymous visitor: pytest-django's `client`.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import importlib
import os
import shutil
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.utils import translation
from playwright.sync_api import expect

from config import celery_app
from core.roles import CASE_WORKER, FUNDRAISING, PROGRAM_MANAGER
from fundraising import demo as fundraising_demo
from sponsorship import demo
from sponsorship.models import Membership
from tests.factories import (
    MembershipFactory,
    SponsorGroupFactory,
    SponsorshipFactory,
    StaffFactory,
    UserFactory,
)

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls inside browser tests

# A form posted to the live server and the next page drawn can take more than Playwright's
# default 5 s on a loaded two-core machine (the bench times `make test` while it runs).
expect.set_options(timeout=15_000)


def _restore_reference_data(sender, **kwargs) -> None:
    """A transactional test's flush wipes the rows data migrations wrote (milestone and review
    catalogues, the cost table, reminder rules); flush fires post_migrate, so put them back."""
    if sender.name != "config":  # post_migrate fires once per app: act once per flush
        return
    from django.apps import apps

    seed = importlib.import_module("sponsorship.migrations.0002_seed_catalogues").seed
    seed(apps, None)
    schedule = importlib.import_module("sponsorship.migrations.0008_inkind_items_monitoring")
    schedule.seed_schedule(apps, None)
    window = importlib.import_module("sponsorship.migrations.0008_milestone_one_year_window")
    window.flag_and_redate(apps, None)
    monitoring = importlib.import_module("sponsorship.migrations.0012_monitoring_reminders")
    monitoring.seed(apps, None)
    areas = importlib.import_module("sponsorship.migrations.0014_plan_area_responsible")
    areas.set_areas(apps, None)


post_migrate.connect(_restore_reference_data, dispatch_uid="tests-restore-reference-data")


# --- The test database: migrated once, reused while the migrations stay the same -----------
#
# Migrating a fresh SQLite database costs ~20 s per test process (most of it in
# sponsorship 0001's table rebuilds), more than a third of the suite on two cores. On SQLite
# (the default `make test`) each process keeps its database in var/test-db/, named after a
# digest of every migration file and of Django's version: a changed or new migration gives a
# new name, so a stale schema is never reused, and older files are removed. It is emptied at
# the start of every run (a run stopped midway may leave rows behind). PostgreSQL (CI, the
# bench) keeps pytest-django's behaviour: created afresh unless --reuse-db is given.

ROOT = Path(__file__).resolve().parent.parent
TEST_DB_DIR = ROOT / "var" / "test-db"


def _migrations_digest() -> str:
    import django

    digest = hashlib.sha256(django.get_version().encode())
    for path in sorted(ROOT.glob("*/migrations/*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _sqlite() -> bool:
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(request):
    if not _sqlite():
        request.getfixturevalue("django_db_modify_db_settings_parallel_suffix")
        return
    from django.conf import settings

    TEST_DB_DIR.mkdir(parents=True, exist_ok=True)
    digest = _migrations_digest()
    for old in TEST_DB_DIR.glob("*.sqlite3*"):
        if not old.name.startswith(digest):
            old.unlink(missing_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    db = settings.DATABASES["default"]
    db.setdefault("TEST", {})["NAME"] = str(TEST_DB_DIR / f"{digest}-{worker}.sqlite3")


@pytest.fixture(scope="session")
def django_db_keepdb(request) -> bool:
    return bool(request.config.getvalue("reuse_db")) or _sqlite()


# Every database connection this process opens, to close them all before the test database is
# dropped. Django keeps its connections per thread and per contextvars context (asgiref's
# Local), and `connections.close_all()` reaches only the current context's: one opened by the
# first browser test, in the main thread but in a context the later tests no longer see, stayed
# open to the end and PostgreSQL refused to drop the database ("being accessed by other users").
_OPENED: weakref.WeakSet = weakref.WeakSet()


def _remember_connection(sender, connection, **kwargs) -> None:
    _OPENED.add(connection)


connection_created.connect(_remember_connection, weak=False, dispatch_uid="tests-opened")


def _close_every_connection() -> None:
    for wrapper in list(_OPENED):
        if wrapper.connection is None:
            continue
        with contextlib.suppress(Exception):  # closing is all that is wanted here
            if wrapper._thread_ident == threading.get_ident():
                wrapper.close()
            else:  # a thread's (the live server's, a test's): its raw connection
                wrapper.connection.close()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, django_db_keepdb):
    """A reused database starts empty (as after a transactional test: catalogues re-seeded);
    every connection is closed before pytest-django drops the database."""
    if django_db_keepdb:
        from django.core.management import call_command

        with django_db_blocker.unblock():
            call_command("flush", interactive=False, verbosity=0)
    yield
    _close_every_connection()


# Long tests first. With two processes (pytest-xdist), a long test collected late runs alone
# at the end while the other process idles: the browser journeys, the year-long reminder walk
# and the pages' agreement test start at once instead. The rest keeps its order (the sort is
# stable).
LONG_MODULES = {
    "test_reminders_walk.py",
    "test_reports.py",
    "test_fuzz.py",
    "test_portal_fuzz.py",
    "test_pages_agree.py",
}


def _is_long(item) -> bool:
    return "browser" in item.keywords or item.path.name in LONG_MODULES


def _shared_out(items: list, processes: int) -> list:
    """The order in which xdist's work stealing hands each process an equal, contiguous share
    of the list (the first len // n to the first process, and so on), rearranged so that every
    share starts with its part of the long modules, dealt module by module. A browser journey
    waits on Chromium and on the page's server between steps: one process walking them all while
    the other ran the short tests was the run's critical path; two walk them side by side."""
    long_modules: dict[Path, list] = {}
    for item in items:
        if _is_long(item):
            long_modules.setdefault(item.path, []).append(item)
    rest = [item for item in items if not _is_long(item)]
    firsts: list[list] = [[] for _ in range(processes)]
    for module in sorted(long_modules.values(), key=len, reverse=True):
        min(firsts, key=len).extend(module)
    shares, remaining = [], len(items)
    for index, first in enumerate(firsts):
        size = remaining // (processes - index)
        fill = max(0, size - len(first))
        shares += first + rest[:fill]
        rest = rest[fill:]
        remaining -= len(first) + fill
    return shares + rest


def pytest_collection_finish(session) -> None:
    """Django, the project and the collected tests are loaded: their ~300,000 objects live as
    long as the process, yet each of Python's full collections walked them all again (about 8%
    of the suite's CPU). Frozen, they are left out; collections also come less often (the
    tests allocate far more than they keep)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def pytest_collection_modifyitems(config, items) -> None:
    def key(item) -> tuple:
        # Within a module, the tests on the shared demo pilot (set up once, kept until the
        # module ends) come after the tests that expect an empty database.
        return (0 if _is_long(item) else 1, str(item.path), "demo_pilot" in item.fixturenames)

    items.sort(key=key)
    processes = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if processes > 1:
        items[:] = _shared_out(items, processes)
    if "crawl" not in (config.getoption("markexpr") or ""):
        skip = pytest.mark.skip(reason="the accessibility crawl of every page runs in `make a11y`")
        for item in items:
            if "crawl" in item.keywords:
                item.add_marker(skip)


CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(autouse=True, scope="session")
def _celery_eager():
    """Unit tests run tasks in-process; the integration tests start a real worker."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield


@pytest.fixture(autouse=True)
def _forget_celery_backend():
    """An eager `.delay()` leaves Celery's app holding the (disabled) result backend and a
    producer pool for the default broker; the real-worker test in tests/config, which swaps
    in Redis, then sends to the wrong broker and finds no backend. Forget both after each
    test so that any test queuing a task eagerly before it does not break that test."""
    yield
    celery_app._backend_cache = None
    celery_app._local.__dict__.pop("backend", None)
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: the language a request or a test chose
    stays active in the thread (LocaleMiddleware never resets it), so a Korean request in one
    test would make the next test's direct calls (charts, e-mails) Korean."""
    translation.activate(django_settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache: each test starts with none."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(scope="module")
def demo_pilot(django_db_setup, django_db_blocker):
    """seed_demo's pilot (five families in their stages, the campaign), built once per test
    module instead of once per test (~2.5 s each): inside a transaction that is rolled back
    after the module, so every test still runs in its own savepoint on top of the same rows
    and leaves nothing behind. Not for transactional tests (they flush)."""

    outer = transaction.atomic()
    with django_db_blocker.unblock():
        outer.__enter__()
        demo.seed()
        campaign = fundraising_demo.seed()
    yield campaign
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


@pytest.fixture
def program_manager(db):
    return StaffFactory(email="pm@hanvoice.test", first_name="Paula", roles=[PROGRAM_MANAGER])


@pytest.fixture
def case_worker(db):
    return StaffFactory(email="alice@hanvoice.test", first_name="Alice", roles=[CASE_WORKER])


@pytest.fixture
def fundraiser(db):
    return StaffFactory(email="fran@hanvoice.test", first_name="Fran", roles=[FUNDRAISING])


@pytest.fixture
def plain_user(db):
    """Signed in, but neither staff nor in any sponsor group."""
    return UserFactory(email="dora@example.org", first_name="Dora")


# --- Sponsor groups: ours (group) and another group that must see nothing of ours ----------


@pytest.fixture
def group(db):
    return SponsorGroupFactory(name="Maple Circle")


@pytest.fixture
def other_group(db):
    return SponsorGroupFactory(name="Harbour Friends")


@pytest.fixture
def sponsorship(group, case_worker):
    """Our group's active sponsorship, arrived 100 days ago (month 4), plan generated."""
    import datetime

    from django.utils import timezone

    arrival = timezone.localdate() - datetime.timedelta(days=100)
    s = SponsorshipFactory(group=group, arrival_date=arrival, matched_on=arrival)
    s.family.case_worker = case_worker
    s.family.save(update_fields=["case_worker"])
    return s


@pytest.fixture
def other_sponsorship(other_group):
    import datetime

    from django.utils import timezone

    arrival = timezone.localdate() - datetime.timedelta(days=40)
    return SponsorshipFactory(group=other_group, arrival_date=arrival, matched_on=arrival)


@pytest.fixture
def member(group):
    return MembershipFactory(
        group=group, role=Membership.Role.MEMBER, user__email="bob@example.org"
    ).user


@pytest.fixture
def coordinator(group):
    return MembershipFactory(
        group=group, role=Membership.Role.COORDINATOR, user__email="cora@example.org"
    ).user


@pytest.fixture
def treasurer(group):
    return MembershipFactory(
        group=group, role=Membership.Role.TREASURER, user__email="tess@example.org"
    ).user


@pytest.fixture
def other_member(other_group):
    """Charlie: a coordinator of another group."""
    return MembershipFactory(
        group=other_group, role=Membership.Role.COORDINATOR, user__email="charlie@example.org"
    ).user


# --- Browser tests (Playwright with Debian's Chromium, see README "Tests") ----------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"Chromium not found at {CHROMIUM}: run `make browser` (apt-get install chromium)"
        )
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--headless",
            "--disable-gpu",
            "--disable-quic",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def artifacts_dir():
    """Reports and screenshots land in test-artifacts/ (ignored by git, kept by CI)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# Pictures of every page a journey passes are for people to look at, not checks: a full-page
# capture costs Chromium about a third of a second of CPU, a quarter of the browser tests'
# time, so `make test` takes a picture only of a failing test's pages (test-artifacts/failures/)
# and `make screenshots` (SCREENSHOTS=1) takes them all.
SCREENSHOTS = os.environ.get("SCREENSHOTS", "") not in ("", "0")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing browser test leaves a picture of each page it had open (before its
    fixtures close them)."""
    report = yield
    if report.failed:
        item.browser_test_failed = True  # the shared tab (`page`) is not handed on
    if report.when == "call" and report.failed:
        pages = [item.funcargs["page"]] if "page" in item.funcargs else []
        if "browser" in item.funcargs:
            pages += [p for c in item.funcargs["browser"].contexts for p in c.pages]
        folder = ARTIFACTS / "failures"
        name = "".join(ch if ch.isalnum() else "-" for ch in item.nodeid)[-150:]
        for index, page in enumerate(dict.fromkeys(pages)):
            try:
                folder.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=folder / f"{name}-{index + 1}.png", full_page=True)
            except Exception:  # a closed or crashed page: the failure itself is what counts
                pass
    return report


@pytest.fixture
def screenshot(artifacts_dir) -> Callable[..., None]:
    """screenshot(page_or_locator, "name.png", full_page=True) when screenshots are on."""

    def take(target: Any, name: str, **options: Any) -> None:
        if SCREENSHOTS:
            target.screenshot(path=artifacts_dir / name, **options)

    return take


# One tab per set of context options, which the tests take in turn (`page`, or `tab(**options)`
# for other options). A new context and page cost Chromium new renderer processes (the first
# navigation to a page that sends Cross-Origin-Opener-Policy moves it to another process):
# about 0.6 s of CPU per test, a fifth of the browser tests' CPU. A tab is handed over as a
# person's would be after signing out: no cookies, no permissions, no other tab open, its
# window size and none of the last test's listeners. The site keeps nothing in the browser's
# storage. A test that fails closes its tabs, so the next starts with new ones.
_TABS: dict[str, tuple[Any, Any]] = {}


def _recording(register, added: list):
    def add(event, handler):
        added.append((event, handler))
        register(event, handler)

    return add


def _hand_back(key: str, tab, viewport, added: list, failed: bool) -> None:
    del tab.on, tab.once
    if tab.is_closed() or failed:
        with contextlib.suppress(Exception):
            tab.context.close()
        _TABS.pop(key, None)
        return
    for event, handler in added:
        with contextlib.suppress(KeyError):  # a `once` listener that ran is gone already
            tab.remove_listener(event, handler)
    for other in tab.context.pages:
        if other is not tab:
            other.close()
    tab.context.clear_cookies()
    tab.context.clear_permissions()
    if viewport and tab.viewport_size != viewport:
        tab.set_viewport_size(viewport)


@pytest.fixture(scope="session")
def _tabs(django_db_setup) -> Iterator[dict[str, tuple[Any, Any]]]:
    """The shared tabs, closed at the end of the session before the test database goes: an
    open tab keeps its connections to the live server, each held by a server thread with its
    own database connection, and PostgreSQL does not drop a database in use."""
    yield _TABS
    for tab, _viewport in list(_TABS.values()):
        with contextlib.suppress(Exception):
            tab.context.close()
    _TABS.clear()


@pytest.fixture
def tab(request, browser, _tabs) -> Iterator[Callable[..., Any]]:
    """tab(**context_options): this test's tab with those options (see above)."""
    handed: dict[str, tuple[Any, Any, list]] = {}

    def take(**options: Any):
        key = repr(sorted(options.items()))
        if key in handed:
            return handed[key][0]
        page, viewport = _tabs.get(key, (None, None))
        if page is None or page.is_closed():
            page = browser.new_context(**options).new_page()
            viewport = page.viewport_size
            _tabs[key] = (page, viewport)
        added: list = []
        page.on = _recording(type(page).on.__get__(page), added)
        page.once = _recording(type(page).once.__get__(page), added)
        handed[key] = (page, viewport, added)
        return page

    yield take
    failed = getattr(request.node, "browser_test_failed", False)
    for key, (page, viewport, added) in handed.items():
        _hand_back(key, page, viewport, added, failed)


@pytest.fixture
def page(tab, browser_context_args):
    return tab(**browser_context_args)
