"""The EU rate limits hold across processes when REDIS_URL puts the cache on Redis: what one
web process counted, another sees. Skipped where no Redis answers on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.settings import redis_cache
from moderation.dsa_api import PerMinuteThrottle
from moderation.models import ApiKey

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("LEDGER_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
LIMIT = 5

# Another process of the same ledger: the EU-compatible API's throttle, counting requests of
# one API key, as its own web worker would. Prints one 1/0 per request: allowed or not.
OTHER_PROCESS = """
import os, sys
from types import SimpleNamespace
import django
django.setup()
from moderation.auth import PlatformClient
from moderation.dsa_api import PerMinuteThrottle
from moderation.models import ApiKey, Platform
client = PlatformClient(platform=Platform(pk=1), api_key=ApiKey(pk=int(sys.argv[1])))
request = SimpleNamespace(user=client)
print("".join(
    "1" if PerMinuteThrottle().allow_request(request, None) else "0"
    for _ in range(int(sys.argv[2]))
))
"""


@pytest.fixture
def shared_cache(settings) -> Iterator[str]:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.RedisError:
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    prefix = f"ledger-test-{uuid.uuid4().hex}"  # runs that share this Redis never collide
    settings.CACHES = {"default": redis_cache(REDIS_URL, prefix)}
    yield prefix
    from django.core.cache import cache

    cache.clear()


def other_process(prefix: str, key: ApiKey, requests: int) -> str:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment.update(
        DJANGO_SETTINGS_MODULE="ledger.settings",
        REDIS_URL=REDIS_URL,
        CACHE_KEY_PREFIX=prefix,
        LEDGER_DSA_RATE_PER_MINUTE=f"{LIMIT}/m",
        DATABASE_URL="sqlite:///:memory:",
    )
    result = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", OTHER_PROCESS, str(key.pk), str(requests)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.django_db
def test_the_eu_rate_limit_is_counted_across_processes_on_redis(
    shared_cache, api, api_key, monkeypatch
):
    monkeypatch.setattr(PerMinuteThrottle, "THROTTLE_RATES", {"dsa_minute": f"{LIMIT}/m"})
    key = ApiKey.objects.get()

    # The other process takes three of the key's five requests this minute...
    assert other_process(shared_cache, key, 3) == "111"
    # ...so this one has two left,
    statuses = [api.get("/api/v1/statement/existing-puid/x").status_code for _ in range(3)]
    assert statuses == [404, 404, 429]
    # and the other process sees the limit reached too.
    assert other_process(shared_cache, key, 1) == "0"
