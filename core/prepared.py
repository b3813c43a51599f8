"""A small query read on every request, compiled to SQL by the ORM once per process.

Django turns a queryset into SQL each time it is evaluated; for a tiny query that a page
reads on every request that costs several times the database round trip (about 1 ms of CPU
against 0.1 ms, docs/performance.md "Portal dashboard"). `OneIdQuery` asks the ORM for the
SQL once, for a stand-in id, checks that this id is the only parameter, and afterwards runs
the same SQL with the real id. The queryset stays the one definition of the query; only its
compilation is kept. Its columns must be plain values (no field that converts what the
database returns, such as an encrypted field).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.models import QuerySet

# The stand-in id the SQL is compiled for: no row ever has it.
STAND_IN = -918_273_645


class OneIdQuery:
    """`build(id)` -> a queryset whose only parameter is `id`; `rows(id)` its rows."""

    def __init__(self, build: Callable[[int], QuerySet[Any]]) -> None:
        self._build = build
        self._compiled: dict[str, tuple[str, int]] = {}  # database alias -> (SQL, uses of id)

    def _sql(self, alias: str) -> tuple[str, int]:
        compiled = self._compiled.get(alias)
        if compiled is None:
            queryset = self._build(STAND_IN)
            sql, params = queryset.query.get_compiler(using=alias).as_sql()
            if not params or any(p != STAND_IN for p in params):
                raise ValueError(f"the id must be the query's only parameter, not {params!r}")
            compiled = self._compiled[alias] = (sql, len(params))
        return compiled

    def rows(self, pk: int, *, using: str = "default") -> list[tuple[Any, ...]]:
        sql, uses = self._sql(using)
        with connections[using].cursor() as cursor:
            cursor.execute(sql, [pk] * uses)
            return list(cursor.fetchall())
