"""Public answers cached whole, under the roll-ups' generation.

Every public statistic is a function of the roll-ups, which change only when a catch-up counts
a new checkpoint or a rebuild recounts (`rollups.generation`). A response keyed on that
generation, the request's path and query, and the minimum cell size and precision is
therefore never stale: the next catch-up changes the key, so nothing needs invalidating. A hit
costs one small query (the generation) and a cache read, instead of grouped sums over the
roll-ups and rendering (bench/public.py: hundreds of milliseconds at ten million decisions).

Only 200 responses are kept: refusals are cheap and name the caller's own mistakes.
Written by hand because Django's cache_page keys on the URL and a time, not on the data's
version, and would serve numbers older than the checkpoint they claim.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.test import RequestFactory
from django.urls import resolve

from ledger.public import rollups

PREFIX = "ledger:public:v1"
# A day at most: a key is useful only until the next catch-up anyway.
SECONDS = 24 * 3600

View = Callable[..., HttpResponseBase]


def key_for(request: HttpRequest, generation: tuple[int, str]) -> str:
    query = "&".join(sorted(request.META.get("QUERY_STRING", "").split("&")))
    # Pages carry absolute links (the citation, the next page): the host and scheme they were
    # asked on are part of the answer.
    parts = (
        request.scheme or "",
        request.get_host(),
        str(generation),
        str(settings.LEDGER_MIN_CELL),
        str(settings.LEDGER_MIN_PRECISION),
        request.path,
        query,
    )
    return f"{PREFIX}:{hashlib.sha256('|'.join(parts).encode()).hexdigest()}"


def per_generation(view: View) -> View:
    """Serve `view`'s 200 answers to GET and HEAD from the cache until the roll-ups change."""

    @functools.wraps(view)
    def cached(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        generation = rollups.generation()
        if generation[0] == 0:
            # Nothing counted yet: the page is cheap, and shows what else exists (platforms).
            return view(request, *args, **kwargs)
        key = key_for(request, generation)
        found = cache.get(key)
        if found is not None:
            status, content, headers = found
            response = HttpResponse(content, status=status)
            for name, value in headers:
                response[name] = value
            return response
        answer = view(request, *args, **kwargs)
        if answer.status_code == 200 and isinstance(answer, HttpResponse):
            render = getattr(answer, "render", None)
            if callable(render):  # a DRF or template response, rendered late by default
                render()
            cache.set(key, (200, bytes(answer.content), list(answer.items())), SECONDS)
        return answer

    return cached


def opening_paths() -> list[str]:
    """The answers most asked for: /stats/ and the summary for everything and each platform,
    and the models' statistics."""
    from moderation.models import Platform

    paths = ["/stats/", "/api/v1/stats/summary", "/api/v1/stats/models"]
    for slug in Platform.objects.order_by("slug").values_list("slug", flat=True):
        paths += [f"/stats/?platform={slug}", f"/api/v1/stats/summary?platform={slug}"]
    return paths


def warm() -> int:
    """Compute and cache the opening answers through their own views (beat, after each
    catch-up), so their first reader does not wait; how many were computed. Asked on the host
    of LEDGER_PUBLIC_BASE_URL (the cache key holds the host), else the first allowed host."""
    base = urlsplit(settings.PUBLIC_BASE_URL)
    if base.netloc:
        factory = RequestFactory(headers={"host": base.netloc}, secure=base.scheme == "https")
    else:  # development: the first host the server answers to
        factory = RequestFactory(headers={"host": settings.ALLOWED_HOSTS[0]})
    done = 0
    for path in opening_paths():
        match = resolve(path.split("?", 1)[0])
        response = match.func(factory.get(path), *match.args, **match.kwargs)
        done += response.status_code == 200
    return done
