"""Checks of a deployment's settings (`manage.py check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, register
from django.core.checks import Warning as CheckWarning

# Caches that each process keeps to itself.
PER_PROCESS_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


@register(Tags.caches, deploy=True)
def check_shared_cache(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The web processes and the Celery workers meet in the cache: the generations that drop
    the kept dashboards (core/summaries.py), the mark that wakes one drain for a burst of
    e-mails (core/outbox.py) and the rate limits. A cache of each process's own leaves
    dashboards stale until their age runs out, confirmations waiting for the reconciler and
    every limit multiplied by the number of processes."""
    if settings.CACHES["default"]["BACKEND"] not in PER_PROCESS_CACHES:
        return []
    return [
        CheckWarning(
            "The default cache is kept by each process: web processes and workers do not see "
            "each other's changes.",
            hint="Set CACHE_URL to Redis (redis://host:6379/1), or a file cache "
            "(filecache:///path) on a single host.",
            id="hanvoice.W001",
        )
    ]


@register(Tags.security, deploy=True)
def check_malware_scanner(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Without CLAMAV_SOCKET uploads are kept and served unscanned: right for development
    (README), never for the families' documents in production (docs/documents.md)."""
    if settings.CLAMAV_SOCKET:
        return []
    return [
        CheckWarning(
            "CLAMAV_SOCKET is empty: uploaded documents are served without a malware scan.",
            hint="Install clamav-daemon and set CLAMAV_SOCKET=/run/clamav/clamd.ctl "
            "(or tcp://host:3310).",
            id="hanvoice.W002",
        )
    ]
