"""One outbox: e-mails (and anything else sent to the outside world) are rows first.

A service writes a row in its own transaction and, after commit, queues one task per row
by the task's *name* (`enqueue`), so no service imports a tasks module. The task calls the
app's deliver function, which:

1. `claim`s the row with one conditional UPDATE (not sent, not given up, back-off over, and
   nobody holding a fresh claim): exactly one worker wins; the attempt is counted here, so a
   worker that dies mid-send still uses up an attempt and a crash loop ends in "failed";
2. sends it (with `message_key` as the stable Message-ID, so a resend is the same message);
3. `mark_sent`s it, or `record_failure`s it: exponential back-off (`BACKOFF_BASE` doubled
   per attempt), and after `MAX_ATTEMPTS` the row is failed for good and shown in the admin.

Where rows come in bursts (a pledge each, at a campaign's launch), a service may `wake` a
drain instead of queueing a task per row: one task, asked for at most once while a mark is in
the cache, `drain`s every row queued and never tried, claiming `DRAIN_BATCH` rows at a time
in one statement (each row still claimed by exactly one worker).

`reconcile` (beat, every 10 minutes) delivers what the queue lost: rows never claimed after
`QUEUE_GRACE` (broker down), claims older than `CLAIM_TIMEOUT` (worker killed), and failed
attempts whose back-off is over; at most `RECONCILE_LIMIT` rows per run.

The one honest exception to "exactly once": a worker that dies between the mail server's
"250 OK" and `mark_sent` leaves a claimed, unsent row that is sent again after
`CLAIM_TIMEOUT` (SMTP and the database cannot commit together). See docs/architecture.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, ClassVar

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, connections, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.prepared import STAND_IN, PreparedUpdate

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# Back-off after failed attempt n: BACKOFF_BASE * 2 ** (n - 1): 5, 10, 20, 40 minutes.
BACKOFF_BASE = dt.timedelta(minutes=5)
# A claim older than this without `sent_at` belongs to a worker that died: claim it again.
CLAIM_TIMEOUT = dt.timedelta(minutes=15)
# An unclaimed row younger than this is probably still on its way through the broker.
QUEUE_GRACE = dt.timedelta(minutes=2)
# Rows one reconcile run delivers at most (the next run, 10 minutes later, takes the rest).
RECONCILE_LIMIT = 500
ERROR_LENGTH = 300
# A drain starts this long after the row that woke it: the rows committed meanwhile (a
# burst of pledges) go in the same task.
DRAIN_DELAY = 0.5
# A drain takes the rows written up to this long after it began (a web host's clock may run
# a little ahead of the worker's); later rows woke a drain of their own.
DRAIN_SPAN = dt.timedelta(minutes=1)
# A drain claims and reads this many rows at a time: one UPDATE and one SELECT for the batch
# instead of two statements per row (docs/performance.md "Pledge POST"). A worker killed
# mid-batch leaves at most this many claimed rows; `reconcile` sends them after CLAIM_TIMEOUT.
DRAIN_BATCH = 25
# A wake-up mark whose drain never ran (a worker killed first) stops holding back new drains
# after this many seconds; its rows are sent by the next drain or by `reconcile`.
WAKE_HOLD = 60
# One thread at a time imports the task modules (see _task).
_TASK_IMPORT = threading.Lock()

# What a broker outage looks like from `.delay()`: kombu wraps most of them, redis-py and
# the socket layer raise their own.
BROKER_DOWN: tuple[type[Exception], ...] = (
    BrokerError,
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
)


class OutboxRow(models.Model):
    """The delivery state every outbox row carries; the concrete model adds what it is about.

    A subclass sets `MESSAGE_KEY_PREFIX` (the stable Message-ID is derived from it and the
    primary key) and may narrow `open_q` (e.g. a cancelled reminder is not open).
    """

    MESSAGE_KEY_PREFIX: ClassVar[str] = "outbox"

    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=ERROR_LENGTH, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(
        _("gave up at"), null=True, blank=True, help_text=_("Permanent failure: not retried.")
    )

    class Meta:
        abstract = True

    @classmethod
    def open_q(cls) -> Q:
        """Rows that may still be sent."""
        return Q(sent_at__isnull=True, failed_at__isnull=True)

    @property
    def message_key(self) -> str:
        """Stable across attempts: a resend after a crash is the same message."""
        return f"{self.MESSAGE_KEY_PREFIX}-{self.pk}"


Row = type[OutboxRow]


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the `attempts`-th failed attempt."""
    return BACKOFF_BASE * 2 ** max(attempts - 1, 0)


def _claim_update(model: Row) -> Callable[..., tuple[models.QuerySet[Any], dict[str, Any]]]:
    def build(
        pk: int, now: dt.datetime, stale_before: dt.datetime
    ) -> tuple[models.QuerySet[Any], dict[str, Any]]:
        queryset = (
            model._default_manager.filter(model.open_q(), pk=pk)
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale_before))
        )
        return queryset, {"claimed_at": now, "attempts": F("attempts") + 1}

    return build


def _sent_update(model: Row) -> Callable[..., tuple[models.QuerySet[Any], dict[str, Any]]]:
    def build(pk: int, now: dt.datetime) -> tuple[models.QuerySet[Any], dict[str, Any]]:
        changes = {"sent_at": now, "last_error": "", "next_attempt_at": None}
        return model._default_manager.filter(pk=pk), changes

    return build


# Two stand-in instants for compiling the UPDATEs below (no row is claimed or sent then).
_STAND_IN_AT = (
    dt.datetime(1901, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
    dt.datetime(1902, 3, 4, 5, 6, 7, tzinfo=dt.UTC),
)
_STAND_IN_PK = (STAND_IN, STAND_IN - 1)
# model -> its claim and its "sent", compiled once per process (the worker runs them per
# e-mail: building them cost more than running them, docs/performance.md "Pledge POST").
_PREPARED: dict[tuple[Row, str], PreparedUpdate] = {}


def _prepared(model: Row, which: str) -> PreparedUpdate:
    prepared = _PREPARED.get((model, which))
    if prepared is None:
        if which == "claim":
            first, second = _STAND_IN_AT
            prepared = PreparedUpdate(
                _claim_update(model),
                stand_ins={"pk": _STAND_IN_PK[0], "now": first, "stale_before": second},
                other={"pk": _STAND_IN_PK[1], "now": second, "stale_before": first},
            )
        else:
            prepared = PreparedUpdate(
                _sent_update(model),
                stand_ins={"pk": _STAND_IN_PK[0], "now": _STAND_IN_AT[0]},
                other={"pk": _STAND_IN_PK[1], "now": _STAND_IN_AT[1]},
            )
        _PREPARED[(model, which)] = prepared
    return prepared


def claim(model: Row, pk: int, *, now: dt.datetime) -> bool:
    """Take the row for one delivery attempt; False if it is not ours to send."""
    changed = _prepared(model, "claim").run(pk=pk, now=now, stale_before=now - CLAIM_TIMEOUT)
    return changed == 1


def release(model: Row, pk: int, *, claimed_at: dt.datetime) -> None:
    """Give a claim back without counting the attempt (nothing was sent: a database error
    before sending), so the task's own retry can take the row at once."""
    model._default_manager.filter(pk=pk, claimed_at=claimed_at).update(
        claimed_at=None, attempts=F("attempts") - 1
    )


def give_up(model: Row, pk: int, *, reason: str, now: dt.datetime | None = None) -> None:
    """The row must never be sent (its reason is gone): failed for good, with why."""
    model._default_manager.filter(pk=pk).update(
        failed_at=now or timezone.now(),
        next_attempt_at=None,
        claimed_at=None,
        last_error=reason[:ERROR_LENGTH],
    )


def mark_sent(model: Row, pk: int, **extra: Any) -> None:
    """Record the delivery, retrying a transient database error (a lock, a failover) for a
    few seconds: giving up here is what would let the reconciler send it twice."""
    for pause in (0.05, 0.2, 0.5, 1.0, 2.0, None):
        try:
            if extra:
                model._default_manager.filter(pk=pk).update(
                    sent_at=timezone.now(), last_error="", next_attempt_at=None, **extra
                )
            else:
                _prepared(model, "sent").run(pk=pk, now=timezone.now())
            return
        except OperationalError:
            if pause is None:
                raise
            logger.warning("%s %s sent; recording it failed, trying again", model.__name__, pk)
            time.sleep(pause)


def record_failure(
    model: Row, pk: int, *, attempts: int, exc: Exception, now: dt.datetime | None = None
) -> str:
    """Record a failed attempt: "retry" after a back-off, or "failed" after MAX_ATTEMPTS."""
    now = now or timezone.now()
    error = f"{type(exc).__name__}: {exc}"[:ERROR_LENGTH]
    changes: dict[str, Any]
    if attempts >= MAX_ATTEMPTS:
        changes = {"failed_at": now, "next_attempt_at": None}
        outcome = "failed"
    else:
        changes = {"next_attempt_at": now + backoff(attempts)}
        outcome = "retry"
    model._default_manager.filter(pk=pk).update(claimed_at=None, last_error=error, **changes)
    # The class name and the row's id only: never a recipient or what the message says.
    logger.warning(
        "%s %s: delivery attempt %d failed (%s); %s",
        model.__name__,
        pk,
        attempts,
        type(exc).__name__,
        "giving up" if outcome == "failed" else "will retry",
    )
    return outcome


def due(
    model: Row, *, now: dt.datetime, grace: dt.timedelta = QUEUE_GRACE, limit: int = RECONCILE_LIMIT
) -> list[int]:
    """Rows the queue lost, oldest first: never claimed after `grace`, claimed longer than
    CLAIM_TIMEOUT ago, or failed attempts whose back-off is over."""
    pks = (
        model._default_manager.filter(model.open_q())
        .filter(
            Q(claimed_at__isnull=True, next_attempt_at__isnull=True, created_at__lte=now - grace)
            | Q(claimed_at__isnull=True, next_attempt_at__lte=now)
            | Q(claimed_at__lt=now - CLAIM_TIMEOUT)
        )
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    return list(pks)


def reconcile(
    model: Row,
    deliver: Callable[[int], Hashable],
    *,
    now: dt.datetime | None = None,
    grace: dt.timedelta = QUEUE_GRACE,
    limit: int = RECONCILE_LIMIT,
) -> Counter[Hashable]:
    """Deliver what `due` finds; returns how many of each outcome `deliver` reported."""
    outcomes: Counter[Hashable] = Counter(
        deliver(pk) for pk in due(model, now=now or timezone.now(), grace=grace, limit=limit)
    )
    if outcomes:
        logger.info("%s reconcile: %s", model.__name__, dict(outcomes))
    return outcomes


def _task(name: str) -> Any:
    tasks = current_app.tasks
    if name not in tasks:
        # Celery's autodiscovery of every app's tasks module runs when a worker starts; in a
        # web process nothing has imported them yet. Under a lock: Celery's autodiscovery
        # returns at once, importing nothing, while another thread is inside it (its
        # "race protection" flag), so a second thread raised NotRegistered after its pledge
        # was saved (docs/performance.md).
        with _TASK_IMPORT:
            if name not in tasks:
                current_app.loader.import_default_modules()
    return tasks[name]


def enqueue(task_name: str, ids: Sequence[int], *, label: str) -> int:
    """Queue one `task_name(pk)` per row; returns how many were queued.

    The task is found by name in the Celery app's registry (so a service never imports its
    tasks module, and eager mode still runs it in-process, which `send_task` would not). On a
    broker outage the rest is left to `reconcile`: the row is the promise, not the task.
    """
    if not ids:
        return 0
    task = _task(task_name)
    eager = settings.CELERY_TASK_ALWAYS_EAGER or current_app.conf.task_always_eager
    for done, pk in enumerate(ids):
        try:
            task.delay(pk)
        except BROKER_DOWN as exc:
            logger.warning(
                "Broker unavailable (%s): %d %s(s) left for the reconciler",
                type(exc).__name__,
                len(ids) - done,
                label,
            )
            return done
        except Exception:
            if eager:
                raise  # in-process delivery: a bug, not an outage
            logger.exception("%d %s(s) not queued: left for the reconciler", len(ids) - done, label)
            return done
    return len(ids)


def wake_key(task_name: str) -> str:
    """The cache key of the mark that says a drain of `task_name` is on its way."""
    return f"outbox:wake:{task_name}"


def wake(task_name: str, *, label: str, anyway: bool = False) -> bool:
    """Ask for one `task_name()` drain (which calls `drain`) unless one is asked for already;
    True if this call asked.

    The mark in the cache says a drain is on its way: it is set here (`cache.add`, atomic) and
    cleared by the drain before it reads the rows, so a row committed before the clearing is
    in that drain's read, and a row committed after it finds no mark and wakes a drain of its
    own. With the cache unreachable (`add` answers None) every row wakes a drain; with the
    broker down the mark is cleared again and the rows wait for `reconcile`, as with
    `enqueue`. A burst of rows costs one task, not one per row (docs/performance.md).
    `anyway` asks even while a mark is set (a worker starting: the mark may be a dead one's).
    """
    key = wake_key(task_name)
    if anyway:
        cache.set(key, 1, WAKE_HOLD)
    elif cache.add(key, 1, WAKE_HOLD) is False:
        return False
    task = _task(task_name)
    eager = settings.CELERY_TASK_ALWAYS_EAGER or current_app.conf.task_always_eager
    try:
        task.apply_async(countdown=DRAIN_DELAY)
    except BROKER_DOWN as exc:
        cache.delete(key)
        logger.warning(
            "Broker unavailable (%s): %s(s) left for the reconciler", type(exc).__name__, label
        )
        return False
    except Exception:
        cache.delete(key)
        if eager:
            raise  # in-process delivery: a bug, not an outage
        logger.exception("%s drain not queued: left for the reconciler", label)
        return False
    return True


def claim_queued(
    model: Row, *, now: dt.datetime, until: dt.datetime, limit: int = DRAIN_BATCH
) -> list[int]:
    """Claim up to `limit` rows queued and never tried (written up to `until`), oldest first,
    in one statement; the ids this call won, each counted as one attempt as `claim` does.

    `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING id`: on PostgreSQL
    two drains lock disjoint rows (a row locked by one is skipped by the other, and re-checked
    once its lock is gone); SQLite runs one write at a time. Either way a row is claimed by
    exactly one caller, and a row claimed, sent or in back-off is not claimed again here.
    """
    alias = model._default_manager.db
    connection = connections[alias]
    queued = (
        model._default_manager.filter(
            model.open_q(),
            claimed_at__isnull=True,
            next_attempt_at__isnull=True,
            created_at__lte=until,
        )
        .order_by("created_at", "pk")
        .select_for_update(skip_locked=True)
        .values("pk")[:limit]
    )
    quote = connection.ops.quote_name
    meta = model._meta
    pk = quote(meta.pk.column)
    claimed_at = quote(meta.get_field("claimed_at").column)
    attempts = quote(meta.get_field("attempts").column)
    with transaction.atomic(using=alias):  # FOR UPDATE needs one
        inner, params = queued.query.get_compiler(connection=connection).as_sql()
        sql = (
            f"UPDATE {quote(meta.db_table)} SET {claimed_at} = %s, {attempts} = {attempts} + 1 "
            f"WHERE {pk} IN ({inner}) RETURNING {pk}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [connection.ops.adapt_datetimefield_value(now), *params])
            return sorted(row[0] for row in cursor.fetchall())


def drain(
    model: Row,
    task_name: str,
    deliver_claimed: Callable[[list[int], dt.datetime], Iterable[Hashable]],
) -> Counter[Hashable]:
    """Deliver every row queued and never tried, oldest first (what `wake` asked for), in
    batches of `DRAIN_BATCH` rows claimed at once (`claim_queued`); `deliver_claimed(ids, now)`
    sends the rows already claimed and reports an outcome each. Returns how many of each
    outcome there were. Two drains never send a row twice: each row is claimed by one. Rows in
    back-off or claimed by another worker are `reconcile`'s. Under a steady stream a drain
    ends: rows written more than `DRAIN_SPAN` after it began are left to the drain their own
    wake asked for."""
    cache.delete(wake_key(task_name))  # before the read: see `wake`
    until = timezone.now() + DRAIN_SPAN
    outcomes: Counter[Hashable] = Counter()
    while True:
        now = timezone.now()
        pks = claim_queued(model, now=now, until=until)
        if not pks:
            return outcomes
        outcomes.update(deliver_claimed(pks, now))
