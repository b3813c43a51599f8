"""Summaries kept between requests and dropped by the changes they depend on.

A summary is what an expensive read returned, kept with the *generations* it was built
under. A generation is a random token in the cache under a key of its own ("the case panels",
"sponsorship 42", "user 7's inbox"); whatever changes what a summary shows deletes the key,
and the next read starts a new generation and rebuilds. A summary is used only while every
generation it was built under is still the current one, and for at most SUMMARY_MAX_AGE
seconds (the backstop for bulk writes nobody told).

A summary that holds case data (a case code, a family's plan) is kept in the memory of
each web process (`local=True`), so the cache holds only the tokens and never a family's
case data: the portal dashboard and the staff dashboard's case panels. Figures without case
data (the money panels) are kept in the cache itself, shared by every process
(docs/performance.md). If the cache is unreachable every read is a miss and rebuilds:
slower, exact.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")

# Seconds a summary may be kept without a change dropping it.
SUMMARY_MAX_AGE = 300
# Summaries kept in one process's memory before the old ones are swept out (a portal page
# with its rendered content is some tens of kilobytes: at most tens of megabytes a process).
LOCAL_LIMIT = 1000

# key -> (generations, built at, summary): this process's summaries (`local=True`).
_local: dict[str, tuple[tuple[str, ...], float, Any]] = {}


def _fresh(built: float) -> bool:
    return time.time() - built < SUMMARY_MAX_AGE


def _current(generation_keys: Sequence[str], found: dict[str, Any]) -> tuple[str, ...]:
    """The current generation under each key, starting one where there is none (cleared
    cache, a change dropped it). Read before the data a summary is built from: a change
    committed while it is built replaces the generation, so that summary is not used."""
    started = {key: uuid.uuid4().hex for key in generation_keys if found.get(key) is None}
    if started:
        cache.set_many(started, None)
    return tuple(str(found.get(key) or started[key]) for key in generation_keys)


def cached(
    key: str, generation_keys: Sequence[str], build: Callable[[], T], *, local: bool = False
) -> T:
    """What `build` returned, kept under `key`: one cache round trip when nothing it depends
    on changed since it was built, else rebuilt and kept. `local` keeps it in this process's
    memory (only the generations are in the cache), else in the cache."""
    keys = list(generation_keys)
    if local:
        found = cache.get_many(keys)
        kept = _local.get(key)
        generations = tuple(found.get(k) for k in keys)
        if kept is not None and kept[0] == generations and _fresh(kept[1]):
            return kept[2]
        generations = _current(keys, found)
        summary = build()
        if len(_local) >= LOCAL_LIMIT:
            _sweep_local()
        _local[key] = (generations, time.time(), summary)
        return summary
    found = cache.get_many([*keys, key])
    stored = found.get(key)
    if (
        stored is not None
        and tuple(stored["generations"]) == tuple(found.get(k) for k in keys)
        and _fresh(stored["built"])
    ):
        return stored["panels"]
    generations = _current(keys, found)
    panels = build()
    cache.set(
        key,
        {"generations": generations, "built": time.time(), "panels": panels},
        SUMMARY_MAX_AGE,
    )
    return panels


def _sweep_local() -> None:
    """Forget the summaries past their age; if none were, forget them all (a busy hour)."""
    for key in [k for k, (_g, built, _s) in _local.items() if not _fresh(built)]:
        _local.pop(key, None)
    if len(_local) >= LOCAL_LIMIT:
        _local.clear()


def drop(*generation_keys: str) -> None:
    """End these generations: every summary built under one of them is rebuilt."""
    if generation_keys:
        cache.delete_many(list(generation_keys))


def drop_now_and_on_commit(*generation_keys: str) -> None:
    """A change written in a transaction: dropped now (later reads in it see the change) and
    again on commit (a summary rebuilt in between read the data from before the commit)."""
    if generation_keys:
        drop(*generation_keys)
        transaction.on_commit(lambda: drop(*generation_keys))


def on_save_or_delete(
    receiver: Callable[..., None], models: Iterable[type[Model]], uid: str
) -> None:
    """Connect `receiver` to the saves and deletes of `models` (once: named by `uid`)."""
    for model in models:
        name = f"{uid}-{model._meta.label_lower}"
        post_save.connect(receiver, sender=model, dispatch_uid=f"{name}-save")
        post_delete.connect(receiver, sender=model, dispatch_uid=f"{name}-delete")
