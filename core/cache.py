"""A Redis cache that degrades to "miss" while Redis is unreachable instead of failing requests.

The cache only ever holds what can be recomputed (rendered public pages, campaign totals,
rate-limit counters), so a Redis outage must cost speed, never a donor's pledge: reads
return the default, writes are dropped, `incr` raises ValueError as on a missing key (which
makes django-ratelimit count afresh, i.e. fail open for the outage; CSRF, the honeypot and the
form's validation still apply). One warning per half minute says the cache is down.
"""

from __future__ import annotations

import logging
import time

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)
WARN_EVERY_SECONDS = 30.0
_last_warning = 0.0


def _warn(operation: str, exc: Exception) -> None:
    global _last_warning
    now = time.monotonic()
    if now - _last_warning >= WARN_EVERY_SECONDS:
        _last_warning = now
        logger.warning(
            "cache unavailable (%s on %s): serving without it", type(exc).__name__, operation
        )


class PooledRedisCacheClient(RedisCacheClient):
    """Django builds a new `redis.Redis` object on every cache call (~1.5 ms of Python on this
    machine, more than the round trip itself); the object is thread-safe and stateless over
    its connection pool, so build one per pool and reuse it. The pool was already persistent."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)
            client = self._clients[index] = self._client(connection_pool=pool)
        return client


class ResilientRedisCache(RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = PooledRedisCacheClient

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except UNAVAILABLE as exc:
            _warn("get", exc)
            return default

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except UNAVAILABLE as exc:
            _warn("get_many", exc)
            return {}

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except UNAVAILABLE as exc:
            _warn("has_key", exc)
            return False

    def set(self, *args, **kwargs):
        try:
            return super().set(*args, **kwargs)
        except UNAVAILABLE as exc:
            _warn("set", exc)
            return None

    def set_many(self, *args, **kwargs):
        try:
            return super().set_many(*args, **kwargs)
        except UNAVAILABLE as exc:
            _warn("set_many", exc)
            return list(args[0]) if args else []

    def add(self, *args, **kwargs):
        try:
            return super().add(*args, **kwargs)
        except UNAVAILABLE as exc:
            _warn("add", exc)
            return False

    def touch(self, *args, **kwargs):
        try:
            return super().touch(*args, **kwargs)
        except UNAVAILABLE as exc:
            _warn("touch", exc)
            return False

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except UNAVAILABLE as exc:
            _warn("incr", exc)
            raise ValueError(f"Key '{key}' not found (cache unavailable)") from exc

    def delete(self, key, version=None):
        # A failed invalidation leaves a stale entry until its (short) timeout: say so louder.
        try:
            return super().delete(key, version)
        except UNAVAILABLE as exc:
            logger.warning("cache delete failed (%s): entry expires by itself", type(exc).__name__)
            return False

    def delete_many(self, keys, version=None):
        try:
            return super().delete_many(keys, version)
        except UNAVAILABLE as exc:
            logger.warning(
                "cache delete failed (%s): entries expire by themselves", type(exc).__name__
            )
            return False
