"""Project-level views: health, the home redirect."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import app

logger = logging.getLogger(__name__)


def home(request: HttpRequest) -> HttpResponse:
    return redirect("fundraising:index")


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_broker() -> None:

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)


CHECKS = {"database": _check_database, "broker": _check_broker}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 with {"status": "ok"} when the database and broker answer; 503 naming what fails.

    Never raises: a failing part is reported, not propagated.
    """
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure is a report, never a 500
            logger.warning("healthz: %s check failed: %s", name, type(exc).__name__)
            results[name] = "error"
            if name == "database":
                connection.close_if_unusable_or_obsolete()
    healthy = all(v == "ok" for v in results.values())
    body = {"status": "ok" if healthy else "error", "checks": results}
    if not healthy:
        body["failing"] = sorted(k for k, v in results.items() if v != "ok")
    body["debug"] = settings.DEBUG
    return JsonResponse(body, status=200 if healthy else 503)


@require_GET
def bench_noop(request: HttpRequest) -> HttpResponse:
    """The trivial view of `make bench` (routed only when settings.BENCH): the full middleware
    stack, no database, no cache, no template; the ceiling every page is measured against."""
    return HttpResponse(b"ok", content_type="text/plain")
