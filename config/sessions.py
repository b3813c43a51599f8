"""Sessions in the database, as Django's own backend keeps them, read with SQL compiled once.

Every signed-in request reads its session row; the ORM compiled that SELECT afresh each time,
several times the cost of the round trip (docs/performance.md, "Portal dashboard"). This
backend reads the row by its key with the query compiled once per process
(core/prepared.py) and checks the expiry date in Python: the same rows are found as with
`expire_date > now` in SQL. Everything else (writing, cycling keys, expiry) is Django's.
"""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.db.models import QuerySet
from django.utils import timezone

from core.prepared import OneIdQuery


def _row(session_key: str) -> QuerySet:
    return Session.objects.filter(session_key=session_key).values_list(
        "session_data", "expire_date"
    )


_SESSION_ROW = OneIdQuery(_row, stand_in="stand-in-session-key-never-issued")


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> Session | None:
        key = self.session_key
        rows = _SESSION_ROW.rows(key) if key else []
        if key and rows and rows[0][1] > timezone.now():
            data, expire_date = rows[0]
            return Session(session_key=key, session_data=data, expire_date=expire_date)
        self._session_key = None
        return None
