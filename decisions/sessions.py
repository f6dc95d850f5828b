"""Sessions kept in the database, read on every request with a prepared query.

The database, not a per-process cache, so that a logout counts on every web worker at
once. With Django's ``cached_db`` engine and the local-memory cache each gunicorn worker
has, a session ended on one worker stayed valid on the others until their copy expired.
The read itself is the same SELECT on every request; ``PreparedSelect`` saves the ORM's
compiling it each time (see ``decisions.prepared``).
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from decisions.prepared import PreparedSelect

_session_by_key = PreparedSelect(Session, where="session_key")


class SessionStore(db.SessionStore):
    """Django's database session store with the per-request read on a prepared query."""

    def _get_session_from_db(self) -> Session | None:
        found = _session_by_key(self.session_key)
        if found and found[0].expire_date > timezone.now():
            return found[0]
        self._session_key = None
        return None
