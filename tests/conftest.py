"""The cast of users (STYLE.md) and suite-wide set-up.

- program_manager, case_worker, fundraiser: HanVoice staff in their role groups.
- member / other_member: sponsor group members (their groups come from the sponsorship
  fixtures); `other_member` belongs to *another* group and must see nothing of ours.
- client of an anonymous visitor: pytest-django's `client`.
"""

from __future__ import annotations

import os
import shutil

import pytest

from config import celery_app
from config.roles import CASE_WORKER, FUNDRAISING, PROGRAM_MANAGER
from tests.factories import StaffFactory, UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM calls inside browser tests

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


# --- Browser tests (Playwright with Debian's Chromium, see RECIPES.md) ----------------------


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


@pytest.fixture
def artifacts_dir():
    """Screenshots land in test-artifacts/ (ignored by git, kept by CI)."""
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
