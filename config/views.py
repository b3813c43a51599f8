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
from core.encryption import can_decrypt, models_with_encrypted_fields

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


class UnreadableSample(Exception):
    """The configured FIELD_ENCRYPTION_KEYS cannot read a stored value."""


def _check_encryption() -> None:
    """The newest row of each table with encrypted columns must be readable with the
    configured keys: a wrong or missing FIELD_ENCRYPTION_KEYS entry shows here, not in a
    staff member's page. Reads raw values and reports counts only, never data."""
    q = connection.ops.quote_name
    unreadable = 0
    with connection.cursor() as cursor:
        for model, fields in models_with_encrypted_fields():
            columns = [q(f.column) for f in fields]
            cursor.execute(
                f"SELECT {', '.join(columns)} FROM {q(model._meta.db_table)} "
                f"WHERE {' OR '.join(f'{c} IS NOT NULL' for c in columns)} "
                f"ORDER BY {q(model._meta.pk.column)} DESC LIMIT 1"
            )
            row = cursor.fetchone() or ()
            unreadable += sum(1 for v in row if v and not can_decrypt(v))
    if unreadable:
        raise UnreadableSample(f"{unreadable} sampled value(s) unreadable")


CHECKS = {
    "database": _check_database,
    "broker": _check_broker,
    "encryption": _check_encryption,
}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 with {"status": "ok"} when the database and broker answer and the field keys read a
    sample of stored values; 503 naming which check fails (never which data).

    Never raises: a failing part is reported, not propagated.
    """
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        if name == "encryption" and results.get("database") != "ok":
            results[name] = "skipped"  # needs the database: its failure is already reported
            continue
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure is a report, never a 500
            logger.warning("healthz: %s check failed: %s", name, type(exc).__name__)
            if name == "encryption":
                logger.error(
                    "healthz: FIELD_ENCRYPTION_KEYS cannot read stored case-file values (%s); "
                    "see docs/security.md, 'When a key is wrong'",
                    exc,
                )
            results[name] = "error"
            if name == "database":
                connection.close_if_unusable_or_obsolete()
    healthy = all(v == "ok" for v in results.values())
    body = {"status": "ok" if healthy else "error", "checks": results}
    if not healthy:
        body["failing"] = sorted(k for k, v in results.items() if v == "error")
    body["debug"] = settings.DEBUG
    return JsonResponse(body, status=200 if healthy else 503)


@require_GET
def bench_noop(request: HttpRequest) -> HttpResponse:
    """The trivial view of `make bench` (routed only when settings.BENCH): the full middleware
    stack, no database, no cache, no template; the ceiling every page is measured against."""
    return HttpResponse(b"ok", content_type="text/plain")
