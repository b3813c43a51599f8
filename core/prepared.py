"""A small query read on every request, compiled to SQL by the ORM once per process.

Django turns a queryset into SQL each time it is evaluated; for a tiny query that a page
reads on every request that costs several times the database round trip (about 1 ms of CPU
against 0.1 ms, docs/performance.md "Portal dashboard"). `OneIdQuery` asks the ORM for the
SQL once, for a stand-in id, checks that this id is the only parameter, and afterwards runs
the same SQL with the real id, turning the columns into Python values as the ORM would
(its converters: SQLite's dates, for instance); `objects` builds the model instances (and
those of `select_related`) from them as the queryset would. `PreparedUpdate` does the same
for a small UPDATE run per task (the outbox's claim and its "sent"), and `PreparedInsert` for
the INSERT of a new row written per request (a pledge and its confirmation e-mail), signals
and all. The queryset (or the model) stays the one definition of the query; only its
compilation is kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, transaction
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]  # Django's own, unstubbed
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import InsertQuery, UpdateQuery

# The stand-in id the SQL is compiled for: no row ever has it.
STAND_IN = -918_273_645


def _fetch(
    using: str, sql: str, params: Sequence[Any], compiler: Any, converters: dict[int, Any]
) -> list[tuple[Any, ...]]:
    """Run compiled SQL; its rows with the columns turned into Python values as the ORM does."""
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if converters:
        return [tuple(row) for row in compiler.apply_converters(rows, converters)]
    return list(rows)


class OneIdQuery:
    """`build(id)` -> a queryset whose only parameter is `id`; `rows(id)` its rows. The id
    is an integer unless another `stand_in` (e.g. a string, for a session key) is given."""

    def __init__(self, build: Callable[[Any], QuerySet[Any]], *, stand_in: Any = STAND_IN) -> None:
        self._build = build
        self._stand_in = stand_in
        # database alias -> (SQL, uses of the id, the compiler, its converters)
        self._compiled: dict[str, tuple[str, int, Any, dict[int, Any]]] = {}
        # database alias -> (model, its attnames, their slice of the row, related populators)
        self._builders: dict[str, tuple[Any, list[str], slice, list[Any]]] = {}

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
        return _fetch(using, sql, [pk] * uses, compiler, converters)

    def objects(self, pk: Any, *, using: str = "default") -> list[Any]:
        """The queryset's model instances (with its `select_related` ones), as iterating it
        would build them; no annotations, `only` or `defer` (refused)."""
        builder = self._builders.get(using)
        if builder is None:
            compiler = self._sql(using)[2]
            if compiler.annotation_col_map or compiler.query.deferred_loading != (
                frozenset(),
                True,
            ):
                raise ValueError("objects() builds whole instances: no annotation, only or defer")
            select, klass_info = compiler.select, compiler.klass_info
            fields = klass_info["select_fields"]
            span = slice(fields[0], fields[-1] + 1)
            names = [column[0].target.attname for column in select[span]]
            populators = get_related_populators(klass_info, select, using)
            builder = self._builders[using] = (klass_info["model"], names, span, populators)
        model, names, span, populators = builder
        found = []
        for row in self.rows(pk, using=using):
            instance = model.from_db(using, names, row[span])
            for populator in populators:
                populator.populate(row, instance)
            found.append(instance)
        return found


class PreparedUpdate:
    """`build(**values)` -> (a queryset, the UPDATE's changes); `run(**values)` the rows changed.

    Compiled once per database for two sets of stand-ins (`stand_ins` and `other`, every
    value different): each of the SQL's parameters must be one of the values given, or the
    same constant in both (e.g. an empty string set), never something `build` computes from
    a value (it would be frozen). Values are integers, strings or datetimes (adapted as the
    ORM adapts a DateTimeField's value for that database).
    """

    def __init__(
        self,
        build: Callable[..., tuple[QuerySet[Any], dict[str, Any]]],
        *,
        stand_ins: dict[str, Any],
        other: dict[str, Any],
    ) -> None:
        if stand_ins.keys() != other.keys():
            raise ValueError("the two sets of stand-ins must name the same values")
        self._build = build
        self._stand_ins = stand_ins
        self._other = other
        # database alias -> (SQL, its parameters: ("value", name) or ("constant", value))
        self._compiled: dict[str, tuple[str, list[tuple[str, Any]]]] = {}

    @staticmethod
    def _adapt(using: str, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return connections[using].ops.adapt_datetimefield_value(value)
        return value

    def _compile(self, using: str, values: dict[str, Any]) -> tuple[str, list[Any]]:
        queryset, changes = self._build(**values)
        query = queryset.query.chain(UpdateQuery)
        query.add_update_values(changes)  # type: ignore[attr-defined]  # an UpdateQuery's
        query.annotations = {}
        sql, params = query.get_compiler(using=using).as_sql()
        return sql, list(params)

    def _sql(self, using: str) -> tuple[str, list[tuple[str, Any]]]:
        compiled = self._compiled.get(using)
        if compiled is None:
            sql, first = self._compile(using, self._stand_ins)
            sql_other, second = self._compile(using, self._other)
            if sql != sql_other or len(first) != len(second):
                raise ValueError("the UPDATE's SQL depends on the values given")
            adapted = {
                name: (self._adapt(using, value), self._adapt(using, self._other[name]))
                for name, value in self._stand_ins.items()
            }
            slots: list[tuple[str, Any]] = []
            for one, two in zip(first, second, strict=True):
                names = [name for name, pair in adapted.items() if pair == (one, two)]
                if len(names) == 1:
                    slots.append(("value", names[0]))
                elif not names and one == two:
                    slots.append(("constant", one))
                else:
                    raise ValueError(f"parameter {one!r} is neither a value given nor a constant")
            compiled = self._compiled[using] = (sql, slots)
        return compiled

    def run(self, *, using: str = "default", **values: Any) -> int:
        """Run the UPDATE with these values; the number of rows it changed."""
        if values.keys() != self._stand_ins.keys():
            raise ValueError(f"expected the values {sorted(self._stand_ins)}")
        sql, slots = self._sql(using)
        params = [
            self._adapt(using, values[item]) if kind == "value" else item for kind, item in slots
        ]
        with transaction.mark_for_rollback_on_error(using), connections[using].cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount


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
            # A value computed when the query is built (now(), today) would be frozen: built
            # twice it differs (now()), or it is a date (PostgreSQL keeps them as dates).
            again = self._build().query.get_compiler(using=using).as_sql()[1]
            if tuple(again) != tuple(params) or any(isinstance(p, dt.date) for p in params):
                raise ValueError(f"a date or time would be frozen into the SQL: {params!r}")
            converters = compiler.get_converters([column[0] for column in compiler.select])
            compiled = self._compiled[using] = (sql, tuple(params), compiler, converters)
        return _fetch(using, *compiled)


class PreparedInsert:
    """`save(instance)` INSERTs a new `model` instance as `instance.save()` does for a new
    row (pre_save and post_save sent, each field's value as its `pre_save` gives it, the
    primary key set from RETURNING), with the INSERT's SQL compiled once per database.

    For a plain model only: no multi-table parents, no `order_with_respect_to`, a database
    that returns columns from an INSERT, a primary key the database assigns. A value that is
    an expression (which the ORM would compile into the SQL) is refused.
    """

    def __init__(self, model: type[Model]) -> None:
        meta = model._meta
        if meta.parents or meta.order_with_respect_to or meta.auto_field is None:
            raise ValueError(f"{model.__name__}: only a plain model with an auto primary key")
        self.model = model
        self._pk = meta.auto_field
        self._fields = [
            f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field
        ]
        # database alias -> the INSERT's SQL with one placeholder per field, RETURNING the pk
        self._compiled: dict[str, str] = {}

    def _sql(self, using: str) -> str:
        sql = self._compiled.get(using)
        if sql is None:
            connection = connections[using]
            if not connection.features.can_return_columns_from_insert:
                raise ValueError(f"{connection.vendor} cannot return the new row's id")
            query = InsertQuery(self.model)
            query.insert_values(self._fields, [self.model()], raw=False)
            compiler = query.get_compiler(using=using)
            compiler.returning_fields = [self._pk]
            [(sql, params)] = compiler.as_sql()
            if len(params) != len(self._fields) or sql.count("%s") != len(self._fields):
                raise ValueError("every field must be one plain parameter of the INSERT")
            self._compiled[using] = sql
        return sql

    def save(self, instance: Model, *, using: str = "default") -> None:
        if not isinstance(instance, self.model) or not instance._state.adding:
            raise ValueError("save() takes a new instance of its model")
        instance._prepare_related_fields_for_save(operation_name="save")  # type: ignore[attr-defined]  # Model.save's own check: no unsaved related object
        # In Model.save_base's order: the signal, then each field's value for the row.
        pre_save.send(
            sender=self.model, instance=instance, raw=False, using=using, update_fields=None
        )
        values = [field.pre_save(instance, True) for field in self._fields]
        if any(hasattr(value, "resolve_expression") for value in values):
            raise ValueError("an expression would be compiled into the SQL: use save()")
        connection = connections[using]
        params = [
            field.get_db_prep_save(value, connection=connection)
            for field, value in zip(self._fields, values, strict=True)
        ]
        with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
            cursor.execute(self._sql(using), params)
            (pk,) = cursor.fetchone()
        setattr(instance, self._pk.attname, pk)
        instance._state.db = using
        instance._state.adding = False
        post_save.send(
            sender=self.model,
            instance=instance,
            created=True,
            update_fields=None,
            raw=False,
            using=using,
        )
