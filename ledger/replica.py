"""Public reads on a read replica, everything else on the primary.

With DATABASE_REPLICA_URL set (ledger.settings), the database alias "replica" names a streaming
replica of the primary and `ReplicaRouter` is installed. `PublicReadMiddleware` marks the
requests that may be answered from it: anonymous GET and HEAD requests for the public
statistics, reports and data exports (`PUBLIC_READ_PREFIXES`). Their reads go to the replica;
every write, and every read of any other request (intake, admin, notice pages and appeals,
review, the log), goes to the primary. Celery tasks and management commands have no request,
so they always use the primary.

A replica lags the primary by the time it takes to replay the WAL (milliseconds on a quiet
local network, seconds under load or after a long query on the standby). The public statistics
and reports already lag by more: they count the log up to its latest signed checkpoint (the
roll-ups, ledger.public.rollups) and are cached for five seconds, so answering them from a
replica changes nothing a reader can notice. Raw SQL runs on the connection it names: a public
view's raw query follows the routing only through `connections[router.db_for_read(Model)]`.

The log stays on the primary, though it is public and read-only too:

- read-your-writes: a platform that has just recorded a decision gets its log index in the
  response and may ask for its entry, its inclusion proof or the checkpoint that covers it at
  once. From a lagging replica those would be a 404 or a proof against an older tree, and a
  404 for an entry that exists is what a monitor reports as a misbehaving log;
- one snapshot: the log's reads mix raw SQL on the default connection (the tree size, stored
  subtree hashes, ledger.log) with ORM queries (entries). Routing only the ORM half would pair
  the primary's tree size with the replica's entries;
- the load is not there: full tiles and entry bundles never change and are served with an
  immutable Cache-Control, the checkpoint with five seconds, so a CDN or caching proxy in front
  absorbs the monitors' reads (README, "Scale").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.http import HttpRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase

REPLICA = "replica"

# The public, anonymous, read-only pages and APIs whose answers may lag the primary.
PUBLIC_READ_PREFIXES = ("/stats/", "/api/v1/stats/", "/reports/", "/api/v1/reports/", "/data/")

_public_read: ContextVar[bool] = ContextVar("ledger_public_read", default=False)


def is_public_read(request: HttpRequest) -> bool:
    """Whether the request may be answered from the replica.

    Only anonymous requests: one with an API key or a session may be a platform or a reviewer
    reading what it has just written, and a session cookie would have the session (and the
    user) read from a replica that may not have it yet.
    """
    return (
        request.method in ("GET", "HEAD")
        and request.path_info.startswith(PUBLIC_READ_PREFIXES)
        and "HTTP_AUTHORIZATION" not in request.META
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
    )


def _marked(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """A streamed body (a data export) is produced after the view returns, when the server
    iterates it: each chunk is produced inside the mark, so its queries go to the replica."""
    iterator = iter(chunks)
    while True:
        token = _public_read.set(True)
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        finally:
            _public_read.reset(token)
        yield chunk


class PublicReadMiddleware:
    """Marks a public read (`is_public_read`) for `ReplicaRouter` while it is answered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not is_public_read(request):
            return self.get_response(request)
        token = _public_read.set(True)
        try:
            response = self.get_response(request)
        finally:
            _public_read.reset(token)
        if isinstance(response, StreamingHttpResponse) and not response.is_async:
            chunks = response.streaming_content
            if isinstance(chunks, Iterator):
                response.streaming_content = _marked(chunks)
        return response


class ReplicaRouter:
    """Reads inside a marked public read go to the replica; everything else to the primary."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        if _public_read.get() and REPLICA in connections.settings:
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        # Explicitly the primary: an object read from the replica would otherwise be saved
        # back to where it came from, a read-only standby.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        """The replica holds the primary's rows: objects from either may be related."""
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        """Only the primary is migrated; the replica follows it through the WAL."""
        return db == DEFAULT_DB_ALIAS
