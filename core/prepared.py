"""A small query read on every request, compiled to SQL by the ORM once per process.

Django turns a queryset into SQL each time it is evaluated; for a tiny query that a page
reads on every request that costs several times the database round trip (about 1 ms of CPU
against 0.1 ms, docs/performance.md "Portal dashboard"). `OneIdQuery` asks the ORM for the
SQL once, for a stand-in id, checks that this id is the only parameter, and afterwards runs
the same SQL with the real id, turning the columns into Python values as the ORM would
(its converters: SQLite's dates, for instance). The queryset stays the one definition of
the query; only its compilation is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connections
from django.db.models import QuerySet

# The stand-in id the SQL is compiled for: no row ever has it.
STAND_IN = -918_273_645


class OneIdQuery:
    """`build(id)` -> a queryset whose only parameter is `id`; `rows(id)` its rows. The id
    is an integer unless another `stand_in` (e.g. a string, for a session key) is given."""

    def __init__(self, build: Callable[[Any], QuerySet[Any]], *, stand_in: Any = STAND_IN) -> None:
        self._build = build
        self._stand_in = stand_in
        # database alias -> (SQL, uses of the id, the compiler, its converters)
        self._compiled: dict[str, tuple[str, int, Any, dict[int, Any]]] = {}

    def _sql(self, alias: str) -> tuple[str, int, Any, dict[int, Any]]:
        compiled = self._compiled.get(alias)
        if compiled is None:
            compiler = self._build(self._stand_in).query.get_compiler(using=alias)
            sql, params = compiler.as_sql()
            if not params or any(p != self._stand_in for p in params):
                raise ValueError(f"the id must be the query's only parameter, not {params!r}")
            converters = compiler.get_converters([column[0] for column in compiler.select])
            compiled = self._compiled[alias] = (sql, len(params), compiler, converters)
        return compiled

    def rows(self, pk: Any, *, using: str = "default") -> list[tuple[Any, ...]]:
        sql, uses, compiler, converters = self._sql(using)
        with connections[using].cursor() as cursor:
            cursor.execute(sql, [pk] * uses)
            rows = cursor.fetchall()
        if converters:
            return [tuple(row) for row in compiler.apply_converters(rows, converters)]
        return list(rows)


class FixedQuery:
    """`build()` -> a queryset whose parameters never change (no date, no user: a page's
    fixed short list); `rows()` its rows, compiled once per process as `OneIdQuery` does."""

    def __init__(self, build: Callable[[], QuerySet[Any]]) -> None:
        self._build = build
        # database alias -> (SQL, its parameters, the compiler, its converters)
        self._compiled: dict[str, tuple[str, tuple[Any, ...], Any, dict[int, Any]]] = {}

    def rows(self, *, using: str = "default") -> list[tuple[Any, ...]]:
        compiled = self._compiled.get(using)
        if compiled is None:
            compiler = self._build().query.get_compiler(using=using)
            sql, params = compiler.as_sql()
            converters = compiler.get_converters([column[0] for column in compiler.select])
            compiled = self._compiled[using] = (sql, tuple(params), compiler, converters)
        sql, params, compiler, converters = compiled
        with connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:
            return [tuple(row) for row in compiler.apply_converters(rows, converters)]
        return list(rows)
