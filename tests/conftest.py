from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from pytest_django.fixtures import validate_django_db
from rest_framework.test import APIClient

from ledger import log
from ledger.db import drop_emptying_guards
from ledger.note import generate_skey
from moderation import services, webhooks
from moderation.models import Platform
from tests.factories import register_model


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if connection.vendor != "postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)


TEST_LOG_KEY = generate_skey("localhost/moderation-ledger")[0]


@pytest.fixture(autouse=True)
def log_signing_key(settings: Any) -> None:
    """Tests run with DEBUG off, where the log key must come from settings, as in production."""
    settings.LEDGER_LOG_SIGNING_KEY = TEST_LOG_KEY


@pytest.fixture(autouse=True)
def no_webhook_kicks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A committed webhook event asks a worker to send it (moderation.webhooks._kick). Tests
    have no worker: the request would sit in the development broker's files under var/ and be
    sent by the next `make run`. They are kept here instead; tests of the kick put it back."""
    asked: list[int] = []
    monkeypatch.setattr(webhooks, "_kick", asked.append)
    return asked


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    """Each test's data is rolled back; answers cached under its roll-ups must not outlive it
    (a later test's roll-ups could reach the same generation)."""
    cache.clear()


@pytest.fixture(autouse=True)
def fresh_node_cache() -> Iterator[None]:
    """Each test's log is rolled back; the immutable-node cache must not outlive it."""
    log.forget_cached_nodes()
    yield
    log.forget_cached_nodes()


@pytest.fixture
def platform(db: None) -> Platform:
    return services.create_platform(slug="vidshare", name="VidShare")


@pytest.fixture
def model_v1(platform: Platform) -> Any:
    return register_model(platform)


@pytest.fixture
def api_key(platform: Platform) -> str:
    _, plaintext = services.issue_api_key(platform=platform, name="tests")
    return plaintext


@pytest.fixture
def api(api_key: str, model_v1: Any) -> APIClient:
    """A platform's API client, with its hate-speech classifier v1 registered."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


@pytest.fixture
def make_client() -> Callable[[str], APIClient]:
    def make(key: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        return client

    return make


@pytest.fixture(autouse=True)
def flushable_append_only_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Let a transactional test's teardown empty the guarded tables.

    Django empties a transactional test database after each test (TRUNCATE on PostgreSQL,
    DELETE on SQLite), which the append-only and log-head triggers refuse. Just before that
    flush, the triggers that refuse emptying are dropped (`ledger.db.drop_emptying_guards`); the
    flush emits post_migrate, which installs them again (`install_append_only_triggers`).
    Requesting the database fixture here, in setup, orders this teardown before the flush.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if marker is not None:
        transaction, reset_sequences = validate_django_db(marker)[:2]
        transactional = transactional or transaction or reset_sequences
    if not transactional:
        yield
        return
    request.getfixturevalue("transactional_db")
    yield
    drop_emptying_guards()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page() -> Iterator[Any]:
    """A page in Debian's headless Chromium driven by Playwright; skips where it is missing."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        try:
            yield page
        finally:
            browser.close()
